"""CloudWatch export: metric data, PutMetricData on moto, EMF lines, the dashboard, errors.

The fleet fixture is one agent with four decisions in the window: three ``source_selection``
(two succeeded) and one ``risk_assessment`` (succeeded), so 3 of 4 succeeded overall.
Requests are observed in botocore's own event hooks on the client, never by mocking it.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from agentmem_langchain import DecisionLogger, DecisionType, MemoryManager
from agentmem_langchain.analytics.cloudwatch import (
    CloudWatchExporter,
    MetricDatum,
    create_dashboard,
    dashboard_body,
    dimension_value,
)
from agentmem_langchain.errors import ConfigurationError, StoreUnavailableError, ValidationError
from agentmem_langchain.testing import FakeClock, InMemoryStore

ROOT = Path(__file__).resolve().parents[2]
AGENT = "agent-1"
SOURCE = DecisionType.SOURCE_SELECTION.value
RISK = DecisionType.RISK_ASSESSMENT.value
# (decision type, success, latency ms, confidence)
FLEET = [
    (SOURCE, True, 100.0, 0.9),
    (SOURCE, True, 200.0, 0.8),
    (SOURCE, False, 300.0, 0.7),
    (RISK, True, 400.0, 0.6),
]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and no ~/.aws: nothing here can reach a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # the current time: CloudWatch takes datums from the last two weeks


def _memory(clock: FakeClock, agent: str = AGENT) -> MemoryManager:
    return MemoryManager(agent, store=InMemoryStore(clock=clock), clock=clock)


def _log(memory: MemoryManager, rows: list[tuple[str, bool, float, float]]) -> None:
    logger = DecisionLogger(memory)
    for decision_type, success, latency, confidence in rows:
        decision_id = logger.log_decision(decision_type, confidence=confidence)
        logger.log_outcome(decision_id, success=success, latency_ms=latency)


@pytest.fixture
def fleet(clock: FakeClock) -> MemoryManager:
    memory = _memory(clock)
    _log(memory, FLEET)
    return memory


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def _by_key(datums: list[MetricDatum]) -> dict[tuple[str, str | None], MetricDatum]:
    """{(metric name, decision type or None): datum}"""
    return {(d.name, dict(d.dimensions).get("DecisionType")): d for d in datums}


def _calls(client: Any) -> list[int]:
    """The size in bytes of each PutMetricData request the client sends."""
    sizes: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params.get("body") or b""))

    client.meta.events.register("before-call.monitoring.PutMetricData", count)
    return sizes


# -- metric data ------------------------------------------------------------------------------


def test_agent_metrics_have_the_window_values_and_units(fleet: MemoryManager) -> None:
    datums = _by_key(CloudWatchExporter().metrics_for(fleet, window=timedelta(minutes=5)))
    expected = {
        "DecisionCount": (4, "Count"),
        "SuccessRate": (75, "Percent"),
        "FailureCount": (1, "Count"),
        "PendingCount": (0, "Count"),
        "LatencyP50": (200, "Milliseconds"),
        "LatencyP95": (400, "Milliseconds"),
        "AvgConfidence": (0.75, "None"),
    }
    for name, (value, unit) in expected.items():
        datum = datums[name, None]
        assert datum.value == pytest.approx(value), name
        assert datum.unit == unit, name
        assert datum.dimensions == (("AgentId", AGENT),)


def test_per_type_metrics_carry_the_decision_type_dimension(fleet: MemoryManager) -> None:
    datums = _by_key(CloudWatchExporter().metrics_for(fleet))
    assert datums["SuccessRate", SOURCE].value == pytest.approx(200 / 3)
    assert datums["DecisionCount", SOURCE].value == 3
    assert datums["LatencyP95", SOURCE].value == 300
    assert datums["SuccessRate", RISK].value == 100
    assert datums["AvgConfidence", RISK].value == pytest.approx(0.6)
    assert datums["DecisionCount", RISK].dimensions == (
        ("AgentId", AGENT),
        ("DecisionType", RISK),
    )


def test_by_type_false_gives_agent_metrics_only(fleet: MemoryManager) -> None:
    datums = CloudWatchExporter().metrics_for(fleet, by_type=False)
    assert {d.dimensions for d in datums} == {(("AgentId", AGENT),)}


def test_decisions_before_the_window_are_not_counted(clock: FakeClock) -> None:
    memory = _memory(clock)
    _log(memory, FLEET[:1])
    clock.advance(minutes=10)
    _log(memory, FLEET[1:2])
    datums = _by_key(CloudWatchExporter().metrics_for(memory, window=timedelta(minutes=5)))
    assert datums["DecisionCount", None].value == 1


def test_datums_are_stamped_with_the_window_end(fleet: MemoryManager, clock: FakeClock) -> None:
    assert {d.timestamp for d in CloudWatchExporter().metrics_for(fleet)} == {clock()}


def test_no_decisions_gives_counts_of_zero_and_no_undefined_metric(clock: FakeClock) -> None:
    datums = CloudWatchExporter().metrics_for(_memory(clock))
    assert {d.name: d.value for d in datums} == {
        "DecisionCount": 0,
        "FailureCount": 0,
        "PendingCount": 0,
    }


def test_pending_decisions_give_no_success_rate_latency_or_confidence(clock: FakeClock) -> None:
    memory = _memory(clock)
    DecisionLogger(memory).log_decision(SOURCE)  # no outcome, no confidence
    datums = CloudWatchExporter().metrics_for(memory)
    names = {d.name for d in datums}
    assert names.isdisjoint({"SuccessRate", "LatencyP50", "LatencyP95", "AvgConfidence"})
    assert _by_key(datums)["PendingCount", SOURCE].value == 1


def test_decision_stats_give_per_type_counts_only(fleet: MemoryManager) -> None:
    stats = DecisionLogger(fleet).get_decision_stats(time_window_hours=1)
    datums = _by_key(CloudWatchExporter().metrics_for(stats))
    assert datums["SuccessRate", None].value == 75
    assert [key for key in datums if key[1] == SOURCE] == [("DecisionCount", SOURCE)]
    assert datums["DecisionCount", SOURCE].value == 3


def test_window_must_be_positive(fleet: MemoryManager) -> None:
    with pytest.raises(ValidationError, match="window"):
        CloudWatchExporter().metrics_for(fleet, window=timedelta(0))


@pytest.mark.parametrize("value", [math.nan, math.inf, 2.0**361])
def test_a_value_cloudwatch_refuses_is_a_validation_error(value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        MetricDatum("SuccessRate", value, "Percent", (), datetime.now(timezone.utc))


@pytest.mark.parametrize("namespace", ["", "AWS/Lambda", ":x", "n" * 256])
def test_a_namespace_cloudwatch_refuses_is_a_validation_error(namespace: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        CloudWatchExporter(namespace)


def test_decision_types_become_printable_ascii_dimension_values() -> None:
    assert dimension_value("résumé\n") == "r\\xe9sum\\xe9\\n"
    assert dimension_value("   ") == "(blank)"
    assert dimension_value("tool_call") == "tool_call"


# -- PutMetricData on moto --------------------------------------------------------------------


def test_published_metrics_are_listed_with_their_dimensions(
    fleet: MemoryManager, cloudwatch: Any
) -> None:
    CloudWatchExporter(client=cloudwatch).publish(fleet)
    listed = cloudwatch.list_metrics(Namespace="AgentMem")["Metrics"]
    agent_level = {m["MetricName"] for m in listed if m["Dimensions"] == [_dim("AgentId", AGENT)]}
    assert agent_level == {
        "DecisionCount",
        "SuccessRate",
        "FailureCount",
        "PendingCount",
        "LatencyP50",
        "LatencyP95",
        "AvgConfidence",
    }
    typed = {
        (m["MetricName"], m["Dimensions"][1]["Value"]) for m in listed if len(m["Dimensions"]) == 2
    }
    assert ("SuccessRate", SOURCE) in typed
    assert ("DecisionCount", RISK) in typed


def _read_back(cloudwatch: Any, at: datetime, metric: str, *dims: dict[str, str]) -> list[Any]:
    points = cloudwatch.get_metric_statistics(
        Namespace="AgentMem",
        MetricName=metric,
        Dimensions=list(dims),
        StartTime=at - timedelta(minutes=5),
        EndTime=at + timedelta(minutes=5),
        Period=600,
        Statistics=["Average", "SampleCount"],
    )["Datapoints"]
    return [(p["Average"], p["SampleCount"], p["Unit"]) for p in points]


def test_published_success_rate_reads_back_as_75(
    fleet: MemoryManager, cloudwatch: Any, clock: FakeClock
) -> None:
    # Agent level only: moto matches any metric whose dimensions *include* the ones asked
    # for (CloudWatch matches the exact set), so per-type datums would be averaged in.
    CloudWatchExporter(client=cloudwatch).publish(fleet, by_type=False)
    assert _read_back(cloudwatch, clock(), "SuccessRate", _dim("AgentId", AGENT)) == [
        (75.0, 1.0, "Percent")
    ]


def test_published_per_type_values_read_back(
    fleet: MemoryManager, cloudwatch: Any, clock: FakeClock
) -> None:
    CloudWatchExporter(client=cloudwatch).publish(fleet)
    source = (_dim("AgentId", AGENT), _dim("DecisionType", SOURCE))
    ((rate, count, unit),) = _read_back(cloudwatch, clock(), "SuccessRate", *source)
    assert (rate, count, unit) == (pytest.approx(200 / 3), 1.0, "Percent")
    assert _read_back(cloudwatch, clock(), "LatencyP50", *source) == [(200.0, 1.0, "Milliseconds")]


def test_undefined_values_are_not_published(clock: FakeClock, cloudwatch: Any) -> None:
    CloudWatchExporter(client=cloudwatch).publish(_memory(clock))
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AgentMem")["Metrics"]}
    assert names == {"DecisionCount", "FailureCount", "PendingCount"}


def test_one_small_publish_is_one_call(fleet: MemoryManager, cloudwatch: Any) -> None:
    calls = _calls(cloudwatch)
    CloudWatchExporter(client=cloudwatch).publish(fleet)
    assert len(calls) == 1


def test_more_datums_than_one_call_allows_are_split(clock: FakeClock, cloudwatch: Any) -> None:
    memory = _memory(clock)
    _log(memory, [(f"type-{i:03}", i % 2 == 0, 10.0 + i, 0.5) for i in range(150)])
    calls = _calls(cloudwatch)
    sent = CloudWatchExporter("Split", client=cloudwatch).publish(memory)
    assert len(sent) == 7 * 151  # the agent, then each of 150 types
    assert len(calls) == 2
    paginator = cloudwatch.get_paginator("list_metrics")
    listed = [m for page in paginator.paginate(Namespace="Split") for m in page["Metrics"]]
    assert len(listed) == len(sent)


def test_requests_stay_under_one_megabyte(cloudwatch: Any) -> None:
    at = datetime.now(timezone.utc)
    datums = [
        MetricDatum("DecisionCount", i, "Count", (("Label", f"{i:04}" + "x" * 1000),), at)
        for i in range(900)  # under 1,000 datums but over 1 MB in all
    ]
    calls = _calls(cloudwatch)
    assert CloudWatchExporter(client=cloudwatch).send(datums) == 2
    assert len(calls) == 2
    assert all(size < 1_000_000 for size in calls)


def test_send_of_nothing_makes_no_call(cloudwatch: Any) -> None:
    calls = _calls(cloudwatch)
    assert CloudWatchExporter(client=cloudwatch).send([]) == 0
    assert calls == []


# -- Embedded Metric Format -------------------------------------------------------------------


def test_emf_lines_are_json_with_the_documented_envelope(
    fleet: MemoryManager, clock: FakeClock
) -> None:
    docs = [json.loads(line) for line in CloudWatchExporter("EmfTest").emf_lines(fleet)]
    assert len(docs) == 3  # the agent, source_selection, risk_assessment
    for doc in docs:
        meta = doc["_aws"]
        assert meta["Timestamp"] == int(clock().timestamp() * 1000)
        (directive,) = meta["CloudWatchMetrics"]
        assert directive["Namespace"] == "EmfTest"
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(doc[key], str) for key in dimension_set)
        for metric in directive["Metrics"]:
            assert set(metric) == {"Name", "Unit"}
            assert isinstance(doc[metric["Name"]], (int, float))
    agent, *typed = docs
    assert agent["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["AgentId"]]
    assert agent["AgentId"] == AGENT
    assert agent["SuccessRate"] == 75
    assert agent["DecisionCount"] == 4
    units = {m["Name"]: m["Unit"] for m in agent["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["LatencyP95"] == "Milliseconds"
    assert units["AvgConfidence"] == "None"
    assert {d["DecisionType"]: d["DecisionCount"] for d in typed} == {SOURCE: 3, RISK: 1}
    assert all(
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["AgentId", "DecisionType"]]
        for d in typed
    )


def test_emf_leaves_undefined_metrics_out(clock: FakeClock) -> None:
    (line,) = CloudWatchExporter().emf_lines(_memory(clock))
    doc = json.loads(line)
    names = [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["DecisionCount", "FailureCount", "PendingCount"]
    assert "LatencyP50" not in doc


def test_write_emf_prints_one_line_per_dimension_set_to_stdout(
    fleet: MemoryManager, capsys: pytest.CaptureFixture[str]
) -> None:
    assert CloudWatchExporter().write_emf(fleet) == 3
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all("_aws" in json.loads(line) for line in lines)


# -- dashboard --------------------------------------------------------------------------------


def _metric_lines(body: dict[str, Any]) -> list[list[Any]]:
    return [
        line
        for w in body["widgets"]
        if w["type"] == "metric"
        for line in w["properties"]["metrics"]
    ]


def test_dashboard_widgets_reference_the_namespace_and_every_agent() -> None:
    body = dashboard_body("AgentMem", ["agent-1", "agent-2"], region="eu-west-1")
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    titles = [w["properties"]["title"] for w in metric_widgets]
    assert titles == [
        "Success rate (%)",
        "Decisions",
        "Latency p50 / p95 (ms)",
        "Average confidence",
    ]
    assert all(w["properties"]["region"] == "eu-west-1" for w in metric_widgets)
    for line in _metric_lines(body):
        namespace, _metric, dim_name, agent, rendering = line
        assert (namespace, dim_name) == ("AgentMem", "AgentId")
        assert agent in {"agent-1", "agent-2"}
        assert set(rendering) == {"label"}
    success = metric_widgets[0]["properties"]["metrics"]
    assert [line[:4] for line in success] == [
        ["AgentMem", "SuccessRate", "AgentId", "agent-1"],
        ["AgentMem", "SuccessRate", "AgentId", "agent-2"],
    ]
    latency = {line[1] for line in metric_widgets[2]["properties"]["metrics"]}
    assert latency == {"LatencyP50", "LatencyP95"}


def test_dashboard_widgets_are_placed_on_the_grid_without_overlap() -> None:
    body = dashboard_body("AgentMem", ["agent-1"], [SOURCE, RISK], region="us-east-1")
    cells = {
        (w["x"] + dx, w["y"] + dy)
        for w in body["widgets"]
        for dx in range(w["width"])
        for dy in range(w["height"])
    }
    assert len(cells) == sum(w["width"] * w["height"] for w in body["widgets"])
    assert all(w["x"] + w["width"] <= 24 for w in body["widgets"])


def test_dashboard_with_decision_types_has_per_type_lines() -> None:
    body = dashboard_body("AgentMem", ["agent-1"], [DecisionType.SOURCE_SELECTION], region="x-1")
    typed = [line for line in _metric_lines(body) if "DecisionType" in line]
    assert {tuple(line[:6]) for line in typed} == {
        ("AgentMem", "SuccessRate", "AgentId", "agent-1", "DecisionType", SOURCE),
        ("AgentMem", "DecisionCount", "AgentId", "agent-1", "DecisionType", SOURCE),
    }


def test_dashboard_region_defaults_to_the_environment_or_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = dashboard_body("AgentMem", ["agent-1"])
    assert body["widgets"][1]["properties"]["region"] == "us-east-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="region"):
        dashboard_body("AgentMem", ["agent-1"])


def test_dashboard_needs_valid_agents() -> None:
    with pytest.raises(ValidationError, match="agent_ids"):
        dashboard_body("AgentMem", [], region="us-east-1")
    with pytest.raises(ValidationError, match="agent_ids"):
        dashboard_body("AgentMem", ["not an id"], region="us-east-1")


def test_created_dashboard_reads_back_with_its_body(cloudwatch: Any) -> None:
    result = create_dashboard(
        "agents", ["agent-1", "agent-2"], [SOURCE], namespace="Fleet", client=cloudwatch
    )
    assert result.name == "agents"
    assert result.arn is not None
    assert result.arn.endswith(":dashboard/agents")
    assert result.messages == ()
    stored = cloudwatch.get_dashboard(DashboardName="agents")
    body = json.loads(stored["DashboardBody"])
    assert body == dashboard_body("Fleet", ["agent-1", "agent-2"], [SOURCE], region="us-east-1")
    assert {line[0] for line in _metric_lines(body)} == {"Fleet"}
    assert {line[3] for line in _metric_lines(body)} == {"agent-1", "agent-2"}


def test_dashboard_warnings_are_returned(cloudwatch: Any) -> None:
    stubber = Stubber(cloudwatch)
    warning = {"DataPath": "/widgets/1", "Message": "Should have a title"}
    stubber.add_response("put_dashboard", {"DashboardValidationMessages": [warning]})
    stubber.add_response("get_dashboard", {"DashboardArn": "arn:aws:cloudwatch::1:dashboard/d"})
    with stubber:
        result = create_dashboard("d", ["agent-1"], client=cloudwatch)
    assert result.messages == ("/widgets/1: Should have a title",)
    assert result.arn == "arn:aws:cloudwatch::1:dashboard/d"


def test_dashboard_arn_is_none_when_get_dashboard_is_denied(cloudwatch: Any) -> None:
    stubber = Stubber(cloudwatch)
    stubber.add_response("put_dashboard", {})
    stubber.add_client_error("get_dashboard", "AccessDenied", http_status_code=403)
    with stubber:
        assert create_dashboard("d", ["agent-1"], client=cloudwatch).arn is None


# -- errors -----------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there now


def test_unreachable_cloudwatch_raises_store_unavailable(fleet: MemoryManager) -> None:
    client = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(StoreUnavailableError, match="PutMetricData") as caught:
        CloudWatchExporter(client=client).publish(fleet)
    assert "\n" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


def test_throttling_raises_store_unavailable(fleet: MemoryManager, cloudwatch: Any) -> None:
    stubber = Stubber(cloudwatch)
    stubber.add_client_error(
        "put_metric_data", "Throttling", "Rate exceeded\nslow down", http_status_code=400
    )
    with stubber, pytest.raises(StoreUnavailableError) as caught:
        CloudWatchExporter(client=cloudwatch).publish(fleet)
    assert str(caught.value) == "CloudWatch PutMetricData: Throttling: Rate exceeded slow down"


def test_rejected_metric_data_raises_validation_error(
    fleet: MemoryManager, cloudwatch: Any
) -> None:
    stubber = Stubber(cloudwatch)
    stubber.add_client_error("put_metric_data", "InvalidParameterValue", "bad value")
    with stubber, pytest.raises(ValidationError, match="InvalidParameterValue: bad value"):
        CloudWatchExporter(client=cloudwatch).publish(fleet)


def test_rejected_dashboard_raises_validation_error(cloudwatch: Any) -> None:
    stubber = Stubber(cloudwatch)
    stubber.add_client_error("put_dashboard", "InvalidParameterInput", "Body is invalid")
    with stubber, pytest.raises(ValidationError, match="PutDashboard"):
        create_dashboard("d", ["agent-1"], client=cloudwatch)


def test_missing_region_is_a_configuration_error(
    fleet: MemoryManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="region"):
        CloudWatchExporter().publish(fleet)


def test_exporter_makes_its_client_from_the_session(fleet: MemoryManager) -> None:
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        exporter = CloudWatchExporter(boto3_session=session)
        exporter.publish(fleet)
        assert exporter.client.meta.region_name == "eu-west-1"
        listed = session.client("cloudwatch").list_metrics(Namespace="AgentMem")["Metrics"]
        assert listed


def test_importing_the_module_does_not_import_boto3() -> None:
    code = "import sys, agentmem_langchain.analytics.cloudwatch; print('boto3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "False"


def _dim(name: str, value: str) -> dict[str, str]:
    return {"Name": name, "Value": value}


def test_a_memory_on_dynamodb_also_reports_its_journal(clock: FakeClock) -> None:
    from agentmem_langchain.analytics.cloudwatch import JOURNAL_METRIC
    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    with mock_aws():
        store = DynamoDBStore(region="us-east-1", table_prefix="cw_", clock=clock)
        store.create_all_tables()
        memory = MemoryManager("agent-1", store=store, clock=clock)
        _log(memory, FLEET)
        datums = CloudWatchExporter(region="us-east-1").metrics_for(memory)
    journal = [d for d in datums if d.name == JOURNAL_METRIC]
    assert len(journal) == 1
    assert journal[0].dimensions == (("TablePrefix", "cw_"),)
    assert journal[0].value == 0.0  # everything reached the store
    assert journal[0].unit == "Count"


def test_a_memory_on_another_store_reports_no_journal(fleet: MemoryManager) -> None:
    from agentmem_langchain.analytics.cloudwatch import JOURNAL_METRIC

    datums = CloudWatchExporter(region="us-east-1").metrics_for(fleet)
    assert JOURNAL_METRIC not in {d.name for d in datums}
