"""The agent registry: registrations, heartbeats, listing by activity and capability."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from agentmem_langchain.models import AgentRegistration, AgentState
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

from .builders import AGENT, OTHER, T0, THIRD, decision, ids, pattern, signal


def registration(
    agent_id: str = AGENT,
    *,
    capabilities: tuple[str, ...] = (),
    at: datetime = T0,
    **fields: Any,
) -> AgentRegistration:
    """A registration made, and last seen, at ``at``."""
    return AgentRegistration(
        agent_id=agent_id,
        capabilities=list(capabilities),
        registered_at=at,
        last_heartbeat=at,
        **fields,
    )


def agent_ids(items: list[AgentRegistration]) -> list[str]:
    return ids(items, "agent_id")


# -- register and get -----------------------------------------------------------------------


def test_get_of_an_unregistered_agent_returns_none(store: MemoryStore) -> None:
    assert store.get_agent(AGENT) is None


def test_register_then_get_returns_an_equal_registration(store: MemoryStore) -> None:
    made = registration(
        capabilities=("pricing", "alerts"),
        metadata={"host": "worker-3", "version": "1.2.0", "limits": {"rps": 5, "burst": None}},
    )
    store.register_agent(made)

    assert store.get_agent(AGENT) == made


def test_registering_one_agent_leaves_others_unregistered(store: MemoryStore) -> None:
    store.register_agent(registration(AGENT))

    assert store.get_agent(OTHER) is None


def test_re_registering_replaces_capabilities_and_metadata(store: MemoryStore) -> None:
    store.register_agent(registration(capabilities=("pricing",), metadata={"version": "1"}))
    replacement = registration(capabilities=("alerts",), metadata={"host": "b"})
    store.register_agent(replacement)

    assert store.get_agent(AGENT) == replacement
    assert agent_ids(store.list_agents()) == [AGENT]
    assert store.list_agents(capability="pricing") == []
    assert agent_ids(store.list_agents(capability="alerts")) == [AGENT]


def test_re_registering_with_an_older_heartbeat_moves_it_back(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(at=clock.advance(minutes=10)))
    store.register_agent(registration(at=T0))

    found = store.get_agent(AGENT)
    assert found is not None
    assert found.last_heartbeat == T0
    assert store.list_agents(seen_since=T0 + timedelta(minutes=1)) == []


def test_changing_a_registration_after_registering_it_changes_nothing_stored(
    store: MemoryStore,
) -> None:
    made = registration(capabilities=("pricing",), metadata={"host": "a"})
    store.register_agent(made)
    made.capabilities.append("alerts")
    made.metadata["host"] = "changed"

    assert store.get_agent(AGENT) == registration(capabilities=("pricing",), metadata={"host": "a"})


def test_changing_a_returned_registration_changes_nothing_stored(store: MemoryStore) -> None:
    store.register_agent(registration(capabilities=("pricing",), metadata={"host": "a"}))
    got = store.get_agent(AGENT)
    assert got is not None
    got.capabilities.append("alerts")
    got.metadata["host"] = "changed"
    [listed] = store.list_agents()
    listed.capabilities.clear()

    assert store.get_agent(AGENT) == registration(capabilities=("pricing",), metadata={"host": "a"})


# -- heartbeats -----------------------------------------------------------------------------


def test_heartbeat_updates_last_heartbeat_and_returns_true(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(at=clock()))
    later = clock.advance(minutes=5)

    assert store.heartbeat(AGENT, later) is True
    found = store.get_agent(AGENT)
    assert found is not None
    assert found.last_heartbeat == later


def test_heartbeat_keeps_everything_but_last_heartbeat(
    store: MemoryStore, clock: FakeClock
) -> None:
    made = registration(capabilities=("pricing",), metadata={"host": "a"}, at=clock())
    store.register_agent(made)
    later = clock.advance(seconds=30)
    store.heartbeat(AGENT, later)

    assert store.get_agent(AGENT) == made.model_copy(update={"last_heartbeat": later})


def test_heartbeat_of_an_unregistered_agent_returns_false_and_registers_nothing(
    store: MemoryStore,
) -> None:
    assert store.heartbeat(AGENT, T0) is False
    assert store.get_agent(AGENT) is None
    assert store.list_agents() == []


def test_heartbeat_changes_only_that_agents_registration(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(AGENT, at=clock()))
    store.register_agent(registration(OTHER, at=clock()))
    store.heartbeat(AGENT, clock.advance(minutes=1))

    found = store.get_agent(OTHER)
    assert found is not None
    assert found.last_heartbeat == T0


def test_heartbeat_in_another_time_zone_is_stored_as_the_same_instant(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(at=clock()))
    later = clock.advance(minutes=3)
    elsewhere = later.astimezone(timezone(timedelta(hours=5, minutes=30)))
    store.heartbeat(AGENT, elsewhere)

    found = store.get_agent(AGENT)
    assert found is not None
    assert found.last_heartbeat == later
    assert agent_ids(store.list_agents(seen_since=later)) == [AGENT]
    assert store.list_agents(seen_since=later + timedelta(microseconds=1)) == []


# -- listing --------------------------------------------------------------------------------


def test_list_agents_of_an_empty_registry_is_empty(store: MemoryStore) -> None:
    assert store.list_agents() == []
    assert store.list_agents(seen_since=T0, capability="pricing") == []


def test_list_agents_returns_every_registration_by_agent_id(store: MemoryStore) -> None:
    for agent_id in (THIRD, AGENT, "agent-10", OTHER, "Agent-Z"):
        store.register_agent(registration(agent_id))

    listed = store.list_agents()

    assert agent_ids(listed) == ["Agent-Z", "agent-10", AGENT, OTHER, THIRD]  # byte order
    assert listed[2] == registration(AGENT)


def test_list_agents_seen_since_keeps_agents_seen_at_or_after_it(
    store: MemoryStore, clock: FakeClock
) -> None:
    for agent_id in (AGENT, OTHER, THIRD):
        store.register_agent(registration(agent_id, at=clock()))
    clock.advance(minutes=5)
    store.heartbeat(OTHER, clock())
    boundary = clock.advance(minutes=5)
    store.heartbeat(THIRD, boundary)
    clock.advance(minutes=5)

    assert agent_ids(store.list_agents(seen_since=boundary)) == [THIRD]
    assert agent_ids(store.list_agents(seen_since=boundary - timedelta(minutes=6))) == [
        OTHER,
        THIRD,
    ]
    assert agent_ids(store.list_agents(seen_since=T0)) == [AGENT, OTHER, THIRD]
    assert store.list_agents(seen_since=clock()) == []


def test_list_agents_seen_since_agrees_with_is_active(store: MemoryStore, clock: FakeClock) -> None:
    for minutes, agent_id in enumerate((AGENT, OTHER, THIRD)):
        store.register_agent(registration(agent_id, at=clock.advance(minutes=minutes)))
    since = T0 + timedelta(minutes=1)

    every = store.list_agents()
    assert agent_ids(store.list_agents(seen_since=since)) == [
        r.agent_id for r in every if r.is_active(since)
    ]


def test_a_heartbeat_brings_an_agent_back_into_seen_since(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(at=clock()))
    since = clock.advance(minutes=10)
    assert store.list_agents(seen_since=since) == []

    store.heartbeat(AGENT, clock.advance(seconds=1))

    assert agent_ids(store.list_agents(seen_since=since)) == [AGENT]


def test_list_agents_capability_keeps_agents_that_have_it(store: MemoryStore) -> None:
    store.register_agent(registration(AGENT, capabilities=("pricing", "alerts")))
    store.register_agent(registration(OTHER, capabilities=("alerts",)))
    store.register_agent(registration(THIRD))

    assert agent_ids(store.list_agents(capability="pricing")) == [AGENT]
    assert agent_ids(store.list_agents(capability="alerts")) == [AGENT, OTHER]
    assert store.list_agents(capability="routing") == []


def test_list_agents_capability_matches_whole_capabilities_only(store: MemoryStore) -> None:
    store.register_agent(registration(AGENT, capabilities=("pricing-eu",)))

    assert store.list_agents(capability="pricing") == []
    assert store.list_agents(capability="Pricing-eu") == []
    assert agent_ids(store.list_agents(capability="pricing-eu")) == [AGENT]


def test_list_agents_seen_since_and_capability_together_keep_agents_with_both(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(AGENT, capabilities=("pricing",), at=clock()))
    store.register_agent(registration(OTHER, capabilities=("pricing",), at=clock()))
    store.register_agent(registration(THIRD, capabilities=("alerts",), at=clock()))
    since = clock.advance(minutes=2)
    store.heartbeat(OTHER, since)
    store.heartbeat(THIRD, since)

    assert agent_ids(store.list_agents(seen_since=since, capability="pricing")) == [OTHER]
    assert agent_ids(store.list_agents(seen_since=since, capability="alerts")) == [THIRD]
    assert store.list_agents(seen_since=clock.advance(seconds=1), capability="pricing") == []


def test_every_one_of_many_registered_agents_is_listed(
    store: MemoryStore, clock: FakeClock
) -> None:
    # 150 agents of about 8 kB each: more than one 1 MB DynamoDB page, let alone small ones.
    agent_ids_made = [f"agent-{n:03d}" for n in range(150)]
    for n, agent_id in enumerate(agent_ids_made):
        store.register_agent(
            registration(
                agent_id,
                capabilities=("even",) if n % 2 == 0 else ("odd",),
                metadata={"n": n, "padding": "x" * 8000},
                at=clock.advance(seconds=1),
            )
        )
    since = T0 + timedelta(seconds=101)

    assert agent_ids(store.list_agents()) == agent_ids_made
    assert agent_ids(store.list_agents(capability="even")) == agent_ids_made[::2]
    assert agent_ids(store.list_agents(seen_since=since)) == agent_ids_made[100:]
    assert (
        agent_ids(store.list_agents(seen_since=since, capability="odd")) == (agent_ids_made[101::2])
    )


# -- deregistering --------------------------------------------------------------------------


def test_deregister_removes_the_registration_and_returns_true(store: MemoryStore) -> None:
    store.register_agent(registration(AGENT))
    store.register_agent(registration(OTHER))

    assert store.deregister_agent(AGENT) is True
    assert store.get_agent(AGENT) is None
    assert agent_ids(store.list_agents()) == [OTHER]


def test_deregister_a_second_time_returns_false(store: MemoryStore) -> None:
    store.register_agent(registration(AGENT))
    store.deregister_agent(AGENT)

    assert store.deregister_agent(AGENT) is False


def test_deregister_of_an_agent_never_registered_returns_false(store: MemoryStore) -> None:
    assert store.deregister_agent(AGENT) is False


def test_heartbeat_of_a_deregistered_agent_returns_false_and_does_not_register_it(
    store: MemoryStore, clock: FakeClock
) -> None:
    store.register_agent(registration(at=clock()))
    store.deregister_agent(AGENT)

    assert store.heartbeat(AGENT, clock.advance(minutes=1)) is False
    assert store.get_agent(AGENT) is None
    assert store.list_agents() == []


def test_an_agent_can_register_again_after_deregistering(store: MemoryStore) -> None:
    store.register_agent(registration(capabilities=("pricing",)))
    store.deregister_agent(AGENT)
    again = registration(capabilities=("alerts",), at=T0 + timedelta(hours=1))
    store.register_agent(again)

    assert store.get_agent(AGENT) == again
    assert agent_ids(store.list_agents(capability="alerts")) == [AGENT]


# -- the registry is separate from decisions, patterns, state and signals -------------------


def test_registering_agents_adds_no_decisions_patterns_state_or_signals(
    store: MemoryStore,
) -> None:
    store.register_agent(registration(AGENT, capabilities=("pricing",)))
    store.register_agent(registration(OTHER))
    store.heartbeat(AGENT, T0 + timedelta(minutes=1))

    for agent_id in (AGENT, OTHER):
        assert store.query_decisions(agent_id).items == []
        assert store.list_unconsolidated(agent_id).items == []
        assert store.list_patterns(agent_id, include_retired=True).items == []
        assert store.list_shared_patterns(agent_id) == []
        assert store.load_state(agent_id) is None
        assert store.list_checkpoints(agent_id) == []
        assert store.pending_signals(agent_id) == []


def test_agents_with_decisions_patterns_or_signals_but_no_registration_are_not_listed(
    store: MemoryStore,
) -> None:
    store.put_decision(decision(AGENT))
    store.put_pattern(pattern(OTHER, shared_with=[THIRD]), expected_version=None)
    store.save_state(AgentState(agent_id=THIRD))
    store.create_checkpoint(THIRD)
    store.publish_signal(signal(AGENT, targets=(OTHER, THIRD)))
    store.publish_signal(signal(OTHER, targets=(), broadcast=True))

    assert store.list_agents() == []
    assert store.get_agent(AGENT) is None
    assert store.heartbeat(OTHER, T0) is False
    assert store.deregister_agent(THIRD) is False


def test_deregistering_keeps_the_agents_decisions_state_and_signals(store: MemoryStore) -> None:
    kept = decision(AGENT)
    store.put_decision(kept)
    store.save_state(AgentState(agent_id=AGENT))
    store.publish_signal(signal(OTHER, targets=(AGENT,)))
    store.register_agent(registration(AGENT))

    store.deregister_agent(AGENT)

    assert store.get_decision(AGENT, kept.decision_id) == kept
    assert store.load_state(AGENT) is not None
    assert len(store.pending_signals(AGENT)) == 1
