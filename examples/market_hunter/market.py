"""A seeded synthetic BTC market with a hidden truth for the agent's memory to find.

Each 10-minute cycle the market is in a volatility regime (``high`` / ``low``) and a trend
regime (``trending`` / ``ranging``). Regimes come in blocks of several cycles, alternating,
so a day holds both of each. The agent sees the regime labels and the price; what it does
not see is the truth below, which decides how its choices turn out:

* data source reliability: ``coinglass`` is right 80% of the time in high volatility and
  40% in low; ``cryptoquant`` the reverse;
* strategy fit: ``momentum`` profits 75% of the time in trending markets and 35% in ranging
  ones; ``mean_reversion`` 35% and 70%.

Everything random about a cycle is drawn once from an RNG seeded with ``(seed, cycle)``, so
the same seed gives the same market whatever the agent chooses (common random numbers): two
agents run on one seed differ only by their choices.

>>> market = MarketSimulator(seed=7)
>>> market.observe(1) == MarketSimulator(seed=7).observe(1)
True
>>> MarketSimulator.best_source("high"), MarketSimulator.best_strategy("ranging")
('coinglass', 'mean_reversion')
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from typing import Any

VOLATILITY_REGIMES = ("high", "low")
TREND_REGIMES = ("trending", "ranging")

#: P(the source's data is right) by volatility regime: the truth for source selection.
SOURCE_RELIABILITY: dict[str, dict[str, float]] = {
    "coinglass": {"high": 0.8, "low": 0.4},
    "cryptoquant": {"high": 0.4, "low": 0.8},
}
#: P(the strategy's trade profits) by trend regime: the truth for strategy selection.
STRATEGY_FIT: dict[str, dict[str, float]] = {
    "momentum": {"trending": 0.75, "ranging": 0.35},
    "mean_reversion": {"trending": 0.35, "ranging": 0.7},
}
#: P(no stop-loss hit) by volatility regime and the risk level the agent assessed.
RISK_SURVIVAL: dict[str, dict[str, float]] = {
    "high": {"high": 0.85, "medium": 0.6, "low": 0.45},
    "low": {"high": 0.9, "medium": 0.88, "low": 0.85},
}
SOURCE_LATENCY_MS = {"coinglass": 180.0, "cryptoquant": 240.0}
QUERY_COST = {"funding_rates": 1.0, "open_interest": 1.15}
#: A query slower than this failed (the cycle moved on without it).
QUERY_BUDGET_MS = 400.0
_SIGMA = {"high": 0.006, "low": 0.002}  # size of a 10-minute move, by volatility


@dataclass(frozen=True)
class Regime:
    """The market's state in one cycle; ``direction`` (+1/-1) matters when trending."""

    volatility: str
    trend: str
    direction: int


@dataclass(frozen=True)
class Outcome:
    """How one decision turned out, ready for ``DecisionLogger.log_outcome``."""

    success: bool
    quality_score: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Draws:
    """A cycle's randomness, drawn once (uniforms in [0, 1))."""

    data: float
    noise: float
    move: float
    size: float
    strength: float
    latency: float
    risk: float
    trade: float


