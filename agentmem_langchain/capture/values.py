"""Captured values made storable: lenient JSON, secret masking, truncation, snapshots.

Unlike :mod:`agentmem_langchain.serialization` (which rejects what it cannot store), these
rules never raise: whatever cannot be converted is kept as its (truncated) ``repr``, NaN and
infinity become ``None``, values of keys that look like secrets become ``"***"``, and so do
secrets of known formats inside any string (:mod:`.secrets`).
The reasoning fields' own rules are in :mod:`agentmem_langchain.capture.reasoning`.

>>> from agentmem_langchain.capture import CaptureSettings
>>> LenientJSON(CaptureSettings()).value({"api_key": "sk-1", "n": float("nan"), "s": {3, 1}})
{'api_key': '***', 'n': None, 's': [1, 3]}
>>> LenientJSON(CaptureSettings()).value(["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"])
['ghp_***']
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from enum import Enum
from itertools import islice
from numbers import Real
from pathlib import PurePath
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from ..models import enum_value
from ..serialization import _MAX_INT_BITS
from .reasoning import (
    LIST_FIELDS,
    MAX_ITEMS,
    clean_reasoning,
    reasoning_from_result,
    str_list,
    text_of,
)
from .secrets import MASK, check_options, masker_for

#: ``redact(data) -> data | None``: ``data`` is ``{"inputs", "result", "context"}`` as JSON
#: copies; return the changed dict (or change it in place and return None).
Redactor = Callable[[dict[str, Any]], "dict[str, Any] | None"]
#: Mapping keys (searched, case-insensitive) whose values are masked whatever they hold.
DEFAULT_SECRET_KEYS = (
    r"api[_-]?key|apikey|password|passwd|passphrase|secret|token|authorization|credential"
    r"|private[_-]?key|cookie|session[_-]?id|signature|connection[_-]?string"
    r"|(?<![a-z])(?:pwd|dsn)(?![a-z])"  # short names: whole words only (not "fundsnapshot")
)


@dataclass(frozen=True)
class CaptureSettings:
    """How captured values are snapshotted and become a record.

    ``max_value_chars``: each argument, the result (each entry of a mapping result), each
    context and metadata value is cut to this many characters of JSON, ending with
    ``"…[truncated N chars]"`` (N is a lower bound when the value was cut while it was
    copied: see :class:`~agentmem_langchain.capture.values.LenientJSON`); so are the
    rationale, each tag and the error message. ``secret_keys``: a
    regular expression (case-insensitive, searched in each mapping key) whose values are
    replaced by ``"***"`` (``""``: no key is). ``mask_values``: secrets of known formats
    inside strings are masked (:mod:`.secrets`); ``secret_patterns``: more regular
    expressions whose matches are masked (a group named ``keep`` is kept); ``masker``:
    ``str -> str`` applied to every captured string after them (what it raises withholds the
    string). ``redact``: a hook applied to every record after the decision's own.
    """

    max_value_chars: int = 4_000
    max_traceback_chars: int = 4_000
    secret_keys: str = DEFAULT_SECRET_KEYS
    redact: Redactor | None = None
    mask_values: bool = True
    secret_patterns: tuple[str, ...] = ()
    masker: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        check_options(self.secret_keys, self.secret_patterns, self.masker)


MAX_DEPTH = 32
_MASK_WINDOW = 256  # a secret cut by the size limit is still found if it starts before it
_UNLIMITED = sys.maxsize
_SMALL = 2**63  # ints within it are kept without a look at their size
# Lone surrogates are the only str content UTF-8 cannot encode.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CUT_MARK = re.compile(r"…\[truncated \d+ chars\]")


def truncate_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters plus a visible ``…[truncated N chars]`` marker."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"…[truncated {len(text) - limit} chars]"


def clean_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: encodable as UTF-8.

    >>> clean_text("a" + chr(0xD800)) == "a\\ufffd"
    True
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


def cut_text(text: str, limit: int) -> str:
    """:func:`truncate_text`, then :func:`clean_text`; a text already cut to ``limit`` (its
    marker starts at ``limit``) is kept as it is, so cutting twice changes nothing."""
    if len(text) > limit and _CUT_MARK.fullmatch(text, limit) is None:
        text = text[:limit] + f"…[truncated {len(text) - limit} chars]"
    return clean_text(text)


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
_NOT_MAPPINGS = frozenset({str, list, tuple, int, float, bool, type(None)})
_STR = frozenset({str})  # _STR.issuperset(map(type, items)): every item is a plain str
# json.dumps(value, ensure_ascii=False) without making an encoder per call.
_json_text = json.JSONEncoder(ensure_ascii=False).encode
Budget = list[int]  # [chars left]: a lower bound of the JSON text written so far, counted down


class LenientJSON:
    """Converts anything to JSON-able values by the module's rules (never raises).

    The output is made of ``dict`` (plain ``str`` keys), ``list``, ``str`` (no lone
    surrogates), ``int``, finite ``float``, ``bool`` and ``None`` only, all new containers.

    :meth:`snapshot` and its relatives convert a *top-level value* (an argument, a result,
    each entry of a result or context mapping) under a budget of ``max_value_chars``
    characters of JSON: they count, as they copy, a lower bound of the JSON text written so
    far, and stop copying once it exceeds the budget. Such a value is returned as its JSON
    text cut to ``max_value_chars`` characters plus ``"…[truncated N chars]"``: the first
    ``max_value_chars`` characters are those of the whole value's JSON text, and N is then a
    lower bound of the characters cut (the rest was never looked at). A value the count
    keeps may still be longer once encoded: :meth:`truncate` cuts it exactly.
    """

    def __init__(self, settings: CaptureSettings) -> None:
        self.limit = settings.max_value_chars
        self.secret = _secret_keys(settings.secret_keys) if settings.secret_keys else None
        self.mask = masker_for(settings.secret_patterns, settings.masker, settings.mask_values)

    def masked(self, text: str) -> str:
        """``text`` with its secrets masked (in the part a cut to size keeps)."""
        mask, end = self.mask, self.limit + _MASK_WINDOW
        if mask is None:
            return text
        return mask(text) if len(text) <= end else mask(text[:end]) + text[end:]

    def value(self, value: Any) -> Any:
        """``value`` as JSON-able data, whole (only a ``repr`` is cut)."""
        try:
            return self._convert(value, 0, [_UNLIMITED])
        except Exception:
            return clean_text(self._repr(value))

    def convert_mapping(self, value: Any) -> dict[str, Any]:
        """Like :meth:`value`, always a dict (a non-mapping becomes ``{"value": ...}``)."""
        converted = self.value(value) if value is not None else {}
        return converted if isinstance(converted, dict) else {"value": converted}

    # -- snapshots: budgeted copies ----------------------------------------------------------

    def snapshot(self, value: Any, depth: int = 0) -> tuple[Any, int]:
        """``(stored form, approximate size in characters)`` of one top-level value.

        A string longer than ``max_value_chars`` is cut (with the marker); anything else is
        converted under the budget (see the class)."""
        kind = type(value)
        limit, mask = self.limit, self.mask
        if kind is str:
            value = self.masked(value) if mask is not None else value
            if len(value) <= limit:
                return (value if value.isascii() else clean_text(value)), len(value) + 2
            return cut_text(value, limit), limit + 24
        if kind is float:
            return (value if math.isfinite(value) else None), 8
        if value is None or kind is bool or kind is int:
            return self._convert(value, depth, [_UNLIMITED]), 8
        if (
            kind is list
            and depth < MAX_DEPTH
            and len(value) <= MAX_ITEMS
            and _STR.issuperset(map(type, value))
        ):
            joined = "".join(value)  # short ASCII text only: copied as it is
            if len(joined) + 4 * len(value) <= limit and joined.isascii():
                kept = value[:] if mask is None else [mask(text) for text in value]
                return kept, len(joined) + 4 * len(value) + 2
        budget = [limit]
        out: Any
        try:
            if kind is list and depth < MAX_DEPTH:
                out = self._sequence(value[: MAX_ITEMS + 1], len(value), depth, budget)
            elif isinstance(value, str):
                return self.snapshot(str.__str__(value), depth)
            else:
                out = self._convert(value, depth, budget)
        except Exception:
            out = self._repr(value)
        if type(out) is str:  # a repr, a date, an enum's text: kept unquoted, as a string is
            return cut_text(out, limit), min(len(out), limit + 24) + 2
        if budget[0] >= 0:
            return out, limit - budget[0]
        # Only what was counted is known to be in the whole value's text: N is a lower bound.
        hidden = max(1, -budget[0])
        return f"{_json_text(out)[:limit]}…[truncated {hidden} chars]", limit + 24

    def snapshot_mapping(self, value: Any, depth: int = 0) -> tuple[dict[str, Any], int]:
        """``(dict, approximate size)``: each entry of a mapping snapshotted as a top-level
        value, secret-looking keys masked; a non-mapping becomes ``{"value": ...}``."""
        if type(value) is not dict:
            if not value and (value is None or isinstance(value, Mapping)):
                return {}, 2
            if not isinstance(value, Mapping):
                stored, size = self.snapshot(value, depth)
                return {"value": stored}, size + 10
        if len(value) > MAX_ITEMS:
            out, size = self.snapshot_mapping(dict(islice(value.items(), MAX_ITEMS)), depth)
            out["…"] = f"[truncated {len(value) - MAX_ITEMS} keys]"
            return out, size + 30
        out = {}
        size = 2
        limit, secret, mask = self.limit, self.secret, self.mask
        for key, item in value.items():
            if type(key) is not str or len(key) > limit or not key.isascii():
                key = self._name(key)
            if secret is not None and secret.seen.get(key) is not False and secret(key):
                out[key] = MASK
            elif type(item) is str and len(item) <= limit and item.isascii():
                out[key] = item if mask is None else mask(item)
                size += len(item)
            elif (
                item is None
                or type(item) is bool
                or (type(item) is int and -_SMALL < item < _SMALL)
            ):
                out[key] = item
            elif (
                type(item) is list
                and depth < MAX_DEPTH - 1
                and len(item) <= MAX_ITEMS
                and _STR.issuperset(map(type, item))
                and len(joined := "".join(item)) + 4 * len(item) <= limit
                and joined.isascii()
            ):
                # Short ASCII text only, as snapshot() would keep it.
                out[key] = item[:] if mask is None else [mask(text) for text in item]
                size += len(joined) + 4 * len(item)
            else:
                out[key], used = self.snapshot(item, depth + 1)
                size += used
            size += len(key) + 8
        return out, size

    def _name(self, key: Any) -> str:
        name = clean_text(key if type(key) is str else self._key(key))
        return name if len(name) <= self.limit else cut_text(name, self.limit)

    def stored(self, value: Any) -> Any:
        """``snapshot_entries(value)[0]``, with the common small values first: what the
        LangChain hooks keep of each input and output."""
        kind = type(value)
        if kind is str:
            if len(value) <= self.limit and value.isascii():
                return value if self.mask is None else self.mask(value)
            return self.snapshot(value)[0]
        if kind is dict:
            return self.snapshot_mapping(value)[0]
        if kind is float:
            return value if math.isfinite(value) else None
        if value is None or kind is bool or (kind is int and -_SMALL < value < _SMALL):
            return value
        return self.snapshot_entries(value)[0]

    def snapshot_entries(self, value: Any) -> tuple[Any, int]:
        """A result's snapshot: a mapping (or a model or dataclass, as their fields) entry by
        entry, like :meth:`snapshot_mapping`; anything else as one top-level value."""
        kind = type(value)
        if kind is dict:
            return self.snapshot_mapping(value)
        if kind in _NOT_MAPPINGS:
            return self.snapshot(value)
        try:
            if isinstance(value, Mapping):
                return self.snapshot_mapping(value)
            if isinstance(value, BaseModel):
                return self.snapshot_mapping(value.model_dump(), 1)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
                return self.snapshot_mapping(fields, 1)
        except Exception:
            return self.snapshot(self._repr(value))
        return self.snapshot(value)

    def snapshot_reasoning(
        self, raw: Mapping[str, Any], found: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], int]:
        """The reasoning fields of ``raw`` (others are left out), then those of ``found`` (read
        from the result) that ``raw`` has no value for, JSON-safe: values
        :func:`clean_reasoning` will refuse stay recognisably wrong (NaN becomes ``"nan"``),
        so it still warns about them; ``rationale`` is cut to ``max_value_chars``."""
        out: dict[str, Any] = {}
        size = 0
        for fields in (raw, found):
            if not fields:
                continue
            for name, value in fields.items():
                if value is None or name in out:
                    continue
                if name in LIST_FIELDS:
                    out[name] = kept = self._texts(value)
                    size += 8 * len(kept)
                elif name == "confidence":
                    out[name] = self._number(value)
                elif name == "scores":
                    out[name] = kept = self._scores(value)
                    size += 16 * len(kept) if isinstance(kept, dict) else 16
                elif name == "rationale":
                    text = value if type(value) is str else text_of(value)
                    text = cut_text(self.masked(text), self.limit)
                    out[name] = text
                    size += len(text)
                else:
                    continue
                size += 16
        return out, size

    def snapshot_tags(self, tags: Any) -> list[str]:
        """Tags as plain strings (each cut to ``max_value_chars``), at most ``MAX_ITEMS``."""
        try:
            items = list(tags)[:MAX_ITEMS] if not isinstance(tags, str) else [tags]
        except TypeError:
            items = [tags]
        return [cut_text(t if type(t) is str else text_of(t), self.limit) for t in items]

    def _texts(self, value: Any) -> list[str]:
        """:func:`_str_list`'s strings, each cut to ``max_value_chars``."""
        limit = self.limit
        if type(value) is list or type(value) is tuple:
            if len(value) <= MAX_ITEMS and _STR.issuperset(map(type, value)):
                joined = "".join(value)
                if len(joined) <= limit and joined.isascii():
                    return list(value)
            return [
                text
                if type(text) is str and len(text) <= limit and text.isascii()
                else cut_text(text_of(enum_value(text)), limit)
                for text in value[:MAX_ITEMS]
            ]
        return [cut_text(text, limit) for text in str_list(value)]

    def _number(self, value: Any) -> Any:
        # A number stays a number only if finite; what is not one is kept for the warning.
        kind = type(value)
        if kind is int or kind is bool:
            return value
        if kind is float:
            return value if math.isfinite(value) else repr(value)
        if isinstance(value, Real) and not isinstance(value, bool):
            try:
                number = float(value)
            except Exception:
                return self._repr(value)
            return number if math.isfinite(number) else repr(number)
        return self.snapshot(value)[0]

    def _scores(self, scores: Any) -> Any:
        if not isinstance(scores, Mapping):
            return self.snapshot(scores)[0]
        out: dict[str, Any] = {}
        for index, (key, value) in enumerate(scores.items()):
            if index == MAX_ITEMS:
                out["…"] = f"[truncated {len(scores) - MAX_ITEMS} keys]"
                break
            out[cut_text(text_of(enum_value(key)), self.limit)] = self._number(value)
        return out

    # -- exact truncation of converted values ------------------------------------------------

    def truncate(self, value: Any) -> Any:
        """Each top-level value (each entry of a dict) cut to ``max_value_chars`` of JSON;
        a text already cut to that length is kept as it is."""
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
            return value if len(value) <= self.limit else cut_text(value, self.limit)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text = _json_text(value)
        return value if len(text) <= self.limit else truncate_text(text, self.limit)

    # -- conversion ----------------------------------------------------------------------------

    def _repr(self, value: Any) -> str:
        try:
            text = self.masked(repr(value))
        except Exception:
            text = f"<{type(value).__name__} object>"
        return truncate_text(text, self.limit)

    def _text(self, text: str, budget: Budget) -> str:
        left = budget[0]
        if not text.isascii():
            text = clean_text(text)
        if len(text) + 2 <= left:
            budget[0] = left - len(text) - 2
            return text
        if len(text) > self.limit and _CUT_MARK.fullmatch(text, self.limit) is not None:
            budget[0] = left - len(text) - 2  # a repr already cut: kept whole, as in full
            return text
        # Cut past the budget: the value becomes cut JSON text, which ends before this does.
        kept = text[: max(left, 0) + 1]
        budget[0] = left - len(kept) - 1
        return kept

    def _convert(self, value: Any, depth: int, budget: Budget) -> Any:
        if depth > MAX_DEPTH:
            return self._text(self._repr(value), budget)
        kind = type(value)
        # The exact built-in types first: the same results as the general rules below.
        if kind is str:
            return self._text(value if self.mask is None else self.masked(value), budget)
        if kind is dict:
            return self._mapping(value, depth, budget)
        if value is None or kind is bool:
            budget[0] -= 4
            return value
        if kind is float:
            budget[0] -= 3
            return value if math.isfinite(value) else None
        if kind is int:
            bits = value.bit_length()
            if bits <= _MAX_INT_BITS:
                budget[0] -= max(1, bits * 3 // 10)  # at most its digits
                return value
            return self._text(self._repr(value), budget)  # stored, the record would not parse
        if kind is list:
            return self._sequence(value[: MAX_ITEMS + 1], len(value), depth, budget)
        if isinstance(value, Enum):
            return self._convert(value.value, depth + 1, budget)
        if isinstance(value, str):
            return self._convert(str.__str__(value), depth, budget)
        if isinstance(value, (bool, int, float)):
            return self._convert(_plain_number(value), depth, budget)
        if isinstance(value, Mapping):
            return self._mapping(value, depth, budget)
        if isinstance(value, (list, tuple)):
            return self._sequence(list(value[: MAX_ITEMS + 1]), len(value), depth, budget)
        if isinstance(value, (set, frozenset)):
            items = sorted(value, key=repr) if len(value) <= MAX_ITEMS else list(value)
            return self._sequence(items[: MAX_ITEMS + 1], len(value), depth, budget)
        return self._other(value, depth, budget)

    def _other(self, value: Any, depth: int, budget: Budget) -> Any:
        if isinstance(value, BaseModel):
            return self._convert(value.model_dump(), depth + 1, budget)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self._convert(fields, depth + 1, budget)
        if isinstance(value, datetime):
            stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return self._text(stamp.isoformat(), budget)
        if isinstance(value, (date, time)):
            return self._text(value.isoformat(), budget)
        if isinstance(value, Decimal):
            budget[0] -= 3
            return float(value) if value.is_finite() else None
        if isinstance(value, (UUID, PurePath)):
            return self._text(str(value), budget)
        if isinstance(value, Real):  # numpy scalars and other real numbers
            budget[0] -= 3
            number = float(value)
            return number if math.isfinite(number) else None
        return self._text(self._repr(value), budget)

    def _mapping(self, value: Mapping[Any, Any], depth: int, budget: Budget) -> dict[str, Any]:
        # Plain keys and values are copied inline (a call each costs more than the copy).
        out: dict[str, Any] = {}
        secret, mask = self.secret, self.mask
        plain_values = depth < MAX_DEPTH  # a str, bool or None item is kept as it is
        left = budget[0] - 1
        for index, (key, item) in enumerate(value.items()):
            if left < 0:
                break  # over budget: the rest is never part of the stored text
            if index == MAX_ITEMS:
                out["…"] = note = f"[truncated {len(value) - MAX_ITEMS} keys]"
                left -= len(note) + 9
                break
            if index:
                left -= 2
            if type(key) is str and len(key) + 4 <= left and key.isascii():
                name = key
                left -= len(key) + 4
            else:
                budget[0] = left
                name = self._text(key if type(key) is str else self._key(key), budget)
                if budget[0] < 0:  # the key was cut: what follows it is past the stored text
                    out[name + "…" if name in out else name] = None
                    left = budget[0]
                    break
                left = budget[0] - 2
            if secret is not None and secret.seen.get(name) is not False and secret(name):
                out[name] = MASK
                left -= 5
                continue
            if plain_values:
                kind = type(item)
                if kind is str:
                    if len(item) + 2 <= left and item.isascii():
                        out[name] = item if mask is None else mask(item)
                        left -= len(item) + 2
                        continue
                elif item is None or kind is bool:
                    out[name] = item
                    left -= 4
                    continue
                elif (kind is int and -_SMALL < item < _SMALL) or (
                    kind is float and -math.inf < item < math.inf
                ):
                    out[name] = item
                    left -= 1
                    continue
                if kind is dict and depth + 1 < MAX_DEPTH:
                    budget[0] = left
                    out[name] = self._mapping(item, depth + 1, budget)
                    left = budget[0]
                    continue
            budget[0] = left
            out[name] = self._convert(item, depth + 1, budget)
            left = budget[0]
        budget[0] = left - 1 if left >= 0 else left
        return out

    def _sequence(self, items: list[Any], total: int, depth: int, budget: Budget) -> list[Any]:
        plain = depth < MAX_DEPTH  # items at the next depth are still converted, not repr'd
        mask = self.mask
        if plain and len(items) <= MAX_ITEMS and _STR.issuperset(map(type, items)):
            joined = "".join(items)  # short ASCII text only: the copy is kept as it is
            if len(joined) + 4 * len(items) + 2 <= budget[0] and joined.isascii():
                budget[0] -= len(joined) + 4 * len(items)
                return items if mask is None else [mask(text) for text in items]
        out: list[Any] = []
        append, convert = out.append, self._convert
        left = budget[0] - 1
        for index, item in enumerate(items):
            if left < 0 or index == MAX_ITEMS:
                break
            if index:
                left -= 2
            if plain:
                kind = type(item)
                if kind is str:
                    if len(item) + 2 <= left and item.isascii():
                        append(item if mask is None else mask(item))
                        left -= len(item) + 2
                        continue
                elif item is None or kind is bool:
                    append(item)
                    left -= 4
                    continue
                elif (kind is int and -_SMALL < item < _SMALL) or (
                    kind is float and -math.inf < item < math.inf
                ):
                    append(item)
                    left -= 1
                    continue
                if kind is dict and depth + 1 < MAX_DEPTH:
                    budget[0] = left
                    append(self._mapping(item, depth + 1, budget))
                    left = budget[0]
                    continue
            budget[0] = left
            append(convert(item, depth + 1, budget))
            left = budget[0]
        budget[0] = left
        if left < 0:
            return out  # over budget: the rest is never part of the stored text
        if total > MAX_ITEMS:
            append(self._text(f"…[truncated {total - MAX_ITEMS} items]", budget))
        budget[0] -= 1
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


def _plain_number(value: Any) -> Any:
    """A bool, int or float subclass's value as the plain type (``IntEnum`` is an Enum)."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    return float(value)


def json_size(value: Any) -> int:
    """How many characters ``value`` (JSON-safe) takes as JSON text; 0 for None or when it
    cannot be encoded. Never raises."""
    if value is None:
        return 0
    if type(value) is str:
        return len(value) + 2
    try:
        return len(_json_text(value))
    except Exception:
        return 0


_snapshotters: dict[int, tuple[CaptureSettings, LenientJSON]] = {}


def snapshotter(settings: CaptureSettings) -> LenientJSON:
    """The :class:`LenientJSON` for ``settings``, made once per settings object."""
    found = _snapshotters.get(id(settings))
    if found is not None and found[0] is settings:
        return found[1]
    made = LenientJSON(settings)
    if len(_snapshotters) >= 64:
        _snapshotters.clear()
    _snapshotters[id(settings)] = (settings, made)
    return made


__all__ = [
    "MASK",
    "LenientJSON",
    "clean_reasoning",
    "clean_text",
    "cut_text",
    "json_size",
    "reasoning_from_result",
    "snapshotter",
    "truncate_text",
]
