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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .models import DecisionOutcome, DecisionRecord

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

Entry = dict[str, Any]


class Journal:
    """An append-only JSON-lines file with in-order, partial-progress replay."""

    #: Entries a replay reads and applies at once (bounds its memory, whatever the backlog).
    HEAD_ENTRIES = 2_000

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

    def append(self, entries: list[Entry]) -> None:
        """Write ``entries`` durably (fsync) at the end of the journal."""
        if not entries:
            return
        data = "".join(
            json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in entries
        ).encode("utf-8")
        with self._locked():
            # Unbuffered, so a failed write leaves nothing behind to be flushed at close.
            with open(self.path, "ab+", buffering=0) as handle:
                start = handle.seek(0, os.SEEK_END)
                if start and os.pread(handle.fileno(), 1, start - 1) != b"\n":
                    data = b"\n" + data  # a line torn by a crash stays a line of its own
                try:
                    written = 0
                    while written < len(data):
                        written += handle.write(data[written:]) or 0
                    os.fsync(handle.fileno())
                except BaseException:
                    # Disk full or failing: take back the part that was written, so entries
                    # the caller counts as lost are not replayed and no line is left torn.
                    with contextlib.suppress(OSError):
                        os.ftruncate(handle.fileno(), start)
                    raise
            self.has_data = True

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
                # Past the last applied entry; a head of blank or unreadable lines is skipped.
                done = ends[applied - 1] if applied else start if entries else start + len(raw)
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
        """Up to ``HEAD_ENTRIES`` whole lines from byte ``start``."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                lines = []
                for _ in range(self.HEAD_ENTRIES):
                    line = handle.readline()
                    if not line.endswith(b"\n"):
                        break  # end of file, or a line still being written
                    lines.append(line)
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
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(str(offset))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self._offset_path)
        self.has_data = True

    @contextmanager
    def _replaying(self) -> Iterator[None]:
        with self._replay_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_suffix(self.path.suffix + ".replay.lock")
            with open(lock_path, "a") as lock_file:
                _flock(lock_file, exclusive=True)
                try:
                    yield
                finally:
                    _flock(lock_file, exclusive=False)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_suffix(self.path.suffix + ".lock")
            with open(lock_path, "a") as lock_file:
                _flock(lock_file, exclusive=True)
                try:
                    yield
                finally:
                    _flock(lock_file, exclusive=False)


def _flock(handle: IO[str], *, exclusive: bool) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_UN)


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
    record: DecisionRecord | None = None
    outcome: DecisionOutcome | None = None
    decision_id: str = ""
    units: int = 1


def op_entry(op: Op, source: str) -> Entry:
    """The journal line for ``op``; ``source`` marks the process (recorder) that spilled it."""
    entry: Entry = {"src": source, "units": op.units, "agent": op.agent}
    if op.record is not None:
        entry.update(kind="decision", record=op.record.model_dump(mode="json"))
    else:
        assert op.outcome is not None
        entry.update(
            kind="outcome",
            agent_id=op.agent,
            decision_id=op.decision_id,
            outcome=op.outcome.model_dump(mode="json"),
        )
    return entry


def chunks(entries: list[Entry], size: int) -> Iterator[list[Entry]]:
    """Runs of up to ``size`` decision entries, and each outcome entry on its own, in order."""
    run: list[Entry] = []
    for entry in entries:
        if entry.get("kind") == "decision" and len(run) < size:
            run.append(entry)
            continue
        if run:
            yield run
            run = []
        if entry.get("kind") == "decision":
            run.append(entry)
        else:
            yield [entry]
    if run:
        yield run


__all__ = ["Entry", "Journal", "Op", "chunks", "op_entry"]
