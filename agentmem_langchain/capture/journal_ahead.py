"""Write-ahead segments: each accepted decision on disk before ``submit`` returns.

With ``RecorderSettings(journal_first=True)`` a recorder appends every accepted item to a
segment of its own beside the store's journal, ``<journal>.ahead-<token>.jsonl``, with one
OS write (no fsync; the recorder fsyncs segments together, every ``journal_sync_interval``).
The process holds an exclusive ``flock`` on its segment while it lives and empties it
whenever everything the segment holds is in the store or the journal. A segment whose lock
nobody holds belongs to a process that died: the next recorder of the store adopts it (moves
its lines into the journal, under the journal's lock) and replays it like any spill. Its
records may already be in the store; writes are idempotent puts, so nothing is doubled.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from .journal import Entry, Journal, encode_lines, private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: segments are adopted only at exit
    fcntl = None  # type: ignore[assignment]

_MARK = ".ahead-"


class WriteAhead:
    """This process's segment: append now, fsync in groups, empty when drained."""

    def __init__(self, journal_path: Path, token: str) -> None:
        private_dir(journal_path.parent)
        self.path = journal_path.with_name(f"{journal_path.name}{_MARK}{token}.jsonl")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours alone while we live
        self._lock = threading.Lock()
        self._size = 0
        self._synced_at = time.monotonic()
        self.dirty = False

    def append(self, entry: Entry) -> None:
        """One line, written to the OS before returning (survives SIGKILL, not power loss)."""
        lines, refused = encode_lines([entry])
        if refused:
            return  # the recorder sets such a record aside when it writes it
        with self._lock:
            os.write(self._fd, lines[0])
            self._size += len(lines[0])
            self.dirty = True

    def since_sync(self) -> float:
        return time.monotonic() - self._synced_at

    def sync(self) -> None:
        with self._lock:
            os.fsync(self._fd)
            self.dirty = False
            self._synced_at = time.monotonic()

    def clear(self) -> None:
        """Empty the segment: everything it held is in the store or the journal."""
        with self._lock:
            if self._size:
                os.ftruncate(self._fd, 0)
                self._size = 0
            self.dirty = False
            self._synced_at = time.monotonic()


def orphan_segments(journal: Journal) -> list[Path]:
    """Segments of the journal's store left by processes that are gone (or that may be)."""
    folder = journal.path.parent
    prefix = journal.path.name + _MARK
    try:
        return sorted(p for p in folder.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


def adopt_segments(journal: Journal) -> int:
    """Move the lines of dead processes' segments into ``journal``; returns how many bytes.

    A segment still locked by its (live) process is left alone; a segment is adopted by one
    process only (it holds the segment's lock, then removes it).
    """
    moved = 0
    for path in orphan_segments(journal):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue  # adopted meanwhile
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its process is alive
            if os.fstat(fd).st_nlink == 0:
                continue  # adopted and removed by another process after we opened it
            data = _read_all(fd)
            end = data.rfind(b"\n") + 1  # a last line without its newline was torn by a kill
            if end:
                journal.append_raw(data[:end])
                moved += end
            with contextlib.suppress(OSError):
                os.unlink(path)
        finally:
            os.close(fd)
    return moved


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


__all__ = ["WriteAhead", "adopt_segments", "orphan_segments"]
