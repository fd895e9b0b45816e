"""STM → LTM consolidation: decided decisions become (updated) patterns.

:func:`consolidate` reads the agent's short-term decisions not yet consolidated and

* learns from those with an outcome: each group's pattern gets the new evidence (its old
  evidence decayed first) and the decisions are marked consolidated;
* marks decisions that never got an outcome within the STM window (``stm_window``, 1 day)
  consolidated without learning from them, and likewise decisions that chose nothing;
* leaves decisions still waiting for an outcome inside the window alone (a later run
  learns from them);
* decays served patterns that got no new evidence, retiring those whose confidence falls
  below the learner's ``retire_below`` (when the change is at least ``decay_tolerance``).

Promises:

* **Incremental and idempotent**: each decision is counted once; running again with
  nothing new writes nothing.
* **Safe when consolidators race** (threads, processes, machines): counting runs under a
  per-agent lease taken with a version-conditional write, so one run counts a decision;
  the other reports ``busy``. Pattern writes are conditional on the version read and are
  retried after a conflict (a user editing ``shared_with`` meanwhile keeps the edit).
* A run killed between a group's pattern write and marking its decisions counts that
  group's new decisions again next time (the window is one store call per group); a lease
  left by a killed run expires after ``lease_seconds``.

The lease is stored as a retired pattern of type ``consolidation_lease`` (never served).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import pydantic

from .. import _checks as check
from ..config import agent_ids as agent_ids_setting
from ..enums import PatternStatus
from ..errors import StateConflictError, ValidationError, _repr
from ..models import AgentId, MemoryPattern, new_id, utcnow
from ..stores.base import MemoryStore
from ..stores.opening import open_store
from ..stores.rules import store_pattern
from .features import GroupKey
from .learner import Batch, PatternLearner

logger = logging.getLogger(__name__)

#: ``pattern_type`` of the per-agent lease record.
LEASE_TYPE = "consolidation_lease"
_PAGE = 1000
_MARK_CHUNK = 500

#: ``progress(phase, done, total)``: phase ``"reading"`` (total None) then ``"writing"``.
Progress = Callable[[str, int, "int | None"], None]


class AgentMemory(Protocol):
    """What consolidation needs of a ``MemoryManager``: its agent, store and clock."""

    @property
    def agent_id(self) -> str: ...

    @property
    def store(self) -> MemoryStore: ...

    def now(self) -> datetime: ...


@dataclass
class _Agent:
    """One agent's patterns in one store, on one clock."""

    store: MemoryStore
    agent_id: str
    clock: Callable[[], datetime]

    def now(self) -> datetime:
        return self.clock()

    def get_pattern(self, pattern_id: str) -> MemoryPattern | None:
        return self.store.get_pattern(self.agent_id, pattern_id)

    def store_pattern(self, pattern: MemoryPattern) -> MemoryPattern:
        return store_pattern(self.store, pattern, self.now())


_agent_id: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(AgentId)


