"""LangChain callback handlers that record tool calls and chain steps as decisions.

>>> from agentmem_langchain.callbacks import AgentMemoryCallbackHandler
>>> handler = AgentMemoryCallbackHandler(memory)                 # doctest: +SKIP
>>> chain.invoke(question, config={"callbacks": [handler]})      # doctest: +SKIP

What becomes a decision:

* every tool run (``tool_call``), unless ``record_tools=False``;
* the root chain of each invocation (``chain_step``); every chain run with
  ``record_chains=True``, none with ``False``;
* LLM and chat-model runs (``llm_call``) with ``record_llm=True``;
* any run whose metadata sets ``agentmem_decision_type`` (that type; children inheriting the
  key do not count), whatever the switches say.

``name_filter`` (names, or a predicate on the run name) narrows the switches. Parent links
come from ``parent_run_id`` (the nearest recorded ancestor; an unknown parent makes a root),
so a trace is one invocation; a decorated function called inside a run becomes that run's
child, and a chain invoked inside a decorated function becomes the function's child.

A model's tool calls and ``on_agent_action`` logs become the ``rationale`` of the matching
tool decision, with the model's name and its logprob ``confidence``; ``on_llm_end`` adds
the token usage to the nearest recorded decision. Confidence is, first found: run metadata
``agentmem_confidence``, a ``confidence`` in the run's output, the model's logprobs.
Retrieved documents whose metadata has ``pattern_id`` become ``patterns_applied`` of the
decisions under the run that retrieved them.

Hooks never raise, never block and never do I/O: each posts one event (a tuple of references
and the time) and returns. The capture thread applies events in order: it keeps a bounded run
table, builds a :class:`~agentmem_langchain.capture.CapturedDecision` for each recorded run and
hands it to the background recorder at the run's end; what only the record needs (its context,
tags and the output's confidence) is worked out on the recorder's thread. A flush, a read
through a ``MemoryManager`` or a handler counter applies pending events first, so results
never depend on the thread's timing. :func:`instrument` installs one handler on every
LangChain run.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime, timezone
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from ._callback_events import event_kind, post
from ._callback_runs import (
    CONFIDENCE_KEY,
    TYPE_KEY,
    HandlerBase,
    Hint,
    Link,
    Run,
    as_confidence,
    model_from_start,
    output_confidence,
    pattern_ids,
    read_llm_result,
    run_name,
)
from .capture import CapturedDecision, _current, fast_id
from .enums import DecisionType
from .memory import MemoryManager

if TYPE_CHECKING:
    from langchain_core.agents import AgentAction
    from langchain_core.documents import Document
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import LLMResult

_CHAIN, _TOOL, _LLM, _RETRIEVER = "chain", "tool", "llm", "retriever"
_CHAIN_STEP = DecisionType.CHAIN_STEP.value
_TOOL_CALL = DecisionType.TOOL_CALL.value
_LLM_CALL = DecisionType.LLM_CALL.value
_ROOT: Link = (None, None)  # the link of a run with no recorded ancestor
_LANGCHAIN_TAGS = ("seq:step:", "map:key:", "graph:step:", "langsmith:")
_PRIVATE_METADATA = ("ls_", "lc_", "langgraph_", "checkpoint_", "agentmem_")


def _user_tags(tags: Sequence[str]) -> list[str]:
    return [t for t in tags if isinstance(t, str) and not t.startswith(_LANGCHAIN_TAGS)]


def _context_extra(kind: str, name: str, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = {
        k: v
        for k, v in (metadata or {}).items()
        if not (isinstance(k, str) and k.startswith(_PRIVATE_METADATA))
    }
    extra.update(run_type=kind, run_name=name)
    return extra


def _describe_run(
    decision: CapturedDecision,
    run: Run,
    key: int,
    kind: str,
    name: str,
    tags: Sequence[str],
    metadata: Mapping[str, Any] | None,
) -> None:
    """The part of a run's decision built on the recorder's thread (``CapturedDecision.deferred``):
    its context, tags and run id, and its confidence (pinned, else the output's)."""
    decision.context_extra = _context_extra(kind, name, metadata)
    decision.tags = _user_tags(tags)
    decision.metadata["langchain_run_id"] = str(UUID(int=key))
    confidence = run.pinned_confidence
    if confidence is None and decision.result is not None:
        confidence = output_confidence(decision.result)
    if confidence is not None:
        decision.reasoning["confidence"] = confidence


def _explicit(value: Any, parent: Run | None, inherited: Any) -> bool:
    # LangChain passes metadata down to child runs: a key equal to the parent's is inherited.
    return value is not None and (parent is None or inherited != value)


def _started_at(stamp: datetime | None, perf: float) -> datetime:
    """When a run started: the memory's own clock as the hook read it (``stamp``), else the
    system clock at the hook's ``perf_counter()`` reading."""
    if stamp is not None:
        return stamp
    return datetime.fromtimestamp(time.time() - (perf_counter() - perf), timezone.utc)


class _RunRecorder(HandlerBase):
    """The recording both handlers share, applied on the capture thread from the events the
    hooks post; every method is total (errors are counted)."""

    # -- the hot path: what the hooks post ---------------------------------------------------

    def _post_start(
        self,
        kind: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        serialized: Any,
        inputs: Any,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: Any,  # the hook's keyword arguments; a chain's hook passes only their name
    ) -> None:
        # What LangChain frees after the run is kept only when it carries something (each kept
        # container counts towards the garbage collector's next collection).
        stamp = self._stamp  # None: the system clock, worked out from perf_counter() later
        try:
            post((
                _apply_start, self, kind, run_id.int, parent_run_id and parent_run_id.int,
                serialized, inputs, tuple(tags) if tags else (), metadata or None, kwargs,
                _current.get(), perf_counter(), stamp and stamp(),
            ))  # fmt: skip
        except Exception as exc:
            self._failed(f"on_{kind}_start", exc)

    def _post_end(
        self,
        hook: str,
        run_id: UUID,
        result: Any,
        error: BaseException | None,
        inputs: Any = None,
        apply: Callable[..., None] | None = None,
    ) -> None:
        """Post a run's end with its result or error; ``apply`` replaces the plain end (an
        LLM's or a retriever's end reads its result)."""
        try:
            if apply is not None:
                post((apply, self, run_id.int, result, perf_counter()))
            else:
                post((_apply_finish, self, hook, run_id.int, result, error, inputs, perf_counter()))
        except Exception as exc:
            self._failed(hook, exc)

    # -- applied on the capture thread ------------------------------------------------------

    def _link(self, parent: Run | None, outer: CapturedDecision | None) -> Link:
        # A decorated function entered after the parent run started sits between them.
        if outer is not None and (parent is None or parent.within != outer.decision_id):
            return (outer.decision_id, outer.trace_id or outer.decision_id)
        return parent.link if parent is not None else _ROOT

    def _decision_type(
        self, kind: str, parent: Run | None, tag: Any, name: str | None
    ) -> str | None:
        """The type a run is recorded as, or None; ``name`` is only read by a name filter."""
        if tag is not None:
            tag = getattr(tag, "value", tag)
            if isinstance(tag, str) and tag and _explicit(tag, parent, parent and parent.type_tag):
                return tag
        if name is not None and not self._accept(name):
            return None
        if kind == _CHAIN:
            chains = self.record_chains
            return _CHAIN_STEP if chains is True or (chains and parent is None) else None
        if kind == _TOOL:
            return _TOOL_CALL if self.record_tools else None
        if kind == _LLM and self.record_llm:
            return _LLM_CALL
        return None

    def _start(
        self,
        kind: str,
        key: int,  # the run id's int (see run_key), as is every key the hooks post
        parent_key: int | None,
        serialized: Any,
        inputs: Any,
        tags: tuple[str, ...],
        metadata: dict[str, Any] | None,
        kwargs: Any,  # as the hook posted them: a chain's are its name
        outer: CapturedDecision | None,
        perf: float,
        stamp: datetime | None,
    ) -> None:
        """A run started: add it to the run table, with its decision if it is recorded."""
        if not self._enabled:
            return
        try:
            runs = self._runs
            parent = runs.get(parent_key)
            within = outer.decision_id if outer is not None else None
            type_tag = confidence_tag = None
            if metadata:
                type_tag, confidence_tag = metadata.get(TYPE_KEY), metadata.get(CONFIDENCE_KEY)
            name = run_name(serialized, kwargs, kind) if self._filtered else None
            decision_type = self._decision_type(kind, parent, type_tag, name)
            if (
                decision_type is None
                and parent is not None
                and kind == _CHAIN
                and confidence_tag == parent.confidence_tag
                and within == parent.within
            ):
                runs.add(key, parent)  # an unrecorded step changes nothing: children see its parent
                return
            run = Run(
                key, parent, self._link(parent, outer), within, None, type_tag, confidence_tag
            )
            if decision_type is not None:
                name = name or run_name(serialized, kwargs, kind)
                started = (_started_at(stamp, perf), perf)
                self._record(run, kind, name, decision_type, inputs, tags, metadata, started)
            runs.add(key, run)
            if kind == _TOOL and name is not None and run.decision is not None:
                self._apply_hint(run, run.decision, name, kwargs.get("tool_call_id"))
            elif kind == _LLM:
                run.model = model_from_start(metadata, kwargs)
        except Exception as exc:
            self._failed(f"on_{kind}_start", exc)

    def _record(
        self,
        run: Run,
        kind: str,
        name: str,
        decision_type: str,
        inputs: Any,
        tags: tuple[str, ...],
        metadata: dict[str, Any] | None,
        started: tuple[datetime, float],  # started_at, and its perf_counter() reading
    ) -> None:
        # What only the record needs is built on the recorder's thread. The metadata is the
        # run's callback manager's own dict (the hook kept a reference; a run's is not changed
        # once it started): copied here, before it travels further. The tags are the hook's copy.
        details = (run, run.key, kind, name, tags, metadata and dict(metadata))
        link = run.link
        run.decision = decision = CapturedDecision(
            agent_id=self.agent_id,
            decision_type=decision_type,
            decision_id=fast_id(),
            started_at=started[0],
            parent_decision_id=link[0],
            trace_id=link[1],
            inputs=inputs,
            metadata={"langchain_run_id": None},  # the run id's str, set by _describe_run
            redact=self.redact,
            ttl=self.memory.decision_ttl,
            started_perf=started[1],
            deferred=(_describe_run, details),
        )
        decision.trace_id = link[1] or decision.decision_id
        run.link = (decision.decision_id, decision.trace_id)
        confidence_tag = run.confidence_tag
        if confidence_tag is not None:
            parent = run.parent
            if _explicit(confidence_tag, parent, parent and parent.confidence_tag):
                run.pinned_confidence = as_confidence(confidence_tag)

    def _apply_hint(
        self, run: Run, decision: CapturedDecision, tool: str, tool_call_id: Any
    ) -> None:
        decision.reasoning["selected"] = [tool]
        if isinstance(tool_call_id, str):
            decision.metadata["tool_call_id"] = tool_call_id
        if not self._runs.hints_seen:
            return
        hint = self._runs.take_hint(run, tool)
        if hint is None:
            return
        if hint.rationale:
            decision.reasoning["rationale"] = hint.rationale
        if hint.model:
            decision.metadata["model"] = hint.model
        if hint.confidence is not None:
            decision.reasoning["confidence"] = hint.confidence

    def _finish(
        self,
        hook: str,
        key: int,
        result: Any,
        error: BaseException | None,
        inputs: Any,
        perf: float,
    ) -> None:
        """A run ended: hand its decision, if it has one, to the recorder."""
        if not self._enabled:
            return
        try:
            run = self._runs.pop(key, None)
            if run is None or run.decision is None or run.key != key:
                return  # never seen, not recorded, or an alias of its parent (an unrecorded step)
            decision = run.decision
            if inputs is not None:  # streamed runs only know their input at the end
                decision.inputs = inputs
            decision.finish(result, error, now=perf)
            if self._runs.patterns_seen:
                patterns = self._runs.patterns_for(run)
                if patterns:
                    decision.reasoning["patterns_applied"] = patterns
            if not self._recorder.submit(decision):
                self._dropped += 1
        except Exception as exc:
            self._failed(hook, exc)

    def _llm_end(self, key: int, response: Any, perf: float) -> None:
        if not self._enabled:
            return
        try:
            run = self._runs.get(key)
            info = read_llm_result(response)
            model = info.model or (run.model if run is not None else None)
            result = {"text": info.text, "tool_calls": info.tool_calls, "model": model}
            if run is not None:
                for tool in info.tool_calls:
                    hint = Hint(tool, rationale=info.text, confidence=info.confidence, model=model)
                    self._runs.add_hint(run, hint)
                self._runs.add_usage(run.parent, info.usage)
                if run.decision is not None:
                    run.decision.metadata.update(model=model, usage=info.usage)
                    if info.confidence is not None and run.pinned_confidence is None:
                        run.pinned_confidence = info.confidence
        except Exception as exc:
            self._failed("on_llm_end", exc)
            result = None
        self._finish("on_llm_end", key, result, None, None, perf)

    def _agent_action(self, key: int, action: Any) -> None:
        if not self._enabled:
            return
        try:
            run = self._runs.get(key)
            tool, log = getattr(action, "tool", None), getattr(action, "log", None)
            if run is not None and isinstance(log, str) and log.strip():
                self._runs.add_rationale(run, tool if isinstance(tool, str) else None, log.strip())
        except Exception as exc:
            self._failed("on_agent_action", exc)

    def _retriever_end(self, key: int, documents: Any, perf: float) -> None:
        if not self._enabled:
            return
        try:
            run = self._runs.get(key)
            ids = pattern_ids(documents or ())
            if run is not None and ids:
                self._runs.add_patterns(run.parent or run, ids)
        except Exception as exc:
            self._failed("on_retriever_end", exc)
        self._finish("on_retriever_end", key, documents, None, None, perf)


# What the hooks post: the apply functions, looked up once.
_apply_start = event_kind(_RunRecorder._start)
_apply_finish = event_kind(_RunRecorder._finish)
_apply_llm_end = event_kind(_RunRecorder._llm_end)
_apply_retriever_end = event_kind(_RunRecorder._retriever_end)
_apply_agent_action = event_kind(_RunRecorder._agent_action)


class AgentMemoryCallbackHandler(_RunRecorder):
    """Records tool runs and selected chain steps of LangChain runs as decisions.

    >>> handler = AgentMemoryCallbackHandler(memory, record_chains=True)  # doctest: +SKIP
    >>> chain.invoke(x, config={"callbacks": [handler]})                  # doctest: +SKIP

    Works in sync and async runs alike: each hook posts one event and returns (see the
    module's docs). ``raise_error`` stays False: a capture problem is counted in ``errors``
    and logged at most once a minute, never raised into the chain.
    """

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name")  # all a chain's start needs of its keyword arguments
        self._post_start(_CHAIN, run_id, parent_run_id, serialized, inputs, tags, metadata, name)

    def on_chain_end(self, outputs: dict[str, Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_chain_end", run_id, outputs, None, kwargs.get("inputs"))

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_chain_error", run_id, None, error, kwargs.get("inputs"))

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        given = input_str if inputs is None else inputs
        self._post_start(_TOOL, run_id, parent_run_id, serialized, given, tags, metadata, kwargs)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_tool_end", run_id, output, None)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_tool_error", run_id, None, error)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._post_start(_LLM, run_id, parent_run_id, serialized, messages, tags, metadata, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._post_start(_LLM, run_id, parent_run_id, serialized, prompts, tags, metadata, kwargs)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_llm_end", run_id, response, None, apply=_apply_llm_end)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_llm_error", run_id, None, error)

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._post_start(
            _RETRIEVER, run_id, parent_run_id, serialized, query, tags, metadata, kwargs
        )

    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._post_end("on_retriever_end", run_id, documents, None, apply=_apply_retriever_end)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_retriever_error", run_id, None, error)

    def on_agent_action(self, action: AgentAction, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            post((_apply_agent_action, self, run_id.int, action))
        except Exception as exc:
            self._failed("on_agent_action", exc)


def _awaitable(hook: Callable[..., None]) -> Callable[..., Coroutine[Any, Any, None]]:
    @functools.wraps(hook)
    async def run_hook(self: Any, *args: Any, **kwargs: Any) -> None:
        hook(self, *args, **kwargs)

    return run_hook


class AsyncAgentMemoryCallbackHandler(_RunRecorder, AsyncCallbackHandler):
    """The same recording as :class:`AgentMemoryCallbackHandler`, as an ``AsyncCallbackHandler``.

    For code that requires async handlers; the hooks do the same non-blocking work. In sync
    runs LangChain drives async handlers through an event loop per event, so prefer the sync
    handler there.
    """

    on_chain_start = _awaitable(AgentMemoryCallbackHandler.on_chain_start)
    on_chain_end = _awaitable(AgentMemoryCallbackHandler.on_chain_end)
    on_chain_error = _awaitable(AgentMemoryCallbackHandler.on_chain_error)
    on_tool_start = _awaitable(AgentMemoryCallbackHandler.on_tool_start)
    on_tool_end = _awaitable(AgentMemoryCallbackHandler.on_tool_end)
    on_tool_error = _awaitable(AgentMemoryCallbackHandler.on_tool_error)
    on_chat_model_start = _awaitable(AgentMemoryCallbackHandler.on_chat_model_start)
    on_llm_start = _awaitable(AgentMemoryCallbackHandler.on_llm_start)
    on_llm_end = _awaitable(AgentMemoryCallbackHandler.on_llm_end)
    on_llm_error = _awaitable(AgentMemoryCallbackHandler.on_llm_error)
    on_retriever_start = _awaitable(AgentMemoryCallbackHandler.on_retriever_start)
    on_retriever_end = _awaitable(AgentMemoryCallbackHandler.on_retriever_end)
    on_retriever_error = _awaitable(AgentMemoryCallbackHandler.on_retriever_error)
    on_agent_action = _awaitable(AgentMemoryCallbackHandler.on_agent_action)


# -- instrument(): one handler on every run -----------------------------------------------------

_instrument_lock = threading.Lock()
_instrumented: AgentMemoryCallbackHandler | None = None
TRACING_ENV = "AGENTMEM_TRACING"


def instrument(
    memory: MemoryManager | None = None, **handler_kwargs: Any
) -> AgentMemoryCallbackHandler:
    """Record every LangChain run of this process, in every thread and task.

    >>> handler = instrument(MemoryManager("research-agent"))   # doctest: +SKIP

    Installs one :class:`AgentMemoryCallbackHandler` through langchain-core's
    ``register_configure_hook`` (a run that already has an agentmem handler keeps its own).
    Without ``memory`` it uses ``MemoryManager(AGENTMEM_AGENT_ID or "langchain-agent")``.
    Calling it again returns the same handler, re-enabled, with any new settings applied;
    :func:`uninstrument` switches it off.
    """
    global _instrumented
    with _instrument_lock:
        handler = _instrumented
        if handler is None:
            handler = AgentMemoryCallbackHandler(memory or _default_memory(), **handler_kwargs)
            # A ContextVar whose *default* is the handler: every thread and task sees it
            # (new threads start with an empty context, so a set() would not reach them).
            var: ContextVar[HandlerBase | None] = ContextVar(
                "agentmem_langchain_handler", default=handler
            )
            register_configure_hook(var, inheritable=True, handle_class=HandlerBase)
            _instrumented = handler
        elif memory is not None or handler_kwargs:
            handler._configure(memory or handler.memory, **handler_kwargs)
        handler.enabled = True
        return handler


def uninstrument() -> None:
    """Stop the handler :func:`instrument` installed (runs already started end unrecorded)."""
    with _instrument_lock:
        if _instrumented is not None:
            _instrumented.enabled = False


def instrument_from_env() -> AgentMemoryCallbackHandler | None:
    """:func:`instrument` when ``AGENTMEM_TRACING`` is true (``1``, ``true``, ``yes``)."""
    if os.environ.get(TRACING_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return instrument()
    return None


def _default_memory() -> MemoryManager:
    return MemoryManager(os.environ.get("AGENTMEM_AGENT_ID") or "langchain-agent")


__all__ = [
    "AgentMemoryCallbackHandler",
    "AsyncAgentMemoryCallbackHandler",
    "instrument",
    "instrument_from_env",
    "uninstrument",
]
