"""The demo: a day of learning, consolidation, then a second day with memory, without it,
and beside a plain Thompson-sampling bandit.

>>> result = run(cycles=96, seed=3, sqlite_path="/tmp/hunter.db")  # doctest: +SKIP
>>> result.truth_recovered, result.memory_gain > 0                # doctest: +SKIP
(True, True)

1. Day 1: the agent (``market-hunter-001``) runs ``cycles`` 10-minute cycles starting from an
   empty memory; its source and strategy choices come from ``MemoryManager.recommend``, which
   tries every option and learns from each outcome as it is logged. A ``FakeClock`` moves
   10 minutes per cycle; the store, the memory and the decisions' timestamps run on it, so
   STM windows, TTLs and stats see simulated time.
2. ``consolidate`` turns the day's decisions into patterns; the truth check asks whether
   the most confident source pattern of each volatility regime names the simulator's best
   source (and the same for strategies by trend regime).
3. Day 2, from the same seed and the same simulated times: the same agent deciding with its
   memory, the same agent without memory (``market-hunter-baseline``, coin flips), and an
   agent that decides with a Thompson-sampling bandit of its own
   (``market-hunter-thompson``, which learned online through both days). Success rates are
   read back from the store.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agentmem_langchain import DecisionType, MemoryManager, MemoryPattern
from agentmem_langchain.learning import ConsolidationResult, consolidate
from agentmem_langchain.models import DecisionRecord, DecisionStats
from agentmem_langchain.stores.base import MemoryStore
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock

from .agent import LEARNER, SOURCES, STRATEGIES, IntegratedMarketHunterAgent
from .market import TREND_REGIMES, VOLATILITY_REGIMES, MarketSimulator

DEFAULT_SQLITE_PATH = Path("agentmem-demo") / "market_hunter.db"
AGENT_ID = "market-hunter-001"
BASELINE_AGENT_ID = "market-hunter-baseline"
THOMPSON_AGENT_ID = "market-hunter-thompson"
CYCLE = timedelta(minutes=10)
#: The seed's five decision points, in chain order.
DECISION_POINTS = (
    DecisionType.SOURCE_SELECTION.value,
    DecisionType.QUERY_EXECUTION.value,
    DecisionType.SIGNAL_GENERATION.value,
    DecisionType.RISK_ASSESSMENT.value,
    DecisionType.STRATEGY_SELECTION.value,
)


@dataclass(frozen=True)
class TruthCheck:
    """Does the most confident learned pattern of a regime name the simulator's best choice?"""

    decision_type: str
    condition: str  # "volatility"
    value: str  # "high"
    expected: str
    learned: str | None
    confidence: float | None
    sample_size: int | None

    @property
    def regime(self) -> str:
        return f"{self.condition}={self.value}"

    @property
    def ok(self) -> bool:
        return self.learned == self.expected


@dataclass(frozen=True)
class DayResult:
    """One day of one agent, read back from the store."""

    label: str
    agent_id: str
    first_cycle: int
    last_cycle: int
    successes: dict[str, int]
    decided: dict[str, int]
    followed_memory: dict[str, int]  # decisions that applied a pattern, by type

    def rate(self, decision_type: str) -> float:
        decided = self.decided.get(decision_type, 0)
        return self.successes.get(decision_type, 0) / decided if decided else 0.0

    @property
    def overall_rate(self) -> float:
        decided = sum(self.decided.values())
        return sum(self.successes.values()) / decided if decided else 0.0


@dataclass
class DemoResult:
    """Everything the demo measured (``report.print_report`` shows it)."""

    seed: int
    cycles: int
    store: str
    location: str
    day1: DayResult
    consolidation: ConsolidationResult
    truth: list[TruthCheck]
    with_memory: DayResult
    without_memory: DayResult
    thompson: DayResult
    day2_consolidation: ConsolidationResult
    day1_patterns: list[MemoryPattern]
    patterns: list[MemoryPattern]
    recommendations: list[dict[str, Any]]
    stats: DecisionStats
    baseline_stats: DecisionStats
    last_chain: list[DecisionRecord]
    cost: str
    plots: list[Path] = field(default_factory=list)
    plot_note: str = ""
    expired_after_ttl: bool = False
    patterns_after_ttl: int = 0
    seconds: float = 0.0

    @property
    def truth_recovered(self) -> bool:
        """Every volatility regime's top source pattern names the right source."""
        sources = [t for t in self.truth if t.decision_type == DecisionType.SOURCE_SELECTION]
        return bool(sources) and all(t.ok for t in sources)

    @property
    def memory_gain(self) -> float:
        """Day-2 source-selection success rate with memory minus without."""
        source = DecisionType.SOURCE_SELECTION.value
        return self.with_memory.rate(source) - self.without_memory.rate(source)