@dataclass
class ConsolidationResult:
    """What one run did, for one agent."""

    agent_id: str
    now: datetime
    learned: int = 0  # decisions counted into patterns
    skipped: int = 0  # marked consolidated without learning (no outcome in time, no choice)
    pending: int = 0  # left for a later run (no outcome yet, inside the STM window)
    created: int = 0
    updated: int = 0
    decayed: int = 0
    retired: int = 0
    conflicts: int = 0  # version conflicts that were retried
    busy: bool = False  # another consolidator held the lease; nothing was done

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``now`` as ISO 8601)."""
        return {**asdict(self), "now": self.now.isoformat()}


@dataclass
class _Plan:
    batches: dict[GroupKey, Batch] = field(default_factory=dict)
    skip_ids: list[str] = field(default_factory=list)
    pending: int = 0

    @property
    def has_work(self) -> bool:
        return bool(self.batches or self.skip_ids)


class _Lease:
    """One consolidator per agent at a time: a record written conditionally on its version."""

    def __init__(self, store: MemoryStore, agent_id: str, seconds: float) -> None:
        self.store, self.agent_id, self.seconds = store, agent_id, seconds
        self.holder = new_id()
        self.pattern_id = GroupKey(LEASE_TYPE, "{}", "{}").pattern_id(agent_id)

    def version(self) -> int:
        current = self.store.get_pattern(self.agent_id, self.pattern_id)
        return current.version if current is not None else 0

    def acquire(self, now: datetime) -> int | None:
        """The version found before taking the lease, or None if someone else holds it."""
        current = self.store.get_pattern(self.agent_id, self.pattern_id)
        if current is not None and self._held_by_other(current, now):
            return None
        found = current.version if current is not None else 0
        return found if self._try(current, now + timedelta(seconds=self.seconds)) else None

    def _held_by_other(self, current: MemoryPattern, now: datetime) -> bool:
        if current.recommendation.get("holder") == self.holder:
            return False
        try:
            until = datetime.fromisoformat(str(current.recommendation.get("expires_at")))
        except ValueError:
            return False
        return until > now

    def release(self, now: datetime) -> None:
        current = self.store.get_pattern(self.agent_id, self.pattern_id)
        if current is not None and current.recommendation.get("holder") == self.holder:
            self._try(current, now)

    def _try(self, current: MemoryPattern | None, expires: datetime) -> bool:
        version = current.version + 1 if current is not None else 1
        record = MemoryPattern(
            pattern_id=self.pattern_id,
            agent_id=self.agent_id,
            pattern_type=LEASE_TYPE,
            status=PatternStatus.RETIRED,
            description="Consolidation lease (internal to agentmem_langchain.learning).",
            recommendation={"holder": self.holder, "expires_at": expires.isoformat()},
            version=version,
        )
        expected = current.version if current is not None else None
        try:
            self.store.put_pattern(record, expected_version=expected)
        except StateConflictError:
            return False
        return True


def consolidate(
    memory: AgentMemory | MemoryStore,
    agent_id: str | None = None,
    now: datetime | None = None,
    *,
    learner: PatternLearner | None = None,
    progress: Progress | None = None,
    lease_seconds: float = 600.0,
    max_attempts: int = 5,
) -> ConsolidationResult:
    """Consolidate one agent's STM decisions into patterns (see the module doc).

    >>> result = consolidate(memory_manager)          # doctest: +SKIP
    >>> result.learned, result.created, result.busy   # doctest: +SKIP
    (120, 4, False)

    ``memory`` is a ``MemoryManager`` (its agent unless ``agent_id`` says otherwise) or a
    store (``agent_id`` required). ``now`` defaults to the manager's clock. What earlier
    processes journaled is replayed by whatever opens the store (a ``MemoryManager``, the
    CLI, a recorder), in the background.
    """
    if learner is not None:
        check.instance(learner, PatternLearner, "learner")
    now = check.moment(now, "now")
    check.real(lease_seconds, "lease_seconds", low=1e-3)
    check.integer(max_attempts, "max_attempts", low=1)
    manager = _manager(memory, agent_id)
    learner = learner or PatternLearner()
    now = now or manager.now()
    result = ConsolidationResult(agent_id=manager.agent_id, now=now)
    lease = _Lease(manager.store, manager.agent_id, lease_seconds)
    seen = lease.version()
    plan = _scan(manager, learner, now, progress)
    result.pending = plan.pending
    touched: set[str] = set()
    if plan.has_work:
        found = lease.acquire(now)
        if found is None:
            result.busy = True
            return result
        try:
            if found != seen:  # another run finished since we read: our reading may be stale
                plan = _scan(manager, learner, now, progress)
                result.pending = plan.pending
            touched = _apply(manager, learner, plan, now, result, progress, max_attempts)
        finally:
            lease.release(now)
    _decay(manager, learner, now, touched, result, max_attempts)
    return result


def _manager(memory: AgentMemory | MemoryStore, agent_id: str | None) -> _Agent:
    if not isinstance(memory, MemoryStore):
        if not isinstance(getattr(memory, "store", None), MemoryStore):
            raise check.fail("memory", "expected a MemoryManager or a MemoryStore", memory)
        return _Agent(memory.store, _checked(agent_id or memory.agent_id), memory.now)
    if agent_id is None:
        raise ValidationError("agent_id: required when consolidating a store", field="agent_id")
    return _Agent(memory, _checked(agent_id), utcnow)


def _checked(agent_id: str) -> str:
    try:
        return _agent_id.validate_python(agent_id)
    except pydantic.ValidationError as exc:
        msg = exc.errors(include_url=False)[0]["msg"]
        raise ValidationError(
            f"agent_id: {msg} (got {_repr(agent_id)})", field="agent_id", value=agent_id
        ) from None


def _unconsolidated(manager: _Agent, now: datetime) -> Iterator[list[Any]]:
    cursor: str | None = None
    while True:
        page = manager.store.list_unconsolidated(
            manager.agent_id, before=now, limit=_PAGE, cursor=cursor
        )
        yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _scan(
    manager: _Agent, learner: PatternLearner, now: datetime, progress: Progress | None
) -> _Plan:
    plan, cutoff, seen = _Plan(), now - learner.stm_window, 0
    for records in _unconsolidated(manager, now):
        for record in records:
            key = learner.group_of(record) if record.outcome is not None else None
            if key is not None:
                plan.batches.setdefault(key, Batch()).add(record)
            elif record.outcome is not None or record.timestamp < cutoff:
                plan.skip_ids.append(record.decision_id)
            else:
                plan.pending += 1
        seen += len(records)
        if progress is not None:
            progress("reading", seen, None)
    return plan


def _apply(
    manager: _Agent,
    learner: PatternLearner,
    plan: _Plan,
    now: datetime,
    result: ConsolidationResult,
    progress: Progress | None,
    max_attempts: int,
) -> set[str]:
    touched: set[str] = set()
    keys = sorted(plan.batches, key=lambda k: (k.decision_type, k.recommendation, k.conditions))
    for done, key in enumerate(keys, start=1):
        batch = plan.batches[key]
        pattern_id = key.pattern_id(manager.agent_id)

        change = functools.partial(learner.update, manager.agent_id, key=key, batch=batch, now=now)
        _store_with_retry(manager, pattern_id, change, result, max_attempts)
        _mark(manager, batch.decision_ids)
        touched.add(pattern_id)
        result.learned += len(batch.decision_ids)
        if progress is not None:
            progress("writing", done, len(keys))
    _mark(manager, plan.skip_ids)
    result.skipped += len(plan.skip_ids)
    return touched


def _store_with_retry(
    manager: _Agent,
    pattern_id: str,
    change: Callable[[MemoryPattern | None], MemoryPattern | None],
    result: ConsolidationResult,
    max_attempts: int,
) -> None:
    """Read, change, write conditionally on the version read; on a conflict, again."""
    for _ in range(max_attempts):
        current = manager.get_pattern(pattern_id)
        pattern = change(current)
        if pattern is None:
            return
        try:
            manager.store_pattern(pattern)
        except StateConflictError:
            result.conflicts += 1
            continue
        _count(current, pattern, result)
        return
    raise StateConflictError(
        f"pattern {pattern_id!r}: still conflicting after {max_attempts} attempts"
    )


def _count(before: MemoryPattern | None, after: MemoryPattern, result: ConsolidationResult) -> None:
    if before is None:
        result.created += 1
    else:
        result.updated += 1
        if before.status == PatternStatus.ACTIVE and after.status == PatternStatus.RETIRED:
            result.retired += 1


def _mark(manager: _Agent, decision_ids: list[str]) -> None:
    for start in range(0, len(decision_ids), _MARK_CHUNK):
        manager.store.mark_consolidated(manager.agent_id, decision_ids[start : start + _MARK_CHUNK])


def _decay(
    manager: _Agent,
    learner: PatternLearner,
    now: datetime,
    touched: set[str],
    result: ConsolidationResult,
    max_attempts: int,
) -> None:
    """Decay the agent's served patterns that got no new evidence in this run."""
    if learner.half_life is None:
        return
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = manager.store.list_patterns(manager.agent_id, limit=_PAGE, cursor=cursor)
        ids += [p.pattern_id for p in page.items if learner.decay(p, now) is not None]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    for pattern_id in ids:
        if pattern_id in touched:
            continue
        before = result.updated
        _store_with_retry(
            manager,
            pattern_id,
            lambda current: learner.decay(current, now) if current is not None else None,
            result,
            max_attempts,
        )
        result.decayed += result.updated - before


