"""The recorder: batching, retries, spilling to the journal, replay, flush, overflow policies."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agentmem_langchain.capture import (
    CapturedDecision,
    OutcomeUpdate,
    Recorder,
    RecorderSettings,
    journal_key,
    recorder_for,
)
from agentmem_langchain.errors import StoreUnavailableError
from agentmem_langchain.models import DecisionOutcome, DecisionRecord
from agentmem_langchain.testing import InMemoryStore
from tests.waiting import wait_for


class FlakyStore(InMemoryStore):
    """Raises on every write while ``down``; counts successful writes per decision id."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.puts: Counter[str] = Counter()
        self.batches: list[int] = []

    def put_decisions(self, records):
        if self.down:
            raise StoreUnavailableError("store is down")
        super().put_decisions(records)
        self.batches.append(len(records))
        self.puts.update(r.decision_id for r in records)

    def set_outcome(self, agent_id, decision_id, outcome):
        if self.down:
            raise StoreUnavailableError("store is down")
        return super().set_outcome(agent_id, decision_id, outcome)


class HangingStore(FlakyStore):
    """Every write blocks until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.waiting = 0  # records in the write that hangs

    def put_decisions(self, records):
        self.waiting = len(records)
        self.entered.set()
        self.release.wait()
        super().put_decisions(records)


@pytest.fixture
def settings(tmp_path: Path) -> RecorderSettings:
    return RecorderSettings(journal_path=tmp_path / "journal.jsonl", sleep=lambda s: None)


def item(agent: str = "agent-1") -> CapturedDecision:
    return CapturedDecision(agent_id=agent, decision_type="tool_call", inputs={"n": 1})


def test_submitted_decisions_are_in_the_store_after_flush(settings):
    store = FlakyStore()
    recorder = Recorder(store, settings)
    items = [item() for _ in range(50)]
    assert all(recorder.submit(i) for i in items)
    assert recorder.flush(timeout=5)
    assert set(store.puts) == {i.decision_id for i in items}
    stats = recorder.stats()
    assert (stats.accepted, stats.written, stats.outstanding) == (50, 50, 0)


def test_writes_are_batched_up_to_batch_size(tmp_path):
    store = HangingStore()
    settings = RecorderSettings(journal_path=tmp_path / "j.jsonl", batch_size=50)
    recorder = Recorder(store, settings)
    recorder.submit(item())
    assert store.entered.wait(5)  # the first write holds the thread while the rest queue up
    for _ in range(199):
        recorder.submit(item())
    store.release.set()
    assert recorder.flush(timeout=5)
    assert sum(store.batches) == 200
    assert max(store.batches) == 50


def test_store_down_for_a_while_then_every_record_is_written_exactly_once(settings):
    store = FlakyStore()
    store.down = True
    recorder = Recorder(store, settings)
    items = [item() for _ in range(30)]
    for i in items:
        recorder.submit(i)
    assert recorder.flush(timeout=0.3) is False
    down = recorder.stats()
    assert down.retried >= settings.max_retries and down.spilled == 30
    assert settings.journal_path.exists() and not store.puts

    store.down = False
    assert recorder.flush(timeout=5)
    assert store.puts == Counter({i.decision_id: 1 for i in items})
    up = recorder.stats()
    assert (up.replayed, up.written, up.outstanding, up.dropped) == (30, 30, 0, 0)
    assert not settings.journal_path.exists()


def test_a_hanging_store_does_not_slow_submit_and_records_wait_in_the_journal(tmp_path):
    store = HangingStore()
    settings = RecorderSettings(journal_path=tmp_path / "j.jsonl", write_timeout=0.05)
    recorder = Recorder(store, settings)
    recorder.submit(item())
    assert store.entered.wait(5)
    items = [item() for _ in range(2000)]
    started = time.perf_counter()
    accepted = [recorder.submit(i) for i in items]
    elapsed = time.perf_counter() - started
    assert all(accepted)
    assert elapsed < 1.0  # ~2000 x a few microseconds, even with the store stuck
    assert recorder.flush(timeout=0.3) is False
    assert recorder.stats().spilled > 0

    store.release.set()
    assert recorder.flush(timeout=10)
    assert {i.decision_id for i in items} <= set(store.puts)


def test_journal_is_replayed_by_a_new_recorder_after_a_restart(settings):
    down = FlakyStore()
    down.down = True
    first = Recorder(down, settings)
    items = [item() for _ in range(10)]
    for i in items:
        first.submit(i)
    first.close(timeout=0.2)
    assert settings.journal_path.exists()

    healthy = FlakyStore()
    second = Recorder(healthy, settings)
    assert second.flush(timeout=5)
    assert set(healthy.puts) == {i.decision_id for i in items}
    assert second.stats().replayed == 10


def test_an_unreadable_journal_line_is_skipped_and_counted(settings, tmp_path):
    good = DecisionRecord(agent_id="agent-1", decision_type="custom")
    settings.journal_path.write_text(
        '{"kind":"decision","units":1,"agent":"agent-1","record":'
        + good.model_dump_json()
        + "}\n"
        + '{"kind":"decis\n'
    )
    store = FlakyStore()
    recorder = Recorder(store, settings)
    assert recorder.flush(timeout=5)
    assert list(store.puts) == [good.decision_id]
    assert recorder.stats().capture_errors >= 1


def test_an_outcome_for_a_still_queued_decision_is_applied_after_it(settings):
    store = HangingStore()
    recorder = Recorder(store, settings)
    recorder.submit(item())
    assert store.entered.wait(5)
    queued = item()
    recorder.submit(queued)
    recorder.submit_outcome("agent-1", queued.decision_id, DecisionOutcome(success=False))
    store.release.set()
    assert recorder.flush(timeout=5)
    stored = store.get_decision("agent-1", queued.decision_id)
    assert stored is not None and stored.outcome is not None and stored.outcome.success is False
    assert recorder.stats().dropped == 0


def test_an_outcome_for_a_spilled_decision_is_replayed_after_it(settings):
    store = FlakyStore()
    store.down = True
    recorder = Recorder(store, settings)
    spilled = item()
    recorder.submit(spilled)
    assert recorder.flush(timeout=0.2) is False
    recorder.submit_outcome("agent-1", spilled.decision_id, DecisionOutcome(success=True))
    assert recorder.flush(timeout=0.2) is False
    store.down = False
    assert recorder.flush(timeout=5)
    stored = store.get_decision("agent-1", spilled.decision_id)
    assert stored is not None and stored.outcome is not None and stored.outcome.success


def test_an_outcome_for_an_unknown_decision_is_dropped_not_raised(settings):
    recorder = Recorder(FlakyStore(), settings)
    accepted = recorder.submit_outcome(
        "agent-1", "01J0000000000000000000000A", DecisionOutcome(success=True)
    )
    assert accepted and recorder.flush(timeout=5)
    assert recorder.stats().dropped == 1


def test_an_item_that_cannot_become_a_record_is_dropped_and_counted(settings):
    recorder = Recorder(FlakyStore(), settings)
    assert recorder.submit(item(agent="not a valid agent id"))
    assert recorder.flush(timeout=5)
    stats = recorder.stats()
    assert (stats.dropped, stats.capture_errors, stats.outstanding) == (1, 1, 0)


def test_submit_never_raises_even_for_garbage(settings):
    recorder = Recorder(FlakyStore(), settings)
    assert recorder.submit(object()) is False  # type: ignore[arg-type]
    assert recorder.stats().capture_errors == 1


def watch_threads(recorder: Recorder, monkeypatch) -> list[threading.Thread]:
    """The threads that append to the journal or build records, one entry per call."""
    seen: list[threading.Thread] = []
    append, build = recorder._journal.append, recorder._build_ops

    def watched_append(entries):
        seen.append(threading.current_thread())
        return append(entries)

    def watched_build(items, settle_failures=True):
        seen.append(threading.current_thread())
        return build(items, settle_failures)

    monkeypatch.setattr(recorder._journal, "append", watched_append)
    monkeypatch.setattr(recorder, "_build_ops", watched_build)
    return seen


def test_full_queue_spills_by_default_off_the_callers_thread(tmp_path, monkeypatch):
    store = HangingStore()
    settings = RecorderSettings(journal_path=tmp_path / "j.jsonl", max_queue=2, write_timeout=10)
    recorder = Recorder(store, settings)
    seen = watch_threads(recorder, monkeypatch)
    results = [recorder.submit(item()) for _ in range(10)]
    assert all(results)
    # The first batch is stuck in the hanging store; the others reach the journal.
    assert wait_for(store.entered.is_set)
    assert wait_for(lambda: recorder.stats().spilled == 10 - store.waiting)
    assert settings.journal_path.exists()
    assert seen and threading.current_thread() not in seen
    store.release.set()
    assert recorder.flush(timeout=10)
    assert len(store.puts) == 10 and recorder.stats().dropped == 0


def test_with_the_spill_buffer_full_too_the_caller_waits_then_drops(tmp_path, monkeypatch):
    store = HangingStore()
    settings = RecorderSettings(
        journal_path=tmp_path / "j.jsonl",
        max_queue=1,
        spill_buffer=2,
        block_timeout=0.05,
        write_timeout=10,
    )
    recorder = Recorder(store, settings)
    disk = threading.Event()
    append = recorder._journal.append

    def stuck_append(entries):
        disk.wait()
        return append(entries)

    monkeypatch.setattr(recorder._journal, "append", stuck_append)
    results = [recorder.submit(item()) for _ in range(20)]
    stats = recorder.stats()
    assert results.count(False) == stats.dropped > 0
    assert stats.accepted == results.count(True)
    disk.set()
    store.release.set()
    assert recorder.flush(timeout=10)
    assert len(store.puts) == results.count(True)


def test_a_spilled_outcome_ahead_of_its_decision_is_applied_on_replay(settings):
    store = FlakyStore()
    recorder = Recorder(store, settings)
    later = item()
    outcome = OutcomeUpdate("agent-1", later.decision_id, DecisionOutcome(success=False))
    with recorder._lock:
        recorder._accept("agent-1")
        recorder._accept("agent-1")
    # The outcome reaches the journal first (it was spilled while its decision was in flight).
    recorder._spill(recorder._build_ops([outcome]))
    recorder._spill(recorder._build_ops([later]))
    assert recorder.flush(timeout=5)
    stored = store.get_decision("agent-1", later.decision_id)
    assert stored is not None and stored.outcome is not None and stored.outcome.success is False
    stats = recorder.stats()
    assert (stats.dropped, stats.replayed, stats.outstanding) == (0, 2, 0)


def test_a_replayed_outcome_whose_decision_never_comes_is_dropped_and_counted(settings):
    store = FlakyStore()
    recorder = Recorder(store, settings)
    with recorder._lock:
        recorder._accept("agent-1")
    lost = OutcomeUpdate("agent-1", "01J0000000000000000000000A", DecisionOutcome(success=True))
    recorder._spill(recorder._build_ops([lost]))
    assert recorder.flush(timeout=5)
    stats = recorder.stats()
    assert (stats.dropped, stats.replayed, stats.outstanding) == (1, 0, 0)
    assert not settings.journal_path.exists() or settings.journal_path.stat().st_size == 0


def test_full_queue_drops_when_told_to(tmp_path):
    store = HangingStore()
    settings = RecorderSettings(
        journal_path=tmp_path / "j.jsonl", max_queue=2, on_full="drop", write_timeout=10
    )
    recorder = Recorder(store, settings)
    results = [recorder.submit(item()) for _ in range(10)]
    assert results.count(False) == recorder.stats().dropped > 0
    store.release.set()
    assert recorder.flush(timeout=10)
    assert len(store.puts) == results.count(True)


def test_full_queue_blocks_until_there_is_room_when_told_to(tmp_path):
    store = HangingStore()
    settings = RecorderSettings(
        journal_path=tmp_path / "j.jsonl",
        max_queue=1,
        batch_size=1,
        on_full="block",
        block_timeout=10,
        write_timeout=10,
    )
    recorder = Recorder(store, settings)
    recorder.submit(item())
    assert store.entered.wait(5)
    recorder.submit(item())  # fills the queue
    outcome: list[bool] = []
    blocked = threading.Thread(target=lambda: outcome.append(recorder.submit(item())))
    blocked.start()
    blocked.join(0.1)
    assert blocked.is_alive() and not outcome
    store.release.set()
    blocked.join(5)
    assert outcome == [True]
    assert recorder.flush(timeout=5) and len(store.puts) == 3
    assert recorder.stats().spilled == 0


def test_flush_for_one_agent_ignores_other_agents(settings):
    store = HangingStore()
    recorder = Recorder(store, settings)
    recorder.submit(item("agent-a"))
    assert store.entered.wait(5)
    assert recorder.flush_agent("agent-b", timeout=0)
    assert not recorder.flush_agent("agent-a", timeout=0.05)
    store.release.set()
    assert recorder.flush_agent("agent-a", timeout=5)


def test_recorder_for_returns_one_recorder_per_store_object():
    store, other = InMemoryStore(), InMemoryStore()
    assert recorder_for(store) is recorder_for(store)
    assert recorder_for(store) is not recorder_for(other)


def test_journal_key_is_stable_for_a_store_with_a_path(tmp_path):
    class PathStore:
        def __init__(self, path):
            self.path = path

    assert journal_key(PathStore(tmp_path / "a.db")) == journal_key(PathStore(tmp_path / "a.db"))
    assert journal_key(PathStore(tmp_path / "a.db")) != journal_key(PathStore(tmp_path / "b.db"))


def test_a_forked_child_gets_a_fresh_recorder_that_works(settings):
    store = HangingStore()
    recorder = Recorder(store, settings)
    recorder.submit(item())
    assert store.entered.wait(5)  # the parent's thread is stuck in a write
    recorder.submit(item())
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            store.release.set()  # the child's copy of the store is free
            mine = item("child")
            fresh = recorder.stats().queued == 0
            ok = recorder.submit(mine) and recorder.flush(timeout=5)
            code = 0 if fresh and ok and store.get_decision("child", mine.decision_id) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    store.release.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert recorder.flush(timeout=5)


def test_a_spill_does_not_push_back_a_replay_that_is_due(tmp_path):
    """A producer spilling on every call must not keep postponing the replay."""
    now = [100.0]
    settings = RecorderSettings(
        journal_path=tmp_path / "j.jsonl", replay_interval=1.0, clock=lambda: now[0]
    )
    recorder = Recorder(InMemoryStore(), settings)
    recorder._spill(recorder._build_ops([item()], settle_failures=False))
    due = recorder._next_replay_at
    assert due == 101.0
    now[0] = 105.0  # the replay is due; the recorder thread has not run it yet
    recorder._spill(recorder._build_ops([item()], settle_failures=False))
    assert recorder._next_replay_at == due
    assert recorder._replay_due()


def test_a_new_store_never_takes_over_a_dead_stores_journal():
    import gc

    from agentmem_langchain.testing import InMemoryStore

    keys_by_id: dict[int, str] = {}
    reused = None
    for _ in range(500):  # CPython hands the id of a freed object out again
        store = InMemoryStore()
        key = journal_key(store)
        assert key == journal_key(store)  # stable while the store lives
        if id(store) in keys_by_id:
            reused = (keys_by_id[id(store)], key)
            break
        keys_by_id[id(store)] = key
        del store
        gc.collect()
    assert reused is not None
    assert reused[0] != reused[1]
