"""What the LangChain callback handlers keep between a run's start and its end.

``RunTable`` is a bounded ``OrderedDict`` of live runs: every run the handler sees gets a
small entry (recorded or not) so a child can find its nearest recorded ancestor.
Entries are popped on end *and* on error; when a run never ends, the oldest entries are
evicted once ``max_runs`` is reached, so nothing leaks.

The rest of the module turns LangChain payloads (LLM results, tool outputs, retrieved
documents) into the few values a decision keeps; every function here is total: odd input
gives ``None`` or an empty value, never an exception.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.callbacks.base import BaseCallbackManager
from langchain_core.runnables.config import var_child_runnable_config

from ..capture.batch import recorder_for
from ..capture.decision import report_problem
from ..capture.events import drain
from ..capture.hook import current_decision, register_parent_resolver
from ..capture.values import CaptureSettings, Redactor, snapshotter
from ..decorators import register_memory_resolver
from ..memory import MemoryManager, validate_agent_id
from ..models import utcnow

if TYPE_CHECKING:
    from ..capture.decision import CapturedDecision

#: Run metadata keys the handlers read (set them with ``.with_config(metadata=...)``).
TYPE_KEY = "agentmem_decision_type"
CONFIDENCE_KEY = "agentmem_confidence"
#: Document metadata key that marks a retrieved document as a stored pattern.
PATTERN_KEY = "pattern_id"
#: Hints waiting for a tool (per trace) and ancestors searched for patterns are bounded too.
MAX_HINTS = 64
MAX_DEPTH = 64

Link = tuple[str | None, str | None]  # (decision id children hang under, trace id)
RecordChains = bool | Literal["root"]
NameFilter = Callable[[str], bool] | Collection[str] | None


@dataclass(slots=True)
class Hint:
    """What a model said about a tool call, waiting for that tool's decision."""

    tool: str | None
    rationale: str | None = None
    confidence: float | None = None
    model: str | None = None
    from_action: bool = False


def run_key(run_id: Any) -> Any:
    """A run's key in the :class:`RunTable`: a UUID's ``int`` (a UUID's hash runs Python code,
    an int's does not); any other id as it is. Hot paths inline it."""
    return getattr(run_id, "int", run_id)


@dataclass(slots=True, eq=False)
class Run:
    """One LangChain run the handler has seen (``decision`` is None when not recorded)."""

    key: Any  # run_key(run_id)
    parent: Run | None
    link: Link
    within: str | None = None  # the decorated decision that was current when the run started
    decision: CapturedDecision | None = None
    type_tag: Any = None
    confidence_tag: Any = None
    pinned_confidence: float | None = None
    model: str | None = None
    hints: list[Hint] | None = None
    patterns: list[str] | None = None
    interrupted: bool = False  # a LangGraph interrupt stopped this run or one under it
    thread_id: str | None = None  # a root's LangGraph thread
    paused: Link | None = None  # a root's: its topmost recorded decision an interrupt stopped

    @property
    def root(self) -> Run:
        run = self
        for _ in range(MAX_DEPTH):
            if run.parent is None:
                break
            run = run.parent
        return run

    @property
    def anchor(self) -> Run | None:
        """This run if it is recorded, else its nearest recorded ancestor."""
        run: Run | None = self
        for _ in range(MAX_DEPTH):
            if run is None or run.decision is not None:
                return run
            run = run.parent
        return None


