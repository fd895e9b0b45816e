"""The background recorder: the only path from capture to a store.

``submit`` puts a captured decision (or an outcome) on a bounded in-memory queue and returns
at once; it never raises, never blocks (unless ``on_full="block"``), never does I/O or
serialization. A lazy daemon thread converts and batches items into ``store.put_decisions``
(idempotent per decision id), retrying with exponential backoff. When the store keeps
failing or hangs (a call running longer than ``write_timeout``), records are spilled to a
local journal, ``.agentmem/journal/<store>.jsonl``, and replayed, in order, once the store
answers again — also by the next process that opens the same store. When the queue is full
(the store is slower than the producer), items go to a spill buffer that a second daemon
thread writes to the journal, so even then the caller does no I/O. ``flush()`` waits until
everything accepted is in the store; the recorder flushes at interpreter exit (spilling what
it could not write) and starts afresh in a forked child.

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
from typing import Any

from ._callback_events import drain
from .capture import CapturedDecision, fast_id, report_problem, suppress_capture
from .errors import NotFoundError, StoreUnavailableError, ValidationError
from .journal import DeadLetters, Entry, Journal, Op, chunks, op_entry
from .journal_ahead import WriteAhead, adopt_segments, orphan_segments
from .journal_entries import captured_entry, captured_from_entry, journal_ready
from .models import DecisionOutcome, DecisionRecord
from .recorder_settings import (
    DEFAULT_JOURNAL_DIR,
    Item,
    OnFull,
    OutcomeUpdate,
    RecorderSettings,
    RecorderStats,
    journal_key,
)
from .store_caller import StoreCaller, StoreHungError
from .stores.base import MemoryStore

_default_settings = RecorderSettings()


class Recorder:
    """Write-behind for one store: ``submit`` now, durable after ``flush``.

    Get the shared one with :func:`recorder_for`; build one directly only to choose
    settings per instance (tests). ``store_factory`` opens the store lazily on the
    recorder's thread (the default recorder uses it, so capture never opens files).
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
        self._overflow: deque[Item] = deque()  # waiting for the spill thread, after _items
        self._fresh_process_state()
        self._journal = Journal(self._journal_path(), on_bad_line=self._bad_journal_line)
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

    def _fresh_process_state(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._items.clear()
        self._overflow.clear()
        self._spill_wake = threading.Event()
        self._spill_busy = threading.Lock()  # held while the spill thread holds items
        self._spiller: threading.Thread | None = None
        self._inflight: list[Item] = []
        self._pending: dict[str, int] = {}
        self._journaled: dict[str, int] = {}  # units this process journaled, not yet replayed
        self._outstanding = 0
        self._bytes = 0  # size of the queue's items
        self._overflow_bytes = 0  # size of the spill buffer's items
        self._failing = False  # the last store call failed or hung
        self._on_replayed: Callable[[int], None] | None = None
        self._ahead: WriteAhead | None = None
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._caller = StoreCaller(self.key)
        self._token = fast_id()  # marks this process's journal entries
        self._replay_delay = self.settings.replay_interval
        self._next_replay_at = _UNSCHEDULED  # due at once: a journal left by a past run

    def _journal_path(self) -> Path:
        return _journal_path(self.settings, self.key)

    @property
    def journal_path(self) -> Path:
        """Where this recorder spills what the store would not take."""
        return self._journal.path

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
                # Once items wait for the spill thread, newer ones queue behind them.
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
            if self._thread is None:
                self._ensure_thread()
            if not self._wake.is_set():
                self._wake.set()
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
        # The queue is full because the store is slow or down: the spill thread journals it.
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
        if self._spiller is None:
            self._ensure_spiller()
        self._spill_wake.set()
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
        self._wake.set()
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

    def flush_agent(self, agent_id: str, timeout: float | None = None) -> bool:
        """Wait until every item accepted for ``agent_id`` is in the store, and the journal
        (which may hold the agent's records from earlier processes) is replayed."""
        return self._wait_until(
            lambda: self._pending.get(agent_id, 0) == 0 and not self._journal.has_data, timeout
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
            if threading.current_thread() is not self._thread:
                drain()  # events LangChain hooks posted become items first
            with self._cond:
                if done():
                    return True
                if self._stopping or threading.current_thread() is self._thread:
                    return False  # closed, or the recorder waiting for itself
                self._waiters += 1
            try:
                self._ensure_thread()
                self._wake.set()
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

    @property
    def dead_letter_path(self) -> Path:
        """Where records refused by the store and the journal alike are set aside."""
        return self._dead.path

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread now (it also starts on the first submit or flush)."""
        self._ensure_thread()
        self._wake.set()

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then spill whatever is left, stop the thread and forget this recorder."""
        done = self.shutdown(timeout)
        self._stopping = True
        self._wake.set()
        self._spill_wake.set()
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
        # The spill thread finishes what it holds (a local append) before the rest is taken.
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
        # The parent's queue and thread belong to the parent; the child starts empty.
        self._fresh_process_state()
        self._journal.reset_after_fork()

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = self._daemon(self._run, "recorder")

    def _ensure_spiller(self) -> None:
        with self._start_lock:
            if self._spiller is None:
                self._spiller = self._daemon(self._run_spiller, "spill")

    def _daemon(self, target: Callable[[], None], role: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"agentmem-{role}-{self.key}", daemon=True)
        thread.start()
        return thread

    # -- the spill thread ---------------------------------------------------------------

    def _run_spiller(self) -> None:
        with suppress_capture():
            while not self._stopping:
                self._spill_wake.wait()
                self._spill_wake.clear()
                try:
                    while self._spill_some():
                        pass
                except Exception as exc:  # a bug here must not end the thread
                    self._problem("spill", f"spill thread step failed: {exc!r}", exc)
                    time.sleep(0.05)

    def _spill_some(self) -> bool:
        """Journal what waits in the spill buffer, with the queue ahead of it; False if empty."""
        with self._spill_busy:
            with self._cond:
                if not self._overflow:
                    return False
                # Queued items are older: taking them first keeps the journal in order.
                size = self.settings.batch_size
                items = self._take(size)
                items += self._take(size - len(items), overflow=True)
                self._cond.notify_all()  # room for submitters waiting on either buffer
            self._spill_items(items)
        return True

    # -- the recorder thread ------------------------------------------------------------

    def _run(self) -> None:
        with suppress_capture():  # the recorder's own work is never captured
            while not self._stopping:
                try:
                    self._step()
                except Exception as exc:  # a bug here must not end the thread
                    self._problem("loop", f"recorder step failed: {exc!r}", exc)
                    time.sleep(0.05)

    def _step(self) -> None:
        if not self._items:
            self._wake.wait(self._idle_timeout())
        self._wake.clear()
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
        if self.settings.journal_first:
            self._write_ahead_done()

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

    def _build_ops(self, items: Sequence[Item], settle_failures: bool = True) -> list[Op]:
        ops: list[Op] = []
        by_id: dict[str, Op] = {}
        for item in items:
            if isinstance(item, OutcomeUpdate):
                target = by_id.get(item.decision_id)
                if (
                    target is not None
                    and target.record is not None
                    and target.agent == item.agent_id
                ):
                    target.record = target.record.model_copy(update={"outcome": item.outcome})
                    target.units += 1
                else:
                    ops.append(
                        Op(item.agent_id, outcome=item.outcome, decision_id=item.decision_id)
                    )
                continue
            record = self._convert(item)
            if record is None:
                if settle_failures:
                    self._settle(item.agent_id, 1, "dropped")
                continue
            op = Op(item.agent_id, record=record, decision_id=record.decision_id)
            ops.append(op)
            by_id[record.decision_id] = op
        return ops

    def _convert(self, item: CapturedDecision | DecisionRecord) -> DecisionRecord | None:
        if isinstance(item, DecisionRecord):
            return item
        try:
            return item.to_record(self.settings, warn=self._warn)
        except Exception as exc:
            self._problem("record", f"decision {item.decision_id} dropped: {exc}")
            return None

    def _write(self, ops: list[Op]) -> None:
        index = 0
        while index < len(ops):
            run = _record_run(ops, index, self.settings.batch_size)
            try:
                if run:
                    self._with_retries(self._put, [op.record for op in run])
                    for op in run:
                        self._settle(op.agent, op.units, "written")
                    index += len(run)
                else:
                    self._apply_outcome(ops[index])
                    index += 1
            except Exception as exc:
                if run and _refused(exc):  # one record may be at fault: each on its own
                    left = self._write_singly(run)
                    index += len(run) - len(left)
                    if not left:
                        continue
                elif not run and _refused(exc):
                    self._set_aside(op_entry(ops[index], self._token), exc)
                    index += 1
                    continue
                self._problem("store", f"store unavailable ({exc!r}); spilling to the journal")
                self._spill(ops[index:])
                return

    def _write_singly(self, run: list[Op]) -> list[Op]:
        """Write each record alone (twice at most); set aside those the store refuses.

        Returns the ops left when the store stops answering (to be journaled)."""
        for position, op in enumerate(run):
            assert op.record is not None
            for attempt in (1, 2):
                try:
                    self._caller.call(self._put, ([op.record],), self.settings.write_timeout)
                except Exception as exc:
                    if not _refused(exc):
                        return run[position:]
                    if attempt == 2:
                        self._set_aside(op_entry(op, self._token), exc)
                    continue
                self._settle(op.agent, op.units, "written")
                break
        return []

    def _apply_outcome(self, op: Op, own: bool = True) -> bool:
        """Attach a queued (``own``) or replayed outcome; False if its decision is unknown."""
        assert op.outcome is not None
        try:
            self._with_retries(self._set_outcome, op.agent, op.decision_id, op.outcome)
        except NotFoundError:
            if own:
                self._problem("outcome", f"outcome for unknown decision {op.decision_id} dropped")
                self._settle(op.agent, op.units, "dropped")
            return False
        if own:
            self._settle(op.agent, op.units, "written")
        return True

    def _put(self, records: list[DecisionRecord]) -> None:
        self._resolved_store().put_decisions(records)

    def _set_outcome(self, agent_id: str, decision_id: str, outcome: DecisionOutcome) -> None:
        self._resolved_store().set_outcome(agent_id, decision_id, outcome)

    def _resolved_store(self) -> MemoryStore:
        if self.store is None:
            assert self._factory is not None
            self.store = self._factory()
        return self.store

    def _with_retries(self, fn: Callable[..., Any], *args: Any) -> Any:
        delay = self.settings.backoff_initial
        attempt = 0
        while True:
            try:
                result = self._caller.call(fn, args, self.settings.write_timeout)
                self._failing = False
                return result
            except StoreHungError:
                self._failing = True
                raise
            except Exception as exc:
                if _refused(exc) or isinstance(exc, NotFoundError):
                    raise  # the store answered: retrying the same request changes nothing
                if attempt >= self.settings.max_retries or not self._store_says_up():
                    self._failing = True
                    raise
            attempt += 1
            self._count("retried")
            self.settings.sleep(delay)
            delay = min(delay * 2, self.settings.backoff_max)

    # -- the write-ahead segment (journal_first) ------------------------------------------

    def _write_ahead(self, item: Item) -> None:
        """Append ``item`` to this process's segment before ``submit`` returns (no fsync)."""
        try:
            if self._ahead is None:
                with self._start_lock:
                    if self._ahead is None:
                        self._ahead = WriteAhead(self._journal.path, self._token)
            if journal_ready(item, self.settings.redact):
                entry = captured_entry(item, self._token)  # type: ignore[arg-type]
            else:
                ops = self._build_ops([item], settle_failures=False)
                if not ops:
                    return
                entry = op_entry(ops[0], self._token)
            self._ahead.append(entry)
        except Exception as exc:
            self._problem("journal", f"could not write ahead to the journal: {exc!r}")

    def _write_ahead_done(self) -> None:
        """Group fsync of the segment; empty it once nothing it holds is only in memory."""
        ahead = self._ahead
        if ahead is None:
            return
        try:
            with self._lock:
                drained = not (self._items or self._overflow or self._inflight)
            if drained:
                ahead.clear()
            elif ahead.dirty and ahead.since_sync() >= self.settings.journal_sync_interval:
                ahead.sync()
        except Exception as exc:
            self._problem("journal", f"write-ahead segment: {exc!r}")

    # -- replay on demand -------------------------------------------------------------------

    def pending_replay(self) -> int:
        """How many entries earlier processes (or this one) left in this store's journal."""
        adopt_segments(self._journal)
        return self._journal.count()

    def replay_now(self, progress: Callable[[int], None] | None = None) -> int:
        """Replay the journal into the store on this thread; returns how many entries were
        applied. ``progress(done)`` is called as entries are applied."""
        adopt_segments(self._journal)
        self._on_replayed = progress
        try:
            with suppress_capture():
                return self._journal.replay(self._apply_entries)
        finally:
            self._on_replayed = None
            self._journal.refresh()

    # -- the journal --------------------------------------------------------------------

    def _spill(self, ops: list[Op]) -> None:
        self._journal_entries([op_entry(op, self._token) for op in ops])

    def _spill_items(self, items: Sequence[Item]) -> None:
        """Journal queued items; frozen captured decisions without building their records."""
        entries: list[Entry] = []
        others: list[Item] = []
        redact = self.settings.redact
        for item in items:
            if journal_ready(item, redact):
                if others:
                    entries += [op_entry(op, self._token) for op in self._build_ops(others)]
                    others = []
                try:
                    entries.append(captured_entry(item, self._token))  # type: ignore[arg-type]
                except Exception as exc:
                    self._problem("record", f"decision {item.agent_id} dropped: {exc!r}")
                    self._settle(item.agent_id, 1, "dropped")
            else:
                others.append(item)
        entries += [op_entry(op, self._token) for op in self._build_ops(others)]
        self._journal_entries(entries)

    def _journal_entries(self, entries: list[Entry]) -> None:
        if not entries:
            return
        try:
            refused = self._journal.append(entries)
        except Exception as exc:  # disk full or unwritable: nothing else can keep them
            self._problem("journal", f"could not write the journal {self.journal_path}: {exc!r}")
            for entry in entries:
                self._settle(str(entry.get("agent", "")), _units(entry), "dropped")
            return
        for entry, reason in refused:
            self._set_aside(entry, reason)
        kept = [e for e in entries if not any(e is r for r, _ in refused)] if refused else entries
        with self._cond:
            for entry in kept:
                units, agent = _units(entry), str(entry.get("agent", ""))
                self._counts["spilled"] += units
                self._journaled[agent] = self._journaled.get(agent, 0) + units
            # Schedule a replay only if none is: pushing back one that is due would let a
            # producer that keeps spilling starve the replay for as long as it spills.
            if self._next_replay_at == _UNSCHEDULED:
                self._next_replay_at = self.settings.clock() + self._replay_delay
        if threading.current_thread() is not self._thread:
            self._wake.set()  # an idle recorder thread learns that a replay is scheduled

    def _set_aside(self, entry: Entry, why: BaseException | str, *, replayed: bool = False) -> None:
        """A record refused even on its own: into the dead-letter file, counted with why.

        ``replayed``: it came from the journal (it was this process's only if it says so)."""
        reason = why if isinstance(why, str) else f"{type(why).__name__}: {why}"
        reason = " ".join(reason.split())[:200]
        saved = self._dead.add(entry, reason)
        where = self.dead_letter_path if saved else "nowhere (the dead-letter file failed)"
        self._problem("dead-letter", f"a record was refused ({reason}); set aside in {where}")
        with self._cond:
            key = reason[:120]
            if key in self._dead_reasons or len(self._dead_reasons) < 20:
                self._dead_reasons[key] = self._dead_reasons.get(key, 0) + 1
            units, agent = _units(entry), str(entry.get("agent", ""))
            self._counts["dead_lettered"] += units
            if not replayed or entry.get("src") == self._token:
                self._release(agent, units)
            if replayed and entry.get("src") == self._token:
                self._forget_journaled(agent, units)
            self._cond.notify_all()

    def _replay(self) -> None:
        try:
            adopt_segments(self._journal)
            self._journal.replay(self._apply_entries)
        except Exception as exc:
            self._problem("journal", f"journal replay failed: {exc!r}", exc)
        with self._cond:
            if not self._journal.refresh():
                # Empty: whatever this process journaled was replayed, here or elsewhere.
                for agent, units in self._journaled.items():
                    self._release(agent, units)
                self._journaled.clear()
            if self._journal.has_data:
                self._next_replay_at = self.settings.clock() + self._replay_delay
                self._replay_delay = min(self._replay_delay * 2, self.settings.replay_interval_max)
            else:
                self._replay_delay = self.settings.replay_interval
                self._next_replay_at = _UNSCHEDULED
            self._cond.notify_all()

    def _apply_entries(self, entries: list[Entry]) -> int:
        done = 0
        for chunk in chunks(entries, self.settings.batch_size):
            try:
                self._apply_chunk(chunk)
            except Exception as exc:
                if not _refused(exc):
                    self._problem("store", f"journal replay paused, store unavailable ({exc!r})")
                    return done
                # One entry may be at fault: each on its own, those refused set aside.
                for entry in chunk:
                    try:
                        self._apply_chunk([entry])
                    except Exception as again:
                        if not _refused(again):
                            self._problem("store", f"journal replay paused ({again!r})")
                            return done
                        self._set_aside(entry, again, replayed=True)
                    done += 1
                continue
            done += len(chunk)
            if self._on_replayed is not None:
                self._on_replayed(done)
        return done

    def _apply_chunk(self, chunk: list[Entry]) -> None:
        ops: list[Op] = []
        kept: list[Entry] = []
        for entry in chunk:
            op = self._entry_op(entry)
            if op is None:
                self._set_aside(entry, "unreadable journal entry", replayed=True)
            else:
                ops.append(op)
                kept.append(entry)
        self._apply_replayed(ops, kept)

    def _apply_replayed(self, ops: list[Op], chunk: list[Entry]) -> None:
        if not ops:
            return
        records = [op.record for op in ops if op.record is not None]
        if records:
            self._with_retries(self._put, self._keep_later_outcomes(records))
        applied = True
        for op in ops:  # an outcome's chunk is that one entry
            if op.outcome is None or self._apply_outcome(op, own=False):
                continue
            if not chunk[0].get("deferred"):
                # Its decision may be further on (spilled after its outcome): try once more
                # from the end of the journal.
                self._journal.append([{**chunk[0], "deferred": True}])
                return
            self._problem("outcome", f"outcome for unknown decision {op.decision_id} dropped")
            applied = False
        counters = ("replayed", "written") if applied else ("dropped",)
        with self._cond:
            for entry in chunk:
                units = _units(entry)
                for name in counters:
                    self._counts[name] += units
                if entry.get("src") == self._token:
                    agent = str(entry.get("agent", ""))
                    self._release(agent, units)
                    self._forget_journaled(agent, units)
            self._cond.notify_all()

    def _keep_later_outcomes(self, records: list[DecisionRecord]) -> list[DecisionRecord]:
        # A replayed record must not erase an outcome attached since it was spilled.
        kept = []
        for record in records:
            if record.outcome is None:
                stored = self._with_retries(
                    self._resolved_store().get_decision, record.agent_id, record.decision_id
                )
                if stored is not None and stored.outcome is not None:
                    record = record.model_copy(update={"outcome": stored.outcome})
            kept.append(record)
        return kept

    def _entry_op(self, entry: Entry) -> Op | None:
        try:
            if entry["kind"] == "captured":
                record = self._convert(captured_from_entry(entry))
                if record is None:
                    return None
                return Op(record.agent_id, record=record, decision_id=record.decision_id)
            if entry["kind"] == "decision":
                record = DecisionRecord.model_validate(entry["record"])
                return Op(record.agent_id, record=record, decision_id=record.decision_id)
            outcome = DecisionOutcome.model_validate(entry["outcome"])
            return Op(entry["agent_id"], outcome=outcome, decision_id=entry["decision_id"])
        except Exception as exc:
            self._problem("journal", f"unreadable journal entry skipped: {exc!r}")
            return None

    def _bad_journal_line(self, line: str) -> None:
        self._problem("journal", f"unreadable journal line skipped: {line!r}")

    # -- bookkeeping --------------------------------------------------------------------

    def _settle(self, agent: str, units: int, how: str) -> None:
        with self._cond:
            self._counts[how] += units
            self._release(agent, units)
            self._cond.notify_all()

    def _release(self, agent: str, units: int) -> None:  # caller holds the lock
        self._outstanding = max(0, self._outstanding - units)
        left = self._pending.get(agent, 0) - units
        if left > 0:
            self._pending[agent] = left
        else:
            self._pending.pop(agent, None)

    def _forget_journaled(self, agent: str, units: int) -> None:  # caller holds the lock
        left = self._journaled.get(agent, 0) - units
        if left > 0:
            self._journaled[agent] = left
        else:
            self._journaled.pop(agent, None)

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


_UNSCHEDULED = float("-inf")
_EXIT_SLICE = 0.25  # at exit, a store that writes nothing for this long is taken as hung


def _journal_path(settings: RecorderSettings, key: str) -> Path:
    if settings.journal_path is not None:
        return Path(settings.journal_path).absolute()
    folder = settings.journal_dir or Path(
        os.environ.get("AGENTMEM_JOURNAL_DIR") or DEFAULT_JOURNAL_DIR
    )
    return (Path(folder) / f"{key}.jsonl").absolute()


#: What an item is counted as in the byte budget besides its captured values' size.
_ITEM_OVERHEAD = 512
_RECORD_BYTES = 2_048  # a record built by the caller: its values were capped when checked


def _item_bytes(item: Item) -> int:
    if type(item) is CapturedDecision:
        return _ITEM_OVERHEAD + (getattr(item, "size", 0) or 0)
    if type(item) is OutcomeUpdate:
        return _ITEM_OVERHEAD
    return _RECORD_BYTES


def _units(entry: Entry) -> int:
    try:
        return max(1, int(entry.get("units", 1)))
    except (TypeError, ValueError):
        return 1


def _refused(exc: BaseException) -> bool:
    """True if the store answered and refused this request (retrying it alone may show which
    record is at fault); False if the store did not answer (down, hung, throttled)."""
    if isinstance(exc, (ValidationError, TypeError, ValueError)):
        return True  # ValidationError and UnicodeEncodeError are ValueErrors too
    if isinstance(exc, StoreUnavailableError) and not isinstance(exc, StoreHungError):
        text = str(exc)
        return "ValidationException" in text or "SerializationException" in text
    return False


def _record_run(ops: list[Op], start: int, limit: int) -> list[Op]:
    run: list[Op] = []
    for op in ops[start:]:
        if op.record is None or len(run) == limit:
            break
        run.append(op)
    return run


# -- one recorder per store, process hooks ------------------------------------------------

_registry: dict[int, Recorder] = {}
_registry_lock = threading.Lock()
_all: weakref.WeakSet[Recorder] = weakref.WeakSet()
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
        path = _journal_path(default_settings(), journal_key(store))
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
            from .config import open_store

            _default.append(Recorder(store_factory=open_store, key="default"))
    return _default[0]


def set_default_settings(settings: RecorderSettings) -> None:
    """Settings for recorders made from now on (existing ones keep theirs)."""
    global _default_settings
    _default_settings = settings


def default_settings() -> RecorderSettings:
    """The settings new recorders get."""
    return _default_settings


def flush_all(timeout: float | None = None, *, agent_id: str | None = None) -> bool:
    """Flush every recorder of this process (only ``agent_id``'s items, if given)."""
    ok = True
    deadline = None if timeout is None else time.monotonic() + timeout
    for recorder in list(_all):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if agent_id is None:
            ok = recorder.flush(left) and ok
        else:
            ok = recorder.flush_agent(agent_id, left) and ok
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


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
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
