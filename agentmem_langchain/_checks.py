"""Argument checks shared by the public entry points: a wrong type or an out-of-range value
becomes a one-line :class:`~agentmem_langchain.errors.ValidationError` naming the argument.

They run where a call starts (or once, when a decorator, handler or retriever is made), never
per captured call. Every check returns the value as the caller should use it.

One rule for lists of names (``targets``, ``tags``, ``with_agents``, ``from_agents``,
``options``...): a list, tuple, set or other iterable of strings is taken as it is; a single
string is refused (``targets="eth"`` would otherwise become ``["e", "t", "h"]``), with a
message that says to write ``["eth"]``.

>>> names(["eth", "btc"], "targets")
['eth', 'btc']
>>> names("eth", "targets")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...ValidationError: targets: expected a list of names, got the str 'eth' (write ['eth'])
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from numbers import Real
from typing import Any, TypeVar

from .errors import ValidationError, _short
from .models import enum_value

T = TypeVar("T")

#: The largest page size (``limit``) any read takes.
MAX_LIMIT = 10_000
#: The longest ``ttl``, ``lease`` or window accepted (times past it overflow ``datetime``).
MAX_DURATION = timedelta(days=365_250)
#: The most names a list argument may hold.
MAX_NAMES = 10_000


def fail(field: str, problem: str, value: Any) -> ValidationError:
    """The error for ``field``: ``"field: problem (got value)"``."""
    return ValidationError(f"{field}: {problem} (got {_short(value)})", field=field, value=value)


def _kind(value: Any) -> str:
    """``"an int"``, ``"a str"``: the value's type with its article."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def integer(value: Any, field: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` within ``[low, high]``; a bool, float or str is refused."""
    if isinstance(value, (bool, float, str, bytes)):
        raise fail(field, f"expected an integer, not {_kind(value)}", value)
    try:
        number = operator.index(value)
    except TypeError:
        raise fail(field, f"expected an integer, not {_kind(value)}", value) from None
    if low is not None and number < low:
        raise fail(field, f"must be at least {low}", value)
    if high is not None and number > high:
        raise fail(field, f"must be at most {high}", value)
    return number


def page_limit(value: Any, field: str = "limit") -> int:
    """A page size: an integer from 1 to :data:`MAX_LIMIT`."""
    return integer(value, field, low=1, high=MAX_LIMIT)


