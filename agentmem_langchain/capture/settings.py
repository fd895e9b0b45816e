"""Recorder settings, statistics and queue items (re-exported by :mod:`.recorder`)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import DEFAULT_JOURNAL_DIR
from ..models import DecisionOutcome, DecisionRecord
from .decision import CapturedDecision
from .values import CaptureSettings

OnFull = Literal["spill", "drop", "block"]


@dataclass(frozen=True)
class RecorderSettings(CaptureSettings):
    """How a recorder queues, writes, retries and spills (plus :class:`CaptureSettings`).

    When the queue (``max_queue`` items) is full, ``on_full`` decides: ``"spill"`` (the
    default) puts the item in a spill buffer of up to ``spill_buffer`` more items that a
    background thread writes to the journal (``batch_size`` items per append, queue first), so
    the caller does no I/O; only if that buffer is full too (the journal cannot keep up) does
    the caller wait for room, up to ``block_timeout``, and then drop the item (counted and
    logged). ``"block"`` first waits up to ``block_timeout`` for room in the
    queue, then spills the same way; ``"drop"`` drops at once.

    ``journal_path`` defaults to ``<journal_dir>/<store key>.jsonl``; ``journal_dir`` to
    :func:`agentmem_langchain.config.journal_dir` (``$AGENTMEM_JOURNAL_DIR`` or
    ``.agentmem/journal``, resolved when the recorder is made).
    The store key is the store's ``journal_key`` attribute, else its type and a hash of its
    ``path``, else its type and object id (no replay across restarts for such stores).
    ``max_queue_bytes`` bounds the queue in bytes (the captured values' size) beside its item
    limit; past it, items take the spill path. The spill buffer holds at most a quarter of
    that again, so the recorder keeps at most 1.25 x ``max_queue_bytes`` of values in memory.

    A store call that has not returned after ``write_timeout`` seconds counts as a hung store:
    the batch is journaled and the store is probed again later. ``flush(None)`` waits up to
    ``flush_timeout``; reads wait up to ``read_wait`` for the agent's captured records; at
    exit the recorder writes for up to ``exit_timeout`` (not at all when the store is known to
    be down), then journals what is left.

    ``journal_first=True`` also appends each captured decision to a journal segment of this
    process before ``submit`` returns (an OS write, no fsync; segments are fsynced together
    every ``journal_sync_interval`` seconds), so a process killed with SIGKILL loses nothing it
    accepted: the next process that opens the store replays the segment.
    ``sleep`` (retry backoff) and ``clock`` (replay schedule, monotonic seconds) are
    injectable for tests.
    """

    max_queue: int = 10_000
    batch_size: int = 200
    on_full: OnFull = "spill"
    spill_buffer: int = 10_000
    block_timeout: float = 1.0
    max_retries: int = 3
    backoff_initial: float = 0.05
    backoff_max: float = 5.0
    replay_interval: float = 1.0
    replay_interval_max: float = 60.0
    max_queue_bytes: int = 64 * 1024 * 1024
    write_timeout: float = 5.0
    flush_timeout: float = 30.0
    read_wait: float = 10.0
    exit_timeout: float = 1.0
    journal_first: bool = False
    journal_sync_interval: float = 0.2
    journal_dir: Path | None = None
    journal_path: Path | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class RecorderStats:
    """Counters since the recorder was made; items are decisions and outcomes alike.

    ``written`` includes items replayed from the journal (also counted in ``replayed``);
    ``queued`` is the queue's current length and ``queued_bytes`` its size; ``outstanding``
    counts items accepted and not yet in the store (queued, being written, or in the
    journal). ``dead_lettered`` counts records the store (or the journal) refused even alone,
    set aside in the dead-letter file; ``dead_letter_reasons`` says why, most frequent first.
    """

    accepted: int = 0
    written: int = 0
    retried: int = 0
    spilled: int = 0
    replayed: int = 0
    dropped: int = 0
    capture_errors: int = 0
    queued: int = 0
    outstanding: int = 0
    queued_bytes: int = 0
    dead_lettered: int = 0
    dead_letter_reasons: tuple[tuple[str, int], ...] = ()


@dataclass(slots=True)
class OutcomeUpdate:
    """An outcome to attach to a decision, queued behind the decision itself."""

    agent_id: str
    decision_id: str
    outcome: DecisionOutcome


Item = CapturedDecision | DecisionRecord | OutcomeUpdate


def journal_key(store: object) -> str:
    """The name of a store's journal file (stable across restarts when the store allows)."""
    key = getattr(store, "journal_key", None)
    if isinstance(key, str) and key:
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    kind = type(store).__name__.lower()
    path = getattr(store, "path", None)
    if isinstance(path, (str, os.PathLike)):
        digest = hashlib.sha1(os.path.abspath(os.fspath(path)).encode()).hexdigest()[:12]
        return f"{kind}-{digest}"
    return f"{kind}-{os.getpid()}-{_instance_token(store)}"


_tokens: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_tokens_lock = threading.Lock()


def _instance_token(store: object) -> str:
    """A token of this store object for as long as it lives: unlike ``id()``, never that of
    a store that existed before it, so a new store never takes over a dead one's journal."""
    with _tokens_lock:
        try:
            token = _tokens.get(store)
            if token is None:
                token = _tokens[store] = uuid.uuid4().hex[:16]
        except TypeError:  # not weakly referenceable or not hashable
            return f"{id(store):x}"
    return token


__all__ = [
    "DEFAULT_JOURNAL_DIR",
    "Item",
    "OnFull",
    "OutcomeUpdate",
    "RecorderSettings",
    "RecorderStats",
    "journal_key",
]
