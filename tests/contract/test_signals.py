"""Signals: delivery per target, broadcast, order, expiry, claims, leases and processing."""

from __future__ import annotations

import threading

from agentmem_langchain.enums import ProcessingStatus
from agentmem_langchain.models import AgentSignal
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

from .builders import AGENT, OTHER, T0, THIRD, at, ids, signal


def signal_ids(items: list[AgentSignal]) -> list[str]:
    return ids(items, "signal_id")


def test_each_target_sees_a_published_signal_pending(store: MemoryStore) -> None:
    sent = signal(targets=(OTHER, THIRD))
    store.publish_signal(sent)

    assert signal_ids(store.pending_signals(OTHER)) == [sent.signal_id]
    assert signal_ids(store.pending_signals(THIRD)) == [sent.signal_id]


def test_an_agent_that_is_not_a_target_sees_nothing(store: MemoryStore) -> None:
    store.publish_signal(signal(AGENT, targets=(OTHER,)))

    assert store.pending_signals(THIRD) == []
    assert store.pending_signals(AGENT) == []


def test_pending_signal_reports_pending_status_for_the_reader(store: MemoryStore) -> None:
    store.publish_signal(signal(targets=(OTHER,)))

    [pending] = store.pending_signals(OTHER)

    assert pending.processing.get(OTHER) == ProcessingStatus.PENDING


def test_pending_signals_come_by_priority_then_oldest_first(store: MemoryStore) -> None:
    low_old = signal(seconds=-50, priority=0)
    high_new = signal(seconds=-10, priority=10)
    high_old = signal(seconds=-40, priority=10)
    low_new = signal(seconds=-5, priority=0)
    negative = signal(seconds=-60, priority=-5)
    for s in (low_old, high_new, negative, high_old, low_new):
        store.publish_signal(s)

    assert signal_ids(store.pending_signals(OTHER)) == signal_ids(
        [high_old, high_new, low_old, low_new, negative]
    )


def test_pending_signals_respect_the_limit(store: MemoryStore) -> None:
    sent = [signal(seconds=-60 + i) for i in range(5)]
    for s in sent:
        store.publish_signal(s)

    assert signal_ids(store.pending_signals(OTHER, limit=3)) == signal_ids(sent[:3])


def test_reading_pending_signals_does_not_claim_them(store: MemoryStore) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.pending_signals(OTHER)

    assert signal_ids(store.claim_signals(OTHER)) == [sent.signal_id]


def test_broadcast_reaches_other_agents(store: MemoryStore) -> None:
    sent = signal(AGENT, targets=(), broadcast=True)
    store.publish_signal(sent)

    assert signal_ids(store.pending_signals(OTHER)) == [sent.signal_id]
    assert signal_ids(store.pending_signals(THIRD)) == [sent.signal_id]


def test_broadcast_never_comes_back_to_its_source(store: MemoryStore) -> None:
    store.publish_signal(signal(AGENT, targets=(), broadcast=True))

    assert store.pending_signals(AGENT) == []
    assert store.claim_signals(AGENT) == []


def test_expired_signal_is_never_delivered(store: MemoryStore, clock: FakeClock) -> None:
    expiring = signal(seconds=-10, expires_at=at(30))
    lasting = signal(seconds=-5, expires_at=at(3600))
    store.publish_signal(expiring)
    store.publish_signal(lasting)
    clock.advance(seconds=30)

    assert signal_ids(store.pending_signals(OTHER)) == [lasting.signal_id]
    assert signal_ids(store.claim_signals(OTHER)) == [lasting.signal_id]


def test_signal_published_already_expired_is_never_delivered(store: MemoryStore) -> None:
    store.publish_signal(signal(seconds=-100, expires_at=at(-1)))

    assert store.pending_signals(OTHER) == []


def test_purge_expired_deletes_expired_signals(store: MemoryStore, clock: FakeClock) -> None:
    lasting = signal(seconds=-5)
    store.publish_signal(signal(seconds=-10, expires_at=at(30)))
    store.publish_signal(lasting)
    clock.advance(minutes=1)

    assert store.purge_expired() >= 1
    clock.set(T0)
    assert signal_ids(store.pending_signals(OTHER)) == [lasting.signal_id]


def test_claimed_signal_is_no_longer_pending(store: MemoryStore) -> None:
    claimed, waiting = signal(seconds=-20), signal(seconds=-10)
    store.publish_signal(claimed)
    store.publish_signal(waiting)

    assert signal_ids(store.claim_signals(OTHER, limit=1)) == [claimed.signal_id]
    assert signal_ids(store.pending_signals(OTHER)) == [waiting.signal_id]


