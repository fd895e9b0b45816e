"""What the recorder promises when values, files and stores misbehave: a bad record costs only
itself, a torn journal tail never blocks a flush, memory is bounded in bytes, files are
private, and what one process journaled is replayed by the next."""

from __future__ import annotations

import json
import stat
import threading
from collections import Counter
from pathlib import Path

import pytest

from agentmem_langchain.capture import CapturedDecision, Recorder, RecorderSettings
from agentmem_langchain.capture import decision as capture
from agentmem_langchain.capture.journal import Journal
from agentmem_langchain.errors import StoreUnavailableError
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore
from tests.waiting import wait_for

POISON = "poison-value"


@pytest.fixture(autouse=True)
def fresh_problem_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture.problems, "_last", {})
    monkeypatch.setattr(capture.problems, "_suppressed", {})


class PickyStore(InMemoryStore):
    """Refuses (ValueError, as a store refuses a value) any batch holding the poison."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: Counter[str] = Counter()

    def put_decisions(self, records):
        if any(r.metadata.get("tag") == POISON for r in records):
            raise ValueError("the store cannot encode this value")
        super().put_decisions(records)
        self.puts.update(r.decision_id for r in records)


class BlockedStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def put_decisions(self, records):
        self.release.wait()
        super().put_decisions(records)


def settings_in(tmp_path: Path, **overrides) -> RecorderSettings:
    return RecorderSettings(journal_path=tmp_path / "j" / "journal.jsonl", **overrides)


def captured(tag: str = "ok", **fields) -> CapturedDecision:
    return CapturedDecision(
        agent_id="agent-1", decision_type="tool_call", metadata={"tag": tag}, **fields
    )


def test_a_refused_record_costs_only_itself_and_is_set_aside(tmp_path):
    store = PickyStore()
    recorder = Recorder(store, settings_in(tmp_path, batch_size=50))
    items = [captured(POISON if n == 137 else "ok") for n in range(400)]
    for item in items:
        recorder.submit(item)

    assert recorder.flush(timeout=10) is False  # something was refused: flush says so
    stats = recorder.stats()
    assert stats.written == 399
    assert stats.dead_lettered == 1
    assert stats.outstanding == 0
    assert "ValueError" in stats.dead_letter_reasons[0][0]
    assert set(store.puts) == {i.decision_id for i in items} - {items[137].decision_id}
    lines = recorder.dead_letter_path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["entry"]["record"]["decision_id"] == items[137].decision_id
    assert recorder.flush(timeout=5) is True  # reported once; nothing new since


def test_a_record_with_a_lone_surrogate_is_set_aside_by_a_real_sqlite_store(tmp_path):
    store = SQLiteStore(tmp_path / "memory.db")
    recorder = Recorder(store, settings_in(tmp_path))
    good = [DecisionRecord(agent_id="agent-1", decision_type="t") for _ in range(20)]
    bad = DecisionRecord(agent_id="agent-1", decision_type="t", metadata={"x": "\ud800"})
    for record in [*good[:10], bad, *good[10:]]:
        recorder.submit(record)
    assert recorder.flush(timeout=10) is False
    assert recorder.stats().dead_lettered == 1
    assert all(store.get_decision("agent-1", r.decision_id) for r in good)
    # The dead letter keeps the text, escaped: nothing is lost, even unencodable text.
    assert "\\ud800" in recorder.dead_letter_path.read_text()


def test_an_entry_the_journal_cannot_encode_is_set_aside_and_the_rest_journaled(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    refused = journal.append([{"kind": "decision", "n": 1}, {"bad": "\ud800"}, {"n": 3}])
    assert [reason[:20] for _, reason in refused] == ["not JSON-encodable: "]
    assert len(journal.path.read_text().splitlines()) == 2


def test_a_torn_journal_tail_is_skipped_reported_once_and_never_blocks_a_flush(tmp_path, caplog):
    path = tmp_path / "j" / "journal.jsonl"
    path.parent.mkdir()
    record = DecisionRecord(agent_id="agent-1", decision_type="t")
    line = json.dumps({"kind": "decision", "record": record.model_dump(mode="json")})
    path.write_text(line + "\n" + '{"kind": "decision", "rec')  # cut by a crash
    store = InMemoryStore()
    recorder = Recorder(store, RecorderSettings(journal_path=path))
    with caplog.at_level("WARNING", logger="agentmem_langchain"):
        assert recorder.flush(timeout=5) is True
    assert store.get_decision("agent-1", record.decision_id) is not None
    torn = [r for r in caplog.records if "unreadable journal line" in r.getMessage()]
    assert len(torn) == 1
    assert not path.exists()


def test_the_queue_is_bounded_in_bytes_and_the_rest_goes_to_the_journal(tmp_path):
    store = BlockedStore()
    budget = 256 * 1024
    recorder = Recorder(store, settings_in(tmp_path, max_queue_bytes=budget, batch_size=10))
    for _ in range(200):
        item = captured()
        item.size = 8 * 1024  # what a snapshot of 8 KiB of values reports
        recorder.submit(item)
    stats = recorder.stats()
    assert stats.queued_bytes <= budget * 5 // 4
    assert wait_for(lambda: recorder.stats().spilled > 0, 5)
    store.release.set()
    assert recorder.flush(timeout=20)
    assert len(store.query_decisions("agent-1", limit=500).items) == 200


def test_journal_and_dead_letter_files_are_private_to_their_owner(tmp_path):
    store = PickyStore()
    recorder = Recorder(store, settings_in(tmp_path))
    recorder._spill(recorder._build_ops([captured()], settle_failures=False))
    recorder.submit(captured(POISON))
    recorder.flush(timeout=5)
    assert wait_for(lambda: recorder.stats().dead_lettered == 1)
    folder = recorder.journal_path.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in [recorder.dead_letter_path, *folder.glob("*.lock")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_replay_now_reports_progress_and_what_is_left(tmp_path):
    down = InMemoryStore()
    first = Recorder(down, settings_in(tmp_path))
    first._spill(first._build_ops([captured() for _ in range(30)], settle_failures=False))
    store = InMemoryStore()
    second = Recorder(store, settings_in(tmp_path, batch_size=10))
    assert second.pending_replay() == 30
    seen: list[int] = []
    assert second.replay_now(seen.append) == 30
    assert seen == [10, 20, 30]
    assert second.pending_replay() == 0
    assert len(store.query_decisions("agent-1", limit=100).items) == 30


def test_a_store_that_stays_down_makes_replay_now_stop_and_keep_everything(tmp_path):
    class Down(InMemoryStore):
        def put_decisions(self, records):
            raise StoreUnavailableError("down")

    first = Recorder(InMemoryStore(), settings_in(tmp_path))
    first._spill(first._build_ops([captured() for _ in range(5)], settle_failures=False))
    second = Recorder(Down(), settings_in(tmp_path, max_retries=0))
    assert second.replay_now() == 0
    assert second.pending_replay() == 5


def test_a_backlog_journaled_as_rows_replays_to_the_records_it_would_have_made(tmp_path):
    import copy

    from agentmem_langchain.capture import CapturedDecision as Captured

    items = []
    for n in range(450):
        item = Captured(
            agent_id="agent-1" if n < 300 else "agent-2",
            decision_type="tool_call",
            inputs={"n": n, "q": "ü" * (n % 3)},
            reasoning={"confidence": 0.5, "scores": {"a": 1.0}},
            metadata={"function": "f"},
            ttl=None if n % 2 else Captured.__dataclass_fields__["ttl"].default,
        )
        if n % 7:
            item.finish({"selected": ["a"]})
        else:
            try:
                raise KeyError(f"missing {n}")
            except KeyError as exc:
                item.finish(error=exc)
        item.frozen = True
        items.append(item)
    expected = {i.decision_id: copy.copy(i).to_record() for i in items}

    down = Recorder(InMemoryStore(), settings_in(tmp_path))
    down._spill_items(items)
    lines = [json.loads(x) for x in down.journal_path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["captured-rows"] * 3  # 200 + 100, then 150
    store = InMemoryStore()
    assert Recorder(store, settings_in(tmp_path)).replay_now() == 3
    for decision_id, record in expected.items():
        stored = store.get_decision(record.agent_id, decision_id)
        assert stored is not None
        want, got = record.model_dump(), stored.model_dump()
        for dump in (want, got):
            dump["outcome"].pop("recorded_at")
        assert got == want
