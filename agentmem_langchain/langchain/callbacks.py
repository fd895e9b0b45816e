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

Hooks never raise, never block and never do I/O: each snapshots what it is given that a
record may keep (inputs, outputs and metadata, as JSON-safe copies cut to size: a later change
to those objects never changes a record), posts one event and returns. The capture thread
applies events in order: it keeps a bounded run table, builds a
:class:`~agentmem_langchain.capture.CapturedDecision` for each recorded run and hands it to the
background recorder at the run's end; what only the record needs (its context, tags and the
output's confidence) is worked out when the record is converted. A flush, a read
through a ``MemoryManager`` or a handler counter applies pending events first, so results
never depend on the thread's timing.

Without passing callbacks: :func:`instrument` installs one handler on every LangChain run
(:func:`uninstrument` takes it out again); with ``AGENTMEM_TRACING`` set, langchain-core's
configure hook adds a handler on the default memory to each run that has none (as
``LANGCHAIN_TRACING_V2`` does for LangSmith). Importing this module registers that hook and
installs no handler: the variable is read at each run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timezone
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler

from .. import config
from ..capture.decision import CapturedDecision, fast_id, report_problem
from ..capture.events import event_kind, post
from ..capture.hook import _current
from ..capture.values import Redactor, clean_text, cut_text, json_size
from ..enums import DecisionType
from ..memory import MemoryManager
from ..models import enum_value
from .defaults import default_memory
from .runs import (
    _PLAIN_OUTPUTS,
    CONFIDENCE_KEY,
    TYPE_KEY,
    HandlerBase,
    Hint,
    Link,
    LLMResultInfo,
    NameFilter,
    RecordChains,
    Run,
    as_confidence,
    model_from_start,
    output_confidence,
    pattern_ids,
    read_llm_result,
    run_name,
)

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
_READ = frozenset({TYPE_KEY, CONFIDENCE_KEY, "ls_model_name"})  # private keys the handler reads


def _user_tags(tags: Sequence[str], limit: int) -> list[str]:
    return [
        cut_text(str.__str__(t), limit)
        for t in tags
        if isinstance(t, str) and not t.startswith(_LANGCHAIN_TAGS)
    ]


def _context_extra(kind: str, name: str, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = {
        k: v
        for k, v in (metadata or {}).items()
        if not (isinstance(k, str) and k.startswith(_PRIVATE_METADATA))
    }
    extra.update(run_type=kind, run_name=clean_text(name))
    return extra


def _uuid_text(key: int) -> str:
    """``str(UUID(int=key))``, without building the UUID."""
    digits = f"{key:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _describe_run(
    decision: CapturedDecision,
    run: Run,
    key: int,
    kind: str,
    name: str,
    tags: Sequence[str],
    metadata: Mapping[str, Any] | None,
    limit: int,
) -> None:
    """The part of a run's decision built when it is converted (``CapturedDecision.deferred``):
    its context, tags and run id, and its confidence (pinned, else the output's); all of it
    JSON-safe, as the rest of the frozen decision (the metadata is the hook's snapshot)."""
    decision.context_extra = _context_extra(kind, name, metadata)
    decision.tags = _user_tags(tags, limit)
    decision.metadata["langchain_run_id"] = _uuid_text(key)
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


