"""Pattern statistics: the Wilson score bound, exponential decay and running tallies.

**Confidence** is the lower bound of the 95% Wilson score interval of a success rate. With
``n`` trials, ``k`` successes, ``p = k / n`` and ``z = 1.959964`` (the 97.5% normal
quantile)::

    lower = (p + z²/(2n) - z * sqrt(p(1 - p)/n + z²/(4n²))) / (1 + z²/n)

Unlike ``p`` itself it is honest about small samples: 5 of 5 gives 0.57, 50 of 50 gives
0.93, 42 of 50 gives 0.71. ``n`` may be fractional (decayed evidence); ``n = 0`` gives 0.

**Decay**: evidence of age ``t`` counts ``0.5 ** (t / half_life)``. Tallies are decayed as a
whole relative to the time they were last brought up to date, which gives the same result
however often that happens (``f(a) * f(b) == f(a + b)``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..models import DecisionOutcome, MemoryPattern

#: The 97.5% quantile of the standard normal distribution (two-sided 95% interval).
Z_95 = 1.959963984540054


def wilson_lower_bound(successes: float, n: float, z: float = Z_95) -> float:
    """Lower bound of the Wilson score interval for ``successes`` out of ``n``.

    >>> round(wilson_lower_bound(42, 50), 4)
    0.7149
    """
    if n <= 0:
        return 0.0
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, min(1.0, (centre - margin) / (1 + z2 / n)))


def wilson_upper_bound(successes: float, n: float, z: float = Z_95) -> float:
    """Upper bound of the Wilson score interval (1.0 for ``n = 0``).

    >>> round(wilson_upper_bound(42, 50), 4)
    0.9166
    """
    if n <= 0:
        return 1.0
    return 1.0 - wilson_lower_bound(max(n - successes, 0.0), n, z)


def beta_mean_sd(successes: float, n: float) -> tuple[float, float]:
    """Mean and standard deviation of the Beta(1 + successes, 1 + n - successes) posterior
    (a uniform prior): the expected success rate and its uncertainty.

    >>> tuple(round(v, 3) for v in beta_mean_sd(5, 5))
    (0.857, 0.124)
    """
    a, b = 1.0 + max(successes, 0.0), 1.0 + max(n - successes, 0.0)
    total = a + b
    return a / total, (a * b / (total * total * (total + 1.0))) ** 0.5


def rank_score(pattern: MemoryPattern) -> float:
    """How much a pattern helps a decision: the expected rate of what it states (success
    for a success pattern, failure for an avoid pattern) minus one standard deviation of
    it, from the Beta posterior of its counts (:func:`beta_mean_sd`).

    Unlike the Wilson lower bound alone it does not bury a strong pattern with few outcomes
    under a middling one with many: 5 of 5 scores 0.73, 42 of 50 scores 0.77, 30 of 50
    scores 0.53. A pattern without counts (written by hand) scores its ``confidence``.
    """
    n = float(pattern.sample_size)
    if n <= 0:
        return pattern.confidence
    hits = float(min(pattern.success_count, pattern.sample_size))
    if pattern.pattern_type == "avoid":
        hits = n - hits
    mean, sd = beta_mean_sd(hits, n)
    return mean - sd


def decay_factor(elapsed: timedelta, half_life: timedelta | None) -> float:
    """``0.5 ** (elapsed / half_life)``; 1.0 without a half-life or for non-positive ages."""
    if half_life is None or elapsed <= timedelta(0):
        return 1.0
    return float(0.5 ** (elapsed / half_life))


@dataclass(frozen=True)
class Tally:
    """Running (possibly decayed) sums for one group of decisions."""

    n: float = 0.0
    successes: float = 0.0
    quality_n: float = 0.0
    quality_sum: float = 0.0
    latency_n: float = 0.0
    latency_sum: float = 0.0

    def add(self, outcome: DecisionOutcome) -> Tally:
        """This tally plus one decided outcome."""
        q, lat = outcome.quality_score, outcome.latency_ms
        return Tally(
            n=self.n + 1,
            successes=self.successes + (1 if outcome.success else 0),
            quality_n=self.quality_n + (q is not None),
            quality_sum=self.quality_sum + (q or 0.0),
            latency_n=self.latency_n + (lat is not None),
            latency_sum=self.latency_sum + (lat or 0.0),
        )

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def scaled(self, factor: float) -> Tally:
        """Every sum multiplied by ``factor`` (decay)."""
        if factor == 1.0:
            return self
        return Tally(*(value * factor for value in self.as_tuple()))

    def as_tuple(self) -> tuple[float, ...]:
        return (
            self.n,
            self.successes,
            self.quality_n,
            self.quality_sum,
            self.latency_n,
            self.latency_sum,
        )

    @property
    def success_rate(self) -> float:
        return min(1.0, self.successes / self.n) if self.n > 0 else 0.0

    @property
    def mean_quality(self) -> float | None:
        return min(1.0, self.quality_sum / self.quality_n) if self.quality_n > 0 else None

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_sum / self.latency_n if self.latency_n > 0 else None


@dataclass(frozen=True)
class LearnerState:
    """What the learner keeps in a pattern between runs: the exact tally and its date.

    ``observed`` counts every decision ever added (not decayed); ``insight`` is the
    summarizer's text, if any. ``epoch`` counts the changes detected (each restarted the
    tally from the evidence that contradicted it) and ``epoch_observed`` the real outcomes
    counted since the last one (None: since the start, ``observed``).
    """

    tally: Tally
    as_of: datetime
    observed: int = 0
    insight: str | None = None
    epoch: int = 0
    epoch_observed: int | None = None

    @property
    def outcomes(self) -> int:
        """Real (not decayed) outcomes counted in the current epoch."""
        return self.observed if self.epoch_observed is None else self.epoch_observed

    def decayed(self, now: datetime, half_life: timedelta | None) -> LearnerState:
        """The state brought forward to ``now``."""
        factor = decay_factor(now - self.as_of, half_life)
        return replace(self, tally=self.tally.scaled(factor), as_of=max(now, self.as_of))

    def to_json(self) -> dict[str, Any]:
        return {
            "tally": asdict(self.tally),
            "as_of": self.as_of.isoformat(),
            "observed": self.observed,
            "insight": self.insight,
            "epoch": self.epoch,
            "epoch_observed": self.epoch_observed,
        }

    @classmethod
    def from_json(cls, data: Any) -> LearnerState | None:
        """The state, or None if ``data`` is not one (a pattern the learner does not own)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                tally=Tally(**{k: float(v) for k, v in data["tally"].items()}),
                as_of=datetime.fromisoformat(data["as_of"]),
                observed=int(data.get("observed", 0)),
                insight=data.get("insight"),
                epoch=int(data.get("epoch") or 0),
                epoch_observed=(
                    None if data.get("epoch_observed") is None else int(data["epoch_observed"])
                ),
            )
        except (KeyError, TypeError, ValueError):
            return None


__all__ = [
    "Z_95",
    "LearnerState",
    "Tally",
    "beta_mean_sd",
    "decay_factor",
    "rank_score",
    "wilson_lower_bound",
    "wilson_upper_bound",
]
