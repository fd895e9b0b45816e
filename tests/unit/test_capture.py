"""CapturedDecision.to_record: lenient JSON, secret masking, redaction, truncation, reasoning."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from ulid import ULID

from agentmem_langchain import capture
from agentmem_langchain.capture import (
    CapturedDecision,
    CaptureSettings,
    current_decision,
    current_parent,
    fast_id,
    register_parent_resolver,
    unregister_parent_resolver,
    use_decision,
)


def captured(**fields):
    fields.setdefault("agent_id", "agent-1")
    fields.setdefault("decision_type", "tool_call")
    return CapturedDecision(**fields)


def test_fast_id_is_a_ulid_of_now_and_sorts_by_time():
    ids = [fast_id() for _ in range(500)]
    assert len(set(ids)) == 500
    for value in ids:
        assert str(ULID.from_str(value)) == value
    stamp = ULID.from_str(ids[0]).datetime
    assert abs((stamp - datetime.now(timezone.utc)).total_seconds()) < 5


def test_secret_looking_keys_are_masked_at_any_depth():
    record = captured(
        inputs={"api_key": "sk-1", "config": {"Password": "p", "nested": [{"auth_token": "t"}]}},
        context_extra={"Authorization": "Bearer x", "region": "eu"},
    ).to_record()
    assert record.context.inputs["api_key"] == "***"
    assert record.context.inputs["config"]["Password"] == "***"
    assert record.context.inputs["config"]["nested"][0]["auth_token"] == "***"
    assert record.context.extra == {"Authorization": "***", "region": "eu"}


def test_unconvertible_values_become_their_repr_and_nan_becomes_none():
    class Opaque:
        def __repr__(self):
            return "<opaque>"

    record = captured(inputs={"o": Opaque(), "nan": math.nan, "b": b"xy", "s": {2, 1}}).to_record()
    assert record.context.inputs == {"o": "<opaque>", "nan": None, "b": "b'xy'", "s": [1, 2]}


def test_a_repr_that_raises_is_replaced_by_the_type_name():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    record = captured(inputs={"x": Broken()}).to_record()
    assert record.context.inputs["x"] == "<Broken object>"


def test_large_values_are_truncated_with_a_visible_marker():
    settings = CaptureSettings(max_value_chars=100)
    record = captured(inputs={"text": "a" * 1000, "rows": list(range(500))}).to_record(settings)
    text = record.context.inputs["text"]
    assert text.startswith("a" * 100) and text.endswith("…[truncated 900 chars]")
    assert record.context.inputs["rows"].endswith("chars]")
    assert len(record.context.inputs["rows"]) < 130


def test_redact_hook_sees_json_copies_and_its_changes_are_stored():
    seen = {}

    def redact(data):
        seen.update(data)
        data["inputs"]["email"] = "[email]"
        return data

    original = {"email": "a@b.c", "n": 1}
    record = captured(inputs=original, redact=redact).to_record()
    assert record.context.inputs == {"email": "[email]", "n": 1}
    assert original["email"] == "a@b.c"  # the user's object is never changed
    assert set(seen) == {"inputs", "result", "context"}


def test_a_failing_redact_hook_withholds_the_values_and_warns():
    def redact(data):
        raise ValueError("boom")

    warnings: list[str] = []
    record = captured(inputs={"plan": "PLAN-B-DETAILS", "n": 1}, redact=redact).to_record(
        warn=warnings.append
    )
    assert "PLAN-B-DETAILS" not in record.model_dump_json()
    assert warnings and "redact hook failed" in warnings[0]


def test_settings_redact_applies_after_the_decisions_own():
    settings = CaptureSettings(redact=lambda d: {**d, "inputs": {"only": "this"}})
    record = captured(inputs={"a": 1}).to_record(settings)
    assert record.context.inputs == {"only": "this"}


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan, math.inf, "high", True])
def test_invalid_confidence_is_dropped_with_a_warning_not_an_error(bad):
    warnings: list[str] = []
    item = captured()
    item.confidence = bad
    record = item.to_record(warn=warnings.append)
    assert record.reasoning.confidence is None
    assert len(warnings) == 1 and "confidence" in warnings[0]


def test_reasoning_fields_set_through_the_current_decision_are_kept():
    item = captured()
    with use_decision(item):
        now = current_decision()
        assert now is item
        now.confidence = 0.7
        now.scores = {"a": 0.9, "b": math.nan}
        now.selected = "a"
        now.alternatives = ("b",)
        now.patterns_applied = ["p1"]
        now.rationale = "a is best"
    assert current_decision() is None
    record = item.to_record(warn=lambda m: None)
    reasoning = record.reasoning
    assert reasoning.confidence == 0.7
    assert reasoning.scores == {"a": 0.9}
    assert (reasoning.selected, reasoning.alternatives) == (["a"], ["b"])
    assert reasoning.patterns_applied == ["p1"]
    assert reasoning.rationale == "a is best"


def test_reasoning_is_read_from_a_mapping_result():
    item = captured()
    item.finish({"confidence": 0.8, "reasoning": "cheap", "selected": ["x"], "other": 1})
    record = item.to_record()
    assert (record.reasoning.confidence, record.reasoning.rationale) == (0.8, "cheap")
    assert record.reasoning.selected == ["x"]
    assert record.metadata["result"]["other"] == 1


def test_reasoning_is_read_from_an_object_result_and_explicit_values_win():
    @dataclass
    class Verdict:
        confidence: float
        scores: dict[str, float]
        reasoning: dict[str, object]

    item = captured()
    item.confidence = 0.3
    item.finish(Verdict(0.9, {"a": 1.0}, {"rationale": "nested", "selected": ["a"]}))
    record = item.to_record()
    assert record.reasoning.confidence == 0.3
    assert record.reasoning.scores == {"a": 1.0}
    assert (record.reasoning.rationale, record.reasoning.selected) == ("nested", ["a"])


def test_an_error_becomes_a_failed_outcome_with_type_message_and_traceback():
    try:
        raise KeyError("missing")
    except KeyError as exc:
        error = exc
    item = captured()
    item.finish(error=error)
    record = item.to_record(CaptureSettings(max_traceback_chars=60))
    outcome = record.outcome
    assert outcome is not None and outcome.success is False
    assert (outcome.error_type, outcome.error) == ("KeyError", "'missing'")
    trace = outcome.details["traceback"]
    assert trace.startswith("…[truncated") and trace.endswith("KeyError: 'missing'\n")
    assert outcome.latency_ms is not None and outcome.latency_ms >= 0


def test_market_and_cycle_arguments_fill_the_seed_context_fields():
    record = captured(inputs={"market": {"btc": 1.0}, "cycle": 3, "q": "x"}).to_record()
    assert record.context.market == {"btc": 1.0}
    assert record.context.cycle == 3
    assert record.context.inputs == {"q": "x"}


def test_child_links_to_parent_and_root_trace():
    root = captured()
    with use_decision(root):
        assert current_parent() == (root.decision_id, root.decision_id)
        child = captured(parent_decision_id=root.decision_id, trace_id=root.decision_id)
        with use_decision(child):
            assert current_parent() == (child.decision_id, root.decision_id)
    record = child.to_record()
    assert (record.parent_decision_id, record.trace_id) == (root.decision_id, root.decision_id)


def test_a_resolver_supplies_the_parent_when_no_decision_is_current_and_may_fail():
    def broken():
        raise RuntimeError("resolver bug")

    def langchain_run():
        return ("01J0000000000000000000000A", None)

    register_parent_resolver(broken)
    register_parent_resolver(langchain_run)
    register_parent_resolver(langchain_run)  # idempotent
    errors_before = capture.capture_error_count()
    try:
        assert current_parent() == ("01J0000000000000000000000A",) * 2
        assert capture.capture_error_count() == errors_before + 1
    finally:
        unregister_parent_resolver(broken)
        unregister_parent_resolver(langchain_run)
    assert current_parent() == (None, None)


def test_an_invalid_agent_id_fails_to_build_a_record():
    with pytest.raises(ValueError, match="agent_id"):
        captured(agent_id="bad agent id").to_record()
