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
child (given no memory, it records into the handler's, for the handler's agent), and a chain
invoked inside a decorated function becomes the function's child.

A tool that handles its own error (``handle_tool_error=True``) returns a ``ToolMessage`` with
``status="error"``: a failure, its text the error. With LangGraph (see :mod:`.graph_runs`),
routing functions (``add_conditional_edges``) and hidden runs are never chain steps (what
they call hangs under their node); runs stopped by ``interrupt()`` are recorded with no
outcome, tagged ``interrupted``, and the root run that resumes them on the same
``thread_id`` (``Command(resume=...)``) is the interrupted root's child, in its trace.

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
from collections.abc import Callable, Coroutine, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import ToolMessage

from .. import _checks as check
from .. import config
from ..capture.decision import report_problem
from ..capture.events import post
from ..capture.hook import _current
from ..capture.values import Redactor
from ..memory import MemoryManager, validate_agent_id
from .defaults import default_memory
from .graph_runs import HIDDEN, NODE, graph_role
from .matching import (
    CHAIN,
    LLM,
    RETRIEVER,
    TOOL,
    RunMatcher,
    apply_agent_action,
    apply_finish,
    apply_llm_end,
    apply_retriever_end,
    apply_start,
)
from .run_details import PRIVATE_METADATA
from .runs import (
    _PLAIN_OUTPUTS,
    CONFIDENCE_KEY,
    TYPE_KEY,
    NameFilter,
    RecordChains,
    output_confidence,
    pattern_ids,
    read_llm_result,
)

if TYPE_CHECKING:
    from langchain_core.agents import AgentAction
    from langchain_core.documents import Document
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import LLMResult

_READ = frozenset({TYPE_KEY, CONFIDENCE_KEY, "ls_model_name"})  # private keys the handler reads
_ROOT_READ = _READ | {"thread_id"}  # and a root's LangGraph thread
#: In the hooks' table of live runs: a kept run that is a LangGraph node's (truthy: kept).
_GRAPH_NODE = 2


def check_handler_options(
    memory: Any,
    agent_id: Any = None,
    record_chains: Any = "root",
    record_tools: Any = True,
    record_llm: Any = False,
    name_filter: Any = None,
    redact: Any = None,
    max_runs: Any = 10_000,
) -> None:
    """``ValidationError`` naming the first bad handler setting (checked once, when a
    handler is made or :func:`~agentmem_langchain.langchain.tracing.instrument` is called).

    ``name_filter`` is a function of the run name or a list of run names; one string is
    refused (it would match its characters)."""
    if memory is not None:
        check.instance(memory, MemoryManager, "memory")
    if agent_id is not None:
        validate_agent_id(agent_id)
    if not isinstance(record_chains, bool) and not (
        isinstance(record_chains, str) and record_chains == "root"
    ):
        raise check.fail("record_chains", "expected True, False or 'root'", record_chains)
    check.flag(record_tools, "record_tools")
    check.flag(record_llm, "record_llm")
    if name_filter is not None and not callable(name_filter):
        check.names(name_filter, "name_filter")
    check.function(redact, "redact")
    check.integer(max_runs, "max_runs", low=1)


