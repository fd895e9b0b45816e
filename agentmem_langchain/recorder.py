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
from .errors import NotFoundError
from .journal import Entry, Journal, Op, chunks, op_entry
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
        self._counts = dict.fromkeys(
            ("accepted", "written", "retried", "spilled", "replayed", "dropped", "errors"), 0
        )
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
        self._outstanding = 0
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._caller = StoreCaller(self.key)
        self._token = fast_id()  # marks this process's journal entries
        self._replay_delay = self.settings.replay_interval
        self._next_replay_at = _UNSCHEDULED  # due at once: a journal left by a past run

    def _journal_path(self) -> Path:
        if self.settings.journal_path is not None:
            return Path(self.settings.journal_path).absolute()
        folder = self.settings.journal_dir or Path(
            os.environ.get("AGENTMEM_JOURNAL_DIR") or DEFAULT_JOURNAL_DIR
        )
        return (Path(folder) / f"{self.key}.jsonl").absolute()

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
            with self._lock:
                # Once items wait for the spill thread, newer ones queue behind them.
                queued = len(self._items) < self.settings.max_queue and not self._overflow
                if queued:
                    self._items.append(item)
                    self._accept(agent)
            if not queued:
                return self._when_full(item)
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

    def _when_full(self, item: Item) -> bool:
        policy = self.settings.on_full
        if policy == "block" and self._wait_for_space(item):
            return True
        if policy != "drop" and self._buffer_for_spill(item):
            return True
        self._count("dropped")
        where = "queue is" if policy == "drop" else "queue and its spill buffer are"
        self._problem("full", f"the recorder {where} full; a decision was dropped")
        return False

    def _buffer_for_spill(self, item: Item) -> bool:
        # The queue is full because the store is slow or down: the spill thread journals it.
        limit = self.settings.max_queue + self.settings.spill_buffer
        with self._cond:
            if not self._room(lambda: len(self._items) + len(self._overflow) >= limit):
                return False
            self._overflow.append(item)
            self._accept(item.agent_id)
        if self._spiller is None:
            self._ensure_spiller()
        self._spill_wake.set()
        return True

    def _wait_for_space(self, item: Item) -> bool:
        with self._cond:
            if not self._room(lambda: len(self._items) >= self.settings.max_queue):
                return False
            self._items.append(item)
            self._accept(item.agent_id)
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

    # -- waiting ------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything accepted (and any journal) is in the store.

        ``timeout=None`` waits up to ``settings.flush_timeout``. Returns False on timeout
        (the store is down or hanging); never raises.
        """
        return self._wait_until(
            lambda: self._outstanding == 0 and not self._journal.has_data, timeout
        )

    def flush_agent(self, agent_id: str, timeout: float | None = None) -> bool:
        """Wait until every item accepted for ``agent_id`` is in the store."""
        return self._wait_until(lambda: self._pending.get(agent_id, 0) == 0, timeout)

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
            )

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
        """Flush for up to ``timeout`` (``exit_timeout`` if None); spill what is left."""
        if self.flush(self.settings.exit_timeout if timeout is None else timeout):
            return True
        # The spill thread finishes what it holds (a local append) before the rest is taken.
        busy = self._spill_busy.acquire(timeout=max(1.0, self.settings.exit_timeout))
        try:
            with self._lock:
                left = [*self._inflight, *self._items, *self._overflow]
                self._items.clear()
                self._overflow.clear()
            self._spill(self._build_ops(left))
        finally:
            if busy:
                self._spill_busy.release()
        return False

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
                items = _take(self._items, size)
                items += _take(self._overflow, size - len(items))
                self._cond.notify_all()  # room for submitters waiting on either buffer
            self._spill(self._build_ops(items))
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
            batch = _take(self._items, self.settings.batch_size)
            self._inflight = batch
            self._cond.notify_all()  # room in the queue for blocked submitters
        if batch:
            ops = self._build_ops(batch)
            if self._journal.has_data:
                self._spill(ops)  # keep order behind what is already waiting in the journal
            else:
                self._write(ops)
        with self._cond:
            self._inflight = []
            self._cond.notify_all()

    def _idle_timeout(self) -> float | None:
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
                self._problem(
                    "store", f"store unavailable ({exc!r}); spilling to {self.journal_path}"
                )
                self._spill(ops[index:])
                return

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
                return self._caller.call(fn, args, self.settings.write_timeout)
            except StoreHungError:
                raise
            except Exception:
                if attempt >= self.settings.max_retries:
                    raise
            attempt += 1
            self._count("retried")
            self.settings.sleep(delay)
            delay = min(delay * 2, self.settings.backoff_max)

    # -- the journal --------------------------------------------------------------------

    def _spill(self, ops: list[Op]) -> None:
        if not ops:
            return
        try:
            self._journal.append([op_entry(op, self._token) for op in ops])
        except Exception as exc:  # disk full or unwritable: nothing else can keep them
            self._problem("journal", f"could not write the journal {self.journal_path}: {exc!r}")
            for op in ops:
                self._settle(op.agent, op.units, "dropped")
            return
        with self._cond:
            self._counts["spilled"] += sum(op.units for op in ops)
            # Schedule a replay only if none is: pushing back one that is due would let a
            # producer that keeps spilling starve the replay for as long as it spills.
            if self._next_replay_at == _UNSCHEDULED:
                self._next_replay_at = self.settings.clock() + self._replay_delay
        if threading.current_thread() is not self._thread:
            self._wake.set()  # an idle recorder thread learns that a replay is scheduled

    def _replay(self) -> None:
        try:
            self._journal.replay(self._apply_entries)
        except Exception as exc:
            self._problem("journal", f"journal replay failed: {exc!r}", exc)
        with self._cond:
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
            ops = [self._entry_op(entry) for entry in chunk]
            try:
                self._apply_replayed([op for op in ops if op is not None], chunk)
            except Exception as exc:
                self._problem("store", f"journal replay paused, store unavailable ({exc!r})")
                return done
            done += len(chunk)
        return done

    def _apply_replayed(self, ops: list[Op], chunk: list[Entry]) -> None:
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
                units = int(entry.get("units", 1))
                for name in counters:
                    self._counts[name] += units
                if entry.get("src") == self._token:
                    self._release(str(entry.get("agent", "")), units)
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


def _take(items: deque[Item], limit: int) -> list[Item]:
    return [items.popleft() for _ in range(min(len(items), limit))]


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
            if found._journal.has_data:
                found.start()
    return found


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
    "set_default_settings",
    "wait_for_agent",
]
