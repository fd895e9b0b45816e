"""Decision metrics in Amazon CloudWatch: PutMetricData, Embedded Metric Format, a dashboard.

>>> exporter = CloudWatchExporter(namespace="AgentMem", region="us-east-1")  # doctest: +SKIP
>>> exporter.publish(memory, window=timedelta(minutes=5))                    # doctest: +SKIP

Every metric has the dimension ``AgentId``; the same metrics per decision type add
``DecisionType``. A metric whose value is undefined for the window (no latency recorded, no
outcome yet, no confidence given) is left out, never sent as 0 or NaN:

================  ============  ===================================================
DecisionCount     Count         decisions logged in the window
SuccessRate       Percent       successes / (successes + failures) * 100
FailureCount      Count         decisions whose outcome failed
PendingCount      Count         decisions without an outcome yet
LatencyP50        Milliseconds  nearest-rank median of recorded latencies
LatencyP95        Milliseconds  nearest-rank 95th percentile of recorded latencies
AvgConfidence     None          mean confidence (0 to 1)
================  ============  ===================================================

One more metric watches delivery rather than decisions: ``JournalPending`` (Count, dimension
``TablePrefix``), the entries a process's capture journal holds for a store that has not
taken them yet (:func:`journal_datum`). It grows while the store is unreachable or throttling.
:meth:`CloudWatchExporter.metrics_for` (and so ``publish``) includes it for a memory on
DynamoDB.

Publish once per window (every 5 minutes for ``window=timedelta(minutes=5)``) so that the
counts summed over a period are the decisions of that period.

In a Lambda function, print :meth:`CloudWatchExporter.emf_lines` instead
(:meth:`~CloudWatchExporter.write_emf`): CloudWatch Logs extracts the metrics, no API call.
The Embedded Metric Format is written here directly from its specification (a JSON object
with an ``_aws`` envelope) rather than through ``aws-embedded-metrics``: it is a few lines
of JSON and not worth a dependency.

boto3 is imported only when a client is made (``pip install 'agentmem-langchain[cloudwatch]'``);
``metrics_for``, ``emf_lines`` and ``dashboard_body`` need no AWS at all. botocore errors
become :class:`~agentmem_langchain.errors.ValidationError` when CloudWatch rejects the
input, :class:`~agentmem_langchain.errors.StoreUnavailableError` otherwise.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO, cast
from urllib.parse import quote

from ..enums import DecisionType
from ..errors import ConfigurationError, StoreUnavailableError, ValidationError
from ..memory import MemoryManager, validate_agent_id
from ..models import DecisionStats, enum_value
from ..stores._common import stats_from_rows, to_micros

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_cloudwatch.literals import StandardUnitType
    from mypy_boto3_cloudwatch.type_defs import MetricDatumTypeDef

DEFAULT_NAMESPACE = "AgentMem"
DEFAULT_WINDOW = timedelta(minutes=5)

# PutMetricData limits (botocore's service model, cloudwatch 2010-08-01): at most 1,000
# metrics and 1 MB per request. Requests are sized as the query protocol would encode them,
# the largest of the three wire formats botocore may use (CBOR, JSON, query), and kept
# under 1,000,000 bytes.
_MAX_DATUMS_PER_CALL = 1000
_MAX_REQUEST_BYTES = 1_000_000
# EMF: at most 100 MetricDefinitions per MetricDirective.
_MAX_EMF_METRICS = 100
# CloudWatch's bound on a datum's value (the API rejects anything larger, and NaN/inf).
_MAX_VALUE = 2.0**360
_INPUT_ERRORS = {
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidParameterCombination",
    "InvalidParameterCombinationException",
    "MissingParameter",
    "MissingRequiredParameterException",
    "InvalidParameterInput",
    "DashboardInvalidInputError",
}
_MISSING_BOTO3 = "CloudWatch export needs boto3: pip install 'agentmem-langchain[cloudwatch]'"

# (name, unit, value of a DecisionStats or None when undefined)
_METRICS: tuple[tuple[str, str, Callable[[DecisionStats], float | None]], ...] = (
    ("DecisionCount", "Count", lambda s: s.total),
    ("SuccessRate", "Percent", lambda s: _success_rate(s)),
    ("FailureCount", "Count", lambda s: s.failures),
    ("PendingCount", "Count", lambda s: s.pending),
    ("LatencyP50", "Milliseconds", lambda s: s.latency_p50_ms),
    ("LatencyP95", "Milliseconds", lambda s: s.latency_p95_ms),
    ("AvgConfidence", "None", lambda s: s.avg_confidence),
)


def _success_rate(stats: DecisionStats) -> float | None:
    # DecisionStats says 0.0 when nothing has an outcome yet; for a metric that is "no value".
    return stats.success_rate * 100 if stats.successes + stats.failures else None


@dataclass(frozen=True)
class MetricDatum:
    """One value of one metric, as PutMetricData takes it (:meth:`as_api`).

    ``dimensions`` are (name, value) pairs. A value CloudWatch would refuse (NaN, infinity,
    beyond ±2**360) raises ``ValidationError`` here rather than failing a whole batch later.
    """

    name: str
    value: float
    unit: str
    dimensions: tuple[tuple[str, str], ...]
    timestamp: datetime

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and abs(self.value) <= _MAX_VALUE):
            raise ValidationError(
                f"MetricDatum.value: {self.name} must be a finite number within ±2**360 "
                f"(got {self.value!r})",
                field="value",
                value=self.value,
            )

    def as_api(self) -> MetricDatumTypeDef:
        """The ``MetricDatum`` structure of the PutMetricData request."""
        return {
            "MetricName": self.name,
            "Value": float(self.value),
            "Unit": cast("StandardUnitType", self.unit),
            "Timestamp": self.timestamp,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
        }


@dataclass(frozen=True)
class DashboardResult:
    """What PutDashboard answered: the name, the ARN (None if GetDashboard was not allowed)
    and CloudWatch's warnings (``"DataPath: message"``; empty when the body was fine)."""

    name: str
    arn: str | None
    messages: tuple[str, ...]