class RunTable(OrderedDict[Any, Run]):
    """The live runs by :func:`run_key` (a bounded ``OrderedDict``): the oldest go first when
    it is full.

    ``get`` and ``pop(key, None)`` take no lock (each is one dict operation); only eviction
    (test, then pop) needs the lock.
    """

    def __init__(self, max_runs: int = 10_000) -> None:
        super().__init__()
        self.max_runs = max_runs
        self.evicted = 0
        self.hints_seen = False  # until a model or agent gives one, tools need not look
        self.patterns_seen = False
        self.lock = threading.Lock()

    def add(self, key: Any, run: Run) -> None:
        self[key] = run
        if len(self) > self.max_runs:
            self.evict()

    def evict(self) -> None:
        """Drop the oldest runs until at most ``max_runs`` are left."""
        with self.lock:
            while len(self) > self.max_runs:
                self.popitem(last=False)  # O(1), unlike deleting a plain dict's head
                self.evicted += 1

    # -- hints: a model's thought and confidence, handed to the next tool of its trace --------

    def add_hint(self, run: Run, hint: Hint) -> None:
        root = run.root
        with self.lock:
            self.hints_seen = True
            hints = root.hints if root.hints is not None else []
            root.hints = hints
            if len(hints) < MAX_HINTS:
                hints.append(hint)

    def add_rationale(self, run: Run, tool: str | None, rationale: str) -> None:
        """An agent's log for ``tool``: it replaces the model's text on the waiting hint."""
        root = run.root
        with self.lock:
            for hint in root.hints or ():
                if hint.tool == tool and not hint.from_action:
                    hint.rationale, hint.from_action = rationale, True
                    return
        self.add_hint(run, Hint(tool=tool, rationale=rationale, from_action=True))

    def take_hint(self, run: Run, tool: str) -> Hint | None:
        root = run.root
        if not root.hints:  # no lock needed to see none: a hint added meanwhile is for later
            return None
        with self.lock:
            hints = root.hints
            if not hints:
                return None
            for index, hint in enumerate(hints):
                if hint.tool == tool or hint.tool is None:
                    return hints.pop(index)
        return None

    # -- patterns: ids of retrieved patterns, applied to decisions under the retrieving run --

    def add_patterns(self, run: Run, pattern_ids: list[str]) -> None:
        targets = [run, run.anchor]
        with self.lock:
            self.patterns_seen = True
            for target in targets:
                if target is not None:
                    target.patterns = [*(target.patterns or ()), *pattern_ids]

    def patterns_for(self, run: Run) -> list[str]:
        """Patterns retrieved under this run or any of its ancestors, first seen first."""
        found: dict[str, None] = {}
        node: Run | None = run
        with self.lock:
            for _ in range(MAX_DEPTH):
                if node is None:
                    break
                found.update(dict.fromkeys(node.patterns or ()))
                node = node.parent
        return list(found)

    def add_usage(self, run: Run | None, usage: Mapping[str, int]) -> None:
        """Add a model's token usage to the nearest recorded decision at or above ``run``."""
        anchor = run.anchor if run is not None and usage else None
        if anchor is None or anchor.decision is None:
            return
        with self.lock:
            total = anchor.decision.metadata.setdefault("usage", {})
            for key, value in usage.items():
                total[key] = total.get(key, 0) + value


# -- values read from LangChain payloads ------------------------------------------------------


def as_confidence(value: Any) -> float | None:
    """``value`` as a confidence in [0, 1], or None (bools, NaN, out of range, non-numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None  # NaN fails both comparisons


_PLAIN_OUTPUTS = frozenset({str, int, float, bool, type(None), list, tuple})


def _json_object(text: Any) -> Any:
    # A tool's dict output reaches a ToolMessage as JSON text; parse only small candidates.
    if isinstance(text, str) and text[:1] == "{" and len(text) < 4096 and "confidence" in text:
        try:
            return json.loads(text)
        except ValueError:
            return None
    return None


def output_confidence(output: Any) -> float | None:
    """A ``confidence`` a tool or chain returned: a mapping key or an attribute, also on a
    ``ToolMessage``'s artifact or JSON content."""
    if type(output) in _PLAIN_OUTPUTS:  # no attributes to look at
        return None
    if type(output) is dict:  # nor here: only its keys
        return as_confidence(output.get("confidence"))
    content = getattr(output, "content", None)
    for candidate in (output, getattr(output, "artifact", None), _json_object(content)):
        if isinstance(candidate, Mapping):
            value = candidate.get("confidence")
        else:
            value = getattr(candidate, "confidence", None)
        confidence = as_confidence(value)
        if confidence is not None:
            return confidence
    return None


def _logprob_values(logprobs: Any) -> list[float]:
    # OpenAI chat: {"content": [{"token", "logprob"}, ...]}; completions: {"token_logprobs"}.
    if isinstance(logprobs, Mapping):
        if "token_logprobs" in logprobs:
            return [float(v) for v in logprobs["token_logprobs"] or () if v is not None]
        logprobs = logprobs.get("content")
    values: list[float] = []
    for item in logprobs if isinstance(logprobs, list) else ():
        value = item.get("logprob") if isinstance(item, Mapping) else item
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values.append(float(value))
    return values


def logprob_confidence(logprobs: Any) -> float | None:
    """The geometric mean of the token probabilities: ``exp(mean(logprob))``."""
    values = [v for v in _logprob_values(logprobs) if math.isfinite(v)]
    if not values:
        return None
    return as_confidence(min(1.0, math.exp(sum(values) / len(values))))


@dataclass(slots=True)
class LLMResultInfo:
    """The parts of an ``LLMResult`` a decision keeps."""

    model: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    confidence: float | None = None
    text: str | None = None
    tool_calls: list[str] = field(default_factory=list)


def _add_usage(total: dict[str, int], usage: Any) -> None:
    if not isinstance(usage, Mapping):
        return
    # Stored as input/output/total: keys containing "token" are masked as secrets.
    names = {
        "input_tokens": "input",
        "output_tokens": "output",
        "total_tokens": "total",
        "prompt_tokens": "input",
        "completion_tokens": "output",
    }
    for key, name in names.items():
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value


