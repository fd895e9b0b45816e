"""Cost projection from measured units, the least-privilege IAM policy, and their commands."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from agentmem_langchain import AgentRegistration, MemoryManager, MemoryPattern, ValidationError
from agentmem_langchain.analytics.cost import Prices, measure_cycles, project_monthly_cost
from agentmem_langchain.cli import app
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.dynamodb.client import Usage, UsageLine
from agentmem_langchain.stores.dynamodb.iam import iam_policy
from agentmem_langchain.stores.dynamodb.schema import TABLES, TableNames

runner = CliRunner()


@pytest.fixture
def moto_store():
    with mock_aws():
        store = DynamoDBStore(region="us-east-1", table_prefix="unit_")
        store.create_all_tables()
        yield store
        store.close()


def _usage(reads: float, writes: float, index_writes: float = 0.0) -> Usage:
    return Usage(
        (
            UsageLine("agent_decisions", "put_decision", "PutItem", 1, 0.0, writes, index_writes),
            UsageLine("agent_decisions", "get_decision", "GetItem", 1, reads, 0.0, 0.0),
        )
    )


def test_projection_scales_measured_units_to_thirty_days_of_cycles():
    estimate = project_monthly_cost(
        _usage(reads=20.0, writes=80.0, index_writes=20.0),
        cycles=10,
        cycles_per_day=144,
        prices=Prices(write_per_million=1.0, read_per_million=0.5, storage_per_gb_month=0.0),
    )
    assert estimate.write_units_per_cycle == pytest.approx(10.0)  # index writes are billed
    assert estimate.monthly_write_units == pytest.approx(10.0 * 144 * 30)
    assert estimate.write_usd == pytest.approx(10.0 * 144 * 30 / 1e6)
    assert estimate.read_usd == pytest.approx(2.0 * 144 * 30 / 1e6 * 0.5)
    assert estimate.total_usd == pytest.approx(estimate.write_usd + estimate.read_usd)


def test_projection_counts_storage_kept_for_the_retention_window():
    estimate = project_monthly_cost(
        _usage(0.0, 0.0), cycles=1, cycles_per_day=100, stored_bytes_per_cycle=1e6
    )
    assert estimate.storage_gb == pytest.approx(100 * 30 * 1e6 / 1e9)
    assert estimate.storage_usd == pytest.approx(estimate.storage_gb * 0.25)


@pytest.mark.parametrize("bad", [{"cycles": 0}, {"cycles_per_day": 0}, {"cycles_per_day": -1}])
def test_projection_rejects_impossible_rates(bad: dict[str, Any]):
    with pytest.raises(ValueError, match=next(iter(bad))):
        project_monthly_cost(_usage(1, 1), **{"cycles": 1, **bad})


def test_prices_must_be_finite_and_non_negative():
    with pytest.raises(ValueError, match="read_per_million"):
        Prices(read_per_million=float("nan"))


def test_measured_cycles_consume_units_on_every_table_they_touch(moto_store):
    measured = measure_cycles(moto_store, cycles=3)
    tables = measured.usage.by_table()
    assert measured.cycles == 3
    assert tables["agent_decisions"]["write_units"] > 0
    assert tables["agent_state"]["write_units"] > 0
    assert tables["agent_signals"]["write_units"] > 0
    assert measured.usage.read_units > 0
    assert measured.stored_bytes_per_cycle > 5 * 200  # five decisions of some hundred bytes
    decisions = moto_store.query_decisions("cost-probe-agent", limit=100).items
    assert len(decisions) == 15
    assert all(d.outcome is not None and d.outcome.success for d in decisions)


def test_cost_command_measures_on_moto_and_prints_json():
    result = runner.invoke(
        app, ["cost", "--sample-cycles", "2", "--cycles-per-day", "144", "--json"]
    )
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.output)
    assert estimate["cycles_per_day"] == 144
    assert estimate["write_units_per_cycle"] > 0
    assert estimate["total_usd"] == pytest.approx(
        estimate["read_usd"] + estimate["write_usd"] + estimate["storage_usd"]
    )


def test_cost_command_reports_an_unreachable_endpoint_in_one_line(unused_tcp_port: int):
    result = runner.invoke(
        app,
        ["--endpoint-url", f"http://127.0.0.1:{unused_tcp_port}", "cost", "--sample-cycles", "1"],
    )
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "Traceback" not in result.output


# -- IAM --------------------------------------------------------------------------------------


def test_policy_limits_the_agent_to_its_own_leading_keys():
    policy = iam_policy("btc-agent-001", table_prefix="prod_", region="us-east-1")
    own = policy["Statement"][0]
    assert own["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["btc-agent-001", "btc-agent-001#*"]}
    }
    assert "dynamodb:Scan" not in own["Action"]
    names = TableNames("prod_")
    for spec in TABLES:
        assert f"arn:aws:dynamodb:us-east-1:*:table/{names.physical(spec)}" in own["Resource"]


def test_policy_rejects_an_agent_id_that_could_widen_the_pattern():
    with pytest.raises(ValidationError, match="agent_id"):
        iam_policy("btc*")


def _allowed(policy: dict[str, Any], table: str, index: str | None, leading_key: str) -> bool:
    resource = f"arn:aws:dynamodb:*:*:table/{table}" + (f"/index/{index}" if index else "")
    for statement in policy["Statement"]:
        if resource not in statement["Resource"]:
            continue
        (operator, values), *_ = statement["Condition"].items()
        patterns = values["dynamodb:LeadingKeys"]
        match = fnmatch.fnmatchcase if operator.endswith("StringLike") else str.__eq__
        if any(match(leading_key, p) for p in patterns):
            return True
    return False


def _leading_keys(
    params: dict[str, Any], api: str, names: TableNames
) -> list[tuple[str, Any, str]]:
    """(table, index, partition-key value) of every key a request names."""
    specs = {names.physical(spec): spec for spec in TABLES}
    found: list[tuple[str, Any, str]] = []
    if api == "Query":
        pk = re.match(r"(#\w+) = (:\w+)", params["KeyConditionExpression"])
        assert pk is not None, params["KeyConditionExpression"]
        value = params["ExpressionAttributeValues"][pk.group(2)]["S"]
        found.append((params["TableName"], params.get("IndexName"), value))
    elif api in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        item = params.get("Key") or params["Item"]
        spec = specs[params["TableName"]]
        found.append((params["TableName"], None, item[spec.partition_key]["S"]))
    elif api in ("BatchGetItem", "BatchWriteItem"):
        for table, requests in params["RequestItems"].items():
            pk = specs[table].partition_key
            keys = requests["Keys"] if api == "BatchGetItem" else requests
            for entry in keys:
                if api == "BatchWriteItem":
                    request = entry.get("PutRequest") or entry["DeleteRequest"]
                    entry = request.get("Item") or request["Key"]
                found.append((table, None, entry[pk]["S"]))
    return found


def test_every_request_of_an_agents_workload_is_allowed_by_its_policy(moto_store):
    """The policy is checked against what the store really sends, on a workload that reads
    what others shared with the agent and what they broadcast to it, and that registers
    the agent and lists the others."""
    eth = AgentRegistration(agent_id="eth-agent-002", capabilities=["eth"])
    moto_store.register_agent(eth)
    other = MemoryManager("eth-agent-002", store=moto_store)
    other.store_pattern(
        MemoryPattern(
            agent_id="eth-agent-002",
            decision_type="tool_call",
            description="shared",
            confidence=0.7,
            shared_with=["btc-agent-001"],
        )
    )
    other.publish_signal("market_signal", {"side": "long"}, targets=["btc-agent-001"])
    other.publish_signal("market_signal", {"side": "short"}, broadcast=True)

    sent: list[tuple[str, dict[str, Any]]] = []
    client = moto_store.client_manager.client

    def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, params))

    client.meta.events.register("provide-client-params.dynamodb.*", remember)
    memory = MemoryManager("btc-agent-001", store=moto_store)
    measure_cycles(moto_store, cycles=1, agent_id="btc-agent-001")
    assert len(memory.get_shared_patterns()) == 1
    claimed = memory.claim_signals(limit=10)
    assert len(claimed) == 2
    for signal in claimed:
        memory.mark_signal_processed(signal.signal_id)
    memory.checkpoint("c1")
    memory.rollback("c1")
    me = AgentRegistration(agent_id="btc-agent-001", capabilities=["btc"])
    moto_store.register_agent(me)
    moto_store.register_agent(me)  # re-registering replaces it
    assert moto_store.heartbeat("btc-agent-001", me.last_heartbeat)
    assert moto_store.get_agent("btc-agent-001") == me
    listed = moto_store.list_agents(seen_since=eth.last_heartbeat)
    assert [r.agent_id for r in listed] == ["btc-agent-001", "eth-agent-002"]
    assert [r.agent_id for r in moto_store.list_agents(capability="eth")] == ["eth-agent-002"]
    assert moto_store.deregister_agent("btc-agent-001")
    assert not moto_store.heartbeat("btc-agent-001", me.last_heartbeat)
    assert not moto_store.deregister_agent("btc-agent-001")

    policy = iam_policy("btc-agent-001", table_prefix="unit_")
    checked = 0
    for api, params in sent:
        for table, index, key in _leading_keys(params, api, TableNames("unit_")):
            assert _allowed(policy, table, index, key), (api, table, index, key)
            checked += 1
    assert checked > 30
    apis = {(api, p["TableName"], p.get("IndexName")) for api, p in sent if "TableName" in p}
    state = "unit_agent_state"
    for api in ("PutItem", "UpdateItem", "GetItem", "DeleteItem"):
        assert (api, state, None) in apis, api
    assert ("Query", state, "AgentRegistryIndex") in apis
    assert not _allowed(policy, "unit_agent_decisions", None, "eth-agent-002")
    # Another agent's registration can be listed, never written, read by key or deleted.
    assert not _allowed(policy, state, None, "eth-agent-002")
    assert _allowed(policy, state, "AgentRegistryIndex", "#agents")
    [registry] = [s for s in policy["Statement"] if "#agents" in json.dumps(s["Condition"])]
    assert registry["Action"] == ["dynamodb:Query"]
    assert registry["Resource"] == [f"arn:aws:dynamodb:*:*:table/{state}/index/AgentRegistryIndex"]


def test_an_agent_cannot_appear_in_the_registry_as_another(moto_store):
    """What the policy lets an agent write is its own partition, whatever index keys the
    items carry; the registry shows only an item that is its partition's registration."""
    client = moto_store.client_manager.client
    forged = AgentRegistration(agent_id="eth-agent-002", capabilities=["admin"])
    doc = {"S": forged.model_dump_json(exclude={"last_heartbeat"})}
    common = {"registry_pk": {"S": "#agents"}, "last_heartbeat": {"N": "1"}, "doc": doc}
    for sk in ("REGISTRATION", "REGISTRATION#2", "STATE#x"):
        client.put_item(
            TableName="unit_agent_state",
            Item={"agent_id": {"S": "btc-agent-001"}, "sk": {"S": sk}, **common},
        )

    assert moto_store.list_agents() == []
    assert moto_store.get_agent("btc-agent-001") is None
    assert moto_store.get_agent("eth-agent-002") is None
    moto_store.register_agent(AgentRegistration(agent_id="btc-agent-001"))
    assert [r.agent_id for r in moto_store.list_agents()] == ["btc-agent-001"]


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_iam_policy_command_prints_the_policy_json():
    result = runner.invoke(app, ["iam-policy", "--agent-id", "btc-agent-001"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == iam_policy("btc-agent-001")


def test_init_creates_dynamodb_tables_with_store_options_after_the_command():
    with mock_aws():
        result = runner.invoke(app, ["--region", "us-east-1", "init", "--store", "dynamodb"])
        assert result.exit_code == 0, result.output
        tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    assert "agentmem_agent_decisions" in tables
    assert "created" in result.output