def run(
    cycles: int = 144,
    seed: int = 7,
    *,
    store: str = "sqlite",
    sqlite_path: str | Path = DEFAULT_SQLITE_PATH,
    endpoint_url: str | None = None,
) -> DemoResult:
    """Run the whole demo and return what it measured (printing is the caller's)."""
    if cycles < 1:
        raise ValueError(f"cycles must be at least 1, not {cycles}")
    started = time.perf_counter()
    clock = FakeClock()
    begin = clock()
    with _open_store(store, Path(sqlite_path), endpoint_url, clock) as (memory_store, location):
        memory = MemoryManager(AGENT_ID, store=memory_store, clock=clock)
        baseline = MemoryManager(BASELINE_AGENT_ID, store=memory_store, clock=clock)
        bandit = MemoryManager(THOMPSON_AGENT_ID, store=memory_store, clock=clock)

        _run_day(_agent(memory, seed, 1, "memory"), 1, cycles, clock)  # day 1: learn
        learned = consolidate(memory, learner=LEARNER)
        day1_patterns = memory.get_patterns(limit=1000)
        truth = check_truth(day1_patterns)
        recommendations = _recommendations(
            IntegratedMarketHunterAgent(memory, MarketSimulator(seed))
        )

        day2_start, first = clock(), cycles + 1
        _run_day(_agent(memory, seed, 2, "memory"), first, cycles, clock)
        clock.set(day2_start)  # the same simulated day again, for the agent without memory
        _run_day(_agent(baseline, seed, 2, "uniform"), first, cycles, clock)
        clock.set(begin)  # both days again, for the bandit (it learns online from day 1)
        thompson_agent = _agent(bandit, seed, 1, "thompson")
        _run_day(thompson_agent, 1, cycles, clock)
        _run_day(thompson_agent, first, cycles, clock)
        day2_learned = consolidate(memory, learner=LEARNER)
        cost = _cost_line(memory_store, 5 * cycles)  # before the reads that measure the days

        last = 2 * cycles
        day1 = read_day("day 1 (learning)", memory, 1, cycles)
        with_memory = read_day("day 2, with memory", memory, first, last)
        without = read_day("day 2, without memory", baseline, first, last)
        thompson = read_day("day 2, Thompson sampling", bandit, first, last)
        end = clock() + timedelta(microseconds=1)  # the window includes the last instant
        stats = memory.decision_stats(start=begin, end=end)
        baseline_stats = baseline.decision_stats(start=begin, end=end)
        last_source = memory.query_decisions(
            decision_type=DecisionType.SOURCE_SELECTION.value, limit=1
        ).items
        chain = memory.get_decision_chain(last_source[0].decision_id) if last_source else []
        patterns = memory.get_patterns(limit=1000)
        out_dir = Path(sqlite_path).parent if store == "sqlite" else DEFAULT_SQLITE_PATH.parent
        plots, plot_note = write_plots(memory, out_dir, begin, end)

        # STM vs LTM: a month on, the decisions are past their TTL; the patterns remain.
        clock.advance(days=31)
        expired = not memory.query_decisions(limit=1).items
        patterns_left = len(memory.get_patterns(limit=1000))

        result = DemoResult(
            seed=seed,
            cycles=cycles,
            store=store,
            location=location,
            day1=day1,
            consolidation=learned,
            truth=truth,
            with_memory=with_memory,
            without_memory=without,
            thompson=thompson,
            day2_consolidation=day2_learned,
            day1_patterns=day1_patterns,
            patterns=patterns,
            recommendations=recommendations,
            stats=stats,
            baseline_stats=baseline_stats,
            last_chain=chain,
            cost=cost,
            plots=plots,
            plot_note=plot_note,
            expired_after_ttl=expired,
            patterns_after_ttl=patterns_left,
        )
        for manager in (memory, baseline, bandit):
            manager.flush(timeout=30)
        memory.recorder.close(timeout=30)
    result.seconds = time.perf_counter() - started
    return result