def test_claimed_signal_is_returned_unchanged_with_claimed_status(store: MemoryStore) -> None:
    sent = signal(payload={"price": 64000.5, "pairs": ["BTC", "ETH"]}, priority=3)
    store.publish_signal(sent)

    [claimed] = store.claim_signals(OTHER)

    assert claimed.model_copy(update={"processing": {}}) == sent
    assert claimed.processing.get(OTHER) == ProcessingStatus.CLAIMED


def test_claim_takes_signals_in_pending_order(store: MemoryStore) -> None:
    low = signal(seconds=-30, priority=0)
    high = signal(seconds=-10, priority=5)
    store.publish_signal(low)
    store.publish_signal(high)

    assert signal_ids(store.claim_signals(OTHER)) == [high.signal_id, low.signal_id]


def test_two_threads_claiming_take_each_signal_exactly_once(
    store: MemoryStore, frequent_thread_switches: None
) -> None:
    sent = [signal(seconds=-100 + i) for i in range(50)]
    for s in sent:
        store.publish_signal(s)
    barrier = threading.Barrier(2)
    taken: dict[int, list[str]] = {0: [], 1: []}

    def consume(worker: int) -> None:
        barrier.wait()
        for _ in range(200):
            batch = store.claim_signals(OTHER, limit=3, lease_seconds=600)
            if not batch:
                return
            taken[worker] += signal_ids(batch)

    threads = [threading.Thread(target=consume, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    everything = taken[0] + taken[1]
    assert sorted(everything) == sorted(signal_ids(sent))
    assert len(set(everything)) == 50


def test_signal_is_claimable_again_after_its_lease_runs_out(
    store: MemoryStore, clock: FakeClock
) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.claim_signals(OTHER, lease_seconds=30)

    clock.advance(seconds=29)
    assert store.claim_signals(OTHER) == []
    clock.advance(seconds=2)
    assert signal_ids(store.claim_signals(OTHER)) == [sent.signal_id]


def test_signal_with_expired_lease_is_pending_again(store: MemoryStore, clock: FakeClock) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.claim_signals(OTHER, lease_seconds=30)
    clock.advance(seconds=31)

    assert signal_ids(store.pending_signals(OTHER)) == [sent.signal_id]


def test_processed_signal_is_no_longer_pending(store: MemoryStore) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.claim_signals(OTHER)

    assert store.mark_signal_processed(OTHER, sent.signal_id) is True
    assert store.pending_signals(OTHER) == []


def test_processed_signal_stays_processed_after_the_lease(
    store: MemoryStore, clock: FakeClock
) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.claim_signals(OTHER, lease_seconds=30)
    store.mark_signal_processed(OTHER, sent.signal_id)
    clock.advance(minutes=5)

    assert store.pending_signals(OTHER) == []
    assert store.claim_signals(OTHER) == []


def test_a_pending_signal_can_be_marked_processed_without_a_claim(store: MemoryStore) -> None:
    sent = signal()
    store.publish_signal(sent)

    assert store.mark_signal_processed(OTHER, sent.signal_id) is True
    assert store.pending_signals(OTHER) == []


def test_marking_processed_twice_returns_false_the_second_time(store: MemoryStore) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.claim_signals(OTHER)

    assert [store.mark_signal_processed(OTHER, sent.signal_id) for _ in range(2)] == [True, False]


def test_released_signal_is_pending_again(store: MemoryStore) -> None:
    sent = signal()
    store.publish_signal(sent)
    store.claim_signals(OTHER, lease_seconds=600)

    store.release_signal(OTHER, sent.signal_id)

    assert signal_ids(store.pending_signals(OTHER)) == [sent.signal_id]
    assert signal_ids(store.claim_signals(OTHER)) == [sent.signal_id]


def test_one_targets_claim_does_not_hide_the_signal_from_another(store: MemoryStore) -> None:
    sent = signal(targets=(OTHER, THIRD))
    store.publish_signal(sent)

    store.claim_signals(OTHER)

    assert signal_ids(store.pending_signals(THIRD)) == [sent.signal_id]
    assert signal_ids(store.claim_signals(THIRD)) == [sent.signal_id]


def test_one_target_processing_does_not_affect_another(store: MemoryStore) -> None:
    sent = signal(targets=(OTHER, THIRD))
    store.publish_signal(sent)

    assert store.mark_signal_processed(OTHER, sent.signal_id) is True

    assert store.pending_signals(OTHER) == []
    assert signal_ids(store.pending_signals(THIRD)) == [sent.signal_id]
    assert store.mark_signal_processed(THIRD, sent.signal_id) is True


def test_broadcast_processing_is_tracked_per_agent(store: MemoryStore) -> None:
    sent = signal(AGENT, targets=(), broadcast=True)
    store.publish_signal(sent)

    store.claim_signals(OTHER)
    assert store.mark_signal_processed(OTHER, sent.signal_id) is True

    assert store.pending_signals(OTHER) == []
    assert signal_ids(store.claim_signals(THIRD)) == [sent.signal_id]