class _RunMatcher(HandlerBase):
    """The recording both handlers share, applied on the capture thread from the events the
    hooks post; every method is total (errors are counted)."""

    def __init__(
        self,
        memory: MemoryManager | None = None,
        *,
        agent_id: str | None = None,
        record_chains: RecordChains = "root",
        record_tools: bool = True,
        record_llm: bool = False,
        name_filter: NameFilter = None,
        redact: Redactor | None = None,
        max_runs: int = 10_000,
    ) -> None:
        # No memory: the default one (how langchain-core's configure hook makes the handler
        # of each run for AGENTMEM_TRACING, with no arguments). A default store that cannot
        # be opened is reported and the handler records nothing: the run itself goes on.
        inert = False
        if memory is None:
            try:
                memory = default_memory()
            except Exception as exc:
                report_problem("handler", f"default memory unavailable, not recording: {exc!r}")
                from ..stores.in_memory import InMemoryStore

                memory, inert = MemoryManager(config.DEFAULT_AGENT_ID, store=InMemoryStore()), True
        super().__init__(
            memory,
            agent_id=agent_id,
            record_chains=record_chains,
            record_tools=record_tools,
            record_llm=record_llm,
            name_filter=name_filter,
            redact=redact,
            max_runs=max_runs,
        )
        if inert:
            self.enabled = False

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
        # What LangChain frees after the run is kept only when it carries something. Inputs
        # and metadata are copied now: the caller may change them once the hook returns.
        stamp = self._stamp  # None: the system clock, worked out from perf_counter() later
        try:
            key = run_id.int
            parent_key = parent_run_id.int if parent_run_id is not None else None
            keep = self._may_record(kind, parent_key, metadata)
            live = self._live
            if len(live) >= self._runs.max_runs:
                live.clear()  # runs that never ended: their children are copied in full
            live[key] = keep
            if metadata:
                metadata = self._metadata_snapshot(metadata, keep)
            if not keep:
                inputs = None  # never recorded: nothing to copy
            elif not (type(inputs) is str and len(inputs) <= self._limit and inputs.isascii()):
                inputs = self._snap.stored(inputs)
            post((
                _apply_start, self, kind, key, parent_key, serialized, inputs,
                tuple(tags) if tags else (), metadata or None, kwargs, _current.get(),
                perf_counter(), stamp and stamp(),
            ))  # fmt: skip
        except Exception as exc:
            self._failed(f"on_{kind}_start", exc)

    def _may_record(self, kind: str, parent_key: int | None, metadata: Any) -> bool:
        """False when the run will certainly not be recorded (then nothing of it is copied).

        A child chain is recorded as a root only when its parent is unknown: a parent whose
        start this handler's hooks saw is known (so, rarely, a parent the run table evicted
        leaves its recorded children without inputs and outputs)."""
        if metadata and metadata.get(TYPE_KEY) is not None:
            return True
        if kind == _CHAIN:
            chains = self.record_chains
            return chains is True or (bool(chains) and parent_key not in self._live)
        if kind == _TOOL:
            return self.record_tools
        return kind == _LLM and self.record_llm

    def _metadata_snapshot(self, metadata: dict[str, Any], keep: bool) -> dict[str, Any] | None:
        """The metadata a record may keep (if ``keep``) and the keys the handler reads, copied;
        None if there are none."""
        kept = {
            key: value
            for key, value in metadata.items()
            if key in _READ
            or (keep and not (isinstance(key, str) and key.startswith(_PRIVATE_METADATA)))
        }
        return self._snap.snapshot_mapping(kept)[0] if kept else None

    def _post_end(
        self,
        hook: str,
        run_id: UUID,
        result: Any,
        error: BaseException | None,
        inputs: Any = None,
    ) -> None:
        """Post a run's end with a snapshot of its result (and the confidence an object result
        carries, which its snapshot may not keep) or its error."""
        try:
            key = run_id.int
            confidence = None
            if not self._live.pop(key, True):
                result = inputs = None  # never recorded: nothing to copy
            else:
                kind = type(result)
                if kind is not str or len(result) > self._limit or not result.isascii():
                    if kind not in _PLAIN_OUTPUTS and kind is not dict:
                        confidence = output_confidence(result)
                    result = self._snap.stored(result)
                if inputs is not None:  # streamed runs only know their input at the end
                    inputs = self._snap.stored(inputs)
            post((
                _apply_finish, self, hook, key, result, error, inputs, confidence, perf_counter(),
            ))  # fmt: skip
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
            tag = enum_value(tag)
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
        # What only the record needs is built when it is converted, from the hook's copies
        # of the metadata and the tags.
        details = (run, run.key, kind, name, tags, metadata, self._limit)
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
        confidence: float | None,
        perf: float,
    ) -> None:
        """A run ended: hand its decision, if it has one, to the recorder (the result and the
        inputs are the hook's snapshots; the rest is frozen here)."""
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
            if confidence is not None and run.pinned_confidence is None:
                run.pinned_confidence = confidence
            if self._runs.patterns_seen:
                patterns = self._runs.patterns_for(run)
                if patterns:
                    decision.reasoning["patterns_applied"] = patterns
            decision.size = json_size(decision.inputs) + json_size(decision.result)
            decision.freeze(self._settings, inputs=False, result=False)
            if not self._recorder.submit(decision):
                self._dropped += 1
        except Exception as exc:
            self._failed(hook, exc)

    def _llm_end(self, key: int, info: LLMResultInfo | None, perf: float) -> None:
        if not self._enabled:
            return
        result: Any = None
        try:
            run = self._runs.get(key)
            if info is None:  # the hook could not read the response
                info = LLMResultInfo()
            model = info.model or (run.model if run is not None else None)
            if run is not None and run.decision is not None:
                result = {"text": info.text, "tool_calls": info.tool_calls, "model": model}
                result = self._snap.stored(result)  # fresh objects: copied here, off the caller
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
        self._finish("on_llm_end", key, result, None, None, None, perf)

    def _agent_action(self, key: int, tool: Any, log: Any) -> None:
        if not self._enabled:
            return
        try:
            run = self._runs.get(key)
            if run is not None and isinstance(log, str) and log.strip():
                self._runs.add_rationale(run, tool if isinstance(tool, str) else None, log.strip())
        except Exception as exc:
            self._failed("on_agent_action", exc)

    def _retriever_end(self, key: int, ids: list[str], documents: Any, perf: float) -> None:
        """A retrieval ended: ``ids`` are its pattern documents' ids, ``documents`` the hook's
        snapshot of what it returned (None unless its run may be recorded)."""
        if not self._enabled:
            return
        try:
            run = self._runs.get(key)
            if run is not None and ids:
                self._runs.add_patterns(run.parent or run, ids)
        except Exception as exc:
            self._failed("on_retriever_end", exc)
        self._finish("on_retriever_end", key, documents, None, None, None, perf)


