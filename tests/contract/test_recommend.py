"""Evidence counters and ``recommend``: the same answer on every backend for the same history."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from agentmem_langchain import DecisionLogger, MemoryManager
from agentmem_langchain.errors import StateConflictError
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.base import Evidence
from agentmem_langchain.testing import FakeClock, InMemoryStore

from .backends import BACKENDS
from .builders import AGENT, OTHER, T0

KIND = "strategy_selection"
OPTIONS = ["momentum", "mean_reversion", "breakout"]
TRUTH = {"momentum": 0.7, "mean_reversion": 0.4, "breakout": 0.55}
CONTEXTS = [{"regime": "bull"}, {"regime": "bear", "volatility": 0.8}]


def play(memory: MemoryManager, clock: FakeClock, steps: int) -> list[tuple[str, str, bool]]:
    """A seeded history: recommend, log the decision under it, log its outcome."""
    rng = random.Random(11)
    logger = DecisionLogger(memory)
    made = []
    for step in range(steps):
        context = CONTEXTS[step % 2]
        rec = memory.recommend(KIND, OPTIONS, context, seed=step)
        decision = logger.log_decision(KIND, context={"market": context}, recommendation=rec)
        success = rng.random() < TRUTH[rec.choice]
        memory.log_outcome(decision, success=success)
        made.append((rec.choice, rec.best, success))
        clock.advance(seconds=30)
    return made


def test_recommend_gives_the_same_answers_on_every_backend(store: MemoryStore, clock):
    reference_clock = FakeClock(T0)
    reference = MemoryManager(
        AGENT, store=InMemoryStore(clock=reference_clock), clock=reference_clock
    )
    memory = MemoryManager(AGENT, store=store, clock=clock)
    assert play(memory, clock, 60) == play(reference, reference_clock, 60)
    for context in CONTEXTS:
        for policy in ("thompson", "ucb", "greedy"):
            assert memory.recommend(KIND, OPTIONS, context, policy=policy, seed=5) == (
                reference.recommend(KIND, OPTIONS, context, policy=policy, seed=5)
            )


def test_evidence_is_created_once_and_updated_by_version(store: MemoryStore):
    first = Evidence(AGENT, "group-1", 1, '{"clock":1}')
    assert store.get_evidence(AGENT, "group-1") is None
    store.put_evidence(first, expected_version=None)
    assert store.get_evidence(AGENT, "group-1") == first
    with pytest.raises(StateConflictError):
        store.put_evidence(first, expected_version=None)
    second = first._replace(version=2, data='{"clock":2}')
    store.put_evidence(second, expected_version=1)
    with pytest.raises(StateConflictError):
        store.put_evidence(second._replace(version=3), expected_version=1)
    with pytest.raises(StateConflictError):
        store.put_evidence(second._replace(version=2), expected_version=2)
    assert store.get_evidence(AGENT, "group-1") == second


def test_evidence_belongs_to_its_agent(store: MemoryStore):
    store.put_evidence(Evidence(AGENT, "group-1", 1, "{}"), expected_version=None)
    assert store.get_evidence(OTHER, "group-1") is None
    assert store.list_patterns(AGENT, include_retired=True).items == []


@pytest.fixture(params=["moto", "dynalite"])
def dynamodb(request: pytest.FixtureRequest, tmp_path, clock) -> Iterator[MemoryStore]:
    """A fresh DynamoDB store (the backends that count their requests)."""
    made = BACKENDS[request.param](tmp_path, clock, request)
    try:
        yield made
    finally:
        made.close()


def test_recommend_reads_dynamodb_in_at_most_two_requests(dynamodb: MemoryStore, clock):
    store = dynamodb
    memory = MemoryManager(AGENT, store=store, clock=clock)
    play(memory, clock, 6)
    store.reset_usage()  # type: ignore[attr-defined]
    memory.recommend(KIND, OPTIONS, CONTEXTS[0], seed=1)
    calls = sum(line.calls for line in store.usage().lines)  # type: ignore[attr-defined]
    assert 0 < calls <= 2


def test_an_imported_history_recommends_as_its_source_did(store: MemoryStore, clock, tmp_path):
    from agentmem_langchain.learning.evidence import rebuild_evidence
    from agentmem_langchain.transfer import export_records, import_records

    source_clock = FakeClock(T0)
    source = MemoryManager(AGENT, store=InMemoryStore(clock=source_clock), clock=source_clock)
    play(source, source_clock, 60)
    clock.set(source_clock())
    path = tmp_path / "agent.jsonl"
    export_records(source.store, [AGENT], path)
    import_records(store, path)
    memory = MemoryManager(AGENT, store=store, clock=clock)

    def answers(m: MemoryManager) -> list:
        return [
            (r.best, r.samples, round(r.expected_success, 9))
            for context in CONTEXTS
            for r in [m.recommend(KIND, OPTIONS, context, policy="greedy")]
        ]

    imported = answers(memory)
    # the source counted 60 outcomes as they came; the import recounts them in time order
    assert [a[0] for a in imported] == [a[0] for a in answers(source)]
    assert sum(sum(a[1].values()) for a in imported) == pytest.approx(
        sum(sum(a[1].values()) for a in answers(source)), rel=1e-6
    )
    import_records(store, path)  # again: recounted, not added
    assert answers(memory) == imported
    assert rebuild_evidence(store, AGENT) == 60
    assert answers(memory) == imported