class ConsolidationScheduler:
    """Runs :func:`consolidate` every ``every`` in a daemon thread (first run at ``start``).

    >>> with ConsolidationScheduler(memory_manager, every=timedelta(minutes=15)):  # doctest: +SKIP
    ...     run_the_agent()

    ``agent_ids`` defaults to the manager's agent. A failing run is logged and counted in
    ``errors``; the schedule goes on. ``stop()`` returns once the current run has ended.
    """

    def __init__(
        self,
        memory: AgentMemory,
        *,
        every: timedelta = timedelta(minutes=15),
        agent_ids: list[str] | None = None,
        learner: PatternLearner | None = None,
    ) -> None:
        if not isinstance(getattr(memory, "store", None), MemoryStore):
            raise check.fail("memory", "expected a MemoryManager", memory)
        check.duration(every, "every")
        agent_ids = check.names(agent_ids, "agent_ids", optional=True)
        if learner is not None:
            check.instance(learner, PatternLearner, "learner")
        self.memory, self.every, self.learner = memory, every, learner or PatternLearner()
        self.agent_ids = list(agent_ids or [memory.agent_id])
        self.runs = 0
        self.errors = 0
        self.last_results: list[ConsolidationResult] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run_once(self) -> list[ConsolidationResult]:
        """Consolidate every agent now; errors are logged, counted and skipped."""
        results = []
        for agent_id in self.agent_ids:
            try:
                results.append(consolidate(self.memory, agent_id, learner=self.learner))
            except Exception:  # the schedule must survive a bad run
                self.errors += 1
                logger.exception("consolidation of agent %r failed", agent_id)
        self.runs += 1
        self.last_results = results
        return results

    def start(self) -> None:
        """Start the background thread (calling it again while running does nothing)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="agentmem-consolidation", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the schedule; waits up to ``timeout`` for a run in progress."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            if self._stop.wait(self.every.total_seconds()):
                return

    def __enter__(self) -> ConsolidationScheduler:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def handler(event: Mapping[str, Any] | None, context: object) -> dict[str, Any]:
    """AWS Lambda entry point (e.g. on an EventBridge schedule).

    Consolidates ``event["agent_ids"]`` (or ``event["agent_id"]``, else
    :func:`~agentmem_langchain.config.agent_ids`: the comma-separated ``$AGENTMEM_AGENT_ID``,
    or ``"default"``) in the store configured by ``AGENTMEM_*`` variables, and returns
    ``{"results": [ConsolidationResult.as_dict(), ...]}``.
    """
    event = event or {}
    agent_ids = list(event.get("agent_ids") or [])
    if not agent_ids and event.get("agent_id"):
        agent_ids = [str(event["agent_id"])]
    if not agent_ids:
        agent_ids = agent_ids_setting()
    store = open_store()
    try:
        return {"results": [consolidate(store, a).as_dict() for a in agent_ids]}
    finally:
        store.close()


__all__ = [
    "LEASE_TYPE",
    "AgentMemory",
    "ConsolidationResult",
    "ConsolidationScheduler",
    "Progress",
    "consolidate",
    "handler",
]
