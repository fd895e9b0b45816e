"""Fuzzing the public entry points: only the library's documented errors ever come out.

Every entry point is called with arbitrary values (JSON-ish data, NaN and infinity, huge
ints, sets, bytes, plain objects, recursive lists, objects whose ``repr`` raises, huge
strings). What may come out is a result or an ``AgentMemError`` (for model constructors,
``ValidationError``); never a ``TypeError``, ``KeyError``, ``AttributeError``... After each
example, whatever the store holds reads back and validates.

Covered: the models, every ``DecisionLogger.log_*`` method, every ``MemoryManager`` method
(sync or its async twin, drawn) with each argument well-typed or anything, and every public
constructor (``MemoryManager``, ``DecisionLogger``, the callback handler, ``instrument``,
``PatternRetriever``, the coordinator, ``@decision``, the stores, ``open_store``, the
learning classes and the executor). A manager call that raises leaves the store exactly as
it was.

Hypothesis settings come from ``tests/conftest.py`` (``HYPOTHESIS_PROFILE=ci``
derandomizes); example counts are kept small so the module runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from typer.testing import CliRunner

from agentmem_langchain import (
    AgentMemError,
    AgentMemoryCallbackHandler,
    AgentRegistration,
    AgentSignal,
    AgentState,
    ConsolidationScheduler,
    ContextThreadPoolExecutor,
    DecisionLogger,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    DecisionType,
    MemoryManager,
    MemoryPattern,
    MultiAgentCoordinator,
    PatternLearner,
    PatternRetriever,
    ValidationError,
    consolidate,
    instrument,
    open_store,
    uninstrument,
)
from agentmem_langchain.cli import app
from agentmem_langchain.decorators import decision
from agentmem_langchain.models import utcnow
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore

FUZZ = settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- arbitrary values -------------------------------------------------------------------------


class BadRepr:
    """An object whose ``repr`` (and ``str``) raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    __str__ = __repr__


