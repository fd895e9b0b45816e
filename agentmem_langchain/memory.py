"""``MemoryManager``: one agent's view of the memory store (create, read, update, delete).

Every write is durable when the call returns; every read sees the agent's own records only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pydantic

from . import _checks as check
from ._aio import off_loop
from .config import DEFAULT_DECISION_TTL
from .errors import NotFoundError, ValidationError, _repr
from .models import (
    AgentId,
    AgentSignal,
    AgentState,
    DecisionOutcome,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
    Page,
    StateCheckpoint,
    utcnow,
)
from .stores._common import epoch_seconds
from .stores.base import MemoryStore
from .stores.opening import open_store
from .stores.rules import PATTERN_HISTORY_LIMIT, store_pattern

if TYPE_CHECKING:
    from .capture.batch import Recorder
    from .coordination import MultiAgentCoordinator
    from .learning.recommend import Recommendation


_agent_id_adapter: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(AgentId)


def validate_agent_id(agent_id: str, field: str = "agent_id") -> str:
    """Return ``agent_id`` if it is a valid agent id, else raise ``ValidationError``."""
    try:
        return _agent_id_adapter.validate_python(agent_id)
    except pydantic.ValidationError as exc:
        msg = exc.errors(include_url=False)[0]["msg"]
        raise ValidationError(
            f"{field}: {msg} (got {_repr(agent_id)})", field=field, value=agent_id
        ) from None


class MemoryManager:
    """CRUD over one agent's decisions, patterns, state and signals.

    >>> memory = MemoryManager(agent_id="btc-agent-001")   # SQLite at .agentmem/memory.db
    >>> decision_id = memory.log_decision(
    ...     DecisionRecord(agent_id="btc-agent-001", decision_type="custom")
    ... )

    ``store`` defaults to :func:`agentmem_langchain.stores.open_store` (``AGENTMEM_STORE``).
    Decisions get ``ttl = now + decision_ttl`` unless they carry their own (``None`` keeps
    them forever). ``store`` is a store object, never a path: for a SQLite file, pass
    ``open_store("sqlite", sqlite_path="x.db")``.

    Every method checks its arguments first: a wrong type or an out-of-range value raises
    ``ValidationError`` naming the argument, and nothing is read or written. A list of names
    (``targets``, ``with_agents``, ``options``...) must be a list: a single string is refused.

    What an agent calls per step has an async twin, named with an ``a`` in front
    (``await memory.alog_outcome(decision_id, success=True)``): the same checks, errors and
    results, with the store I/O in a worker thread so the event loop keeps running. Bad
    input raises before anything is scheduled; cancelling the awaiting task never
    interrupts a store call that was scheduled (it completes, its result is dropped).
    """

    def __init__(
        self,
        agent_id: str,
        store: MemoryStore | None = None,
        *,
        decision_ttl: timedelta | None = DEFAULT_DECISION_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.agent_id = validate_agent_id(agent_id)
        _check_store(store)
        self.decision_ttl = check.duration(decision_ttl, "decision_ttl", optional=True)
        #: What :meth:`now` calls (the capture hot paths call it directly).
        self.clock: Callable[[], datetime] = check.function(clock, "clock", optional=False)
        self._owns_store = store is None
        self.store: MemoryStore = store if store is not None else open_store()
        self._coordinator: MultiAgentCoordinator | None = None
        from .capture.batch import replay_pending

        replay_pending(self.store)  # what earlier processes journaled for this store

    def now(self) -> datetime:
        """The manager's clock (injectable for tests)."""
        return self.clock()

    # -- decisions ------------------------------------------------------------------------

    def prepare(self, record: DecisionRecord) -> DecisionRecord:
        """Fill in what the manager owns (ttl), check the record belongs to this agent, and
        mask secrets in its values (capture's rules: ``CaptureSettings``)."""
        from .capture.redaction import masked_record

        check.instance(record, DecisionRecord, "record")
        self._check_owner(record.agent_id, "record.agent_id")
        if record.ttl is None and self.decision_ttl is not None:
            record.ttl = epoch_seconds(record.timestamp + self.decision_ttl)
        return masked_record(record)

    def log_decision(self, record: DecisionRecord) -> str:
        """Store a decision now and return its id.

        A record with a ``parent_decision_id`` but no ``trace_id`` joins its parent's trace.
        """
        record = self.prepare(record)
        if record.trace_id is None and record.parent_decision_id is not None:
            parent = self.store.get_decision(self.agent_id, record.parent_decision_id)
            record.trace_id = (
                parent.trace_id
                if parent is not None and parent.trace_id
                else record.parent_decision_id
            )
        self.store.put_decision(record)
        if record.outcome is not None:
            self._count(record)
        return record.decision_id

    async def alog_decision(self, record: DecisionRecord) -> str:
        """Async twin of :meth:`log_decision`: the store I/O runs off the event loop."""
        return await off_loop(self.log_decision, self.prepare(record))

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        """The decision, or None if it does not exist (or has expired)."""
        check.text(decision_id, "decision_id")
        self._await_pending_writes()
        return self.store.get_decision(self.agent_id, decision_id)

    async def aget_decision(self, decision_id: str) -> DecisionRecord | None:
        """Async twin of :meth:`get_decision`: the store I/O runs off the event loop."""
        return await off_loop(self.get_decision, check.text(decision_id, "decision_id"))

    def update_outcome(
        self, decision_id: str, outcome: DecisionOutcome | Mapping[str, Any]
    ) -> DecisionRecord:
        """Attach (or replace) a decision's outcome; ``NotFoundError`` if there is none such."""
        from .capture.redaction import masked_outcome

        check.text(decision_id, "decision_id")
        outcome = masked_outcome(_as_outcome(outcome))
        self._await_pending_writes()
        record = self.store.set_outcome(self.agent_id, decision_id, outcome)
        self._count(record)
        return record

    def _count(self, record: DecisionRecord) -> None:
        """Count a decided outcome for :meth:`recommend` at once (never raises)."""
        from .learning.evidence import count_quietly

        count_quietly(self.store, [record], self.now())

    async def aupdate_outcome(
        self, decision_id: str, outcome: DecisionOutcome | Mapping[str, Any]
    ) -> DecisionRecord:
        """Async twin of :meth:`update_outcome`: the store I/O runs off the event loop."""
        check.text(decision_id, "decision_id")
        return await off_loop(self.update_outcome, decision_id, _as_outcome(outcome))

    def log_outcome(
        self,
        decision_id: str,
        success: bool,
        quality_score: float | None = None,
        latency_ms: float | None = None,
        error: str | None = None,
        **details: Any,
    ) -> DecisionRecord:
        """Record what happened after a decision (possibly much later, from another process)."""
        check.text(decision_id, "decision_id")
        outcome = self._new_outcome(success, quality_score, latency_ms, error, details)
        return self.update_outcome(decision_id, outcome)

    async def alog_outcome(
        self,
        decision_id: str,
        success: bool,
        quality_score: float | None = None,
        latency_ms: float | None = None,
        error: str | None = None,
        **details: Any,
    ) -> DecisionRecord:
        """Async twin of :meth:`log_outcome`: the store I/O runs off the event loop."""
        check.text(decision_id, "decision_id")
        outcome = self._new_outcome(success, quality_score, latency_ms, error, details)
        return await off_loop(self.update_outcome, decision_id, outcome)

    def _new_outcome(
        self,
        success: bool | None,
        quality_score: float | None,
        latency_ms: float | None,
        error: str | None,
        details: Mapping[str, Any],
    ) -> DecisionOutcome:
        return DecisionOutcome(
            success=success,
            quality_score=quality_score,
            latency_ms=latency_ms,
            error=error,
            recorded_at=self.now(),
            details=details,
        )

    def query_decisions(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        decision_type: str | None = None,
        success: bool | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """One page of decisions, newest first; pass ``page.next_cursor`` back for the next."""
        filters = check.decision_filters(start, end, decision_type, success, limit, cursor)
        self._await_pending_writes()
        return self.store.query_decisions(self.agent_id, **filters)

    async def aquery_decisions(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        decision_type: str | None = None,
        success: bool | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """Async twin of :meth:`query_decisions`: the store I/O runs off the event loop."""
        check.decision_filters(start, end, decision_type, success, limit, cursor)
        return await off_loop(
            self.query_decisions, start, end, decision_type, success, limit, cursor
        )

    def iter_decisions(self, **filters: Any) -> Iterator[DecisionRecord]:
        """Every decision matching ``query_decisions`` filters, page after page, newest first."""
        cursor: str | None = None
        while True:
            page = self.query_decisions(cursor=cursor, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_children(self, decision_id: str) -> list[DecisionRecord]:
        """The decisions made directly under ``decision_id``, oldest first."""
        check.text(decision_id, "decision_id")
        self._await_pending_writes()
        return self.store.get_children(self.agent_id, decision_id)

    async def aget_children(self, decision_id: str) -> list[DecisionRecord]:
        """Async twin of :meth:`get_children`: the store I/O runs off the event loop."""
        return await off_loop(self.get_children, check.text(decision_id, "decision_id"))

    def get_decision_chain(self, decision_id: str) -> list[DecisionRecord]:
        """The whole chain ``decision_id`` belongs to (its trace, root first), oldest first.

        ``NotFoundError`` if the decision does not exist.
        """
        record = self.get_decision(decision_id)
        if record is None:
            raise NotFoundError(f"decision {decision_id!r} of agent {self.agent_id!r} not found")
        return self.store.get_trace(self.agent_id, record.trace_id or record.decision_id)

    async def aget_decision_chain(self, decision_id: str) -> list[DecisionRecord]:
        """Async twin of :meth:`get_decision_chain`: the store I/O runs off the event loop."""
        check.text(decision_id, "decision_id")
        return await off_loop(self.get_decision_chain, decision_id)

    def decision_stats(self, start: datetime, end: datetime | None = None) -> DecisionStats:
        """Counts, success rate, confidence and latency for ``start <= timestamp < end``."""
        start, end = check.window(start, end)
        self._await_pending_writes()
        return self.store.decision_stats(self.agent_id, start=start, end=end or self.now())

    async def adecision_stats(self, start: datetime, end: datetime | None = None) -> DecisionStats:
        """Async twin of :meth:`decision_stats`: the store I/O runs off the event loop."""
        return await off_loop(self.decision_stats, *check.window(start, end))

    # -- patterns -------------------------------------------------------------------------

    def store_pattern(self, pattern: MemoryPattern) -> MemoryPattern:
        """Create the pattern, or update it if ``pattern.version`` is the stored version.

        An update is stored as ``version + 1`` with the previous statistics appended to
        ``history``; ``StateConflictError`` if the pattern changed since it was read.
        Returns what was stored.
        """
        check.instance(pattern, MemoryPattern, "pattern")
        self._check_owner(pattern.agent_id, "pattern.agent_id")
        return store_pattern(self.store, pattern, self.now())

    def get_pattern(self, pattern_id: str) -> MemoryPattern | None:
        """The agent's own pattern (latest version), or None."""
        return self.store.get_pattern(self.agent_id, check.text(pattern_id, "pattern_id"))

    async def aget_pattern(self, pattern_id: str) -> MemoryPattern | None:
        """Async twin of :meth:`get_pattern`: the store I/O runs off the event loop."""
        return await off_loop(self.get_pattern, check.text(pattern_id, "pattern_id"))

    def get_patterns(
        self, min_confidence: float = 0.0, limit: int = 100, *, include_retired: bool = False
    ) -> list[MemoryPattern]:
        """The agent's patterns with ``confidence >= min_confidence``, most useful first:
        by :func:`~agentmem_langchain.learning.stats.rank_score` (expected rate minus one
        standard deviation), among the ``4 * limit`` most confident (at least 200)."""
        min_confidence, limit, include_retired = check.pattern_filters(
            min_confidence, limit, include_retired
        )
        from .learning.stats import rank_score

        page = self.store.list_patterns(
            self.agent_id,
            min_confidence=min_confidence,
            include_retired=include_retired,
            limit=min(max(4 * limit, 200), 1000),
        )
        return sorted(page.items, key=rank_score, reverse=True)[:limit]

    async def aget_patterns(
        self, min_confidence: float = 0.0, limit: int = 100, *, include_retired: bool = False
    ) -> list[MemoryPattern]:
        """Async twin of :meth:`get_patterns`: the store I/O runs off the event loop."""
        check.pattern_filters(min_confidence, limit, include_retired)
        return await off_loop(
            self.get_patterns, min_confidence, limit, include_retired=include_retired
        )

    def get_shared_patterns(self, limit: int = 100) -> list[MemoryPattern]:
        """Other agents' active patterns shared with this agent, most confident first."""
        return self.store.list_shared_patterns(self.agent_id, limit=check.page_limit(limit))

    async def aget_shared_patterns(self, limit: int = 100) -> list[MemoryPattern]:
        """Async twin of :meth:`get_shared_patterns`: the store I/O runs off the event loop."""
        return await off_loop(self.get_shared_patterns, check.page_limit(limit))

    def get_pattern_history(self, pattern_id: str) -> list[MemoryPattern]:
        """Every stored version of the pattern, oldest first."""
        return self.store.get_pattern_history(self.agent_id, check.text(pattern_id, "pattern_id"))

    def recommend(
        self,
        decision_type: str,
        options: list[str] | tuple[str, ...],
        context: Mapping[str, Any] | None = None,
        *,
        policy: str = "thompson",
        seed: int | None = None,
    ) -> Recommendation:
        """Which of ``options`` to take now in ``context``, from what this agent has seen
        (every outcome logged so far, no consolidation needed) and patterns shared with it.

        ``policy`` is ``"thompson"`` (default), ``"ucb"`` or ``"greedy"``; ``seed`` makes the
        draw reproducible. See :mod:`agentmem_langchain.learning.recommend` for the rules.
        """
        from .learning.recommend import RecommendRequest

        request = RecommendRequest.checked(decision_type, options, context, policy, seed)
        return request.run(self.store, self.agent_id, self.now())

    async def arecommend(
        self,
        decision_type: str,
        options: list[str] | tuple[str, ...],
        context: Mapping[str, Any] | None = None,
        *,
        policy: str = "thompson",
        seed: int | None = None,
    ) -> Recommendation:
        """Async twin of :meth:`recommend`: the store I/O runs off the event loop."""
        from .learning.recommend import RecommendRequest

        request = RecommendRequest.checked(decision_type, options, context, policy, seed)
        return await off_loop(request.run, self.store, self.agent_id, self.now())

    # -- state ----------------------------------------------------------------------------

    def save_state(
        self,
        state: AgentState | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> AgentState:
        """Save the agent's state with optimistic locking and return the stored version.

        Pass the ``AgentState`` you loaded (changed), or just the parts to replace:
        ``memory.save_state(metrics={"cycles": 12})`` loads, changes and saves. A concurrent
        save in between raises ``StateConflictError``.
        """
        if state is not None:
            check.instance(state, AgentState, "state")
        if state is None:  # bad changes raise before the state is read
            _changed(
                AgentState(agent_id=self.agent_id), config=config, metrics=metrics, status=status
            )
            state = self.load_state() or AgentState(agent_id=self.agent_id)
        state = _changed(state, config=config, metrics=metrics, status=status)
        self._check_owner(state.agent_id, "state.agent_id")
        return self.store.save_state(state)

    async def asave_state(
        self,
        state: AgentState | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> AgentState:
        """Async twin of :meth:`save_state`: the store I/O runs off the event loop."""
        if state is not None:
            check.instance(state, AgentState, "state")
        if state is None:  # the worker loads the state; bad changes raise here, before that
            _changed(
                AgentState(agent_id=self.agent_id), config=config, metrics=metrics, status=status
            )
            return await off_loop(self.save_state, config=config, metrics=metrics, status=status)
        state = _changed(state, config=config, metrics=metrics, status=status)
        self._check_owner(state.agent_id, "state.agent_id")
        return await off_loop(self.save_state, state)

    def load_state(self) -> AgentState | None:
        """The agent's current state, or None if it never saved one."""
        return self.store.load_state(self.agent_id)

    async def aload_state(self) -> AgentState | None:
        """Async twin of :meth:`load_state`: the store I/O runs off the event loop."""
        return await off_loop(self.load_state)

    def checkpoint(self, name: str | None = None) -> StateCheckpoint:
        """Snapshot the current state. ``NotFoundError`` if no state was saved yet."""
        return self.store.create_checkpoint(self.agent_id, check.optional_text(name, "name"))

    def list_checkpoints(self) -> list[StateCheckpoint]:
        """Checkpoints, newest first."""
        return self.store.list_checkpoints(self.agent_id)

    def rollback(self, to: str | None = None) -> AgentState:
        """Restore the newest checkpoint, or the one named (or with the id) ``to``."""
        return self.store.rollback(self.agent_id, check.optional_text(to, "to"))

    # -- signals --------------------------------------------------------------------------

    @property
    def coordinator(self) -> MultiAgentCoordinator:
        """The :class:`~agentmem_langchain.coordination.MultiAgentCoordinator` of this
        manager's store (the signal and sharing methods below go through it)."""
        if self._coordinator is None:
            from .coordination import MultiAgentCoordinator

            self._coordinator = MultiAgentCoordinator(self.store, clock=self.now)
        return self._coordinator

    def publish_signal(
        self,
        signal_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        targets: list[str] | None = None,
        capability: str | None = None,
        broadcast: bool = False,
        priority: int = 0,
        ttl: timedelta | None = timedelta(hours=24),
    ) -> AgentSignal:
        """Send a signal to ``targets``, to every active agent with ``capability``, or to
        every agent with ``broadcast=True``.

        It expires after ``ttl`` (24 hours by default; None never expires).
        """
        return self.coordinator.publish_signal(
            self.agent_id,
            signal_type,
            payload,
            targets=targets,
            capability=capability,
            broadcast=broadcast,
            priority=priority,
            ttl=ttl,
        )

    async def apublish_signal(
        self,
        signal_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        targets: list[str] | None = None,
        capability: str | None = None,
        broadcast: bool = False,
        priority: int = 0,
        ttl: timedelta | None = timedelta(hours=24),
    ) -> AgentSignal:
        """Async twin of :meth:`publish_signal`: the store I/O runs off the event loop."""
        from .coordination import check_signal

        check_signal(signal_type, payload, targets, capability, broadcast, priority, ttl)
        return await off_loop(
            self.publish_signal,
            signal_type,
            payload,
            targets=targets,
            capability=capability,
            broadcast=broadcast,
            priority=priority,
            ttl=ttl,
        )

    def get_pending_signals(self, limit: int = 10) -> list[AgentSignal]:
        """Signals waiting for this agent, highest priority first, then oldest (not claimed)."""
        return self.coordinator.pending_signals(self.agent_id, limit=check.page_limit(limit))

    async def aget_pending_signals(self, limit: int = 10) -> list[AgentSignal]:
        """Async twin of :meth:`get_pending_signals`: the store I/O runs off the event loop."""
        return await off_loop(self.get_pending_signals, check.page_limit(limit))

    def claim_signals(
        self, limit: int = 10, lease: timedelta = timedelta(seconds=30)
    ) -> list[AgentSignal]:
        """Take up to ``limit`` pending signals for ``lease``; other consumers will not get them."""
        return self.coordinator.consume_signals(self.agent_id, limit=limit, lease=lease)

    async def aclaim_signals(
        self, limit: int = 10, lease: timedelta = timedelta(seconds=30)
    ) -> list[AgentSignal]:
        """Async twin of :meth:`claim_signals`: the store I/O runs off the event loop."""
        check.page_limit(limit)
        check.duration(lease, "lease")
        return await off_loop(self.claim_signals, limit, lease)

    def mark_signal_processed(self, signal_id: str) -> bool:
        """Mark a signal processed for this agent; False if it already was."""
        return self.coordinator.ack(self.agent_id, check.text(signal_id, "signal_id"))

    async def amark_signal_processed(self, signal_id: str) -> bool:
        """Async twin of :meth:`mark_signal_processed`: the store I/O runs off the event loop."""
        return await off_loop(self.mark_signal_processed, check.text(signal_id, "signal_id"))

    def release_signal(self, signal_id: str) -> None:
        """Give a claimed signal back at once (it is pending again for this agent)."""
        self.coordinator.nack(self.agent_id, check.text(signal_id, "signal_id"))

    async def arelease_signal(self, signal_id: str) -> None:
        """Async twin of :meth:`release_signal`: the store I/O runs off the event loop."""
        await off_loop(self.release_signal, check.text(signal_id, "signal_id"))

    def share_pattern(self, pattern_id: str, with_agents: list[str]) -> MemoryPattern:
        """Let ``with_agents`` read this agent's pattern (stored as a new version)."""
        return self.coordinator.share_pattern(pattern_id, with_agents, owner=self.agent_id)

    def revoke_share(self, pattern_id: str, from_agents: list[str]) -> MemoryPattern:
        """Stop sharing this agent's pattern with ``from_agents``."""
        return self.coordinator.revoke_share(pattern_id, from_agents, owner=self.agent_id)

    # -- lifecycle ------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until decisions captured in this process for this agent are stored.

        Returns True when everything is durable (always, for direct ``log_*`` calls, which are
        durable on return); False if ``timeout`` (default: the recorders' ``flush_timeout``)
        passed first because the store is down or hanging.
        """
        from .capture.batch import flush_all

        timeout = check.optional_real(timeout, "timeout", low=0)
        return flush_all(timeout, agent_id=self.agent_id, store=self.store)

    async def aflush(self, timeout: float | None = None) -> bool:
        """Async twin of :meth:`flush`: the waiting happens off the event loop."""
        return await off_loop(self.flush, check.optional_real(timeout, "timeout", low=0))

    @property
    def recorder(self) -> Recorder:
        """The background recorder that writes captured decisions into this manager's store."""
        from .capture.batch import recorder_for

        return recorder_for(self.store)

    def _await_pending_writes(self) -> None:
        """Reads see this process's captured records first (read-your-writes).

        Waits for this agent's captured items only, and at most each recorder's ``read_wait``;
        never raises.
        """
        from .capture.batch import wait_for_agent

        wait_for_agent(self.agent_id)

    def close(self) -> None:
        """Write what was captured for this agent; close the store if this manager opened it."""
        self.flush()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> MemoryManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryManager(agent_id={self.agent_id!r}, store={type(self.store).__name__})"

    def _check_owner(self, agent_id: str, field: str) -> None:
        if agent_id != self.agent_id:
            raise ValidationError(
                f"{field}: {agent_id!r} is not this manager's agent {self.agent_id!r}",
                field=field,
                value=agent_id,
            )


def _as_outcome(outcome: DecisionOutcome | Mapping[str, Any]) -> DecisionOutcome:
    if isinstance(outcome, DecisionOutcome):
        return outcome
    check.mapping(outcome, "outcome", optional=False)
    return DecisionOutcome.model_validate(dict(outcome))


def _check_store(store: object) -> None:
    """``store`` is None or a store object; a path is refused, with what to write instead."""
    if store is None or isinstance(store, MemoryStore):
        return
    if isinstance(store, (str, bytes, os.PathLike)):
        raise check.fail(
            "store",
            "expected a MemoryStore, not a path; for a SQLite file write "
            f"store=open_store('sqlite', sqlite_path={os.fsdecode(store)!r})",
            store,
        )
    raise check.fail("store", f"expected a MemoryStore, not a {type(store).__name__}", store)


def _changed(
    state: AgentState,
    *,
    config: Mapping[str, Any] | None,
    metrics: Mapping[str, Any] | None,
    status: str | None,
) -> AgentState:
    """``state`` with the given parts replaced (validated), or ``state`` if none is given."""
    changes = {"config": config, "metrics": metrics, "status": status}
    changes = {key: value for key, value in changes.items() if value is not None}
    if not changes:
        return state
    return AgentState.model_validate({**state.model_dump(), **changes})


__all__ = ["PATTERN_HISTORY_LIMIT", "MemoryManager", "validate_agent_id"]
