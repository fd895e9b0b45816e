"""Bad input to the Python API: a one-line ``ValidationError`` naming the argument, raised
before anything is read or written.

The first group are the probes of issue 20, one test each; then the rule for lists of names
(a single string is refused everywhere, never split into characters), ``DecisionLogger``'s
size and depth caps, the read-only ``DecisionStats`` mapping, and the log line of an invalid
confidence set through ``current_decision()``.
"""

from __future__ import annotations

import copy
import json
import logging
import pickle
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest

from agentmem_langchain import (
    AgentMemoryCallbackHandler,
    DecisionLogger,
    DecisionStats,
    MemoryManager,
    MemoryPattern,
    MultiAgentCoordinator,
    PatternRetriever,
    ValidationError,
    decision,
    flush,
    instrument,
    open_store,
    uninstrument,
)
from agentmem_langchain.capture.decision import problems
from agentmem_langchain.capture.values import MAX_DEPTH
from agentmem_langchain.decorators import current_decision
from agentmem_langchain.models import utcnow
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def memory(store: InMemoryStore) -> MemoryManager:
    return MemoryManager("agent-a", store=store)


@pytest.fixture
def logger(memory: MemoryManager) -> DecisionLogger:
    return DecisionLogger(memory)


def everything_in(store: InMemoryStore) -> str:
    """The store's whole content as text (what "nothing was written" compares)."""
    parts = {
        name: repr(value) for name, value in sorted(vars(store).items()) if isinstance(value, dict)
    }
    return repr(parts)


def refused(call: Callable[[], Any], field: str) -> ValidationError:
    """The ``ValidationError`` ``call`` raises; it names ``field`` and is one line."""
    with pytest.raises(ValidationError) as info:
        call()
    error = info.value
    assert error.field == field, (error.field, str(error))
    assert str(error).startswith(f"{field}: "), str(error)
    assert "\n" not in str(error)
    return error


# -- the probes of issue 20 -------------------------------------------------------------------


def test_a_limit_too_large_for_any_store_is_refused(memory):
    refused(lambda: memory.query_decisions(limit=10**20), "limit")


def test_a_priority_too_large_for_any_store_is_refused(memory, store):
    before = everything_in(store)
    refused(lambda: memory.publish_signal("tick", targets=["b"], priority=10**30), "priority")
    assert everything_in(store) == before


def test_a_limit_given_as_text_is_refused(memory):
    refused(lambda: memory.query_decisions(limit="10"), "limit")


def test_a_window_given_as_text_is_refused(logger):
    refused(lambda: logger.get_decision_stats(time_window_hours="24"), "time_window_hours")


def test_an_outcome_of_none_is_refused(logger, memory, store):
    decision_id = logger.log_decision("custom")
    before = everything_in(store)
    refused(lambda: memory.update_outcome(decision_id, None), "outcome")
    assert everything_in(store) == before


def test_a_start_given_as_text_is_refused(memory):
    refused(lambda: memory.query_decisions(start="yesterday"), "start")


def test_a_pattern_given_as_a_dict_is_refused(memory, store):
    refused(lambda: memory.store_pattern({"agent_id": "agent-a"}), "pattern")
    assert memory.get_patterns() == []


def test_a_handler_without_memory_uses_the_default_one_and_a_wrong_memory_is_refused():
    assert AgentMemoryCallbackHandler(None).memory is not None
    refused(lambda: AgentMemoryCallbackHandler("agent-a"), "memory")


def test_instrument_with_an_agent_id_instead_of_a_memory_is_refused_and_installs_nothing():
    refused(lambda: instrument("agent-a"), "memory")
    from agentmem_langchain.langchain import tracing

    assert tracing._instrumented is None


def test_instrument_settings_are_checked_once(memory):
    refused(lambda: instrument(memory, record_tools="yes"), "record_tools")
    refused(lambda: instrument(memory, name_filter="search"), "name_filter")
    refused(lambda: uninstrument(timeout="soon"), "timeout")


def test_a_retriever_query_that_is_not_text_is_refused(memory):
    refused(lambda: PatternRetriever(memory=memory).invoke(123), "query")


def test_a_retriever_k_below_one_is_one_line_naming_k(memory):
    with pytest.raises(
        ValidationError, match=r"^PatternRetriever\.k: .*at least 1|>= 1|equal to 1"
    ):
        PatternRetriever(memory=memory, k=0)
    with pytest.raises(ValidationError) as info:
        PatternRetriever(memory=memory, k=0)
    assert info.value.field == "k" and "\n" not in str(info.value)
    assert str(info.value).startswith("PatternRetriever.k: ")
    refused(lambda: PatternRetriever(memory=memory).invoke("volatility", k=0), "k")


