"""Consolidation on real stores: truth recovered, idempotent, incremental, race-safe, decaying."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from agentmem_langchain import DecisionOutcome, DecisionRecord, MemoryManager
from agentmem_langchain.cli import app
from agentmem_langchain.learning import (
    LEASE_TYPE,
    ConsolidationScheduler,
    PatternLearner,
    consolidate,
    handler,
    learner_state,
)
from agentmem_langchain.learning.consolidation import _Lease
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock, InMemoryStore

START = datetime(2024, 5, 1, tzinfo=timezone.utc)
TRUTH = {("high", "A"): 0.8, ("high", "B"): 0.4, ("low", "A"): 0.4, ("low", "B"): 0.8}
AGENT = "learner-agent"


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture(params=["memory", "sqlite"])
def memory(request, tmp_path, clock):
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "learn.db", clock=clock)
    else:
        store = InMemoryStore(clock=clock)
    manager = MemoryManager(AGENT, store=store, clock=clock, decision_ttl=None)
    yield manager
    store.close()


def make(clock, volatility, source, success, age=timedelta(hours=1)) -> DecisionRecord:
    outcome = None if success is None else DecisionOutcome(success=success, recorded_at=clock())
    return DecisionRecord(
        agent_id=AGENT,
        decision_type="source_selection",
        timestamp=clock() - age,
        context={"market": {"volatility": volatility}},
        reasoning={"selected": [source]},
        outcome=outcome,
    )


def synthetic(clock, per_group, seed=3) -> list[DecisionRecord]:
    rng = random.Random(seed)
    return [
        make(clock, vol, src, rng.random() < p)
        for (vol, src), p in TRUTH.items()
        for _ in range(per_group)
    ]


def learned(memory) -> dict[tuple[str, str], object]:
    patterns = memory.store.list_patterns(AGENT, include_retired=True, limit=1000).items
    return {
        (p.conditions["volatility"], p.recommendation["selected"][0]): p
        for p in patterns
        if p.pattern_type != LEASE_TYPE
    }


def test_consolidation_recovers_the_known_truth(memory, clock):
    records = synthetic(clock, 300)
    memory.store.put_decisions(records)
    result = consolidate(memory)
    assert (result.learned, result.created, result.busy) == (1200, 4, False)
    patterns = learned(memory)
    for group, rate in TRUTH.items():
        assert patterns[group].success_rate == pytest.approx(rate, abs=0.07)
        assert patterns[group].sample_size == 300
    assert patterns[("high", "A")].confidence > patterns[("high", "B")].confidence
    assert memory.store.list_unconsolidated(AGENT).items == []


def test_second_run_changes_nothing(memory, clock):
    memory.store.put_decisions(synthetic(clock, 20))
    memory.store.put_decision(make(clock, "high", "A", None))  # pending, inside the window
    consolidate(memory)
    before = {key: p.model_dump() for key, p in learned(memory).items()}
    lease_versions = memory.store.list_patterns(AGENT, include_retired=True, limit=100).items
    again = consolidate(memory)
    assert (again.learned, again.created, again.updated, again.pending) == (0, 0, 0, 1)
    assert {key: p.model_dump() for key, p in learned(memory).items()} == before
    assert memory.store.list_patterns(AGENT, include_retired=True, limit=100).items == (
        lease_versions
    )


def test_consolidating_in_two_steps_equals_one_step(memory, clock):
    records = synthetic(clock, 30)
    memory.store.put_decisions(records[::2])
    consolidate(memory)
    memory.store.put_decisions(records[1::2])
    second = consolidate(memory)
    assert second.learned == 60
    for group, pattern in learned(memory).items():
        group_records = [
            r for r in records if (r.context.market["volatility"], r.reasoning.selected[0]) == group
        ]
        assert pattern.sample_size == 30
        assert pattern.success_count == sum(r.outcome.success for r in group_records)
        assert pattern.version == 2
        history = memory.get_pattern_history(pattern.pattern_id)
        assert [p.version for p in history] == [1, 2]
        assert pattern.history[-1].sample_size == history[0].sample_size


def test_pending_decisions_wait_and_stale_ones_are_skipped(memory, clock):
    waiting = make(clock, "high", "A", None)
    stale = make(clock, "high", "A", None, age=timedelta(days=2))
    memory.store.put_decisions([waiting, stale])
    result = consolidate(memory)
    assert (result.pending, result.skipped, result.learned) == (1, 1, 0)
    assert [r.decision_id for r in memory.store.list_unconsolidated(AGENT).items] == [
        waiting.decision_id
    ]
    memory.log_outcome(waiting.decision_id, success=True)
    assert consolidate(memory).learned == 1


def test_racing_consolidators_count_each_decision_once(memory, clock):
    records = synthetic(clock, 50)
    memory.store.put_decisions(records)
    barrier = threading.Barrier(4)
    results = []

    def run():
        barrier.wait()
        for _ in range(20):  # a busy consolidator tries again, as a scheduler would
            result = consolidate(memory)
            results.append(result)
            if not result.busy:
                return
            time.sleep(0.01)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.learned for r in results) == 200
    assert sum(p.sample_size for p in learned(memory).values()) == 200
    assert all(p.version == 1 for p in learned(memory).values())


def test_busy_lease_leaves_decisions_for_later(memory, clock):
    memory.store.put_decisions(synthetic(clock, 5))
    other = _Lease(memory.store, AGENT, seconds=60)
    assert other.acquire(clock()) == 0
    result = consolidate(memory)
    assert result.busy and result.learned == 0
    assert len(memory.store.list_unconsolidated(AGENT).items) == 20
    clock.advance(seconds=61)  # the other holder died: its lease expires
    assert consolidate(memory).learned == 20


class _UserEditsFirstWrite:
    """A store where a user changes a pattern between the learner's read and its write."""

    def __init__(self, inner, manager_factory):
        self._inner, self._manager_factory, self.edited = inner, manager_factory, False

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def put_pattern(self, pattern, *, expected_version):
        if not self.edited and expected_version is not None and pattern.pattern_type != LEASE_TYPE:
            self.edited = True
            user = self._manager_factory(self._inner)
            current = user.get_pattern(pattern.pattern_id)
            current.shared_with = ["eth-agent-002"]
            user.store_pattern(current)
        self._inner.put_pattern(pattern, expected_version=expected_version)


