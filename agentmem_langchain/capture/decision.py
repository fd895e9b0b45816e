"""Capture plumbing shared by the ``@decision`` decorators and the LangChain callback handlers.

The hot path builds a :class:`CapturedDecision` and snapshots its values on the caller's
thread (:meth:`CapturedDecision.freeze`): converted to JSON-safe copies, secret-looking keys
masked, large values cut, so a later change to the caller's objects never changes the record.
It hands the decision to a :class:`~agentmem_langchain.capture.batch.Recorder`; the capture
thread later calls :meth:`CapturedDecision.to_record`: redaction hooks, exact truncation, then
the record, built without validating again what is already safe (:mod:`.record`).
Nothing here raises into user code.

>>> captured = CapturedDecision(agent_id="agent-1", decision_type="tool_call", inputs={"q": 1})
>>> captured.confidence = 0.8
>>> captured.to_record().reasoning.confidence
0.8
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from ..config import DEFAULT_DECISION_TTL
from ..models import DecisionRecord
from ..stores._common import epoch_seconds
from ..stores.base import EncodedDecision, encode_record
from .reasoning import clean_reasoning, reasoning_from_result
from .record import (
    context_model,
    decision_record,
    encoded_decision,
    outcome_model,
    reasoning_model,
)
from .values import (
    CaptureSettings,
    LenientJSON,
    Redactor,
    clean_text,
    cut_text,
    snapshotter,
)

T = TypeVar("T")
#: Called by registered resolvers when no decorated decision is active:
#: ``() -> (parent_decision_id, trace_id) | None``.
ParentResolver = Callable[[], "tuple[str | None, str | None] | None"]
Warn = Callable[[str], None]

REASONING_KEYS = (
    "scores",
    "selected",
    "alternatives",
    "patterns_applied",
    "confidence",
    "rationale",
)

_REASONING_NAMES = frozenset({*REASONING_KEYS, "reasoning"})  # a result's fields it is read for
logger = logging.getLogger("agentmem_langchain.capture")

# -- ids ----------------------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
# Byte b -> the Crockford character of its low 5 bits: 16 random bytes make 80 random bits.
_LOW_5_BITS = bytes.maketrans(bytes(range(256)), (_CROCKFORD * 8).encode())
_stamp: tuple[int, str] = (-1, "")
# Random parts made 256 at a time; list.pop is atomic, so threads never share one. A forked
# child starts with none (it must not reuse its parent's).
_suffixes: list[str] = []
os.register_at_fork(after_in_child=_suffixes.clear)


def _more_suffixes() -> None:
    text = random.getrandbits(128 * 256).to_bytes(4096, "little").translate(_LOW_5_BITS).decode()
    _suffixes.extend([text[i : i + 16] for i in range(0, 4096, 16)])


def fast_id() -> str:
    """A new ULID (time-sortable, 26 characters).

    Same layout as :func:`agentmem_langchain.models.new_id` (48-bit milliseconds, 80 random
    bits); the millisecond prefix is cached, the random parts come from ``random``, 256 at a
    time.
    """
    global _stamp
    ms = time.time_ns() // 1_000_000
    stamp = _stamp
    if stamp[0] != ms:
        p = _PAIRS
        text = f"{p[ms >> 40]}{p[(ms >> 30) & 1023]}{p[(ms >> 20) & 1023]}{p[(ms >> 10) & 1023]}"
        stamp = (ms, text + p[ms & 1023])
        _stamp = stamp
    while True:
        try:
            return stamp[1] + _suffixes.pop()
        except IndexError:
            _more_suffixes()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- problems: logged (rate-limited) and counted, never raised ---------------------------


#: The longest message a problem is logged with: with a formatter's usual prefix (level,
#: logger, place) a line stays within 500 characters.
MAX_LOG_CHARS = 420
_EXCEPTION_CHARS = 160


def _one_line(text: str, limit: int) -> str:
    text = clean_text(text[: limit + 1]).replace("\r", " ").replace("\n", " | ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exception_summary(exc: BaseException) -> str:
    try:
        message = str(exc)
    except Exception:
        message = "str() failed"
    summary = f"{type(exc).__qualname__}: {message}" if message else type(exc).__qualname__
    return _one_line(summary, _EXCEPTION_CHARS)


class _ProblemLog:
    """At most one log line per kind of problem per ``interval`` seconds; every one counted.

    A line is one line of at most :data:`MAX_LOG_CHARS` characters: the message cut, then
    the exception's type and the start of its message; the traceback goes to DEBUG.
    """

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self.count = 0
        self.logged = 0  # lines written
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, kind: str, message: str, exc: BaseException | None = None) -> None:
        with self._lock:
            self.count += 1
            now = time.monotonic()
            if now - self._last.get(kind, -self.interval) < self.interval:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._last[kind] = now
            self.logged += 1
            hidden = self._suppressed.pop(kind, 0)
        tail = f" ({hidden} similar problems not logged)" if hidden else ""
        if exc is not None:
            tail = f" ({_exception_summary(exc)}){tail}"
        head = "agentmem capture: "
        text = head + _one_line(message, max(40, MAX_LOG_CHARS - len(head) - len(tail))) + tail
        logger.warning("%s", text[:MAX_LOG_CHARS])
        if exc is not None and logger.isEnabledFor(logging.DEBUG):
            logger.debug("agentmem capture: the traceback of %s", kind[:80], exc_info=exc)


problems = _ProblemLog()


def report_problem(kind: str, message: str, exc: BaseException | None = None) -> None:
    """Log (rate-limited per ``kind``) and count a capture problem; never raises."""
    with contextlib.suppress(Exception):  # logging itself failed: nothing more to do
        problems.report(kind, message, exc)


def capture_error_count() -> int:
    """How many capture problems this process has had (all recorders and hooks)."""
    return problems.count


# -- settings and the captured decision ---------------------------------------------------


_DEFAULT_SETTINGS = CaptureSettings()


class _ReasoningField:
    """An attribute of a captured decision that lives in its ``reasoning`` dict."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: CapturedDecision | None, owner: type | None = None) -> Any:
        return self if obj is None else obj.reasoning.get(self.name)

    def __set__(self, obj: CapturedDecision, value: Any) -> None:
        obj.reasoning[self.name] = value