class CloudWatchExporter:
    """Publishes an agent's decision statistics to CloudWatch under ``namespace``.

    >>> exporter = CloudWatchExporter(region="us-east-1")                 # doctest: +SKIP
    >>> sent = exporter.publish(memory)           # the last 5 minutes    # doctest: +SKIP

    Pass a ready ``client`` (``boto3.client("cloudwatch")``) or a ``boto3_session``; without
    either, boto3's default session in ``region`` is used. The client is made on first use.
    """

    def __init__(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        region: str | None = None,
        client: CloudWatchClient | None = None,
        boto3_session: Any = None,
    ) -> None:
        self.namespace = _check_namespace(namespace)
        self._region = region
        self._session = boto3_session
        self._client = client

    @property
    def client(self) -> CloudWatchClient:
        """The CloudWatch client (made on first use)."""
        if self._client is None:
            self._client = _make_client(self._region, self._session)
        return self._client

    def metrics_for(
        self,
        memory_or_stats: MemoryManager | DecisionStats,
        *,
        window: timedelta = DEFAULT_WINDOW,
        by_type: bool = True,
    ) -> list[MetricDatum]:
        """The metric data for an agent: its stats over the last ``window``, then (with
        ``by_type``) the same per decision type, all stamped with the window's end.

        Given a ``DecisionStats`` instead of a ``MemoryManager``, ``window`` is not used and
        per type only ``DecisionCount`` is known (``stats.by_type`` holds counts only).
        """
        journal: list[MetricDatum] = []
        if isinstance(memory_or_stats, DecisionStats):
            stats, at = memory_or_stats, memory_or_stats.end
            typed: dict[str, DecisionStats] = {}
        else:
            stats, typed, at = _window_stats(memory_or_stats, window, by_type)
            journal = _journal_of(memory_or_stats, at)
        agent = (("AgentId", stats.agent_id),)
        datums = _datums(stats, agent, at)
        for decision_type in sorted(stats.by_type) if by_type else ():
            dims = (*agent, ("DecisionType", dimension_value(decision_type)))
            if decision_type in typed:
                datums.extend(_datums(typed[decision_type], dims, at))
            else:  # a DecisionStats knows only how many decisions each type had
                datums.append(
                    MetricDatum("DecisionCount", stats.by_type[decision_type], "Count", dims, at)
                )
        return datums + journal

    def publish(
        self,
        memory_or_stats: MemoryManager | DecisionStats,
        *,
        window: timedelta = DEFAULT_WINDOW,
        by_type: bool = True,
    ) -> list[MetricDatum]:
        """Send :meth:`metrics_for` with PutMetricData; returns what was sent."""
        datums = self.metrics_for(memory_or_stats, window=window, by_type=by_type)
        self.send(datums)
        return datums

    def send(self, datums: Iterable[MetricDatum]) -> int:
        """PutMetricData in as few calls as the limits allow (1,000 datums, 1 MB a call);
        returns the number of calls. A failed call raises; earlier calls stay sent."""
        calls = 0
        for batch in _batches(list(datums), self.namespace):
            with _translated("CloudWatch PutMetricData"):
                self.client.put_metric_data(Namespace=self.namespace, MetricData=batch)
            calls += 1
        return calls

    def emf_lines(
        self,
        memory_or_stats: MemoryManager | DecisionStats,
        *,
        window: timedelta = DEFAULT_WINDOW,
        by_type: bool = True,
    ) -> list[str]:
        """:meth:`metrics_for` as Embedded Metric Format documents, one JSON line per
        dimension set (the agent, then each decision type)."""
        datums = self.metrics_for(memory_or_stats, window=window, by_type=by_type)
        return [
            json.dumps(doc, separators=(",", ":")) for doc in emf_documents(datums, self.namespace)
        ]

    def write_emf(
        self,
        memory_or_stats: MemoryManager | DecisionStats,
        stream: TextIO | None = None,
        *,
        window: timedelta = DEFAULT_WINDOW,
        by_type: bool = True,
    ) -> int:
        """Print :meth:`emf_lines` to ``stream`` (default: the current ``sys.stdout``, which
        is what a Lambda function's logs read); returns the number of lines."""
        out = stream if stream is not None else sys.stdout
        lines = self.emf_lines(memory_or_stats, window=window, by_type=by_type)
        for line in lines:
            out.write(line + "\n")
        out.flush()
        return len(lines)