def real(value: Any, field: str, *, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a finite ``float`` within ``[low, high]``; a bool or str is refused."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise fail(field, f"expected a number, not {_kind(value)}", value)
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise fail(field, "expected a finite number", value) from None
    if not math.isfinite(number):
        raise fail(field, "expected a finite number", value)
    if low is not None and number < low:
        raise fail(field, f"must be at least {low}", value)
    if high is not None and number > high:
        raise fail(field, f"must be at most {high}", value)
    return number


def optional_real(
    value: Any, field: str, *, low: float | None = None, high: float | None = None
) -> float | None:
    """Like :func:`real`, None passing through."""
    return None if value is None else real(value, field, low=low, high=high)


def flag(value: Any, field: str) -> bool:
    """``value`` if it is a bool (``"no"`` and ``0`` are refused, not guessed)."""
    if not isinstance(value, bool):
        raise fail(field, f"expected True or False, not {_kind(value)}", value)
    return value


def moment(value: Any, field: str) -> datetime | None:
    """A point in time (None passes): a ``datetime``, naive taken as UTC; text is refused."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise fail(field, f"expected a datetime, not {_kind(value)}", value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def duration(value: Any, field: str, *, optional: bool = False) -> timedelta | None:
    """A positive ``timedelta`` of at most :data:`MAX_DURATION` (None passes if
    ``optional``); a number of seconds is refused: ``timedelta(seconds=30)`` says what it is."""
    if value is None and optional:
        return None
    if not isinstance(value, timedelta):
        raise fail(field, f"expected a timedelta, not {_kind(value)}", value)
    if value <= timedelta(0):
        raise fail(field, "must be positive", value)
    if value > MAX_DURATION:
        raise fail(field, f"must be at most {MAX_DURATION.days} days", value)
    return value


def text(value: Any, field: str, *, empty: bool = True) -> str:
    """``value`` if it is a str ("" only if ``empty``)."""
    if not isinstance(value, str):
        raise fail(field, f"expected a str, not {_kind(value)}", value)
    if not empty and not value:
        raise fail(field, "must not be empty", value)
    return value


def optional_text(value: Any, field: str, *, empty: bool = True) -> str | None:
    """Like :func:`text`, None passing through."""
    return None if value is None else text(value, field, empty=empty)


def path(value: Any, field: str, *, optional: bool = True) -> Any:
    """``value`` if it is a file path (a str or ``os.PathLike``; None passes if ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise fail(field, f"expected a path (str or os.PathLike), not {_kind(value)}", value)
    return value


def names(value: Any, field: str, *, optional: bool = False) -> list[str] | None:
    """A list of strings from a list, tuple, set or other iterable of them (None passes if
    ``optional``). A single string is refused, never split into characters."""
    if value is None and optional:
        return None
    if isinstance(value, (str, bytes)):
        raise ValidationError(
            f"{field}: expected a list of names, got {_kind(value)} {_short(value)} "
            f"(write [{_short(value)}])",
            field=field,
            value=value,
        )
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise fail(field, f"expected a list of names, not {_kind(value)}", value)
    found: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise fail(field, f"every name must be a str, not {_kind(item)}", item)
        found.append(item)
        if len(found) > MAX_NAMES:
            raise fail(field, f"at most {MAX_NAMES} names", value)
    return found


def mapping(value: Any, field: str, *, optional: bool = True) -> Mapping[str, Any] | None:
    """``value`` if it is a mapping (None passes if ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, Mapping):
        raise fail(field, f"expected a mapping (a dict), not {_kind(value)}", value)
    return value


def instance(value: Any, kind: type[T], field: str) -> T:
    """``value`` if it is a ``kind``."""
    if not isinstance(value, kind):
        raise fail(field, f"expected a {kind.__name__}, not {_kind(value)}", value)
    return value


def function(value: Any, field: str, *, optional: bool = True) -> Any:
    """``value`` if it is callable (None passes if ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise fail(field, f"expected a function, not {_kind(value)}", value)
    return value


# -- argument groups of MemoryManager's reads ------------------------------------------


def decision_filters(
    start: Any, end: Any, decision_type: Any, success: Any, limit: Any, cursor: Any
) -> dict[str, Any]:
    """``query_decisions``'s filters, checked, as the store takes them."""
    kind = enum_value(decision_type)
    return {
        "start": moment(start, "start"),
        "end": moment(end, "end"),
        "decision_type": optional_text(kind, "decision_type"),
        "success": None if success is None else flag(success, "success"),
        "limit": page_limit(limit),
        "cursor": optional_text(cursor, "cursor"),
    }


def window(start: Any, end: Any) -> tuple[datetime, datetime | None]:
    """``decision_stats``'s window, checked (``start`` is required)."""
    first = moment(start, "start")
    if first is None:
        raise fail("start", "expected a datetime, not None", start)
    return first, moment(end, "end")


def pattern_filters(
    min_confidence: Any, limit: Any, include_retired: Any
) -> tuple[float, int, bool]:
    """``get_patterns``'s filters, checked."""
    return (
        real(min_confidence, "min_confidence", low=0.0, high=1.0),
        page_limit(limit),
        flag(include_retired, "include_retired"),
    )


__all__ = [
    "MAX_DURATION",
    "MAX_LIMIT",
    "MAX_NAMES",
    "decision_filters",
    "duration",
    "fail",
    "flag",
    "function",
    "instance",
    "integer",
    "mapping",
    "moment",
    "names",
    "optional_real",
    "optional_text",
    "page_limit",
    "path",
    "pattern_filters",
    "real",
    "text",
    "window",
]
