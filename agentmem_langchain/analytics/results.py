"""What the analytics report: frozen result dataclasses and the confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ..learning.stats import Z_95, wilson_lower_bound

if TYPE_CHECKING:
    from pandas import DataFrame

#: The most buckets ``success_over_time`` makes (a year in one-second buckets is a mistake).
MAX_BUCKETS = 10_000


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n`` (:mod:`agentmem_langchain.learning.stats`);
    its upper bound is one minus the lower bound of the failures: ``u(k, n) = 1 - l(n - k, n)``.
    """
    return wilson_lower_bound(successes, n, z), 1.0 - wilson_lower_bound(n - successes, n, z)


def newcombe_interval(
    k1: int, n1: int, k2: int, n2: int, z: float = Z_95
) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for ``p1 - p2`` (method 10 of Newcombe, 1998, built
    from the Wilson intervals ``(l1, u1)`` of ``p1 = k1/n1`` and ``(l2, u2)`` of ``p2 = k2/n2``)::

        lower = (p1 - p2) - sqrt((p1 - l1)² + (u2 - p2)²)
        upper = (p1 - p2) + sqrt((u1 - p1)² + (p2 - l2)²)

    Unlike the Wald interval it stays within [-1, 1] and keeps its coverage for small groups
    and rates near 0 or 1. 56/70 against 48/80 gives (0.0524, 0.3339). None if a group is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    return p1 - p2 - math.hypot(p1 - l1, u2 - p2), p1 - p2 + math.hypot(u1 - p1, p2 - l2)


# -- results --------------------------------------------------------------------------------


class _Result:
    #: (field holding the rows, row type) for a table; None: the result itself is one row.
    _table: ClassVar[tuple[str, type[Any]] | None] = None

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts and lists (datetimes and timedeltas kept as they are)."""
        return cast(dict[str, Any], _plain(self))

    def to_dataframe(self) -> DataFrame:
        """One row per type, bucket, bin, pattern or agent (one row in all for a summary)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "to_dataframe() needs pandas: pip install 'agentmem-langchain[pandas]'"
            ) from exc
        row_type: type[Any] = type(self)
        rows: Sequence[Any] = [self]
        if self._table is not None:
            row_type, rows = self._table[1], getattr(self, self._table[0])
        columns = [f.name for f in fields(row_type)]
        return pd.DataFrame.from_records([_plain(row) for row in rows], columns=columns)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


def _rate(successes: int, decided: int) -> float | None:
    return successes / decided if decided else None


@dataclass(frozen=True)
class TypeSuccess:
    """One decision type's outcomes; ``success_rate = successes / (successes + failures)``."""

    decision_type: str
    total: int
    successes: int
    failures: int
    pending: int
    success_rate: float | None


@dataclass(frozen=True)
class SuccessByType(_Result):
    """``Analytics.success_by_type``: one entry per decision type, by name."""

    _table = ("types", TypeSuccess)
    types: tuple[TypeSuccess, ...]


@dataclass(frozen=True)
class TimeBucket:
    """Decisions with ``start <= timestamp < end`` (the last bucket of a window "up to now"
    also holds what happened at ``end``)."""

    start: datetime
    end: datetime
    total: int
    successes: int
    failures: int
    success_rate: float | None


@dataclass(frozen=True)
class SuccessOverTime(_Result):
    """``Analytics.success_over_time``: every bucket of the window, empty ones included."""

    _table = ("buckets", TimeBucket)
    bucket: timedelta
    buckets: tuple[TimeBucket, ...]


@dataclass(frozen=True)
class LatencySummary(_Result):
    """Outcome latencies in milliseconds; percentiles by nearest rank, as the stores' stats."""

    count: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class CalibrationBin:
    """Decisions with ``lower <= confidence < upper`` (the last bin includes 1.0)."""

    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    success_rate: float | None


@dataclass(frozen=True)
class Calibration(_Result):
    """``Analytics.calibration`` over the ``count`` (N) decided decisions that stated a
    confidence ``c_i``, with outcome ``o_i`` (1 success, 0 failure), bin ``b`` holding
    ``n_b`` of them::

        expected_calibration_error = sum_b (n_b / N) * |success_rate_b - mean_confidence_b|
        brier_score = (1 / N) * sum_i (c_i - o_i)²

    0 is perfect for both; always saying 0.5 scores a Brier of 0.25. None when ``N == 0``.
    ``to_dataframe()`` has one row per bin.
    """

    _table = ("bins", CalibrationBin)
    bins: tuple[CalibrationBin, ...]
    expected_calibration_error: float | None
    brier_score: float | None
    count: int


@dataclass(frozen=True)
class PatternEffect:
    """Decided decisions that applied ``pattern_id`` against the comparable ones that did not
    (same ``decision_types``, same window): ``difference = with_rate - without_rate`` and its
    95% interval ``(ci_lower, ci_upper)`` (:func:`newcombe_interval`)."""

    pattern_id: str
    decision_types: tuple[str, ...]
    with_n: int
    with_successes: int
    with_rate: float | None
    without_n: int
    without_successes: int
    without_rate: float | None
    difference: float | None
    ci_lower: float | None
    ci_upper: float | None


@dataclass(frozen=True)
class PatternEffectiveness(_Result):
    """``Analytics.pattern_effectiveness``: largest difference first, undefined ones last."""

    _table = ("patterns", PatternEffect)
    patterns: tuple[PatternEffect, ...]


@dataclass(frozen=True)
class AgentSummary:
    """One agent of ``Analytics.compare_agents``: ``avg_confidence`` over every decision that
    stated one, ``expected_calibration_error`` as in :class:`Calibration`."""

    agent_id: str
    total: int
    success_rate: float | None
    avg_confidence: float | None
    expected_calibration_error: float | None
    latency_p50_ms: float | None


@dataclass(frozen=True)
class AgentComparison(_Result):
    """``Analytics.compare_agents``: one summary per agent, in the order asked."""

    _table = ("agents", AgentSummary)
    agents: tuple[AgentSummary, ...]


__all__ = [
    "MAX_BUCKETS",
    "AgentComparison",
    "AgentSummary",
    "Calibration",
    "CalibrationBin",
    "LatencySummary",
    "PatternEffect",
    "PatternEffectiveness",
    "SuccessByType",
    "SuccessOverTime",
    "TimeBucket",
    "TypeSuccess",
    "newcombe_interval",
    "wilson_interval",
]