def test_conflicting_write_is_retried_and_keeps_the_users_edit(memory, clock):
    memory.store.put_decisions([make(clock, "high", "A", True) for _ in range(6)])
    consolidate(memory)
    memory.store.put_decisions([make(clock, "high", "A", False) for _ in range(4)])

    def factory(store):
        return MemoryManager(AGENT, store=store, clock=clock)

    editing = MemoryManager(AGENT, store=_UserEditsFirstWrite(memory.store, factory), clock=clock)
    result = consolidate(editing)
    assert result.conflicts == 1
    (pattern,) = learned(memory).values()
    assert (pattern.sample_size, pattern.success_count) == (10, 6)
    assert pattern.shared_with == ["eth-agent-002"]


def test_stale_patterns_decay_and_retire_but_are_kept(memory, clock):
    learner = PatternLearner(half_life=timedelta(days=7))
    memory.store.put_decisions([make(clock, "high", "A", i < 9) for i in range(10)])
    consolidate(memory, learner=learner)
    (fresh,) = learned(memory).values()
    assert fresh.status == "active"
    clock.advance(days=7)
    consolidate(memory, learner=learner)
    (halved,) = learned(memory).values()
    assert halved.sample_size == 5 and halved.confidence < fresh.confidence
    clock.advance(days=60)
    result = consolidate(memory, learner=learner)
    (old,) = learned(memory).values()
    assert result.retired == 1
    assert old.status == "retired" and old.confidence < 0.2
    assert memory.get_patterns() == []
    assert [p.version for p in memory.get_pattern_history(old.pattern_id)] == [1, 2, 3]


def test_decay_is_the_same_however_often_it_runs(memory, clock):
    learner = PatternLearner(half_life=timedelta(days=7), decay_tolerance=0.0)
    memory.store.put_decisions([make(clock, "high", "A", True) for _ in range(40)])
    consolidate(memory, learner=learner)
    for _ in range(14):
        clock.advance(days=1)
        consolidate(memory, learner=learner)
    (pattern,) = learned(memory).values()
    assert learner_state(pattern).tally.n == pytest.approx(10)


def test_scheduler_consolidates_in_the_background(memory, clock):
    memory.store.put_decisions(synthetic(clock, 5))
    with ConsolidationScheduler(memory, every=timedelta(seconds=0.05)) as scheduler:
        deadline = time.monotonic() + 5
        while scheduler.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert scheduler.runs >= 2 and scheduler.errors == 0
    assert len(learned(memory)) == 4


def test_scheduler_counts_failed_runs_and_goes_on(clock):
    class Broken(InMemoryStore):
        def list_unconsolidated(self, *args, **kwargs):
            raise RuntimeError("store down")

    scheduler = ConsolidationScheduler(MemoryManager(AGENT, store=Broken(clock=clock)))
    assert scheduler.run_once() == []
    assert (scheduler.runs, scheduler.errors) == (1, 1)


def test_lambda_handler_consolidates_the_agents_in_the_event(tmp_path, monkeypatch):
    path = tmp_path / "lambda.db"
    monkeypatch.setenv("AGENTMEM_STORE", "sqlite")
    monkeypatch.setenv("AGENTMEM_SQLITE_PATH", str(path))
    clock = FakeClock()
    with SQLiteStore(path) as store:
        store.put_decisions(synthetic(clock, 5))
    response = handler({"agent_ids": [AGENT]}, None)
    assert [(r["agent_id"], r["learned"], r["created"]) for r in response["results"]] == [
        (AGENT, 20, 4)
    ]


def test_cli_consolidate_prints_what_it_did(tmp_path):
    path = tmp_path / "cli.db"
    with SQLiteStore(path) as store:
        store.put_decisions(synthetic(FakeClock(), 5))
    result = CliRunner().invoke(
        app, ["--sqlite-path", str(path), "consolidate", "--agent-id", AGENT, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"learned": 20' in result.output