class _Hooks(RunMatcher):
    """The hooks' half of both handlers: what each hook copies and posts, on the caller's
    thread (:class:`~.matching.RunMatcher` applies it); nothing here raises."""

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
        check_handler_options(
            memory, agent_id, record_chains, record_tools, record_llm, name_filter, redact, max_runs
        )
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
            live = self._live
            # The parent as the hooks saw it start; None: unknown, so the run is a root here.
            seen = live.get(parent_key) if parent_key is not None else None
            role = None
            if kind is CHAIN and tags and self.record_chains is True:
                role = graph_role(tags, seen == _GRAPH_NODE)
                if role is HIDDEN:
                    kind = HIDDEN
            keep = self._may_record(kind, seen is None, metadata)
            if len(live) >= self._runs.max_runs:
                live.clear()  # runs that never ended: their children are copied in full
            live[key] = _GRAPH_NODE if role is NODE and keep else keep
            if metadata:
                metadata = self._metadata_snapshot(metadata, keep, seen is None)
            if not keep:
                inputs = None  # never recorded: nothing to copy
            elif not (type(inputs) is str and len(inputs) <= self._limit and inputs.isascii()):
                inputs = self._snap.stored(inputs)
            elif self._snap.mask is not None:  # short text: only its secrets need masking
                inputs = self._snap.mask(inputs)
            post((
                apply_start, self, kind, key, parent_key, serialized, inputs,
                tuple(tags) if tags else (), metadata or None, kwargs, _current.get(),
                perf_counter(), stamp and stamp(),
            ))  # fmt: skip
        except Exception as exc:
            self._failed(f"on_{kind}_start", exc)

    def _may_record(self, kind: str, root: bool, metadata: Any) -> bool:
        """False when the run will certainly not be recorded (then nothing of it is copied).

        A child chain is recorded as a root only when its parent is unknown (``root``): a
        parent whose start this handler's hooks saw is known (so, rarely, a parent the run
        table evicted leaves its recorded children without inputs and outputs)."""
        if metadata and metadata.get(TYPE_KEY) is not None:
            return True
        if kind is CHAIN:
            chains = self.record_chains
            return chains is True or (bool(chains) and root)
        if kind is TOOL:
            return self.record_tools
        return kind is LLM and self.record_llm

    def _metadata_snapshot(
        self, metadata: dict[str, Any], keep: bool, root: bool
    ) -> dict[str, Any] | None:
        """The metadata a record may keep (if ``keep``) and the keys the handler reads (a
        root's LangGraph thread too), copied; None if there are none."""
        read = _ROOT_READ if root else _READ
        kept = {
            key: value
            for key, value in metadata.items()
            if key in read
            or (keep and not (isinstance(key, str) and key.startswith(PRIVATE_METADATA)))
        }
        return self._snap.snapshot_mapping(kept)[0] if kept else None

    def _post_tool_failure(self, run_id: UUID, output: ToolMessage) -> None:
        """A tool that handled its own error (``handle_tool_error``, ``handle_validation_error``)
        returns a ``ToolMessage`` with ``status="error"``: a failure, its text the error."""
        try:
            content = output.content
            text = content if type(content) is str else output.text
            self._live.pop(run_id.int, None)
            post((
                apply_finish, self, "on_tool_end", run_id.int, None, text, None, None,
                perf_counter(),
            ))  # fmt: skip
        except Exception as exc:
            self._failed("on_tool_end", exc)

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
                elif self._snap.mask is not None:  # short text: only its secrets need masking
                    result = self._snap.mask(result)
                if inputs is not None:  # streamed runs only know their input at the end
                    inputs = self._snap.stored(inputs)
            post((
                apply_finish, self, hook, key, result, error, inputs, confidence, perf_counter(),
            ))  # fmt: skip
        except Exception as exc:
            self._failed(hook, exc)


class AgentMemoryCallbackHandler(_Hooks):
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
        self._post_start(CHAIN, run_id, parent_run_id, serialized, inputs, tags, metadata, name)

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
        self._post_start(TOOL, run_id, parent_run_id, serialized, given, tags, metadata, kwargs)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if type(output) is ToolMessage and output.status == "error":
            self._post_tool_failure(run_id, output)
        else:
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
        self._post_start(LLM, run_id, parent_run_id, serialized, messages, tags, metadata, kwargs)

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
        self._post_start(LLM, run_id, parent_run_id, serialized, prompts, tags, metadata, kwargs)

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
            post((apply_llm_end, self, key, info, perf_counter()))
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
            RETRIEVER, run_id, parent_run_id, serialized, query, tags, metadata, kwargs
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
            post((apply_retriever_end, self, key, ids, kept, perf_counter()))
        except Exception as exc:
            self._failed("on_retriever_end", exc)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._post_end("on_retriever_error", run_id, None, error)

    def on_agent_action(self, action: AgentAction, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            tool, log = getattr(action, "tool", None), getattr(action, "log", None)
            post((apply_agent_action, self, run_id.int, tool, log))
        except Exception as exc:
            self._failed("on_agent_action", exc)


def _awaitable(hook: Callable[..., None]) -> Callable[..., Coroutine[Any, Any, None]]:
    @functools.wraps(hook)
    async def run_hook(self: Any, *args: Any, **kwargs: Any) -> None:
        hook(self, *args, **kwargs)

    return run_hook


class AsyncAgentMemoryCallbackHandler(_Hooks, AsyncCallbackHandler):
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