class BadReprKey:
    """A hashable dict key whose ``repr`` raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you either")

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return self is other


class Color(Enum):
    RED = "red"
    ONE = 1


@dataclass
class Point:
    x: Any
    y: Any


def _recursive_list() -> list[Any]:
    items: list[Any] = [1, "a"]
    items.append(items)
    return items


def _recursive_dict() -> dict[str, Any]:
    found: dict[str, Any] = {"a": 1}
    found["self"] = found
    return found


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**80),
    st.integers(max_value=-(2**63) + 1, min_value=-(2**80)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "x" * 5_000, "\x00", "😀" * 50, "null", "NaN"]),
)

json_ish = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

weird = st.one_of(
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.text(max_size=3), max_size=3),
    st.sets(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    st.binary(max_size=8),
    st.builds(object),
    st.builds(BadRepr),
    st.builds(lambda: {BadReprKey(): 1}),
    st.builds(lambda: {(1, 2): "tuple key"}),
    st.builds(lambda: {None: "none key"}),
    st.builds(_recursive_list),
    st.builds(_recursive_dict),
    st.complex_numbers(max_magnitude=10),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.sampled_from([None, timezone.utc, timezone(timedelta(hours=5))])),
    st.dates(),
    st.timedeltas(),
    st.sampled_from([Color.RED, Color.ONE, DecisionType.TOOL_CALL, Path("a/b"), ...]),
    st.builds(Point, scalars, scalars),
    st.builds(lambda: lambda: None),
    st.builds(lambda: range(3)),
    st.tuples(scalars, scalars),
)

anything = st.recursive(
    st.one_of(scalars, weird),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)

#: Values that often pass validation (so the stores see them too).
plausible = st.one_of(
    json_ish,
    st.dictionaries(st.text(max_size=8), json_ish, max_size=4),
    st.lists(st.text(max_size=8), max_size=4),
    st.floats(min_value=0, max_value=1),
)
value = st.one_of(anything, plausible)

agent_ids = st.one_of(
    st.sampled_from(["agent-1", "btc-agent-001", "a", "x" * 128, "x" * 129, "-bad", ""]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,20}", fullmatch=True),
    value,
)
ulids = st.one_of(
    st.from_regex(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", fullmatch=True),
    st.builds(lambda: "01J9Z" + "0" * 21),
    value,
)


def _field_values(model: type) -> dict[str, st.SearchStrategy[Any]]:
    special: dict[str, st.SearchStrategy[Any]] = {
        "agent_id": agent_ids,
        "source_agent_id": agent_ids,
        "decision_id": ulids,
        "pattern_id": ulids,
        "signal_id": ulids,
        "parent_decision_id": st.one_of(st.none(), ulids),
        "trace_id": st.one_of(st.none(), ulids),
        "target_agent_ids": st.one_of(st.lists(agent_ids, max_size=3), value),
        "capabilities": st.one_of(st.lists(st.text(max_size=10), max_size=3), value),
        "shared_with": st.one_of(st.lists(agent_ids, max_size=3), value),
        "evidence": st.one_of(st.lists(ulids, max_size=3), value),
    }
    return {name: st.one_of(special.get(name, value), value) for name in model.model_fields}


def model_kwargs(model: type) -> st.SearchStrategy[dict[str, Any]]:
    fields = _field_values(model)
    required = {n: fields[n] for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: fields[n] for n, f in model.model_fields.items() if not f.is_required()}
    base = st.fixed_dictionaries(required, optional=optional)
    extra = st.dictionaries(st.text(max_size=8), value, max_size=1)
    return st.one_of(base, st.builds(lambda a, b: {**b, **a}, base, extra))


MODELS = [
    DecisionRecord,
    DecisionReasoning,
    DecisionOutcome,
    MemoryPattern,
    AgentSignal,
    AgentState,
    AgentRegistration,
]


# -- models -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@FUZZ
@given(data=st.data())
def test_model_constructors_raise_only_validation_error(model, data):
    kwargs = data.draw(model_kwargs(model), label="kwargs")
    try:
        built = model(**kwargs)
    except ValidationError as exc:
        str(exc)  # the message itself can be built
        return
    again = model.model_validate(built.model_dump())
    assert again == built
    assert model.model_validate_json(built.model_dump_json()) == built


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@FUZZ
@given(data=st.data())
def test_model_validate_and_assignment_raise_only_validation_error(model, data):
    raw = data.draw(st.one_of(model_kwargs(model), value), label="raw")
    with contextlib.suppress(ValidationError):
        model.model_validate(raw)
    name = data.draw(st.sampled_from(sorted(model.model_fields)), label="field")
    new = data.draw(_field_values(model)[name], label="new")
    instance = _valid_instance(model)
    try:
        setattr(instance, name, new)
    except ValidationError:
        return
    assert model.model_validate(instance.model_dump()) == instance


def _valid_instance(model: type) -> Any:
    if model is DecisionReasoning:
        return DecisionReasoning()
    if model is DecisionOutcome:
        return DecisionOutcome(success=True)
    if model is DecisionRecord:
        return DecisionRecord(agent_id="agent-1", decision_type="custom")
    if model is AgentSignal:
        return AgentSignal(source_agent_id="agent-1", signal_type="t", broadcast=True)
    return model(agent_id="agent-1")


# -- DecisionLogger on both stores --------------------------------------------------------------


@contextlib.contextmanager
def memory_on(kind: str):
    if kind == "memory":
        yield MemoryManager("agent-1", store=InMemoryStore())
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "fuzz.db")
        try:
            yield MemoryManager("agent-1", store=store)
        finally:
            store.close()


def assert_store_valid(memory: MemoryManager) -> list[DecisionRecord]:
    records = list(memory.iter_decisions())
    for record in records:
        assert record.agent_id == memory.agent_id
        assert DecisionRecord.model_validate(record.model_dump()) == record
        assert DecisionRecord.model_validate_json(record.model_dump_json()) == record
        assert memory.get_decision(record.decision_id) == record
    return records


opt = st.one_of(st.none(), value)
str_lists = st.one_of(st.none(), st.lists(st.text(max_size=6), max_size=3), value)
score_maps = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=6), st.floats(), max_size=3),
    value,
)
decision_types = st.one_of(
    st.sampled_from(list(DecisionType)),
    st.text(max_size=10),
    st.sampled_from(["", "x" * 129, "source_selection"]),
    value,
)
contexts = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {}, optional={"market": value, "cycle": value, "inputs": value, "extra": value}
    ),
    st.dictionaries(st.text(max_size=6), value, max_size=3),
    value,
)
confidences = st.one_of(st.none(), st.floats(), st.integers(), value)
common_kwargs = st.fixed_dictionaries(
    {},
    optional={
        "context": contexts,
        "confidence": confidences,
        "rationale": opt,
        "tags": str_lists,
        "metadata": st.one_of(st.none(), st.dictionaries(st.text(max_size=6), value), value),
        "parent_decision_id": st.one_of(st.none(), ulids),
    },
)


#: Read arguments stay within their annotated types (ids are str, limits int, hours float):
#: the read paths take ids straight to the store and are not fuzzed with other types.
str_ids = st.one_of(
    st.from_regex(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", fullmatch=True), st.text(max_size=30)
)


def _log_decision(logger: DecisionLogger, data: st.DataObject) -> Any:
    kwargs = data.draw(common_kwargs, label="kwargs")
    kwargs.update(
        data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "scores": score_maps,
                    "selected": str_lists,
                    "alternatives": str_lists,
                    "patterns_applied": str_lists,
                },
            ),
            label="reasoning",
        )
    )
    return logger.log_decision(data.draw(decision_types, label="type"), **kwargs)


def _log_source_selection(logger: DecisionLogger, data: st.DataObject) -> Any:
    sources = data.draw(st.one_of(st.lists(st.text(max_size=5), max_size=4), value), "sources")
    chosen = data.draw(
        st.one_of(
            st.lists(st.sampled_from(sources), max_size=3)
            if sources and isinstance(sources, list)
            else st.just([]),
            value,
        ),
        label="selected",
    )
    return logger.log_source_selection(
        sources, data.draw(score_maps, "scores"), chosen, **data.draw(common_kwargs, "kwargs")
    )


def _log_query_execution(logger: DecisionLogger, data: st.DataObject) -> Any:
    return logger.log_query_execution(
        data.draw(value, "query"),
        data.draw(value, "source"),
        data.draw(opt, "parameters"),
        **data.draw(common_kwargs, "kwargs"),
    )


def _log_signal_generation(logger: DecisionLogger, data: st.DataObject) -> Any:
    return logger.log_signal_generation(
        data.draw(st.one_of(st.text(max_size=8), value), "signal"),
        data.draw(score_maps, "indicators"),
        data.draw(confidences, "strength"),
        **data.draw(common_kwargs, "kwargs"),
    )


def _log_risk_assessment(logger: DecisionLogger, data: st.DataObject) -> Any:
    return logger.log_risk_assessment(
        data.draw(st.one_of(st.text(max_size=8), value), "risk_level"),
        data.draw(confidences, "risk_score"),
        data.draw(score_maps, "factors"),
        **data.draw(common_kwargs, "kwargs"),
    )


def _log_strategy_selection(logger: DecisionLogger, data: st.DataObject) -> Any:
    strategies = data.draw(st.one_of(st.lists(st.text(max_size=5), max_size=4), value), "options")
    chosen = data.draw(
        st.one_of(
            st.sampled_from(strategies)
            if strategies and isinstance(strategies, list)
            else st.just(""),
            st.lists(st.text(max_size=5), max_size=2),
            value,
        ),
        label="selected",
    )
    return logger.log_strategy_selection(
        strategies, data.draw(score_maps, "scores"), chosen, **data.draw(common_kwargs, "kwargs")
    )


def _log_outcome(logger: DecisionLogger, data: st.DataObject, known: list[str]) -> Any:
    decision_id = data.draw(st.one_of(st.sampled_from(known), str_ids) if known else str_ids, "id")
    details = data.draw(
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), value, max_size=2), "details"
    )
    for reserved in (
        "decision_id",
        "decision_type",
        "success",
        "quality_score",
        "latency_ms",
        "error",
    ):
        details.pop(reserved, None)
    return logger.log_outcome(
        decision_id,
        data.draw(st.one_of(st.none(), decision_types), "decision_type"),
        data.draw(st.one_of(st.booleans(), value), "success"),
        data.draw(confidences, "quality_score"),
        data.draw(st.one_of(st.none(), st.floats(), value), "latency_ms"),
        data.draw(opt, "error"),
        **details,
    )


def _other_reads(logger: DecisionLogger, data: st.DataObject, known: list[str]) -> Any:
    which = data.draw(st.sampled_from(["chain", "stats", "query", "children"]), "read")
    memory = logger.memory
    if which == "chain":
        target = data.draw(st.one_of(st.sampled_from(known), str_ids) if known else str_ids, "id")
        return logger.get_decision_chain(target)
    if which == "stats":
        return logger.get_decision_stats(
            data.draw(st.one_of(st.floats(), st.integers(-5, 10**6)), "hours")
        )
    if which == "children":
        return memory.get_children(data.draw(str_ids, "id"))
    return memory.query_decisions(
        decision_type=data.draw(
            st.one_of(st.none(), st.sampled_from(list(DecisionType)), st.text(max_size=10)), "type"
        ),
        success=data.draw(st.one_of(st.none(), st.booleans()), "success"),
        limit=data.draw(st.integers(-2, 5), "limit"),
    ).items


LOGGER_CALLS = [
    _log_decision,
    _log_source_selection,
    _log_query_execution,
    _log_signal_generation,
    _log_risk_assessment,
    _log_strategy_selection,
]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@FUZZ
@given(data=st.data())
def test_decision_logger_raises_only_library_errors(kind, data):
    with memory_on(kind) as memory:
        logger = DecisionLogger(memory)
        known: list[str] = []
        for _ in range(data.draw(st.integers(1, 4), "steps")):
            step = data.draw(st.sampled_from([*LOGGER_CALLS, _log_outcome, _other_reads]), "call")
            try:
                if step in LOGGER_CALLS:
                    decision_id = step(logger, data)
                    assert isinstance(decision_id, str)
                    known.append(decision_id)
                elif step is _log_outcome:
                    record = step(logger, data, known)
                    assert isinstance(record, DecisionRecord)
                else:
                    step(logger, data, known)
            except AgentMemError as exc:
                str(exc)
        records = assert_store_valid(memory)
        assert {r.decision_id for r in records} == set(known)


# -- decorators -------------------------------------------------------------------------------


class Sentinel:
    """A return value that must come back as the very same object."""


@FEW
@given(
    args=st.lists(value, max_size=3),
    kwargs=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), value, max_size=3),
    result=st.one_of(value, st.builds(Sentinel)),
    confidence=st.one_of(st.none(), st.floats(), st.integers(-1, 2)),
    decision_type=st.one_of(st.none(), st.text(max_size=10), st.just("x" * 200)),
    tags=st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=2), st.text(max_size=3)),
)
def test_decorated_calls_return_their_result_and_never_raise(
    args, kwargs, result, confidence, decision_type, tags
):
    memory = MemoryManager("agent-1", store=InMemoryStore())
    try:  # bad options are refused once, when decorating
        options = decision(decision_type, memory=memory, confidence=confidence, tags=tags)
    except ValidationError as exc:
        refused: ValidationError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.field in ("decision_type", "confidence", "tags"), str(refused)
        return

    @options
    def decide(*a, **k):
        return result

    @decision("outer", memory=memory)
    def outer(*a, **k):
        return decide(*a, **k)

    assert outer(*args, **kwargs) is result
    assert decide(*args, **kwargs) is result
    assert decide(BadRepr(), "y" * 100_000, _recursive_list(), huge=10**5000) is result
    assert memory.flush(timeout=10)
    assert len(assert_store_valid(memory)) == 4


# -- MemoryManager: every public method, sync and async --------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
known_ids = st.sampled_from(["01J9Z" + "0" * 21, "01J9Z" + "1" * 21])
agent_lists = st.lists(st.sampled_from(["agent-1", "b", "eth"]), max_size=3)
#: A well-typed value per parameter name (so calls get past the checks and reach the store);
#: each parameter is also drawn from ``value`` (anything at all).
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "decision_id": st.one_of(known_ids, str_ids),
    "pattern_id": st.one_of(known_ids, str_ids),
    "signal_id": str_ids,
    "limit": st.integers(-2, 20),
    "start": st.datetimes(timezones=st.just(timezone.utc)),
    "end": st.one_of(st.none(), st.datetimes(timezones=st.just(timezone.utc))),
    "decision_type": st.one_of(st.none(), st.sampled_from(["custom", "tool_call", ""])),
    "success": st.one_of(st.none(), st.booleans()),
    "cursor": st.none(),
    "outcome": st.fixed_dictionaries({"success": st.booleans()}),
    "record": st.builds(
        lambda t: DecisionRecord(agent_id="agent-1", decision_type=t),
        st.sampled_from(["custom", "tool_call"]),
    ),
    "pattern": st.builds(lambda d: MemoryPattern(agent_id="agent-1", description=d), st.text()),
    "min_confidence": st.floats(0, 1),
    "include_retired": st.booleans(),
    "options": st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=3),
    "context": st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_ish, max_size=2)),
    "policy": st.sampled_from(["thompson", "ucb", "greedy", "other"]),
    "seed": st.one_of(st.none(), st.integers(0, 100)),
    "state": st.builds(lambda: AgentState(agent_id="agent-1")),
    "config": st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_ish, max_size=2)),
    "metrics": st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_ish, max_size=2)),
    "status": st.one_of(st.none(), st.text(max_size=8)),
    "name": st.one_of(st.none(), st.text(max_size=8)),
    "to": st.one_of(st.none(), st.text(max_size=8)),
    "signal_type": st.text(max_size=8),
    "payload": st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_ish, max_size=2)),
    "targets": st.one_of(st.none(), agent_lists),
    "capability": st.one_of(st.none(), st.text(max_size=5)),
    "broadcast": st.booleans(),
    "priority": st.integers(-5, 5),
    "ttl": st.one_of(st.none(), st.timedeltas(min_value=timedelta(seconds=-5))),
    "lease": st.timedeltas(min_value=timedelta(seconds=-5), max_value=timedelta(hours=1)),
    "with_agents": agent_lists,
    "from_agents": agent_lists,
    "timeout": st.one_of(st.none(), st.floats(0, 0.5)),
    "quality_score": st.one_of(st.none(), st.floats(0, 1)),
    "latency_ms": st.one_of(st.none(), st.floats(0, 1000)),
    "error": st.one_of(st.none(), st.text(max_size=8)),
}
#: Every public method of MemoryManager the fuzz calls (close, iter_decisions and the
#: properties are left out: close ends the store, iter_decisions is query_decisions paged).
MANAGER_METHODS = sorted(
    name
    for name, member in vars(MemoryManager).items()
    if callable(member)
    and not name.startswith("_")
    and not name.startswith("a")
    and name not in ("close", "iter_decisions", "now", "prepare")
)


def test_the_fuzzed_manager_methods_are_all_of_them():
    public = {
        name
        for name, member in vars(MemoryManager).items()
        if callable(member) and not name.startswith("_")
    }
    twins = {name for name in public if name.startswith("a") and name[1:] in public}
    assert public - twins - set(MANAGER_METHODS) == {"close", "iter_decisions", "now", "prepare"}
    assert {"recommend", "publish_signal", "share_pattern", "save_state"} <= set(MANAGER_METHODS)


def manager_call(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``MemoryManager.<name>``: each well-typed or anything."""
    params = [
        p
        for p in inspect.signature(getattr(MemoryManager, name)).parameters.values()
        if p.name != "self" and p.kind is not p.VAR_KEYWORD
    ]
    required = {p.name: _mostly_good(p.name) for p in params if p.default is p.empty}
    optional = {p.name: _mostly_good(p.name) for p in params if p.default is not p.empty}
    return st.fixed_dictionaries(required, optional=optional)


