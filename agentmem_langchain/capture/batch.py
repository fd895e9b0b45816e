"""Stage 3, record to batch: the recorder, the only path from capture to a store.

``submit`` puts a captured decision (or an outcome) on a bounded in-memory queue and returns
at once; it never raises, never blocks (unless ``on_full="block"``), never does I/O or
serialization. The capture thread takes the queue a batch at a time, converts it and writes
it with ``store.put_decisions`` (idempotent per decision id), retrying with exponential
backoff (:mod:`.store`). When the store keeps failing or hangs (a call running longer than
``write_timeout``), records are spilled to a local journal,
``.agentmem/journal/<store>.jsonl``, and replayed, in order, once the store answers again —
also by the next process that opens the same store. When the queue is full (the store is
slower than the producer), items go to a spill buffer that the capture thread journals (also
while it waits for a store call), so even then the caller does no I/O. ``flush()`` waits
until everything accepted is in the store; the recorder flushes at interpreter exit
(spilling what it could not write) and starts afresh in a forked child.

>>> from agentmem_langchain.testing import InMemoryStore
>>> from agentmem_langchain.capture import CapturedDecision
>>> store = InMemoryStore()
>>> recorder = recorder_for(store)
>>> recorder.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
True
>>> recorder.flush(timeout=5)
True
>>> recorder.stats().written
1
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from ..models import DecisionOutcome
from ..stores.base import MemoryStore
from . import thread
from .deadline import StoreCaller
from .decision import CapturedDecision, fast_id, report_problem
from .events import drain
from .journal import DeadLetters, Journal, Op
from .journal_ahead import WriteAhead, adopt_segments, orphan_segments
from .settings import (
    DEFAULT_JOURNAL_DIR,
    Item,
    OnFull,
    OutcomeUpdate,
    RecorderSettings,
    RecorderStats,
    journal_key,
)
from .store import _UNSCHEDULED, StoreSide, journal_path_for

_default_settings = RecorderSettings()


class Recorder(StoreSide):
    """Write-behind for one store: ``submit`` now, durable after ``flush``.

    Get the shared one with :func:`recorder_for`; build one directly only to choose
    settings per instance (tests). ``store_factory`` opens the store lazily on the
    store's thread (the default recorder uses it, so capture never opens files).
    """

    def __init__(
        self,
        store: MemoryStore | None = None,
        settings: RecorderSettings | None = None,
        *,
        store_factory: Callable[[], MemoryStore] | None = None,
        key: str | None = None,
    ) -> None:
        if store is None and store_factory is None:
            raise TypeError("Recorder needs a store or a store_factory")
        self.store = store
        self._factory = store_factory
        self.settings = settings or _default_settings
        self.key = key or journal_key(store)
        self._items: deque[Item] = deque()
        self._overflow: deque[Item] = deque()  # the spill buffer: journaled first, after _items
        self._fresh_process_state()
        self._journal = Journal(self._journal_path(), on_bad_line=self._bad_journal_line)
        #: The journal held entries of earlier processes when this recorder was made.
        self._inherited = self._journal.has_data
        self._dead = DeadLetters(self._journal.path.with_suffix(".dead.jsonl"))
        self._counts = dict.fromkeys(
            (
                "accepted",
                "written",
                "retried",
                "spilled",
                "replayed",
                "dropped",
                "errors",
                "dead_lettered",
            ),
            0,
        )
        self._dead_reasons: dict[str, int] = {}
        self._dead_seen = 0  # dead letters already reported by a flush
        _install_process_hooks()
        _all.add(self)
        thread.register(self)

    def _fresh_process_state(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._start_lock = threading.Lock()
        self._items.clear()
        self._overflow.clear()
        self._spill_busy = threading.Lock()  # held while spilled items are out of the buffers
        self._inflight: list[Item] = []
        self._pending: dict[str, int] = {}
        self._journaled: dict[str, int] = {}  # units this process journaled, not yet replayed
        self._outstanding = 0
        self._bytes = 0  # size of the queue's items
        self._overflow_bytes = 0  # size of the spill buffer's items
        self._failing = False  # the last store call failed or hung
        self._on_replayed: Callable[[int], None] | None = None
        self._replay_lock = threading.Lock()  # one replay of this journal at a time
        self._entries_replayed = 0  # journal entries this process applied to the store
        self._replay_base = 0
        self._ahead: WriteAhead | None = None
        self._waiters = 0
        self._stopping = False
        self._caller = StoreCaller(self.key)
        self._token = fast_id()  # marks this process's journal entries
        self._replay_delay = self.settings.replay_interval
        self._next_replay_at = _UNSCHEDULED  # due at once: a journal left by a past run

    def _journal_path(self) -> Path:
        return journal_path_for(self.settings, self.key)

    # -- the hot path -------------------------------------------------------------------

    def submit(self, item: Item) -> bool:
        """Queue a decision (captured or ready) for writing; False if it was dropped.

        Never raises; never blocks unless ``on_full="block"``.
        """
        try:
            agent = item.agent_id
            size = _item_bytes(item)
            settings = self.settings
            with self._lock:
                # Once items wait in the spill buffer, newer ones queue behind them.
                queued = (
                    len(self._items) < settings.max_queue
                    and self._bytes + size <= settings.max_queue_bytes
                    and not self._overflow
                )
                if queued:
                    self._items.append(item)
                    self._bytes += size
                    self._accept(agent)
            if not queued:
                return self._when_full(item, size)
            if settings.journal_first:
                self._write_ahead(item)
            if not thread._woken:
                thread.wake()
            return True
        except Exception as exc:
            self._problem("submit", f"could not queue a decision: {exc!r}", exc)
            return False

    def submit_outcome(self, agent_id: str, decision_id: str, outcome: DecisionOutcome) -> bool:
        """Queue an outcome; it is applied after the decision (even one still queued)."""
        return self.submit(OutcomeUpdate(agent_id, decision_id, outcome))

    def _accept(self, agent: str) -> None:  # caller holds the lock
        self._counts["accepted"] += 1
        self._outstanding += 1
        if self._outstanding == 1:
            _busy.add(self)  # alive until written, even if its owner lets go of it
        self._pending[agent] = self._pending.get(agent, 0) + 1

    def _when_full(self, item: Item, size: int) -> bool:
        policy = self.settings.on_full
        if policy == "block" and self._wait_for_space(item, size):
            return True
        if policy != "drop" and self._buffer_for_spill(item, size):
            return True
        self._count("dropped")
        where = "queue is" if policy == "drop" else "queue and its spill buffer are"
        self._problem("full", f"the recorder {where} full; a decision was dropped")
        return False

    def _buffer_for_spill(self, item: Item, size: int) -> bool:
        # The queue is full because the store is slow or down: the capture thread journals it.
        limit = self.settings.max_queue + self.settings.spill_buffer
        room = self.settings.max_queue_bytes // 4

        def full() -> bool:
            over = bool(self._overflow) and self._overflow_bytes + size > room
            return len(self._items) + len(self._overflow) >= limit or over

        with self._cond:
            if not self._room(full):
                return False
            self._overflow.append(item)
            self._overflow_bytes += size
            self._accept(item.agent_id)
        if self.settings.journal_first:
            self._write_ahead(item)
        thread.wake()
        return True

    def _wait_for_space(self, item: Item, size: int) -> bool:
        settings = self.settings

        def full() -> bool:
            return len(self._items) >= settings.max_queue or bool(
                self._items and self._bytes + size > settings.max_queue_bytes
            )

        with self._cond:
            if not self._room(full):
                return False
            self._items.append(item)
            self._bytes += size
            self._accept(item.agent_id)
        if settings.journal_first:
            self._write_ahead(item)
        thread.wake()
        return True

    def _room(self, full: Callable[[], bool]) -> bool:  # caller holds the lock
        """Wait while ``full()``, up to ``block_timeout``; False if it is still full."""
        deadline: float | None = None
        while full():
            now = time.monotonic()
            deadline = now + self.settings.block_timeout if deadline is None else deadline
            if now >= deadline:
                return False
            self._cond.wait(deadline - now)
        return True

    def _take(self, limit: int, *, overflow: bool = False) -> list[Item]:  # caller holds lock
        """Up to ``limit`` items from the head of the queue (or of the spill buffer)."""
        source = self._overflow if overflow else self._items
        taken = [source.popleft() for _ in range(min(len(source), limit))]
        size = sum(map(_item_bytes, taken))
        if overflow:
            self._overflow_bytes = max(0, self._overflow_bytes - size)
        else:
            self._bytes = max(0, self._bytes - size)
        return taken

    # -- waiting ------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything accepted (and any journal) is in the store.

        ``timeout=None`` waits up to ``settings.flush_timeout``. Returns False on timeout
        (the store is down or hanging), and when records were set aside as dead letters
        since the previous flush (``stats()`` says how many and why); never raises.
        """
        done = self._wait_until(
            lambda: self._outstanding == 0 and not self._journal.has_data, timeout
        )
        with self._lock:
            dead = self._counts["dead_lettered"]
            fresh, self._dead_seen = dead > self._dead_seen, dead
        return done and not fresh

    def flush_agent(
        self, agent_id: str, timeout: float | None = None, *, journal: bool = True
    ) -> bool:
        """Wait until every item accepted for ``agent_id`` is in the store, and the journal
        (which may hold the agent's records from earlier processes) is replayed."""
        return self._wait_until(
            lambda: (
                self._pending.get(agent_id, 0) == 0
                and not (journal and self._inherited and self._journal.has_data)
            ),
            timeout,
        )

    def has_pending(self, agent_id: str | None = None) -> bool:
        """True while items (for ``agent_id``, or any) are not yet in the store."""
        drain()  # events LangChain hooks posted become items first
        with self._lock:
            if agent_id is None:
                return self._outstanding > 0 or self._journal.has_data
            return self._pending.get(agent_id, 0) > 0

    def _wait_until(self, done: Callable[[], bool], timeout: float | None) -> bool:
        try:
            limit = self.settings.flush_timeout if timeout is None else timeout
            deadline = time.monotonic() + max(0.0, limit)
            on_capture_thread = thread.is_capture_thread()
            if not on_capture_thread:
                drain()  # events hooks posted become items first
            with self._cond:
                if done():
                    return True
                if self._stopping or on_capture_thread:
                    return False  # closed, or the capture thread waiting for itself
                self._waiters += 1
            try:
                thread.wake()
                with self._cond:
                    while not done():
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return False
                        self._cond.wait(remaining)
                    return True
            finally:
                with self._cond:
                    self._waiters -= 1
        except Exception as exc:
            self._problem("flush", f"flush failed: {exc!r}", exc)
            return False

    def stats(self) -> RecorderStats:
        """A snapshot of the counters."""
        with self._lock:
            c = self._counts
            return RecorderStats(
                accepted=c["accepted"],
                written=c["written"],
                retried=c["retried"],
                spilled=c["spilled"],
                replayed=c["replayed"],
                dropped=c["dropped"],
                capture_errors=c["errors"],
                queued=len(self._items) + len(self._overflow),
                outstanding=self._outstanding,
                queued_bytes=self._bytes + self._overflow_bytes,
                dead_lettered=c["dead_lettered"],
                dead_letter_reasons=tuple(
                    sorted(self._dead_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
                ),
            )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Have the capture thread step this recorder now (it also does on submit or flush)."""
        thread.wake()

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then spill whatever is left, and forget this recorder."""
        done = self.shutdown(timeout)
        self._stopping = True
        thread.unregister(self)
        _busy.discard(self)
        with _registry_lock:
            if _registry.get(id(self.store)) is self:
                del _registry[id(self.store)]
            _all.discard(self)
        return done

    def shutdown(self, timeout: float | None = None) -> bool:
        """Write for up to ``timeout`` (``exit_timeout`` if None), then journal what is left.

        When the store is known to be down or hung, nothing is waited for: everything not
        yet written goes to the journal at once. True if everything reached the store.
        """
        limit = self.settings.exit_timeout if timeout is None else timeout
        if self._store_answering() and self._flush_while_progressing(limit):
            return True
        # A spill under way (a local append) finishes before the rest is taken.
        busy = self._spill_busy.acquire(timeout=0.5)
        try:
            with self._lock:
                left = [*self._inflight, *self._items, *self._overflow]
                self._items.clear()
                self._overflow.clear()
                self._bytes = self._overflow_bytes = 0
            self._spill_items(left)
        finally:
            if busy:
                self._spill_busy.release()
        return False

    def _flush_while_progressing(self, limit: float) -> bool:
        """Flush for up to ``limit`` seconds, giving up early once a slice passes with no
        write (a store that hangs without saying so yet)."""
        deadline = time.monotonic() + limit
        while True:
            written = self._counts["written"]
            left = deadline - time.monotonic()
            if self.flush(min(_EXIT_SLICE, max(0.0, left))):
                return True
            if left <= _EXIT_SLICE or self._counts["written"] == written:
                return False

    def _store_says_up(self) -> bool:
        try:
            return bool(getattr(self.store, "available", True))
        except Exception:
            return False

    def _store_answering(self) -> bool:
        """False when the last store call failed or hung, or the store says it is down."""
        return not self._failing and self._store_says_up()

    def _after_fork_in_child(self) -> None:
        # The parent's queue belongs to the parent; the child starts empty.
        self._fresh_process_state()
        self._journal.reset_after_fork()

    # -- the capture thread's stage ------------------------------------------------------

    rank = 1  # after the event stage: events become items before items become batches

    def step(self) -> bool:
        """A replay when one is due, one batch written (or journaled behind the journal),
        then one batch of the spill buffer journaled. True if items were taken."""
        if self._stopping:
            return False
        if self._journal.has_data and self._replay_due():
            self._replay()
        with self._cond:
            batch = self._take(self.settings.batch_size)
            self._inflight = batch
            self._cond.notify_all()  # room in the queue for blocked submitters
        if batch:
            if self._journal.has_data:
                self._spill_items(batch)  # keep order behind what waits in the journal
            else:
                self._write(self._build_ops(batch))
        with self._cond:
            self._inflight = []
            self._cond.notify_all()
        spilled = self._spill_some()  # what the queue could not take, behind the batch
        if self.settings.journal_first:
            self._write_ahead_done()
        return spilled or bool(batch)

    def has_work(self) -> bool:
        return bool(self._items or self._overflow)

    def urgent(self) -> bool:
        items = len(self._items)
        return (
            items >= self.settings.batch_size
            or bool(self._overflow)
            or bool(self._waiters and items)
        )

    def due(self) -> float | None:
        return self._idle_timeout()

    def _while_waiting(self) -> None:
        """While a store call runs: hooks' events become items, the other recorders go on
        (on the capture thread), and this one's spill buffer drains."""
        if not thread.step_others():
            drain()
        self._spill_some()

    def _spill_some(self) -> bool:
        """Journal one batch of the spill buffer, with the queue ahead of it; False if empty."""
        if not self._overflow:
            return False
        with self._spill_busy:
            with self._cond:
                # Queued items are older: taking them first keeps the journal in order.
                size = self.settings.batch_size
                items = self._take(size)
                items += self._take(size - len(items), overflow=True)
                self._cond.notify_all()  # room for submitters waiting on either buffer
            self._spill_items(items)
        return bool(items)

    def _idle_timeout(self) -> float | None:
        if self._ahead is not None and self._ahead.dirty:
            return self.settings.journal_sync_interval
        if not self._journal.has_data:
            return None
        if self._waiters:
            return 0.02
        return max(0.0, min(self._next_replay_at - self.settings.clock(), 60.0))

    def _replay_due(self) -> bool:
        return self._waiters > 0 or self.settings.clock() >= self._next_replay_at

    # -- bookkeeping --------------------------------------------------------------------

    def _settle(self, agent: str, units: int, how: str) -> None:
        with self._cond:
            self._counts[how] += units
            self._release(agent, units)
            self._cond.notify_all()

    def _settle_all(self, ops: Sequence[Op], how: str) -> None:
        """``_settle`` for each op, under one hold of the lock."""
        with self._cond:
            for op in ops:
                self._counts[how] += op.units
                self._release(op.agent, op.units)
            self._cond.notify_all()

    def _release(self, agent: str, units: int) -> None:  # caller holds the lock
        self._outstanding = max(0, self._outstanding - units)
        if self._outstanding == 0:
            _busy.discard(self)
        left = self._pending.get(agent, 0) - units
        if left > 0:
            self._pending[agent] = left
        else:
            self._pending.pop(agent, None)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _warn(self, message: str) -> None:
        self._problem("record", message)

    def _problem(self, kind: str, message: str, exc: BaseException | None = None) -> None:
        self._count("errors")
        report_problem(kind, message, exc)

    def __repr__(self) -> str:
        return f"Recorder(key={self.key!r}, journal={str(self.journal_path)!r})"


_EXIT_SLICE = 0.25  # at exit, a store that writes nothing for this long is taken as hung
_EXIT_JOIN = 1.0  # at exit, how long the capture thread may take to finish its step


#: What an item is counted as in the byte budget besides its captured values' size.
_ITEM_OVERHEAD = 512
_RECORD_BYTES = 2_048  # a record built by the caller: its values were capped when checked


def _item_bytes(item: Item) -> int:
    if type(item) is CapturedDecision:
        return _ITEM_OVERHEAD + (getattr(item, "size", 0) or 0)
    if type(item) is OutcomeUpdate:
        return _ITEM_OVERHEAD
    return _RECORD_BYTES


# -- one recorder per store, process hooks ------------------------------------------------

_registry: dict[int, Recorder] = {}
_registry_lock = threading.Lock()
_all: weakref.WeakSet[Recorder] = weakref.WeakSet()
#: Recorders holding items not yet written: the capture thread holds its stages weakly.
_busy: set[Recorder] = set()
_default: list[Recorder] = []
_hooks_installed = False


def recorder_for(store: MemoryStore, settings: RecorderSettings | None = None) -> Recorder:
    """The recorder of ``store`` (one per store object, made on first use, thread-safe).

    ``settings`` apply only when the recorder is made. A recorder whose journal holds
    records from an earlier run starts replaying them at once.
    """
    found = _registry.get(id(store))
    if found is not None and found.store is store:
        return found
    with _registry_lock:
        found = _registry.get(id(store))
        if found is None or found.store is not store:
            found = Recorder(store, settings)
            _registry[id(store)] = found
            if orphan_segments(found._journal):
                adopt_segments(found._journal)  # segments of processes that died
            if found._journal.refresh():
                found._inherited = True
                found.start()
    return found


def replay_pending(store: MemoryStore) -> Recorder | None:
    """Start replaying what earlier processes left in ``store``'s journal, in the background.

    Called whenever a store is opened (a ``MemoryManager``, the CLI); cheap when there is
    nothing to replay (one ``stat``). Returns the recorder that replays, or None.
    """
    try:
        if type(store).__name__ == "InMemoryStore" and not hasattr(store, "journal_key"):
            return None  # a store of this process only: nothing of it outlives the process
        found = _registry.get(id(store))
        if found is not None and found.store is store:
            return found
        path = journal_path_for(default_settings(), journal_key(store))
        if not (path.exists() or orphan_segments(Journal(path))):
            return None
        return recorder_for(store)
    except Exception as exc:  # opening a store never fails because of its journal
        report_problem("journal", f"could not look for a journal to replay: {exc!r}", exc)
        return None


def default_recorder() -> Recorder:
    """The recorder for decorated functions with no memory: the store of ``open_store()``."""
    if _default:
        return _default[0]
    with _registry_lock:
        if not _default:
            from ..stores.opening import open_store

            _default.append(Recorder(store_factory=open_store, key="default"))
    return _default[0]


def set_default_settings(settings: RecorderSettings) -> None:
    """Settings for recorders made from now on (existing ones keep theirs)."""
    global _default_settings
    _default_settings = settings


def default_settings() -> RecorderSettings:
    """The settings new recorders get."""
    return _default_settings


def flush_all(
    timeout: float | None = None, *, agent_id: str | None = None, store: object = None
) -> bool:
    """Flush every recorder of this process (only ``agent_id``'s items, if given; for the
    recorder of ``store``, also what earlier processes journaled for it)."""
    ok = True
    deadline = None if timeout is None else time.monotonic() + timeout
    for recorder in list(_all):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if agent_id is None:
            ok = recorder.flush(left) and ok
        else:
            ok = recorder.flush_agent(agent_id, left, journal=recorder.store is store) and ok
    return ok


def wait_for_agent(agent_id: str) -> bool:
    """Read-your-writes: wait (up to each recorder's ``read_wait``) for ``agent_id``'s items."""
    ok = True
    for recorder in list(_all):
        if recorder.has_pending(agent_id):
            ok = recorder.flush_agent(agent_id, recorder.settings.read_wait) and ok
    return ok


def _install_process_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_flush_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _flush_at_exit() -> None:
    try:
        drain()  # events LangChain hooks posted and the capture thread has not applied
    except Exception as exc:  # pragma: no cover - never let exit fail
        report_problem("exit", f"applying captured events at exit failed: {exc!r}", exc)
    for recorder in list(_all):
        try:
            recorder.shutdown()
        except Exception as exc:  # pragma: no cover - never let exit fail
            report_problem("exit", f"flush at exit failed: {exc!r}", exc)
    thread.stop(_EXIT_JOIN)


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    _busy.clear()  # the parent's items are the parent's to write
    for recorder in list(_all):
        recorder._after_fork_in_child()


__all__ = [
    "DEFAULT_JOURNAL_DIR",
    "OnFull",
    "OutcomeUpdate",
    "Recorder",
    "RecorderSettings",
    "RecorderStats",
    "default_recorder",
    "default_settings",
    "flush_all",
    "journal_key",
    "recorder_for",
    "replay_pending",
    "set_default_settings",
    "wait_for_agent",
]