def test_a_retriever_without_a_source_is_one_line():
    with pytest.raises(ValidationError, match="needs memory=") as info:
        PatternRetriever()
    assert "\n" not in str(info.value)


def test_a_store_given_as_a_path_is_refused_with_what_to_write(tmp_path):
    error = refused(lambda: MemoryManager("agent-a", store="x.db"), "store")
    assert "open_store('sqlite', sqlite_path='x.db')" in str(error)
    refused(lambda: MemoryManager("agent-a", store=tmp_path / "x.db"), "store")
    assert not (tmp_path / "x.db").exists()


def test_a_decision_logger_without_a_memory_is_refused():
    refused(lambda: DecisionLogger(None), "memory_manager")


def test_a_decision_type_that_is_neither_text_nor_a_function_is_refused():
    refused(lambda: decision(123), "decision_type")
    refused(lambda: decision("x" * 129), "decision_type")


# -- the rest of the surface ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.get_decision(123), "decision_id"),
        (lambda m: m.get_children(None), "decision_id"),
        (lambda m: m.get_decision_chain(["x"]), "decision_id"),
        (lambda m: m.log_outcome(7, True), "decision_id"),
        (lambda m: m.decision_stats("2024-01-01"), "start"),
        (lambda m: m.decision_stats(None), "start"),
        (lambda m: m.query_decisions(end=1.5), "end"),
        (lambda m: m.query_decisions(success="yes"), "success"),
        (lambda m: m.query_decisions(decision_type=3), "decision_type"),
        (lambda m: m.query_decisions(cursor=3), "cursor"),
        (lambda m: m.query_decisions(limit=True), "limit"),
        (lambda m: m.query_decisions(limit=2.0), "limit"),
        (lambda m: m.get_patterns(min_confidence="high"), "min_confidence"),
        (lambda m: m.get_patterns(min_confidence=1.5), "min_confidence"),
        (lambda m: m.get_patterns(include_retired="no"), "include_retired"),
        (lambda m: m.get_shared_patterns(limit=10**9), "limit"),
        (lambda m: m.get_pattern(1), "pattern_id"),
        (lambda m: m.get_pattern_history(None), "pattern_id"),
        (lambda m: m.save_state({"config": {}}), "state"),
        (lambda m: m.checkpoint(5), "name"),
        (lambda m: m.rollback(5), "to"),
        (lambda m: m.publish_signal("tick", targets=["b"], ttl=60), "ttl"),
        (lambda m: m.publish_signal("tick", targets=["b"], ttl=timedelta(days=10**6)), "ttl"),
        (lambda m: m.publish_signal("tick", targets=["b"], priority=1.5), "priority"),
        (lambda m: m.publish_signal("tick", "payload", targets=["b"]), "payload"),
        (lambda m: m.publish_signal("", targets=["b"]), "signal_type"),
        (lambda m: m.publish_signal("tick", broadcast="yes"), "broadcast"),
        (lambda m: m.claim_signals(lease=30), "lease"),
        (lambda m: m.claim_signals(limit=0), "limit"),
        (lambda m: m.get_pending_signals(limit="5"), "limit"),
        (lambda m: m.mark_signal_processed(None), "signal_id"),
        (lambda m: m.release_signal(3), "signal_id"),
        (lambda m: m.flush(timeout="soon"), "timeout"),
        (lambda m: m.flush(timeout=-1), "timeout"),
    ],
)
def test_memory_manager_methods_name_the_bad_argument(memory, store, call, field):
    before = everything_in(store)
    refused(lambda: call(memory), field)
    assert everything_in(store) == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"decision_ttl": 3600}, "decision_ttl"),
        ({"decision_ttl": timedelta(seconds=-1)}, "decision_ttl"),
        ({"clock": "now"}, "clock"),
        ({"store": object()}, "store"),
    ],
)
def test_memory_manager_settings_are_checked(kwargs, field):
    refused(lambda: MemoryManager("agent-a", **{"store": InMemoryStore(), **kwargs}), field)


@pytest.mark.asyncio
async def test_async_twins_refuse_before_scheduling(memory, store):
    before = everything_in(store)
    with pytest.raises(ValidationError, match=r"^limit: "):
        await memory.aquery_decisions(limit="10")
    with pytest.raises(ValidationError, match=r"^targets: "):
        await memory.apublish_signal("tick", targets="eth")
    with pytest.raises(ValidationError, match=r"^lease: "):
        await memory.aclaim_signals(lease=5)
    with pytest.raises(ValidationError, match=r"^start: "):
        await memory.adecision_stats("yesterday")
    assert everything_in(store) == before


