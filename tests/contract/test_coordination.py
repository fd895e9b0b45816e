"""MultiAgentCoordinator on every backend: registry, routing, leases, sharing and isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentmem_langchain import (
    DecisionLogger,
    MemoryManager,
    MemoryPattern,
    NotFoundError,
    ValidationError,
)
from agentmem_langchain.coordination import MultiAgentCoordinator
from agentmem_langchain.langchain.retriever import PatternRetriever
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

A, B, C = "btc-agent-001", "eth-agent-002", "sol-agent-003"


@pytest.fixture
def coordinator(store: MemoryStore, clock: FakeClock) -> MultiAgentCoordinator:
    return MultiAgentCoordinator(store, clock=clock)


def _memory(store: MemoryStore, clock: FakeClock, agent_id: str) -> MemoryManager:
    return MemoryManager(agent_id, store=store, clock=clock)


def test_agents_without_a_recent_heartbeat_are_not_listed_as_active(coordinator, clock):
    coordinator.register_agent(A, capabilities=["pricing"])
    coordinator.register_agent(B, capabilities=["risk"])
    clock.advance(minutes=4)
    coordinator.heartbeat(B)
    clock.advance(minutes=2)

    active = coordinator.list_agents(active_within=timedelta(minutes=5))
    everyone = coordinator.list_agents(active_within=None)

    assert [a.agent_id for a in active] == [B]
    assert [a.agent_id for a in everyone] == [A, B]


def test_re_registering_keeps_the_first_registration_time(coordinator, clock):
    first = coordinator.register_agent(A, capabilities=["pricing"])
    clock.advance(hours=1)
    again = coordinator.register_agent(A, capabilities=["risk"], metadata={"host": "h2"})

    assert again.registered_at == first.registered_at
    [listed] = coordinator.list_agents(capability="risk")
    assert listed.metadata == {"host": "h2"} and listed.capabilities == ["risk"]


def test_heartbeat_of_an_unregistered_agent_is_not_found(coordinator):
    with pytest.raises(NotFoundError, match=A):
        coordinator.heartbeat(A)


def test_deregistered_agents_are_not_listed(coordinator):
    coordinator.register_agent(A)
    assert coordinator.deregister_agent(A) is True
    assert coordinator.deregister_agent(A) is False
    assert coordinator.list_agents(active_within=None) == []


def test_capability_routing_reaches_active_agents_with_it_but_not_the_sender(coordinator, clock):
    coordinator.register_agent(A, capabilities=["pricing"])
    coordinator.register_agent(B, capabilities=["pricing", "risk"])
    coordinator.register_agent(C, capabilities=["risk"])

    sent = coordinator.publish_signal(A, "price_update", {"btc": 45000.0}, capability="pricing")

    assert sent.target_agent_ids == [B]
    assert [s.signal_id for s in coordinator.pending_signals(B)] == [sent.signal_id]
    assert coordinator.pending_signals(C) == []
    assert coordinator.pending_signals(A) == []


def test_capability_without_an_active_agent_is_not_found(coordinator, clock):
    coordinator.register_agent(B, capabilities=["pricing"])
    clock.advance(hours=1)
    with pytest.raises(NotFoundError, match="pricing"):
        coordinator.publish_signal(A, "price_update", capability="pricing")


@pytest.mark.parametrize(
    "audience",
    [{}, {"targets": [B], "broadcast": True}, {"targets": [B], "capability": "pricing"}],
)
def test_a_signal_needs_exactly_one_kind_of_audience(coordinator, audience):
    with pytest.raises(ValidationError, match="exactly one"):
        coordinator.publish_signal(A, "market_signal", {}, **audience)


def test_payloads_that_are_not_json_or_too_large_are_refused(coordinator):
    with pytest.raises(ValidationError, match="payload"):
        coordinator.publish_signal(A, "market_signal", {"f": object()}, targets=[B])
    with pytest.raises(ValidationError, match="payload"):
        coordinator.publish_signal(A, "market_signal", {"blob": "x" * 300_000}, targets=[B])
    assert coordinator.pending_signals(B) == []


def test_consume_orders_by_priority_then_time(coordinator, clock):
    low = coordinator.publish_signal(A, "s", {"n": 1}, targets=[B], priority=0)
    clock.advance(seconds=1)
    high = coordinator.publish_signal(A, "s", {"n": 2}, targets=[B], priority=10)
    clock.advance(seconds=1)
    low_later = coordinator.publish_signal(A, "s", {"n": 3}, targets=[B], priority=0)

    got = coordinator.consume_signals(B, limit=10)

    assert [s.signal_id for s in got] == [high.signal_id, low.signal_id, low_later.signal_id]


def test_an_unacknowledged_signal_comes_back_when_its_lease_ends(coordinator, clock):
    sent = coordinator.publish_signal(A, "s", {}, targets=[B])
    [claimed] = coordinator.consume_signals(B, lease=timedelta(seconds=30))
    assert coordinator.consume_signals(B) == []  # the lease holds

    clock.advance(seconds=31)
    [again] = coordinator.consume_signals(B)

    assert again.signal_id == claimed.signal_id == sent.signal_id
    assert coordinator.ack(B, sent.signal_id) is True
    assert coordinator.ack(B, sent.signal_id) is False
    clock.advance(minutes=5)
    assert coordinator.consume_signals(B) == []


def test_nack_gives_a_signal_back_at_once(coordinator):
    sent = coordinator.publish_signal(A, "s", {}, targets=[B])
    coordinator.consume_signals(B)
    coordinator.nack(B, sent.signal_id)
    assert [s.signal_id for s in coordinator.consume_signals(B)] == [sent.signal_id]


def test_expired_signals_are_never_delivered(coordinator, clock):
    coordinator.publish_signal(A, "s", {}, targets=[B], ttl=timedelta(hours=1))
    clock.advance(hours=2)
    assert coordinator.consume_signals(B) == []
    assert coordinator.pending_signals(B) == []


def test_each_agent_acknowledges_a_broadcast_for_itself(coordinator):
    sent = coordinator.publish_signal(A, "halt", {"reason": "drawdown"}, broadcast=True)

    [for_b] = coordinator.consume_signals(B)
    assert coordinator.ack(B, for_b.signal_id) is True

    assert [s.signal_id for s in coordinator.consume_signals(C)] == [sent.signal_id]
    assert coordinator.consume_signals(B) == []
    assert coordinator.consume_signals(A) == []  # a sender does not get its own broadcast


def test_memory_manager_signal_api_goes_through_the_coordinator(store, clock):
    a, b = _memory(store, clock, A), _memory(store, clock, B)
    a.coordinator.register_agent(B, capabilities=["risk"])
    sent = a.publish_signal("risk_check", {"size": 2}, capability="risk", priority=5)

    [pending] = b.get_pending_signals()
    [claimed] = b.claim_signals()
    b.release_signal(claimed.signal_id)
    [claimed_again] = b.claim_signals()

    assert pending.signal_id == claimed.signal_id == claimed_again.signal_id == sent.signal_id
    assert b.mark_signal_processed(sent.signal_id) is True
    assert b.get_pending_signals() == []


def _pattern(owner: str, description: str) -> MemoryPattern:
    return MemoryPattern(
        agent_id=owner,
        decision_type="source_selection",
        description=description,
        conditions={"volatility": "high"},
        recommendation={"selected": ["coinglass"]},
        confidence=0.7,
    )


def test_a_shared_pattern_is_visible_to_the_grantee_until_revoked(store, clock):
    a, b, c = (_memory(store, clock, x) for x in (A, B, C))
    pattern = a.store_pattern(_pattern(A, "high volatility: coinglass works"))

    shared = a.share_pattern(pattern.pattern_id, [B])

    assert shared.version == pattern.version + 1 and shared.shared_with == [B]
    assert [p.pattern_id for p in b.get_shared_patterns()] == [pattern.pattern_id]
    assert c.get_shared_patterns() == []
    retriever = PatternRetriever(memory=b, include_shared=True, cache_seconds=0)
    assert [d.metadata["pattern_id"] for d in retriever.invoke("high volatility")] == [
        pattern.pattern_id
    ]

    a.revoke_share(pattern.pattern_id, [B])

    assert b.get_shared_patterns() == []
    assert retriever.invoke("high volatility") == []


def test_sharing_twice_is_harmless_and_unknown_patterns_are_not_found(store, clock):
    a = _memory(store, clock, A)
    pattern = a.store_pattern(_pattern(A, "p"))
    once = a.share_pattern(pattern.pattern_id, [B, B, A])
    twice = a.share_pattern(pattern.pattern_id, [B])
    assert once.shared_with == [B] and twice.version == once.version
    with pytest.raises(NotFoundError):
        a.share_pattern("01M8SXGF4PHCJVH8HT3F7WWYP8", [B])


def test_another_agent_reads_nothing_of_an_agent_that_shared_nothing(store, clock):
    a, b = _memory(store, clock, A), _memory(store, clock, B)
    pattern = a.store_pattern(_pattern(A, "private"))
    a.save_state(config={"risk": "high"})
    decision_id = DecisionLogger(a).log_decision("tool_call", confidence=0.5)
    a.publish_signal("for_c_only", {}, targets=[C])

    assert b.get_decision(decision_id) is None
    assert b.query_decisions().items == []
    assert b.get_pattern(pattern.pattern_id) is None
    assert b.get_patterns() == []
    assert b.get_shared_patterns() == []
    assert b.load_state() is None
    assert b.get_pending_signals() == []
    assert b.claim_signals() == []
    assert PatternRetriever(memory=b, include_shared=True).invoke("private") == []


def test_an_invalid_agent_id_cannot_register(coordinator):
    with pytest.raises(ValidationError, match="agent_id"):
        coordinator.register_agent("bad#id")
    assert coordinator.list_agents(active_within=None) == []
