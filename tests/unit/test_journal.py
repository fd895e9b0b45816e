"""The journal: bounded replays that never hold up appends, and nothing lost between them."""

from __future__ import annotations

import threading
import time

from agentmem_langchain.capture.journal import Journal


def _entries(start: int, count: int) -> list[dict[str, int]]:
    return [{"n": n} for n in range(start, start + count)]


def test_an_append_during_a_replay_neither_waits_for_it_nor_is_lost(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(_entries(0, 3))
    entered, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def slow_apply(entries):
        if not seen:
            entered.set()
            release.wait(10)  # a store that is slow to take the head
        seen.extend(e["n"] for e in entries)
        return len(entries)

    replayer = threading.Thread(target=journal.replay, args=(slow_apply,))
    replayer.start()
    assert entered.wait(10)
    started = time.monotonic()
    journal.append(_entries(3, 2))  # while the store is still busy with the head
    waited = time.monotonic() - started
    release.set()
    replayer.join(10)

    assert waited < 1.0
    assert seen == [0, 1, 2, 3, 4]  # the late entries were replayed too, in order
    assert not journal.has_data and not journal.path.exists()


def test_a_long_journal_is_replayed_a_bounded_head_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(Journal, "HEAD_ENTRIES", 100)
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(_entries(0, 1050))
    sizes: list[int] = []

    def apply(entries):
        sizes.append(len(entries))
        return len(entries)

    assert journal.replay(apply) == 1050
    assert max(sizes) == 100 and sum(sizes) == 1050


def test_a_head_is_also_bounded_in_bytes_but_holds_at_least_one_line(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "j.jsonl")
    wide = [{"kind": "decision", "n": n, "pad": "x" * 1000} for n in range(50)]
    journal.append(wide)
    monkeypatch.setattr(Journal, "HEAD_BYTES", 5_000)  # about four lines
    sizes: list[int] = []

    def apply(entries):
        sizes.append(len(entries))
        return len(entries)

    assert journal.replay(apply) == 50
    assert max(sizes) <= 5 and sum(sizes) == 50
    journal.append(wide[:3])
    monkeypatch.setattr(Journal, "HEAD_BYTES", 10)  # smaller than a line
    sizes.clear()
    assert journal.replay(apply) == 3
    assert sizes == [1, 1, 1]


def test_what_was_not_applied_stays_in_order_for_the_next_process(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.append(_entries(0, 10))
    assert journal.replay(lambda entries: 4) == 4  # the store took four, then failed
    assert journal.has_data

    after_restart = Journal(path)
    seen: list[int] = []
    after_restart.append(_entries(10, 1))
    after_restart.replay(lambda entries: seen.extend(e["n"] for e in entries) or len(entries))

    assert seen == list(range(4, 11))
    assert not after_restart.has_data
