"""Several agents, one store: a registry, signal routing with leases, and shared patterns.

>>> coordinator = MultiAgentCoordinator(store)                              # doctest: +SKIP
>>> coordinator.register_agent("eth-agent-002", capabilities=["pricing"])  # doctest: +SKIP
>>> coordinator.publish_signal("btc-agent-001", "market_signal", {"side": "long"},
...                            capability="pricing")                       # doctest: +SKIP
>>> for signal in coordinator.consume_signals("eth-agent-002"):            # doctest: +SKIP
...     handle(signal)
...     coordinator.ack("eth-agent-002", signal.signal_id)

Delivery is at-least-once with exactly-once acknowledgement: ``consume_signals`` claims
signals for a lease, so a consumer that crashes before ``ack`` loses nothing (the signal is
claimable again when the lease ends), and while a lease holds no other consumer of that
agent gets the signal. ``ack`` succeeds once per (signal, target); ``nack`` gives a signal
back at once. Each target keeps its own processing status, so one agent acknowledging a
broadcast does not hide it from the others. Expired signals are never delivered.

Works on every ``MemoryStore`` (SQLite on one machine, DynamoDB across machines); the clock
is injectable so leases, heartbeats and expiry can be tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from . import _checks as check
from .errors import NotFoundError, StateConflictError, ValidationError
from .models import AgentRegistration, AgentSignal, MemoryPattern, utcnow
from .stores.base import MemoryStore
from .stores.rules import store_pattern


class _Memory(Protocol):
    """What is used of a ``MemoryManager``: its store and its clock."""

    @property
    def store(self) -> MemoryStore: ...

    def now(self) -> datetime: ...


#: How long an agent counts as active after its last heartbeat, unless told otherwise.
DEFAULT_ACTIVE_WITHIN = timedelta(minutes=5)
#: How often a version-conditional pattern update is retried when another writer wins.
SHARE_ATTEMPTS = 5


class MultiAgentCoordinator:
    """The registry, signal routing and pattern sharing of agents that share ``store``.

    ``store`` is a ``MemoryStore``, or a ``MemoryManager`` whose store is used (None: the
    configured default, ``open_store()``). ``clock`` gives "now" (UTC).

    Arguments are checked before anything is read or written: a wrong type or value raises
    ``ValidationError`` naming it. Lists of agent ids or capabilities (``targets``,
    ``capabilities``, ``with_agents``, ``from_agents``) must be lists: one string is refused.
    """

    def __init__(
        self,
        store: MemoryStore | _Memory | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from .stores.opening import open_store

        check.function(clock, "clock")
        if store is not None and not isinstance(store, MemoryStore):  # a MemoryManager
            inner = getattr(store, "store", None)
            if not isinstance(inner, MemoryStore):
                raise check.fail(
                    "store",
                    f"expected a MemoryStore or MemoryManager, not a {type(store).__name__}",
                    store,
                )
            clock = clock or store.now
            store = inner
        self.store: MemoryStore = store if store is not None else open_store()
        self._clock = clock or utcnow

    def now(self) -> datetime:
        return self._clock()

    # -- registry -------------------------------------------------------------------------

    def register_agent(
        self,
        agent_id: str,
        capabilities: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> AgentRegistration:
        """Register (or re-register) an agent; it counts as seen now."""
        capabilities = check.names(capabilities, "capabilities") or []
        check.mapping(metadata, "metadata")
        now = self.now()
        registration = AgentRegistration(
            agent_id=agent_id,
            capabilities=list(dict.fromkeys(capabilities)),
            metadata=dict(metadata or {}),
            registered_at=now,
            last_heartbeat=now,
        )
        previous = self.store.get_agent(agent_id)
        if previous is not None:
            registration = registration.model_copy(update={"registered_at": previous.registered_at})
        self.store.register_agent(registration)
        return registration

    def heartbeat(self, agent_id: str) -> None:
        """Record that the agent is alive now. ``NotFoundError`` if it is not registered."""
        check.text(agent_id, "agent_id")
        if not self.store.heartbeat(agent_id, self.now()):
            raise NotFoundError(f"agent {agent_id!r} is not registered")

    def list_agents(
        self,
        active_within: timedelta | None = DEFAULT_ACTIVE_WITHIN,
        capability: str | None = None,
    ) -> list[AgentRegistration]:
        """Agents seen within ``active_within`` (None: every registered agent), by agent id,
        only those with ``capability`` when given."""
        active_within = check.duration(active_within, "active_within", optional=True)
        check.optional_text(capability, "capability")
        since = self.now() - active_within if active_within is not None else None
        return self.store.list_agents(seen_since=since, capability=capability)

    def deregister_agent(self, agent_id: str) -> bool:
        """Remove the agent from the registry; False if it was not registered."""
        return self.store.deregister_agent(check.text(agent_id, "agent_id"))

    # -- signals --------------------------------------------------------------------------

    def publish_signal(
        self,
        source_agent: str,
        signal_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        targets: Sequence[str] | None = None,
        capability: str | None = None,
        broadcast: bool = False,
        priority: int = 0,
        ttl: timedelta | None = timedelta(hours=24),
        active_within: timedelta | None = DEFAULT_ACTIVE_WITHIN,
    ) -> AgentSignal:
        """Send a signal to ``targets``, to every active agent with ``capability`` (resolved
        now, the sender excluded), or to every agent (``broadcast``): exactly one of them.

        The payload must be JSON and at most ``AgentSignal.MAX_PAYLOAD_BYTES``; the signal
        expires after ``ttl`` (None: never). ``NotFoundError`` if no active agent has the
        capability.
        """
        check.text(source_agent, "source_agent")
        audience = check_signal(signal_type, payload, targets, capability, broadcast, priority, ttl)
        active_within = check.duration(active_within, "active_within", optional=True)
        if capability is not None:
            audience = [
                agent.agent_id
                for agent in self.list_agents(active_within, capability)
                if agent.agent_id != source_agent
            ]
            if not audience:
                raise NotFoundError(f"no active agent has capability {capability!r}")
        from .capture.redaction import masked_payload

        now = self.now()
        signal = AgentSignal(
            source_agent_id=source_agent,
            signal_type=signal_type,
            payload=masked_payload(payload or {}),  # secrets masked, as capture masks them
            target_agent_ids=audience,
            broadcast=broadcast,
            priority=priority,
            created_at=now,
            expires_at=now + ttl if ttl is not None else None,
        )
        self.store.publish_signal(signal)
        return signal

    def pending_signals(self, agent_id: str, limit: int = 10) -> list[AgentSignal]:
        """Signals waiting for ``agent_id`` (highest priority, then oldest, first); reading
        claims nothing."""
        check.text(agent_id, "agent_id")
        return self.store.pending_signals(agent_id, limit=check.page_limit(limit))

    def consume_signals(
        self, agent_id: str, limit: int = 10, lease: timedelta = timedelta(seconds=30)
    ) -> list[AgentSignal]:
        """Claim up to ``limit`` pending signals for ``lease`` (priority, then time order).

        ``ack`` each one when handled; one not acknowledged within the lease is delivered
        again, to this or another consumer of the agent.
        """
        check.text(agent_id, "agent_id")
        check.page_limit(limit)
        check.duration(lease, "lease")
        return self.store.claim_signals(agent_id, limit=limit, lease_seconds=lease.total_seconds())

    def ack(self, agent_id: str, signal_id: str) -> bool:
        """Mark the signal processed for ``agent_id``; False if it already was."""
        check.text(agent_id, "agent_id")
        check.text(signal_id, "signal_id")
        return self.store.mark_signal_processed(agent_id, signal_id)

    def nack(self, agent_id: str, signal_id: str) -> None:
        """Give the signal back now: it is pending again for ``agent_id``."""
        check.text(agent_id, "agent_id")
        check.text(signal_id, "signal_id")
        self.store.release_signal(agent_id, signal_id)

    # -- shared patterns ------------------------------------------------------------------

    def share_pattern(
        self, pattern_id: str, with_agents: Iterable[str], *, owner: str
    ) -> MemoryPattern:
        """Let ``with_agents`` read ``owner``'s pattern (a new pattern version)."""
        check.text(pattern_id, "pattern_id")
        agents = check.names(with_agents, "with_agents") or []
        grantees = [a for a in dict.fromkeys(agents) if a != owner]
        return self._update_sharing(owner, pattern_id, add=grantees, remove=())

    def revoke_share(
        self, pattern_id: str, from_agents: Iterable[str], *, owner: str
    ) -> MemoryPattern:
        """Stop sharing ``owner``'s pattern with ``from_agents``."""
        check.text(pattern_id, "pattern_id")
        agents = check.names(from_agents, "from_agents") or []
        return self._update_sharing(owner, pattern_id, add=(), remove=agents)

    def get_shared_patterns(self, agent_id: str, limit: int = 100) -> list[MemoryPattern]:
        """Other agents' active patterns shared with ``agent_id``, most confident first."""
        check.text(agent_id, "agent_id")
        return self.store.list_shared_patterns(agent_id, limit=check.page_limit(limit))

    def _update_sharing(
        self, owner: str, pattern_id: str, add: Sequence[str], remove: Sequence[str]
    ) -> MemoryPattern:
        for _ in range(SHARE_ATTEMPTS):
            pattern = self.store.get_pattern(owner, pattern_id)
            if pattern is None:
                raise NotFoundError(f"pattern {pattern_id} of agent {owner} not found")
            shared = [a for a in pattern.shared_with if a not in remove]
            shared += [a for a in add if a not in shared]
            if shared == pattern.shared_with:
                return pattern
            pattern.shared_with = shared
            try:
                return store_pattern(self.store, pattern, self.now())
            except StateConflictError:
                continue  # another writer changed the pattern: apply ours to theirs
        raise StateConflictError(
            f"share_pattern: pattern {pattern_id} kept changing; gave up after "
            f"{SHARE_ATTEMPTS} attempts"
        )


#: The priorities a signal may have (a 32-bit integer, as every store keeps it).
PRIORITY_RANGE = (-(2**31), 2**31 - 1)


def check_signal(
    signal_type: Any,
    payload: Any,
    targets: Any,
    capability: Any,
    broadcast: Any,
    priority: Any,
    ttl: Any,
) -> list[str]:
    """``ValidationError`` naming the first bad argument of ``publish_signal``; else the
    explicit targets (empty for a capability or a broadcast)."""
    check.text(signal_type, "signal_type", empty=False)
    check.mapping(payload, "payload")
    audience = check.names(targets, "targets", optional=True)
    check.optional_text(capability, "capability", empty=False)
    check.flag(broadcast, "broadcast")
    chosen = sum((audience is not None, capability is not None, broadcast))
    if chosen != 1:
        raise ValidationError(
            "publish_signal: give exactly one of targets, capability or broadcast=True",
            field="targets",
        )
    check.integer(priority, "priority", low=PRIORITY_RANGE[0], high=PRIORITY_RANGE[1])
    check.duration(ttl, "ttl", optional=True)
    return audience or []


__all__ = ["DEFAULT_ACTIVE_WITHIN", "PRIORITY_RANGE", "MultiAgentCoordinator", "check_signal"]
