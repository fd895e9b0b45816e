"""A store's identity, and what a caller pays when the store hangs or is down.

Servers are real and on loopback: a socket that accepts connections and never answers, a
port nobody listens on, and dynalite started later on that same port. ``StoreHealth`` (the
breaker) is also driven directly, with an injected ``sleep`` and ``clock``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from agentmem_langchain.errors import StateConflictError, StoreUnavailableError
from agentmem_langchain.models import AgentState
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.health import StoreHealth
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock
from tests.dynalite import DYNALITE, ROOT, DynaliteServer, DynaliteUnavailable
from tests.silent_server import SilentServer
from tests.waiting import wait_for

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "agent-a"
_counter = itertools.count()


def _prefix() -> str:
    return f"av{os.getpid()}x{next(_counter)}_"


def _session() -> Any:
    return boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )


def _store(port: int, **options: Any) -> DynamoDBStore:
    return DynamoDBStore(
        endpoint_url=f"http://127.0.0.1:{port}",
        table_prefix=_prefix(),
        boto3_session=_session(),
        clock=FakeClock(T0),
        **options,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there now


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


# dynalite as tests/dynalite.py runs it, but on a port chosen by the test.
_ON_PORT = """
const dynalite = require(process.argv[1]);
const server = dynalite({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0});
server.listen(Number(process.argv[2]), '127.0.0.1', () => {
  console.log(JSON.stringify({port: server.address().port}));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
"""


class DynaliteOnPort(DynaliteServer):
    def __init__(self, port: int) -> None:
        super().__init__()
        self._fixed_port = port

    def start(self) -> DynaliteOnPort:
        node = shutil.which("node")
        if node is None or not (DYNALITE / "index.js").exists():
            raise DynaliteUnavailable("dynalite needs node and `npm ci`")
        self._process = subprocess.Popen(
            [node, "-e", _ON_PORT, str(DYNALITE), str(self._fixed_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self.port = self._read_port()
        self._wait_until_answering()
        return self


# -- identity ---------------------------------------------------------------------------------


def test_dynamodb_stores_of_one_endpoint_and_prefix_share_a_journal_key() -> None:
    first = DynamoDBStore(endpoint_url="http://127.0.0.1:8000", table_prefix="p_")
    second = DynamoDBStore(endpoint_url="http://127.0.0.1:8000/", table_prefix="p_")

    assert first.journal_key == second.journal_key
    assert first.journal_key.startswith("dynamodb-")
    assert len(first.journal_key) == len("dynamodb-") + 12
    assert first.identity == "dynamodb+http://127.0.0.1:8000/p_"


def test_dynamodb_journal_key_differs_by_prefix_endpoint_and_region() -> None:
    keys = {
        DynamoDBStore(endpoint_url="http://127.0.0.1:8000", table_prefix="p_").journal_key,
        DynamoDBStore(endpoint_url="http://127.0.0.1:8000", table_prefix="q_").journal_key,
        DynamoDBStore(endpoint_url="http://127.0.0.1:8001", table_prefix="p_").journal_key,
        DynamoDBStore(region="us-east-1", table_prefix="p_").journal_key,
        DynamoDBStore(region="eu-west-1", table_prefix="p_").journal_key,
    }

    assert len(keys) == 5


def test_dynamodb_identity_names_the_region_and_prefix() -> None:
    store = DynamoDBStore(region="us-east-1")

    assert store.identity == "dynamodb://us-east-1/agentmem_"


def test_sqlite_journal_key_is_the_same_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with (
        SQLiteStore(tmp_path / "real" / "m.db") as direct,
        SQLiteStore(tmp_path / "link" / "m.db") as linked,
        SQLiteStore(tmp_path / "real" / "other.db") as other,
    ):
        assert direct.journal_key == linked.journal_key != other.journal_key
        assert direct.journal_key.startswith("sqlite-")
        assert linked.identity == f"sqlite://{(tmp_path / 'real' / 'm.db').resolve()}"


_KEY_IN_A_SUBPROCESS = """
import sys
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.sqlite import SQLiteStore
dynamodb = DynamoDBStore(endpoint_url="http://127.0.0.1:8000", table_prefix="p_")
sqlite = SQLiteStore(sys.argv[1])
print(dynamodb.journal_key, sqlite.journal_key)
sqlite.close()
"""


def test_journal_keys_are_the_same_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with SQLiteStore(path) as sqlite:
        here = (
            DynamoDBStore(endpoint_url="http://127.0.0.1:8000", table_prefix="p_").journal_key,
            sqlite.journal_key,
        )

    there = subprocess.run(
        [sys.executable, "-c", _KEY_IN_A_SUBPROCESS, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    ).stdout.split()

    assert tuple(there) == here


# -- DynamoDB: timeouts and the breaker -------------------------------------------------------


def _timeouts(store: DynamoDBStore) -> tuple[float, float]:
    config: Any = store.client_manager.client.meta.config
    return config.connect_timeout, config.read_timeout


def test_dynamodb_timeout_sets_the_connect_and_read_timeouts() -> None:
    endpoint = "http://127.0.0.1:8000"

    assert _timeouts(DynamoDBStore(endpoint_url=endpoint)) == (5.0, 5.0)
    assert _timeouts(DynamoDBStore(endpoint_url=endpoint, timeout=1.5)) == (1.5, 1.5)
    assert _timeouts(DynamoDBStore(endpoint_url=endpoint, timeout=1.5, read_timeout=7.0)) == (
        1.5,
        7.0,
    )


@pytest.mark.timeout(60)
def test_a_hung_server_costs_the_first_call_one_timeout_and_the_next_nothing(
    silent_server: SilentServer,
) -> None:
    store = _store(silent_server.port, timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="timeout"):
            store.load_state(AGENT)
        first = time.monotonic() - started

        started = time.monotonic()
        with pytest.raises(
            StoreUnavailableError, match=r"unavailable since .*background probe is retrying"
        ):
            store.load_state(AGENT)
        second = time.monotonic() - started

        assert 0.5 < first < 3.0  # one read timeout, no retry
        assert second < 0.2
        assert store.available is False
    finally:
        store.close()


@pytest.mark.timeout(60)
def test_a_server_that_comes_back_is_found_by_the_probe_and_calls_go_through() -> None:
    port = _closed_port()
    store = _store(port, timeout=1.0, probe_backoff=(0.05, 0.5))
    with pytest.raises(StoreUnavailableError, match="Could not connect"):
        store.load_state(AGENT)
    assert store.available is False

    server = DynaliteOnPort(port).start()
    try:
        assert wait_for(lambda: store.available, timeout=15)
        store.create_all_tables()
        saved = store.save_state(AgentState(agent_id=AGENT, updated_at=T0))
        loaded = store.load_state(AGENT)
        assert loaded is not None
        assert loaded.version == saved.version == 1
        assert store.available is True
    finally:
        store.close()
        server.stop()


def test_errors_the_server_answered_do_not_mark_the_store_down() -> None:
    from moto import mock_aws

    with mock_aws():
        store = DynamoDBStore(region="us-east-1", table_prefix=_prefix(), boto3_session=_session())
        with pytest.raises(StoreUnavailableError, match="create the tables"):
            store.load_state(AGENT)  # no tables yet: ResourceNotFoundException
        assert store.available is True

        store.create_all_tables()
        first = store.save_state(AgentState(agent_id=AGENT, updated_at=T0))
        store.save_state(first)
        with pytest.raises(StateConflictError):
            store.save_state(first)
        assert store.available is True
        store.close()


def test_closing_a_store_that_is_down_stops_its_probe() -> None:
    store = _store(_closed_port(), timeout=1.0, probe_backoff=(0.05, 0.1))
    with pytest.raises(StoreUnavailableError):
        store.load_state(AGENT)
    health = store.client_manager.health
    assert health.probing

    store.close()

    assert wait_for(lambda: not health.probing, timeout=5)
    assert store.available is False  # closed


# -- StoreHealth ------------------------------------------------------------------------------


class Probe:
    """Answers False ``failures`` times, then True; records the calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls > self.failures


def test_the_probe_backs_off_exponentially_up_to_the_cap_until_the_store_answers() -> None:
    slept: list[float] = []
    probe = Probe(failures=7)
    health = StoreHealth("test://store", probe, sleep=slept.append)

    health.mark_down(TimeoutError("read timeout"))

    assert wait_for(lambda: health.available, timeout=5)
    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert probe.calls == 8
    health.check("put_decision")  # goes through again


def test_a_probe_that_raises_counts_as_not_yet() -> None:
    calls: list[int] = []

    def probe() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("connection refused")
        return True

    health = StoreHealth("test://store", probe, sleep=lambda _: None)
    health.mark_down(ConnectionRefusedError())

    assert wait_for(lambda: health.available, timeout=5)
    assert len(calls) == 3


def test_unavailable_says_since_when_and_that_a_probe_is_retrying() -> None:
    now = [100.0]
    gate = threading.Event()
    health = StoreHealth(
        "test://store", lambda: False, clock=lambda: now[0], sleep=lambda _: gate.wait()
    )
    health.mark_down(TimeoutError("read timeout"))
    now[0] = 103.5

    with pytest.raises(StoreUnavailableError) as raised:
        health.check("put_decision")

    message = str(raised.value)
    assert message.startswith("put_decision: store test://store unavailable since 20")
    assert "3.5 s ago: TimeoutError: read timeout" in message
    assert "a background probe is retrying" in message
    health.close()
    gate.set()


def test_many_threads_marking_the_store_down_start_one_probe() -> None:
    gate = threading.Event()
    probes: list[int] = []

    def probe() -> bool:
        probes.append(1)
        return True

    health = StoreHealth("test://many", probe, sleep=lambda _: gate.wait())
    threads = [threading.Thread(target=health.mark_down, args=(TimeoutError(),)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    running = [t for t in threading.enumerate() if t.name == "agentmem-probe test://many"]
    assert len(running) == 1
    gate.set()
    assert wait_for(lambda: health.available, timeout=5)
    assert probes == [1]


def test_closing_stops_the_probe() -> None:
    health = StoreHealth("test://closing", lambda: False, backoff_initial=0.01, backoff_max=0.02)
    health.mark_down(TimeoutError())
    assert health.probing

    health.close()

    assert wait_for(lambda: not health.probing, timeout=5)
    assert health.available is False  # never answered; calls still fail at once


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_available_with_no_probe() -> None:
    gate = threading.Event()
    health = StoreHealth("test://fork", lambda: False, sleep=lambda _: gate.wait())
    health.mark_down(TimeoutError())
    assert not health.available

    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        ok = health.available and not health.probing
        health.check("load_state")
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert not health.available  # the parent's outage is untouched
    health.close()
    gate.set()


# -- SQLite -----------------------------------------------------------------------------------


def test_sqlite_writers_wait_five_seconds_for_the_lock_by_default(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "m.db") as store:
        conn = store._connections.get()
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_sqlite_is_available_until_closed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "m.db")
    assert store.available is True

    store.close()

    assert store.available is False


def test_sqlite_under_a_regular_file_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")

    with pytest.raises(StoreUnavailableError, match="open"):
        SQLiteStore(tmp_path / "not-a-dir" / "m.db")


def test_sqlite_on_a_directory_raises_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="unable to open"):
        SQLiteStore(tmp_path)
