"""The DynamoDB tables as a server sees them: keys, indexes, billing, TTL, and no Scans.

Every test runs against DescribeTable/DescribeTimeToLive output of a real DynamoDB-protocol
server: moto in process and dynalite on loopback (``tests/dynalite.py``). The expected
layout is written out literally here, so a change to ``dynamodb.schema`` that moves a key
or drops an index fails this module instead of passing silently.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from agentmem_langchain.errors import ConfigurationError
from agentmem_langchain.models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionOutcome,
    DecisionRecord,
    MemoryPattern,
    new_id,
)
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.dynamodb.client import DynamoDBClientManager
from agentmem_langchain.stores.dynamodb.schema import TABLES, delete_all_tables
from agentmem_langchain.testing import FakeClock
from tests.dynalite import shared_server

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BACKENDS = ["moto", "dynalite"]

# (table, partition key, sort key) and {index: (partition key, sort key)}, as documented in
# agentmem_langchain/stores/dynamodb/schema/. The seed's six GSIs are SuccessIndex,
# DecisionTypeIndex, STMIndex, ConfidenceIndex, SharedPatternIndex and TargetAgentIndex;
# the store adds TimeIndex, TraceIndex and ParentIndex on decisions and AgentRegistryIndex
# on state (the agent registry: partition "#agents", sorted by agent id).
EXPECTED: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "agent_decisions": (
        "agent_id",
        "decision_id",
        {
            "TimeIndex": ("agent_id", "ts"),
            "DecisionTypeIndex": ("type_pk", "ts"),
            "SuccessIndex": ("status_pk", "ts"),
            "STMIndex": ("stm_pk", "ts"),
            "TraceIndex": ("trace_pk", "ts"),
            "ParentIndex": ("parent_pk", "ts"),
        },
    ),
    "agent_memory_ltm": (
        "agent_id",
        "sk",
        {
            "ConfidenceIndex": ("conf_pk", "conf"),
            "SharedPatternIndex": ("grantee", "conf"),
        },
    ),
    "agent_state": (
        "agent_id",
        "sk",
        {"AgentRegistryIndex": ("registry_pk", "agent_id")},
    ),
    "agent_signals": ("agent_id", "sk", {"TargetAgentIndex": ("target_pk", "order")}),
}
SEED_INDEXES = {
    "agent_decisions": {"SuccessIndex", "DecisionTypeIndex", "STMIndex"},
    "agent_memory_ltm": {"ConfidenceIndex", "SharedPatternIndex"},
    "agent_signals": {"TargetAgentIndex"},
}
TTL_TABLES = {"agent_decisions", "agent_signals"}

_counter = itertools.count()
_session: list[Any] = []


def _prefix() -> str:
    return f"tt{os.getpid()}x{next(_counter)}_"


def _local_session() -> Any:
    """One session with dummy credentials for every client (moto and dynalite accept any)."""
    if not _session:
        _session.append(
            boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
            )
        )
    return _session[0]


@pytest.fixture
def make_manager(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., DynamoDBClientManager]]:
    """Managers of the parametrized backend (``backend``), each on tables of its own prefix;
    nothing is created until the test calls ``create_all_tables``."""
    backend: str = request.param
    made: list[DynamoDBClientManager] = []
    mock = None
    if backend == "moto":
        from moto import mock_aws

        mock = mock_aws()
        mock.start()

    def make(**options: Any) -> DynamoDBClientManager:
        endpoint = shared_server().endpoint_url if backend == "dynalite" else None
        manager = DynamoDBClientManager(
            "us-east-1",
            endpoint_url=endpoint,
            table_prefix=options.pop("table_prefix", _prefix()),
            boto3_session=_local_session(),
            **options,
        )
        made.append(manager)
        return manager

    try:
        yield make
    finally:
        for manager in made:
            if backend == "dynalite":
                delete_all_tables(manager.client, manager.names)
            manager.close()
        if mock is not None:
            mock.stop()


backends = pytest.mark.parametrize("make_manager", BACKENDS, indirect=True)


def _describe(manager: DynamoDBClientManager, seed_name: str) -> dict[str, Any]:
    return dict(manager.client.describe_table(TableName=manager.names.prefix + seed_name)["Table"])


def _keys(schema: list[Any]) -> tuple[str, str]:
    kinds = {k["KeyType"]: k["AttributeName"] for k in schema}
    assert set(kinds) == {"HASH", "RANGE"}, schema
    return kinds["HASH"], kinds["RANGE"]


def _own_tables(manager: DynamoDBClientManager) -> set[str]:
    pages = manager.client.get_paginator("list_tables").paginate()
    names = [name for page in pages for name in page["TableNames"]]
    return {n for n in names if n.startswith(manager.names.prefix)}


# -- shape ------------------------------------------------------------------------------------


@backends
def test_create_all_tables_makes_the_four_prefixed_tables(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    manager = make_manager()
    report = manager.create_all_tables()

    expected = {manager.names.prefix + name for name in EXPECTED}
    assert _own_tables(manager) == expected
    assert report.tables == dict.fromkeys(expected, "created")


@backends
@pytest.mark.parametrize("seed_name", list(EXPECTED))
def test_each_table_has_the_documented_keys_and_indexes(
    make_manager: Callable[..., DynamoDBClientManager], seed_name: str
) -> None:
    manager = make_manager()
    manager.create_all_tables()
    table = _describe(manager, seed_name)
    partition, sort, indexes = EXPECTED[seed_name]

    assert _keys(table["KeySchema"]) == (partition, sort)
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    described = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    assert set(described) == set(indexes)
    for name, (index_pk, index_sk) in indexes.items():
        assert _keys(described[name]["KeySchema"]) == (index_pk, index_sk), name
        assert described[name].get("IndexStatus", "ACTIVE") == "ACTIVE", name
    # Every key attribute (table or index) is declared, and as a string.
    key_names = {partition, sort} | {a for keys in indexes.values() for a in keys}
    types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    assert types == dict.fromkeys(key_names, "S")


@backends
def test_index_projections_match_the_schema_module(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    manager = make_manager()
    manager.create_all_tables()
    checked = 0
    for spec in TABLES:
        described = {
            i["IndexName"]: i["Projection"]
            for i in _describe(manager, spec.name).get("GlobalSecondaryIndexes", [])
        }
        for index in spec.indexes:
            want = index.projection_param()
            have = described[index.name]
            assert have["ProjectionType"] == want["ProjectionType"], index.name
            assert sorted(have.get("NonKeyAttributes", [])) == sorted(
                want.get("NonKeyAttributes", [])
            ), index.name
            checked += 1
    assert checked == sum(len(indexes) for _, _, indexes in EXPECTED.values()) == 10


def test_the_seeds_six_indexes_are_all_in_the_schema() -> None:
    by_table = {spec.name: {i.name for i in spec.indexes} for spec in TABLES}
    assert set(EXPECTED) == set(by_table)
    for table, seed in SEED_INDEXES.items():
        assert seed <= by_table[table], table
    assert sum(len(seed) for seed in SEED_INDEXES.values()) == 6
    # ...and the schema module documents exactly the layout this module expects.
    for spec in TABLES:
        partition, sort, indexes = EXPECTED[spec.name]
        assert (spec.partition_key, spec.sort_key) == (partition, sort)
        assert {i.name: (i.partition_key, i.sort_key) for i in spec.indexes} == indexes
        assert (spec.ttl_attribute is not None) == (spec.name in TTL_TABLES)


# -- idempotence ------------------------------------------------------------------------------


@backends
def test_create_all_tables_twice_creates_nothing_and_keeps_data(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    manager = make_manager()
    manager.create_all_tables()
    tables_before = _own_tables(manager)
    created_at = {spec.name: _describe(manager, spec.name)["CreationDateTime"] for spec in TABLES}
    key = {"agent_id": {"S": "a"}, "sk": {"S": "STATE"}}
    manager.client.put_item(TableName=manager.names.state, Item={**key, "doc": {"S": "{}"}})

    again = manager.create_all_tables()

    assert set(again.tables.values()) == {"exists"}
    assert set(again.tables) == tables_before
    assert _own_tables(manager) == tables_before
    for spec in TABLES:
        assert _describe(manager, spec.name)["CreationDateTime"] == created_at[spec.name]
    kept = manager.client.get_item(TableName=manager.names.state, Key=key, ConsistentRead=True)
    assert kept.get("Item", {}).get("doc") == {"S": "{}"}


@backends
def test_a_table_with_another_layout_is_refused_not_reused(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    manager = make_manager()
    manager.client.create_table(
        TableName=manager.names.state,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )

    with pytest.raises(ConfigurationError, match=manager.names.state):
        manager.create_all_tables()


@backends
def test_a_state_table_without_the_registry_index_is_refused_naming_it(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    # The state table as it was before the agent registry: same keys, no index.
    manager = make_manager()
    manager.client.create_table(
        TableName=manager.names.state,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "agent_id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "agent_id", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )

    with pytest.raises(ConfigurationError, match="AgentRegistryIndex"):
        manager.create_all_tables()


# -- TTL --------------------------------------------------------------------------------------


@pytest.mark.parametrize("make_manager", ["moto"], indirect=True)
def test_ttl_is_enabled_on_decisions_and_signals_only(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    manager = make_manager()
    report = manager.create_all_tables()

    for spec in TABLES:
        table = manager.names.physical(spec)
        ttl = manager.client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if spec.name in TTL_TABLES:
            assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING"), table
            assert ttl["AttributeName"] == "ttl", table
            assert report.ttl[table] == "enabled"
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", table
            assert report.ttl[table] == "not used"
    again = manager.create_all_tables()
    for spec in TABLES:
        table = manager.names.physical(spec)
        expected = "already enabled" if spec.name in TTL_TABLES else "not used"
        assert again.ttl[table] == expected


@pytest.mark.parametrize("make_manager", ["dynalite"], indirect=True)
def test_a_server_without_update_time_to_live_is_reported_not_fatal(
    make_manager: Callable[..., DynamoDBClientManager],
) -> None:
    manager = make_manager()
    report = manager.create_all_tables()

    for spec in TABLES:
        table = manager.names.physical(spec)
        assert report.tables[table] == "created"
        if spec.name in TTL_TABLES:
            assert report.ttl[table].startswith("unsupported by this server"), report.ttl
        else:
            assert report.ttl[table] == "not used"
        assert _describe(manager, spec.name)["TableStatus"] == "ACTIVE"
    assert "TTL unsupported" in str(report)


# -- no Scan in normal use --------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[DynamoDBStore]:
    """A DynamoDBStore with fresh tables on moto or dynalite, its clock at ``T0``."""
    mock = None
    endpoint = None
    if request.param == "moto":
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
    else:
        endpoint = shared_server().endpoint_url
    made = DynamoDBStore(
        region="us-east-1",
        endpoint_url=endpoint,
        table_prefix=_prefix(),
        boto3_session=_local_session(),
        clock=FakeClock(T0),
    )
    made.create_all_tables()
    try:
        yield made
    finally:
        if endpoint is not None:
            made.client_manager.delete_all_tables()
        made.close()
        if mock is not None:
            mock.stop()


def _record_operations(store: DynamoDBStore) -> list[str]:
    """The API name of every request the store's client makes from now on."""
    seen: list[str] = []

    def note(model: Any, **_: Any) -> None:
        seen.append(model.name)

    store.client_manager.client.meta.events.register("before-call.dynamodb", note)
    return seen


