"""Analytics: how an agent's decisions went, and where the figures go.

- :mod:`.results` — the frozen result dataclasses and the confidence intervals;
- :mod:`.report` — :class:`Analytics`, which reads a window of decisions and reports on it;
- :mod:`.plots` — the ``plot_*`` figures of those results (matplotlib);
- :mod:`.cloudwatch` — CloudWatch metrics and dashboards (imported on its own);
- :mod:`.cost` — what DynamoDB and CloudWatch will cost for a given load.
"""

from __future__ import annotations

from .plots import AnalyticsPlots
from .report import Analytics
from .results import (
    MAX_BUCKETS,
    AgentComparison,
    AgentSummary,
    Calibration,
    CalibrationBin,
    LatencySummary,
    PatternEffect,
    PatternEffectiveness,
    SuccessByType,
    SuccessOverTime,
    TimeBucket,
    TypeSuccess,
    newcombe_interval,
    wilson_interval,
)

__all__ = [
    "MAX_BUCKETS",
    "AgentComparison",
    "AgentSummary",
    "Analytics",
    "AnalyticsPlots",
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