def _agent(memory: MemoryManager, seed: int, day: int, policy: str) -> IntegratedMarketHunterAgent:
    # Agents of the same day share a policy seed: they see the same random stream.
    return IntegratedMarketHunterAgent(
        memory, MarketSimulator(seed), policy=policy, seed=seed * 100 + day
    )


def _run_day(agent: IntegratedMarketHunterAgent, first: int, cycles: int, clock: FakeClock) -> None:
    """One simulated day: decide, let the 10-minute candle close, log the outcomes."""
    for cycle in range(first, first + cycles):
        plan = agent.decide(cycle)
        clock.advance(seconds=CYCLE.total_seconds())
        agent.settle(plan)


def read_day(label: str, memory: MemoryManager, first: int, last: int) -> DayResult:
    """Success counts of the five decision points over cycles ``first..last``, from the store."""
    successes: dict[str, int] = {}
    decided: dict[str, int] = {}
    followed: dict[str, int] = {}
    for decision_type in DECISION_POINTS:
        for record in memory.iter_decisions(decision_type=decision_type):
            cycle = record.context.cycle
            if cycle is None or not first <= cycle <= last or record.outcome is None:
                continue
            decided[decision_type] = decided.get(decision_type, 0) + 1
            successes[decision_type] = successes.get(decision_type, 0) + record.outcome.success
            if record.reasoning.patterns_applied:
                followed[decision_type] = followed.get(decision_type, 0) + 1
    return DayResult(label, memory.agent_id, first, last, successes, decided, followed)


def check_truth(learned: list[MemoryPattern]) -> list[TruthCheck]:
    """For each regime, the most confident active success pattern against the truth."""
    patterns = [
        p
        for p in learned
        if p.pattern_type == "success" and len(p.recommendation.get("selected") or []) == 1
    ]
    checks: list[TruthCheck] = []
    regimes = [
        (DecisionType.SOURCE_SELECTION.value, "volatility", VOLATILITY_REGIMES),
        (DecisionType.STRATEGY_SELECTION.value, "trend", TREND_REGIMES),
    ]
    for decision_type, key, labels in regimes:
        for label in labels:
            expected = (
                MarketSimulator.best_source(label)
                if key == "volatility"
                else MarketSimulator.best_strategy(label)
            )
            found = [
                p
                for p in patterns
                if p.decision_type == decision_type and p.conditions.get(key) == label
            ]
            top = max(found, key=lambda p: (p.confidence, p.sample_size), default=None)
            checks.append(
                TruthCheck(
                    decision_type,
                    key,
                    label,
                    expected,
                    top.recommendation["selected"][0] if top else None,
                    top.confidence if top else None,
                    top.sample_size if top else None,
                )
            )
    return checks


def _recommendations(agent: IntegratedMarketHunterAgent) -> list[dict[str, Any]]:
    """What ``PatternRetriever`` makes the agent choose in each of the four regimes."""
    rows = []
    for volatility in VOLATILITY_REGIMES:
        for trend in TREND_REGIMES:
            market = {"volatility": volatility, "trend": trend}
            row: dict[str, Any] = {"volatility": volatility, "trend": trend}
            for decision_type, options in (
                (DecisionType.SOURCE_SELECTION.value, SOURCES),
                (DecisionType.STRATEGY_SELECTION.value, STRATEGIES),
            ):
                recall = agent.recall(decision_type, market, options)
                row[decision_type] = (recall.choice, recall.confidence)
            rows.append(row)
    return rows


# -- stores ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _open_store(
    kind: str, sqlite_path: Path, endpoint_url: str | None, clock: FakeClock
) -> Iterator[tuple[MemoryStore, str]]:
    if kind == "sqlite":
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in sqlite_path.parent.glob(sqlite_path.name + "*"):
            leftover.unlink()  # a fresh file each run (and its -wal / -shm)
        sqlite = SQLiteStore(str(sqlite_path), clock=clock)
        try:
            yield sqlite, str(sqlite_path)
        finally:
            sqlite.close()
    elif kind == "dynamodb":
        with _dynamodb_store(endpoint_url, clock) as found:
            yield found
    else:
        raise ValueError(f"store must be 'sqlite' or 'dynamodb', not {kind!r}")