@dataclass(slots=True)
class CapturedDecision:
    """One decision as captured; :meth:`freeze` snapshots its values, :meth:`to_record`
    makes the record.

    Inside a decorated function, ``current_decision()`` returns it; set ``confidence``,
    ``scores``, ``selected``, ``alternatives``, ``patterns_applied`` or ``rationale`` on it
    (they go into ``reasoning``), or add to ``tags``/``metadata``. Invalid values never raise
    here; they are dropped, with a counted warning, when the record is built.

    ``result`` is stored (in ``metadata["result"]``) only when ``has_result`` is true, but
    reasoning fields are read from it either way; ``error`` (or the ``error_type`` /
    ``error_message`` / ``traceback`` strings) describes a failure; ``ttl`` is how long the
    record is kept (None: forever). ``deferred`` is ``(fn, args)``: :meth:`to_record` first
    calls ``fn(self, *args)``, so capture code can leave work it need not do on the caller's
    thread (the LangChain handler fills in ``context_extra`` and ``tags`` there; what it sets
    is JSON-safe already).

    ``frozen`` is true once :meth:`freeze` has run: then ``inputs``, ``result``,
    ``context_extra``, ``metadata``, ``reasoning`` and ``tags`` hold only plain JSON-safe data
    (dicts with str keys, lists, str without lone surrogates, int, finite float, bool, None)
    that no user code holds a reference to, each large value already cut, the reasoning
    fields of the result already merged into ``reasoning``, and ``error_type`` /
    ``error_message`` set from ``error``; :meth:`to_record` converts nothing again. ``size``
    is then about how many bytes those values take as JSON (characters counted while they
    were copied: a lower bound for text that is not ASCII), for queues bounded in bytes.
    """

    agent_id: str
    decision_type: str
    decision_id: str = field(default_factory=fast_id)
    started_at: datetime = field(default_factory=_utcnow)
    parent_decision_id: str | None = None
    trace_id: str | None = None
    inputs: Any = None
    context_extra: dict[str, Any] = field(default_factory=dict)
    reasoning: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    has_result: bool = False
    success: bool | None = None
    latency_ms: float | None = None
    error: BaseException | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    redact: Redactor | None = None
    ttl: timedelta | None = DEFAULT_DECISION_TTL
    started_perf: float = field(default_factory=time.perf_counter, repr=False)
    deferred: tuple[Callable[..., None], tuple[Any, ...]] | None = field(default=None, repr=False)
    frozen: bool = False
    size: int = 0

    confidence = _ReasoningField()
    scores = _ReasoningField()
    selected = _ReasoningField()
    alternatives = _ReasoningField()
    patterns_applied = _ReasoningField()
    rationale = _ReasoningField()

    def finish(
        self, result: Any = None, error: BaseException | None = None, *, now: float | None = None
    ) -> None:
        """Mark the decision done (at ``now``, a ``time.perf_counter()`` reading, else now):
        latency, success, and the result or the error."""
        end = time.perf_counter() if now is None else now
        self.latency_ms = (end - self.started_perf) * 1000.0
        if error is not None:
            self.success, self.error = False, error
        else:
            self.success = True
            self.result, self.has_result = result, True

    def freeze(
        self, settings: CaptureSettings | None = None, *, inputs: bool = True, result: bool = True
    ) -> None:
        """Snapshot the values now, on this thread (see the class's ``frozen``); never raises.

        ``inputs=False`` / ``result=False``: that value was snapshotted already (a decorator
        snapshots the arguments when the call starts; the LangChain hooks snapshot what they
        are given), and is kept as it is. Called again, it does nothing.
        """
        if self.frozen:
            return
        snap = snapshotter(settings or _DEFAULT_SETTINGS)
        size = self.size + 200  # ids, times and names
        try:
            if inputs:
                self.inputs, used = snap.snapshot_entries(self.inputs)
                size += used
            raw = self.result
            plain = type(raw) is dict
            found = None
            if raw is not None and (not plain or not _REASONING_NAMES.isdisjoint(raw)):
                found = reasoning_from_result(raw)
            if not self.has_result:
                self.result = None
            elif result:
                stored = snap.snapshot_mapping(raw) if plain else snap.snapshot_entries(raw)
                self.result, used = stored
                size += used
            self.reasoning, used = snap.snapshot_reasoning(self.reasoning, found)
            size += used
            self.metadata, used = snap.snapshot_mapping(self.metadata)
            size += used
            if self.context_extra:
                self.context_extra, used = snap.snapshot_mapping(self.context_extra)
                size += used
            else:
                self.context_extra = {}
            self.tags = snap.snapshot_tags(self.tags) if self.tags else []
            if self.error is not None:
                self._freeze_error(snap)
        except Exception as exc:  # a guard: what could not be copied is not kept
            report_problem("record", f"decision {self.decision_id}: values withheld", exc)
            self.inputs, self.result, self.context_extra = "[withheld: snapshot failed]", None, {}
            self.metadata, self.reasoning, self.tags = {}, {}, []
        self.size = size
        self.frozen = True

    def _freeze_error(self, snap: LenientJSON) -> None:
        error = self.error
        if self.error_type is None:
            self.error_type = clean_text(type(error).__qualname__)
        if self.error_message is None:
            self.error_message = cut_text(snap.masked(_safe_str(error)), snap.limit)

    def to_record(
        self, settings: CaptureSettings | None = None, warn: Warn | None = None
    ) -> DecisionRecord:
        """The validated record (redacted, secrets masked, JSON, truncated).

        Snapshots the values first if :meth:`freeze` has not. Raises ``ValidationError`` only
        when the record cannot exist at all (an invalid ``agent_id`` or empty
        ``decision_type``); the recorder counts and drops those.
        """
        say = warn or _report_record_problem
        fields, json_safe = self._fields(settings or _DEFAULT_SETTINGS, say)
        return self._model(fields, json_safe, say)

    def encode(
        self, settings: CaptureSettings | None = None, warn: Warn | None = None
    ) -> EncodedDecision:
        """The record :meth:`to_record` makes, in its stored form; same rules, same errors.

        When every value passes the models' checks, the JSON is written without building
        the models (what a store taking ``EncodedDecision`` saves)."""
        say = warn or _report_record_problem
        fields, json_safe = self._fields(settings or _DEFAULT_SETTINGS, say)
        if json_safe:
            encoded = encoded_decision(fields)
            if encoded is not None:
                return encoded
        return encode_record(self._model(fields, json_safe, say))

    def _fields(self, settings: CaptureSettings, say: Warn) -> tuple[dict[str, Any], bool]:
        """The record's fields (``context``, ``reasoning`` and ``outcome`` as the fields of
        those models), and whether every value is ``LenientJSON`` output."""
        if self.deferred is not None:
            finish_capture, args = self.deferred
            self.deferred = None
            finish_capture(self, *args)
        if not self.frozen:
            self.freeze(settings)
        data, redacted = _captured_data(self, settings, say)
        metadata = dict(self.metadata)
        if self.has_result:
            metadata["result"] = data["result"]
        kind = self.decision_type
        fields = {
            "decision_id": self.decision_id,
            "agent_id": self.agent_id,
            "decision_type": clean_text(kind) if type(kind) is str else kind,
            "timestamp": self.started_at,
            "parent_decision_id": self.parent_decision_id,
            "trace_id": self.trace_id or self.parent_decision_id,
            "context": _context(data["inputs"], data["context"]),
            "reasoning": (
                clean_reasoning(self.reasoning, _at_site(say, self)) if self.reasoning else {}
            ),
            "outcome": self._outcome(settings),
            "ttl": epoch_seconds(self.started_at + self.ttl) if self.ttl is not None else None,
            "tags": list(self.tags),
            "metadata": metadata,
        }
        # A redact hook may return anything: then the values are validated, not trusted.
        return fields, not redacted

    def _model(self, fields: dict[str, Any], json_safe: bool, say: Warn) -> DecisionRecord:
        fields["context"] = context_model(fields["context"], json_safe=json_safe)
        fields["reasoning"] = reasoning_model(fields["reasoning"])
        outcome = fields["outcome"]
        if outcome is not None:
            try:
                fields["outcome"] = outcome_model(outcome)
            except Exception as exc:
                say(f"decision {self.decision_id}: outcome dropped ({exc})")
                fields["outcome"] = None
        return decision_record(fields, json_safe=json_safe)

    def _outcome(self, settings: CaptureSettings) -> dict[str, Any] | None:
        if self.success is None:
            return None
        error_type, message, trace = self.error_type, self.error_message, self.traceback
        if self.error is not None:
            error_type = error_type or type(self.error).__qualname__
            message = message if message is not None else _safe_str(self.error)
            trace = trace or _format_traceback(self.error)
        latency = self.latency_ms
        if latency is not None and not (0.0 <= latency < float("inf")):
            latency = None
        masked = snapshotter(settings).masked  # an exception's text may quote a secret
        limit = settings.max_traceback_chars
        details = {"traceback": _tail(trace, limit, masked)} if trace else {}
        if type(error_type) is str:
            error_type = clean_text(error_type)
        if type(message) is str:
            message = cut_text(masked(message), settings.max_value_chars)
        fields: dict[str, Any] = {
            "success": bool(self.success),
            "latency_ms": latency,
            "error": message or None,
            "error_type": error_type,
            "details": details,
        }
        if latency is not None and type(self.started_at) is datetime:
            # When the call ended, however long the record waits to be converted.
            with contextlib.suppress(OverflowError):
                fields["recorded_at"] = self.started_at + timedelta(milliseconds=latency)
        return fields


