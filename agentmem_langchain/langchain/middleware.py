"""``AgentMemoryMiddleware``: a LangChain 1.x agent that records its decisions and is shown
what it learned from them.

>>> from langchain.agents import create_agent
>>> agent = create_agent(model, tools, middleware=[AgentMemoryMiddleware(memory)])  # doctest: +SKIP

What it records, through the background recorder (the hooks never wait on a store):

* each run of the agent as one root decision (``chain_step``, named after the agent), with
  ``thread_id`` and ``run_id`` in ``context.extra``: a success when the agent ends, a failure
  when an error escapes a model or tool call, interrupted (no outcome, tag ``interrupted``)
  when a LangGraph interrupt stops it; the next run on that thread is its child (see
  :mod:`~agentmem_langchain.langchain.agent_runs`);
* each tool call as a child of the run (``tool_call``, or the type ``decision_types`` or the
  tool's metadata ``agentmem_decision_type`` gives): the tool as the choice, its arguments as
  inputs (copied when the call starts), the text of the model turn that called it as the
  rationale, a confidence (tool metadata ``agentmem_confidence``, a ``confidence`` in the
  tool's output, or the model's logprobs), the latency and the outcome: an exception or an
  error ``ToolMessage`` is a failure (the exception is re-raised unchanged), an interrupt
  leaves it without one. ``@decision`` functions the tool calls record into the same memory,
  as its children.

What it adds: before each model call, the patterns that fit the run (see
:mod:`~agentmem_langchain.langchain.prompt`), as a section appended to the system message of
that call only; nothing is written into the agent's messages. The tool calls the model
answers with record the ids of exactly those patterns in ``reasoning.patterns_applied``.

Without ``memory``, each run's memory comes from ``runtime.context`` (``create_agent(...,
context_schema=...)``, ``agent.invoke(..., context=...)``): the context itself or its
``memory`` field if it is a ``MemoryManager``; else a manager for its ``agent_id`` field on
the store of :func:`~agentmem_langchain.langchain.defaults.default_memory` (made once per
agent id); else that default memory. So one compiled agent serves many agents.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from langchain.agents.middleware.types import (
    AgentMiddleware,
    AgentState,
    ExtendedModelResponse,
    ModelRequest,
    ModelResponse,
    PrivateStateAttr,
)
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.channels.untracked_value import UntrackedValue
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.runtime import Runtime
from langgraph.types import Command
from typing_extensions import NotRequired

from ..capture.batch import Recorder, recorder_for
from ..capture.decision import CapturedDecision, report_problem
from ..capture.hook import capture_suppressed, use_decision
from ..capture.values import clean_text, cut_text, snapshotter
from ..decorators import recording_into
from ..enums import DecisionType
from ..errors import ValidationError
from ..memory import MemoryManager
from ..models import enum_value
from .agent_runs import (
    RUN_KEY,
    AgentRun,
    AgentRuns,
    add_usage,
    calling_message,
    latest_message,
    message_text,
)
from .matching import HANDLED_TOOL_ERROR
from .prompt import (
    CachedPatterns,
    PromptPatterns,
    context_labels,
    tool_metadata,
    tool_name,
    with_section,
)
from .runs import CONFIDENCE_KEY, TYPE_KEY, as_confidence, logprob_confidence, output_confidence
from .threads import is_interrupt, is_parent_command, mark_decision_interrupted

_TOOL_CALL = DecisionType.TOOL_CALL.value
_MAX_CALLS = 256  # tool call ids of a run waiting for their decision
_MAX_TEXT = 2000  # characters of the user's message read for ranking
#: ``context(state, runtime) -> values`` that patterns' conditions are matched against.
ContextReader = Callable[[Any, Any], Mapping[str, Any]]


class MemoryAgentState(AgentState[Any]):
    """The agent state, with the id of the run's root decision (private and never saved:
    a run resumed from a checkpoint starts without it)."""

    agentmem_run: NotRequired[Annotated[str, UntrackedValue, PrivateStateAttr]]


@dataclass(slots=True)
class _ToolCall:
    captured: CapturedDecision
    recorder: Recorder
    memory: MemoryManager
    run: AgentRun | None
    confidence: float | None  # the tool's metadata says
    model_confidence: float | None  # the calling model turn's logprobs say


def _check(ok: bool, name: str, value: Any, expected: str) -> None:
    if not ok:
        message = f"{name}: expected {expected} (got {value!r})"
        raise ValidationError(message, field=name, value=value)


def _decision_types(value: Any) -> dict[str, str]:
    _check(value is None or isinstance(value, Mapping), "decision_types", value,
           "a mapping of tool names to decision types, or None")  # fmt: skip
    out: dict[str, str] = {}
    for tool, kind in (value or {}).items():
        kind = enum_value(kind)
        _check(isinstance(tool, str) and bool(tool), "decision_types", tool, "tool names (str)")
        _check(isinstance(kind, str) and bool(kind.strip()), f"decision_types[{tool!r}]", kind,
               "a non-empty decision type")  # fmt: skip
        out[tool] = kind
    return out


def _response_message(response: Any) -> AIMessage | None:
    if isinstance(response, AIMessage):
        return response
    if isinstance(response, ExtendedModelResponse):
        response = response.model_response
    if isinstance(response, ModelResponse):
        for message in reversed(response.result):
            if isinstance(message, AIMessage):
                return message
    return None


class AgentMemoryMiddleware(AgentMiddleware[MemoryAgentState, Any, Any]):
    """Records a ``create_agent`` agent's runs and tool calls as decisions, and puts the
    patterns learned from them into each model call's system message.

    >>> create_agent(model, tools, middleware=[AgentMemoryMiddleware(memory)])  # doctest: +SKIP

    ``inject_patterns=False`` only records. At most ``k`` patterns with ``confidence >=
    min_confidence`` are shown, within ``max_prompt_tokens``; ``context(state, runtime)``
    returns the values patterns' conditions are matched against (default: the run's
    metadata, and the latest user message). ``decision_types`` maps tool names to the
    decision type their calls are recorded as. Bad arguments raise ``ValidationError``; the
    hooks never raise because of the memory (a problem is logged and counted, the agent goes
    on). One instance may serve any number of concurrent runs.
    """

    state_schema = MemoryAgentState

    def __init__(
        self,
        memory: MemoryManager | None = None,
        *,
        inject_patterns: bool = True,
        k: int = 5,
        min_confidence: float = 0.6,
        max_prompt_tokens: int = 500,
        context: ContextReader | None = None,
        decision_types: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        _check(memory is None or isinstance(memory, MemoryManager), "memory", memory,
               "a MemoryManager or None")  # fmt: skip
        _check(isinstance(inject_patterns, bool), "inject_patterns", inject_patterns, "a bool")
        _check(type(k) is int and k >= 1, "k", k, "an int >= 1")
        _check(
            isinstance(min_confidence, (int, float))
            and not isinstance(min_confidence, bool)
            and math.isfinite(min_confidence)
            and 0.0 <= min_confidence <= 1.0,
            "min_confidence", min_confidence, "a number in [0, 1]",
        )  # fmt: skip
        _check(type(max_prompt_tokens) is int and max_prompt_tokens >= 1, "max_prompt_tokens",
               max_prompt_tokens, "an int >= 1")  # fmt: skip
        _check(context is None or callable(context), "context", context,
               "a callable (state, runtime) -> dict, or None")  # fmt: skip
        self.memory = memory
        self.inject_patterns = inject_patterns
        self.k = k
        self.min_confidence = float(min_confidence)
        self.max_prompt_tokens = max_prompt_tokens
        self.context = context
        self.decision_types = _decision_types(decision_types)
        self.tools = []
        self.prompt = PromptPatterns(
            k=k,
            min_confidence=self.min_confidence,
            max_tokens=max_prompt_tokens,
            decision_types=self.decision_types,
        )
        self.runs = AgentRuns(memory, labels=context is None)

    @property
    def live_runs(self) -> int:
        """Runs begun and not yet over (bounded: see ``agent_runs.MAX_RUNS``)."""
        return len(self.runs.table)

    def memory_for(self, context: Any) -> MemoryManager | None:
        """The memory a run with ``runtime.context`` records into (see the module's docs);
        None when there is none (the problem is reported). Never raises."""
        return self.runs.memory_for(context)

    # -- model calls: patterns in, tool calls out ------------------------------------------------

    def _model_start(
        self, request: ModelRequest[Any]
    ) -> tuple[AgentRun | None, MemoryManager | None, CachedPatterns | None]:
        """The model call's run and memory, and its agent's patterns if cached (no I/O)."""
        if capture_suppressed():
            return None, None, None
        try:
            run = self.runs.run_for(request.state, request.runtime)
            memory = run.memory if run is not None else self.memory_for(request.runtime.context)
            if memory is None or not self.inject_patterns:
                return run, None, None
            return run, memory, self.prompt.cached(memory)
        except Exception as exc:
            report_problem("middleware", "could not find the agent run of a model call", exc)
            return None, None, None

    def load_patterns(self, memory: MemoryManager) -> CachedPatterns:
        """Read ``memory``'s patterns (its own, and those shared with it) into the cache; a
        failed read is reported and gives none. Blocks on the store: the async hook calls it
        in a worker thread."""
        entry, error = self.prompt.load(memory)
        if error is not None:
            report_problem("middleware.patterns", "could not read patterns for the prompt", error)
        return entry

    def _with_patterns(
        self, request: ModelRequest[Any], run: AgentRun | None, entry: CachedPatterns | None
    ) -> tuple[ModelRequest[Any], list[str] | None]:
        """The request with the section of the fitting patterns, and their ids."""
        if entry is None or not entry.patterns:
            return request, None
        try:
            labels, text = self._context_of(request, run)
            section, shown = self.prompt.section(entry, request.tools, labels, text)
            if not section:
                return request, None
            system = with_section(request.system_message, section)
            return request.override(system_message=system), list(shown)
        except Exception as exc:
            report_problem("middleware.patterns", "could not add patterns to the prompt", exc)
            return request, None

    def _context_of(
        self, request: ModelRequest[Any], run: AgentRun | None
    ) -> tuple[dict[str, str], str]:
        """Condition labels and text of the run, that patterns are ranked against."""
        if self.context is None:
            user = latest_message(request.messages, "human")
            labels = run.labels if run is not None else {}
            return labels, message_text(user)[:_MAX_TEXT] if user is not None else ""
        try:
            values = self.context(request.state, request.runtime)
        except Exception as exc:
            report_problem("middleware.context", "the context function raised", exc)
            return {}, ""
        if not isinstance(values, Mapping):
            return {}, ""
        words = " ".join(v for v in values.values() if isinstance(v, str))
        return context_labels(values), words[:_MAX_TEXT]

    def _model_end(self, run: AgentRun | None, response: Any, shown: list[str] | None) -> None:
        """Note which patterns the tool calls of ``response`` were made under, and its usage."""
        if run is None:
            return
        try:
            message = _response_message(response)
            if message is None:
                return
            add_usage(run.usage, message.usage_metadata)
            applied = run.applied
            for call in message.tool_calls:
                call_id = call.get("id")
                if not isinstance(call_id, str):
                    continue
                if shown:
                    applied[call_id] = shown
                    if len(applied) > _MAX_CALLS:
                        applied.pop(next(iter(applied)), None)
                else:
                    applied.pop(call_id, None)
        except Exception as exc:
            report_problem("middleware", "could not read a model response", exc)

    # -- tool calls --------------------------------------------------------------------------

    def _tool_start(self, request: ToolCallRequest) -> _ToolCall | None:
        """The tool call's decision, begun (arguments copied now); None if not recorded."""
        if capture_suppressed():
            return None
        try:
            call = request.tool_call
            run = self.runs.run_for(request.state, request.runtime)
            memory = run.memory if run is not None else self.memory_for(request.runtime.context)
            if memory is None:
                return None
            recorder = run.recorder if run is not None else recorder_for(memory.store)
            name = call.get("name") or tool_name(request.tool) or "tool"
            metadata = tool_metadata(request.tool)
            kind = self.decision_types.get(name) or enum_value(metadata.get(TYPE_KEY))
            inputs, size = snapshotter(recorder.settings).snapshot_mapping(call.get("args"))
            call_id = call.get("id")
            captured = CapturedDecision(
                agent_id=memory.agent_id,
                decision_type=kind if isinstance(kind, str) and kind else _TOOL_CALL,
                started_at=memory.clock(),
                parent_decision_id=run.key if run is not None else None,
                trace_id=run.trace_id if run is not None else None,
                inputs=inputs,
                context_extra={
                    **(run.tool_extra if run is not None else {}),
                    "run_type": "tool",
                    "run_name": clean_text(name),
                },
                tags=list(run.tags) if run is not None else [],
                metadata={"tool_call_id": call_id} if isinstance(call_id, str) else {},
                ttl=memory.decision_ttl,
                size=size,
            )
            captured.reasoning["selected"] = [name]
            model_confidence = None
            message = calling_message(request.state, call_id) if call_id else None
            if message is not None:
                rationale = message_text(message).strip()
                if rationale:
                    captured.reasoning["rationale"] = rationale
                details = message.response_metadata or {}
                model = details.get("model_name") or details.get("model")
                if isinstance(model, str) and model:
                    captured.metadata["model"] = model
                model_confidence = logprob_confidence(details.get("logprobs"))
            if run is not None and isinstance(call_id, str):
                shown = run.applied.pop(call_id, None)
                if shown:
                    captured.reasoning["patterns_applied"] = shown
            pinned = as_confidence(metadata.get(CONFIDENCE_KEY))
            return _ToolCall(captured, recorder, memory, run, pinned, model_confidence)
        except Exception as exc:
            report_problem("middleware", "could not begin recording a tool call", exc)
            return None

    def _tool_end(self, call: _ToolCall, result: Any, error: BaseException | None) -> None:
        """Finish the tool call's decision and hand it to the recorder; never raises."""
        captured = call.captured
        try:
            if error is not None and is_interrupt(error):
                mark_decision_interrupted(captured)
            elif error is not None and not is_parent_command(error):
                captured.finish(None, error)
            else:
                captured.finish(result if error is None else None)
                if isinstance(result, ToolMessage) and result.status == "error":
                    captured.success = False
                    captured.error_type = HANDLED_TOOL_ERROR
                    limit = call.recorder.settings.max_value_chars
                    captured.error_message = cut_text(message_text(result), limit)
            confidence = call.confidence
            if confidence is None and error is None and not isinstance(result, Command):
                confidence = output_confidence(result)
            if confidence is None:
                confidence = call.model_confidence
            if confidence is not None:
                captured.reasoning["confidence"] = confidence
            captured.freeze(call.recorder.settings, inputs=False)
            call.recorder.submit(captured)
        except Exception as exc:
            report_problem("middleware", "could not record a tool call", exc)
        if error is not None:
            self.runs.failed(call.run, error)

    # -- the hooks (sync and async twins) ---------------------------------------------------

    def before_agent(self, state: MemoryAgentState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Begin the run's root decision; its id goes into the private, unsaved state."""
        if capture_suppressed():
            return None
        try:
            memory = self.memory_for(runtime.context)
            if memory is None:
                return None
            return {RUN_KEY: self.runs.open(state, runtime, memory).key}
        except Exception as exc:
            report_problem("middleware", "could not record the start of an agent run", exc)
            return None

    async def abefore_agent(
        self, state: MemoryAgentState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Async twin of :meth:`before_agent` (it does no I/O)."""
        return self.before_agent(state, runtime)

    def after_agent(self, state: MemoryAgentState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Record the run's root decision as a success, with the final answer."""
        if not capture_suppressed():
            self.runs.end(state, runtime)
        return None

    async def aafter_agent(
        self, state: MemoryAgentState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Async twin of :meth:`after_agent` (it does no I/O)."""
        return self.after_agent(state, runtime)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any] | AIMessage | ExtendedModelResponse[Any]:
        """Call the model with the fitting patterns in its system message."""
        run, memory, entry = self._model_start(request)
        if entry is None and memory is not None:
            entry = self.load_patterns(memory)
        request, shown = self._with_patterns(request, run, entry)
        try:
            response = handler(request)
        except BaseException as exc:
            self.runs.failed(run, exc)
            raise
        self._model_end(run, response, shown)
        return response

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | AIMessage | ExtendedModelResponse[Any]:
        """Async twin of :meth:`wrap_model_call`; patterns are read in a worker thread."""
        run, memory, entry = self._model_start(request)
        if entry is None and memory is not None:
            entry = await asyncio.to_thread(self.load_patterns, memory)
        request, shown = self._with_patterns(request, run, entry)
        try:
            response = await handler(request)
        except BaseException as exc:
            self.runs.failed(run, exc)
            raise
        self._model_end(run, response, shown)
        return response

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        """Run the tool as the current decision, recording into the run's memory."""
        call = self._tool_start(request)
        if call is None:
            return handler(request)
        with use_decision(call.captured), recording_into(call.memory):
            try:
                result = handler(request)
            except BaseException as exc:
                self._tool_end(call, None, exc)
                raise
        self._tool_end(call, result, None)
        return result

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Async twin of :meth:`wrap_tool_call`."""
        call = self._tool_start(request)
        if call is None:
            return await handler(request)
        with use_decision(call.captured), recording_into(call.memory):
            try:
                result = await handler(request)
            except BaseException as exc:
                self._tool_end(call, None, exc)
                raise
        self._tool_end(call, result, None)
        return result


__all__ = ["AgentMemoryMiddleware", "ContextReader", "MemoryAgentState"]
