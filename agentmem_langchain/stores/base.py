"""The ``MemoryStore`` protocol: every access pattern of the memory, on domain objects.

Backends (``SQLiteStore``, ``DynamoDBStore``, ``InMemoryStore``) implement these methods and
pass one shared contract suite (``tests/contract``). Rules every backend keeps:

* Every method is keyed by ``agent_id``: one agent's records are a partition of their own.
* Expired items (a decision's ``ttl``, a signal's ``expires_at``) are never returned, even
  before they are physically deleted.
* Queries return newest first unless stated otherwise, in pages: pass ``next_cursor`` back
  as ``cursor`` to get the next page. Cursors are opaque strings.
* Writes are durable when the method returns. ``put_decisions`` is idempotent per
  ``decision_id`` (writing a record again replaces it), so retries never duplicate.
* Conditional writes raise :class:`~agentmem_langchain.errors.StateConflictError` when the
  stored version is not the expected one; lower-layer failures raise
  :class:`~agentmem_langchain.errors.StoreUnavailableError`.
* A store's notion of "now" comes from its ``clock`` (injected for tests).

Three methods exist for :mod:`agentmem_langchain.transfer`, which copies agents between
stores: ``put_state_snapshot`` and ``put_checkpoint`` write a state or checkpoint as it was
read elsewhere (version, times and ids kept), and ``iter_published_signals`` reads back every
signal an agent published with its targets' statuses. Everything else an export needs is
read through the methods above (``query_decisions``, ``list_patterns(include_retired=True)``,
``get_pattern_history``) and written through them too (``put_decisions``, ``put_pattern``
version by version, ``publish_signal``, ``mark_signal_processed``, ``register_agent``).

A backend may also take decisions already in their stored form, :class:`EncodedDecision`
(``put_encoded_decisions``, see :class:`AcceptsEncodedDecisions`): the capture pipeline then
hands it what it encoded without building the models, which is most of the CPU a captured
record costs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

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
)


@runtime_checkable
class MemoryStore(Protocol):
    """Persistence for decisions, patterns, agent state and signals."""

    # -- decisions ------------------------------------------------------------------------

    def put_decision(self, record: DecisionRecord) -> None:
        """Store one decision (replacing any record with the same ``decision_id``)."""
        ...

    def put_decisions(self, records: Sequence[DecisionRecord]) -> None:
        """Store many decisions at once; all are durable when this returns."""
        ...

    def get_decision(self, agent_id: str, decision_id: str) -> DecisionRecord | None:
        """The decision, or None if it does not exist or has expired."""
        ...

    def set_outcome(
        self, agent_id: str, decision_id: str, outcome: DecisionOutcome
    ) -> DecisionRecord:
        """Attach (or replace) the outcome; returns the updated record.

        Raises ``NotFoundError`` if the decision does not exist or has expired.
        """
        ...

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
        """Decisions with ``start <= timestamp < end``, newest first.

        ``decision_type`` keeps one type; ``success=True``/``False`` keeps decisions whose
        outcome succeeded/failed (decisions still pending match neither).
        """
        ...

    def list_unconsolidated(
        self,
        agent_id: str,
        *,
        before: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """STM decisions not yet consolidated (and older than ``before``), oldest first."""
        ...

    def mark_consolidated(self, agent_id: str, decision_ids: Sequence[str]) -> None:
        """Flag decisions as consolidated so ``list_unconsolidated`` skips them."""
        ...

    def get_children(self, agent_id: str, decision_id: str) -> list[DecisionRecord]:
        """Direct children (``parent_decision_id == decision_id``), oldest first."""
        ...

    def get_trace(self, agent_id: str, trace_id: str) -> list[DecisionRecord]:
        """Every decision of one trace (the chain under one root), oldest first."""
        ...

    def decision_stats(self, agent_id: str, *, start: datetime, end: datetime) -> DecisionStats:
        """Counts, success rate, mean confidence, latency p50/p95 and counts by type for
        decisions with ``start <= timestamp < end``.

        ``success_rate`` is successes / (successes + failures), 0.0 when none has an outcome;
        percentiles use the nearest-rank method over decisions with a recorded latency.
        """
        ...

    # -- patterns -------------------------------------------------------------------------

    def put_pattern(self, pattern: MemoryPattern, *, expected_version: int | None) -> None:
        """Store ``pattern`` if the stored version is ``expected_version``.

        ``expected_version=None`` means "create": it fails if the pattern already exists.
        Otherwise the stored pattern must have ``version == expected_version`` and
        ``pattern.version`` must be greater. Every stored version is kept for
        ``get_pattern_history``. Raises ``StateConflictError`` when the check fails.
        """
        ...

    def get_pattern(self, agent_id: str, pattern_id: str) -> MemoryPattern | None:
        """The pattern's latest version, or None."""
        ...

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
        ...

    def list_shared_patterns(
        self, grantee_agent_id: str, *, limit: int = 100
    ) -> list[MemoryPattern]:
        """Active patterns of other agents whose ``shared_with`` names the grantee,
        highest confidence first."""
        ...

    def get_pattern_history(self, agent_id: str, pattern_id: str) -> list[MemoryPattern]:
        """Every stored version of the pattern, oldest first (empty if unknown)."""
        ...

    # -- evidence counters ----------------------------------------------------------------

    def get_evidence(self, agent_id: str, key: str) -> Evidence | None:
        """The outcome counters stored under ``key`` (one group of decisions), or None.

        Read by key and strongly consistent: one request on every backend.
        """
        ...

    def put_evidence(self, evidence: Evidence, *, expected_version: int | None) -> None:
        """Store ``evidence`` if the stored version is ``expected_version`` (None: create).

        ``evidence.version`` must be greater than ``expected_version``; otherwise, or when
        another writer got there first, ``StateConflictError`` and nothing is written.
        """
        ...

    # -- state ----------------------------------------------------------------------------

    def save_state(self, state: AgentState) -> AgentState:
        """Save if the stored version equals ``state.version`` (0: none stored yet).

        Returns the stored state, whose ``version`` is one more. Raises
        ``StateConflictError`` when another writer saved first.
        """
        ...

    def load_state(self, agent_id: str) -> AgentState | None:
        """The current state, or None if none was saved."""
        ...

    def create_checkpoint(self, agent_id: str, name: str | None = None) -> StateCheckpoint:
        """Copy the current state into a new checkpoint. ``NotFoundError`` if no state."""
        ...

    def list_checkpoints(self, agent_id: str) -> list[StateCheckpoint]:
        """The agent's checkpoints, newest first."""
        ...

    def rollback(self, agent_id: str, to: str | None = None) -> AgentState:
        """Make a checkpoint the current state again (the newest one, or the one whose
        ``checkpoint_id`` or ``name`` is ``to``). The restored state is saved as a new
        version. ``NotFoundError`` if there is no such checkpoint."""
        ...

    def put_state_snapshot(self, state: AgentState) -> bool:
        """Store ``state`` exactly as given (its ``version`` and ``updated_at`` kept) unless
        the stored state is already at that version or a newer one; True if it was written.

        The write is conditional on the stored version, so a snapshot never replaces newer
        state and writing one twice is harmless. ``ValidationError`` if ``state.version``
        is 0 (a state that was never saved).
        """
        ...

    def put_checkpoint(self, checkpoint: StateCheckpoint) -> bool:
        """Store ``checkpoint`` exactly as given (id, name, ``created_at`` and state kept);
        False, writing nothing, if the agent already has a checkpoint with that id.

        It is listed as if created at ``created_at``; DynamoDB orders checkpoints by when
        they were written to it, so write an agent's checkpoints oldest first.
        """
        ...

    # -- signals --------------------------------------------------------------------------

    def publish_signal(self, signal: AgentSignal) -> None:
        """Store a signal: one delivery per target, or one for every agent if broadcast.

        Publishing the same ``signal_id`` again replaces the signal; every target's status
        (claimed, processed) is kept."""
        ...

    def pending_signals(self, agent_id: str, *, limit: int = 10) -> list[AgentSignal]:
        """Signals for ``agent_id`` it has not processed and nobody holds a live claim on,
        highest priority first, then oldest first. Expired signals and the agent's own
        broadcasts are never returned. Reading does not claim."""
        ...

    def claim_signals(
        self, agent_id: str, *, limit: int = 10, lease_seconds: float = 30.0
    ) -> list[AgentSignal]:
        """Atomically claim up to ``limit`` pending signals, in ``pending_signals`` order.

        A claim is a conditional transition, so two consumers never both take one signal.
        When the lease runs out before ``mark_signal_processed``, the signal is pending again.
        """
        ...

    def mark_signal_processed(self, agent_id: str, signal_id: str) -> bool:
        """Mark the signal processed for ``agent_id``; False if it was already processed."""
        ...

    def release_signal(self, agent_id: str, signal_id: str) -> None:
        """Give up a claim at once, making the signal pending again for ``agent_id``."""
        ...

    def iter_published_signals(
        self, agent_id: str, *, consumers: Sequence[str] = ()
    ) -> Iterator[AgentSignal]:
        """Every unexpired signal ``agent_id`` published, by ``signal_id``, each with
        ``processing`` as stored now: every named target's status, and for a broadcast also
        the status of each agent in ``consumers`` that has claimed or processed it.

        A status is ``processed``, ``claimed`` (a lease still running) or ``pending``
        (untouched, released, or a lease that ran out). Broadcast consumers must be named
        because a DynamoDB store keeps each consumer's status in the consumer's partition,
        with no index from a signal to them.
        """
        ...

    # -- agent registry -------------------------------------------------------------------

    def register_agent(self, registration: AgentRegistration) -> None:
        """Create the agent's registration, or replace it (re-registering is harmless)."""
        ...

    def heartbeat(self, agent_id: str, at: datetime) -> bool:
        """Set the registration's ``last_heartbeat`` to ``at``; False if not registered."""
        ...

    def get_agent(self, agent_id: str) -> AgentRegistration | None:
        """The agent's registration, or None."""
        ...

    def list_agents(
        self, *, seen_since: datetime | None = None, capability: str | None = None
    ) -> list[AgentRegistration]:
        """Registered agents, by agent id: only those whose ``last_heartbeat`` is at or
        after ``seen_since`` and that have ``capability``, when given. Served without
        reading any agent's decisions, patterns or signals."""
        ...

    def deregister_agent(self, agent_id: str) -> bool:
        """Remove the agent's registration; False if there was none."""
        ...

    # -- housekeeping ---------------------------------------------------------------------

    def purge_expired(self) -> int:
        """Delete expired decisions and signals now; returns how many items were deleted."""
        ...

    def close(self) -> None:
        """Release connections. Calling it twice is harmless."""
        ...


