"""Attribute values in the low-level client's form, sortable string keys and item sizes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ....errors import ValidationError
from ..._common import to_micros

Item = dict[str, Any]
"""A DynamoDB item in the low-level client's form: ``{"name": {"S": "value"}}``."""


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    """A number attribute. Floats go through ``Decimal(repr(x))``: exact, never 'Float types
    are not supported'. NaN/inf are rejected; magnitudes outside DynamoDB's range (1e-130 to
    1e126) are clamped, which only ever affects index copies (the ``doc`` keeps the value)."""
    if isinstance(value, (bool, int)):
        return {"N": str(int(value))}
    if not math.isfinite(value):
        raise ValidationError(f"{value!r} cannot be stored as a number", value=value)
    magnitude = abs(value)
    if magnitude and magnitude < 1e-130:
        value = 0.0
    elif magnitude >= 1e126:
        value = math.copysign(9.99e125, value)
    return {"N": str(Decimal(repr(value)))}


def num(attribute: Mapping[str, str] | None) -> float | None:
    """The float behind a number attribute (None when absent)."""
    return None if attribute is None else float(Decimal(attribute["N"]))


def integer(attribute: Mapping[str, str] | None, default: int = 0) -> int:
    return default if attribute is None else int(Decimal(attribute["N"]))


def text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def _signed_key(value: int) -> str:
    # Fixed width, and '-' sorts before '0': string order equals numeric order.
    return f"{value:018d}" if value >= 0 else f"-{10**18 + value:018d}"


def time_key(moment: datetime) -> str:
    """Zero-padded microseconds since the epoch, sortable as a string (pre-1970 too)."""
    return _signed_key(to_micros(moment))


def conf_key(confidence: float, pattern_id: str = "") -> str:
    """Sort key of ConfidenceIndex/SharedPatternIndex: confidence then id, as a string."""
    key = f"{min(max(confidence, 0.0), 1.0):.17f}"
    return f"{key}#{pattern_id}" if pattern_id else key


def from_micros(micros: int) -> datetime:
    """The UTC datetime ``micros`` microseconds after the epoch (exact, unlike floats)."""
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)


def item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's size of an item: names plus values (UTF-8), as the 400 KB limit counts it."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "BOOL" or kind == "NULL":
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in raw.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    return len(str(raw).encode())


__all__ = [
    "Item",
    "conf_key",
    "from_micros",
    "integer",
    "item_size",
    "n",
    "num",
    "s",
    "text",
    "time_key",
]