def _mostly_good(name: str) -> st.SearchStrategy[Any]:
    """Well-typed five times in six (so some calls get through), else anything."""
    return st.one_of(*[GOOD.get(name, value)] * 5, value)


def contents(memory: MemoryManager) -> str:
    """Everything the store holds, as text: what "nothing was written" compares."""
    store = memory.store
    if isinstance(store, InMemoryStore):
        return repr(sorted((k, repr(v)) for k, v in vars(store).items() if isinstance(v, dict)))
    agents = ["agent-1", "b", "eth"]
    return repr(
        [[r.model_dump_json() for r in store.query_decisions(a, limit=1000).items] for a in agents]
        + [
            [
                p.model_dump_json()
                for p in store.list_patterns(
                    a, min_confidence=0.0, include_retired=True, limit=1000
                ).items
            ]
            for a in agents
        ]
        + [[store.load_state(a), store.list_checkpoints(a)] for a in agents]
        + [[s.model_dump_json() for s in store.pending_signals(a, limit=100)] for a in agents]
        + [store.list_agents()]
    )


def _prepared(memory: MemoryManager) -> None:
    """A decision, a pattern (with the ids ``known_ids`` draws), a state and an agent."""
    for decision_id in ("01J9Z" + "0" * 21, "01J9Z" + "1" * 21):
        memory.log_decision(
            DecisionRecord(
                decision_id=decision_id, agent_id="agent-1", decision_type="custom", timestamp=T0
            )
        )
    memory.store_pattern(
        MemoryPattern(pattern_id="01J9Z" + "0" * 21, agent_id="agent-1", description="p")
    )
    memory.save_state(metrics={"cycles": 1})
    memory.coordinator.register_agent("b", capabilities=["pricing"])


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@FUZZ
@given(data=st.data())
def test_manager_methods_raise_only_library_errors_and_write_nothing_when_they_do(kind, data):
    with memory_on(kind) as memory:
        _prepared(memory)
        for _ in range(data.draw(st.integers(1, 3), "steps")):
            name = data.draw(st.sampled_from(MANAGER_METHODS), "method")
            kwargs = data.draw(manager_call(name), "kwargs")
            twin = f"a{name}" if data.draw(st.booleans(), "async") else None
            before = contents(memory)
            error: AgentMemError | None = None
            try:
                if twin is not None and hasattr(memory, twin):
                    asyncio.run(getattr(memory, twin)(**kwargs))
                else:
                    getattr(memory, name)(**kwargs)
            except AgentMemError as exc:
                error = exc
            if error is not None:
                assert "\n" not in str(error).strip(), str(error)
                assert contents(memory) == before, (name, kwargs)
        assert_store_valid(memory)


