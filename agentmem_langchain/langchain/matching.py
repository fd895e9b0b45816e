"""The capture thread's half of the LangChain handlers: events applied to the run table.

The hooks (:mod:`.callbacks`) only post events; the capture thread applies them here, in
order, one at a time: a start adds the run to the :class:`~.runs.RunTable` (with a
:class:`~agentmem_langchain.capture.CapturedDecision` when the run is recorded), an end
finishes the decision and hands it to the recorder. Every method is total: a problem is
counted in the handler's ``errors``, never raised.

How an end is recorded:

* an error is a failure; a tool's ``ToolMessage`` with ``status="error"`` (posted as its
  text) is a failure too, with ``error_type`` :data:`HANDLED_TOOL_ERROR`;
* a LangGraph interrupt (:func:`~.threads.is_interrupt`) stops the run and the runs around
  it: they end with no outcome, tagged :data:`~.threads.INTERRUPTED` (see
  :mod:`.graph_runs`); the root remembers its thread, so the next root on that thread
  continues the trace (:func:`~.threads.resumed_from`);
* a ``ParentCommand`` (a ``Command`` a subgraph hands to its parent graph) is a success.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from time import perf_counter
from typing import Any

from ..capture.decision import CapturedDecision, fast_id
from ..capture.events import event_kind
from ..capture.values import clean_text, cut_text, json_size
from ..enums import DecisionType
from ..models import enum_value
from .graph_runs import HIDDEN, interrupt_through, thread_of
from .run_details import describe_interrupted, describe_run
from .runs import (
    CONFIDENCE_KEY,
    MAX_DEPTH,
    TYPE_KEY,
    HandlerBase,
    Hint,
    Link,
    LLMResultInfo,
    Run,
    as_confidence,
    model_from_start,
    run_name,
)
from .threads import is_interrupt, is_parent_command, mark_interrupted, resumed_from

#: The kinds of run the hooks post; a chain run LangGraph routes with or hides is posted as
#: :data:`~.graph_runs.HIDDEN` (recorded only when its metadata names a decision type).
CHAIN, TOOL, LLM, RETRIEVER = "chain", "tool", "llm", "retriever"
#: The ``error_type`` of a tool whose output is a ``ToolMessage`` with ``status="error"`` (a
#: ``ToolException`` or a validation error the tool handled itself: which one, the message
#: does not say).
HANDLED_TOOL_ERROR = "ToolError"
_CHAIN_STEP = DecisionType.CHAIN_STEP.value
_TOOL_CALL = DecisionType.TOOL_CALL.value
_LLM_CALL = DecisionType.LLM_CALL.value
_ROOT: Link = (None, None)  # the link of a run with no recorded ancestor
_RECORDER = "callbacks"  # whose interrupted runs (see threads.mark_interrupted)


def _explicit(value: Any, parent: Run | None, inherited: Any) -> bool:
    # LangChain passes metadata down to child runs: a key equal to the parent's is inherited.
    return value is not None and (parent is None or inherited != value)


def _started_at(stamp: datetime | None, perf: float) -> datetime:
    """When a run started: the memory's own clock as the hook read it (``stamp``), else the
    system clock at the hook's ``perf_counter()`` reading."""
    if stamp is not None:
        return stamp
    return datetime.fromtimestamp(time.time() - (perf_counter() - perf), timezone.utc)