def _report_record_problem(message: str) -> None:
    report_problem("record", message)


_warned_sites: set[str] = set()  # call sites whose dropped reasoning value was logged


def _at_site(say: Warn, captured: CapturedDecision) -> Warn:
    """``say`` for reasoning values dropped (an invalid confidence, ...), naming the call
    site (function or run); each site's first one is logged even while other sites'
    problems are rate-limited, and the site's later ones are only counted."""
    site = str(captured.metadata.get("function") or captured.decision_type)

    def warn(message: str) -> None:
        text = f"{message} (at {site})"
        if site in _warned_sites or len(_warned_sites) >= 10_000:
            say(text)
            return
        _warned_sites.add(site)
        logged = problems.logged
        say(text)
        if problems.logged == logged:  # say's line was rate-limited: the site's own kind
            report_problem(f"reasoning at {site}", text)

    return warn


def _captured_data(
    captured: CapturedDecision, settings: CaptureSettings, warn: Warn
) -> tuple[dict[str, Any], bool]:
    """The snapshot's values, redacted and cut, and whether a redact hook saw them."""
    data: dict[str, Any] = {
        "inputs": captured.inputs,
        "result": captured.result if captured.has_result else None,
        "context": captured.context_extra,
    }
    redacted = False
    for hook in (captured.redact, settings.redact):
        if hook is None:
            continue
        redacted = True
        try:
            changed = hook(data)
            data = changed if isinstance(changed, dict) else data
        except Exception as exc:
            # Never store what the user's redaction could not vet.
            warn(f"decision {captured.decision_id}: redact hook failed ({exc!r}); values withheld")
            data = {"inputs": "[withheld: redaction failed]", "result": None, "context": {}}
    if (
        not redacted
        and captured.frozen
        and captured.size * _JSON_GROWTH <= settings.max_value_chars
    ):
        return data, False  # too small for any value to need a cut
    convert = snapshotter(settings)
    # The snapshot's count of characters is a lower bound: the exact cut is made here.
    cut = {key: convert.truncate(data.get(key)) for key in ("inputs", "result", "context")}
    return cut, redacted


