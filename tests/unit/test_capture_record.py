"""Records built without re-validation are the records validation builds.

``CapturedDecision.encode`` goes further and writes the record's JSON without building the
models; it is checked against ``to_record`` the same way (same record, same warnings, same
errors, the same indexed fields).

``CapturedDecision.to_record`` builds its models through ``capture_record``, which checks the
captured values by the models' rules and constructs the models when they pass. Each test here
builds the same captured decision both ways, through ``capture_record`` and through plain
pydantic validation (what ``to_record`` did before), and expects the same record (fields,
``model_fields_set``, JSON), the same warnings and the same errors.
"""

from __future__ import annotations

import math
import tempfile
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from ulid import ULID

from agentmem_langchain.capture import CapturedDecision, CaptureSettings
from agentmem_langchain.capture import decision as capture
from agentmem_langchain.capture.events import drain
from agentmem_langchain.capture.record import _construct, outcome_model
from agentmem_langchain.enums import DecisionType
from agentmem_langchain.errors import ValidationError
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.models import (
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
)
from agentmem_langchain.stores.base import EncodedDecision, encode_record
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore

MANY = settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Label(str):
    """A str subclass: validation keeps a plain str."""


class Colour(Enum):
    RED = "red"
    ONE = 1


@contextmanager
def validated_path():
    """``to_record`` with every model built by pydantic validation, as before."""
    with mock.patch.multiple(
        capture,
        context_model=lambda fields, json_safe: DecisionContext.model_validate(fields),
        reasoning_model=DecisionReasoning.model_validate,
        outcome_model=lambda fields: DecisionOutcome(**fields),
        decision_record=lambda fields, json_safe: DecisionRecord(**fields),
    ):
        yield


def both_ways(item: CapturedDecision, settings: CaptureSettings) -> tuple[Any, Any]:
    """(record or exception, warnings) built fast, then the same built by validation."""
    results = []
    for validated in (False, True):
        warnings: list[str] = []
        try:
            if validated:
                with validated_path():
                    made: Any = item.to_record(settings, warn=warnings.append)
            else:
                made = item.to_record(settings, warn=warnings.append)
        except Exception as exc:
            made = exc
        results.append((made, warnings))
    return results[0], results[1]


