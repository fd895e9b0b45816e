"""The one rule that turns captured values into JSON that every store can keep.

``to_json_value(value, field)`` returns a value made only of ``dict`` (with ``str`` keys),
``list``, ``str``, ``int``, ``float`` (finite), ``bool`` and ``None``:

========================================  ==========================================
input                                     stored as
========================================  ==========================================
pydantic model                            ``model_dump(mode="json")``
dataclass instance                        its fields, as a dict
``datetime`` / ``date`` / ``time``        ISO 8601 text (naive datetimes taken as UTC)
``Enum``                                  its ``value``
``UUID``, ``Decimal``, ``Path``            ``str`` (``Decimal`` to ``float`` when finite)
``set`` / ``frozenset``                   sorted list (sorted by ``repr`` when mixed)
``tuple`` / other sequences               list
``bytes``                                 rejected (encode it yourself)
``float`` NaN or infinity                 rejected
``int`` of more than 13,000 bits          rejected (JSON parsers cannot read it back)
dict keys ``int``/``float``/``bool``/Enum  ``str(key)``; other key types are rejected
anything else                             rejected
========================================  ==========================================

A rejected value raises :class:`~agentmem_langchain.errors.ValidationError` naming the path
(``context.market.when``) and the type, so nothing half-converted is ever stored.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from .errors import ValidationError, _short

JSONValue = Any  # dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None

_MAX_DEPTH = 64
#: Larger ints (about 3,900 digits) are written to JSON but cannot be parsed back.
_MAX_INT_BITS = 13_000


def to_json_value(value: Any, field: str) -> JSONValue:
    """Convert ``value`` by the module's rule, or raise ``ValidationError`` naming ``field``."""
    return _convert(value, field, 0)


def to_json_dict(value: Mapping[str, Any] | None, field: str) -> dict[str, JSONValue]:
    """Like :func:`to_json_value` for a mapping; ``None`` becomes ``{}``."""
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{field}: expected a mapping, got {type(value).__name__}", field=field, value=value
        )
    converted = _convert(value, field, 0)
    assert isinstance(converted, dict)
    return converted


def _convert(value: Any, path: str, depth: int) -> JSONValue:
    if depth > _MAX_DEPTH:
        raise ValidationError(f"{path}: nested deeper than {_MAX_DEPTH} levels", field=path)
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, Enum):
            return _convert(value.value, path, depth)
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            raise ValidationError(
                f"{path}: an int of {value.bit_length()} bits cannot be read back from JSON "
                f"(the limit is {_MAX_INT_BITS} bits; store it as a str)",
                field=path,
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(
                f"{path}: {value!r} cannot be stored (NaN and infinity are not JSON)",
                field=path,
                value=value,
            )
        return value
    if isinstance(value, Enum):
        return _convert(value.value, path, depth)
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            skey = _key(key, path)
            out[skey] = _convert(item, f"{path}.{skey}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_convert(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [_convert(item, f"{path}[]", depth + 1) for item in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, BaseModel):
        return _convert(value.model_dump(mode="json"), path, depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _convert(fields, path, depth + 1)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else _convert(float(value), path, depth)
    if isinstance(value, (UUID, PurePath)):
        return str(value)
    raise ValidationError(
        f"{path}: a value of type {type(value).__name__} cannot be stored as JSON "
        "(convert it to a str, number, list or dict first)",
        field=path,
        value=value,
    )


def _key(key: Any, path: str) -> str:
    if isinstance(key, Enum):
        key = key.value
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, int, float)):
        return str(key)
    raise ValidationError(
        f"{path}: dict key {_short(key)} ({type(key).__name__}) cannot be a JSON key",
        field=path,
        value=key,
    )


__all__ = ["JSONValue", "to_json_dict", "to_json_value"]
