"""``DynamoDBStore(read_client=...)``: reads go through the given client (a DAX client in
production), writes through the store's own; on moto, with a second boto3 client standing in
for DAX and counting what it is asked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agentmem_langchain import MemoryManager
from agentmem_langchain.stores.dynamodb import DynamoDBStore


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        yield


def counting_client(calls: list[str]) -> Any:
    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    client = session.client("dynamodb")
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    return client


def test_reads_go_through_the_read_client_and_writes_do_not(moto: None) -> None:
    calls: list[str] = []
    store = DynamoDBStore(
        region="us-east-1", table_prefix="dax_", read_client=counting_client(calls)
    )
    store.create_all_tables()
    memory = MemoryManager("agent-1", store=store)
    decision_id = memory.log_decision(memory.prepare(_record("agent-1")))
    assert calls == []  # the write went through the store's own client

    found = memory.get_decision(decision_id)
    memory.query_decisions(limit=5)

    assert found is not None and found.decision_id == decision_id
    assert "GetItem" in calls or "Query" in calls
    assert set(calls) <= {"GetItem", "Query", "Scan", "BatchGetItem"}


def test_without_a_read_client_nothing_changes(moto: None) -> None:
    store = DynamoDBStore(region="us-east-1", table_prefix="plain_")
    store.create_all_tables()
    assert store.client_manager.read_client is None
    memory = MemoryManager("agent-1", store=store)
    decision_id = memory.log_decision(memory.prepare(_record("agent-1")))
    assert memory.get_decision(decision_id) is not None


def _record(agent_id: str) -> Any:
    from agentmem_langchain.models import DecisionRecord

    return DecisionRecord(agent_id=agent_id, decision_type="source_selection")


class DaxDown:
    """A read client that fails the way a DAX client does: with errors of its own."""

    class DaxClientError(Exception):
        pass

    def __init__(self) -> None:
        self.asked = 0

    def __getattr__(self, name: str) -> Any:
        def fail(**_: Any) -> Any:
            self.asked += 1
            raise DaxDown.DaxClientError("no DAX node answered")

        return fail


def test_reads_fall_back_to_dynamodb_when_the_read_client_fails(moto: None, caplog) -> None:
    dax = DaxDown()
    store = DynamoDBStore(region="us-east-1", table_prefix="daxdown_", read_client=dax)
    store.create_all_tables()
    memory = MemoryManager("agent-1", store=store)
    decision_id = memory.log_decision(memory.prepare(_record("agent-1")))

    found = memory.get_decision(decision_id)
    page = memory.query_decisions(limit=5)

    assert found is not None and found.decision_id == decision_id
    assert [d.decision_id for d in page.items] == [decision_id]
    assert dax.asked >= 2
    assert store.client_manager.read_client_failures == dax.asked
    assert "read from DynamoDB instead" in caplog.text
    # a failing read client does not mark DynamoDB down: writes and reads go on
    second = memory.log_decision(memory.prepare(_record("agent-1")))
    assert memory.get_decision(second) is not None
