"""The in-memory store: the reference semantics of :class:`~agentmem_langchain.stores.MemoryStore`,
every rule kept in plain Python (for tests, and as the model the other backends are held to)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from .. import _checks as check
from ..enums import PatternStatus, ProcessingStatus
from ..errors import NotFoundError, ValidationError
from ..models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionOutcome,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
    Page,
    StateCheckpoint,
    aware_utc,
    utcnow,
)
from ._common import (
    check_snapshot,
    decode_cursor,
    encode_cursor,
    processing_view,
    stats_from_rows,
    status_holders,
    to_micros,
)
from .base import Evidence
from .in_memory_namespaces import _NamespacesMixin
from .in_memory_threads import _ThreadsMixin
from .rules import (
    check_evidence_write,
    check_limit,
    check_pattern_write,
    check_state_version,
    stamp_state,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
SortKey = tuple[Any, ...]


@dataclass
class _Delivery:
    """One target's view of one signal."""

    status: ProcessingStatus = ProcessingStatus.PENDING
    lease_until: datetime | None = None


def _page(
    items: Iterable[ModelT],
    key: Callable[[ModelT], SortKey],
    *,
    descending: bool,
    limit: int,
    cursor: str | None,
) -> Page[ModelT]:
    """Copies of one page of ``items`` in ``key`` order, resuming strictly after ``cursor``."""
    check_limit(limit)
    ordered = sorted(items, key=key, reverse=descending)
    if cursor is not None:
        position = decode_cursor(cursor)
        try:
            after = tuple(position)
            ordered = [i for i in ordered if (key(i) < after if descending else key(i) > after)]
        except TypeError as exc:
            raise ValidationError(
                f"cursor: {cursor!r} is not a valid cursor", field="cursor"
            ) from exc
    page = [item.model_copy(deep=True) for item in ordered[:limit]]
    next_cursor = encode_cursor(list(key(page[-1]))) if len(ordered) > limit else None
    return Page(items=page, next_cursor=next_cursor)


def _time_key(record: DecisionRecord) -> SortKey:
    return (to_micros(record.timestamp), record.decision_id)


def _confidence_key(pattern: MemoryPattern) -> SortKey:
    return (pattern.confidence, pattern.pattern_id)


def _signal_key(signal: AgentSignal) -> SortKey:
    return (-signal.priority, to_micros(signal.created_at), signal.signal_id)


