"""The export file: JSON Lines of ``{"kind": ..., "data": ...}`` after one header line, and
the CSV view of decisions. Writing a line, reading one back, and checking every line.

``data`` is a model's own JSON (``model_dump_json``), so it reads back field for field::

    {"kind": "header", "data": {"format": "agentmem-export", "format_version": 2,
                                "exported_at": "2024-05-01T12:00:00Z", "agent_ids": ["a1"]}}
    {"kind": "decision", "data": {"decision_id": "01HX...", "agent_id": "a1", ...}}
    {"kind": "thread_checkpoint", "data": {"agent_id": "a1", "thread_id": "t-1",
                                           "checkpoint": "<base64>", "writes": [...], ...}}
    {"kind": "store_item", "data": {"agent_id": "a1", "namespace": ["users"], "key": "k", ...}}

Format version 2 adds the LangGraph kinds (:mod:`.langgraph_records`): ``thread_checkpoint``
(a graph checkpoint of ``AgentMemorySaver`` with its pending writes, payloads as base64
text) and ``store_item`` (an item of ``AgentMemoryStore``). A version 1 file holds the
``KINDS`` only and reads as it always did; a LangGraph line in it is refused.

A line is checked against its model and against what a store needs to hold it (a
checkpoint holds its own agent's state, a saved state has a version, a signal's statuses are
those of agents it was sent to), and against the header: every record must belong to an
agent the header names (a signal to the agent that sent it). Every error is a
``ValidationError`` that starts with ``line N:``, whatever the line holds (deep nesting, lone
surrogates, a line over ``MAX_LINE_CHARS``). Blank lines are skipped (and counted).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import ValidationError
from ..models import (
    AgentId,
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionRecord,
    MemoryPattern,
    Model,
    StateCheckpoint,
    UTCDateTime,
)
from .langgraph_records import (
    LANGGRAPH_KINDS,
    StoreItemRecord,
    ThreadCheckpointRecord,
    refuse_before_version_2,
)

FORMAT = "agentmem-export"
FORMAT_VERSION = 2
KINDS = ("registration", "decision", "pattern_version", "state", "checkpoint", "signal")
"""Record kinds of every format version, in the order an export writes each agent's records
(then its ``LANGGRAPH_KINDS`` records)."""
ALL_KINDS = KINDS + LANGGRAPH_KINDS
"""Every record kind of format version 2, in the order an export writes an agent's records."""

CSV_COLUMNS = (
    "agent_id", "decision_id", "decision_type", "timestamp", "status",
    "parent_decision_id", "trace_id", "is_stm", "consolidated", "ttl", "tags",
    "confidence", "rationale", "selected", "alternatives", "patterns_applied", "scores",
    "success", "quality_score", "latency_ms", "error", "error_type", "outcome_recorded_at",
    "outcome_details", "context", "metadata",
)  # fmt: skip

Source = str | os.PathLike[str] | Iterable[str]
"""A path (read as UTF-8), or the lines themselves (a text stream, a list)."""