# What the hooks post: the apply functions, looked up once.
_apply_start = event_kind(_RunMatcher._start)
_apply_finish = event_kind(_RunMatcher._finish)
_apply_llm_end = event_kind(_RunMatcher._llm_end)
_apply_retriever_end = event_kind(_RunMatcher._retriever_end)
_apply_agent_action = event_kind(_RunMatcher._agent_action)


class AgentMemoryCallbackHandler(_RunMatcher):
    """Records tool runs and selected chain steps of LangChain runs as decisions.

    >>> handler = AgentMemoryCallbackHandler(memory, record_chains=True)  # doctest: +SKIP
    >>> chain.invoke(x, config={"callbacks": [handler]})                  # doctest: +SKIP

    Without ``memory`` it records into :func:`default_memory`.
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
        # Read now: what a decision keeps of a response is a few strings and numbers.
        try:
            info = read_llm_result(response)
        except Exception as exc:
            self._failed("on_llm_end", exc)
            info = None
        try:
            key = run_id.int
            self._live.pop(key, None)
            post((_apply_llm_end, self, key, info, perf_counter()))
        except Exception as exc:
            self._failed("on_llm_end", exc)

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
        try:
            key = run_id.int
            ids = pattern_ids(documents or ())
            kept = None
            if self._live.pop(key, True):  # its start had a decision type
                kept = self._snap.stored(list(documents or ()))
            post((_apply_retriever_end, self, key, ids, kept, perf_counter()))
        except Exception as exc:
            self._failed("on_retriever_end", exc)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_retriever_error", run_id, None, error)

    def on_agent_action(self, action: AgentAction, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            tool, log = getattr(action, "tool", None), getattr(action, "log", None)
            post((_apply_agent_action, self, run_id.int, tool, log))
        except Exception as exc:
            self._failed("on_agent_action", exc)


def _awaitable(hook: Callable[..., None]) -> Callable[..., Coroutine[Any, Any, None]]:
    @functools.wraps(hook)
    async def run_hook(self: Any, *args: Any, **kwargs: Any) -> None:
        hook(self, *args, **kwargs)

    return run_hook


class AsyncAgentMemoryCallbackHandler(_RunMatcher, AsyncCallbackHandler):
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


__all__ = ["AgentMemoryCallbackHandler", "AsyncAgentMemoryCallbackHandler"]
