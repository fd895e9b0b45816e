"""TTL: a decision whose ``ttl`` has passed is gone from every read, before and after purge."""

from __future__ import annotations

import pytest

from agentmem_langchain.errors import NotFoundError
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

from .builders import AGENT, at, decision, ids, outcome, ttl_in


@pytest.fixture
def expiring(store: MemoryStore, clock: FakeClock) -> tuple[DecisionRecord, DecisionRecord]:
    """A root and its child, both expiring 60 s after T0; the clock is then moved past that."""
    root = decision(seconds=-30, ttl=ttl_in(60), success=True, latency_ms=10.0)
    child = decision(
        seconds=-20,
        ttl=ttl_in(60),
        parent_decision_id=root.decision_id,
        trace_id=root.decision_id,
    )
    store.put_decisions([root, child])
    clock.advance(seconds=61)
    return root, child


def test_decision_is_returned_until_its_ttl(store: MemoryStore, clock: FakeClock) -> None:
    record = decision(ttl=ttl_in(60))
    store.put_decision(record)
    clock.advance(seconds=59)

    assert store.get_decision(AGENT, record.decision_id) == record


def test_decision_expires_at_the_ttl_second(store: MemoryStore, clock: FakeClock) -> None:
    record = decision(ttl=ttl_in(60))
    store.put_decision(record)
    clock.advance(seconds=60)

    assert store.get_decision(AGENT, record.decision_id) is None


def test_expired_decision_is_never_returned_by_get(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    assert [store.get_decision(AGENT, r.decision_id) for r in expiring] == [None, None]


def test_expired_decision_is_never_returned_by_query(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    keeper = decision(seconds=-10)
    store.put_decision(keeper)

    assert ids(store.query_decisions(AGENT).items) == [keeper.decision_id]


def test_expired_decision_is_never_returned_as_a_child(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    assert store.get_children(AGENT, expiring[0].decision_id) == []


def test_expired_decision_is_never_returned_in_a_trace(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    assert store.get_trace(AGENT, expiring[0].decision_id) == []


def test_expired_decision_is_not_counted_in_stats(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    stats = store.decision_stats(AGENT, start=at(-3600), end=at(3600))

    assert (stats.total, stats.successes, stats.latency_p50_ms) == (0, 0, None)


def test_expired_decision_is_never_listed_as_unconsolidated(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    assert store.list_unconsolidated(AGENT).items == []


def test_set_outcome_on_expired_decision_raises_not_found(
    store: MemoryStore, expiring: tuple[DecisionRecord, DecisionRecord]
) -> None:
    with pytest.raises(NotFoundError):
        store.set_outcome(AGENT, expiring[1].decision_id, outcome(True))


def test_purge_expired_counts_and_deletes_expired_decisions(
    store: MemoryStore, clock: FakeClock
) -> None:
    expired = [decision(seconds=-i, ttl=ttl_in(60)) for i in range(1, 4)]
    kept = [decision(seconds=-10, ttl=ttl_in(3600)), decision(seconds=-20)]
    store.put_decisions(expired + kept)
    clock.advance(minutes=5)

    assert store.purge_expired() == 3
    assert sorted(ids(store.query_decisions(AGENT).items)) == sorted(ids(kept))


def test_purged_decisions_stay_gone_when_the_clock_goes_back(
    store: MemoryStore, clock: FakeClock
) -> None:
    record = decision(ttl=ttl_in(60))
    store.put_decision(record)
    clock.advance(minutes=5)
    store.purge_expired()
    clock.set(at(0))

    assert store.get_decision(AGENT, record.decision_id) is None


def test_purge_expired_with_nothing_expired_returns_zero(store: MemoryStore) -> None:
    store.put_decision(decision(ttl=ttl_in(60)))

    assert store.purge_expired() == 0
