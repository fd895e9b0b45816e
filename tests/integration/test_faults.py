"""Faults under the recorder: the store's server dies mid-run, the journal cannot be written.

1. dynalite (on a LevelDB directory, so its data outlives the process) is SIGKILLed while a
   thread keeps calling a ``@decision`` function, then restarted on the same port with the
   same directory. After ``flush`` every captured decision id is in the store exactly once,
   the recorder's counters show it spilled and replayed (the outage really happened), and no
   call of the user's function raised or took long.
2. The store is down and the journal cannot take the spill (its directory sits under a
   regular file, or every write to it fails with ENOSPC): the function still returns
   normally, the loss is counted in ``stats().dropped`` and logged with the journal's path
   and the reason, and once the store is back later decisions are written again.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.capture import RecorderSettings, current_decision, journal, recorder_for
from agentmem_langchain.capture import decision as capture
from agentmem_langchain.decorators import decision
from agentmem_langchain.errors import StoreUnavailableError
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.testing import InMemoryStore
from tests.dynalite import DYNALITE, ROOT, DynaliteServer, DynaliteUnavailable
from tests.waiting import wait_for

AGENT = "fault-agent"
CALLS = 3_000
KILL_AT = 1_000  # calls made before the server is killed
RESTART_AT = 2_000  # calls made before it is started again
MAX_CALL_S = 0.5  # a generous bound: capture must never wait for the store

# Like tests/dynalite.py's script, but on a port we choose (so a restart can reuse it) and
# on a LevelDB directory (so the data survives the process).
_SCRIPT = """
const dynalite = require(process.argv[1]);
const server = dynalite({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0,
                         path: process.argv[3]});