def _read_generation(info: LLMResultInfo, generation: Any) -> None:
    message = getattr(generation, "message", None)
    metadata = getattr(message, "response_metadata", None) or {}
    gen_info = getattr(generation, "generation_info", None) or {}
    info.model = info.model or metadata.get("model_name") or metadata.get("model")
    _add_usage(info.usage, getattr(message, "usage_metadata", None))
    if info.confidence is None:
        info.confidence = logprob_confidence(gen_info.get("logprobs") or metadata.get("logprobs"))
    text = getattr(generation, "text", None)
    if isinstance(text, str) and text and info.text is None:
        info.text = text
    for call in getattr(message, "tool_calls", None) or ():
        if isinstance(call, Mapping) and isinstance(call.get("name"), str):
            info.tool_calls.append(call["name"])


def read_llm_result(response: Any) -> LLMResultInfo:
    """Model name, token usage, logprob confidence, text and tool calls of an LLM result."""
    info = LLMResultInfo()
    for generations in getattr(response, "generations", None) or ():
        for generation in generations or ():
            _read_generation(info, generation)
    llm_output = getattr(response, "llm_output", None)
    if isinstance(llm_output, Mapping):
        info.model = info.model or llm_output.get("model_name") or llm_output.get("model")
        if not info.usage:
            _add_usage(info.usage, llm_output.get("token_usage") or llm_output.get("usage"))
    if not isinstance(info.model, str):
        info.model = None
    return info


def model_from_start(metadata: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> str | None:
    """The model name a chat model or LLM run announces when it starts."""
    params = kwargs.get("invocation_params")
    for source, key in (
        (metadata, "ls_model_name"),
        (params, "model"),
        (params, "model_name"),
    ):
        value = source.get(key) if isinstance(source, Mapping) else None
        if isinstance(value, str) and value:
            return value
    return None


def pattern_ids(documents: Iterable[Any]) -> list[str]:
    """The ``pattern_id`` of each retrieved document that has one, in order, once each."""
    found: dict[str, None] = {}
    for document in documents:
        metadata = getattr(document, "metadata", None)
        value = metadata.get(PATTERN_KEY) if isinstance(metadata, Mapping) else None
        if isinstance(value, str) and value:
            found[value] = None
    return list(found)


def run_name(serialized: Any, kwargs: Mapping[str, Any] | str | None, default: str) -> str:
    """The run's name: the ``name`` LangChain passes (in the hook's keyword arguments, or that
    name alone), else the serialized name or id."""
    name = kwargs.get("name") if isinstance(kwargs, Mapping) else kwargs
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, (dict, Mapping)):  # a dict is checked first, and faster
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return default


# -- the handlers' settings and bookkeeping ------------------------------------------------


def _accept_all(name: str) -> bool:
    return True


def _name_predicate(name_filter: NameFilter) -> Callable[[str], bool]:
    if name_filter is None:
        return _accept_all
    if callable(name_filter):
        return name_filter
    return frozenset(name_filter).__contains__