# -- constructors -----------------------------------------------------------------------------


def _no_default(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` without None (None means "the default store", which the fuzz leaves be)."""
    return strategy.filter(lambda v: v is not None)


handler_options = st.fixed_dictionaries(
    {},
    optional={
        "agent_id": st.one_of(st.sampled_from(["agent-1", "b"]), value),
        "record_chains": st.one_of(st.sampled_from([True, False, "root"]), value),
        "record_tools": st.one_of(st.booleans(), value),
        "record_llm": st.one_of(st.booleans(), value),
        "name_filter": st.one_of(st.none(), st.lists(st.text(max_size=4), max_size=2), value),
        "redact": st.one_of(st.none(), st.just(lambda d: d), value),
        "max_runs": st.one_of(st.integers(-1, 100), value),
    },
)


def _construct(which: str, data: st.DataObject, memory: MemoryManager, tmp: Path) -> Any:
    """Build the public object ``which`` from drawn arguments."""
    good_memory = st.one_of(st.just(memory), _no_default(value))
    if which == "MemoryManager":
        return MemoryManager(
            data.draw(agent_ids, "agent_id"),
            store=data.draw(st.one_of(st.just(memory.store), _no_default(value)), "store"),
            decision_ttl=data.draw(st.one_of(st.none(), st.timedeltas(), value), "ttl"),
            clock=data.draw(st.one_of(st.just(memory.clock), value), "clock"),
        )
    if which == "DecisionLogger":
        return DecisionLogger(data.draw(st.one_of(st.just(memory), value), "memory"))
    if which == "AgentMemoryCallbackHandler":
        handler_memory = data.draw(good_memory, "memory")
        return AgentMemoryCallbackHandler(handler_memory, **data.draw(handler_options, "options"))
    if which == "PatternRetriever":
        settings_ = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "memory": good_memory,
                    "store": value,
                    "agent_id": value,
                    "k": st.one_of(st.integers(-1, 5), value),
                    "min_confidence": value,
                    "pattern_types": value,
                    "cache_seconds": value,
                    "max_patterns": value,
                },
            ),
            "settings",
        )
        return PatternRetriever(**settings_)
    if which == "MultiAgentCoordinator":
        return MultiAgentCoordinator(
            data.draw(st.one_of(st.just(memory), st.just(memory.store), _no_default(value)), "s"),
            clock=data.draw(st.one_of(st.none(), value), "clock"),
        )
    if which == "decision":
        return decision(
            data.draw(st.one_of(st.none(), decision_types), "type"),
            memory=data.draw(st.one_of(st.none(), good_memory), "memory"),
            agent_id=data.draw(st.one_of(st.none(), agent_ids), "agent_id"),
            capture_args=data.draw(st.one_of(st.booleans(), value), "capture_args"),
            confidence=data.draw(confidences, "confidence"),
            redact=data.draw(st.one_of(st.none(), value), "redact"),
            tags=data.draw(str_lists, "tags"),
        )
    if which == "instrument":
        handler = instrument(data.draw(good_memory, "memory"), **data.draw(handler_options, "o"))
        assert uninstrument(timeout=5)
        return handler
    if which == "SQLiteStore":
        path = data.draw(st.one_of(st.just(tmp / "fuzz-store.db"), _no_default(value)), "path")
        clock = data.draw(st.one_of(st.just(utcnow), value), "clock")
        SQLiteStore(path, clock=clock).close()
        return None
    if which == "InMemoryStore":
        return InMemoryStore(clock=data.draw(st.one_of(st.just(utcnow), value), "clock"))
    if which == "open_store":
        kind = data.draw(st.one_of(st.just("sqlite"), value), "kind")
        opened = open_store(kind, sqlite_path=tmp / "opened.db")
        opened.close()
        return opened
    if which == "consolidate":
        return consolidate(
            data.draw(st.one_of(st.just(memory), st.just(memory.store), value), "memory"),
            data.draw(st.one_of(st.none(), agent_ids), "agent_id"),
            data.draw(st.one_of(st.none(), st.just(T0), value), "now"),
            lease_seconds=data.draw(st.one_of(st.just(60.0), value), "lease_seconds"),
        )
    if which == "ConsolidationScheduler":
        return ConsolidationScheduler(
            data.draw(st.one_of(st.just(memory), value), "memory"),
            every=data.draw(st.one_of(st.timedeltas(), value), "every"),
            agent_ids=data.draw(st.one_of(st.none(), st.lists(agent_ids, max_size=2), value), "a"),
        )
    if which == "PatternLearner":
        settings_ = data.draw(
            st.fixed_dictionaries(
                {},
                optional=dict.fromkeys(
                    ("min_samples", "half_life", "retire_below", "z", "recommend"), value
                ),
            ),
            "settings",
        )
        return PatternLearner(**settings_)
    if which == "ContextThreadPoolExecutor":
        ContextThreadPoolExecutor(data.draw(st.one_of(st.none(), value), "max_workers")).shutdown()
        return None
    raise AssertionError(which)


CONSTRUCTORS = [
    "MemoryManager",
    "DecisionLogger",
    "AgentMemoryCallbackHandler",
    "PatternRetriever",
    "MultiAgentCoordinator",
    "decision",
    "instrument",
    "SQLiteStore",
    "InMemoryStore",
    "open_store",
    "consolidate",
    "ConsolidationScheduler",
    "PatternLearner",
    "ContextThreadPoolExecutor",
]


@pytest.mark.parametrize("which", CONSTRUCTORS)
@FEW
@given(data=st.data())
def test_constructors_raise_only_validation_errors(which, data):
    memory = MemoryManager("agent-1", store=InMemoryStore())
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        error: AgentMemError | None = None
        try:
            _construct(which, data, memory, Path(tmp))
        except AgentMemError as exc:
            error = exc
        finally:
            uninstrument(timeout=5)
    assert error is None or "\n" not in str(error).strip(), str(error)
    assert memory.query_decisions().items == []


def test_the_fuzzed_constructors_cover_the_public_ones():
    import agentmem_langchain

    constructed = {
        name
        for name in agentmem_langchain.__all__
        if name
        in {
            "MemoryManager",
            "DecisionLogger",
            "AgentMemoryCallbackHandler",
            "PatternRetriever",
            "MultiAgentCoordinator",
            "decision",
            "instrument",
            "open_store",
            "consolidate",
            "ConsolidationScheduler",
            "PatternLearner",
            "ContextThreadPoolExecutor",
        }
    }
    assert constructed <= set(CONSTRUCTORS)


# -- PatternRetriever -------------------------------------------------------------------------

_retriever_memory = MemoryManager("agent-1", store=InMemoryStore())
for _i, (_desc, _cond) in enumerate(
    [
        ("In high volatility, coinglass succeeded", {"volatility": "high"}),
        ("Momentum wins in trending markets ünïcødé 😀", {"trend": "up", "n": 3}),
        ("", {}),
    ]
):
    _retriever_memory.store_pattern(
        MemoryPattern(
            agent_id="agent-1",
            decision_type="source_selection",
            description=_desc,
            conditions=_cond,
            recommendation={"selected": [f"s{_i}"]},
            confidence=0.2 * (_i + 1),
        )
    )


@FUZZ
@given(
    query=st.one_of(
        st.text(),
        st.just(""),
        st.just("volatility " * 10_000),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=3000),
        st.sampled_from(["\x00", "\ud800", "😀", "_", "   ", "coinglass"]),
    ),
    k=st.one_of(st.none(), st.integers(-1, 6)),
)
def test_retriever_returns_documents_or_a_library_error(query, k):
    retriever = PatternRetriever(memory=_retriever_memory, k=3, cache_seconds=0)
    try:
        docs = retriever.invoke(query) if k is None else retriever.invoke(query, k=k)
    except AgentMemError:
        return
    assert isinstance(docs, list)
    assert all(isinstance(d, Document) for d in docs)
    assert len(docs) <= (3 if k is None or k < 1 else k)
    for d in docs:
        assert 0.0 <= d.metadata["relevance"] <= 1.0
        assert math.isfinite(d.metadata["score"])


# -- CLI --------------------------------------------------------------------------------------

COMMANDS = [
    "init",
    "stats",
    "decisions",
    "chain",
    "patterns",
    "signals",
    "calibration",
    "consolidate",
    "iam-policy",
    "dashboard",
    "export",
    "import",
]
OPTIONS = [
    "--agent-id",
    "--hours",
    "--json",
    "--limit",
    "--type",
    "--min-confidence",
    "--shared",
    "--no-shared",
    "--include-retired",
    "--bins",
    "--plot",
    "--table-prefix",
    "--region",
    "--account-id",
    "--name",
    "--namespace",
    "--out",
    "-o",
    "--format",
    "--store",
    "--help",
]
#: File names stay inside the temporary directory (no separators, so no absolute paths).
file_names = st.text(
    alphabet=st.characters(blacklist_characters="/\\", blacklist_categories=("Cs",)),
    min_size=0,
    max_size=12,
)
cli_values = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_characters="/\\", blacklist_categories=("Cs",)),
        max_size=15,
    ),
    st.sampled_from(
        [
            "agent-1",
            "0",
            "-1",
            "1e309",
            "nan",
            "inf",
            "0.5",
            "101",
            "jsonl",
            "csv",
            "sqlite",
            "01J9Z" + "0" * 21,
            "x" * 300,
            "",
            "--",
        ]
    ),
    st.integers().map(str),
    st.floats().map(str),
)
cli_token = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(OPTIONS), cli_values)
runner = CliRunner()


def _command_options() -> dict[str, list[tuple[str, bool]]]:
    """Each fuzzed command's own options, with whether each is a flag (takes no value)."""
    from typer.main import get_command

    commands = get_command(app).commands  # type: ignore[attr-defined]
    return {
        name: [
            (opt, bool(getattr(param, "is_flag", False)))
            for param in commands[name].params
            if param.param_type_name == "option"
            for opt in [*param.opts, *param.secondary_opts]
            if opt not in ("--create", "--endpoint-url", "--store")
        ]
        for name in COMMANDS
    }


COMMAND_OPTIONS = _command_options()


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A command with mostly well-formed options (so the commands themselves run)."""
    command = draw(st.sampled_from(COMMANDS))
    tokens: list[str] = []
    if command in ("chain", "import"):
        tokens.append(draw(st.one_of(st.just("01J9Z" + "0" * 21), cli_values)))
    if draw(st.booleans()):
        tokens += ["--agent-id", draw(st.one_of(st.just("agent-1"), cli_values))]
    options = COMMAND_OPTIONS[command]
    for opt, is_flag in draw(st.lists(st.sampled_from(options), max_size=3)) if options else []:
        tokens += [opt] if is_flag else [opt, draw(cli_values)]
    return command, tokens


@FUZZ
@given(
    line=st.one_of(
        command_lines(),
        st.tuples(st.sampled_from(COMMANDS), st.lists(cli_token, max_size=6)),
    ).filter(
        lambda line: "--create" not in line[1] and not any("dynamodb" in t.lower() for t in line[1])
    ),
    global_path=st.one_of(st.just("cli.db"), file_names),
    seed=st.booleans(),
)
def test_cli_exits_cleanly_without_a_traceback(line, global_path, seed):
    command, tokens = line
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        if seed:
            with SQLiteStore(Path(tmp) / "cli.db") as store:
                logger = DecisionLogger(MemoryManager("agent-1", store=store))
                first = logger.log_decision("tool_call", confidence=0.5, selected=["a"])
                logger.log_outcome(first, success=True, latency_ms=5.0)
                logger.log_decision("tool_call", parent_decision_id=first)
        argv = ["--sqlite-path", global_path, command, *tokens]
        env = {
            "AGENTMEM_SQLITE_PATH": str(Path(tmp) / "env.db"),
            "AGENTMEM_STORE": "sqlite",
            "AGENTMEM_AGENT_ID": "agent-1",
            "AWS_REGION": "us-east-1",
        }
        result = runner.invoke(app, argv, env=env)
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, result.output)
    assert "Traceback" not in result.output, (argv, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv,
        repr(result.exception),
        result.output,
    )


def test_the_fuzzed_cli_names_are_the_real_ones():
    from typer.main import get_command

    cli = get_command(app)
    assert set(COMMANDS) <= set(cli.commands) - {"cost"}  # cost runs moto: too slow to fuzz
    names = {
        opt
        for command in cli.commands.values()
        for param in command.params
        for opt in [*param.opts, *param.secondary_opts]
    } | {opt for param in cli.params for opt in [*param.opts, *param.secondary_opts]}
    assert set(OPTIONS) - {"--help"} <= names