JOURNAL_METRIC = "JournalPending"
"""The metric of :func:`journal_datum` (the deployment template alarms on its growth)."""


def journal_datum(pending: int, table_prefix: str, at: datetime) -> MetricDatum:
    """``JournalPending``: ``pending`` journal entries waiting for the store of
    ``table_prefix`` (its dimension ``TablePrefix``), stamped ``at``.

    >>> from datetime import datetime, timezone
    >>> journal_datum(3, "agentmem_", datetime(2026, 1, 1, tzinfo=timezone.utc)).dimensions
    (('TablePrefix', 'agentmem_'),)
    """
    if isinstance(pending, bool) or not isinstance(pending, int) or pending < 0:
        raise ValidationError(
            f"pending: a count of journal entries (got {pending!r})", field="pending", value=pending
        )
    dims = (("TablePrefix", dimension_value(table_prefix)),)
    return MetricDatum(JOURNAL_METRIC, float(pending), "Count", dims, at)


def _journal_of(memory: MemoryManager, at: datetime) -> list[MetricDatum]:
    """``JournalPending`` of a DynamoDB-backed memory: the entries its store's journal holds
    on this host (none for other stores, whose tables have no prefix to alarm on)."""
    names = getattr(getattr(memory.store, "client_manager", None), "names", None)
    prefix = getattr(names, "prefix", None)
    if not isinstance(prefix, str):
        return []
    return [journal_datum(memory.recorder.pending_replay(), prefix, at)]


# -- statistics -------------------------------------------------------------------------------


def _window_stats(
    memory: MemoryManager, window: timedelta, by_type: bool
) -> tuple[DecisionStats, dict[str, DecisionStats], datetime]:
    if not window > timedelta(0):
        raise ValidationError(
            f"window: must be positive (got {window!r})", field="window", value=window
        )
    now = memory.now()
    # As DecisionLogger.get_decision_stats: the window includes this very microsecond.
    start, end = now - window, now + timedelta(microseconds=1)
    stats = memory.decision_stats(start, end)
    typed = _stats_by_type(memory, start, end) if by_type and stats.total else {}
    return stats, typed, now


