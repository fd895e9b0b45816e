"""The recorder's local journal: what could not reach the store waits here, one JSON per line.

Appends are fsynced; a replay applies entries in order, a bounded head at a time, and keeps
whatever was not applied. Several processes may share one journal file: appends and the short
reads and commits of a replay hold an exclusive ``flock`` on ``<journal>.lock``; one replayer
at a time holds ``<journal>.replay.lock`` while it writes to the store, so appends never wait
for the store. Progress is a committed byte offset in ``<journal>.offset`` (the file is not
rewritten per replay); a crash between applying and committing re-applies that head, which
the store's idempotent writes absorb. (Without ``fcntl`` only threads are excluded.)

>>> import tempfile, pathlib
>>> journal = Journal(pathlib.Path(tempfile.mkdtemp()) / "j.jsonl")
>>> journal.append([{"kind": "decision", "n": 1}, {"kind": "decision", "n": 2}])
>>> journal.replay(lambda entries: len(entries))
2
>>> journal.has_data
False
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .._files import private_dir
from ..models import DecisionOutcome, DecisionRecord
from ..stores.base import EncodedDecision

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

Entry = dict[str, Any]


class Journal:
    """An append-only JSON-lines file with in-order, partial-progress replay."""

    #: Lines a replay reads and applies at once, and bytes (a line of rows holds a batch):
    #: the bound of its memory, whatever the backlog.
    HEAD_ENTRIES = 2_000
    HEAD_BYTES = 1 << 20

    def __init__(self, path: Path, on_bad_line: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._on_bad_line = on_bad_line
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._offset_path = path.with_suffix(path.suffix + ".offset")
        self.has_data = _non_empty(path)

    def reset_after_fork(self) -> None:
        """Fresh thread locks (the parent's may have been held when it forked)."""
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()

    def append(self, entries: list[Entry], *, sync: bool = True) -> list[tuple[Entry, str]]:
        """Write ``entries`` at the end of the journal, durably (fsync) unless ``sync=False``.

        Returns the entries that cannot be written as JSON text, each with the reason; the
        others are written all or nothing (an ``OSError`` means none of them was).
        """
        lines, rejected = encode_lines(entries)
        if lines:
            self._append_bytes(b"".join(lines), sync=sync)
        return rejected

    def append_raw(self, data: bytes) -> None:
        """Append whole JSON lines as they are (fsynced): another journal's lines."""
        if data:
            self._append_bytes(data, sync=True)

    def count(self) -> int:
        """How many lines wait to be replayed (a line count; cheap, no parsing)."""
        with self._locked():
            start = self._committed()
            try:
                with open(self.path, "rb") as handle:
                    handle.seek(start)
                    lines = 0
                    tail = b""
                    while chunk := handle.read(1 << 20):
                        lines += chunk.count(b"\n")
                        tail = chunk[-1:]
                    return lines + (1 if tail and tail != b"\n" else 0)
            except FileNotFoundError:
                return 0

    def sync(self) -> None:
        """Make what was appended with ``sync=False`` durable."""
        with self._locked(), contextlib.suppress(FileNotFoundError):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _append_bytes(self, data: bytes, *, sync: bool) -> None:
        with self._locked():
            # Unbuffered, so a failed write leaves nothing behind to be flushed at close.
            with _private_open(self.path) as handle:
                start = handle.seek(0, os.SEEK_END)
                if start and os.pread(handle.fileno(), 1, start - 1) != b"\n":
                    data = b"\n" + data  # a line torn by a crash stays a line of its own
                try:
                    written = 0
                    while written < len(data):
                        written += handle.write(data[written:]) or 0
                    if sync:
                        os.fsync(handle.fileno())
                except BaseException:
                    # Disk full or failing: take back the part that was written, so entries
                    # the caller counts as lost are not replayed and no line is left torn.
                    with contextlib.suppress(OSError):
                        os.ftruncate(handle.fileno(), start)
                    raise
            self.has_data = True

    def refresh(self) -> bool:
        """Re-read whether the journal holds data (another process may have replayed it)."""
        with self._lock:
            self.has_data = _non_empty(self.path)
        return self.has_data

    def replay(self, apply: Callable[[list[Entry]], int]) -> int:
        """Give every entry, in order, to ``apply``, which returns how many it applied.

        Entries not applied stay in the journal (in order); applied ones are removed.
        Returns how many were applied. ``apply`` runs without the append lock, a head of at
        most ``HEAD_ENTRIES`` at a time.
        """
        total = 0
        with self._replaying():
            while True:
                with self._locked():
                    start = self._committed()
                    raw = self._read_head(start)
                entries, ends = self._parse(raw, start)
                applied = apply(entries) if entries else 0
                total += applied
                # Past the last applied entry; blank or unreadable lines after it are skipped
                # (reported once, by _parse), so they never hold up the journal.
                if applied == len(entries):
                    done = start + len(raw)
                else:
                    done = ends[applied - 1] if applied else start
                with self._locked():
                    self._commit(done)
                if applied < len(entries) or not raw:
                    return total

    def _committed(self) -> int:
        try:
            return int(self._offset_path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _read_head(self, start: int) -> bytes:
        """Up to ``HEAD_ENTRIES`` lines (and about ``HEAD_BYTES``, at least one line) from
        byte ``start``; caller holds the append lock.

        Appends hold that lock until their last byte is written, so a last line without its
        newline was torn by a crash: it is returned too, and ``_parse`` reports it once.
        """
        try:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                lines = []
                size = 0
                for _ in range(self.HEAD_ENTRIES):
                    line = handle.readline()
                    if not line:
                        break
                    lines.append(line)
                    if not line.endswith(b"\n"):
                        break  # torn by a crash: _parse skips (and reports) it
                    size += len(line)
                    if size >= self.HEAD_BYTES:
                        break
                return b"".join(lines)
        except FileNotFoundError:
            return b""

    def _parse(self, raw: bytes, start: int) -> tuple[list[Entry], list[int]]:
        """The entries in ``raw`` and the file offset just past each of them."""
        entries: list[Entry] = []
        ends: list[int] = []
        position = start
        for line in raw.splitlines(keepends=True):
            position += len(line)
            text = line.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                entries.append(entry)
                ends.append(position)
            elif self._on_bad_line is not None:  # a line cut short by a crash
                self._on_bad_line(text[:200])
        return entries, ends

    def _commit(self, offset: int) -> None:
        """Everything before ``offset`` is applied; caller holds the append lock."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if offset >= size:  # all applied: start afresh
            self.path.unlink(missing_ok=True)
            self._offset_path.unlink(missing_ok=True)
            self.has_data = False
            return
        temp = self._offset_path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(str(offset))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self._offset_path)
        self.has_data = True

    def _replaying(self) -> contextlib.AbstractContextManager[None]:
        """One replayer of this journal at a time, in this process and across processes."""
        return self._held(self._replay_lock, ".replay.lock")

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        """The append lock, in this process and across processes."""
        return self._held(self._lock, ".lock")

    @contextmanager
    def _held(self, lock: contextlib.AbstractContextManager[Any], suffix: str) -> Iterator[None]:
        with lock:
            private_dir(self.path.parent)
            lock_path = self.path.with_suffix(self.path.suffix + suffix)
            with _private_open(lock_path) as lock_file:
                _flock(lock_file, exclusive=True)
                try:
                    yield
                finally:
                    _flock(lock_file, exclusive=False)


def _flock(handle: IO[bytes], *, exclusive: bool) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_UN)


def encode_lines(entries: list[Entry]) -> tuple[list[bytes], list[tuple[Entry, str]]]:
    """Each entry as one UTF-8 JSON line, and the entries that cannot be, with the reason."""
    lines: list[bytes] = []
    rejected: list[tuple[Entry, str]] = []
    for entry in entries:
        try:
            lines.append((_dumps(entry) + "\n").encode("utf-8"))
        except (TypeError, ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            rejected.append((entry, f"not JSON-encodable: {type(exc).__name__}: {exc}"))
    return lines, rejected


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _private_open(path: Path) -> IO[bytes]:
    """``path`` opened for appending, unbuffered, created readable by its owner only."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "ab+", buffering=0)


class DeadLetters:
    """Where records that the store and the journal both refuse are set aside, one per line.

    Each line is ``{"at", "reason", "entry"}`` written with ASCII escapes, so any text goes
    in. Nothing here ever raises; a dead letter that cannot be written is only counted.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, entry: Any, reason: str) -> bool:
        """Append one dead letter; False if even that failed."""
        line = {"at": time.time(), "reason": reason[:500], "entry": entry}
        try:
            text = json.dumps(line, ensure_ascii=True, default=repr)
        except (TypeError, ValueError, RecursionError):
            text = json.dumps({**line, "entry": repr(entry)[:100_000]}, ensure_ascii=True)
        try:
            with self._lock:
                private_dir(self.path.parent)
                with _private_open(self.path) as handle:
                    handle.write(text.encode("ascii") + b"\n")
            return True
        except Exception:
            return False


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


@dataclass
class Op:
    """One store operation: write ``record``, or attach ``outcome`` to ``decision_id``.

    ``units`` counts the queued items folded into it (a record and its merged outcome: 2);
    ``agent`` is the agent they were accepted for.
    """

    agent: str
    record: DecisionRecord | EncodedDecision | None = None
    outcome: DecisionOutcome | None = None
    decision_id: str = ""
    units: int = 1


def op_entry(op: Op, source: str) -> Entry:
    """The journal line for ``op``; ``source`` marks the process (recorder) that spilled it."""
    entry: Entry = {"src": source, "units": op.units, "agent": op.agent}
    if op.record is not None:
        record = op.record
        if isinstance(record, EncodedDecision):
            entry.update(kind="decision", record=json.loads(record.body))
        else:
            entry.update(kind="decision", record=record.model_dump(mode="json"))
    else:
        assert op.outcome is not None
        entry.update(
            kind="outcome",
            agent_id=op.agent,
            decision_id=op.decision_id,
            outcome=op.outcome.model_dump(mode="json"),
        )
    return entry


_SINGLE_RECORDS = frozenset({"decision", "captured"})  # one record each: batched on replay


def chunks(entries: list[Entry], size: int) -> Iterator[list[Entry]]:
    """Runs of up to ``size`` decision entries, and each other entry (an outcome, a line of
    many rows) on its own, in order."""
    run: list[Entry] = []
    for entry in entries:
        if entry.get("kind") in _SINGLE_RECORDS and len(run) < size:
            run.append(entry)
            continue
        if run:
            yield run
            run = []
        if entry.get("kind") in _SINGLE_RECORDS:
            run.append(entry)
        else:
            yield [entry]
    if run:
        yield run


__all__ = [
    "DeadLetters",
    "Entry",
    "Journal",
    "Op",
    "chunks",
    "encode_lines",
    "op_entry",
    "private_dir",
]