class InMemoryStore(_ThreadsMixin, _NamespacesMixin):
    """A complete ``MemoryStore`` in plain dicts, guarded by one lock.

    It keeps copies of what it is given and hands out copies, so callers can never change
    stored data by mutating a model. Nothing survives the process.

    >>> store = InMemoryStore()
    >>> store.load_state("agent-1") is None
    True
    >>> store.save_state(AgentState(agent_id="agent-1")).version
    1
    """

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = check.function(clock, "clock", optional=False)
        self._lock = threading.RLock()
        self._decisions: dict[str, dict[str, DecisionRecord]] = {}
        self._patterns: dict[str, dict[str, list[MemoryPattern]]] = {}
        self._states: dict[str, AgentState] = {}
        self._checkpoints: dict[str, list[StateCheckpoint]] = {}
        self._signals: dict[str, AgentSignal] = {}
        self._deliveries: dict[tuple[str, str], _Delivery] = {}
        self._agents: dict[str, AgentRegistration] = {}
        self._evidence: dict[tuple[str, str], Evidence] = {}

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every write inside the block is kept if it ends normally, none if it raises (the
        store is copied first; a table first made inside the block, as the thread checkpoint
        and namespaced item tables are on first use, is dropped). Other threads wait until
        the block ends."""
        with self._lock:
            saved = {k: copy.deepcopy(v) for k, v in vars(self).items() if isinstance(v, dict)}
            try:
                yield
            except BaseException:
                made = [k for k, v in vars(self).items() if isinstance(v, dict) and k not in saved]
                for name in made:
                    delattr(self, name)
                vars(self).update(saved)
                raise

    # -- decisions ------------------------------------------------------------------------

    def put_decision(self, record: DecisionRecord) -> None:
        """Store one decision (replacing any record with the same ``decision_id``)."""
        self.put_decisions([record])

    def put_decisions(self, records: Sequence[DecisionRecord]) -> None:
        """Store many decisions at once."""
        copies = [r.model_copy(deep=True) for r in records]
        with self._lock:
            for record in copies:
                self._decisions.setdefault(record.agent_id, {})[record.decision_id] = record

    def get_decision(self, agent_id: str, decision_id: str) -> DecisionRecord | None:
        """The decision, or None if it does not exist or has expired."""
        with self._lock:
            record = self._live_decision(agent_id, decision_id)
            return record.model_copy(deep=True) if record is not None else None

    def set_outcome(
        self, agent_id: str, decision_id: str, outcome: DecisionOutcome
    ) -> DecisionRecord:
        """Attach (or replace) the outcome; ``NotFoundError`` if missing or expired."""
        with self._lock:
            record = self._live_decision(agent_id, decision_id)
            if record is None:
                raise NotFoundError(f"decision {decision_id!r} of agent {agent_id!r} not found")
            record.outcome = outcome.model_copy(deep=True)
            return record.model_copy(deep=True)

    def query_decisions(
        self,
        agent_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        decision_type: str | None = None,
        success: bool | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """Decisions with ``start <= timestamp < end``, newest first."""

        def keep(record: DecisionRecord) -> bool:
            if decision_type is not None and record.decision_type != decision_type:
                return False
            if success is None:
                return True
            return record.outcome is not None and record.outcome.success is success

        with self._lock:
            chosen = [r for r in self._live_decisions(agent_id, start, end) if keep(r)]
            return _page(chosen, _time_key, descending=True, limit=limit, cursor=cursor)

    def list_unconsolidated(
        self,
        agent_id: str,
        *,
        before: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """STM decisions not yet consolidated (and older than ``before``), oldest first."""
        with self._lock:
            chosen = [
                r
                for r in self._live_decisions(agent_id, None, before)
                if r.is_stm and not r.consolidated
            ]
            return _page(chosen, _time_key, descending=False, limit=limit, cursor=cursor)

    def mark_consolidated(self, agent_id: str, decision_ids: Sequence[str]) -> None:
        """Flag decisions as consolidated; unknown or expired ids are ignored."""
        with self._lock:
            for decision_id in decision_ids:
                record = self._live_decision(agent_id, decision_id)
                if record is not None:
                    record.consolidated = True

    def get_children(self, agent_id: str, decision_id: str) -> list[DecisionRecord]:
        """Direct children (``parent_decision_id == decision_id``), oldest first."""
        with self._lock:
            chosen = [
                r
                for r in self._live_decisions(agent_id, None, None)
                if r.parent_decision_id == decision_id
            ]
            return [r.model_copy(deep=True) for r in sorted(chosen, key=_time_key)]

    def get_trace(self, agent_id: str, trace_id: str) -> list[DecisionRecord]:
        """Every decision of one trace, oldest first."""
        with self._lock:
            chosen = [
                r for r in self._live_decisions(agent_id, None, None) if r.trace_id == trace_id
            ]
            return [r.model_copy(deep=True) for r in sorted(chosen, key=_time_key)]

    def decision_stats(self, agent_id: str, *, start: datetime, end: datetime) -> DecisionStats:
        """Counts, success rate, mean confidence, latency p50/p95 and counts by type."""
        with self._lock:
            rows = [
                (
                    r.decision_type,
                    r.outcome.success if r.outcome is not None else None,
                    r.reasoning.confidence,
                    r.outcome.latency_ms if r.outcome is not None else None,
                )
                for r in self._live_decisions(agent_id, start, end)
            ]
        return stats_from_rows(agent_id, start, end, rows)

    # -- patterns -------------------------------------------------------------------------

    def put_pattern(self, pattern: MemoryPattern, *, expected_version: int | None) -> None:
        """Store ``pattern`` if the stored version is ``expected_version`` (None: create)."""
        stored = pattern.model_copy(deep=True)
        with self._lock:
            versions = self._patterns.setdefault(pattern.agent_id, {}).get(pattern.pattern_id)
            current = versions[-1].version if versions else None
            check_pattern_write(pattern, current, expected_version)
            self._patterns[pattern.agent_id].setdefault(pattern.pattern_id, []).append(stored)

    def get_pattern(self, agent_id: str, pattern_id: str) -> MemoryPattern | None:
        """The pattern's latest version, or None."""
        with self._lock:
            versions = self._patterns.get(agent_id, {}).get(pattern_id)
            return versions[-1].model_copy(deep=True) if versions else None

    def list_patterns(
        self,
        agent_id: str,
        *,
        min_confidence: float = 0.0,
        include_retired: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[MemoryPattern]:
        """The agent's own patterns with ``confidence >= min_confidence``, highest first."""
        with self._lock:
            chosen = [
                versions[-1]
                for versions in self._patterns.get(agent_id, {}).values()
                if versions[-1].confidence >= min_confidence
                and (include_retired or versions[-1].status != PatternStatus.RETIRED)
            ]
            return _page(chosen, _confidence_key, descending=True, limit=limit, cursor=cursor)

    def list_shared_patterns(
        self, grantee_agent_id: str, *, limit: int = 100
    ) -> list[MemoryPattern]:
        """Active patterns of other agents shared with the grantee, highest confidence first."""
        check_limit(limit)
        with self._lock:
            chosen = [
                versions[-1]
                for owner, patterns in self._patterns.items()
                if owner != grantee_agent_id
                for versions in patterns.values()
                if grantee_agent_id in versions[-1].shared_with
                and versions[-1].status == PatternStatus.ACTIVE
            ]
            chosen.sort(key=_confidence_key, reverse=True)
            return [p.model_copy(deep=True) for p in chosen[:limit]]

    def get_pattern_history(self, agent_id: str, pattern_id: str) -> list[MemoryPattern]:
        """Every stored version of the pattern, oldest first (empty if unknown)."""
        with self._lock:
            versions = self._patterns.get(agent_id, {}).get(pattern_id, [])
            return [p.model_copy(deep=True) for p in versions]

    # -- evidence counters ----------------------------------------------------------------

    def get_evidence(self, agent_id: str, key: str) -> Evidence | None:
        """The counters stored under ``key``, or None."""
        with self._lock:
            return self._evidence.get((agent_id, key))

    def put_evidence(self, evidence: Evidence, *, expected_version: int | None) -> None:
        """Store ``evidence`` if ``expected_version`` (None: none) is the stored version."""
        with self._lock:
            stored = self._evidence.get((evidence.agent_id, evidence.key))
            check_evidence_write(
                evidence, None if stored is None else stored.version, expected_version
            )
            self._evidence[(evidence.agent_id, evidence.key)] = evidence

    # -- state ----------------------------------------------------------------------------

    def save_state(self, state: AgentState) -> AgentState:
        """Save if the stored version equals ``state.version``; returns what was stored: one
        version up, ``updated_at`` = the store's now."""
        with self._lock:
            current = self._states.get(state.agent_id)
            current_version = current.version if current is not None else 0
            check_state_version(state, current_version)
            stored = stamp_state(state, current_version + 1, self._clock())
            self._states[state.agent_id] = stored
            return stored.model_copy(deep=True)

    def load_state(self, agent_id: str) -> AgentState | None:
        """The current state, or None if none was saved."""
        with self._lock:
            state = self._states.get(agent_id)
            return state.model_copy(deep=True) if state is not None else None

    def create_checkpoint(self, agent_id: str, name: str | None = None) -> StateCheckpoint:
        """Copy the current state into a new checkpoint. ``NotFoundError`` if no state."""
        with self._lock:
            state = self._states.get(agent_id)
            if state is None:
                raise NotFoundError(f"agent {agent_id!r} has no saved state to checkpoint")
            checkpoint = StateCheckpoint(
                agent_id=agent_id,
                name=name,
                created_at=self._clock(),
                state=state.model_copy(deep=True),
            )
            self._checkpoints.setdefault(agent_id, []).append(checkpoint)
            return checkpoint.model_copy(deep=True)

    def list_checkpoints(self, agent_id: str) -> list[StateCheckpoint]:
        """The agent's checkpoints, newest first."""
        with self._lock:
            return [c.model_copy(deep=True) for c in self._newest_checkpoints(agent_id)]

    def rollback(self, agent_id: str, to: str | None = None) -> AgentState:
        """Restore the newest checkpoint, or the one whose id or name is ``to``."""
        with self._lock:
            found = next(
                (
                    c
                    for c in self._newest_checkpoints(agent_id)
                    if to is None or to in (c.checkpoint_id, c.name)
                ),
                None,
            )
            if found is None:
                what = "any checkpoint" if to is None else f"a checkpoint {to!r}"
                raise NotFoundError(f"agent {agent_id!r} has no {what}")
            current = self._states.get(agent_id)
            version = current.version if current is not None else 0
            restored = stamp_state(found.state, version + 1, self._clock())
            self._states[agent_id] = restored
            return restored.model_copy(deep=True)

    def put_state_snapshot(self, state: AgentState) -> bool:
        """Store ``state`` as given unless the stored one is at its version or newer."""
        check_snapshot(state)
        with self._lock:
            current = self._states.get(state.agent_id)
            if current is not None and current.version >= state.version:
                return False
            self._states[state.agent_id] = state.model_copy(deep=True)
            return True

    def put_checkpoint(self, checkpoint: StateCheckpoint) -> bool:
        """Store ``checkpoint`` as given; False if the agent has one with that id."""
        with self._lock:
            kept = self._checkpoints.setdefault(checkpoint.agent_id, [])
            if any(c.checkpoint_id == checkpoint.checkpoint_id for c in kept):
                return False
            kept.append(checkpoint.model_copy(deep=True))
            return True

    # -- signals --------------------------------------------------------------------------

    def publish_signal(self, signal: AgentSignal) -> None:
        """Store a signal: one delivery per target, or one for every agent if broadcast."""
        stored = signal.model_copy(deep=True, update={"processing": {}})
        with self._lock:
            self._signals[stored.signal_id] = stored
            for target in stored.target_agent_ids:  # publishing again keeps each status
                self._deliveries.setdefault((stored.signal_id, target), _Delivery())

    def pending_signals(self, agent_id: str, *, limit: int = 10) -> list[AgentSignal]:
        """Unprocessed, unclaimed, unexpired signals for ``agent_id``; reading does not claim."""
        check_limit(limit)
        with self._lock:
            return [
                self._view(s, agent_id, ProcessingStatus.PENDING)
                for s in self._pending(agent_id)[:limit]
            ]

    def claim_signals(
        self, agent_id: str, *, limit: int = 10, lease_seconds: float = 30.0
    ) -> list[AgentSignal]:
        """Atomically claim up to ``limit`` pending signals for ``lease_seconds``."""
        check_limit(limit)
        with self._lock:
            lease_until = self._clock() + timedelta(seconds=lease_seconds)
            claimed = self._pending(agent_id)[:limit]
            for signal in claimed:
                self._deliveries[(signal.signal_id, agent_id)] = _Delivery(
                    ProcessingStatus.CLAIMED, lease_until
                )
            return [self._view(s, agent_id, ProcessingStatus.CLAIMED) for s in claimed]

    def mark_signal_processed(self, agent_id: str, signal_id: str) -> bool:
        """Mark the signal processed for ``agent_id``; False if it was already processed."""
        with self._lock:
            self._addressed_signal(agent_id, signal_id)
            delivery = self._deliveries.setdefault((signal_id, agent_id), _Delivery())
            if delivery.status == ProcessingStatus.PROCESSED:
                return False
            delivery.status, delivery.lease_until = ProcessingStatus.PROCESSED, None
            return True

    def release_signal(self, agent_id: str, signal_id: str) -> None:
        """Give up a claim at once, making the signal pending again for ``agent_id``."""
        with self._lock:
            self._addressed_signal(agent_id, signal_id)
            delivery = self._deliveries.get((signal_id, agent_id))
            if delivery is not None and delivery.status == ProcessingStatus.CLAIMED:
                delivery.status, delivery.lease_until = ProcessingStatus.PENDING, None

    def iter_published_signals(
        self, agent_id: str, *, consumers: Sequence[str] = ()
    ) -> Iterator[AgentSignal]:
        """Every unexpired signal ``agent_id`` published, by id, with its targets' statuses
        (and those of the ``consumers`` that claimed or processed a broadcast)."""
        with self._lock:
            now = self._clock()
            published = sorted(
                (
                    s
                    for s in self._signals.values()
                    if s.source_agent_id == agent_id and not s.is_expired(now)
                ),
                key=lambda s: s.signal_id,
            )
            views = []
            for signal in published:
                stored = {
                    agent: self._status(signal.signal_id, agent, now).value
                    for agent in status_holders(signal, consumers)
                }
                view = signal.model_copy(deep=True)
                view.processing = processing_view(signal, stored, consumers)
                views.append(view)
        yield from views

    # -- agent registry -------------------------------------------------------------------

    def register_agent(self, registration: AgentRegistration) -> None:
        """Create the agent's registration, or replace it (re-registering is harmless)."""
        stored = registration.model_copy(deep=True)
        with self._lock:
            self._agents[stored.agent_id] = stored

    def heartbeat(self, agent_id: str, at: datetime) -> bool:
        """Set the registration's ``last_heartbeat`` to ``at``; False if not registered."""
        with self._lock:
            registration = self._agents.get(agent_id)
            if registration is None:
                return False
            registration.last_heartbeat = at
            return True

    def get_agent(self, agent_id: str) -> AgentRegistration | None:
        """The agent's registration, or None."""
        with self._lock:
            registration = self._agents.get(agent_id)
            return registration.model_copy(deep=True) if registration is not None else None

    def list_agents(
        self, *, seen_since: datetime | None = None, capability: str | None = None
    ) -> list[AgentRegistration]:
        """Registered agents by agent id, seen at or after ``seen_since`` and having
        ``capability``, when given."""
        since = aware_utc(seen_since) if seen_since is not None else None
        with self._lock:
            chosen = [
                r
                for r in self._agents.values()
                if (since is None or r.is_active(since))
                and (capability is None or capability in r.capabilities)
            ]
            chosen.sort(key=lambda r: r.agent_id)
            return [r.model_copy(deep=True) for r in chosen]

    def deregister_agent(self, agent_id: str) -> bool:
        """Remove the agent's registration; False if there was none."""
        with self._lock:
            return self._agents.pop(agent_id, None) is not None

    # -- housekeeping ---------------------------------------------------------------------

    def purge_expired(self) -> int:
        """Delete expired decisions and signals now; returns how many were deleted."""
        with self._lock:
            now = self._clock()
            deleted = 0
            for records in self._decisions.values():
                for decision_id in [i for i, r in records.items() if r.is_expired(now)]:
                    del records[decision_id]
                    deleted += 1
            for signal_id in [i for i, s in self._signals.items() if s.is_expired(now)]:
                del self._signals[signal_id]
                deleted += 1
            self._deliveries = {k: d for k, d in self._deliveries.items() if k[0] in self._signals}
            return deleted

    def close(self) -> None:
        """Nothing to release; present for the protocol (harmless to call twice)."""

    # -- internals (callers hold the lock) ------------------------------------------------

    def _live_decision(self, agent_id: str, decision_id: str) -> DecisionRecord | None:
        record = self._decisions.get(agent_id, {}).get(decision_id)
        if record is None or record.is_expired(self._clock()):
            return None
        return record

    def _live_decisions(
        self, agent_id: str, start: datetime | None, end: datetime | None
    ) -> list[DecisionRecord]:
        now = self._clock()
        return [
            r
            for r in self._decisions.get(agent_id, {}).values()
            if not r.is_expired(now)
            and (start is None or r.timestamp >= start)
            and (end is None or r.timestamp < end)
        ]

    def _newest_checkpoints(self, agent_id: str) -> list[StateCheckpoint]:
        return sorted(
            self._checkpoints.get(agent_id, []),
            key=lambda c: (c.created_at, c.checkpoint_id),
            reverse=True,
        )

    def _pending(self, agent_id: str) -> list[AgentSignal]:
        now = self._clock()
        chosen = [
            s
            for s in self._signals.values()
            if self._is_addressed(s, agent_id)
            and not s.is_expired(now)
            and self._status(s.signal_id, agent_id, now) == ProcessingStatus.PENDING
        ]
        return sorted(chosen, key=_signal_key)

    def _status(self, signal_id: str, agent_id: str, now: datetime) -> ProcessingStatus:
        delivery = self._deliveries.get((signal_id, agent_id))
        if delivery is None:
            return ProcessingStatus.PENDING  # a broadcast nobody has touched yet
        if (
            delivery.status == ProcessingStatus.CLAIMED
            and delivery.lease_until is not None
            and delivery.lease_until <= now
        ):
            return ProcessingStatus.PENDING
        return delivery.status

    @staticmethod
    def _is_addressed(signal: AgentSignal, agent_id: str) -> bool:
        if agent_id in signal.target_agent_ids:
            return True
        return signal.broadcast and agent_id != signal.source_agent_id

    def _addressed_signal(self, agent_id: str, signal_id: str) -> AgentSignal:
        signal = self._signals.get(signal_id)
        if signal is None or not self._is_addressed(signal, agent_id):
            raise NotFoundError(f"signal {signal_id!r} for agent {agent_id!r} not found")
        return signal

    @staticmethod
    def _view(signal: AgentSignal, agent_id: str, status: ProcessingStatus) -> AgentSignal:
        return signal.model_copy(deep=True, update={"processing": {agent_id: status.value}})


__all__ = ["InMemoryStore"]
