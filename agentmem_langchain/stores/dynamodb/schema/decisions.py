"""Decision items: the record as ``doc``, its outcome, the index keys, and visible truncation
of captured fields that would not fit DynamoDB's 400 KB item limit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ....errors import ValidationError
from ....models import DecisionOutcome, DecisionRecord, enum_value
from .values import Item, item_size, n, s, time_key

MAX_ITEM_BYTES = 350 * 1024
"""Items are kept under this (DynamoDB's hard limit is 400 KB) by truncating captured fields."""

OUTCOME_BUDGET_BYTES = 40 * 1024
"""An outcome attached to a stored decision is kept under this (see ``outcome_attributes``)."""

TRUNCATED_KEY = "_agentmem_truncated"
_PREVIEW_CHARS = 1024


def decision_item(record: DecisionRecord) -> Item:
    """The item for a decision: ``doc`` (the record without outcome), ``outcome`` (JSON) and
    the scalar attributes the indexes need. Over-large captured fields are truncated."""
    agent = record.agent_id
    item: Item = {
        "agent_id": s(agent),
        "decision_id": s(record.decision_id),
        "ts": s(time_key(record.timestamp) + "#" + record.decision_id),
        "decision_type": s(record.decision_type),
        "type_pk": s(f"{agent}#{record.decision_type}"),
        "status": s(enum_value(record.status)),
    }
    if record.reasoning.confidence is not None:
        item["confidence"] = n(record.reasoning.confidence)
    if record.ttl is not None:
        item["ttl"] = n(record.ttl)
    if record.is_stm and not record.consolidated:
        item["stm_pk"] = s(agent)
    if record.consolidated:
        item["consolidated"] = {"BOOL": True}
    if record.trace_id is not None:
        item["trace_pk"] = s(f"{agent}#{record.trace_id}")
    if record.parent_decision_id is not None:
        item["parent_pk"] = s(f"{agent}#{record.parent_decision_id}")
    if record.outcome is not None:
        item.update(outcome_attributes(agent, record.outcome))
    body = _doc(record)
    item["doc"] = s(json.dumps(body, separators=(",", ":"), ensure_ascii=False))
    if item_size(item) > MAX_ITEM_BYTES:
        return _shrunk_decision_item(item, body)
    return item


def outcome_attributes(agent_id: str, outcome: DecisionOutcome) -> Item:
    """The attributes an outcome sets: its JSON, the status and the sparse SuccessIndex key.

    Decision items are written under ``MAX_ITEM_BYTES``, which leaves DynamoDB's 400 KB room
    for an outcome of ``OUTCOME_BUDGET_BYTES`` attached later; larger ``details`` and
    ``error`` values are truncated with the same visible marker."""
    status = "success" if outcome.success else "failure"
    attrs: Item = {
        "outcome": s(_outcome_json(outcome)),
        "status": s(status),
        "status_pk": s(f"{agent_id}#{status}"),
    }
    if outcome.latency_ms is not None:
        attrs["latency_ms"] = n(outcome.latency_ms)
    return attrs


def _outcome_json(outcome: DecisionOutcome) -> str:
    text = outcome.model_dump_json()
    if len(text.encode()) <= OUTCOME_BUDGET_BYTES:
        return text
    data = json.loads(text)
    for field in ("details", "error"):
        size = len(_dumps(data.get(field)))
        if data.get(field) and size > _PREVIEW_CHARS * 2:
            data[field] = _marker(data[field], size)
            text = _dumps(data)
            if len(text.encode()) <= OUTCOME_BUDGET_BYTES:
                break
    return text


def _doc(record: DecisionRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"outcome", "consolidated"})


def decision_from_item(item: Mapping[str, Any]) -> DecisionRecord:
    """The record stored in ``item`` (outcome and consolidation flag merged back in)."""
    data = json.loads(item["doc"]["S"])
    outcome = item.get("outcome")
    data["outcome"] = json.loads(outcome["S"]) if outcome else None
    data["consolidated"] = bool(item.get("consolidated", {}).get("BOOL", False))
    return DecisionRecord.model_validate(data)


def decision_key(agent_id: str, decision_id: str) -> Item:
    return {"agent_id": s(agent_id), "decision_id": s(decision_id)}


# -- truncation -------------------------------------------------------------------------------

_DICT_FIELDS = (
    ("context", "market"),
    ("context", "inputs"),
    ("context", "extra"),
    ("metadata",),
    ("reasoning", "scores"),
)
_TEXT_FIELDS = (("reasoning", "rationale"),)


def _shrunk_decision_item(item: Item, body: dict[str, Any]) -> Item:
    """Replace the largest captured fields (context, metadata, outcome details) with a
    visible marker until the item fits; a record that still cannot fit is refused."""
    outcome = json.loads(item["outcome"]["S"]) if "outcome" in item else None
    candidates = [(body, path) for path in _DICT_FIELDS + _TEXT_FIELDS]
    if outcome is not None:
        candidates += [(outcome, ("details",)), (outcome, ("error",))]
    while item_size(item) > MAX_ITEM_BYTES:
        sized = [(len(_dumps(_get(root, p))), root, p) for root, p in candidates]
        size, root, path = max(sized, key=lambda entry: entry[0])
        if size <= _PREVIEW_CHARS * 2:
            raise ValidationError(
                f"decision {item['decision_id']['S']} is larger than {MAX_ITEM_BYTES} bytes "
                "even with its captured fields truncated",
                field="decision",
            )
        _set(root, path, _marker(_get(root, path), size))
        item["doc"] = s(_dumps(body))
        if outcome is not None:
            item["outcome"] = s(_dumps(outcome))
    return item


def _marker(value: Any, size: int) -> Any:
    preview = value if isinstance(value, str) else _dumps(value)
    note = f"truncated by agentmem: {size} bytes did not fit a DynamoDB item"
    if isinstance(value, str):
        return f"{preview[:_PREVIEW_CHARS]}... [{note}]"
    return {TRUNCATED_KEY: {"note": note, "bytes": size, "preview": preview[:_PREVIEW_CHARS]}}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _get(root: Mapping[str, Any], path: Iterable[str]) -> Any:
    value: Any = root
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(root: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = root
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


__all__ = [
    "MAX_ITEM_BYTES",
    "OUTCOME_BUDGET_BYTES",
    "TRUNCATED_KEY",
    "decision_from_item",
    "decision_item",
    "decision_key",
    "outcome_attributes",
]