_MODELS: dict[str, type[Model]] = {
    "registration": AgentRegistration,
    "decision": DecisionRecord,
    "pattern_version": MemoryPattern,
    "state": AgentState,
    "checkpoint": StateCheckpoint,
    "signal": AgentSignal,
    "thread_checkpoint": ThreadCheckpointRecord,
    "store_item": StoreItemRecord,
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

MAX_LINE_CHARS = 32 * 1024 * 1024
"""The longest line an import reads (32 Mi characters); a longer one is refused, not read."""


class Header(Model):
    """The first line's ``data``."""

    format: Literal["agentmem-export"]
    format_version: int = Field(ge=1)
    exported_at: UTCDateTime
    agent_ids: list[AgentId]


def header_line(exported_at: datetime, agent_ids: list[str]) -> str:
    """The first line of an export."""
    header = Header(
        format=FORMAT, format_version=FORMAT_VERSION, exported_at=exported_at, agent_ids=agent_ids
    )
    return record_line("header", header)


def record_line(kind: str, record: BaseModel) -> str:
    """One line of an export: ``{"kind": kind, "data": <the model's JSON>}``."""
    return f'{{"kind":"{kind}","data":{record.model_dump_json()}}}\n'


def csv_row(record: DecisionRecord) -> list[str]:
    """A decision as one CSV row, in ``CSV_COLUMNS`` order (empty cells for None)."""
    data = record.model_dump(mode="json")
    reasoning, outcome = data["reasoning"], data["outcome"] or {}
    values = {
        **{k: data[k] for k in CSV_COLUMNS if k in data},
        "status": str(record.status),
        **{k: reasoning[k] for k in CSV_COLUMNS if k in reasoning},
        **{k: outcome.get(k) for k in ("success", "quality_score", "latency_ms")},
        **{k: outcome.get(k) for k in ("error", "error_type")},
        "outcome_recorded_at": outcome.get("recorded_at"),
        "outcome_details": outcome.get("details"),
    }
    return [_cell(values[column]) for column in CSV_COLUMNS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # a spreadsheet would run it as a formula (CSV injection)
    return str(value)


def line_reader(source: Source) -> Callable[[], Iterator[tuple[int, str]]]:
    """A function giving the numbered, non-blank lines of ``source`` each time it is called."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)

        def from_file() -> Iterator[tuple[int, str]]:
            with path.open("rb") as stream:  # decoded line by line, so errors name their line
                number = 0
                while raw := stream.readline(MAX_LINE_CHARS + 1):
                    number += 1
                    if len(raw) > MAX_LINE_CHARS:
                        raise _too_long(number)
                    try:
                        yield number, raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise ValidationError(
                            f"line {number}: not UTF-8 text ({exc.reason})", field="line"
                        ) from exc

        return lambda: ((n, t) for n, t in from_file() if t.strip())
    if not isinstance(source, Iterable):
        raise ValidationError(
            f"source: expected a path or lines of text, got {type(source).__name__}",
            field="source",
        )
    lines: list[tuple[int, str]] = []
    for number, text in enumerate(source, 1):
        if not isinstance(text, str):
            raise ValidationError(
                f"line {number}: expected text, got {type(text).__name__}", field="line"
            )
        if len(text) > MAX_LINE_CHARS:
            raise _too_long(number)
        if text.strip():
            lines.append((number, text))
    return lambda: iter(lines)


def _too_long(number: int) -> ValidationError:
    return ValidationError(
        f"line {number}: longer than {MAX_LINE_CHARS} characters; not an export line",
        field="line",
    )


def validate_lines(
    lines: Iterator[tuple[int, str]],
) -> tuple[Header, dict[tuple[str, str], int]]:
    """The header and the number of records of each ``(agent, kind)`` the file holds, after
    checking every line."""
    first = next(lines, None)
    if first is None:
        raise ValidationError("line 1: the file is empty, not an agentmem export", field="line")
    header = _parse_header(*first)
    counts: dict[tuple[str, str], int] = {}
    for _, kind, record in parsed_records(lines, header.agent_ids, header.format_version):
        key = (owner(record), kind)
        counts[key] = counts.get(key, 0) + 1
    return header, counts


def owner(record: Model) -> str:
    """The agent a record belongs to: its ``agent_id``, a signal's sender."""
    if isinstance(record, AgentSignal):
        return record.source_agent_id
    agent_id = getattr(record, "agent_id", None)
    assert isinstance(agent_id, str), f"{type(record).__name__} has no agent_id"
    return agent_id


def _parse_header(number: int, text: str) -> Header:
    if text.startswith(CSV_COLUMNS[0] + ","):
        raise ValidationError(
            f"line {number}: this is a CSV export, a lossy view that cannot be imported; "
            "import_records reads JSONL exports (export_records(..., format='jsonl'))",
            field="line",
        )
    data = _object(number, text)
    if data.get("kind") != "header" or not isinstance(data.get("data"), dict):
        raise ValidationError(
            f"line {number}: expected the header of a JSONL export "
            f'({{"kind": "header", "data": {{"format": "{FORMAT}", ...}}}}), '
            f"got {text.strip()[:80]!r}; import_records reads JSONL exports only",
            field="line",
        )
    version = data["data"].get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ValidationError(
            f"line {number}: format_version {version} is newer than this library reads "
            f"({FORMAT_VERSION}); upgrade agentmem-langchain",
            field="format_version",
            value=version,
        )
    try:
        return Header.model_validate(data["data"])
    except ValidationError as exc:
        raise ValidationError(f"line {number} (header): {exc}", field=exc.field) from exc


def parsed_records(
    lines: Iterable[tuple[int, str]], agent_ids: Iterable[str], version: int = FORMAT_VERSION
) -> Iterator[tuple[int, str, Model]]:
    """(line number, kind, record) for each line after the header; a record of an agent not
    in ``agent_ids`` (the header's) is refused, as is a signal sent by another agent, and a
    LangGraph record in a file whose header says format ``version`` 1."""
    named = frozenset(agent_ids)
    for number, text in lines:
        data = _object(number, text)
        given = data.get("kind")
        kind = given if isinstance(given, str) else ""
        model = _MODELS.get(kind)
        if model is None or set(data) != {"kind", "data"}:
            raise ValidationError(
                f'line {number}: expected {{"kind": ..., "data": {{...}}}} with kind one '
                f"of {', '.join(ALL_KINDS)} (got kind {given!r}, keys {sorted(data)})",
                field="line",
                value=given,
            )
        refuse_before_version_2(number, kind, version)
        try:
            record = model.model_validate(data["data"])
        except ValidationError as exc:
            raise ValidationError(
                f"line {number} ({kind}): {exc}", field=exc.field, value=exc.value
            ) from exc
        except RecursionError as exc:
            raise ValidationError(
                f"line {number} ({kind}): nested too deeply", field="line"
            ) from exc
        _check_links(number, record)
        if owner(record) not in named:
            role = "sent by" if isinstance(record, AgentSignal) else "of"
            raise ValidationError(
                f"line {number}: a {kind} {role} agent {owner(record)!r}, which the header does "
                f"not name (it names {', '.join(map(repr, sorted(named))) or 'no agent'})",
                field="agent_id",
                value=owner(record),
            )
        yield number, kind, record


def _object(number: int, text: str) -> dict[str, Any]:
    try:
        text.encode("utf-8")  # lone surrogates in the text itself (a stream of str)
        data = json.loads(text)
        if _SURROGATE_ESCAPE.search(text):  # "\ud800" escapes decode to lone surrogates
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"line {number}: holds a lone surrogate ({exc.object[exc.start : exc.end]!a}), "
            "which is not text",
            field="line",
        ) from exc
    except RecursionError as exc:
        raise ValidationError(f"line {number}: nested too deeply", field="line") from exc
    except ValueError as exc:
        raise ValidationError(f"line {number}: not JSON ({exc})", field="line") from exc
    if not isinstance(data, dict):
        raise ValidationError(
            f"line {number}: expected a JSON object, got {type(data).__name__}", field="line"
        )
    return data


def _check_links(number: int, record: Model) -> None:
    """What the models cannot check alone, but a store would need to hold the record."""
    problem = None
    if isinstance(record, StateCheckpoint) and record.state.agent_id != record.agent_id:
        problem = f"checkpoint of {record.agent_id!r} holds the state of {record.state.agent_id!r}"
    elif isinstance(record, AgentState) and record.version < 1:
        problem = "state.version must be at least 1 (a state that was saved)"
    elif isinstance(record, AgentSignal):
        strangers = [a for a in record.processing if not _addressed(record, a)]
        if strangers:
            problem = f"signal {record.signal_id} has statuses of agents it is not for: {strangers}"
    if problem is not None:
        raise ValidationError(f"line {number}: {problem}", field="line")


def _addressed(signal: AgentSignal, agent_id: str) -> bool:
    if agent_id in signal.target_agent_ids:
        return True
    return signal.broadcast and agent_id != signal.source_agent_id


__all__ = [
    "ALL_KINDS",
    "CSV_COLUMNS",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "LANGGRAPH_KINDS",
    "MAX_LINE_CHARS",
    "Header",
    "Source",
    "csv_row",
    "header_line",
    "line_reader",
    "owner",
    "parsed_records",
    "record_line",
    "validate_lines",
]
