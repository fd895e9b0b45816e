"""What DynamoDB items can hold: oversized captures truncated visibly, numbers and odd values
round-tripped, on moto and on the dynalite server."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agentmem_langchain import DecisionOutcome, DecisionReasoning, DecisionRecord
from agentmem_langchain.errors import ValidationError
from agentmem_langchain.stores.dynamodb.schema import (
    MAX_ITEM_BYTES,
    TRUNCATED_KEY,
    decision_item,
    item_size,
    n,
)
from agentmem_langchain.testing import FakeClock
from tests.contract.conftest_dynamodb import dynalite_store, moto_store

AGENT = "item-agent"


@pytest.fixture(params=["moto", "dynalite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    factory = {"moto": moto_store, "dynalite": dynalite_store}[request.param]
    return factory(tmp_path, FakeClock(), request)


def _record(**context_inputs: object) -> DecisionRecord:
    return DecisionRecord(
        agent_id=AGENT, decision_type="tool_call", context={"inputs": context_inputs}
    )


def test_a_decision_over_400_kb_is_stored_with_its_largest_field_truncated(store):
    record = DecisionRecord(
        agent_id=AGENT,
        decision_type="tool_call",
        context={"market": {"btc_price": 45000.0}, "inputs": {"page": "x" * 600_000}},
    )
    store.put_decision(record)
    back = store.get_decision(AGENT, record.decision_id)
    assert back is not None
    assert back.context.market == {"btc_price": 45000.0}  # the small field is kept
    marker = back.context.inputs[TRUNCATED_KEY]
    assert marker["bytes"] > 600_000
    assert "truncated by agentmem" in marker["note"]
    assert marker["preview"].startswith('{"page":"xxx')


def test_an_outcome_over_the_budget_attached_later_is_truncated_not_refused(store):
    record = _record(page="y" * 300_000)  # leaves room for a small outcome only
    store.put_decision(record)
    huge = DecisionOutcome(success=False, error="boom", details={"dump": "z" * 500_000})
    updated = store.set_outcome(AGENT, record.decision_id, huge)
    back = store.get_decision(AGENT, record.decision_id)
    assert back is not None and back.outcome is not None
    assert back.outcome.success is False and back.outcome.error == "boom"
    assert "truncated by agentmem" in json.dumps(back.outcome.details)
    assert updated.outcome == back.outcome


def test_batched_oversized_decisions_are_all_written(store):
    records = [_record(blob=str(i) * 450_000) for i in range(3)]
    store.put_decisions(records)
    for record in records:
        back = store.get_decision(AGENT, record.decision_id)
        assert back is not None and TRUNCATED_KEY in back.context.inputs


def test_floats_empty_strings_and_nested_maps_round_trip_exactly(store):
    record = DecisionRecord(
        agent_id=AGENT,
        decision_type="source_selection",
        context={
            "market": {"btc_price": 45000.123456789, "note": "", "depth": {"a": {"b": [1.5]}}}
        },
        reasoning=DecisionReasoning(
            scores={"coinglass": 0.1 + 0.2, "tiny": 1e-300}, confidence=1 / 3
        ),
        metadata={"empty": "", "nested": {"list": [{"x": None}]}},
        outcome=DecisionOutcome(success=True, latency_ms=0.1 + 0.7),
    )
    store.put_decision(record)
    assert store.get_decision(AGENT, record.decision_id) == record


def test_item_size_matches_dynamodbs_rule_for_strings_and_numbers():
    assert item_size({"ab": {"S": "héllo"}}) == 2 + len("héllo".encode())
    assert item_size({"n": {"N": "12345"}}) == 1 + 5 // 2 + 2
    assert MAX_ITEM_BYTES < 400 * 1024


def test_nan_and_infinity_cannot_become_dynamodb_numbers():
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValidationError):
            n(bad)


def test_a_small_decision_item_is_not_touched():
    record = _record(symbol="BTC")
    item = decision_item(record)
    assert TRUNCATED_KEY not in item["doc"]["S"]
    assert json.loads(item["doc"]["S"])["context"]["inputs"] == {"symbol": "BTC"}
