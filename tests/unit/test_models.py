"""The data model: what is accepted, what is rejected (and how), and JSON round trips."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pydantic
import pytest

from agentmem_langchain.enums import DecisionType, OutcomeStatus, PatternStatus, ProcessingStatus
from agentmem_langchain.errors import AgentMemError, ValidationError
from agentmem_langchain.models import (
    AgentSignal,
    AgentState,
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
    PatternVersion,
    StateCheckpoint,
    new_id,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Inner(pydantic.BaseModel):
    name: str
    when: datetime


def record(**fields: Any) -> DecisionRecord:
    return DecisionRecord(**{"agent_id": "agent-1", "decision_type": "tool_call", **fields})


def full_record() -> DecisionRecord:
    root = record()
    return record(
        timestamp=T0,
        parent_decision_id=root.decision_id,
        trace_id=root.decision_id,
        context={"market": {"btc": 64000.5}, "cycle": 7, "inputs": {"q": "x"}, "region": "eu"},
        reasoning={"scores": {"a": 0.5}, "selected": ["a"], "confidence": 0.75, "rationale": "r"},
        outcome={"success": True, "quality_score": 0.9, "latency_ms": 12.5, "recorded_at": T0},
        ttl=1_900_000_000,
        tags=["live"],
        metadata={"nested": {"list": [1, 2.5, None, True, "s"]}},
    )


# -- errors -------------------------------------------------------------------------------


def test_invalid_model_raises_the_librarys_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        record(agent_id="")

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, AgentMemError)


def test_validation_error_from_model_validate_is_the_librarys() -> None:
    with pytest.raises(ValidationError):
        DecisionRecord.model_validate({"agent_id": "a", "decision_type": ""})


def test_validation_error_from_model_validate_json_is_the_librarys() -> None:
    with pytest.raises(ValidationError):
        DecisionRecord.model_validate_json('{"agent_id": "a b", "decision_type": "x"}')


def test_validation_error_names_model_field_and_value() -> None:
    with pytest.raises(ValidationError) as caught:
        record(reasoning={"confidence": 1.5})

    assert caught.value.field == "reasoning.confidence"
    assert caught.value.value == 1.5
    assert "DecisionRecord.reasoning.confidence" in str(caught.value)
    assert "1.5" in str(caught.value)


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="confidnce"):
        DecisionReasoning(confidnce=0.5)  # type: ignore[call-arg]


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.01, 1.01, 2])
def test_confidence_outside_unit_interval_is_rejected(bad: float) -> None:
    with pytest.raises(ValidationError, match="confidence"):
        DecisionReasoning(confidence=bad)


@pytest.mark.parametrize("good", [0, 0.0, 0.5, 1, 1.0])
def test_confidence_on_the_unit_interval_is_accepted(good: float) -> None:
    assert DecisionReasoning(confidence=good).confidence == good


@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.1, 1.1])
def test_quality_score_outside_unit_interval_is_rejected(bad: float) -> None:
    with pytest.raises(ValidationError, match="quality_score"):
        DecisionOutcome(success=True, quality_score=bad)


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf])
def test_negative_or_non_finite_latency_is_rejected(bad: float) -> None:
    with pytest.raises(ValidationError, match="latency_ms"):
        DecisionOutcome(success=True, latency_ms=bad)


def test_zero_latency_is_accepted() -> None:
    assert DecisionOutcome(success=False, latency_ms=0).latency_ms == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_score_is_rejected(bad: float) -> None:
    with pytest.raises(ValidationError, match=r"scores\.a"):
        DecisionReasoning(scores={"a": bad})


@pytest.mark.parametrize("field", ["confidence", "success_rate", "mean_quality"])
def test_pattern_unit_fields_outside_unit_interval_are_rejected(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        MemoryPattern(agent_id="a", **{field: 1.5})


def test_pattern_with_more_successes_than_samples_is_rejected() -> None:
    with pytest.raises(ValidationError, match="exceeds sample_size"):
        MemoryPattern(agent_id="a", sample_size=3, success_count=4)


def test_pattern_evidence_is_bounded() -> None:
    with pytest.raises(ValidationError, match="evidence"):
        MemoryPattern(agent_id="a", evidence=[new_id() for _ in range(51)])


def test_negative_ttl_is_rejected() -> None:
    with pytest.raises(ValidationError, match="ttl"):
        record(ttl=-1)


def test_negative_state_version_is_rejected() -> None:
    with pytest.raises(ValidationError, match="version"):
        AgentState(agent_id="a", version=-1)


# -- identifiers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["", "a#b", "agent one", " agent", "agent\n", "-agent", "_agent", "agent#1", "a" * 129, "é"],
)
def test_malformed_agent_id_is_rejected(bad: str) -> None:
    with pytest.raises(ValidationError, match="agent_id"):
        record(agent_id=bad)


@pytest.mark.parametrize("good", ["a", "btc-agent-001", "team/agent:1@eu+2=x.y_z", "A" * 128])
def test_well_formed_agent_id_is_accepted(good: str) -> None:
    assert record(agent_id=good).agent_id == good


@pytest.mark.parametrize(
    ("model", "fields", "where"),
    [
        (MemoryPattern, {"agent_id": "a", "shared_with": ["b c"]}, "shared_with.0"),
        (AgentState, {"agent_id": "a#1"}, "agent_id"),
        (AgentSignal, {"source_agent_id": "a b", "signal_type": "s", "broadcast": True}, "source"),
        (
            AgentSignal,
            {"source_agent_id": "a", "signal_type": "s", "target_agent_ids": [""]},
            "target",
        ),
    ],
)
def test_every_agent_id_field_is_checked(
    model: type[pydantic.BaseModel], fields: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model(**fields)

    assert caught.value.field is not None
    assert caught.value.field.startswith(where)


def test_decision_id_must_be_a_ulid() -> None:
    with pytest.raises(ValidationError, match="decision_id"):
        record(decision_id="not-a-ulid")


def test_new_ids_sort_by_creation_time() -> None:
    ids = [new_id() for _ in range(3)]
    assert all(len(i) == 26 for i in ids)
    assert ids[0][:10] <= ids[-1][:10]


@pytest.mark.parametrize("bad", ["", "x" * 129])
def test_decision_type_must_be_a_short_non_empty_string(bad: str) -> None:
    with pytest.raises(ValidationError, match="decision_type"):
        record(decision_type=bad)


def test_decision_type_enum_is_stored_as_its_value() -> None:
    stored = record(decision_type=DecisionType.SOURCE_SELECTION)
    assert type(stored.decision_type) is str
    assert stored.decision_type == "source_selection"


def test_any_non_empty_decision_type_is_accepted() -> None:
    assert record(decision_type="my custom step").decision_type == "my custom step"


# -- JSON-only payloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"context": {"market": {"when": object()}}}, "context.market.when"),
        ({"context": {"inputs": {"raw": b"bytes"}}}, "context.inputs.raw"),
        ({"context": {"region": {"n": math.nan}}}, "context.extra.region.n"),
        ({"metadata": {"k": [1, {"z": object()}]}}, "metadata.k[1].z"),
        ({"metadata": {"k": math.inf}}, "metadata.k"),
        ({"metadata": {(1, 2): "tuple key"}}, "metadata"),
    ],
)
def test_non_json_value_in_a_record_is_rejected_naming_its_path(
    fields: dict[str, Any], path: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        record(**fields)

    assert caught.value.field == path
    assert path in str(caught.value)


def test_non_json_value_in_user_metadata_is_rejected_naming_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        MemoryPattern(agent_id="a", user_metadata={"owner": {"handle": object()}})

    assert caught.value.field == "user_metadata.owner.handle"
    assert "MemoryPattern.user_metadata.owner.handle" in str(caught.value)


def test_non_json_value_in_a_signal_payload_is_rejected_naming_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        AgentSignal(source_agent_id="a", signal_type="s", broadcast=True, payload={"f": print})

    assert caught.value.field == "payload.f"


def test_non_mapping_metadata_is_rejected() -> None:
    with pytest.raises(ValidationError, match="metadata"):
        record(metadata=[1, 2])


def test_none_metadata_becomes_empty() -> None:
    assert record(metadata=None).metadata == {}


def test_sets_are_stored_as_sorted_lists() -> None:
    assert record(metadata={"s": {3, 1, 2}, "f": frozenset({"b", "a"})}).metadata == {
        "s": [1, 2, 3],
        "f": ["a", "b"],
    }


def test_mixed_sets_are_sorted_by_repr() -> None:
    assert record(metadata={"s": {1, "a"}}).metadata == {"s": sorted([1, "a"], key=repr)}


def test_datetimes_are_stored_as_iso_text_in_utc() -> None:
    stored = record(
        metadata={
            "aware": datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            "naive": datetime(2024, 5, 1, 12, 0),
        }
    ).metadata

    assert stored["naive"] == "2024-05-01T12:00:00+00:00"
    assert datetime.fromisoformat(stored["aware"]) == T0


def test_pydantic_models_are_stored_as_their_json_dump() -> None:
    stored = record(metadata={"inner": Inner(name="n", when=T0)}).metadata

    assert stored == {"inner": {"name": "n", "when": "2024-05-01T12:00:00Z"}}


def test_a_pydantic_model_can_be_the_whole_mapping() -> None:
    assert DecisionContext(inputs=Inner(name="n", when=T0)).inputs["name"] == "n"


def test_enums_are_stored_as_their_value() -> None:
    assert record(metadata={"c": Color.RED, Color.RED: 1}).metadata == {"c": "red", "red": 1}


def test_tuples_are_stored_as_lists() -> None:
    assert record(metadata={"t": (1, (2, 3))}).metadata == {"t": [1, [2, 3]]}


def test_other_documented_values_are_converted() -> None:
    uid = uuid.UUID(int=1)
    stored = record(
        metadata={
            "uuid": uid,
            "dec": Decimal("1.5"),
            "path": PurePosixPath("/tmp/x"),
            "point": Point(1, 2),
            1: "int key",
        }
    ).metadata

    assert stored == {
        "uuid": str(uid),
        "dec": 1.5,
        "path": "/tmp/x",
        "point": {"x": 1, "y": 2},
        "1": "int key",
    }


def test_converted_values_are_plain_json() -> None:
    stored = record(metadata={"s": {1}, "t": (1,), "d": T0, "e": Color.RED}).metadata

    assert json.loads(json.dumps(stored)) == stored


# -- assignment ---------------------------------------------------------------------------


def test_bad_assignment_is_rejected_and_keeps_the_old_value() -> None:
    stored = record(agent_id="agent-1")

    with pytest.raises(ValidationError, match="agent_id"):
        stored.agent_id = "agent #1"
    assert stored.agent_id == "agent-1"


def test_bad_nested_assignment_is_rejected_and_keeps_the_old_value() -> None:
    stored = record(reasoning={"confidence": 0.4})

    with pytest.raises(ValidationError, match="confidence"):
        stored.reasoning.confidence = math.nan
    assert stored.reasoning.confidence == 0.4


def test_non_json_assignment_is_rejected_and_keeps_the_old_value() -> None:
    stored = record(metadata={"k": 1})

    with pytest.raises(ValidationError, match=r"metadata\.bad"):
        stored.metadata = {"bad": object()}
    assert stored.metadata == {"k": 1}


def test_good_assignment_is_converted() -> None:
    stored = record()
    stored.metadata = {"s": {2, 1}}

    assert stored.metadata == {"s": [1, 2]}


def test_assigned_naive_timestamp_is_taken_as_utc() -> None:
    stored = record()
    stored.timestamp = datetime(2024, 5, 1, 12, 0)

    assert stored.timestamp == T0
    assert stored.timestamp.tzinfo == timezone.utc


# -- decisions ----------------------------------------------------------------------------


def test_root_decision_is_its_own_trace() -> None:
    root = record()

    assert root.trace_id == root.decision_id


def test_child_decision_keeps_the_given_trace() -> None:
    root = record()
    child = record(parent_decision_id=root.decision_id, trace_id=root.decision_id)

    assert child.trace_id == root.decision_id


def test_child_without_a_trace_does_not_invent_one() -> None:
    child = record(parent_decision_id=new_id())

    assert child.trace_id is None


def test_new_decision_is_pending_stm() -> None:
    fresh = record()

    assert (fresh.status, fresh.is_stm, fresh.consolidated) == (OutcomeStatus.PENDING, True, False)


@pytest.mark.parametrize(("success", "status"), [(True, "success"), (False, "failure")])
def test_status_follows_the_outcome(success: bool, status: str) -> None:
    assert record(outcome={"success": success}).status == status


def test_timestamps_are_aware_utc() -> None:
    moment = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    assert record(timestamp=moment).timestamp.utcoffset() == timedelta(0)
    assert record(timestamp=moment).timestamp == T0
    assert record().timestamp.tzinfo is not None


def test_decision_expires_once_its_ttl_second_is_reached() -> None:
    expiring = record(ttl=int(T0.timestamp()) + 60)

    assert not expiring.is_expired(T0 + timedelta(seconds=59.999))
    assert expiring.is_expired(T0 + timedelta(seconds=60))


def test_decision_without_ttl_never_expires() -> None:
    assert not record().is_expired(datetime(9999, 1, 1, tzinfo=timezone.utc))


def test_unknown_context_keys_are_folded_into_extra() -> None:
    context = DecisionContext.model_validate({"market": {"p": 1}, "cycle": 2, "region": "eu"})

    assert (context.market, context.cycle, context.extra) == ({"p": 1}, 2, {"region": "eu"})


def test_unknown_context_keys_join_an_explicit_extra() -> None:
    context = DecisionContext.model_validate({"extra": {"a": 1}, "b": 2})

    assert context.extra == {"a": 1, "b": 2}


def test_unknown_context_keys_are_folded_through_a_record() -> None:
    assert record(context={"region": "eu"}).context.extra == {"region": "eu"}


# -- patterns, state, signals -------------------------------------------------------------


def test_pattern_defaults_are_an_active_first_version() -> None:
    fresh = MemoryPattern(agent_id="a")

    assert (fresh.version, fresh.status, fresh.history) == (1, PatternStatus.ACTIVE, [])


def test_pattern_version_starts_at_one() -> None:
    with pytest.raises(ValidationError, match="version"):
        MemoryPattern(agent_id="a", version=0)


def test_state_starts_unsaved_at_version_zero() -> None:
    assert AgentState(agent_id="a").version == 0


def test_signal_needs_targets_or_broadcast() -> None:
    with pytest.raises(ValidationError, match="target_agent_ids or broadcast"):
        AgentSignal(source_agent_id="a", signal_type="alert")


def test_broadcast_signal_needs_no_targets() -> None:
    assert AgentSignal(source_agent_id="a", signal_type="alert", broadcast=True).broadcast


def test_signal_payload_at_the_size_limit_is_accepted() -> None:
    overhead = len(json.dumps({"x": ""}, separators=(",", ":")))
    text = "a" * (AgentSignal.MAX_PAYLOAD_BYTES - overhead)

    signal = AgentSignal(source_agent_id="a", signal_type="s", broadcast=True, payload={"x": text})

    assert len(signal.payload["x"]) == len(text)


def test_signal_payload_over_the_size_limit_is_rejected() -> None:
    overhead = len(json.dumps({"x": ""}, separators=(",", ":")))
    text = "a" * (AgentSignal.MAX_PAYLOAD_BYTES - overhead + 1)

    with pytest.raises(ValidationError, match="payload"):
        AgentSignal(source_agent_id="a", signal_type="s", broadcast=True, payload={"x": text})


def test_signal_expires_at_its_expiry_time() -> None:
    signal = AgentSignal(source_agent_id="a", signal_type="s", broadcast=True, expires_at=T0)

    assert not signal.is_expired(T0 - timedelta(microseconds=1))
    assert signal.is_expired(T0)


def test_signal_processing_status_is_validated() -> None:
    with pytest.raises(ValidationError, match="processing"):
        AgentSignal(source_agent_id="a", signal_type="s", broadcast=True, processing={"b": "lost"})


def test_stats_support_dict_style_access() -> None:
    stats = DecisionStats(agent_id="a", start=T0, end=T0, success_rate=0.5)

    assert stats["success_rate"] == 0.5
    with pytest.raises(KeyError):
        stats["nope"]


# -- JSON round trips ---------------------------------------------------------------------


def every_model() -> list[pydantic.BaseModel]:
    full = full_record()
    state = AgentState(agent_id="a", config={"k": [1, 2]}, metrics={"n": 3}, version=4)
    return [
        record(),
        full,
        full.context,
        full.reasoning,
        DecisionOutcome(success=False, error="boom", error_type="ValueError", details={"a": 1}),
        PatternVersion(
            version=2,
            confidence=0.5,
            success_rate=0.5,
            sample_size=4,
            success_count=2,
            updated_at=T0,
        ),
        MemoryPattern(
            agent_id="a",
            decision_type="tool_call",
            description="use source x",
            conditions={"market": "bull"},
            recommendation={"source": "x"},
            confidence=0.8,
            success_rate=0.75,
            sample_size=8,
            success_count=6,
            mean_quality=0.5,
            mean_latency_ms=12.0,
            version=2,
            history=[
                PatternVersion(
                    version=1,
                    confidence=0.4,
                    success_rate=0.5,
                    sample_size=2,
                    success_count=1,
                    updated_at=T0,
                )
            ],
            shared_with=["b", "c"],
            user_metadata={"team": "x"},
            evidence=[new_id()],
            status=PatternStatus.RETIRED,
        ),
        state,
        StateCheckpoint(agent_id="a", name="before", state=state),
        AgentSignal(
            source_agent_id="a",
            signal_type="alert",
            target_agent_ids=["b", "c"],
            payload={"price": 1.5},
            priority=10,
            expires_at=T0,
            processing={"b": ProcessingStatus.CLAIMED, "c": "processed"},
        ),
    ]


@pytest.mark.parametrize("model", every_model(), ids=lambda m: type(m).__name__)
def test_every_model_round_trips_through_json(model: pydantic.BaseModel) -> None:
    assert type(model).model_validate_json(model.model_dump_json()) == model


@pytest.mark.parametrize("model", every_model(), ids=lambda m: type(m).__name__)
def test_every_model_round_trips_through_a_json_dict(model: pydantic.BaseModel) -> None:
    dumped = json.loads(model.model_dump_json())

    assert type(model).model_validate(dumped) == model


@pytest.mark.parametrize(
    "bad_id",
    [
        "01M8SIGF4PHCJVH8HT3F7WWYP8",  # I is not Crockford base32
        "01M8SXGF4PHCJVH8HT3F7WWYP",  # 25 characters
        "01M8SXGF4PHCJVH8HT3F7WWYP88",  # 27 characters
        "80000000000000000000000000",  # more than 128 bits
        "",
    ],
)
def test_decision_ids_that_are_not_ulids_are_rejected(bad_id: str):
    with pytest.raises(ValidationError, match="decision_id"):
        DecisionRecord(decision_id=bad_id, agent_id="a1", decision_type="custom")


def test_a_lowercase_ulid_is_accepted_as_given():
    ulid = DecisionRecord(agent_id="a1", decision_type="custom").decision_id.lower()
    assert (
        DecisionRecord(decision_id=ulid, agent_id="a1", decision_type="custom").decision_id == ulid
    )
