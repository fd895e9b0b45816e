"""MemoryManager and DecisionLogger over a real SQLite file."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from decimal import Decimal

import pytest

from agentmem_langchain import (
    AgentState,
    ConfigurationError,
    DecisionLogger,
    DecisionRecord,
    DecisionType,
    MemoryManager,
    MemoryPattern,
    NotFoundError,
    StateConflictError,
    ValidationError,
    open_store,
)
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock

SEED_USAGE = textwrap.dedent(
    """
    from agentmem_langchain import MemoryManager, DecisionLogger, DecisionType

    # Initialize
    memory_manager = MemoryManager(agent_id="btc-agent-001")
    decision_logger = DecisionLogger(memory_manager)

    # Log a decision
    decision_id = decision_logger.log_source_selection(
        sources=["coinglass", "cryptoquant"],
        scores={"coinglass": 0.95, "cryptoquant": 0.88},
        selected=["coinglass", "cryptoquant"],
        context={"market": {"btc_price": 45000.00}, "cycle": 1},
        confidence=0.92
    )

    # Log the outcome
    decision_logger.log_outcome(
        decision_id=decision_id,
        decision_type=DecisionType.SOURCE_SELECTION,
        success=True,
        quality_score=0.89,
        latency_ms=250.5
    )

    # Get statistics
    stats = decision_logger.get_decision_stats(time_window_hours=24)
    print(f"Success rate: {stats['success_rate']:.2%}")
    """
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory(tmp_path, clock) -> MemoryManager:
    store = SQLiteStore(tmp_path / "memory.db", clock=clock)
    manager = MemoryManager("btc-agent-001", store=store, clock=clock)
    yield manager
    store.close()


@pytest.fixture
def logger(memory) -> DecisionLogger:
    return DecisionLogger(memory)


def test_seed_usage_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTMEM_SQLITE_PATH", raising=False)
    monkeypatch.delenv("AGENTMEM_STORE", raising=False)
    exec(compile(SEED_USAGE, "seed_usage", "exec"), {})
    assert capsys.readouterr().out.strip() == "Success rate: 100.00%"
    assert (tmp_path / ".agentmem" / "memory.db").exists()


def test_sqlite_path_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTMEM_SQLITE_PATH", str(tmp_path / "env.db"))
    monkeypatch.delenv("AGENTMEM_STORE", raising=False)
    with MemoryManager("env-agent") as memory:
        DecisionLogger(memory).log_decision("custom")
    assert (tmp_path / "env.db").exists()


def test_unknown_store_kind_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("AGENTMEM_STORE", "postgres")
    with pytest.raises(ConfigurationError, match="postgres"):
        open_store()


@pytest.mark.parametrize("agent_id", ["", " ", "a b", "agent#1", "-leading", "x" * 129])
def test_malformed_agent_id_is_rejected(agent_id, tmp_path):
    with pytest.raises(ValidationError, match="agent_id"):
        MemoryManager(agent_id, store=SQLiteStore(tmp_path / "m.db"))


def test_logged_decision_reads_back_with_context_and_reasoning(logger, memory):
    decision_id = logger.log_source_selection(
        sources=["a", "b", "c"],
        scores={"a": 0.9, "b": 0.7, "c": 0.1},
        selected=["a"],
        context={"market": {"volatility": "high"}, "cycle": 3, "region": "eu"},
        confidence=0.8,
        rationale="a is fresher",
        tags=["demo"],
    )
    record = memory.get_decision(decision_id)
    assert record is not None
    assert record.decision_type == DecisionType.SOURCE_SELECTION
    assert record.context.market == {"volatility": "high"}
    assert record.context.cycle == 3
    assert record.context.extra == {"region": "eu"}
    assert record.reasoning.selected == ["a"]
    assert record.reasoning.alternatives == ["b", "c"]
    assert record.reasoning.confidence == 0.8
    assert record.reasoning.rationale == "a is fresher"
    assert record.tags == ["demo"]
    assert record.is_stm and record.outcome is None


def test_decisions_get_a_ttl_from_the_manager(logger, memory, clock):
    decision_id = logger.log_decision("custom")
    record = memory.get_decision(decision_id)
    assert record is not None
    assert record.ttl == int((clock() + timedelta(days=30)).timestamp())


def test_bad_confidence_raises_and_stores_nothing(logger, memory):
    for bad in (1.5, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValidationError, match="confidence"):
            logger.log_decision("custom", confidence=bad)
    assert memory.query_decisions().items == []


def test_non_json_context_value_is_rejected_with_its_path(logger, memory):
    with pytest.raises(ValidationError, match=r"market\.feed"):
        logger.log_decision("custom", context={"market": {"feed": object()}})
    assert memory.query_decisions().items == []


def test_selected_source_must_be_among_sources(logger):
    with pytest.raises(ValidationError, match="selected"):
        logger.log_source_selection(sources=["a"], scores={"a": 1.0}, selected=["z"])


def test_a_selected_value_that_cannot_be_compared_is_a_validation_error(logger):
    # Comparing a signalling NaN raises decimal.InvalidOperation; the caller gets one error.
    with pytest.raises(ValidationError, match="selected"):
        logger.log_source_selection(sources=[0], scores=None, selected=[Decimal("sNaN")])


def test_record_of_another_agent_is_refused(memory):
    with pytest.raises(ValidationError, match="agent"):
        memory.log_decision(DecisionRecord(agent_id="someone-else", decision_type="custom"))


def test_outcome_is_attached_and_bad_outcome_changes_nothing(logger, memory):
    decision_id = logger.log_decision("custom", confidence=0.5)
    with pytest.raises(ValidationError, match="quality_score"):
        logger.log_outcome(decision_id, success=True, quality_score=1.2)
    with pytest.raises(ValidationError, match="latency_ms"):
        logger.log_outcome(decision_id, success=True, latency_ms=-3)
    assert memory.get_decision(decision_id).outcome is None
    updated = logger.log_outcome(decision_id, success=False, error="timeout", latency_ms=12.5)
    assert updated.outcome is not None
    assert (updated.outcome.success, updated.outcome.error) == (False, "timeout")
    assert memory.get_decision(decision_id).outcome.latency_ms == 12.5


def test_outcome_with_the_wrong_decision_type_is_refused(logger, memory):
    decision_id = logger.log_decision(DecisionType.RISK_ASSESSMENT)
    with pytest.raises(ValidationError, match="decision_type"):
        logger.log_outcome(decision_id, DecisionType.SOURCE_SELECTION, success=True)
    assert memory.get_decision(decision_id).outcome is None


def test_outcome_needs_a_boolean_success(logger):
    decision_id = logger.log_decision("custom")
    with pytest.raises(ValidationError, match="success"):
        logger.log_outcome(decision_id)


def test_outcome_for_unknown_decision_is_not_found(logger):
    with pytest.raises(NotFoundError):
        logger.log_outcome("01ARZ3NDEKTSV4RRFFQ69G5FAV", success=True)


def test_decision_chain_contains_root_and_descendants(logger, clock):
    root = logger.log_strategy_selection(
        strategies=["trend", "mean-revert"],
        scores={"trend": 0.7, "mean-revert": 0.3},
        selected="trend",
    )
    clock.advance(seconds=1)
    child = logger.log_query_execution("q", "coinglass", parent_decision_id=root)
    clock.advance(seconds=1)
    grandchild = logger.log_signal_generation("buy", {"rsi": 28.0}, parent_decision_id=child)
    logger.log_decision("custom")  # another trace
    chain = logger.get_decision_chain(grandchild)
    assert [r.decision_id for r in chain] == [root, child, grandchild]
    assert {r.trace_id for r in chain} == {root}


def test_decision_chain_of_unknown_decision_is_not_found(logger):
    with pytest.raises(NotFoundError):
        logger.get_decision_chain("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_decision_stats_cover_the_window(logger, clock):
    old = logger.log_decision("custom", confidence=0.1)
    logger.log_outcome(old, success=False)
    clock.advance(hours=30)
    ids = [logger.log_decision(DecisionType.TOOL_CALL, confidence=c) for c in (0.2, 0.4, 0.6, 0.8)]
    outcomes = [(True, 10.0), (True, 20.0), (False, 30.0)]
    for decision_id, (ok, latency) in zip(ids[:3], outcomes, strict=False):
        logger.log_outcome(decision_id, success=ok, latency_ms=latency)
    stats = logger.get_decision_stats(time_window_hours=24)
    assert (stats.total, stats.successes, stats.failures, stats.pending) == (4, 2, 1, 1)
    assert stats["success_rate"] == pytest.approx(2 / 3)
    assert stats.avg_confidence == pytest.approx(0.5)
    assert (stats.latency_p50_ms, stats.latency_p95_ms) == (20.0, 30.0)
    assert stats.by_type == {"tool_call": 4}


def test_stats_window_must_be_positive(logger):
    with pytest.raises(ValidationError, match="time_window_hours"):
        logger.get_decision_stats(time_window_hours=0)


def test_query_pages_walk_every_decision_once(logger, memory, clock):
    ids = []
    for _ in range(23):
        ids.append(logger.log_decision("custom"))
        clock.advance(seconds=1)
    walked = [r.decision_id for r in memory.iter_decisions(limit=5)]
    assert walked == list(reversed(ids))


def test_query_limit_must_be_positive(memory):
    with pytest.raises(ValidationError, match="limit"):
        memory.query_decisions(limit=0)


def test_pattern_update_bumps_version_and_keeps_history(memory):
    pattern = MemoryPattern(
        agent_id=memory.agent_id,
        description="coinglass in high volatility",
        confidence=0.6,
        success_rate=0.8,
        sample_size=10,
        success_count=8,
        user_metadata={"owner": "quant-team"},
    )
    stored = memory.store_pattern(pattern)
    assert stored.version == 1
    stored.confidence, stored.sample_size, stored.success_count = 0.7, 20, 17
    updated = memory.store_pattern(stored)
    assert updated.version == 2
    assert [h.sample_size for h in updated.history] == [10]
    assert updated.user_metadata == {"owner": "quant-team"}
    assert [p.version for p in memory.get_pattern_history(pattern.pattern_id)] == [1, 2]
    assert memory.get_pattern(pattern.pattern_id).confidence == 0.7


def test_stale_pattern_update_is_a_conflict(memory):
    pattern = memory.store_pattern(MemoryPattern(agent_id=memory.agent_id, confidence=0.5))
    first = pattern.model_copy(deep=True)
    memory.store_pattern(pattern)  # now at version 2
    with pytest.raises(StateConflictError):
        memory.store_pattern(first)


def test_patterns_are_listed_most_confident_first(memory):
    for confidence in (0.2, 0.9, 0.5):
        memory.store_pattern(MemoryPattern(agent_id=memory.agent_id, confidence=confidence))
    assert [p.confidence for p in memory.get_patterns()] == [0.9, 0.5, 0.2]
    assert [p.confidence for p in memory.get_patterns(min_confidence=0.5)] == [0.9, 0.5]


def test_state_saved_with_partial_changes_and_conflicts_detected(memory):
    first = memory.save_state(config={"risk": "low"})
    assert first.version == 1
    second = memory.save_state(metrics={"cycles": 3})
    assert (second.version, second.config, second.metrics) == (2, {"risk": "low"}, {"cycles": 3})
    with pytest.raises(StateConflictError):
        memory.save_state(first)
    assert memory.load_state().version == 2


def test_rollback_restores_a_named_checkpoint(memory):
    memory.save_state(AgentState(agent_id=memory.agent_id, config={"risk": "low"}))
    memory.checkpoint("calm")
    memory.save_state(config={"risk": "high"})
    memory.checkpoint()
    assert [c.name for c in memory.list_checkpoints()] == [None, "calm"]
    restored = memory.rollback("calm")
    assert restored.config == {"risk": "low"}
    assert memory.load_state().config == {"risk": "low"}


def test_checkpoint_without_state_is_not_found(memory):
    with pytest.raises(NotFoundError):
        memory.checkpoint()


def test_signals_flow_between_two_managers(memory, tmp_path, clock):
    other = MemoryManager("eth-agent-002", store=memory.store, clock=clock)
    sent = memory.publish_signal(
        "market_signal", {"asset": "BTC", "side": "long"}, targets=[other.agent_id]
    )
    assert memory.get_pending_signals() == []
    pending = other.get_pending_signals()
    assert [s.signal_id for s in pending] == [sent.signal_id]
    assert pending[0].payload == {"asset": "BTC", "side": "long"}
    assert other.mark_signal_processed(sent.signal_id) is True
    assert other.get_pending_signals() == []
    assert other.mark_signal_processed(sent.signal_id) is False


def test_signal_expires_after_its_ttl(memory, clock):
    other = MemoryManager("eth-agent-002", store=memory.store, clock=clock)
    memory.publish_signal("alert", {"x": 1}, targets=[other.agent_id], ttl=timedelta(minutes=5))
    clock.advance(minutes=6)
    assert other.get_pending_signals() == []


def test_signal_needs_an_audience(memory):
    with pytest.raises(ValidationError, match="target"):
        memory.publish_signal("alert", {"x": 1})
