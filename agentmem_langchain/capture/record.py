"""The models of a captured decision, built once: checked by the models' rules, then constructed.

:meth:`CapturedDecision.to_record <agentmem_langchain.capture.CapturedDecision.to_record>`
has already made every captured value JSON-safe
(:class:`~agentmem_langchain.capture.values.LenientJSON`), so they are not validated again.
Each function here returns exactly the model that
validation would return (or raises its ``ValidationError``): it checks the fields it is given
by the model's own rules (ids, agent id, decision type, tags, numbers, strings); when every
check passes it builds the model as ``model_construct`` would, and anything else, from a str
subclass to a wrong type, goes through full validation. The only value taken on trust is the
content of a JSON dict (``context.market``/``inputs``/``extra``, ``metadata``), and only when
the caller says it came straight from ``LenientJSON`` (``json_safe=True``).

:func:`encoded_decision` goes one step further for a store that takes decisions in their
stored form (:class:`~agentmem_langchain.stores.base.EncodedDecision`): with the same checks
it writes the record's JSON straight from those fields, and builds no model at all.

>>> reasoning_model({"selected": ["a"], "confidence": 0.5}).selected
['a']
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, TypeVar

from pydantic_core import PydanticSerializationError, to_json

from ..models import (
    AGENT_ID_TEXT,
    MAX_LABEL_CHARS,
    ULID_TEXT,
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    Model,
    utcnow,
)
from ..stores.base import EncodedDecision

M = TypeVar("M", bound=Model)

_STR = frozenset({str})  # _STR.issuperset(map(type, items)): every item is a plain str
_LISTS = frozenset({"selected", "alternatives", "patterns_applied"})
_CONTEXT_KNOWN = DecisionContext._known
# Every field, in declaration order (a model is serialized in the order of its ``__dict__``),
# with its default unless that is a factory: a record missing such a field is validated, an
# outcome's ``recorded_at`` and ``details`` are filled in.
_OUTCOME_TEMPLATE = dict.fromkeys(DecisionOutcome.model_fields)
_RECORD_TEMPLATE: dict[str, Any] = {
    **dict.fromkeys(DecisionRecord.model_fields),
    "is_stm": True,
    "consolidated": False,
}

_set = object.__setattr__


def _construct(model: type[M], values: dict[str, Any], given: Any) -> M:
    """What ``model.model_construct(set(given), **values)`` makes, for ``values`` naming every
    field (tests pin the equivalence)."""
    made = model.__new__(model)
    _set(made, "__dict__", values)
    _set(made, "__pydantic_fields_set__", set(given))
    _set(made, "__pydantic_extra__", None)
    _set(made, "__pydantic_private__", None)
    return made


def _is_id(value: Any) -> bool:
    return value is None or (type(value) is str and ULID_TEXT.fullmatch(value) is not None)


def _is_text(value: Any) -> bool:
    return value is None or type(value) is str


def _is_unit(value: Any) -> bool:
    return value is None or (type(value) is float and 0.0 <= value <= 1.0)  # NaN fails


def _is_utc_time(value: Any) -> bool:
    # Naive (validation makes it UTC) or UTC (validation keeps it).
    return type(value) is datetime and (value.tzinfo is None or value.tzinfo is timezone.utc)


# -- reasoning ------------------------------------------------------------------------------


def reasoning_model(fields: dict[str, Any]) -> DecisionReasoning:
    """``DecisionReasoning.model_validate(fields)``, built directly when its checks pass."""
    values = _reasoning_values(fields)
    if values is None:
        return DecisionReasoning.model_validate(fields)
    return _construct(DecisionReasoning, values, fields)


def _reasoning_values(fields: dict[str, Any]) -> dict[str, Any] | None:
    """Every field of the model, or None when some value needs validation."""
    for name, value in fields.items():
        if name in _LISTS:
            plain = type(value) is list and _STR.issuperset(map(type, value))
        elif name == "confidence":
            plain = _is_unit(value)
        elif name == "rationale":
            plain = _is_text(value)
        elif name == "scores":
            plain = type(value) is dict and all(
                type(key) is str and type(score) is float and math.isfinite(score)
                for key, score in value.items()
            )
        else:
            plain = False  # not a field: validation names it
        if not plain:
            return None
    values: dict[str, Any] = {
        "scores": {},
        "selected": [],
        "alternatives": [],
        "patterns_applied": [],
        "confidence": None,
        "rationale": None,
    }
    values.update(fields)
    return values


# -- context --------------------------------------------------------------------------------


def context_model(fields: dict[str, Any], *, json_safe: bool) -> DecisionContext:
    """``DecisionContext.model_validate(fields)``, built directly when its checks pass.

    Keys other than ``market``, ``cycle`` and ``inputs`` go into ``extra``, as validation puts
    them. ``json_safe`` says every dict value is ``LenientJSON`` output.
    """
    found = _context_values(fields) if json_safe else None
    if found is None:
        return DecisionContext.model_validate(fields)
    return _construct(DecisionContext, *found)


def _context_values(fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]] | None:
    """Every field of the model and the names given, or None when validation is needed."""
    values: dict[str, Any] = {"market": {}, "cycle": None, "inputs": {}}
    given: list[str] = []
    extra: dict[str, Any] = {}
    for key, value in fields.items():
        if type(key) is not str or key == "extra":
            return None
        if key in _CONTEXT_KNOWN:
            values[key] = value
            given.append(key)
        else:
            extra[key] = value
    if extra:
        given.append("extra")
    values["extra"] = extra
    cycle = values["cycle"]
    if (
        (cycle is None or type(cycle) is int)
        and type(values["market"]) is dict
        and type(values["inputs"]) is dict
    ):
        return values, given
    return None


# -- outcome --------------------------------------------------------------------------------


def outcome_model(fields: dict[str, Any]) -> DecisionOutcome:
    """``DecisionOutcome(**fields)``, built directly when its checks pass.

    ``details`` is taken as is only when it maps str to str (a traceback); other details are
    validated.
    """
    values = _outcome_values(fields)
    if values is None:
        return DecisionOutcome(**fields)
    return _construct(DecisionOutcome, values, fields)


def _outcome_values(fields: dict[str, Any]) -> dict[str, Any] | None:
    """Every field of the model (its defaults filled in), or None when validation is needed."""
    values = {**_OUTCOME_TEMPLATE, **fields}
    if "recorded_at" not in fields:
        values["recorded_at"] = utcnow()
    if "details" not in fields:
        values["details"] = {}
    latency, error, error_type, details, recorded_at = (
        values["latency_ms"],
        values["error"],
        values["error_type"],
        values["details"],
        values["recorded_at"],
    )
    if (
        len(values) == len(_OUTCOME_TEMPLATE)
        and type(values["success"]) is bool
        and _is_unit(values["quality_score"])
        and (latency is None or (type(latency) is float and 0.0 <= latency < math.inf))
        and (error is None or type(error) is str)
        and (error_type is None or type(error_type) is str)
        and _is_utc_time(recorded_at)
        and type(details) is dict
        and _STR.issuperset(map(type, details))
        and _STR.issuperset(map(type, details.values()))
    ):
        if recorded_at.tzinfo is None:
            values["recorded_at"] = recorded_at.replace(tzinfo=timezone.utc)
        return values
    return None


# -- the record -----------------------------------------------------------------------------


def decision_record(fields: dict[str, Any], *, json_safe: bool) -> DecisionRecord:
    """``DecisionRecord(**fields)``, built directly when its checks pass.

    ``context``, ``reasoning`` and ``outcome`` are taken as they are only when they are
    models already; ``json_safe`` says ``metadata`` is ``LenientJSON`` output.
    """
    if json_safe:
        values = _record_values(fields)
        outcome = fields.get("outcome")
        if (
            values is not None
            and type(values["context"]) is DecisionContext
            and type(values["reasoning"]) is DecisionReasoning
            and (outcome is None or type(outcome) is DecisionOutcome)
        ):
            return _construct(DecisionRecord, values, fields)
    return DecisionRecord(**fields)


def encoded_decision(fields: dict[str, Any]) -> EncodedDecision | None:
    """The stored form of ``DecisionRecord(**fields)``, without building the models, where
    ``context``, ``reasoning`` and ``outcome`` are the fields of those models (``outcome``
    may be None) and every dict among them is ``LenientJSON`` output. None when some value
    needs validation: then build the record."""
    reasoning = _reasoning_values(fields["reasoning"])
    context = _context_values(fields["context"])
    given_outcome = fields["outcome"]
    outcome = None if given_outcome is None else _outcome_values(given_outcome)
    if reasoning is None or context is None or (outcome is None) is not (given_outcome is None):
        return None
    values = _record_values(fields)
    if values is None:
        return None
    values["context"], values["reasoning"], values["outcome"] = context[0], reasoning, outcome
    try:
        text = to_json(values, inf_nan_mode="strings").decode()
    except PydanticSerializationError:  # text no UTF-8 holds: let validation say so
        return None
    return EncodedDecision(
        values["agent_id"],
        values["decision_id"],
        values["timestamp"],
        values["decision_type"],
        None if outcome is None else outcome["success"],
        reasoning["confidence"],
        None if outcome is None else outcome["latency_ms"],
        values["is_stm"],
        values["consolidated"],
        values["ttl"],
        values["parent_decision_id"],
        values["trace_id"],
        text,
    )


def _record_values(fields: dict[str, Any]) -> dict[str, Any] | None:
    """Every field of the record, defaults and the root's trace filled in, or None when a
    value other than ``context``, ``reasoning`` and ``outcome`` needs validation."""
    values = {**_RECORD_TEMPLATE, **fields}
    if len(values) != len(_RECORD_TEMPLATE) or not _plain_record(values):
        return None
    timestamp = values["timestamp"]
    if timestamp.tzinfo is None:
        values["timestamp"] = timestamp.replace(tzinfo=timezone.utc)
    if values["trace_id"] is None and values["parent_decision_id"] is None:
        values["trace_id"] = values["decision_id"]  # a root is its own trace
    return values


def _plain_record(values: dict[str, Any]) -> bool:
    decision_id, parent, trace, agent, kind, ttl, tags = (
        values["decision_id"],
        values["parent_decision_id"],
        values["trace_id"],
        values["agent_id"],
        values["decision_type"],
        values["ttl"],
        values["tags"],
    )
    # Ids are checked once each: a child's trace is often its parent (the same str object).
    return (
        type(decision_id) is str
        and ULID_TEXT.fullmatch(decision_id) is not None
        and (parent is None or parent is decision_id or _is_id(parent))
        and (trace is None or trace is decision_id or trace is parent or _is_id(trace))
        and type(agent) is str
        and len(agent) <= MAX_LABEL_CHARS
        and AGENT_ID_TEXT.fullmatch(agent) is not None
        and type(kind) is str
        and 0 < len(kind) <= MAX_LABEL_CHARS
        and _is_utc_time(values["timestamp"])
        and type(values["is_stm"]) is bool
        and type(values["consolidated"]) is bool
        and (ttl is None or (type(ttl) is int and ttl >= 0))
        and type(tags) is list
        and _STR.issuperset(map(type, tags))
        and type(values["metadata"]) is dict
    )


__all__ = [
    "context_model",
    "decision_record",
    "encoded_decision",
    "outcome_model",
    "reasoning_model",
]
