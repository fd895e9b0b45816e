"""Journal lines for captured decisions: written without building the record first.

A captured decision whose values were snapshotted at capture (``frozen``) and that no redact
hook still has to see is already in its stored form: spilling it costs one JSON encoding.
The record is built when the line is replayed, by whichever process replays it, with the same
rules as a record built in memory.

>>> from agentmem_langchain.capture import CapturedDecision
>>> item = CapturedDecision(agent_id="a-1", decision_type="tool_call", inputs={"q": 1})
>>> item.frozen = True
>>> entry = captured_entry(item, "token")
>>> captured_from_entry(entry).inputs
{'q': 1}
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .decision import CapturedDecision, _format_traceback, _safe_str
from .journal import Entry
from .secrets import masker_for
from .values import clean_text

#: The fields a captured line keeps, all JSON-safe once the decision is frozen.
_PLAIN = (
    "decision_id",
    "agent_id",
    "decision_type",
    "parent_decision_id",
    "trace_id",
    "inputs",
    "context_extra",
    "reasoning",
    "result",
    "has_result",
    "success",
    "latency_ms",
    "error_type",
    "error_message",
    "traceback",
    "tags",
    "metadata",
)


#: A row of a ``captured-rows`` line: these fields, then ``started_at`` and ``ttl`` seconds.
ROW_FIELDS = (*_PLAIN, "started_at", "ttl")
_row = operator.attrgetter(*_PLAIN, "started_at", "ttl", "error", "deferred")
_ERROR_TYPE, _ERROR_MESSAGE, _TRACEBACK = (
    _PLAIN.index(n) for n in ("error_type", "error_message", "traceback")
)
_STARTED, _TTL = len(_PLAIN), len(_PLAIN) + 1


def journal_ready(item: object, redact: object = None) -> bool:
    """True if ``item`` can be journaled as a captured line (frozen, no redact hook pending)."""
    return (
        type(item) is CapturedDecision
        and getattr(item, "frozen", False)
        and item.redact is None
        and redact is None
    )


def captured_entry(item: CapturedDecision, source: str) -> Entry:
    """The journal line of a frozen captured decision (see :func:`journal_ready`)."""
    if item.deferred is not None:  # work the handler left for later: CPU only
        finish, args = item.deferred
        item.deferred = None
        finish(item, *args)
    fields: dict[str, Any] = {name: getattr(item, name) for name in _PLAIN}
    fields["started_at"] = item.started_at.isoformat()
    fields["ttl"] = None if item.ttl is None else item.ttl.total_seconds()
    if item.error is not None:
        kind, message, trace = _described(item.error)
        fields["error_type"] = fields["error_type"] or kind
        if fields["error_message"] is None:
            fields["error_message"] = message
        if not fields["traceback"]:
            fields["traceback"] = trace
    elif type(fields["error_message"]) is str:  # a handled error's text (a hook set it)
        fields["error_message"] = _masked(fields["error_message"])
    return {"src": source, "units": 1, "agent": item.agent_id, "kind": "captured", "c": fields}


def captured_rows_entry(items: Sequence[CapturedDecision], source: str) -> Entry:
    """One journal line for many frozen captured decisions of one agent, as rows (no key
    names repeated): the cheapest form, for journaling a large backlog at exit."""
    rows: list[list[Any]] = []
    for item in items:
        if item.deferred is not None:
            finish, args = item.deferred
            item.deferred = None
            finish(item, *args)
        *row, error, _ = _row(item)
        row[_STARTED] = row[_STARTED].isoformat()
        ttl = row[_TTL]
        row[_TTL] = None if ttl is None else ttl.total_seconds()
        if error is not None:
            kind, message, trace = _described(error)
            row[_ERROR_TYPE] = row[_ERROR_TYPE] or kind
            if row[_ERROR_MESSAGE] is None:
                row[_ERROR_MESSAGE] = message
            if not row[_TRACEBACK]:
                row[_TRACEBACK] = trace
        elif type(row[_ERROR_MESSAGE]) is str:
            row[_ERROR_MESSAGE] = _masked(row[_ERROR_MESSAGE])
        rows.append(row)
    return {
        "src": source,
        "units": len(rows),
        "agent": items[0].agent_id if items else "",
        "kind": "captured-rows",
        "rows": rows,
    }


def rows_as_entries(entry: Entry) -> list[Entry]:
    """A ``captured-rows`` line as single ``captured`` entries (for replaying one by one)."""
    rows = entry["rows"]
    if not isinstance(rows, list):
        raise TypeError("a captured-rows line holds a list of rows")
    out: list[Entry] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(ROW_FIELDS):
            raise ValueError("a row of a captured-rows line has the wrong length")
        fields = dict(zip(ROW_FIELDS, row, strict=True))
        out.append(
            {
                **{k: entry.get(k) for k in ("src", "agent")},
                "units": 1,
                "kind": "captured",
                "c": fields,
            }
        )
    return out


def captured_from_entry(entry: Entry) -> CapturedDecision:
    """The captured decision a line holds; raises ``KeyError``/``TypeError``/``ValueError``
    for a line that is not one."""
    fields = entry["c"]
    if not isinstance(fields, dict):
        raise TypeError("a captured line holds a JSON object")
    plain = {name: fields[name] for name in _PLAIN if name in fields}
    ttl = fields.get("ttl")
    item = CapturedDecision(
        **plain,
        started_at=datetime.fromisoformat(str(fields["started_at"])),
        ttl=None if ttl is None else timedelta(seconds=float(ttl)),
    )
    item.frozen = True
    return item


def _masked(text: str) -> str:
    """``text`` with secrets of known formats masked: a journal is at rest too."""
    mask = masker_for()
    return mask(text) if mask is not None else text


def _described(error: BaseException) -> tuple[str, str, str]:
    """The error's type name, message and traceback (secrets masked), as text any encoder
    takes."""
    return (
        type(error).__qualname__,
        clean_text(_masked(_safe_str(error))),
        clean_text(_masked(_format_traceback(error))),
    )


__all__ = [
    "ROW_FIELDS",
    "captured_entry",
    "captured_from_entry",
    "captured_rows_entry",
    "journal_ready",
    "rows_as_entries",
]
