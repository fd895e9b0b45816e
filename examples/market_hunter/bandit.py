"""A plain Thompson-sampling bandit, the yardstick the market hunter's memory is measured by.

One Beta(1, 1) prior per (decision type, regime, option); each choice draws once from every
option's posterior and takes the highest draw; each outcome adds one success or failure.
Written independently of the library: it keeps its own counts in memory and reads nothing
from the store.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence


class ThompsonSampler:
    """Beta-Bernoulli Thompson sampling per (decision type, regime)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._counts: dict[tuple[str, str, str], list[int]] = {}

    @staticmethod
    def regime(conditions: Mapping[str, str]) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(conditions.items()))

    def choose(
        self, decision_type: str, conditions: Mapping[str, str], options: Sequence[str]
    ) -> str:
        """The option with the highest draw from its Beta posterior."""
        regime = self.regime(conditions)
        draws = {}
        for option in options:
            wins, losses = self._counts.get((decision_type, regime, option), (0, 0))
            draws[option] = self._rng.betavariate(1 + wins, 1 + losses)
        return max(options, key=lambda option: draws[option])

    def update(
        self, decision_type: str, conditions: Mapping[str, str], option: str, success: bool
    ) -> None:
        """Count one outcome of ``option``."""
        key = (decision_type, self.regime(conditions), option)
        counts = self._counts.setdefault(key, [0, 0])
        counts[0 if success else 1] += 1