class MarketSimulator:
    """The market of one seed; cycles count from 1 and run on for as many days as asked."""

    def __init__(self, seed: int, *, start_price: float = 45_000.0) -> None:
        self.seed = seed
        self._volatility = _Blocks(random.Random(f"{seed}:volatility"), VOLATILITY_REGIMES, 6, 18)
        self._trend = _Blocks(random.Random(f"{seed}:trend"), TREND_REGIMES, 8, 24)
        self._direction_rng = random.Random(f"{seed}:direction")
        self._directions: list[int] = []
        self._prices = [start_price]
        self._draws: dict[int, _Draws] = {}

    # -- what the agent sees ----------------------------------------------------------------

    def regime(self, cycle: int) -> Regime:
        """The regime of ``cycle`` (1-based)."""
        trend_block = self._trend.block_of(cycle)
        while len(self._directions) <= trend_block:
            self._directions.append(self._direction_rng.choice((1, -1)))
        return Regime(
            self._volatility.label(cycle), self._trend.label(cycle), self._directions[trend_block]
        )

    def observe(self, cycle: int) -> dict[str, Any]:
        """The market data of the cycle's start: price and regime labels."""
        regime = self.regime(cycle)
        return {
            "btc_price": round(self.price(cycle), 2),
            "volatility": regime.volatility,
            "trend": regime.trend,
        }

    def price(self, cycle: int) -> float:
        """BTC's price at the start of ``cycle``."""
        while len(self._prices) < cycle:
            done = len(self._prices)  # cycle ``done`` has a price; its move gives the next
            regime, draws = self.regime(done), self._draw(done)
            step = _SIGMA[regime.volatility] * (0.25 + 1.5 * draws.size)
            sign = 1 if self._moves_up(done) else -1
            self._prices.append(self._prices[-1] * (1 + sign * step))
        return self._prices[cycle - 1]

    def fetch(self, source: str, query: str, cycle: int) -> dict[str, Any]:
        """What ``source`` answers to ``query`` this cycle: a bias, its strength, the latency.

        A reliable answer's bias is the move the market is about to make; an unreliable
        one's is a coin flip. Nothing in the answer says which it is.
        """
        draws = self._draw(cycle)
        if self._reliable(source, cycle):
            bias = "up" if self._moves_up(cycle) else "down"
        else:
            bias = "up" if draws.noise < 0.5 else "down"
        latency = SOURCE_LATENCY_MS[source] * QUERY_COST[query] * (0.6 + 1.2 * draws.latency)
        return {
            "source": source,
            "query": query,
            "bias": bias,
            "strength": round(0.3 + 0.6 * draws.strength, 3),
            "latency_ms": round(latency, 1),
            "rows": 12,
        }

    # -- how choices turn out (known once the cycle's candle has closed) ---------------------

    def source_outcome(self, cycle: int, source: str) -> Outcome:
        """Success when the source's data was right about the move."""
        draws = self._draw(cycle)
        if self._reliable(source, cycle):
            return Outcome(True, quality_score=round(0.7 + 0.3 * draws.noise, 3))
        return Outcome(
            False,
            quality_score=round(0.1 + 0.3 * draws.noise, 3),
            error=f"{source} data contradicted the next candle",
        )

    def query_outcome(self, cycle: int, source: str, query: str) -> Outcome:
        """Success when the query answered within :data:`QUERY_BUDGET_MS`."""
        latency = float(self.fetch(source, query, cycle)["latency_ms"])
        if latency <= QUERY_BUDGET_MS:
            return Outcome(True, latency_ms=latency)
        return Outcome(False, latency_ms=latency, error=f"over the {QUERY_BUDGET_MS:.0f} ms budget")

    def signal_outcome(self, cycle: int, signal: str) -> Outcome:
        """Success when the signal's side matches the move."""
        move = "up" if self._moves_up(cycle) else "down"
        success = (signal == "long") == (move == "up")
        return Outcome(
            success, error=None if success else f"market moved {move}", details={"move": move}
        )

    def risk_outcome(self, cycle: int, risk_level: str) -> Outcome:
        """Success when the position sized for ``risk_level`` was not stopped out."""
        survival = RISK_SURVIVAL[self.regime(cycle).volatility][risk_level]
        success = self._draw(cycle).risk < survival
        return Outcome(success, error=None if success else "stop-loss hit")

    def strategy_outcome(self, cycle: int, strategy: str) -> Outcome:
        """Success when the strategy's trade was profitable."""
        draws = self._draw(cycle)
        success = draws.trade < STRATEGY_FIT[strategy][self.regime(cycle).trend]
        pnl = round((0.4 + draws.size) * (1 if success else -0.8), 3)
        return Outcome(success, quality_score=1.0 if success else 0.0, details={"pnl_pct": pnl})

    # -- the truth --------------------------------------------------------------------------

    @staticmethod
    def best_source(volatility: str) -> str:
        """The most reliable data source in a volatility regime."""
        return max(SOURCE_RELIABILITY, key=lambda s: SOURCE_RELIABILITY[s][volatility])

    @staticmethod
    def best_strategy(trend: str) -> str:
        """The most profitable strategy in a trend regime."""
        return max(STRATEGY_FIT, key=lambda s: STRATEGY_FIT[s][trend])

    # -- internals --------------------------------------------------------------------------

    def _draw(self, cycle: int) -> _Draws:
        found = self._draws.get(cycle)
        if found is None:
            rng = random.Random(f"{self.seed}:cycle:{cycle}")
            found = _Draws(*(rng.random() for _ in range(8)))
            self._draws[cycle] = found
        return found

    def _reliable(self, source: str, cycle: int) -> bool:
        volatility = self.regime(cycle).volatility
        return self._draw(cycle).data < SOURCE_RELIABILITY[source][volatility]

    def _moves_up(self, cycle: int) -> bool:
        regime = self.regime(cycle)
        p_up = 0.5 + (0.2 * regime.direction if regime.trend == "trending" else 0.0)
        return self._draw(cycle).move < p_up


class _Blocks:
    """Alternating labels in blocks of ``shortest``..``longest`` cycles, made as needed."""

    def __init__(self, rng: random.Random, labels: tuple[str, str], shortest: int, longest: int):
        self._rng, self._labels = rng, labels
        self._shortest, self._longest = shortest, longest
        self._first = rng.randrange(2)
        self._ends: list[int] = []  # the last cycle of each block

    def block_of(self, cycle: int) -> int:
        while not self._ends or self._ends[-1] < cycle:
            start = self._ends[-1] if self._ends else 0
            self._ends.append(start + self._rng.randint(self._shortest, self._longest))
        return bisect.bisect_left(self._ends, cycle)

    def label(self, cycle: int) -> str:
        return self._labels[(self._first + self.block_of(cycle)) % 2]
