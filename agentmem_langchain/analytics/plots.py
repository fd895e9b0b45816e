"""Figures of :mod:`agentmem_langchain.analytics` results (matplotlib, the ``plots`` extra).

Each figure is a ``matplotlib.figure.Figure`` on an Agg canvas, made without pyplot: it needs no
display, leaves the user's backend alone and is not kept in pyplot's registry (no leak when
plotting in a loop). In Jupyter it shows inline as any figure does; ``path=`` also saves a PNG.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ValidationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .results import Calibration, PatternEffectiveness, SuccessOverTime

_INSTALL = "pip install 'agentmem-langchain[plots]'"


def new_figure(width: float, height: float) -> Figure:
    """An empty figure on an Agg canvas; ``ImportError`` naming the extra without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"plots need matplotlib: {_INSTALL}") from exc
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def saved(figure: Figure, path: str | PathLike[str] | None) -> Figure:
    """``figure``, written as a PNG to ``path`` first when one is given."""
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
    return figure


def reliability_figure(result: Calibration) -> Figure:
    """Success rate against mean confidence per bin, over the diagonal of perfect calibration,
    with the number of decisions per bin below."""
    figure = new_figure(6, 6)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    observed = [
        (b.mean_confidence, b.success_rate)
        for b in result.bins
        if b.mean_confidence is not None and b.success_rate is not None
    ]
    top.plot([x for x, _ in observed], [y for _, y in observed], marker="o", label="observed")
    ece, brier = result.expected_calibration_error, result.brier_score
    top.set_title(
        f"Reliability (n={result.count}, ECE={ece:.3f}, Brier={brier:.3f})"
        if ece is not None and brier is not None
        else "Reliability (no decided decisions with a confidence)"
    )
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="success rate")
    top.legend(loc="upper left")
    bottom.bar(
        [b.lower for b in result.bins],
        [b.count for b in result.bins],
        width=[b.upper - b.lower for b in result.bins],
        align="edge",
        edgecolor="white",
    )
    bottom.set(xlabel="stated confidence", ylabel="decisions")
    return figure


def success_over_time_figure(result: SuccessOverTime) -> Figure:
    """Decisions per bucket as bars, the success rate of the decided ones as a line."""
    figure = new_figure(9, 4)
    import numpy as np  # a dependency of matplotlib; its datetime64 plots on a date axis

    def utc(moments: list[datetime]) -> Any:
        naive = [m.astimezone(timezone.utc).replace(tzinfo=None) for m in moments]
        return np.array(naive, dtype="datetime64[us]")

    buckets = result.buckets
    counts = figure.subplots()
    counts.bar(
        utc([b.start for b in buckets]),
        [b.total for b in buckets],
        width=np.array([b.end - b.start for b in buckets], dtype="timedelta64[us]"),
        align="edge",
        alpha=0.3,
    )
    counts.set(xlabel="time (UTC)", ylabel="decisions")
    rated = [b for b in buckets if b.success_rate is not None]
    rates = counts.twinx()
    rates.plot(
        utc([b.start + (b.end - b.start) / 2 for b in rated]),
        [b.success_rate or 0.0 for b in rated],
        marker="o",
        color="tab:green",
    )
    rates.set(ylim=(0, 1.05), ylabel="success rate")
    counts.set_title(f"Success over time (buckets of {result.bucket})")
    figure.autofmt_xdate()
    return figure


def pattern_leaderboard_figure(result: PatternEffectiveness, limit: int) -> Figure:
    """The ``limit`` patterns with the largest difference, best on top, each with its 95%
    interval; a bar right of zero means decisions that applied it succeeded more often."""
    shown = [p for p in result.patterns if p.difference is not None][:limit]
    figure = new_figure(8, 1.5 + 0.4 * max(len(shown), 1))
    axes = figure.subplots()
    positions = list(range(len(shown)))[::-1]
    differences = [p.difference or 0.0 for p in shown]
    errors = [
        [d - (p.ci_lower or 0.0) for d, p in zip(differences, shown, strict=True)],
        [(p.ci_upper or 0.0) - d for d, p in zip(differences, shown, strict=True)],
    ]
    axes.barh(positions, differences, xerr=errors, capsize=3, color="tab:blue")
    axes.set_yticks(positions, [f"{p.pattern_id} (n={p.with_n})" for p in shown])
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set(xlim=(-1, 1), xlabel="success rate with pattern - without (95% Newcombe interval)")
    axes.set_title("Pattern leaderboard" if shown else "Pattern leaderboard (no decided patterns)")
    return figure


class _Results(Protocol):
    """What the plotting methods need of ``Analytics``."""

    def calibration(
        self,
        bins: int = 10,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> Calibration: ...

    def success_over_time(
        self,
        bucket: timedelta = timedelta(hours=1),
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> SuccessOverTime: ...

    def pattern_effectiveness(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> PatternEffectiveness: ...


class AnalyticsPlots:
    """The ``plot_*`` methods of ``Analytics``: same window arguments, plus ``path``."""

    def plot_reliability(
        self: _Results,
        bins: int = 10,
        *,
        path: str | PathLike[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> Figure:
        """The reliability diagram of ``calibration(bins, ...)``."""
        result = self.calibration(
            bins, start=start, end=end, hours=hours, decision_type=decision_type
        )
        return saved(reliability_figure(result), path)

    def plot_success_over_time(
        self: _Results,
        bucket: timedelta = timedelta(hours=1),
        *,
        path: str | PathLike[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> Figure:
        """``success_over_time(bucket, ...)`` as bars of totals and a line of success rates."""
        result = self.success_over_time(
            bucket, start=start, end=end, hours=hours, decision_type=decision_type
        )
        return saved(success_over_time_figure(result), path)

    def plot_pattern_leaderboard(
        self: _Results,
        limit: int = 20,
        *,
        path: str | PathLike[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> Figure:
        """The ``limit`` best patterns of ``pattern_effectiveness(...)`` with their intervals."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit: must be an integer >= 1 (got {limit!r})", field="limit")
        result = self.pattern_effectiveness(
            start=start, end=end, hours=hours, decision_type=decision_type
        )
        return saved(pattern_leaderboard_figure(result, limit), path)


__all__ = [
    "AnalyticsPlots",
    "new_figure",
    "pattern_leaderboard_figure",
    "reliability_figure",
    "saved",
    "success_over_time_figure",
]
