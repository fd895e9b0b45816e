"""Property tests: any valid model goes through every store and comes back unchanged.

Each example gets its own store (``fresh_store``): pytest fixtures are set up once per test,
not once per hypothesis example.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ulid import ULID

from agentmem_langchain.models import (
    AgentSignal,
    AgentState,
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    MemoryPattern,
    PatternVersion,
)
from agentmem_langchain.stores._common import epoch_seconds

from .backends import BACKENDS
from .builders import T0, fresh_store

EXAMPLES = settings(max_examples=25, deadline=None)
backends = pytest.mark.parametrize("backend", list(BACKENDS))

# Values every store must keep exactly. Floats stay inside DynamoDB's number range
# (|x| in [1e-130, 1e126]), ints inside what JSON parsers agree on.
json_floats = st.floats(min_value=-1e100, max_value=1e100, allow_nan=False).filter(
    lambda x: x == 0 or abs(x) >= 1e-100
)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | json_floats | st.text()
keys = st.text(min_size=1, max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
json_dicts = st.dictionaries(keys, json_values, max_size=5)

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)
ulids = st.binary(min_size=16, max_size=16).map(lambda b: str(ULID.from_bytes(b)))
agent_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,40}", fullmatch=True)
labels = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
unit = st.floats(min_value=0.0, max_value=1.0)
texts = st.text(max_size=60)
# Never expired by the store's clock, which stays at T0 during these tests.
future_ttls = st.none() | st.integers(epoch_seconds(T0) + 1, epoch_seconds(T0) + 10**9)
future_times = st.none() | st.datetimes(
    min_value=datetime(2024, 5, 2), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)

outcomes = st.builds(
    DecisionOutcome,
    success=st.booleans(),
    quality_score=st.none() | unit,
    latency_ms=st.none() | st.floats(min_value=0, max_value=1e9),
    error=st.none() | texts,
    error_type=st.none() | labels,
    recorded_at=times,
    details=json_dicts,
)
decisions = st.builds(
    DecisionRecord,
    decision_id=ulids,
    agent_id=agent_ids,
    decision_type=labels,
    timestamp=times,
    parent_decision_id=st.none() | ulids,
    trace_id=st.none() | ulids,
    context=st.builds(
        DecisionContext,
        market=json_dicts,
        cycle=st.none() | st.integers(0, 10**9),
        inputs=json_dicts,
        extra=json_dicts,
    ),
    reasoning=st.builds(
        DecisionReasoning,
        scores=st.dictionaries(keys, json_floats, max_size=4),
        selected=st.lists(texts, max_size=3),
        alternatives=st.lists(texts, max_size=3),
        patterns_applied=st.lists(ulids, max_size=3),
        confidence=st.none() | unit,
        rationale=st.none() | texts,
    ),
    outcome=st.none() | outcomes,
    is_stm=st.booleans(),
    consolidated=st.booleans(),
    ttl=future_ttls,
    tags=st.lists(texts, max_size=4),
    metadata=json_dicts,
)


@st.composite
def patterns(draw: st.DrawFn) -> MemoryPattern:
    sample_size = draw(st.integers(0, 10**6))
    return MemoryPattern(
        pattern_id=draw(ulids),
        agent_id=draw(agent_ids),
        pattern_type=draw(labels),
        decision_type=draw(st.none() | labels),
        description=draw(texts),
        conditions=draw(json_dicts),
        recommendation=draw(json_dicts),
        confidence=draw(unit),
        success_rate=draw(unit),
        sample_size=sample_size,
        success_count=draw(st.integers(0, sample_size)),
        mean_quality=draw(st.none() | unit),
        mean_latency_ms=draw(st.none() | st.floats(min_value=0, max_value=1e9)),
        version=draw(st.integers(1, 1000)),
        history=draw(st.lists(pattern_versions, max_size=3)),
        shared_with=draw(st.lists(agent_ids, max_size=3, unique=True)),
        user_metadata=draw(json_dicts),
        evidence=draw(st.lists(ulids, max_size=5)),
        status=draw(st.sampled_from(["active", "retired"])),
        created_at=draw(times),
        updated_at=draw(times),
    )


pattern_versions = st.builds(
    PatternVersion,
    version=st.integers(1, 1000),
    confidence=unit,
    success_rate=unit,
    sample_size=st.integers(0, 1000),
    success_count=st.integers(0, 1000),
    updated_at=times,
)
states = st.builds(
    AgentState,
    agent_id=agent_ids,
    config=json_dicts,
    metrics=json_dicts,
    status=labels,
    version=st.just(0),
    updated_at=times,
)


@st.composite
def signals(draw: st.DrawFn) -> AgentSignal:
    source = draw(agent_ids)
    targets = draw(
        st.lists(agent_ids.filter(lambda a: a != source), min_size=1, max_size=3, unique=True)
    )
    return AgentSignal(
        signal_id=draw(ulids),
        source_agent_id=source,
        signal_type=draw(labels),
        payload=draw(json_dicts),
        target_agent_ids=targets,
        broadcast=draw(st.booleans()),
        priority=draw(st.integers(-1000, 1000)),
        created_at=draw(times),
        expires_at=draw(future_times),
    )


@backends
@EXAMPLES
@given(record=decisions)
def test_any_decision_round_trips_unchanged(
    backend: str, request: pytest.FixtureRequest, record: DecisionRecord
) -> None:
    with fresh_store(backend, request) as store:
        store.put_decision(record)

        assert store.get_decision(record.agent_id, record.decision_id) == record


@backends
@EXAMPLES
@given(record=decisions)
def test_any_decision_comes_back_unchanged_from_a_query(
    backend: str, request: pytest.FixtureRequest, record: DecisionRecord
) -> None:
    with fresh_store(backend, request) as store:
        store.put_decision(record)

        assert store.query_decisions(record.agent_id).items == [record]


@backends
@EXAMPLES
@given(created=patterns())
def test_any_pattern_round_trips_unchanged(
    backend: str, request: pytest.FixtureRequest, created: MemoryPattern
) -> None:
    with fresh_store(backend, request) as store:
        store.put_pattern(created, expected_version=None)

        assert store.get_pattern(created.agent_id, created.pattern_id) == created
        assert store.get_pattern_history(created.agent_id, created.pattern_id) == [created]


@backends
@EXAMPLES
@given(initial=states)
def test_any_state_round_trips_with_the_next_version(
    backend: str, request: pytest.FixtureRequest, initial: AgentState
) -> None:
    with fresh_store(backend, request) as store:
        saved = store.save_state(initial)

        assert saved.version == initial.version + 1
        assert _without(saved, "version", "updated_at") == _without(
            initial, "version", "updated_at"
        )
        assert store.load_state(initial.agent_id) == saved


@backends
@EXAMPLES
@given(sent=signals())
def test_any_signal_reaches_its_target_unchanged(
    backend: str, request: pytest.FixtureRequest, sent: AgentSignal
) -> None:
    with fresh_store(backend, request) as store:
        store.publish_signal(sent)
        target = sent.target_agent_ids[0]

        [received] = store.pending_signals(target)

        assert _without(received, "processing") == _without(sent, "processing")


def _without(model: Any, *fields: str) -> dict[str, Any]:
    return model.model_dump(exclude=set(fields))  # type: ignore[no-any-return]