#: A character the snapshot counted as one is at most this many in JSON text (``\u0001``).
_JSON_GROWTH = 6


def _context(inputs: Any, extra: Any) -> dict[str, Any]:
    """The fields of the record's ``DecisionContext``, before validation."""
    fields: dict[str, Any] = dict(extra) if isinstance(extra, dict) else {}
    args = (
        dict(inputs) if isinstance(inputs, dict) else ({} if inputs is None else {"value": inputs})
    )
    # A decision's context has market data and a cycle number: lift arguments of those names.
    for name, kind in (("market", dict), ("cycle", int)):
        if name not in fields and isinstance(args.get(name), kind):
            fields[name] = args.pop(name)
    if "market" in fields and not isinstance(fields["market"], dict):
        fields["market_value"] = fields.pop("market")
    cycle = fields.get("cycle")
    if "cycle" in fields and (not isinstance(cycle, int) or isinstance(cycle, bool)):
        fields["cycle_value"] = fields.pop("cycle")
    fields["inputs"] = args
    return fields


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}: str() failed>"


def _format_traceback(exc: BaseException) -> str:
    import traceback

    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        return ""


def _tail(text: Any, limit: int, masked: Callable[[str], str]) -> Any:
    # The innermost frames (the end of a traceback) say most about the failure.
    if type(text) is not str:
        return text  # not text: validation refuses it
    if len(text) <= limit:
        return clean_text(masked(text))
    return clean_text(f"…[truncated {len(text) - limit} chars]" + masked(text[-limit:]))


__all__ = [
    "REASONING_KEYS",
    "CapturedDecision",
    "ParentResolver",
    "capture_error_count",
    "fast_id",
    "report_problem",
]