server.listen(Number(process.argv[2]), '127.0.0.1', () => {
  console.log(JSON.stringify({port: server.address().port}));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
"""


class PersistentDynalite(DynaliteServer):
    """dynalite on a fixed ``port`` and a LevelDB ``path``; ``kill()`` sends SIGKILL."""

    def __init__(self, port: int, path: Path) -> None:
        super().__init__()
        self._fixed_port, self._path = port, path

    def start(self) -> PersistentDynalite:
        node = shutil.which("node")
        if node is None or not (DYNALITE / "index.js").exists():
            raise DynaliteUnavailable("dynalite needs node and `npm ci`")
        self._process = subprocess.Popen(
            [node, "-e", _SCRIPT, str(DYNALITE), str(self._fixed_port), str(self._path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self.port = self._read_port()
        self._wait_until_answering()
        return self

    def kill(self) -> None:
        process, self._process = self._process, None
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_on(port: int, path: Path) -> PersistentDynalite:
    """Start dynalite on ``port``; retry briefly in case the port is not yet released."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return PersistentDynalite(port, path).start()
        except DynaliteUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def dynamodb_store(endpoint: str, prefix: str) -> Any:
    import boto3

    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return DynamoDBStore(
        endpoint_url=endpoint,
        table_prefix=prefix,
        boto3_session=session,
        max_attempts=2,
        connect_timeout=0.5,
        read_timeout=2.0,
        batch_attempts=2,
    )


def all_ids(store: Any, agent: str) -> Counter[str]:
    found: Counter[str] = Counter()
    cursor = None
    while True:
        page = store.query_decisions(agent, limit=500, cursor=cursor)
        found.update(r.decision_id for r in page.items)
        cursor = page.next_cursor
        if not cursor:
            return found


@pytest.fixture(autouse=True)
def fresh_problem_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems are logged once a minute per kind, process-wide: start each test unlogged."""
    monkeypatch.setattr(capture.problems, "_last", {})
    monkeypatch.setattr(capture.problems, "_suppressed", {})


# -- 1. the server dies mid-run and comes back -------------------------------------------


@pytest.mark.timeout(120)
def test_dynalite_killed_mid_run_and_restarted_loses_and_duplicates_nothing(tmp_path):
    port, data = free_port(), tmp_path / "leveldb"
    try:
        server = start_on(port, data)
    except DynaliteUnavailable as exc:
        pytest.skip(str(exc))
    store = None
    recorder = None
    try:
        store = dynamodb_store(server.endpoint_url, f"faults{uuid.uuid4().hex[:8]}_")
        store.create_all_tables()
        settings = RecorderSettings(
            journal_path=tmp_path / "journal.jsonl",
            max_retries=2,
            backoff_initial=0.02,
            backoff_max=0.1,
            replay_interval=0.1,
            replay_interval_max=0.5,
            write_timeout=5.0,
            batch_size=100,
        )
        recorder = recorder_for(store, settings)
        memory = MemoryManager(AGENT, store)

        @decision("tool_call", memory=memory)
        def decide(n: int) -> dict[str, int]:
            captured = current_decision()
            assert captured is not None
            ids.append(captured.decision_id)
            time.sleep(0.001)  # spread the calls over the outage
            return {"n": n}

        ids: list[str] = []
        durations: list[float] = []
        errors: list[BaseException] = []
        results: list[Any] = []

        def capture_loop() -> None:
            for n in range(CALLS):
                started = time.perf_counter()
                try:
                    results.append(decide(n))
                except BaseException as exc:  # the user's function must never see our faults
                    errors.append(exc)
                durations.append(time.perf_counter() - started)

        worker = threading.Thread(target=capture_loop, daemon=True)
        started = time.monotonic()
        worker.start()

        assert wait_for(lambda: len(durations) >= KILL_AT, 60)
        server.kill()
        killed_at = len(durations)
        # Keep capturing while the store is gone; the recorder must notice and spill.
        assert wait_for(lambda: len(durations) >= RESTART_AT, 60)
        assert wait_for(lambda: recorder.stats().spilled > 0, 30), recorder.stats()
        server = start_on(port, data)
        restarted_at = len(durations)
        worker.join(60)
        assert not worker.is_alive()
        assert recorder.flush(timeout=45), recorder.stats()
        elapsed = time.monotonic() - started

        assert not errors
        assert results == [{"n": n} for n in range(CALLS)]
        assert len(ids) == len(set(ids)) == CALLS
        stored = all_ids(store, AGENT)
        assert set(stored) == set(ids), (len(set(ids) - set(stored)), len(stored))
        assert all(count == 1 for count in stored.values())

        stats = recorder.stats()
        assert stats.spilled > 0 and stats.replayed > 0, stats
        assert (stats.accepted, stats.written, stats.dropped, stats.outstanding) == (
            CALLS,
            CALLS,
            0,
            0,
        ), stats
        assert not settings.journal_path.exists()
        slowest = max(durations)
        assert slowest < MAX_CALL_S, slowest
        print(
            f"killed after {killed_at} calls, restarted after {restarted_at}; "
            f"{elapsed:.1f}s in all; slowest calls (ms, call): "
            f"{sorted(((round(d * 1000, 1), i) for i, d in enumerate(durations)))[-5:]}; {stats}"
        )
    finally:
        if recorder is not None:
            recorder.close(timeout=1)
        if store is not None:
            store.close()
        server.stop()


# -- 2. the journal cannot be written ------------------------------------------------------


class DownStore(InMemoryStore):
    """Every write raises ``StoreUnavailableError`` while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def put_decisions(self, records):
        if self.down:
            raise StoreUnavailableError("store is down")
        super().put_decisions(records)

    def put_decision(self, record):
        if self.down:
            raise StoreUnavailableError("store is down")
        return super().put_decision(record)

    def set_outcome(self, agent_id, decision_id, outcome):
        if self.down:
            raise StoreUnavailableError("store is down")
        return super().set_outcome(agent_id, decision_id, outcome)


class _FullDiskFile:
    """A journal file opened for appending on a full disk: a write stores part of its data
    (what fitted), and the next one fails with ENOSPC."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._wrote = False

    def __enter__(self) -> _FullDiskFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def write(self, data: Any) -> int:
        if not self._wrote:
            self._wrote = True
            return int(self._handle.write(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self._handle.name))


@pytest.mark.parametrize("fault", ["not_a_directory", "disk_full"])
def test_an_unwritable_journal_drops_counts_and_logs_and_capture_goes_on(
    tmp_path, monkeypatch, caplog, fault
):
    disk_full = [fault == "disk_full"]
    if fault == "not_a_directory":
        blocker = tmp_path / "afile"
        blocker.write_text("a regular file, not a directory")
        journal_path = blocker / "journal" / "j.jsonl"
        reason = "NotADirectoryError"
    else:
        journal_path = tmp_path / "journal" / "j.jsonl"
        reason = "No space left on device"
        real_open = journal._private_open

        def full_disk_open(path: Path) -> Any:
            handle = real_open(path)
            if disk_full[0] and Path(path) == journal_path:
                return _FullDiskFile(handle)
            return handle

        monkeypatch.setattr(journal, "_private_open", full_disk_open)

    store = DownStore()
    settings = RecorderSettings(
        journal_path=journal_path,
        max_retries=1,
        backoff_initial=0.0,
        replay_interval=0.05,
        replay_interval_max=0.1,
        sleep=lambda s: None,
    )
    recorder = recorder_for(store, settings)
    memory = MemoryManager(AGENT, store)
    ids: list[str] = []

    @decision("tool_call", memory=memory)
    def decide(n: int) -> int:
        captured = current_decision()
        assert captured is not None
        ids.append(captured.decision_id)
        return n * 2

    try:
        # Store down, journal unwritable: the calls return normally, the records are lost,
        # counted and logged (with the journal's path and the reason).
        with caplog.at_level(logging.WARNING, logger="agentmem_langchain"):
            assert [decide(n) for n in range(50)] == [n * 2 for n in range(50)]
            assert wait_for(lambda: recorder.stats().dropped == 50, 10), recorder.stats()
        stats = recorder.stats()
        assert (stats.accepted, stats.written, stats.spilled, stats.outstanding) == (50, 0, 0, 0)
        messages = [r.getMessage() for r in caplog.records]
        journal_lines = [m for m in messages if "could not write the journal" in m]
        assert journal_lines, messages
        assert str(journal_path) in journal_lines[0] and reason in journal_lines[0]

        # The journal is writable again, the store still down: new records wait there.
        if fault == "not_a_directory":
            blocker.unlink()
        disk_full[0] = False
        assert [decide(n) for n in range(20)] == [n * 2 for n in range(20)]
        assert wait_for(lambda: recorder.stats().spilled == 20, 10), recorder.stats()

        # The store is back: the journal is replayed and new records are written directly.
        store.down = False
        assert [decide(n) for n in range(20)] == [n * 2 for n in range(20)]
        assert recorder.flush(timeout=10), recorder.stats()
        assert {i for i in ids if store.get_decision(AGENT, i) is not None} == set(ids[50:])
        stats = recorder.stats()
        assert (stats.accepted, stats.written, stats.dropped, stats.replayed) == (90, 40, 50, 20)
        assert stats.outstanding == 0
    finally:
        recorder.close(timeout=1)


def test_an_append_after_a_line_torn_by_a_crash_starts_a_line_of_its_own(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"kind":"decision","n":1}\n{"kind":"decis')  # the process died mid-write
    bad: list[str] = []
    log = journal.Journal(path, on_bad_line=bad.append)
    log.append([{"kind": "decision", "n": 2}])
    seen: list[Any] = []

    def apply(entries: list[Any]) -> int:
        seen.extend(entries)
        return len(entries)

    assert log.replay(apply) == 2
    assert [e["n"] for e in seen] == [1, 2]
    assert bad == ['{"kind":"decis']
