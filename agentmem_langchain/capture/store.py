"""The recorder's store side: writing batches, retries, the journal, replay, dead letters.

:class:`StoreSide` is the half of :class:`~agentmem_langchain.capture.Recorder` that talks
to the store and to the files beside it; the recorder's queue, threads and lifecycle are in
:mod:`agentmem_langchain.capture`. A batch the store refuses is written again one record at
a time, and a record refused even alone (and on a second try) is set aside in the
dead-letter file, so a bad value costs at most its own record. What the store cannot take
because it is down or hung goes to the journal, and is replayed in order, by this process or
any later one that opens the store.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import journal_dir
from ..errors import NotFoundError, StoreUnavailableError, ValidationError
from ..learning.evidence import count_quietly, may_count
from ..models import DecisionOutcome, DecisionRecord
from ..stores.base import AcceptsEncodedDecisions, EncodedDecision, MemoryStore, encode_record
from . import thread
from .deadline import StoreCaller, StoreHungError
from .decision import CapturedDecision
from .hook import suppress_capture
from .journal import DeadLetters, Entry, Journal, Op, chunks, op_entry
from .journal_ahead import WriteAhead, adopt_segments
from .journal_entries import (
    captured_entry,
    captured_from_entry,
    captured_rows_entry,
    journal_ready,
    rows_as_entries,
)
from .settings import Item, OutcomeUpdate, RecorderSettings

_UNSCHEDULED = float("-inf")


class StoreSide:
    """Writes, retries, journal, replay and dead letters of a recorder (a mixin: the
    attributes and methods declared here without a body are the recorder's)."""

    settings: RecorderSettings
    store: MemoryStore | None
    _lock: threading.Lock
    _cond: threading.Condition
    _start_lock: threading.Lock
    _items: deque[Item]
    _overflow: deque[Item]
    _inflight: list[Item]
    _counts: dict[str, int]
    _journaled: dict[str, int]
    _pending: dict[str, int]
    _outstanding: int
    _dead_reasons: dict[str, int]
    _journal: Journal
    _dead: DeadLetters
    _ahead: WriteAhead | None
    _caller: StoreCaller
    _token: str
    _failing: bool
    _factory: Callable[[], MemoryStore] | None
    _next_replay_at: float
    _replay_delay: float
    _on_replayed: Callable[[int], None] | None
    _replay_lock: threading.Lock
    _entries_replayed: int
    _replay_base: int
    _inherited: bool

    @property
    def journal_path(self) -> Path:
        """Where this recorder spills what the store would not take."""
        return self._journal.path

    @property
    def dead_letter_path(self) -> Path:
        """Where records refused by the store and the journal alike are set aside."""
        return self._dead.path

    def _settle(self, agent: str, units: int, how: str) -> None:
        raise NotImplementedError

    def _settle_all(self, ops: Sequence[Op], how: str) -> None:
        raise NotImplementedError

    def _release(self, agent: str, units: int) -> None:
        raise NotImplementedError

    def _problem(self, kind: str, message: str, exc: BaseException | None = None) -> None:
        raise NotImplementedError

    def _count(self, name: str) -> None:
        raise NotImplementedError

    def _store_says_up(self) -> bool:
        raise NotImplementedError

    def _warn(self, message: str) -> None:
        raise NotImplementedError

    def _while_waiting(self) -> None:
        raise NotImplementedError

    # -- writing ------------------------------------------------------------------------

    def _build_ops(self, items: Sequence[Item], settle_failures: bool = True) -> list[Op]:
        ops: list[Op] = []
        by_id: dict[str, Op] = {}
        encode = isinstance(self.store, AcceptsEncodedDecisions)
        for item in items:
            if isinstance(item, OutcomeUpdate):
                target = by_id.get(item.decision_id)
                if (
                    target is not None
                    and target.record is not None
                    and target.agent == item.agent_id
                ):
                    target.record = _model(target.record).model_copy(
                        update={"outcome": item.outcome}
                    )
                    target.units += 1
                else:
                    ops.append(
                        Op(item.agent_id, outcome=item.outcome, decision_id=item.decision_id)
                    )
                continue
            record = self._convert(item, encode)
            if record is None:
                if settle_failures:
                    self._settle(item.agent_id, 1, "dropped")
                continue
            op = Op(item.agent_id, record=record, decision_id=record.decision_id)
            ops.append(op)
            by_id[record.decision_id] = op
        return ops

    def _convert(
        self, item: CapturedDecision | DecisionRecord, encode: bool = False
    ) -> DecisionRecord | EncodedDecision | None:
        """The record (``encode``: in its stored form), or None if it cannot exist."""
        if isinstance(item, DecisionRecord):
            return item
        try:
            if encode:
                return item.encode(self.settings, warn=self._warn)
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
                    records = [op.record for op in run if op.record is not None]
                    self._with_retries(self._put, records)
                    self._count_decided(records)
                    self._settle_all(run, "written")
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
                    self._caller.call(
                        self._put, ([op.record],), self.settings.write_timeout, self._while_waiting
                    )
                except Exception as exc:
                    if not _refused(exc):
                        return run[position:]
                    if attempt == 2:
                        self._set_aside(op_entry(op, self._token), exc)
                    continue
                self._count_decided([op.record])
                self._settle(op.agent, op.units, "written")
                break
        return []

    def _apply_outcome(self, op: Op, own: bool = True) -> bool:
        """Attach a queued (``own``) or replayed outcome; False if its decision is unknown."""
        assert op.outcome is not None
        try:
            record = self._with_retries(self._set_outcome, op.agent, op.decision_id, op.outcome)
        except NotFoundError:
            if own:
                self._problem("outcome", f"outcome for unknown decision {op.decision_id} dropped")
                self._settle(op.agent, op.units, "dropped")
            return False
        self._count_decided([record])
        if own:
            self._settle(op.agent, op.units, "written")
        return True

    def _put(self, records: list[DecisionRecord | EncodedDecision]) -> None:
        store = self._resolved_store()
        if isinstance(store, AcceptsEncodedDecisions):
            store.put_encoded_decisions(
                [r if isinstance(r, EncodedDecision) else encode_record(r) for r in records]
            )
        else:
            store.put_decisions([_model(r) for r in records])

    def _set_outcome(
        self, agent_id: str, decision_id: str, outcome: DecisionOutcome
    ) -> DecisionRecord:
        return self._resolved_store().set_outcome(agent_id, decision_id, outcome)

    def _count_decided(self, records: Sequence[DecisionRecord | EncodedDecision]) -> None:
        """Count the decided outcomes of choices just written, so ``recommend`` sees them at
        once (as ``MemoryManager.log_outcome`` does); never raises."""
        decided = [r for r in records if may_count(r)]
        if not decided:
            return
        try:
            self._caller.call(
                count_quietly,
                (self._resolved_store(), decided),
                self.settings.write_timeout,
                self._while_waiting,
            )
        except Exception as exc:
            self._problem("evidence", f"{len(decided)} outcome(s) not counted for recommend()", exc)

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
                result = self._caller.call(
                    fn, args, self.settings.write_timeout, self._while_waiting
                )
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
        applied meanwhile (by the capture thread too, when it had begun a replay first).
        ``progress(done)`` is called as entries are applied."""
        self._replay_base = self._entries_replayed
        self._on_replayed = progress
        try:
            with self._replay_lock:
                adopt_segments(self._journal)
                with suppress_capture():
                    self._journal.replay(self._apply_entries)
            return self._entries_replayed - self._replay_base
        finally:
            self._on_replayed = None
            self._journal.refresh()

    # -- the journal --------------------------------------------------------------------

    def _spill(self, ops: list[Op]) -> None:
        self._journal_entries([op_entry(op, self._token) for op in ops])

    def _spill_items(self, items: Sequence[Item]) -> None:
        """Journal queued items; frozen captured decisions as rows, without their records."""
        entries: list[Entry] = []
        others: list[Item] = []
        rows: list[CapturedDecision] = []
        redact, size = self.settings.redact, self.settings.batch_size

        def flush_rows() -> None:
            if rows:
                try:
                    entries.append(captured_rows_entry(rows, self._token))
                except Exception as exc:
                    self._problem("record", f"{len(rows)} decisions dropped: {exc!r}")
                    self._settle(rows[0].agent_id, len(rows), "dropped")
                rows.clear()

        def flush_others() -> None:
            if others:
                entries.extend(op_entry(op, self._token) for op in self._build_ops(others))
                others.clear()

        for item in items:
            if journal_ready(item, redact):
                flush_others()
                if rows and (rows[0].agent_id != item.agent_id or len(rows) >= size):
                    flush_rows()
                rows.append(item)  # type: ignore[arg-type]
            else:
                flush_rows()
                others.append(item)
        flush_rows()
        flush_others()
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
        if not thread.is_capture_thread():
            thread.wake()  # an idle capture thread learns that a replay is scheduled

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
        if not self._replay_lock.acquire(blocking=False):  # replay_now is under way
            self._next_replay_at = self.settings.clock() + self._replay_delay
            return
        try:
            adopt_segments(self._journal)
            self._journal.replay(self._apply_entries)
        except Exception as exc:
            self._problem("journal", f"journal replay failed: {exc!r}", exc)
        finally:
            self._replay_lock.release()
        with self._cond:
            if not self._journal.refresh():
                self._inherited = False
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
                self._apply_chunk(_expanded(chunk))
            except Exception as exc:
                if not _refused(exc):
                    self._problem("store", f"journal replay paused, store unavailable ({exc!r})")
                    return done
                # One record may be at fault: each on its own, those refused set aside.
                for entry in chunk:
                    for single in _expanded([entry]):
                        try:
                            self._apply_chunk([single])
                        except Exception as again:
                            if not _refused(again):
                                self._problem("store", f"journal replay paused ({again!r})")
                                return done
                            self._set_aside(single, again, replayed=True)
                    done += 1
                    self._count_replayed(1)
                continue
            done += len(chunk)
            self._count_replayed(len(chunk))
        return done

    def _count_replayed(self, entries: int) -> None:
        self._entries_replayed += entries
        report = self._on_replayed
        if report is not None:
            report(self._entries_replayed - self._replay_base)

    def _apply_chunk(self, chunk: list[Entry]) -> None:
        ops: list[Op] = []
        kept: list[Entry] = []
        encode = isinstance(self.store, AcceptsEncodedDecisions)
        for entry in chunk:
            op = self._entry_op(entry, encode)
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
            records = self._keep_later_outcomes(records)
            self._with_retries(self._put, records)
            self._count_decided(records)
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

    def _keep_later_outcomes(
        self, records: list[DecisionRecord | EncodedDecision]
    ) -> list[DecisionRecord | EncodedDecision]:
        # A replayed record must not erase an outcome attached since it was spilled.
        kept = []
        for record in records:
            if (record.success if isinstance(record, EncodedDecision) else record.outcome) is None:
                stored = self._with_retries(
                    self._resolved_store().get_decision, record.agent_id, record.decision_id
                )
                if stored is not None and stored.outcome is not None:
                    record = _model(record).model_copy(update={"outcome": stored.outcome})
            kept.append(record)
        return kept

    def _entry_op(self, entry: Entry, encode: bool) -> Op | None:
        try:
            if entry["kind"] == "captured":
                record = self._convert(captured_from_entry(entry), encode)
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

    def _forget_journaled(self, agent: str, units: int) -> None:  # caller holds the lock
        left = self._journaled.get(agent, 0) - units
        if left > 0:
            self._journaled[agent] = left
        else:
            self._journaled.pop(agent, None)


def _expanded(chunk: list[Entry]) -> list[Entry]:
    """``chunk`` with each line of rows as the single entries it holds (an unreadable one
    stays as it is, to be set aside)."""
    out: list[Entry] = []
    for entry in chunk:
        if entry.get("kind") == "captured-rows":
            try:
                out.extend(rows_as_entries(entry))
                continue
            except (KeyError, TypeError, ValueError):
                pass
        out.append(entry)
    return out


def journal_path_for(settings: RecorderSettings, key: str) -> Path:
    """The journal file of the store named ``key`` under ``settings``."""
    if settings.journal_path is not None:
        return Path(settings.journal_path).absolute()
    folder = settings.journal_dir or journal_dir()
    return (Path(folder) / f"{key}.jsonl").absolute()


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


def _model(record: DecisionRecord | EncodedDecision) -> DecisionRecord:
    return record.record() if isinstance(record, EncodedDecision) else record


def _record_run(ops: list[Op], start: int, limit: int) -> list[Op]:
    run: list[Op] = []
    for op in ops[start:]:
        if op.record is None or len(run) == limit:
            break
        run.append(op)
    return run