@contextlib.contextmanager
def _dynamodb_store(
    endpoint_url: str | None, clock: FakeClock
) -> Iterator[tuple[MemoryStore, str]]:
    """Fresh tables (a prefix of their own) on ``endpoint_url``, or on moto in process;
    deleted afterwards. Never AWS itself unless ``endpoint_url`` says so."""
    try:
        from agentmem_langchain.stores.dynamodb import DynamoDBStore
    except ImportError as exc:
        raise SystemExit(
            "--store dynamodb needs boto3: pip install 'agentmem-langchain[dynamodb]'"
        ) from exc
    prefix = f"agentmem_demo_{uuid.uuid4().hex[:8]}_"
    mock: Any = None
    if endpoint_url:
        dynamo = DynamoDBStore(endpoint_url=endpoint_url, table_prefix=prefix, clock=clock)
        where = f"DynamoDB at {endpoint_url}, tables {prefix}*"
    else:
        try:
            from moto import mock_aws
        except ImportError as exc:
            raise SystemExit(
                "--store dynamodb without --endpoint-url runs on moto in process: "
                "pip install 'agentmem-langchain[cost]', or pass --endpoint-url"
            ) from exc
        mock = mock_aws()
        mock.start()
        dynamo = DynamoDBStore(region="us-east-1", table_prefix=prefix, clock=clock)
        where = f"DynamoDB on moto (in process), tables {prefix}*"
    try:
        dynamo.create_all_tables()
        yield dynamo, where
    finally:
        try:
            dynamo.client_manager.delete_all_tables()
        finally:
            dynamo.close()
            if mock is not None:
                mock.stop()


def _cost_line(store: MemoryStore, cycles: int) -> str:
    """A month of DynamoDB on-demand, projected from the units this run consumed."""
    usage_of = getattr(store, "usage", None)
    if usage_of is None:
        return (
            "cost: SQLite is a local file (no per-request cost); run with --store dynamodb "
            "to project a month of DynamoDB on-demand from measured units"
        )
    from agentmem_langchain.analytics.cost import project_monthly_cost

    estimate = project_monthly_cost(usage_of(), cycles=cycles, cycles_per_day=144)
    return (
        f"cost: {estimate.write_units_per_cycle:.1f} write and "
        f"{estimate.read_units_per_cycle:.1f} read units per cycle (the demo's {cycles} cycles "
        f"and both consolidations, as the server reported them) -> about "
        f"${estimate.total_usd:.2f} a month at 144 cycles a day on DynamoDB on-demand "
        "(storage not included)"
    )


def write_plots(
    memory: MemoryManager, out_dir: Path, start: datetime, end: datetime
) -> tuple[list[Path], str]:
    """Plots of both days (reliability of stated confidence, source-selection success over
    time, the patterns' effect) when matplotlib and ``agentmem_langchain.analytics`` are
    both there; otherwise none, and a note saying why."""
    if importlib.util.find_spec("matplotlib") is None:
        return [], "plots skipped: matplotlib is not installed"
    if importlib.util.find_spec("agentmem_langchain.analytics") is None:
        return [], "plots skipped: agentmem_langchain.analytics is not available"
    paths = {
        name: out_dir / f"market_hunter_{name}.png"
        for name in ("reliability", "source_success", "patterns")
    }
    try:
        from agentmem_langchain.analytics import Analytics

        analytics = Analytics(memory)
        analytics.plot_reliability(path=paths["reliability"], start=start, end=end)
        analytics.plot_success_over_time(
            timedelta(hours=2),
            path=paths["source_success"],
            start=start,
            end=end,
            decision_type=DecisionType.SOURCE_SELECTION.value,
        )
        analytics.plot_pattern_leaderboard(path=paths["patterns"], start=start, end=end)
    except Exception as exc:  # the analytics module is young: a failed plot is only a note
        return [p for p in paths.values() if p.exists()], f"plots: {type(exc).__name__}: {exc}"
    return list(paths.values()), ""