def assert_same_model(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert list(fast.__dict__) == list(slow.__dict__)  # the order fields are serialized in
    assert fast.model_fields_set == slow.model_fields_set
    for name in type(fast).model_fields:
        value = getattr(fast, name)
        if isinstance(value, DecisionContext | DecisionReasoning | DecisionOutcome):
            assert_same_model(value, getattr(slow, name))


def assert_same_outcome(fast: tuple[Any, Any], slow: tuple[Any, Any]) -> None:
    (made, warnings), (expected, expected_warnings) = fast, slow
    assert warnings == expected_warnings
    if isinstance(expected, Exception):
        assert type(made) is type(expected) and str(made) == str(expected)
        return
    assert isinstance(made, DecisionRecord), made
    if expected.outcome is not None and made.outcome is not None:
        # "now", read once per build; set past validation, which would mark the field as set
        expected.outcome.__dict__["recorded_at"] = made.outcome.recorded_at
    assert_same_model(made, expected)
    assert made.model_dump_json() == expected.model_dump_json()


# -- captured decisions of every kind ------------------------------------------------------

keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["api_key", "market", "cycle", "inputs", "extra", "value", "Password"]),
    st.integers(-3, 3),
    st.builds(Label, st.text(max_size=4)),
    st.sampled_from(list(Colour)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(2**14000),
    st.floats(),
    st.text(max_size=12),
    st.builds(Label, st.text(max_size=4)),
    st.binary(max_size=4),
    st.datetimes(timezones=st.none() | st.just(timezone.utc)),
    st.decimals(allow_nan=True),
    st.uuids(),
    st.sampled_from(list(Colour)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.frozensets(st.integers(0, 9), max_size=3),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=12,
)
mappings = st.none() | st.dictionaries(keys, values, max_size=5)
texts = st.text(max_size=6) | st.builds(Label, st.text(max_size=3))
reasoning_values = {
    "confidence": st.none() | st.floats() | st.integers(-1, 2) | st.just(True) | st.just("0.5"),
    "scores": st.none() | st.dictionaries(keys, st.floats() | st.integers() | st.text()) | texts,
    "selected": st.none() | texts | st.lists(texts | st.integers(), max_size=3),
    "alternatives": st.none() | texts | st.tuples(texts, texts) | st.just(5),
    "patterns_applied": st.none() | st.lists(texts, max_size=3),
    "rationale": st.none() | texts | st.integers(),
}
ulids = st.integers(0, 2**128 - 1).map(lambda n: str(ULID.from_int(n)))
bad_ids = st.sampled_from(
    ["", "not-a-ulid", "01j0000000000000000000000a", "81J0000000000000000000000A", 5]
)
times = st.sampled_from(
    [
        datetime(2030, 1, 1, tzinfo=timezone.utc),
        datetime(2030, 1, 1),
        datetime(2030, 1, 1, 3, tzinfo=timezone(timedelta(hours=2))),
    ]
)


@st.composite
def captured_decisions(draw: st.DrawFn) -> CapturedDecision:
    # Half the examples have a valid identity (what the fast path builds); in the other half
    # each identity field may be one validation refuses or converts.
    odd = draw(st.booleans())

    def pick(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> Any:
        return draw(valid | invalid) if odd else draw(valid)

    item = CapturedDecision(
        agent_id=pick(
            st.sampled_from(["agent-1", "a.b@c:d/e+f=g-h_i"]),
            st.sampled_from(["bad agent", "", "x" * 129, "ok\n", "-x", 7, Label("agent-2")]),
        ),
        decision_type=pick(
            st.sampled_from(["tool_call", "custom"]),
            st.sampled_from(["", "t" * 129, Label("typed"), DecisionType.TOOL_CALL, 3]),
        ),
        decision_id=pick(ulids, bad_ids),
        started_at=pick(st.just(datetime(2030, 1, 1, tzinfo=timezone.utc)), times),
        parent_decision_id=pick(st.none() | ulids, bad_ids),
        trace_id=pick(st.none() | ulids, bad_ids),
        inputs=draw(values),
        context_extra=draw(mappings),  # type: ignore[arg-type]
        tags=draw(st.lists(texts | st.integers(), max_size=3)),
        metadata=draw(mappings),  # type: ignore[arg-type]
        ttl=pick(st.none() | st.just(timedelta(days=30)), st.just(timedelta(days=-30_000))),
    )
    for name, strategy in reasoning_values.items():
        if draw(st.booleans()):
            item.reasoning[name] = draw(strategy)
    if draw(st.booleans()):
        try:
            raise KeyError(draw(st.text(max_size=5)))
        except KeyError as exc:
            item.finish(error=exc)
    elif draw(st.booleans()):
        item.finish(draw(values | st.dictionaries(st.sampled_from(list(reasoning_values)), values)))
    if item.success is not None and draw(st.booleans()):
        item.latency_ms = draw(st.none() | st.floats() | st.integers(-1, 5) | st.decimals())
        item.error_type = draw(st.none() | texts | st.integers())
        item.error_message = draw(st.none() | texts)
        item.traceback = draw(st.none() | texts)
    item.has_result = item.has_result and draw(st.booleans())
    return item


def redact_hooks() -> st.SearchStrategy[Any]:
    def keep(data: dict[str, Any]) -> None:
        return None

    def odd(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "inputs": {"when": {1, 2}, "n": math.nan}, "context": {"d": Decimal(1)}}

    return st.sampled_from([None, keep, odd])


@MANY
@given(item=captured_decisions(), limit=st.sampled_from([4_000, 16]), redact=redact_hooks())
def test_every_captured_decision_builds_the_record_validation_builds(item, limit, redact):
    item.redact = redact
    fast, slow = both_ways(item, CaptureSettings(max_value_chars=limit))
    assert_same_outcome(fast, slow)


def test_fast_records_validate_and_round_trip_through_the_store():
    @MANY
    @given(item=captured_decisions())
    def check(item: CapturedDecision) -> None:
        try:
            record = item.to_record(warn=lambda message: None)
        except Exception:  # no record to store (the test above: raised as validation raises)
            return
        assert DecisionRecord.model_validate(record.model_dump()) == record
        assert DecisionRecord.model_validate_json(record.model_dump_json()) == record
        store.put_decisions([record])
        assert store.get_decision(record.agent_id, record.decision_id) == record

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "records.db")
        check()


# -- what is still refused ------------------------------------------------------------------


def _item(**fields: Any) -> CapturedDecision:
    fields.setdefault("agent_id", "agent-1")
    fields.setdefault("decision_type", "tool_call")
    return CapturedDecision(**fields)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"agent_id": "bad agent id"}, "agent_id"),
        ({"agent_id": "x" * 129}, "agent_id"),
        ({"agent_id": ""}, "agent_id"),
        ({"decision_type": ""}, "decision_type"),
        ({"decision_type": "t" * 129}, "decision_type"),
        ({"decision_id": "not-a-ulid"}, "decision_id"),
        ({"parent_decision_id": "nope"}, "parent_decision_id"),
        ({"ttl": timedelta(days=-30_000)}, "ttl"),
    ],
)
def test_invalid_identity_fails_to_build_a_record_as_validation_does(fields, field):
    fast, slow = both_ways(_item(**fields), CaptureSettings())
    assert isinstance(fast[0], ValidationError) and field in str(fast[0])
    assert_same_outcome(fast, slow)


