"""Analytics over small hand-computed fixtures: every expected number is worked out here."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from agentmem_langchain import DecisionType, MemoryManager, ValidationError
from agentmem_langchain.analytics import Analytics
from agentmem_langchain.models import DecisionOutcome, DecisionReasoning, DecisionRecord
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock, InMemoryStore

NOW = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
AGENT = "agent-a"
Z = 1.959963984540054  # the 97.5% quantile of the standard normal distribution
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def record(
    decision_type: str = "tool_call",
    *,
    ago: timedelta = timedelta(minutes=30),
    success: bool | None = None,
    confidence: float | None = None,
    latency_ms: float | None = None,
    patterns: Iterable[str] = (),
    agent_id: str = AGENT,
) -> DecisionRecord:
    outcome = (
        None
        if success is None
        else DecisionOutcome(success=success, latency_ms=latency_ms, recorded_at=NOW)
    )
    return DecisionRecord(
        agent_id=agent_id,
        decision_type=decision_type,
        timestamp=NOW - ago,
        reasoning=DecisionReasoning(confidence=confidence, patterns_applied=list(patterns)),
        outcome=outcome,
    )


def log(store: InMemoryStore | SQLiteStore, *records: DecisionRecord) -> None:
    for item in records:
        store.put_decision(item)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(clock) -> InMemoryStore:
    return InMemoryStore(clock=clock)


@pytest.fixture
def analytics(store, clock) -> Analytics:
    return Analytics(MemoryManager(AGENT, store=store, clock=clock, decision_ttl=None))


# Calibration fixture, 4 bins of width 0.25, (confidence, success):
#   [0, .25):   (.1, F) (.2, T)         n=2  mean .15    rate 1/2
#   [.25, .5):  (.3, F)                 n=1  mean .3     rate 0
#   [.5, .75):  (.6, T) (.7, T) (.7, F) n=3  mean 2/3    rate 2/3
#   [.75, 1]:   (.9, T) (1.0, T)        n=2  mean .95    rate 1
# N = 8; ECE = 2/8*.35 + 1/8*.3 + 3/8*0 + 2/8*.05 = .0875 + .0375 + 0 + .0125 = .1375
# Brier = (.01 + .64 + .09 + .16 + .09 + .49 + .01 + 0) / 8 = 1.49 / 8 = .18625
CALIBRATION = [(0.1, False), (0.2, True), (0.3, False), (0.6, True), (0.7, True), (0.7, False),
               (0.9, True), (1.0, True)]  # fmt: skip


def calibration_records() -> list[DecisionRecord]:
    return [
        *(record(success=s, confidence=c) for c, s in CALIBRATION),
        record(confidence=0.5),  # pending: not part of calibration
        record(success=True),  # no stated confidence: not part of it either
    ]


def assert_hand_computed_calibration(result) -> None:
    assert result.count == 8
    assert [(b.lower, b.upper, b.count) for b in result.bins] == [
        (0.0, 0.25, 2), (0.25, 0.5, 1), (0.5, 0.75, 3), (0.75, 1.0, 2)
    ]  # fmt: skip
    expected_means = [0.15, 0.3, 2 / 3, 0.95]
    expected_rates = [0.5, 0.0, 2 / 3, 1.0]
    for b, mean, rate in zip(result.bins, expected_means, expected_rates, strict=True):
        assert b.mean_confidence == pytest.approx(mean, abs=1e-12)
        assert b.success_rate == pytest.approx(rate, abs=1e-12)
    assert result.expected_calibration_error == pytest.approx(0.1375, abs=1e-9)
    assert result.brier_score == pytest.approx(0.18625, abs=1e-9)


def test_calibration_bins_ece_and_brier_match_hand_computation(analytics, store):
    log(store, *calibration_records())
    assert_hand_computed_calibration(analytics.calibration(bins=4))


def test_calibration_counts_only_decided_decisions_that_state_a_confidence(analytics, store):
    log(store, record(confidence=0.9), record(success=True), record(success=False))
    result = analytics.calibration()
    assert result.count == 0
    assert result.expected_calibration_error is None
    assert result.brier_score is None


def test_calibration_edge_values_fall_in_the_upper_bin_and_one_in_the_last(analytics, store):
    log(store, *(record(success=True, confidence=c) for c in (0.0, 0.3, 0.9999, 1.0)))
    bins = analytics.calibration(bins=10).bins
    assert [b.count for b in bins] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]
    assert (bins[3].lower, bins[3].upper) == (0.3, 0.4)
    assert bins[3].mean_confidence == 0.3


def test_calibration_bin_shown_always_contains_its_confidences(analytics, store):
    just_below = math.nextafter(0.9, 0.0)  # 10 * just_below rounds to 9.0
    log(store, record(success=True, confidence=just_below))
    (filled,) = [b for b in analytics.calibration(bins=10).bins if b.count]
    assert (filled.lower, filled.upper) == (0.8, 0.9)


def test_sqlite_store_gives_the_hand_computed_calibration_across_pages(tmp_path, clock):
    sqlite = SQLiteStore(tmp_path / "a.db", clock=clock)
    try:
        log(sqlite, *calibration_records())
        analytics = Analytics(sqlite, AGENT, clock=clock)
        analytics.page_size = 3  # 10 records: four pages through SQLite's cursors
        assert_hand_computed_calibration(analytics.calibration(bins=4))
    finally:
        sqlite.close()


def test_success_by_type_counts_outcomes_and_rates_per_type(analytics, store):
    log(
        store,
        *(record("tool_call", success=s) for s in (True, True, True, False)),
        record("tool_call"),
        record("routing"),
        record("routing"),
    )
    types = analytics.success_by_type().types
    assert [(t.decision_type, t.total, t.successes, t.failures, t.pending) for t in types] == [
        ("routing", 2, 0, 0, 2),
        ("tool_call", 5, 3, 1, 1),
    ]
    assert types[0].success_rate is None  # nothing decided yet: no rate, not 0
    assert types[1].success_rate == 3 / 4


def test_default_window_is_the_last_24_hours_including_now(analytics, store):
    log(
        store,
        record(ago=timedelta(0), success=True),
        record(ago=timedelta(hours=24), success=True),
        record(ago=timedelta(hours=24, seconds=1), success=True),
    )
    assert analytics.success_by_type().types[0].total == 2


def test_explicit_window_includes_its_start_and_excludes_its_end(analytics, store):
    log(
        store,
        record(ago=timedelta(hours=2), success=True),
        record(ago=timedelta(hours=1), success=False),
    )
    types = analytics.success_by_type(start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1))
    assert (types.types[0].total, types.types[0].successes) == (1, 1)


def test_hours_narrows_the_window_and_decision_type_filters(analytics, store):
    log(
        store,
        record("tool_call", ago=timedelta(minutes=30), success=True),
        record("tool_call", ago=timedelta(hours=3), success=True),
        record("routing", ago=timedelta(minutes=30), success=False),
    )
    result = analytics.success_by_type(hours=1, decision_type=DecisionType.TOOL_CALL)
    assert [(t.decision_type, t.total) for t in result.types] == [("tool_call", 1)]


def test_success_over_time_counts_each_hour_and_now_in_the_last(analytics, store):
    log(
        store,
        record(ago=timedelta(hours=3, minutes=1), success=True),  # 08:59, outside
        record(ago=timedelta(hours=2, minutes=30), success=True),  # 09:30
        record(ago=timedelta(hours=2, minutes=15), success=False),  # 09:45
        record(ago=timedelta(hours=1, minutes=50)),  # 10:10, pending
        record(ago=timedelta(minutes=1), success=True),  # 11:59
        record(ago=timedelta(0), success=True),  # 12:00, now
    )
    result = analytics.success_over_time(hours=3)
    hour = timedelta(hours=1)
    assert result.bucket == hour
    assert [(b.start, b.end, b.total, b.successes, b.failures) for b in result.buckets] == [
        (NOW - 3 * hour, NOW - 2 * hour, 2, 1, 1),
        (NOW - 2 * hour, NOW - hour, 1, 0, 0),
        (NOW - hour, NOW, 2, 2, 0),
    ]
    assert [b.success_rate for b in result.buckets] == [0.5, None, 1.0]


def test_success_over_time_lays_buckets_from_an_explicit_start(analytics, store):
    log(
        store,
        record(ago=timedelta(minutes=150), success=True),  # 09:30, the start
        record(ago=timedelta(minutes=15), success=False),  # 11:45
        record(ago=timedelta(0), success=True),  # 12:00, the (excluded) end
    )
    result = analytics.success_over_time(start=NOW - timedelta(minutes=150), end=NOW)
    assert [(b.start.strftime("%H:%M"), b.end.strftime("%H:%M"), b.total, b.failures)
            for b in result.buckets] == [
        ("09:30", "10:30", 1, 0), ("10:30", "11:30", 0, 0), ("11:30", "12:00", 1, 1)
    ]  # fmt: skip


def test_success_over_time_from_now_to_now_holds_what_happened_now(analytics, store):
    log(store, record(ago=timedelta(0), success=True))
    (bucket,) = analytics.success_over_time(start=NOW).buckets
    assert (bucket.start, bucket.end, bucket.total, bucket.success_rate) == (NOW, NOW, 1, 1.0)


def test_latency_percentiles_are_nearest_rank(analytics, store):
    latencies = [10.0 * i for i in range(1, 21)]  # 10, 20, ..., 200
    random.Random(3).shuffle(latencies)
    log(
        store,
        *(record(success=True, latency_ms=v) for v in latencies),
        record(success=True),  # no latency recorded
        record(),  # pending
    )
    result = analytics.latency()
    # n = 20: p50 is rank ceil(10) = 10 -> 100; p95 rank ceil(19) = 19 -> 190;
    # p99 rank ceil(19.8) = 20 -> 200; mean = 10 * (20 * 21 / 2) / 20 = 105.
    assert (result.count, result.p50_ms, result.p95_ms, result.p99_ms) == (20, 100, 190, 200)
    assert result.mean_ms == pytest.approx(105.0, abs=1e-9)


def wilson_bounds(k: int, n: int) -> tuple[float, float]:
    p = k / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half_width = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denominator
    return centre - half_width, centre + half_width


def newcombe_by_hand(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson_bounds(k1, n1), wilson_bounds(k2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def pattern_records() -> list[DecisionRecord]:
    # tool_call: P on 4 (3 succeed); 5 without P (2 succeed), one of which applied Q (failed).
    # routing:   never P; 3 decided, all succeed, one applied Q.
    return [
        *(record("tool_call", success=s, patterns=["P"]) for s in (True, True, True, False)),
        *(record("tool_call", success=s) for s in (True, True, False, False)),
        record("tool_call", success=False, patterns=["Q"]),
        record("routing", success=True),
        record("routing", success=True),
        record("routing", success=True, patterns=["Q", "Q"]),  # listed twice, counted once
        record("tool_call", patterns=["P"]),  # pending: not counted
        record("tool_call", ago=timedelta(hours=30), success=False, patterns=["P"]),  # outside
    ]


def test_pattern_effectiveness_compares_with_same_type_decisions(analytics, store):
    log(store, *pattern_records())
    p, q = analytics.pattern_effectiveness().patterns
    # P: with 3/4 = .75 against the other tool_calls 2/5 = .4; routing is not comparable.
    assert (p.pattern_id, p.decision_types) == ("P", ("tool_call",))
    assert (p.with_n, p.with_successes, p.without_n, p.without_successes) == (4, 3, 5, 2)
    assert (p.with_rate, p.without_rate) == (0.75, 0.4)
    assert p.difference == pytest.approx(0.35, abs=1e-12)
    lower, upper = newcombe_by_hand(3, 4, 2, 5)
    assert p.ci_lower == pytest.approx(lower, abs=1e-9)
    assert p.ci_upper == pytest.approx(upper, abs=1e-9)
    # Q: with 1/2 (tool_call F, routing T) against the other 8 tool_calls (5 succeed) and the
    # other 2 routings (both succeed): 7/10; difference .5 - .7 = -.2, so Q ranks second.
    assert (q.pattern_id, q.decision_types) == ("Q", ("routing", "tool_call"))
    assert (q.with_n, q.with_successes, q.without_n, q.without_successes) == (2, 1, 10, 7)
    assert q.difference == pytest.approx(-0.2, abs=1e-12)
    lower, upper = newcombe_by_hand(1, 2, 7, 10)
    assert (q.ci_lower, q.ci_upper) == (
        pytest.approx(lower, abs=1e-9),
        pytest.approx(upper, abs=1e-9),
    )


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "published"),
    [(56, 70, 48, 80, (0.0524, 0.3339)), (9, 10, 3, 10, (0.1705, 0.8090))],
)
def test_pattern_interval_matches_newcombes_published_examples(
    analytics, store, k1, n1, k2, n2, published
):
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10.
    log(
        store,
        *(record(success=i < k1, patterns=["P"]) for i in range(n1)),
        *(record(success=i < k2) for i in range(n2)),
    )
    (effect,) = analytics.pattern_effectiveness().patterns
    assert effect.ci_lower == pytest.approx(published[0], abs=5e-5)
    assert effect.ci_upper == pytest.approx(published[1], abs=5e-5)


def test_pattern_seen_only_on_pending_decisions_is_listed_last_without_a_difference(
    analytics, store
):
    log(
        store,
        record(success=True, patterns=["A"]),
        record(success=False),
        record(patterns=["B"]),
    )
    a, b = analytics.pattern_effectiveness().patterns
    assert (a.pattern_id, a.difference) == ("A", 1.0)
    assert (b.pattern_id, b.with_n, b.without_n, b.difference, b.ci_lower) == (
        "B",
        0,
        0,
        None,
        None,
    )


def test_compare_agents_summarizes_each_agent_in_order(analytics, store):
    log(
        store,
        record(success=True, confidence=0.8, latency_ms=100),
        record(success=False, confidence=0.6, latency_ms=300),
        record(success=True, confidence=0.9, latency_ms=50, agent_id="agent-b"),
        record(success=True, confidence=0.9, latency_ms=70, agent_id="agent-b"),
        record(confidence=0.5, agent_id="agent-b"),
    )
    a, b, c = analytics.compare_agents([AGENT, "agent-b", "agent-c"]).agents
    # a: ECE = 1/2 * |1 - .8| + 1/2 * |0 - .6| = .4; p50 of [100, 300] is rank 1.
    assert (a.agent_id, a.total, a.success_rate, a.latency_p50_ms) == (AGENT, 2, 0.5, 100)
    assert a.avg_confidence == pytest.approx(0.7, abs=1e-12)
    assert a.expected_calibration_error == pytest.approx(0.4, abs=1e-12)
    # b: the pending decision counts in total and mean confidence, not in rate or ECE.
    assert (b.total, b.success_rate, b.latency_p50_ms) == (3, 1.0, 50)
    assert b.avg_confidence == pytest.approx(2.3 / 3, abs=1e-12)
    assert b.expected_calibration_error == pytest.approx(0.1, abs=1e-12)
    assert (c.agent_id, c.total, c.success_rate, c.avg_confidence) == ("agent-c", 0, None, None)
    assert (c.expected_calibration_error, c.latency_p50_ms) == (None, None)


class PageRecordingStore(InMemoryStore):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pages: list[tuple[int, int]] = []

    def query_decisions(self, agent_id, **kwargs):
        page = super().query_decisions(agent_id, **kwargs)
        self.pages.append((kwargs["limit"], len(page.items)))
        return page


def test_decisions_are_read_one_page_at_a_time(clock):
    store = PageRecordingStore(clock=clock)
    log(store, *(record(success=i % 2 == 0, confidence=0.5) for i in range(7)))
    analytics = Analytics(store, AGENT, clock=clock)
    analytics.page_size = 3
    assert analytics.calibration().count == 7
    assert store.pages == [(3, 3), (3, 3), (3, 1)]


def test_empty_window_gives_zero_counts_and_none(analytics):
    assert analytics.success_by_type().types == ()
    buckets = analytics.success_over_time(hours=2).buckets
    assert [(b.total, b.success_rate) for b in buckets] == [(0, None), (0, None)]
    latency = analytics.latency()
    assert (latency.count, latency.mean_ms, latency.p50_ms, latency.p99_ms) == (0, None, None, None)
    calibration = analytics.calibration(bins=3)
    assert (calibration.count, calibration.expected_calibration_error) == (0, None)
    assert [(b.count, b.mean_confidence, b.success_rate) for b in calibration.bins] == [
        (0, None, None)
    ] * 3
    assert analytics.pattern_effectiveness().patterns == ()


@pytest.mark.parametrize(
    ("method", "columns"),
    [
        ("success_by_type", ["decision_type", "total", "successes", "failures", "pending",
                             "success_rate"]),
        ("success_over_time", ["start", "end", "total", "successes", "failures", "success_rate"]),
        ("latency", ["count", "mean_ms", "p50_ms", "p95_ms", "p99_ms"]),
        ("calibration", ["lower", "upper", "count", "mean_confidence", "success_rate"]),
        ("pattern_effectiveness", ["pattern_id", "decision_types", "with_n", "with_successes",
                                   "with_rate", "without_n", "without_successes", "without_rate",
                                   "difference", "ci_lower", "ci_upper"]),
    ],
)  # fmt: skip
def test_to_dataframe_has_one_column_per_field(analytics, store, method, columns):
    log(store, *pattern_records())
    frame = getattr(analytics, method)().to_dataframe()
    assert list(frame.columns) == columns
    assert len(frame) > 0


def test_compare_agents_dataframe_has_a_row_per_agent(analytics):
    frame = analytics.compare_agents([AGENT, "agent-b"]).to_dataframe()
    assert list(frame.columns) == ["agent_id", "total", "success_rate", "avg_confidence",
                                   "expected_calibration_error", "latency_p50_ms"]  # fmt: skip
    assert list(frame["agent_id"]) == [AGENT, "agent-b"]


def test_to_dict_is_nested_dicts_and_lists(analytics, store):
    log(store, record(success=True, confidence=0.8))
    data = analytics.calibration(bins=2).to_dict()
    assert data == {
        "bins": [
            {"lower": 0.0, "upper": 0.5, "count": 0, "mean_confidence": None,
             "success_rate": None},
            {"lower": 0.5, "upper": 1.0, "count": 1, "mean_confidence": 0.8,
             "success_rate": 1.0},
        ],
        "expected_calibration_error": pytest.approx(0.2),
        "brier_score": pytest.approx(0.04),
        "count": 1,
    }  # fmt: skip


def test_to_dataframe_without_pandas_names_the_extra(analytics, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'agentmem-langchain\[pandas\]'"):
        analytics.latency().to_dataframe()


@pytest.mark.parametrize(
    "plot", ["plot_reliability", "plot_success_over_time", "plot_pattern_leaderboard"]
)
@pytest.mark.parametrize("with_data", [True, False], ids=["data", "empty"])
def test_plots_return_a_figure_and_save_a_png(analytics, store, tmp_path, plot, with_data):
    if with_data:
        log(store, *pattern_records(), *calibration_records())
    path: Path = tmp_path / f"{plot}.png"
    figure = getattr(analytics, plot)(path=path)
    assert isinstance(figure, Figure)
    content = path.read_bytes()
    assert content[:8] == PNG_SIGNATURE
    assert len(content) > 5_000


def test_plots_without_matplotlib_name_the_extra(analytics, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'agentmem-langchain\[plots\]'"):
        analytics.plot_reliability()


def test_importing_analytics_loads_neither_pandas_nor_matplotlib():
    code = (
        "import sys, agentmem_langchain.analytics\n"
        "print([m for m in ('pandas', 'matplotlib') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: a.calibration(bins=0), "bins"),
        (lambda a: a.calibration(bins=-3), "bins"),
        (lambda a: a.compare_agents([AGENT], bins=0), "bins"),
        (lambda a: a.success_over_time(bucket=timedelta(0)), "bucket"),
        (lambda a: a.success_over_time(bucket=timedelta(minutes=-5)), "bucket"),
        (lambda a: a.success_over_time(bucket=timedelta(seconds=1)), "bucket"),  # 86,400 buckets
        (lambda a: a.latency(start=NOW, end=NOW - timedelta(seconds=1)), "end"),
        (lambda a: a.success_by_type(hours=0), "hours"),
        (lambda a: a.success_by_type(hours=-1), "hours"),
        (lambda a: a.latency(start=NOW - timedelta(hours=1), hours=2), "hours"),
        (lambda a: a.plot_pattern_leaderboard(limit=0), "limit"),
        (lambda a: a.compare_agents(["not an id!"]), "agent_ids"),
    ],
)
def test_bad_arguments_raise_validation_error_naming_the_field(analytics, call, field):
    with pytest.raises(ValidationError) as raised:
        call(analytics)
    assert raised.value.field == field


def test_a_store_needs_an_agent_id(store):
    with pytest.raises(ValidationError, match="agent_id"):
        Analytics(store)


def test_a_manager_cannot_be_read_as_another_agent(store, clock):
    with pytest.raises(ValidationError, match="agent-b"):
        Analytics(MemoryManager(AGENT, store=store, clock=clock), "agent-b")