def _stats_by_type(
    memory: MemoryManager, start: datetime, end: datetime
) -> dict[str, DecisionStats]:
    """Per-type stats in one pass over the window (stores aggregate per agent only)."""
    rows: dict[str, list[tuple[str, bool | None, float | None, float | None]]] = {}
    for record in memory.iter_decisions(start=start, end=end, limit=1000):
        outcome = record.outcome
        rows.setdefault(record.decision_type, []).append(
            (
                record.decision_type,
                outcome.success if outcome is not None else None,
                record.reasoning.confidence,
                outcome.latency_ms if outcome is not None else None,
            )
        )
    return {t: stats_from_rows(memory.agent_id, start, end, r) for t, r in rows.items()}


def _datums(
    stats: DecisionStats, dims: tuple[tuple[str, str], ...], at: datetime
) -> list[MetricDatum]:
    return [
        MetricDatum(name, float(value), unit, dims, at)
        for name, unit, value_of in _METRICS
        if (value := value_of(stats)) is not None
    ]


def dimension_value(text: str) -> str:
    """``text`` as a valid CloudWatch dimension value: printable ASCII (anything else
    backslash-escaped), at most 1,024 characters, not blank."""
    escaped = "".join(
        c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )
    return escaped[:1024] if escaped.strip() else "(blank)"


# -- PutMetricData ----------------------------------------------------------------------------


def _batches(datums: Sequence[MetricDatum], namespace: str) -> Iterator[list[MetricDatumTypeDef]]:
    budget = _MAX_REQUEST_BYTES - len(
        f"Action=PutMetricData&Version=2010-08-01&Namespace={quote(namespace, safe='')}"
    )
    batch: list[MetricDatumTypeDef] = []
    size = 0
    for datum in datums:
        datum_size = _wire_size(datum)
        if batch and (len(batch) == _MAX_DATUMS_PER_CALL or size + datum_size > budget):
            yield batch
            batch, size = [], 0
        batch.append(datum.as_api())
        size += datum_size
    if batch:
        yield batch


def _wire_size(datum: MetricDatum) -> int:
    """An upper bound of the datum's bytes in a request: its query-protocol encoding
    (``&MetricData.member.1000.Dimensions.member.1.Value=...``), the most verbose format."""
    pairs = [
        ("MetricName", datum.name),
        ("Value", repr(float(datum.value))),
        ("Unit", datum.unit),
        ("Timestamp", "2000-01-01T00:00:00.000000+00:00"),
    ]
    for n, (name, value) in enumerate(datum.dimensions, 1):
        pairs += [(f"Dimensions.member.{n}.Name", name), (f"Dimensions.member.{n}.Value", value)]
    prefix = len("&MetricData.member.1000.=")
    return sum(prefix + len(key) + len(quote(value, safe="")) for key, value in pairs)


# -- Embedded Metric Format -------------------------------------------------------------------


