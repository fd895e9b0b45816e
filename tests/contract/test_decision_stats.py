"""``decision_stats``: counts, rates, means and nearest-rank percentiles over a window."""

from __future__ import annotations

import random

import pytest

from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.stores import MemoryStore

from .builders import AGENT, OTHER, at, decision

WINDOW = {"start": at(-3600), "end": at(0)}


@pytest.fixture
def six(store: MemoryStore) -> list[DecisionRecord]:
    """3 successes, 2 failures, 1 pending; 5 confidences (mean 0.6); latencies 50..300."""
    records = [
        decision(seconds=-3600, decision_type="a", success=True, confidence=0.9, latency_ms=100),
        decision(seconds=-3000, decision_type="a", success=True, confidence=0.7, latency_ms=300),
        decision(seconds=-2000, decision_type="b", success=False, confidence=0.2, latency_ms=200),
        decision(seconds=-1000, decision_type="b"),
        decision(seconds=-500, decision_type="a", success=False, confidence=0.4, latency_ms=50),
        decision(seconds=-1, decision_type="c", success=True, confidence=0.8),
    ]
    outside = [
        decision(seconds=-3601, decision_type="a", success=False, confidence=0.0, latency_ms=9e3),
        decision(seconds=0, decision_type="z", success=False, confidence=0.0, latency_ms=9e3),
        decision(OTHER, seconds=-10, decision_type="a", success=False, latency_ms=9e3),
    ]
    store.put_decisions(records + outside)
    return records


def test_stats_count_total_successes_failures_and_pending(
    store: MemoryStore, six: list[DecisionRecord]
) -> None:
    stats = store.decision_stats(AGENT, **WINDOW)

    assert (stats.total, stats.successes, stats.failures, stats.pending) == (6, 3, 2, 1)


def test_stats_success_rate_ignores_pending_decisions(
    store: MemoryStore, six: list[DecisionRecord]
) -> None:
    assert store.decision_stats(AGENT, **WINDOW).success_rate == pytest.approx(0.6)


def test_stats_average_confidence_skips_decisions_without_one(
    store: MemoryStore, six: list[DecisionRecord]
) -> None:
    assert store.decision_stats(AGENT, **WINDOW).avg_confidence == pytest.approx(0.6)


def test_stats_latency_percentiles_use_recorded_latencies(
    store: MemoryStore, six: list[DecisionRecord]
) -> None:
    stats = store.decision_stats(AGENT, **WINDOW)

    assert (stats.latency_p50_ms, stats.latency_p95_ms) == (100, 300)


def test_stats_count_decisions_by_type(store: MemoryStore, six: list[DecisionRecord]) -> None:
    assert store.decision_stats(AGENT, **WINDOW).by_type == {"a": 3, "b": 2, "c": 1}


def test_stats_report_the_agent_and_window_asked_for(
    store: MemoryStore, six: list[DecisionRecord]
) -> None:
    stats = store.decision_stats(AGENT, **WINDOW)

    assert (stats.agent_id, stats.start, stats.end) == (AGENT, WINDOW["start"], WINDOW["end"])


def test_stats_window_includes_start_and_excludes_end(store: MemoryStore) -> None:
    on_start = decision(seconds=-100, decision_type="start")
    inside = decision(seconds=-50, decision_type="inside")
    on_end = decision(seconds=-10, decision_type="end")
    store.put_decisions([on_start, inside, on_end])

    stats = store.decision_stats(AGENT, start=at(-100), end=at(-10))

    assert stats.by_type == {"start": 1, "inside": 1}


def test_stats_percentiles_are_nearest_rank_not_interpolated(store: MemoryStore) -> None:
    latencies = list(range(1, 21))
    random.Random(7).shuffle(latencies)
    store.put_decisions(
        [decision(seconds=-i - 1, success=True, latency_ms=ms) for i, ms in enumerate(latencies)]
    )

    stats = store.decision_stats(AGENT, **WINDOW)

    assert (stats.latency_p50_ms, stats.latency_p95_ms) == (10, 19)


def test_stats_of_an_empty_window_are_zero(store: MemoryStore, six: list[DecisionRecord]) -> None:
    stats = store.decision_stats(AGENT, start=at(-9000), end=at(-8000))

    assert (stats.total, stats.success_rate, stats.by_type) == (0, 0.0, {})
    assert (stats.avg_confidence, stats.latency_p50_ms, stats.latency_p95_ms) == (None, None, None)


def test_stats_success_rate_is_zero_when_nothing_has_an_outcome(store: MemoryStore) -> None:
    store.put_decisions([decision(seconds=-10), decision(seconds=-20)])

    stats = store.decision_stats(AGENT, **WINDOW)

    assert (stats.total, stats.pending, stats.success_rate) == (2, 2, 0.0)