class Evidence(NamedTuple):
    """One group's outcome counters, as :mod:`agentmem_langchain.learning.evidence` keeps
    them. Stores treat ``data`` (JSON text) as opaque; ``version`` orders the writes."""

    agent_id: str
    key: str
    version: int
    data: str


class EncodedDecision(NamedTuple):
    """A decision record in its stored form: ``body`` is the record's JSON (what
    ``DecisionRecord.model_dump_json()`` gives, up to formatting), beside the fields stores
    index. :meth:`record` parses it back; :func:`encode_record` makes one from a model."""

    agent_id: str
    decision_id: str
    timestamp: datetime
    decision_type: str
    success: bool | None
    confidence: float | None
    latency_ms: float | None
    is_stm: bool
    consolidated: bool
    ttl: int | None
    parent_decision_id: str | None
    trace_id: str | None
    body: str

    def record(self) -> DecisionRecord:
        """The record this encodes."""
        return DecisionRecord.model_validate_json(self.body)


def encode_record(record: DecisionRecord) -> EncodedDecision:
    """``record`` in its stored form."""
    outcome = record.outcome
    return EncodedDecision(
        record.agent_id,
        record.decision_id,
        record.timestamp,
        record.decision_type,
        None if outcome is None else outcome.success,
        record.reasoning.confidence,
        None if outcome is None else outcome.latency_ms,
        record.is_stm,
        record.consolidated,
        record.ttl,
        record.parent_decision_id,
        record.trace_id,
        record.model_dump_json(),
    )


@runtime_checkable
class AtomicWrites(Protocol):
    """A store that can make many writes one all-or-nothing unit (``import_records`` uses it)."""

    def atomic(self) -> AbstractContextManager[None]:
        """Every write this thread makes inside the block is kept if the block ends normally,
        and none is kept if it raises. Other writers may wait until the block ends."""
        ...


@runtime_checkable
class AcceptsEncodedDecisions(Protocol):
    """A store that writes decisions given in their stored form."""

    def put_encoded_decisions(self, decisions: Sequence[EncodedDecision]) -> None:
        """``put_decisions`` for the records these encode: same rules, same durability."""
        ...


__all__ = [
    "AcceptsEncodedDecisions",
    "AtomicWrites",
    "EncodedDecision",
    "Evidence",
    "MemoryStore",
    "encode_record",
]