def test_store_constructors_check_their_arguments(tmp_path):
    refused(lambda: SQLiteStore(123), "path")
    refused(lambda: SQLiteStore(tmp_path / "a.db", clock=5), "clock")
    refused(lambda: InMemoryStore(clock="now"), "clock")
    refused(lambda: open_store(5), "kind")
    refused(lambda: open_store("sqlite", sqlite_path=5), "sqlite_path")
    refused(lambda: MultiAgentCoordinator("x.db"), "store")
    refused(lambda: flush(timeout="soon"), "timeout")
    assert list(tmp_path.iterdir()) == []


def test_learning_and_executor_constructors_check_their_arguments(memory):
    from agentmem_langchain import (
        ConsolidationScheduler,
        ContextThreadPoolExecutor,
        PatternLearner,
        consolidate,
    )

    refused(lambda: consolidate(None), "memory")
    refused(lambda: consolidate(memory.store), "agent_id")
    refused(lambda: consolidate(memory, now="today"), "now")
    refused(lambda: consolidate(memory, learner="fast"), "learner")
    refused(lambda: ConsolidationScheduler(None), "memory")
    refused(lambda: ConsolidationScheduler(memory, every=60), "every")
    refused(lambda: ConsolidationScheduler(memory, agent_ids="agent-a"), "agent_ids")
    refused(lambda: PatternLearner(min_samples="5"), "min_samples")
    refused(lambda: PatternLearner(retire_below=2.0), "retire_below")
    refused(lambda: ContextThreadPoolExecutor("4"), "max_workers")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"memory": "agent-a"}, "memory"),
        ({"agent_id": ""}, "agent_id"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"capture_args": "no"}, "capture_args"),
        ({"redact": "all"}, "redact"),
        ({"tags": "weekly"}, "tags"),
    ],
)
def test_decision_options_are_checked_when_decorating(options, field):
    refused(lambda: decision("tool_call", **options), field)


# -- one rule for lists of names: a string is refused, never split ------------------------------

NAME_LISTS: list[tuple[str, Callable[[MemoryManager, DecisionLogger], Any]]] = [
    ("targets", lambda m, lg: m.publish_signal("tick", targets="eth")),
    ("with_agents", lambda m, lg: m.share_pattern(_pattern(m), "eth")),
    ("from_agents", lambda m, lg: m.revoke_share(_pattern(m), "eth")),
    ("options", lambda m, lg: m.recommend("custom", "ab")),
    ("tags", lambda m, lg: lg.log_decision("custom", tags="weekly")),
    ("selected", lambda m, lg: lg.log_decision("custom", selected="coinglass")),
    ("alternatives", lambda m, lg: lg.log_decision("custom", alternatives="ab")),
    ("patterns_applied", lambda m, lg: lg.log_decision("custom", patterns_applied="p1")),
    ("sources", lambda m, lg: lg.log_source_selection("ab", {}, ["a"])),
    ("strategies", lambda m, lg: lg.log_strategy_selection("ab", {}, "a")),
    ("capabilities", lambda m, lg: MultiAgentCoordinator(m).register_agent("b", "pricing")),
    ("name_filter", lambda m, lg: AgentMemoryCallbackHandler(m, name_filter="search")),
]


def _pattern(memory: MemoryManager) -> str:
    stored = memory.store_pattern(MemoryPattern(agent_id=memory.agent_id, description="p"))
    return stored.pattern_id


@pytest.mark.parametrize(("field", "call"), NAME_LISTS, ids=[name for name, _ in NAME_LISTS])
def test_a_string_where_a_list_of_names_is_expected_is_refused(memory, logger, store, field, call):
    with pytest.raises(ValidationError, match=f"^{field}: expected a") as info:
        call(memory, logger)
    assert info.value.field == field
    assert memory.query_decisions().items == []
    assert memory.get_pending_signals() == []
    for pattern in memory.get_patterns():
        assert pattern.shared_with == []


def test_a_list_of_one_name_is_taken_as_one_name(memory, logger, store):
    signal = memory.publish_signal("tick", targets=["eth"])
    assert signal.target_agent_ids == ["eth"]
    record = memory.get_decision(logger.log_decision("custom", tags=["weekly"]))
    assert record is not None and record.tags == ["weekly"]


def test_strategy_selection_takes_one_selected_name_as_text(logger, memory):
    decision_id = logger.log_strategy_selection(["momentum", "mean"], {}, "momentum")
    record = memory.get_decision(decision_id)
    assert record is not None and record.reasoning.selected == ["momentum"]


# -- DecisionLogger applies capture's caps ------------------------------------------------------


