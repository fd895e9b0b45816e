"""The runs of a ``create_agent`` agent as the middleware sees them: one root decision each.

A run begins in ``before_agent``: its root decision's id goes into a private, never saved
state key (:data:`RUN_KEY`), so every later hook of that run finds it, however many runs
share the middleware at once. A run resumed after an interrupt has no ``before_agent`` and
no such key: its hooks find it by its LangGraph thread, or begin it (linked, through
:func:`~agentmem_langchain.langchain.threads.resumed_from`, to the interrupted run).

The root is recorded when the run ends (success), when an error leaves a model or tool call
(failure; if the run goes on after all, the success recorded at its end replaces it: both
records have the same decision id) or when an interrupt stops it (no outcome, tagged
``interrupted``). The tables are bounded: a run that never ends is recorded without an
outcome when it is pushed out, or when a new run starts on its thread.

Each run's memory comes from :meth:`AgentRuns.memory_for` (see the middleware's docs).
Everything here is total: it never raises into the agent and never does I/O (records go to
the background recorder).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from ..capture.batch import Recorder, recorder_for
from ..capture.decision import CapturedDecision, fast_id, report_problem
from ..capture.hook import current_parent
from ..capture.values import clean_text, cut_text, snapshotter
from ..enums import DecisionType
from ..memory import MemoryManager, validate_agent_id
from .defaults import default_memory
from .prompt import context_labels
from .threads import (
    is_interrupt,
    is_parent_command,
    mark_decision_interrupted,
    mark_interrupted,
    resumed_from,
)

#: The private state key that names a run's root decision (never checkpointed or returned).
RUN_KEY = "agentmem_run"
#: Live runs kept at once (the oldest unfinished run is recorded without an outcome first).
MAX_RUNS = 10_000
#: Agents whose memory (from ``runtime.context``) is kept at once; also how many ended runs
#: stay findable by tool calls still running in parallel.
MAX_AGENTS = 1024
#: How the middleware names itself to :mod:`.threads` (a handler on the same agent keeps its own).
RECORDER = "middleware"
_CHAIN_STEP = DecisionType.CHAIN_STEP.value
_LANGCHAIN_TAGS = ("seq:step:", "map:key:", "graph:step:", "langsmith:")
_PRIVATE_METADATA = ("ls_", "lc_", "langgraph_", "checkpoint_", "agentmem_", "__")
# Kept on the root only: as conditions of tool decisions they would split every lesson by run.
_RUN_METADATA = frozenset({"thread_id", "run_id", "checkpoint_ns", "checkpoint_id"})


# -- reading LangChain and LangGraph objects (total: odd input gives None or empty) ----------


def config_of(runtime: Any) -> Mapping[str, Any]:
    """The runnable config of a hook: a tool runtime's own, else the graph node's."""
    config = getattr(runtime, "config", None)
    if isinstance(config, Mapping):
        return config
    try:
        from langgraph.config import get_config

        return get_config()
    except Exception:  # outside a graph run
        return {}


def field_of(source: Any, name: str) -> Any:
    """``source[name]`` of a mapping, else ``source.name``; None if absent."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def message_text(message: Any) -> str:
    """The text of a message (its text blocks joined), or ``""``."""
    try:
        text = message.text
        return text if isinstance(text, str) else ""
    except Exception:
        return ""


def latest_message(messages: Any, kind: str) -> BaseMessage | None:
    """The last message of type ``kind`` (``"human"``, ``"ai"``) in ``messages``."""
    for message in reversed(messages or ()):
        if isinstance(message, BaseMessage) and message.type == kind:
            return message
    return None


def calling_message(state: Any, call_id: Any) -> AIMessage | None:
    """The model turn in ``state["messages"]`` that made the tool call ``call_id``."""
    for message in reversed(field_of(state, "messages") or ()):
        if isinstance(message, AIMessage) and any(
            call.get("id") == call_id for call in message.tool_calls
        ):
            return message
    return None