@pytest.mark.parametrize(
    "reasoning",
    [
        {"confidence": 1.5},
        {"confidence": math.nan},
        {"confidence": "high"},
        {"scores": {"a": math.inf, "b": 0.5}},
        {"scores": "not a mapping"},
        {"selected": "one", "alternatives": (1, Colour.RED)},
        {"rationale": 42},
    ],
)
def test_invalid_reasoning_is_dropped_with_the_same_warnings(reasoning):
    item = _item()
    item.reasoning.update(reasoning)
    fast, slow = both_ways(item, CaptureSettings())
    assert_same_outcome(fast, slow)


@pytest.mark.parametrize(
    "outcome",
    [
        {"error_type": 5},
        {"latency_ms": 3},
        {"latency_ms": math.nan},
        {"error_message": ["not", "text"]},
        {"traceback": Label("Traceback: subclass")},
    ],
)
def test_odd_outcome_fields_behave_as_validation_does(outcome):
    item = _item()
    item.finish({"ok": True})
    for name, value in outcome.items():
        setattr(item, name, value)
    fast, slow = both_ways(item, CaptureSettings())
    assert_same_outcome(fast, slow)


@pytest.mark.parametrize(
    "started_at",
    [datetime(2030, 1, 1), datetime(2030, 1, 1, 2, tzinfo=timezone(timedelta(hours=-5)))],
)
def test_timestamps_end_up_in_utc_as_validation_puts_them(started_at):
    fast, slow = both_ways(_item(started_at=started_at), CaptureSettings())
    assert fast[0].timestamp.tzinfo is timezone.utc
    assert_same_outcome(fast, slow)


@pytest.mark.parametrize(
    "fields",
    [
        {"success": True, "recorded_at": None},
        {"success": True, "details": None},
        {"success": True, "details": {"n": 1}},
        {"success": 1},
        {"success": True, "quality_score": 1.5},
        {"success": True, "extra_field": 1},
        {},
    ],
)
def test_outcome_model_is_what_validation_makes(fields):
    def build(make):
        try:
            return make()
        except ValidationError as exc:
            return str(exc)

    made = build(lambda: outcome_model(dict(fields)))
    expected = build(lambda: DecisionOutcome(**fields))
    if isinstance(expected, str):
        assert made == expected
        return
    expected.__dict__["recorded_at"] = made.recorded_at
    assert_same_model(made, expected)


def test_a_redacted_record_is_validated_in_full():
    def sneak_nan(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "inputs": {"n": math.nan}}

    fast, slow = both_ways(_item(redact=sneak_nan), CaptureSettings())
    assert isinstance(fast[0], ValidationError) and "NaN" in str(fast[0])
    assert_same_outcome(fast, slow)


def test_a_langchain_runs_records_are_the_ones_validation_builds():
    @tool
    def lookup(symbol: str) -> dict[str, Any]:
        """A price, and how sure it is."""
        return {"symbol": symbol, "price": 1.5, "confidence": 0.25}

    chain = RunnableLambda(lambda q: q.upper(), name="parse").with_config(
        tags=["step-tag"], metadata={"region": "eu", "ls_private": 1}
    ) | RunnableLambda(lambda s: lookup.invoke({"symbol": s}), name="act")
    captured: list[CapturedDecision] = []
    handler = AgentMemoryCallbackHandler(
        MemoryManager("chain-agent", store=InMemoryStore()), record_chains=True
    )
    handler._recorder = mock.Mock(submit=lambda item: captured.append(item) or True)
    chain.invoke("btc", config={"callbacks": [handler], "tags": ["run-tag"]})
    drain()  # the hooks posted events; apply them here rather than on the capture thread
    assert len(captured) == 4
    for item in captured:
        fast, slow = both_ways(item, CaptureSettings())
        assert isinstance(fast[0], DecisionRecord)
        assert_same_outcome(fast, slow)


