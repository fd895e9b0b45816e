"""Reasoning fields: read from a decision's result, and made valid for ``DecisionReasoning``.

Both never raise: a result yields the fields it plausibly carries, and
:func:`clean_reasoning` drops (and warns about) each value the model would refuse.

>>> reasoning_from_result({"selected": ["a"], "confidence": 0.5, "other": 1})["selected"]
['a']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from numbers import Real
from typing import Any

from ..models import enum_value

#: Items a captured container keeps (the rest is counted in a marker); strings per list field.
MAX_ITEMS = 1_000
LIST_FIELDS = ("selected", "alternatives", "patterns_applied")


def reasoning_from_result(result: Any) -> dict[str, Any]:
    """Reasoning fields a result carries: a mapping's keys or an object's attributes.

    Reads ``confidence``, ``scores``, ``selected``, ``alternatives``, ``patterns_applied``,
    ``rationale`` and ``reasoning`` (a string is the rationale; a mapping or object gives more
    of the fields). Values of an implausible type are ignored.
    """
    if type(result) is dict:  # only the names it has are looked at
        names = _FIELD_NAMES.intersection(result)
        if not names:
            return {}
        read: Callable[[str], Any] = result.get
        found = _plausible_fields(read, names)
    elif result is None or isinstance(result, _SCALARS):
        return {}
    else:
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
# Exact types that pass a field's check without calling it.
_PLAIN: dict[str, tuple[type, ...]] = {
    "confidence": (float, int),
    "scores": (dict,),
    "selected": (list, str),
    "alternatives": (list, str),
    "patterns_applied": (list, str),
    "rationale": (str,),
}
_FIELDS = tuple(_PLAUSIBLE)
_FIELD_NAMES = frozenset({*_PLAUSIBLE, "reasoning"})  # a dict without them has none


def _plausible_fields(
    read: Callable[[str], Any], names: Collection[str] = _FIELDS
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in names:
        if name == "reasoning":
            continue
        value = read(name)
        if value is not None and (type(value) in _PLAIN[name] or _PLAUSIBLE[name](value)):
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
    for name in LIST_FIELDS:
        value = raw.get(name)
        if value is not None:
            out[name] = str_list(value)
    rationale = raw.get("rationale")
    if rationale is not None:
        out["rationale"] = rationale if isinstance(rationale, str) else text_of(rationale)
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
            out[str(enum_value(key))] = float(value)
        else:
            warn(f"score {key!r}={value!r:.80} dropped: not a finite number")
    return out


def str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [text_of(enum_value(v)) for v in list(value)[:MAX_ITEMS]]
    except TypeError:
        return [text_of(value)]


def text_of(value: Any) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        return f"<{type(value).__name__} object>"


__all__ = [
    "LIST_FIELDS",
    "MAX_ITEMS",
    "clean_reasoning",
    "reasoning_from_result",
    "str_list",
    "text_of",
]