class RunMatcher(HandlerBase):
    """Applies the events the hooks post (on the capture thread); every method is total."""

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
        if kind == CHAIN:
            chains = self.record_chains
            return _CHAIN_STEP if chains is True or (chains and parent is None) else None
        if kind == TOOL:
            return _TOOL_CALL if self.record_tools else None
        if kind == LLM and self.record_llm:
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
            if kind is HIDDEN:
                kind = CHAIN
            if (
                decision_type is None
                and parent is not None
                and kind is CHAIN
                and confidence_tag == parent.confidence_tag
                and within == parent.within
            ):
                runs.add(key, parent)  # an unrecorded step changes nothing: children see its parent
                return
            link = self._link(parent, outer)
            thread = thread_of(metadata) if parent is None else None
            if thread is not None:
                # The next root on an interrupted thread resumes it: it continues its trace.
                resumed = resumed_from(self.agent_id, thread, recorder=_RECORDER)
                if resumed is not None and outer is None:
                    link = resumed
            run = Run(key, parent, link, within, None, type_tag, confidence_tag)
            run.thread_id = thread
            if decision_type is not None:
                name = name or run_name(serialized, kwargs, kind)
                started = (_started_at(stamp, perf), perf)
                self._record(run, kind, name, decision_type, inputs, tags, metadata, started)
            runs.add(key, run)
            if kind == TOOL and name is not None and run.decision is not None:
                self._apply_hint(run, run.decision, name, kwargs.get("tool_call_id"))
            elif kind == LLM:
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
            metadata={"langchain_run_id": None},  # the run id's str, set by describe_run
            redact=self.redact,
            ttl=self.memory.decision_ttl,
            started_perf=started[1],
            deferred=(describe_run, details),
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
        error: BaseException | str | None,  # str: the message of a tool's handled error
        inputs: Any,
        confidence: float | None,
        perf: float,
    ) -> None:
        """A run ended: hand its decision, if it has one, to the recorder (the result and the
        inputs are the hook's snapshots; the rest is frozen here).

        A LangGraph interrupt stops the run and every run around it: each ends with no
        outcome (a graph that caught the interrupt ends normally), and the root's thread
        remembers where it stopped, for the run that resumes it."""
        if not self._enabled:
            return
        try:
            run = self._runs.pop(key, None)
            if run is None:
                return  # never seen
            stopped = False
            if isinstance(error, BaseException):
                if is_interrupt(error):
                    interrupt_through(run, MAX_DEPTH)  # also the parent an alias stands for
                    stopped = True
                elif is_parent_command(error):
                    error = None  # a Command handed to the parent graph: not a failure
            if run.key != key:
                return  # an alias of its parent (an unrecorded step)
            stopped = stopped or (error is None and run.interrupted)
            if run.decision is not None:
                self._submit(run, run.decision, result, error, inputs, confidence, perf, stopped)
            if stopped and run.parent is None and run.paused is not None:
                decision_id, trace_id = run.paused
                if decision_id is not None:
                    mark_interrupted(
                        self.agent_id, run.thread_id, (decision_id, trace_id), recorder=_RECORDER
                    )
        except Exception as exc:
            self._failed(hook, exc)

    def _submit(
        self,
        run: Run,
        decision: CapturedDecision,
        result: Any,
        error: BaseException | str | None,
        inputs: Any,
        confidence: float | None,
        perf: float,
        stopped: bool,
    ) -> None:
        if inputs is not None:  # streamed runs only know their input at the end
            decision.inputs = inputs
        if stopped:  # neither a success nor a failure (yet): no outcome
            decision.finish(None, None, now=perf)
            decision.success, decision.has_result = None, False
            if decision.deferred is not None:
                decision.deferred = (describe_interrupted, decision.deferred[1])
            run.root.paused = run.link
        elif isinstance(error, str):
            decision.finish(None, None, now=perf)
            decision.success, decision.has_result, decision.result = False, False, None
            decision.error_type = HANDLED_TOOL_ERROR
            decision.error_message = cut_text(clean_text(error), self._limit)
        else:
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
apply_start = event_kind(RunMatcher._start)
apply_finish = event_kind(RunMatcher._finish)
apply_llm_end = event_kind(RunMatcher._llm_end)
apply_retriever_end = event_kind(RunMatcher._retriever_end)
apply_agent_action = event_kind(RunMatcher._agent_action)

__all__ = [
    "CHAIN",
    "HANDLED_TOOL_ERROR",
    "LLM",
    "RETRIEVER",
    "TOOL",
    "RunMatcher",
    "apply_agent_action",
    "apply_finish",
    "apply_llm_end",
    "apply_retriever_end",
    "apply_start",
]