def emf_documents(datums: Iterable[MetricDatum], namespace: str) -> list[dict[str, Any]]:
    """Embedded Metric Format documents for ``datums``: one per (dimensions, timestamp), at
    most 100 metrics each, dimension and metric values as root members."""
    groups: dict[tuple[tuple[tuple[str, str], ...], datetime], list[MetricDatum]] = {}
    for datum in datums:
        groups.setdefault((datum.dimensions, datum.timestamp), []).append(datum)
    docs: list[dict[str, Any]] = []
    for (dims, at), group in groups.items():
        for start in range(0, len(group), _MAX_EMF_METRICS):
            chunk = group[start : start + _MAX_EMF_METRICS]
            directive = {
                "Namespace": namespace,
                "Dimensions": [[name for name, _ in dims]],
                "Metrics": [{"Name": d.name, "Unit": d.unit} for d in chunk],
            }
            doc: dict[str, Any] = {
                "_aws": {"Timestamp": to_micros(at) // 1000, "CloudWatchMetrics": [directive]}
            }
            doc.update(dims)
            doc.update((d.name, _json_number(d.value)) for d in chunk)
            docs.append(doc)
    return docs


def _json_number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


# -- dashboard --------------------------------------------------------------------------------


def dashboard_body(
    namespace: str,
    agent_ids: Sequence[str],
    decision_types: Sequence[DecisionType | str] = (),
    *,
    region: str | None = None,
    period: int = 300,
) -> dict[str, Any]:
    """A CloudWatch dashboard (``json.dumps`` it for PutDashboard) over ``agent_ids``.

    >>> body = dashboard_body("AgentMem", ["agent-1"], region="us-east-1")
    >>> [w["properties"].get("title") for w in body["widgets"]][1:]
    ['Success rate (%)', 'Decisions', 'Latency p50 / p95 (ms)', 'Average confidence']

    With ``decision_types``, each agent gets a success-rate and a decision-count widget by
    type. ``region`` defaults to ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
    """
    namespace = _check_namespace(namespace)
    agents = [validate_agent_id(a, "agent_ids") for a in agent_ids]
    if not agents:
        raise ValidationError("agent_ids: a dashboard needs at least one agent", field="agent_ids")
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError("dashboard_body needs a region: pass region=... or set AWS_REGION")
    types = [dimension_value(enum_value(t)) for t in decision_types]
    graph = _Graphs(namespace, region, period)
    per_agent = [(a, ("AgentId", a)) for a in agents]
    widgets = [
        graph.percent("Success rate (%)", [("SuccessRate", a, d) for a, d in per_agent]),
        graph("Decisions", "Sum", [
            (m, f"{a} {what}", d)
            for a, d in per_agent
            for m, what in (("DecisionCount", "decisions"), ("FailureCount", "failures"))
        ]),
        graph("Latency p50 / p95 (ms)", "Average", [
            (m, f"{a} {q}", d)
            for a, d in per_agent
            for m, q in (("LatencyP50", "p50"), ("LatencyP95", "p95"))
        ]),
        graph("Average confidence", "Average", [("AvgConfidence", a, d) for a, d in per_agent],
              yAxis={"left": {"min": 0, "max": 1}}),
    ]  # fmt: skip
    for agent, dims in per_agent if types else ():
        typed = [(t, (*dims, "DecisionType", t)) for t in types]
        widgets.append(
            graph.percent(
                f"Success rate by type (%): {agent}", [("SuccessRate", *x) for x in typed]
            )
        )
        widgets.append(
            graph(f"Decisions by type: {agent}", "Sum", [("DecisionCount", *x) for x in typed])
        )
    note = {
        "type": "text",
        "properties": {
            "markdown": f"Decision metrics from agentmem-langchain (namespace `{namespace}`). "
            "Made by `create_dashboard`: edits made here are replaced the next time it runs."
        },
    }
    return {"widgets": [_placed(note, 0, 0, 24, 2), *_grid(widgets, top=2)]}


class _Graphs:
    """Metric widgets in the documented format: each line of ``metrics`` is
    ``[Namespace, MetricName, DimName, DimValue, ..., {rendering properties}]``."""

    def __init__(self, namespace: str, region: str, period: int) -> None:
        self.namespace, self.region, self.period = namespace, region, period

    def __call__(
        self,
        title: str,
        stat: str,
        lines: Iterable[tuple[str, str, tuple[str, ...]]],
        **extra: Any,
    ) -> dict[str, Any]:
        metrics = [[self.namespace, name, *dims, {"label": label}] for name, label, dims in lines]
        properties = {
            "title": title,
            "view": "timeSeries",
            "stacked": False,
            "region": self.region,
            "stat": stat,
            "period": self.period,
            "metrics": metrics,
            **extra,
        }
        return {"type": "metric", "properties": properties}

    def percent(
        self, title: str, lines: Iterable[tuple[str, str, tuple[str, ...]]]
    ) -> dict[str, Any]:
        return self(title, "Average", lines, yAxis={"left": {"min": 0, "max": 100}})


def _placed(widget: dict[str, Any], x: int, y: int, width: int, height: int) -> dict[str, Any]:
    return {**widget, "x": x, "y": y, "width": width, "height": height}


def _grid(widgets: list[dict[str, Any]], *, top: int) -> list[dict[str, Any]]:
    # Two graphs a row on the dashboard's 24-unit-wide grid.
    return [_placed(w, 12 * (i % 2), top + 6 * (i // 2), 12, 6) for i, w in enumerate(widgets)]


def create_dashboard(
    name: str,
    agent_ids: Sequence[str],
    decision_types: Sequence[DecisionType | str] = (),
    *,
    namespace: str = DEFAULT_NAMESPACE,
    period: int = 300,
    client: CloudWatchClient | None = None,
    region: str | None = None,
    boto3_session: Any = None,
) -> DashboardResult:
    """Create or replace the dashboard ``name`` (:func:`dashboard_body`) with PutDashboard.

    >>> create_dashboard("agents", ["agent-1"], region="us-east-1").arn   # doctest: +SKIP
    'arn:aws:cloudwatch::123456789012:dashboard/agents'

    A body CloudWatch refuses raises ``ValidationError``; warnings come back in
    ``messages``. The ARN is read back with GetDashboard, best effort.
    """
    cw = client if client is not None else _make_client(region, boto3_session)
    body = dashboard_body(
        namespace, agent_ids, decision_types, region=region or cw.meta.region_name, period=period
    )
    with _translated("CloudWatch PutDashboard"):
        response = cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    messages = tuple(
        f"{m.get('DataPath', '')}: {m.get('Message', '')}"
        for m in response.get("DashboardValidationMessages", [])
    )
    return DashboardResult(name=name, arn=_dashboard_arn(cw, name), messages=messages)


def _dashboard_arn(cw: CloudWatchClient, name: str) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return cw.get_dashboard(DashboardName=name).get("DashboardArn")
    except (BotoCoreError, ClientError):  # e.g. PutDashboard allowed, GetDashboard not
        return None


# -- the client and its errors ----------------------------------------------------------------


def _check_namespace(namespace: str) -> str:
    if not (0 < len(namespace) <= 255) or namespace.startswith((":", "AWS/")):
        raise ValidationError(
            f"namespace: 1 to 255 characters, not starting with ':' or 'AWS/' (got {namespace!r})",
            field="namespace",
            value=namespace,
        )
    return namespace


def _make_client(region: str | None, boto3_session: Any) -> CloudWatchClient:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoRegionError
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(_MISSING_BOTO3) from exc
    # boto3 reads AWS_DEFAULT_REGION only; the library documents AWS_REGION too.
    region = region or os.environ.get("AWS_REGION") or None
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=2.0,
        read_timeout=10.0,
    )
    with _translated("CloudWatch client"):  # e.g. a profile that does not exist
        session = boto3_session or boto3.Session(region_name=region)
        try:
            client: CloudWatchClient = session.client(
                "cloudwatch", region_name=region, config=config
            )
        except NoRegionError as exc:
            raise ConfigurationError(
                "CloudWatch needs a region: pass region=... or set AWS_REGION"
            ) from exc
    return client


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """botocore errors as the library's: rejected input is a ``ValidationError``, anything
    else (unreachable, throttled, denied, ...) a ``StoreUnavailableError``; one line each."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), _one_line(error.get("Message", ""))
        if code in _INPUT_ERRORS:
            raise ValidationError(f"{operation}: {code}: {message}", field=operation) from exc
        raise StoreUnavailableError(f"{operation}: {code}: {message}") from exc
    except BotoCoreError as exc:  # connection refused, timeouts, missing credentials, ...
        raise StoreUnavailableError(f"{operation}: {_one_line(str(exc))}") from exc


def _one_line(text: str) -> str:
    return " ".join(text.split())


__all__ = [
    "DEFAULT_NAMESPACE",
    "JOURNAL_METRIC",
    "CloudWatchExporter",
    "DashboardResult",
    "MetricDatum",
    "create_dashboard",
    "dashboard_body",
    "dimension_value",
    "emf_documents",
    "journal_datum",
]
