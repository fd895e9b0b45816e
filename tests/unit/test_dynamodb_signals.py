"""What a DynamoDB claim costs once an agent has a history of processed signals."""

from __future__ import annotations

from typing import Any

from agentmem_langchain.coordination import MultiAgentCoordinator
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.testing import FakeClock
from tests.contract.conftest_dynamodb import moto_store


def _status_keys_read(store: Any) -> list[int]:
    counts: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        counts.extend(len(r["Keys"]) for r in params["RequestItems"].values())

    store.client_manager.client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", count
    )
    return counts


def test_processed_signals_are_not_read_again_by_later_claims(tmp_path, request):
    store = moto_store(tmp_path, FakeClock(), request)
    coordinator = MultiAgentCoordinator(store)
    for i in range(60):
        coordinator.publish_signal("producer", "tick", {"i": i}, targets=["consumer"])
    while claimed := coordinator.consume_signals("consumer", limit=25):
        for signal in claimed:
            assert coordinator.ack("consumer", signal.signal_id)

    reads = _status_keys_read(store)
    assert coordinator.consume_signals("consumer") == []
    assert sum(reads) == 0  # 60 processed deliveries, no status read for any of them

    fresh = coordinator.publish_signal("producer", "tick", {"i": 60}, targets=["consumer"])
    [claimed] = coordinator.consume_signals("consumer")
    assert claimed.signal_id == fresh.signal_id
    assert sum(reads) == 1  # only the new delivery's status


def test_another_store_object_learns_processed_statuses_once(tmp_path, request):
    store = moto_store(tmp_path, FakeClock(), request)
    first = MultiAgentCoordinator(store)
    sent = first.publish_signal("producer", "tick", {}, targets=["consumer"])
    assert first.ack("consumer", sent.signal_id)

    other = DynamoDBStore(region="us-east-1", table_prefix=store.client_manager.names.prefix)
    reads = _status_keys_read(other)
    second = MultiAgentCoordinator(other)
    assert second.consume_signals("consumer") == []
    assert second.consume_signals("consumer") == []
    assert sum(reads) == 1  # read once, then remembered