def test_a_huge_context_value_is_cut_like_capture_cuts_it(logger, memory):
    huge = "x" * 20_000_000
    decision_id = logger.log_decision(
        "custom",
        context={"market": {"blob": huge}, "note": huge},
        rationale=huge,
        metadata={"raw": huge},
        tags=["t" * 10_000],
    )
    record = memory.get_decision(decision_id)
    assert record is not None
    assert len(record.model_dump_json()) < 50_000
    assert "…[truncated" in record.context.market["blob"]
    assert "…[truncated" in record.context.extra["note"]
    assert "…[truncated" in (record.reasoning.rationale or "")
    assert "…[truncated" in record.metadata["raw"]
    assert "…[truncated" in record.tags[0]


def test_deep_context_is_cut_at_captures_depth(logger, memory):
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(50):
        node["a"] = {}
        node = node["a"]
    record = memory.get_decision(logger.log_decision("custom", context={"inputs": deep}))
    assert record is not None
    depth, node = 0, record.context.inputs
    while isinstance(node, dict) and "a" in node:
        depth, node = depth + 1, node["a"]
    assert depth <= MAX_DEPTH + 2  # the key under "inputs", then capture's levels
    assert isinstance(node, str)  # the cut level is kept as text


def test_huge_outcome_details_and_error_are_cut(logger, memory):
    decision_id = logger.log_decision("custom")
    record = logger.log_outcome(
        decision_id, success=False, error="e" * 100_000, trace={"log": "y" * 100_000}
    )
    assert len(record.outcome.error or "") < 5_000
    assert "…[truncated" in record.outcome.details["trace"]


def test_small_values_are_stored_as_given(logger, memory):
    context = {"market": {"btc": 45000.5, "tags": ["a", None, True]}, "cycle": 3}
    record = memory.get_decision(logger.log_decision("custom", context=context))
    assert record is not None
    assert record.context.market == context["market"]
    assert record.context.cycle == 3


# -- get_decision_stats is a read-only Mapping ------------------------------------------------


def test_decision_stats_is_a_read_only_json_mapping(logger):
    first = logger.log_decision("custom", confidence=0.5)
    logger.log_outcome(first, success=True, latency_ms=12.0)
    stats = logger.get_decision_stats()

    assert isinstance(stats, Mapping)
    assert stats["total"] == stats.total == 1
    assert stats.get("successes") == 1
    assert stats.get("nope", "default") == "default"
    assert "success_rate" in list(stats.keys())
    assert dict(stats.items())["by_type"] == {"custom": 1}
    assert dict(stats)["avg_confidence"] == 0.5
    assert json.loads(json.dumps(stats))["latency_p50_ms"] == 12.0
    assert isinstance(stats["start"], str) and stats.start.tzinfo is not None
    with pytest.raises(TypeError):
        stats["total"] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        stats.update(total=5)
    with pytest.raises(TypeError):
        stats.total = 5  # type: ignore[misc]
    assert stats["total"] == 1


def test_decision_stats_survives_copy_and_pickle():
    stats = DecisionStats(agent_id="a", start=utcnow(), end=utcnow(), total=2)
    assert pickle.loads(pickle.dumps(stats)) == stats
    assert copy.deepcopy(stats).total == 2
    assert stats.model_dump()["total"] == 2
    assert json.loads(stats.model_dump_json())["total"] == 2


# -- invalid confidences are logged once per call site -------------------------------------------


def test_an_invalid_confidence_from_current_decision_is_logged_once_per_site(memory, caplog):
    @decision("first_site", memory=memory)
    def first(confidence: Any) -> int:
        current_decision().confidence = confidence
        return 1

    @decision("second_site", memory=memory)
    def second(confidence: Any) -> int:
        current_decision().confidence = confidence
        return 2

    problems.report("record", "an earlier problem: later ones of this kind are rate-limited")
    with caplog.at_level(logging.WARNING, logger="agentmem_langchain.capture"):
        for _ in range(3):
            first(5.0)
            second(float("nan"))
        assert memory.flush(timeout=10)
    lines = [r.getMessage() for r in caplog.records if "confidence" in r.getMessage()]
    assert len([line for line in lines if "first" in line]) == 1, lines
    assert len([line for line in lines if "second" in line]) == 1, lines
    assert all(r.reasoning.confidence is None for r in memory.query_decisions().items)


def test_an_agent_id_whose_repr_raises_is_still_a_validation_error() -> None:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    from agentmem_langchain.testing import InMemoryStore

    with pytest.raises(ValidationError) as caught:
        MemoryManager(BadRepr(), store=InMemoryStore())  # type: ignore[arg-type]
    assert caught.value.field == "agent_id"
    assert "BadRepr object" in str(caught.value)
