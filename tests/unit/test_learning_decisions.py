"""Patterns that serve decisions: real outcome counts, epochs after a change, ranking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agentmem_langchain import DecisionOutcome, DecisionRecord, MemoryManager, MemoryPattern
from agentmem_langchain.learning import LEASE_TYPE, consolidate, learner_state, rank_score
from agentmem_langchain.testing import FakeClock, InMemoryStore

AGENT = "pattern-agent"
START = datetime(2024, 5, 1, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def memory(clock: FakeClock) -> MemoryManager:
    return MemoryManager(AGENT, store=InMemoryStore(clock=clock), clock=clock, decision_ttl=None)


def put(memory: MemoryManager, clock: FakeClock, source: str, *successes: bool) -> None:
    memory.store.put_decisions(
        [
            DecisionRecord(
                agent_id=AGENT,
                decision_type="source_selection",
                timestamp=clock() - timedelta(seconds=1),
                context={"market": {"regime": "bull"}},
                reasoning={"selected": [source]},
                outcome=DecisionOutcome(success=s),
            )
            for s in successes
        ]
    )


def only_pattern(memory: MemoryManager) -> MemoryPattern:
    patterns = memory.store.list_patterns(AGENT, include_retired=True).items
    (pattern,) = [p for p in patterns if p.pattern_type != LEASE_TYPE]
    return pattern


def test_five_outcomes_over_two_runs_make_a_served_pattern(memory, clock):
    put(memory, clock, "kaiko", True, True, True)
    consolidate(memory)
    assert only_pattern(memory).status == "retired"  # a candidate: three outcomes
    clock.advance(minutes=10)
    put(memory, clock, "kaiko", True, True)
    consolidate(memory)
    pattern = only_pattern(memory)
    assert learner_state(pattern).tally.n < 5  # decayed over ten minutes
    assert (pattern.sample_size, pattern.status, pattern.pattern_type) == (5, "active", "success")


def test_contradicting_evidence_starts_a_new_epoch(memory, clock):
    put(memory, clock, "kaiko", *([True] * 18 + [False] * 2))
    consolidate(memory)
    before = only_pattern(memory)
    assert before.success_rate == 0.9
    clock.advance(minutes=10)
    put(memory, clock, "kaiko", *([False] * 10 + [True] * 2))
    consolidate(memory)
    after = only_pattern(memory)
    state = learner_state(after)
    assert state.epoch == 1 and state.outcomes == 12 and state.observed == 32
    assert after.sample_size == 12 and after.success_rate == pytest.approx(2 / 12)
    assert [v.version for v in memory.get_pattern_history(after.pattern_id)][:1] == [1]


def test_agreeing_evidence_is_averaged(memory, clock):
    put(memory, clock, "kaiko", *([True] * 8 + [False] * 2))
    consolidate(memory)
    clock.advance(minutes=10)
    put(memory, clock, "kaiko", *([True] * 7 + [False] * 3))
    consolidate(memory)
    state = learner_state(only_pattern(memory))
    assert state.epoch == 0 and state.observed == 20


def pattern(successes: int, n: int, kind: str = "success") -> MemoryPattern:
    return MemoryPattern(
        agent_id=AGENT,
        pattern_type=kind,
        description="x",
        sample_size=n,
        success_count=successes,
        success_rate=successes / n,
    )


def test_rank_score_does_not_bury_a_strong_pattern_with_few_outcomes():
    assert rank_score(pattern(5, 5)) == pytest.approx(0.733, abs=1e-3)
    assert rank_score(pattern(42, 50)) == pytest.approx(0.775, abs=1e-3)
    assert rank_score(pattern(5, 5)) > rank_score(pattern(30, 50))
    assert rank_score(pattern(0, 10, "avoid")) == rank_score(pattern(10, 10))


def test_get_patterns_ranks_by_expected_success_with_uncertainty(memory):
    few = pattern(5, 5).model_copy(update={"confidence": 0.57})
    many = pattern(30, 50).model_copy(update={"confidence": 0.46})
    more = pattern(40, 60).model_copy(update={"confidence": 0.54})
    for p in (many, few, more):
        memory.store_pattern(p)
    ranked = [p.pattern_id for p in memory.get_patterns()]
    assert ranked == [few.pattern_id, more.pattern_id, many.pattern_id]