def _workload(store: DynamoDBStore) -> None:
    """Every MemoryStore operation a contract-like run makes, except housekeeping."""
    a, b = "agent-a", "agent-b"
    trace = new_id()
    root = DecisionRecord(agent_id=a, decision_type="plan", timestamp=T0 - timedelta(minutes=5))
    child = DecisionRecord(
        agent_id=a,
        decision_type="tool_call",
        timestamp=T0 - timedelta(minutes=4),
        parent_decision_id=root.decision_id,
        trace_id=trace,
    )
    store.put_decision(root)
    store.put_decisions(
        [
            child,
            *(
                DecisionRecord(
                    agent_id=a, decision_type="tool_call", timestamp=T0 - timedelta(seconds=i)
                )
                for i in range(1, 4)
            ),
        ]
    )
    assert store.get_decision(a, root.decision_id) is not None
    store.set_outcome(a, child.decision_id, DecisionOutcome(success=True, recorded_at=T0))
    assert store.query_decisions(a, limit=2).next_cursor is not None
    store.query_decisions(a, decision_type="tool_call", start=T0 - timedelta(hours=1), end=T0)
    assert len(store.query_decisions(a, success=True).items) == 1
    store.query_decisions(a, success=True, decision_type="tool_call")
    assert store.list_unconsolidated(a, before=T0).items
    store.mark_consolidated(a, [root.decision_id])
    assert [d.decision_id for d in store.get_children(a, root.decision_id)] == [child.decision_id]
    assert len(store.get_trace(a, trace)) == 1
    assert store.decision_stats(a, start=T0 - timedelta(hours=1), end=T0).total == 5

    pattern = MemoryPattern(
        agent_id=a, confidence=0.8, shared_with=[b], created_at=T0, updated_at=T0
    )
    store.put_pattern(pattern, expected_version=None)
    store.put_pattern(
        pattern.model_copy(update={"version": 2, "confidence": 0.9}), expected_version=1
    )
    assert store.get_pattern(a, pattern.pattern_id) is not None
    assert len(store.list_patterns(a, min_confidence=0.5).items) == 1
    assert len(store.list_shared_patterns(b)) == 1
    assert len(store.get_pattern_history(a, pattern.pattern_id)) == 2

    saved = store.save_state(AgentState(agent_id=a, updated_at=T0))
    store.create_checkpoint(a, "first")
    store.save_state(saved.model_copy(update={"status": "paused"}))
    assert store.list_checkpoints(a)
    assert store.rollback(a, "first").status == "active"
    assert store.load_state(a) is not None

    store.publish_signal(
        AgentSignal(source_agent_id=a, signal_type="alert", target_agent_ids=[b], created_at=T0)
    )
    store.publish_signal(
        AgentSignal(source_agent_id=b, signal_type="note", broadcast=True, created_at=T0)
    )
    assert len(store.pending_signals(b)) == 1
    claimed = store.claim_signals(a, lease_seconds=30)
    assert len(claimed) == 1
    store.release_signal(a, claimed[0].signal_id)
    assert store.mark_signal_processed(a, claimed[0].signal_id)
    assert store.pending_signals(a) == []

    store.register_agent(AgentRegistration(agent_id=a, capabilities=["plan"], last_heartbeat=T0))
    store.register_agent(AgentRegistration(agent_id=b, last_heartbeat=T0))
    assert store.heartbeat(a, T0 + timedelta(seconds=1))
    assert store.get_agent(a) is not None
    assert [r.agent_id for r in store.list_agents(seen_since=T0, capability="plan")] == [a]
    assert store.deregister_agent(b)


def test_a_contract_like_workload_never_scans(store: DynamoDBStore) -> None:
    seen = _record_operations(store)

    _workload(store)

    assert "Scan" not in seen
    # The hook saw the traffic: every kind of read and write the store uses.
    assert {"GetItem", "Query", "BatchGetItem", "PutItem", "UpdateItem"} <= set(seen)
    assert {"BatchWriteItem", "DeleteItem"} <= set(seen)


def test_purge_expired_is_the_one_operation_that_scans(store: DynamoDBStore) -> None:
    seen = _record_operations(store)

    store.purge_expired()

    assert "Scan" in seen
