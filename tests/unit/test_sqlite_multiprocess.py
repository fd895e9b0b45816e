"""Several processes writing one SQLite file at the same time lose nothing."""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.stores.sqlite import SQLiteStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
PER_PROCESS = 5000
BATCH = 100
SINGLE_EVERY = 10  # of each batch's slot of BATCH records, this many go one put at a time


def write_decisions(path: str, agent_id: str, barrier: Barrier, results: Any) -> None:
    """In a fresh process: open the file, wait for the other writer, write PER_PROCESS
    decisions (batches and single puts), report when writing started and ended."""
    records = [
        DecisionRecord(
            agent_id=agent_id,
            decision_type="tool_call",
            timestamp=T0 - timedelta(milliseconds=i),
        )
        for i in range(PER_PROCESS)
    ]
    store = SQLiteStore(path)
    barrier.wait(timeout=60)
    started = time.time()
    for i in range(0, PER_PROCESS, BATCH):
        store.put_decisions(records[i + SINGLE_EVERY : i + BATCH])
        for record in records[i : i + SINGLE_EVERY]:
            store.put_decision(record)
    results.put((agent_id, started, time.time()))
    store.close()


@pytest.mark.slow
def test_two_processes_writing_one_file_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # created by whichever child opens it first
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    writers = [
        spawn.Process(target=write_decisions, args=(str(path), agent, barrier, results))
        for agent in ("agent-1", "agent-2")
    ]
    for writer in writers:
        writer.start()
    spans = sorted(results.get(timeout=120) for _ in writers)
    for writer in writers:
        writer.join(timeout=60)

    assert [writer.exitcode for writer in writers] == [0, 0]
    (_, start_1, end_1), (_, start_2, end_2) = spans
    assert start_1 < end_2 and start_2 < end_1  # the two really wrote at the same time
    with SQLiteStore(path) as store:
        for agent in ("agent-1", "agent-2"):
            ids: list[str] = []
            cursor = None
            while True:
                page = store.query_decisions(agent, limit=1000, cursor=cursor)
                ids += [record.decision_id for record in page.items]
                if (cursor := page.next_cursor) is None:
                    break
            assert len(set(ids)) == len(ids) == PER_PROCESS
