"""Captured values made storable: lenient JSON, secret masking, truncation, reasoning fields.

Unlike :mod:`agentmem_langchain.serialization` (which rejects what it cannot store), these
rules never raise: whatever cannot be converted is kept as its (truncated) ``repr``, NaN and
infinity become ``None``, and values of keys that look like secrets become ``"***"``.

>>> from agentmem_langchain.capture import CaptureSettings
>>> LenientJSON(CaptureSettings()).value({"api_key": "sk-1", "n": float("nan"), "s": {3, 1}})
{'api_key': '***', 'n': None, 's': [1, 3]}
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timezone
from decimal import Decimal
from enum import Enum
from numbers import Real
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel

from .serialization import _MAX_INT_BITS

if TYPE_CHECKING:
    from .capture import CaptureSettings

MASK = "***"
MAX_DEPTH = 32
MAX_ITEMS = 1_000
_LIST_FIELDS = ("selected", "alternatives", "patterns_applied")


def truncate_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters plus a visible ``…[truncated N chars]`` marker."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"…[truncated {len(text) - limit} chars]"


class _SecretKeys:
    """Which mapping keys look like secrets; ``seen`` remembers the first ``MAX_NAMES``."""

    MAX_NAMES = 4_096

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.seen: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        found = self.seen.get(name)
        if found is None:
            found = self.pattern.search(name) is not None
            if len(self.seen) < self.MAX_NAMES:
                self.seen[name] = found
        return found


@functools.lru_cache(maxsize=16)
def _secret_keys(pattern: str) -> _SecretKeys:
    return _SecretKeys(pattern)


_KEPT = frozenset({int, float, bool, type(None)})  # what _cut returns as it is
# json.dumps(value, ensure_ascii=False) without making an encoder per call.
_json_text = json.JSONEncoder(ensure_ascii=False).encode


class LenientJSON:
    """Converts anything to JSON-able values by the module's rules (never raises).

    The output is made of ``dict`` (plain ``str`` keys), ``list``, ``str``, ``int``, finite
    ``float``, ``bool`` and ``None`` only.
    """

    def __init__(self, settings: CaptureSettings) -> None:
        self.limit = settings.max_value_chars
        self.secret = _secret_keys(settings.secret_keys) if settings.secret_keys else None

    def value(self, value: Any) -> Any:
        """``value`` as JSON-able data."""
        try:
            return self._convert(value, 0)
        except Exception:
            return self._repr(value)

    def convert_mapping(self, value: Any) -> dict[str, Any]:
        """Like :meth:`value`, always a dict (a non-mapping becomes ``{"value": ...}``)."""
        converted = self.value(value) if value is not None else {}
        return converted if isinstance(converted, dict) else {"value": converted}

    def truncate(self, value: Any) -> Any:
        """Each top-level value (each entry of a dict) cut to ``max_value_chars`` of JSON."""
        if isinstance(value, dict):
            limit, cut = self.limit, self._cut
            return {
                # Short text and numbers are kept as they are, without a call.
                key: item
                if type(item) in _KEPT or (type(item) is str and len(item) <= limit)
                else cut(item)
                for key, item in value.items()
            }
        return self._cut(value)

    def _cut(self, value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= self.limit else truncate_text(value, self.limit)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text = _json_text(value)
        return value if len(text) <= self.limit else truncate_text(text, self.limit)

    def _repr(self, value: Any) -> str:
        try:
            text = repr(value)
        except Exception:
            text = f"<{type(value).__name__} object>"
        return truncate_text(text, self.limit)

    def _convert(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return self._repr(value)
        kind = type(value)
        # The exact built-in types first: the same results as the general rules below.
        if kind is str or kind is bool or value is None:
            return value
        if kind is dict:
            return self._mapping(value, depth)
        if kind is float:
            return value if math.isfinite(value) else None
        if kind is int and value.bit_length() <= _MAX_INT_BITS:
            return value
        if kind is list:
            return self._sequence(value[: MAX_ITEMS + 1], len(value), depth)
        if isinstance(value, Enum):
            return self._convert(value.value, depth + 1)
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            return self._repr(value)  # stored as is, it would make the record unreadable
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, Mapping):
            return self._mapping(value, depth)
        if isinstance(value, (list, tuple)):
            return self._sequence(list(value[: MAX_ITEMS + 1]), len(value), depth)
        if isinstance(value, (set, frozenset)):
            items = sorted(value, key=repr) if len(value) <= MAX_ITEMS else list(value)
            return self._sequence(items[: MAX_ITEMS + 1], len(value), depth)
        return self._other(value, depth)

    def _other(self, value: Any, depth: int) -> Any:
        if isinstance(value, BaseModel):
            return self._convert(value.model_dump(), depth + 1)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self._convert(fields, depth + 1)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
        if isinstance(value, (date, time)):
            return value.isoformat()
        if isinstance(value, Decimal):
            return float(value) if value.is_finite() else None
        if isinstance(value, (UUID, PurePath)):
            return str(value)
        if isinstance(value, Real):  # numpy scalars and other real numbers
            number = float(value)
            return number if math.isfinite(number) else None
        return self._repr(value)

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        secret = self.secret
        plain_values = depth < MAX_DEPTH  # a str, bool or None item is kept as it is
        for index, (key, item) in enumerate(value.items()):
            if index == MAX_ITEMS:
                out["…"] = f"[truncated {len(value) - MAX_ITEMS} keys]"
                break
            name = key if type(key) is str else self._key(key)
            if secret is not None and secret.seen.get(name) is not False and secret(name):
                out[name] = MASK
            elif plain_values and (type(item) is str or item is None or type(item) is bool):
                out[name] = item
            else:
                out[name] = self._convert(item, depth + 1)
        return out

    def _sequence(self, items: list[Any], total: int, depth: int) -> list[Any]:
        out = [self._convert(item, depth + 1) for item in items[:MAX_ITEMS]]
        if total > MAX_ITEMS:
            out.append(f"…[truncated {total - MAX_ITEMS} items]")
        return out

    def _key(self, key: Any) -> str:
        if type(key) is str:
            return key
        if isinstance(key, Enum):
            key = key.value
        if isinstance(key, str):
            return str.__str__(key)  # a plain str, as a model's ``dict[str, ...]`` keeps it
        if isinstance(key, (bool, int, float)):
            return str(key)
        return self._repr(key)


def reasoning_from_result(result: Any) -> dict[str, Any]:
    """Reasoning fields a result carries: a mapping's keys or an object's attributes.

    Reads ``confidence``, ``scores``, ``selected``, ``alternatives``, ``patterns_applied``,
    ``rationale`` and ``reasoning`` (a string is the rationale; a mapping or object gives more
    of the fields). Values of an implausible type are ignored.
    """
    if result is None or isinstance(result, _SCALARS):
        return {}
    read = _reader(result)
    found = _plausible_fields(read)
    nested = read("reasoning")
    if isinstance(nested, str):
        found.setdefault("rationale", nested)
    elif nested is not None and not isinstance(nested, _SCALARS):
        for key, value in _plausible_fields(_reader(nested)).items():
            found.setdefault(key, value)
    return found


_SCALARS = (str, bytes, int, float, list, tuple, set)


def _reader(source: Any) -> Callable[[str], Any]:
    """``name -> value``: a mapping's key or an object's attribute; None when reading raises."""
    mapping = isinstance(source, Mapping)

    def read(name: str) -> Any:
        try:
            return source.get(name) if mapping else getattr(source, name, None)
        except Exception:
            return None

    return read


_PLAUSIBLE: dict[str, Callable[[Any], bool]] = {
    "confidence": lambda v: isinstance(v, Real) and not isinstance(v, bool),
    "scores": lambda v: isinstance(v, Mapping),
    "selected": lambda v: isinstance(v, (str, list, tuple)),
    "alternatives": lambda v: isinstance(v, (str, list, tuple)),
    "patterns_applied": lambda v: isinstance(v, (str, list, tuple)),
    "rationale": lambda v: isinstance(v, str),
}


def _plausible_fields(read: Callable[[str], Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, plausible in _PLAUSIBLE.items():
        value = read(name)
        if value is not None and plausible(value):
            found[name] = value
    return found


def clean_reasoning(raw: Mapping[str, Any], warn: Callable[[str], None]) -> dict[str, Any]:
    """Fields for ``DecisionReasoning`` with every invalid value dropped (and warned about)."""
    out: dict[str, Any] = {}
    confidence = raw.get("confidence")
    if confidence is not None:
        if _unit_number(confidence):
            out["confidence"] = float(confidence)
        else:
            warn(f"confidence {confidence!r} dropped: it must be a number in [0, 1]")
    scores = raw.get("scores")
    if scores is not None:
        out["scores"] = _clean_scores(scores, warn)
    for name in _LIST_FIELDS:
        value = raw.get(name)
        if value is not None:
            out[name] = _str_list(value)
    rationale = raw.get("rationale")
    if rationale is not None:
        out["rationale"] = rationale if isinstance(rationale, str) else _str(rationale)
    return out


def _unit_number(value: Any) -> bool:
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    number = float(value)
    return math.isfinite(number) and 0.0 <= number <= 1.0


def _clean_scores(scores: Any, warn: Callable[[str], None]) -> dict[str, float]:
    if not isinstance(scores, Mapping):
        warn(f"scores {scores!r:.80} dropped: expected a mapping of names to numbers")
        return {}
    out: dict[str, float] = {}
    for key, value in scores.items():
        if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value):
            out[str(getattr(key, "value", key))] = float(value)
        else:
            warn(f"score {key!r}={value!r:.80} dropped: not a finite number")
    return out


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [_str(getattr(v, "value", v)) for v in list(value)[:MAX_ITEMS]]
    except TypeError:
        return [_str(value)]


def _str(value: Any) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        return f"<{type(value).__name__} object>"


__all__ = ["MASK", "LenientJSON", "clean_reasoning", "reasoning_from_result", "truncate_text"]