@pytest.mark.parametrize(
    ("model", "values", "given"),
    [
        (
            DecisionReasoning,
            {
                "scores": {"a": 1.0},
                "selected": ["a"],
                "alternatives": [],
                "patterns_applied": [],
                "confidence": 0.5,
                "rationale": None,
            },
            {"scores", "selected", "confidence"},
        ),
        (
            DecisionContext,
            {"market": {}, "cycle": 3, "inputs": {"q": 1}, "extra": {}},
            {"cycle", "inputs"},
        ),
        (
            DecisionOutcome,
            {
                "success": True,
                "quality_score": None,
                "latency_ms": 1.0,
                "error": None,
                "error_type": None,
                "recorded_at": datetime(2030, 1, 1, tzinfo=timezone.utc),
                "details": {},
            },
            {"success", "latency_ms"},
        ),
        (
            DecisionRecord,
            {
                "decision_id": "01J0000000000000000000000A",
                "agent_id": "agent-1",
                "decision_type": "tool_call",
                "timestamp": datetime(2030, 1, 1, tzinfo=timezone.utc),
                "parent_decision_id": None,
                "trace_id": "01J0000000000000000000000A",
                "outcome": None,
                "is_stm": True,
                "consolidated": False,
                "ttl": None,
                "tags": ["t"],
                "metadata": {"k": [1]},
            },
            {"decision_id", "agent_id", "decision_type", "tags"},
        ),
    ],
)
def test_construct_makes_what_model_construct_makes(model, values, given):
    if model is DecisionRecord:
        values = {**values, "context": DecisionContext(), "reasoning": DecisionReasoning()}
    made = _construct(model, dict(values), given)
    expected = model.model_construct(set(given), **values)
    assert made.__dict__ == expected.__dict__
    assert made.model_fields_set == expected.model_fields_set == given
    assert made.__pydantic_extra__ == expected.__pydantic_extra__
    assert made.__pydantic_private__ == expected.__pydantic_private__
    assert made == expected


# -- the stored form, without the models ---------------------------------------------------


def assert_encodes_the_record(item: CapturedDecision, settings: CaptureSettings) -> Any:
    """``item.encode`` makes what ``to_record`` makes, in stored form; returns the encoding."""
    outcomes = []
    for make in (item.encode, item.to_record):
        warnings: list[str] = []
        try:
            made: Any = make(settings, warn=warnings.append)
        except Exception as exc:
            made = exc
        outcomes.append((made, warnings))
    (encoded, warnings), (record, expected_warnings) = outcomes
    assert warnings == expected_warnings
    if isinstance(record, Exception):
        assert type(encoded) is type(record) and str(encoded) == str(record)
        return encoded
    assert isinstance(encoded, EncodedDecision)
    decoded = encoded.record()
    if record.outcome is not None and decoded.outcome is not None:
        record.outcome.__dict__["recorded_at"] = decoded.outcome.recorded_at  # "now", twice
    assert decoded == record
    assert encoded.body == record.model_dump_json()
    assert encoded[:-1] == encode_record(record)[:-1]  # the fields stores index
    return encoded


@MANY
@given(item=captured_decisions(), limit=st.sampled_from([4_000, 16]), redact=redact_hooks())
def test_every_captured_decision_encodes_the_record_it_builds(item, limit, redact):
    item.redact = redact
    assert_encodes_the_record(item, CaptureSettings(max_value_chars=limit))


@pytest.mark.parametrize(
    "item",
    [
        _item(inputs={"n": 1, "options": ["a", "b"]}, tags=["t"], metadata={"k": [1.5]}),
        _item(parent_decision_id=str(ULID()), trace_id=str(ULID()), inputs={"é": "ü" * 3}),
        _item(inputs={"market": {"p": 1}, "cycle": 3}, context_extra={"region": "eu"}),
        _item(ttl=None, reasoning={"confidence": 0.5, "scores": {"a": 1.0}, "rationale": "r"}),
    ],
)
def test_plain_decisions_are_encoded_without_building_a_model(item):
    item.finish({"selected": ["a"], "value": 2})
    with mock.patch.object(capture, "encode_record", side_effect=AssertionError("built")):
        encoded = item.encode()
    assert encoded.success is True and encoded.decision_id == item.decision_id
    assert_encodes_the_record(item, CaptureSettings())


def test_a_lone_surrogate_in_a_decision_type_is_replaced_and_the_record_stored(tmp_path):
    item = _item(decision_type="pick\ud800")
    item.finish("ok")
    encoded = assert_encodes_the_record(item, CaptureSettings())
    assert encoded.decision_type == "pick\ufffd"
    store = SQLiteStore(tmp_path / "records.db")
    store.put_encoded_decisions([encoded])
    assert store.get_decision("agent-1", item.decision_id) == encoded.record()


def test_an_outcome_is_recorded_when_the_call_ended_however_late_it_is_converted():
    started = datetime(2030, 1, 1, tzinfo=timezone.utc)
    item = _item(started_at=started)
    item.finish("ok", now=item.started_perf + 0.25)
    for record in (item.to_record(), item.encode().record()):
        assert record.outcome is not None
        assert record.outcome.recorded_at == started + timedelta(milliseconds=250)