class HandlerBase(BaseCallbackHandler):
    """Settings, run table and counters of the agentmem handlers (no hooks here)."""

    run_inline = True  # hooks never block: no executor hop inside async runs

    def __init__(
        self,
        memory: MemoryManager,
        *,
        agent_id: str | None = None,
        record_chains: RecordChains = "root",
        record_tools: bool = True,
        record_llm: bool = False,
        name_filter: NameFilter = None,
        redact: Redactor | None = None,
        max_runs: int = 10_000,
    ) -> None:
        self._runs = RunTable(max_runs=max_runs)
        # The hooks' own view of the runs they saw start and not end (run key -> whether the
        # run may be recorded, truthy if so; 2 for a LangGraph node's run): what the hooks
        # need not copy and what they skip, decided on the caller's thread.
        self._live: dict[int, int] = {}
        self.enabled = True  # also sets the ignore_* switches LangChain reads per event
        self._errors = 0
        self._dropped = 0
        self._configure(
            memory, agent_id, record_chains, record_tools, record_llm, name_filter, redact
        )
        _install_parent_resolver()

    def _configure(
        self,
        memory: MemoryManager,
        agent_id: str | None = None,
        record_chains: RecordChains = "root",
        record_tools: bool = True,
        record_llm: bool = False,
        name_filter: NameFilter = None,
        redact: Redactor | None = None,
    ) -> None:
        self.memory = memory
        self.agent_id = validate_agent_id(agent_id or memory.agent_id)
        self.record_chains: RecordChains = record_chains
        self.record_tools = record_tools
        self.record_llm = record_llm
        self.redact = redact
        self._accept = _name_predicate(name_filter)
        self._filtered = name_filter is not None
        self._recorder = recorder_for(memory.store)
        # How the hooks snapshot what they are given: the recorder's capture settings.
        self._settings: CaptureSettings = self._recorder.settings
        self._snap = snapshotter(self._settings)
        self._limit = self._snap.limit
        # The clock a start hook reads; None for the system clock, worked out from the hook's
        # perf_counter() reading when the event is applied (cheaper on the hot path).
        self._stamp: Callable[[], datetime] | None = (
            None if memory.clock is utcnow else memory.clock
        )
        self._agent_memory: MemoryManager | None = None

    @property
    def decorated_memory(self) -> MemoryManager:
        """The memory of decorated functions called inside this handler's recorded runs:
        the handler's memory, for the handler's agent (``agent_id=``, if it differs)."""
        memory = self.memory
        if memory.agent_id == self.agent_id:
            return memory
        own = self._agent_memory
        if own is None or own.store is not memory.store or own.agent_id != self.agent_id:
            own = MemoryManager(
                self.agent_id, memory.store, decision_ttl=memory.decision_ttl, clock=memory.clock
            )
            self._agent_memory = own
        return own

    # LangChain skips a handler's hook for an event whose ``ignore_*`` is True. Plain
    # attributes (set with ``enabled``), not properties: LangChain reads one per event.
    ignore_chain = False
    ignore_llm = False
    ignore_chat_model = False
    ignore_agent = False
    ignore_retriever = False
    ignore_retry = True
    ignore_custom_event = True

    @property
    def enabled(self) -> bool:
        """Whether the hooks record; False makes LangChain skip them (``uninstrument``)."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value
        ignore = not value
        self.ignore_chain = self.ignore_llm = self.ignore_chat_model = ignore
        self.ignore_agent = self.ignore_retriever = ignore

    # The counters first apply the events hooks have posted (see ``_callback_events``).

    @property
    def errors(self) -> int:
        """Capture problems so far (each logged, at most once a minute, never raised)."""
        drain()
        return self._errors

    @property
    def dropped(self) -> int:
        """Decisions the recorder refused (its queue and spill buffer were full)."""
        drain()
        return self._dropped

    @property
    def live_runs(self) -> int:
        """How many runs have started and not yet ended (at most ``max_runs``)."""
        drain()
        return len(self._runs)

    @property
    def evicted_runs(self) -> int:
        """Runs dropped from the full table without an end (runs that never ended)."""
        drain()
        return self._runs.evicted

    def _failed(self, hook: str, exc: BaseException) -> None:
        self._errors += 1
        report_problem(f"callbacks.{hook}", f"LangChain handler hook {hook} failed", exc)


# -- decorated functions called inside a run ------------------------------------------------

_resolver_lock = threading.Lock()
_resolver_installed = False


class _LastLookup(threading.local):
    """The enclosing run this thread looked up last: a decorated call asks for its memory,
    then for its parent, and both come from one lookup."""

    parent_key: int | None = None
    found: tuple[HandlerBase, Link, str | None] | None = None


_last = _LastLookup()


def _enclosing_run() -> tuple[HandlerBase, Link, str | None] | None:
    """The handler recording the run this code runs in (from LangChain's child config), the
    link of that run's nearest recorded decision and the run's ``within``; None outside any
    recorded run.

    The answer for a run never changes (a run's link is set when it starts), so the last
    one is kept per thread."""
    config = var_child_runnable_config.get()
    manager = config.get("callbacks") if config else None
    if not isinstance(manager, BaseCallbackManager) or manager.parent_run_id is None:
        return None
    key = manager.parent_run_id.int
    last = _last
    if last.parent_key == key:
        return last.found
    found = None
    for handler in manager.handlers:
        if not isinstance(handler, HandlerBase):
            continue
        run = handler._runs.get(key)
        if run is None:
            drain()  # the run's start may still be waiting for (or be in) the capture thread
            run = handler._runs.get(key)
        if run is not None and run.link[0] is not None:
            found = (handler, run.link, run.within)
            break
    last.parent_key, last.found = key, found
    return found


def parent_from_langchain() -> Link | None:
    """The recorded run a decorated function is called in, from LangChain's child config."""
    found = _enclosing_run()
    if found is None:
        return None
    outer = current_decision()
    # A decorated decision entered inside this run is nearer: let it win.
    return found[1] if outer is None or outer.decision_id == found[2] else None


def memory_from_langchain() -> MemoryManager | None:
    """The memory of the handler recording the run a decorated function is called in (its
    :attr:`~HandlerBase.decorated_memory`), so that the function's record and its parent
    link land in one store; None outside any recorded run."""
    found = _enclosing_run()
    return found[0].decorated_memory if found is not None else None


def _install_parent_resolver() -> None:
    global _resolver_installed
    with _resolver_lock:
        if not _resolver_installed:
            register_parent_resolver(parent_from_langchain)
            register_memory_resolver(memory_from_langchain)
            _resolver_installed = True
