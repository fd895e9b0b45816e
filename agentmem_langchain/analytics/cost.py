"""What an agent costs on DynamoDB on-demand, projected from capacity units a server reported.

>>> usage = measure_cycles(store, cycles=10)           # doctest: +SKIP
>>> estimate = project_monthly_cost(usage, cycles=10, cycles_per_day=144)  # doctest: +SKIP
>>> print(f"${estimate.total_usd:.2f} a month")        # doctest: +SKIP

A *cycle* is one pass of a market-hunter agent (``examples.market_hunter``): the five
decision points (source selection, query execution, signal generation, risk assessment,
strategy selection), linked as a chain, each with its outcome; a state save; a signal
published to a peer; a read of the agent's pending signals; and the 24 h
``get_decision_stats`` a dashboard would show.
:func:`measure_cycles` runs that workload against a real ``DynamoDBStore`` (dynalite, moto or
DynamoDB itself) and returns the units it consumed; :func:`project_monthly_cost` turns them
into a month. Storage is projected from the measured size of what a cycle leaves behind, kept
for the decision TTL (30 days by default).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..decision_logger import DecisionLogger
    from ..stores.dynamodb import DynamoDBStore
    from ..stores.dynamodb.client import Usage

#: The date the default prices were read from the DynamoDB pricing page.
PRICES_AS_OF = "2024-11-01"


@dataclass(frozen=True)
class Prices:
    """On-demand DynamoDB prices in USD: us-east-1, Standard table class, as of
    :data:`PRICES_AS_OF` (write request units $0.625 and read request units $0.125 per
    million; storage $0.25 per GB-month). Pass your region's prices to override them."""

    write_per_million: float = 0.625
    read_per_million: float = 0.125
    storage_per_gb_month: float = 0.25

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite price >= 0, not {value!r}")


@dataclass(frozen=True)
class CostEstimate:
    """A month (30 days) of one agent at ``cycles_per_day``, from measured units."""

    cycles_per_day: float
    read_units_per_cycle: float
    write_units_per_cycle: float
    monthly_read_units: float
    monthly_write_units: float
    storage_gb: float
    read_usd: float
    write_usd: float
    storage_usd: float
    prices: Prices = field(default_factory=Prices)

    @property
    def total_usd(self) -> float:
        return self.read_usd + self.write_usd + self.storage_usd

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_usd": self.total_usd, "prices_as_of": PRICES_AS_OF}


def project_monthly_cost(
    usage: Usage,
    *,
    cycles: int,
    cycles_per_day: float = 144,
    stored_bytes_per_cycle: float = 0.0,
    retention_days: float = 30,
    prices: Prices | None = None,
) -> CostEstimate:
    """Scale ``usage`` (consumed by ``cycles`` cycles) to 30 days at ``cycles_per_day``.

    Write units are counted as DynamoDB bills them, index writes included. Storage is the
    bytes a cycle leaves behind times the cycles alive within ``retention_days``.
    """
    if cycles < 1:
        raise ValueError(f"cycles must be >= 1, not {cycles!r}")
    if not (math.isfinite(cycles_per_day) and cycles_per_day > 0):
        raise ValueError(f"cycles_per_day must be > 0, not {cycles_per_day!r}")
    prices = prices or Prices()
    reads, writes = usage.read_units / cycles, usage.write_units / cycles
    monthly_reads, monthly_writes = reads * cycles_per_day * 30, writes * cycles_per_day * 30
    storage_gb = stored_bytes_per_cycle * cycles_per_day * min(retention_days, 30) / 1e9
    return CostEstimate(
        cycles_per_day=cycles_per_day,
        read_units_per_cycle=reads,
        write_units_per_cycle=writes,
        monthly_read_units=monthly_reads,
        monthly_write_units=monthly_writes,
        storage_gb=storage_gb,
        read_usd=monthly_reads / 1e6 * prices.read_per_million,
        write_usd=monthly_writes / 1e6 * prices.write_per_million,
        storage_usd=storage_gb * prices.storage_per_gb_month,
        prices=prices,
    )


@dataclass(frozen=True)
class Measurement:
    """Units consumed by ``cycles`` cycles, and the bytes each cycle left in the tables."""

    usage: Usage
    cycles: int
    stored_bytes_per_cycle: float


def measure_cycles(
    store: DynamoDBStore, *, cycles: int = 10, agent_id: str = "cost-probe-agent"
) -> Measurement:
    """Run ``cycles`` agent cycles against ``store`` and return what they consumed.

    The store's usage counters are reset first; the decisions written stay in its tables.
    """
    from ..decision_logger import DecisionLogger
    from ..memory import MemoryManager
    from ..stores.dynamodb import schema

    if cycles < 1:
        raise ValueError(f"cycles must be >= 1, not {cycles!r}")
    memory = MemoryManager(agent_id, store=store)
    logger = DecisionLogger(memory)
    store.reset_usage()
    ids = [decision_id for cycle in range(cycles) for decision_id in _one_cycle(logger, cycle)]
    usage = store.usage()  # taken before the size reads below, which are not part of a cycle
    stored = 0
    for decision_id in ids:
        record = store.get_decision(agent_id, decision_id)
        if record is not None:
            stored += schema.item_size(schema.decision_item(record))
    return Measurement(usage=usage, cycles=cycles, stored_bytes_per_cycle=stored / cycles)


def _one_cycle(logger: DecisionLogger, cycle: int) -> list[str]:
    memory = logger.memory
    market = {"btc_price": 45_000.0 + cycle, "volatility": "high" if cycle % 2 else "low"}
    context = {"market": market, "cycle": cycle}
    source = logger.log_source_selection(
        sources=["coinglass", "cryptoquant", "glassnode"],
        scores={"coinglass": 0.95, "cryptoquant": 0.88, "glassnode": 0.61},
        selected=["coinglass", "cryptoquant"],
        context=context,
        confidence=0.92,
    )
    query = logger.log_query_execution(
        query="funding_rates", source="coinglass", context=context, parent_decision_id=source
    )
    signal = logger.log_signal_generation(
        signal="long", indicators={"funding": 0.01, "oi_change": 0.04}, strength=0.7,
        context=context, parent_decision_id=query,
    )  # fmt: skip
    risk = logger.log_risk_assessment(
        risk_level="medium", risk_score=0.4, factors={"leverage": 0.3}, context=context,
        parent_decision_id=signal,
    )  # fmt: skip
    strategy = logger.log_strategy_selection(
        strategies=["momentum", "mean_reversion"], scores={"momentum": 0.8, "mean_reversion": 0.4},
        selected="momentum", context=context, parent_decision_id=risk,
    )  # fmt: skip
    ids = [source, query, signal, risk, strategy]
    for decision_id in ids:
        logger.log_outcome(decision_id, success=True, quality_score=0.9, latency_ms=120.0)
    memory.save_state(config={"cycle": cycle}, metrics={"decisions": 5 * (cycle + 1)})
    memory.publish_signal("market_signal", {"asset": "BTC", "side": "long"}, targets=["peer"])
    memory.get_pending_signals()
    logger.get_decision_stats(time_window_hours=24)
    return ids


__all__ = [
    "PRICES_AS_OF",
    "CostEstimate",
    "Measurement",
    "Prices",
    "measure_cycles",
    "project_monthly_cost",
]
