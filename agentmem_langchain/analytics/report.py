"""How an agent's decisions went: success by type and over time, latency, calibration, patterns.

>>> analytics = Analytics(memory)                  # or Analytics(store, "btc-agent-001")
>>> report = analytics.calibration(hours=6)        # report.expected_calibration_error, ...
>>> figure = analytics.plot_reliability(hours=6, path="reliability.png")

Every method reads one window, ``start <= timestamp < end``; without ``start``/``end`` it is
the last 24 hours (or ``hours=``) up to and including the clock's now, as
``DecisionLogger.get_decision_stats`` counts. Records are read a page at a time and reduced to
plain numbers. Rates are over *decided* decisions (an outcome attached); what cannot be
computed (the rate of nothing) is None, never a division error. Results are frozen dataclasses
with ``to_dict()`` and ``to_dataframe()`` (pandas, the ``pandas`` extra); the ``plot_*``
methods (:mod:`~agentmem_langchain.analytics.plots`) draw them.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..memory import MemoryManager, validate_agent_id
from ..models import DecisionRecord, enum_value, utcnow
from ..stores._common import nearest_rank
from ..stores.base import MemoryStore
from .plots import AnalyticsPlots
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
    _rate,
    newcombe_interval,
)

if TYPE_CHECKING:
    pass

# -- reading and tallying, in plain numbers -----------------------------------------------


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    closed: bool  # a window "up to now" includes ``end`` itself

    @property
    def query_end(self) -> datetime:
        return self.end + timedelta(microseconds=1) if self.closed else self.end


@dataclass(frozen=True)
class _Row:
    """What the analytics use of one record, so that no page of models outlives its loop."""

    decision_type: str
    timestamp: datetime
    success: bool | None
    confidence: float | None
    latency_ms: float | None
    patterns: frozenset[str]

    @classmethod
    def of(cls, record: DecisionRecord) -> _Row:
        outcome = record.outcome
        return cls(
            record.decision_type,
            record.timestamp,
            None if outcome is None else outcome.success,
            record.reasoning.confidence,
            None if outcome is None else outcome.latency_ms,
            frozenset(record.reasoning.patterns_applied),
        )


class _Counts:
    def __init__(self) -> None:
        self.total = self.successes = self.failures = 0

    def add(self, success: bool | None) -> None:
        self.total += 1
        self.successes += success is True
        self.failures += success is False

    @property
    def pending(self) -> int:
        return self.total - self.successes - self.failures

    @property
    def rate(self) -> float | None:
        return _rate(self.successes, self.successes + self.failures)


class _CalibrationTally:
    def __init__(self, bins: int) -> None:
        self.edges = [i / bins for i in range(bins + 1)]
        self.count, self.successes = [0] * bins, [0] * bins
        self.confidence_sum = [0.0] * bins
        self.squared_error = 0.0

    def add(self, row: _Row) -> None:
        if row.success is None or row.confidence is None:
            return
        # Bisecting the reported edges puts every value inside the bin it is shown in.
        i = min(bisect_right(self.edges, row.confidence) - 1, len(self.count) - 1)
        self.count[i] += 1
        self.successes[i] += row.success
        self.confidence_sum[i] += row.confidence
        self.squared_error += (row.confidence - row.success) ** 2

    def result(self) -> Calibration:
        n, ece, bins = sum(self.count), 0.0, []
        for i, count in enumerate(self.count):
            mean = self.confidence_sum[i] / count if count else None
            rate = _rate(self.successes[i], count)
            if mean is not None and rate is not None:
                ece += count / n * abs(rate - mean)
            bins.append(CalibrationBin(self.edges[i], self.edges[i + 1], count, mean, rate))
        return Calibration(
            tuple(bins), ece if n else None, self.squared_error / n if n else None, n
        )


def _latency(latencies: list[float]) -> LatencySummary:
    latencies.sort()
    return LatencySummary(
        count=len(latencies),
        mean_ms=sum(latencies) / len(latencies) if latencies else None,
        p50_ms=nearest_rank(latencies, 0.50),
        p95_ms=nearest_rank(latencies, 0.95),
        p99_ms=nearest_rank(latencies, 0.99),
    )


def _pattern_effect(
    pattern_id: str, applied: dict[str, list[int]], decided: dict[str, list[int]]
) -> PatternEffect:
    """``applied``/``decided``: decision type -> [n, successes], with the pattern / all."""
    types = tuple(sorted(applied))
    with_n = sum(applied[t][0] for t in types)
    with_k = sum(applied[t][1] for t in types)
    without_n = sum(decided[t][0] for t in types) - with_n
    without_k = sum(decided[t][1] for t in types) - with_k
    interval = newcombe_interval(with_k, with_n, without_k, without_n)
    with_rate, without_rate = _rate(with_k, with_n), _rate(without_k, without_n)
    return PatternEffect(
        pattern_id,
        types,
        with_n,
        with_k,
        with_rate,
        without_n,
        without_k,
        without_rate,
        difference=None if interval is None else with_k / with_n - without_k / without_n,
        ci_lower=None if interval is None else interval[0],
        ci_upper=None if interval is None else interval[1],
    )


def _utc(moment: datetime, field: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValidationError(f"{field}: expected a datetime (got {moment!r})", field=field)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValidationError(f"bins: must be an integer >= 1 (got {bins!r})", field="bins")
    return bins


# -- the facade ---------------------------------------------------------------------------


class Analytics(AnalyticsPlots):
    """Read-only analytics of one agent's decisions: a ``MemoryManager`` (its agent, store
    and clock) or a ``MemoryStore`` and an ``agent_id``.

    ``page_size`` is how many records are read, and held as models, at a time.
    """

    page_size: int = 500

    def __init__(
        self,
        memory_or_store: MemoryManager | MemoryStore,
        agent_id: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if isinstance(memory_or_store, MemoryManager):
            if agent_id is not None and agent_id != memory_or_store.agent_id:
                raise ValidationError(
                    f"agent_id: {agent_id!r} is not the manager's agent "
                    f"{memory_or_store.agent_id!r}",
                    field="agent_id",
                    value=agent_id,
                )
            self.store: MemoryStore = memory_or_store.store
            self.agent_id = memory_or_store.agent_id
            self._clock = clock or memory_or_store.now
        elif isinstance(memory_or_store, MemoryStore):
            if agent_id is None:
                raise ValidationError("agent_id: required with a store", field="agent_id")
            self.store, self.agent_id = memory_or_store, validate_agent_id(agent_id)
            self._clock = clock or utcnow
        else:
            raise ValidationError(
                "memory_or_store: expected a MemoryManager or a MemoryStore "
                f"(got {type(memory_or_store).__name__})",
                field="memory_or_store",
            )

    def success_by_type(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> SuccessByType:
        """Totals, outcomes and the success rate of each decision type."""
        counts: dict[str, _Counts] = defaultdict(_Counts)
        for row in self._rows(self._window(start, end, hours), decision_type):
            counts[row.decision_type].add(row.success)
        return SuccessByType(
            tuple(
                TypeSuccess(t, c.total, c.successes, c.failures, c.pending, c.rate)
                for t, c in sorted(counts.items())
            )
        )

    def success_over_time(
        self,
        bucket: timedelta = timedelta(hours=1),
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> SuccessOverTime:
        """The success rate per ``bucket``, laid from the window's start (the last one may be
        shorter)."""
        if not isinstance(bucket, timedelta) or bucket <= timedelta(0):
            raise ValidationError(
                f"bucket: must be a positive timedelta (got {bucket!r})", field="bucket"
            )
        window = self._window(start, end, hours)
        n = -((window.start - window.end) // bucket)
        if window.closed:
            n = max(n, 1)  # a window from now to now still holds what happened now
        if n > MAX_BUCKETS:
            raise ValidationError(
                f"bucket: {bucket} makes {n} buckets, more than {MAX_BUCKETS}", field="bucket"
            )
        counts = [_Counts() for _ in range(n)]
        for row in self._rows(window, decision_type):
            counts[min((row.timestamp - window.start) // bucket, n - 1)].add(row.success)
        buckets = []
        for i, c in enumerate(counts):
            lower = window.start + i * bucket
            upper = min(lower + bucket, window.end)
            buckets.append(TimeBucket(lower, upper, c.total, c.successes, c.failures, c.rate))
        return SuccessOverTime(bucket, tuple(buckets))

    def latency(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> LatencySummary:
        """Mean and nearest-rank p50/p95/p99 of the outcomes' ``latency_ms``."""
        rows = self._rows(self._window(start, end, hours), decision_type)
        return _latency([row.latency_ms for row in rows if row.latency_ms is not None])

    def calibration(
        self,
        bins: int = 10,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> Calibration:
        """How well stated confidence predicted success, in ``bins`` equal-width bins of
        [0, 1], with the expected calibration error and the Brier score (formulas in
        :class:`Calibration`). Only decided decisions that stated a confidence count."""
        tally = _CalibrationTally(_check_bins(bins))
        for row in self._rows(self._window(start, end, hours), decision_type):
            tally.add(row)
        return tally.result()

    def pattern_effectiveness(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> PatternEffectiveness:
        """Each pattern id of ``reasoning.patterns_applied``: its success rate against that of
        the decisions of the same types that did not apply it, and a 95% interval for the
        difference (:func:`newcombe_interval`). A pattern applied only to decisions still
        pending is listed with ``with_n == 0``."""
        decided: dict[str, list[int]] = {}  # decision type -> [n, successes]
        applied: dict[str, dict[str, list[int]]] = {}  # pattern -> the same, with it applied
        for row in self._rows(self._window(start, end, hours), decision_type):
            groups = [applied.setdefault(p, {}) for p in row.patterns]
            if row.success is None:
                continue
            for by_type in [decided, *groups]:
                tally = by_type.setdefault(row.decision_type, [0, 0])
                tally[0] += 1
                tally[1] += row.success
        effects = [_pattern_effect(p, per_type, decided) for p, per_type in applied.items()]
        effects.sort(key=lambda e: (e.difference is None, -(e.difference or 0.0), e.pattern_id))
        return PatternEffectiveness(tuple(effects))

    def compare_agents(
        self,
        agent_ids: Sequence[str],
        *,
        bins: int = 10,
        start: datetime | None = None,
        end: datetime | None = None,
        hours: float | None = None,
        decision_type: str | None = None,
    ) -> AgentComparison:
        """Total, success rate, mean confidence, calibration error (over ``bins`` bins) and
        latency p50 of each of ``agent_ids`` in this store, over the same window."""
        window, bins = self._window(start, end, hours), _check_bins(bins)
        summaries = []
        for agent_id in [validate_agent_id(a, "agent_ids") for a in agent_ids]:
            counts, tally = _Counts(), _CalibrationTally(bins)
            confidences: list[float] = []
            latencies: list[float] = []
            for row in self._rows(window, decision_type, agent_id):
                counts.add(row.success)
                tally.add(row)
                if row.confidence is not None:
                    confidences.append(row.confidence)
                if row.latency_ms is not None:
                    latencies.append(row.latency_ms)
            summaries.append(
                AgentSummary(
                    agent_id,
                    counts.total,
                    counts.rate,
                    sum(confidences) / len(confidences) if confidences else None,
                    tally.result().expected_calibration_error,
                    _latency(latencies).p50_ms,
                )
            )
        return AgentComparison(tuple(summaries))

    def _window(self, start: datetime | None, end: datetime | None, hours: float | None) -> _Window:
        if hours is not None:
            if start is not None:
                raise ValidationError("hours: give hours or start, not both", field="hours")
            number = isinstance(hours, (int, float)) and not isinstance(hours, bool)
            if not (number and 0 < hours < math.inf):
                raise ValidationError(f"hours: must be positive (got {hours!r})", field="hours")
        stop = self._clock() if end is None else _utc(end, "end")
        begin = stop - timedelta(hours=hours or 24) if start is None else _utc(start, "start")
        if stop < begin:
            raise ValidationError(
                f"end: {stop.isoformat()} is before start {begin.isoformat()}", field="end"
            )
        return _Window(begin, stop, closed=end is None)

    def _rows(
        self, window: _Window, decision_type: str | None, agent_id: str | None = None
    ) -> Iterator[_Row]:
        from ..capture.batch import wait_for_agent

        agent_id = agent_id or self.agent_id
        wait_for_agent(agent_id)  # read-your-writes, as MemoryManager's reads
        cursor: str | None = None
        while True:
            page = self.store.query_decisions(
                agent_id,
                start=window.start,
                end=window.query_end,
                decision_type=enum_value(decision_type),
                limit=self.page_size,
                cursor=cursor,
            )
            rows, cursor = [_Row.of(record) for record in page.items], page.next_cursor
            del page  # the models go before the rows are used: one page of them at most
            yield from rows
            if cursor is None:
                return


__all__ = ["Analytics"]