def thread_of(runtime: Any, config: Mapping[str, Any] | None = None) -> str | None:
    """The LangGraph thread id of a hook's run (None without a checkpointer)."""
    thread_id = getattr(getattr(runtime, "execution_info", None), "thread_id", None)
    if thread_id is None and config is not None:
        thread_id = (config.get("configurable") or {}).get("thread_id")
    return str(thread_id) if thread_id is not None else None


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Add a message's ``usage_metadata`` to ``total`` as ``input``/``output``/``total``
    (keys with "token" in them would be masked as secrets)."""
    if isinstance(usage, Mapping):
        for key in ("input", "output", "total"):
            value = usage.get(f"{key}_tokens")
            if isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value


def _public(metadata: Any) -> dict[str, Any]:
    return {
        key: value
        for key, value in (metadata or {}).items()
        if isinstance(key, str) and not key.startswith(_PRIVATE_METADATA)
    }


def _user_tags(tags: Any, limit: int) -> list[str]:
    return [
        cut_text(str.__str__(tag), limit)
        for tag in tags or ()
        if isinstance(tag, str) and not tag.startswith(_LANGCHAIN_TAGS)
    ]


# -- runs ----------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class AgentRun:
    """One run of the agent: its root decision, and what its hooks hand each other."""

    key: str  # the root decision's id
    memory: MemoryManager
    recorder: Recorder
    parent_id: str | None
    trace_id: str
    started_at: datetime
    started_perf: float
    thread_id: str | None
    inputs: Any
    extra: dict[str, Any]  # the root's context.extra (a snapshot)
    tool_extra: dict[str, Any]  # what each tool decision's context.extra starts with
    labels: dict[str, str]  # the run's metadata as condition labels, for ranking patterns
    tags: list[str]
    applied: dict[str, list[str]] = field(default_factory=dict)  # tool call id -> pattern ids
    usage: dict[str, int] = field(default_factory=dict)
    submitted: bool = False  # the root went to the recorder (it may go again, replacing it)
    ended: bool = False  # the root has its final record


class RunTable:
    """Live runs by root id, and the run each (agent, thread) is in; bounded, thread-safe.

    A run whose root is recorded moves to a small table of settled runs, where tool calls
    still running in parallel find it. ``add`` returns the runs it pushed out unfinished.
    """

    def __init__(self, max_runs: int = MAX_RUNS, max_settled: int = MAX_AGENTS) -> None:
        self.max_runs, self.max_settled = max_runs, max_settled
        self._live: OrderedDict[str, AgentRun] = OrderedDict()
        self._settled: OrderedDict[str, AgentRun] = OrderedDict()
        self._threads: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._live)

    def get(self, key: str) -> AgentRun | None:
        return self._live.get(key) or self._settled.get(key)

    def on_thread(self, agent_id: str, thread_id: str) -> AgentRun | None:
        key = self._threads.get((agent_id, thread_id))
        return self._live.get(key) if key is not None else None

    def add(self, run: AgentRun) -> list[AgentRun]:
        out: list[AgentRun] = []
        with self._lock:
            self._live[run.key] = run
            if run.thread_id:
                thread = (run.memory.agent_id, run.thread_id)
                older = self._threads.get(thread)
                if older is not None and older != run.key and older in self._live:
                    out.append(self._live.pop(older))  # a new run on the thread: it is over
                self._threads[thread] = run.key
            while len(self._live) > self.max_runs:
                out.append(self._release(self._live.popitem(last=False)[1]))
        return out

    def settle(self, run: AgentRun) -> None:
        """``run``'s root is recorded: the thread's next run does not continue it."""
        with self._lock:
            self._live.pop(run.key, None)
            self._settled[run.key] = self._release(run)
            while len(self._settled) > self.max_settled:
                self._settled.popitem(last=False)

    def _release(self, run: AgentRun) -> AgentRun:  # the caller holds the lock
        thread = (run.memory.agent_id, run.thread_id or "")
        if self._threads.get(thread) == run.key:
            del self._threads[thread]
        return run


class AgentRuns:
    """The runs of one middleware: their memory, their root decisions, their table.

    ``memory`` fixes the memory of every run; None takes it from each run's
    ``runtime.context`` (:meth:`memory_for`). ``labels``: whether runs keep their metadata
    as condition labels (the middleware's default context for ranking patterns).
    """

    def __init__(self, memory: MemoryManager | None, *, labels: bool = True) -> None:
        self.memory = memory
        self.labels = labels
        self.table = RunTable()
        self._lock = threading.Lock()
        self._agents: OrderedDict[str, MemoryManager] = OrderedDict()
        self._default: MemoryManager | None = None
        self._default_failed = False

    def _base_memory(self) -> MemoryManager | None:
        if self._default is None and not self._default_failed:
            try:
                self._default = default_memory()
            except Exception as exc:
                self._default_failed = True
                report_problem("middleware", "default memory unavailable, not recording", exc)
        return self._default

    def memory_for(self, context: Any) -> MemoryManager | None:
        """The memory a run with ``runtime.context`` records into: the fixed memory; else
        the context or its ``memory`` if a ``MemoryManager``; else, for its ``agent_id``, a
        manager on the default memory's store (made once per agent id); else the default
        memory. None (the problem reported) when there is none. Never raises."""
        if self.memory is not None:
            return self.memory
        if isinstance(context, MemoryManager):
            return context
        found = field_of(context, "memory")
        if isinstance(found, MemoryManager):
            return found
        agent_id = field_of(context, "agent_id")
        base = self._base_memory()
        if base is None or agent_id is None or agent_id == base.agent_id:
            return base
        memory = self._agents.get(agent_id) if isinstance(agent_id, str) else None
        if memory is not None:
            return memory
        try:
            memory = MemoryManager(
                validate_agent_id(agent_id, "runtime.context.agent_id"),
                store=base.store,
                decision_ttl=base.decision_ttl,
                clock=base.clock,
            )
        except Exception as exc:
            report_problem("middleware", f"no memory for this run: {exc}", exc)
            return None
        with self._lock:
            memory = self._agents.setdefault(agent_id, memory)
            self._agents.move_to_end(agent_id)
            while len(self._agents) > MAX_AGENTS:
                self._agents.popitem(last=False)
        return memory

    def run_for(self, state: Any, runtime: Any, *, create: bool = True) -> AgentRun | None:
        """The run a hook belongs to: by the state's :data:`RUN_KEY`, else by its thread (a
        resumed run); begun here when ``create`` and either is known, else None."""
        key = field_of(state, RUN_KEY)
        run = self.table.get(key) if isinstance(key, str) else None
        if run is not None:
            return run
        memory = self.memory_for(getattr(runtime, "context", None))
        if memory is None:
            return None
        thread_id = thread_of(runtime)
        if thread_id:
            run = self.table.on_thread(memory.agent_id, thread_id)
            if run is not None:
                return run
        if create and (thread_id or isinstance(key, str)):
            return self.open(state, runtime, memory, key if isinstance(key, str) else None)
        return None

    def open(
        self, state: Any, runtime: Any, memory: MemoryManager, key: str | None = None
    ) -> AgentRun:
        """Begin a run's root decision (``key``: its id, when the state already names one);
        its parent is the interrupted run it resumes, else the decision it runs inside."""
        recorder = recorder_for(memory.store)
        snap = snapshotter(recorder.settings)
        config = config_of(runtime)
        metadata = config.get("metadata") or {}
        thread_id = thread_of(runtime, config)
        run_id = getattr(getattr(runtime, "execution_info", None), "run_id", None)
        run_id = run_id or config.get("run_id")
        name = metadata.get("lc_agent_name")
        name = clean_text(name) if isinstance(name, str) and name else "agent"
        context = {k: v for k, v in _public(metadata).items() if k not in _RUN_METADATA}
        tool_extra = snap.snapshot_mapping(context)[0] if context else {}
        extra: dict[str, Any] = {**tool_extra, "run_type": "chain", "run_name": name}
        if thread_id:
            extra["thread_id"] = thread_id
        if run_id is not None:
            extra["run_id"] = str(run_id)
        link = resumed_from(memory.agent_id, thread_id, recorder=RECORDER) or current_parent()
        key = key or fast_id()
        user = latest_message(field_of(state, "messages"), "human")
        run = AgentRun(
            key=key,
            memory=memory,
            recorder=recorder,
            parent_id=link[0],
            trace_id=link[1] or link[0] or key,
            started_at=memory.clock(),
            started_perf=time.perf_counter(),
            thread_id=thread_id,
            inputs=snap.snapshot_mapping({"input": message_text(user)} if user else {})[0],
            extra=extra,
            tool_extra=tool_extra,
            labels=context_labels(context) if self.labels else {},
            tags=_user_tags(config.get("tags"), snap.limit),
        )
        for old in self.table.add(run):
            if not old.submitted:
                self.submit_root(old)  # it never ended: recorded without an outcome
        return run

    def submit_root(
        self,
        run: AgentRun,
        *,
        result: Any = None,
        error: BaseException | None = None,
        done: bool = False,
        interrupted: bool = False,
    ) -> None:
        """Hand the run's root decision to the recorder as it stands: a success if ``done``,
        a failure with ``error``, interrupted, or else without an outcome."""
        captured = CapturedDecision(
            agent_id=run.memory.agent_id,
            decision_type=_CHAIN_STEP,
            decision_id=run.key,
            started_at=run.started_at,
            parent_decision_id=run.parent_id,
            trace_id=run.trace_id,
            inputs=run.inputs,
            context_extra=dict(run.extra),
            tags=list(run.tags),
            metadata={"usage": dict(run.usage)} if run.usage else {},
            ttl=run.memory.decision_ttl,
            started_perf=run.started_perf,
        )
        if interrupted:
            mark_decision_interrupted(captured)
        elif done or error is not None:
            captured.finish(result, error)
        captured.freeze(run.recorder.settings, inputs=False)
        run.submitted = True
        run.recorder.submit(captured)

    def end(self, state: Any, runtime: Any) -> None:
        """The run reached its end: its root is a success, with the final answer."""
        try:
            run = self.run_for(state, runtime)
            if run is None or run.ended:
                return
            run.ended = True
            answer = latest_message(field_of(state, "messages"), "ai")
            output = {"output": message_text(answer)} if answer is not None else None
            self.submit_root(run, result=output, done=True)
            self.table.settle(run)
        except Exception as exc:
            report_problem("middleware", "could not record the end of an agent run", exc)

    def failed(self, run: AgentRun | None, error: BaseException) -> None:
        """An error left a model or tool call of ``run``: it failed, or was interrupted
        (a ``ParentCommand`` is neither)."""
        if run is None or run.ended or is_parent_command(error):
            return
        try:
            if is_interrupt(error):
                run.ended = True
                self.submit_root(run, interrupted=True)
                link = (run.key, run.trace_id)
                mark_interrupted(run.memory.agent_id, run.thread_id, link, recorder=RECORDER)
            else:
                self.submit_root(run, error=error)
            self.table.settle(run)
        except Exception as exc:
            report_problem("middleware", "could not record how an agent run ended", exc)


__all__ = [
    "MAX_AGENTS",
    "MAX_RUNS",
    "RUN_KEY",
    "AgentRun",
    "AgentRuns",
    "RunTable",
    "add_usage",
    "calling_message",
    "config_of",
    "field_of",
    "latest_message",
    "message_text",
    "thread_of",
]
