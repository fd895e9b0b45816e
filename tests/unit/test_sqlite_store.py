"""What only the SQLite backend promises: its file, schema, indexes, locking and statistics.

Everything every backend promises is in ``tests/contract``; these tests look inside the file.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.errors import (
    ConfigurationError,
    StateConflictError,
    StoreUnavailableError,
)
from agentmem_langchain.models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
)
from agentmem_langchain.stores import sqlite as sqlite_module
from agentmem_langchain.stores._common import epoch_seconds, stats_from_rows, to_micros
from agentmem_langchain.stores.base import encode_record
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.stores.sqlite import schema as sqlite_schema

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock that reads ``now``; tests set it instead of sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    with SQLiteStore(db_path, clock=clock) as opened:
        yield opened


def decision(agent_id: str = "agent-a", seconds: float = -60, **fields: Any) -> DecisionRecord:
    return DecisionRecord(
        agent_id=agent_id,
        decision_type="tool_call",
        timestamp=T0 + timedelta(seconds=seconds),
        **fields,
    )


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to look at the file (autocommit), closed afterwards."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def count(path: Path, sql: str) -> int:
    with raw(path) as conn:
        return int(conn.execute(sql).fetchone()[0])


# -- the file -------------------------------------------------------------------------------


def test_file_is_in_wal_mode_with_normal_sync_and_the_busy_timeout(db_path: Path) -> None:
    store = SQLiteStore(db_path, timeout=2.5)
    found: dict[str, object] = {}

    def read_pragmas() -> None:  # another thread: its own connection, configured the same
        conn = store._connections.get()
        for name in ("journal_mode", "synchronous", "busy_timeout"):
            found[name] = conn.execute(f"PRAGMA {name}").fetchone()[0]

    worker = threading.Thread(target=read_pragmas)
    worker.start()
    worker.join()
    store.close()

    assert found == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 2500}


def test_path_defaults_to_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "from-env" / "nested" / "agent.db"
    monkeypatch.setenv("AGENTMEM_SQLITE_PATH", str(target))

    with SQLiteStore() as store:
        store.put_decision(decision())

    assert count(target, "SELECT COUNT(*) FROM decisions") == 1


def test_path_defaults_to_dot_agentmem_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTMEM_SQLITE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)

    SQLiteStore().close()

    assert (tmp_path / ".agentmem" / "memory.db").is_file()


@pytest.mark.parametrize("path", [":memory:", "file:memdb?mode=memory"])
def test_in_memory_databases_are_refused(path: str) -> None:
    with pytest.raises(ConfigurationError, match="not supported"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_raises_store_unavailable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)

    with pytest.raises(StoreUnavailableError, match="open failed") as caught:
        SQLiteStore(junk)

    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_write_waits_timeout_seconds_for_the_lock_then_raises(db_path: Path) -> None:
    store = SQLiteStore(db_path, timeout=0.2)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailableError, match="locked"):
            store.put_decision(decision())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    waited = time.monotonic() - started

    assert 0.15 <= waited < 5
    store.put_decision(decision())  # the store still works once the lock is free
    store.close()


def test_opening_a_new_file_waits_while_another_writer_holds_it(db_path: Path) -> None:
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE theirs (x)")  # a file not yet in WAL mode
    holder.execute("BEGIN IMMEDIATE")  # a write lock: no switch to WAL until it ends
    holder.execute("INSERT INTO theirs VALUES (1)")
    release = threading.Timer(0.2, holder.execute, args=("COMMIT",))
    release.start()
    started = time.monotonic()

    with SQLiteStore(db_path, timeout=10) as store:
        store.put_decision(decision())

    release.join()
    holder.close()
    assert time.monotonic() - started >= 0.15
    assert count(db_path, "SELECT COUNT(*) FROM decisions") == 1


def test_close_is_idempotent_and_later_calls_raise_store_unavailable(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    with store:
        store.put_decision(decision())
    store.close()

    with pytest.raises(StoreUnavailableError, match="closed"):
        store.get_decision("agent-a", "01HZX0000000000000000000AA")


def test_connections_of_finished_threads_are_closed(store: SQLiteStore) -> None:
    def read() -> None:
        store.load_state("agent-a")

    for _ in range(5):
        worker = threading.Thread(target=read)
        worker.start()
        worker.join()
    read()  # the next connection opened prunes the ended threads' ones

    assert len(store._connections._owned) <= 2


@pytest.mark.skipif(sys.platform != "linux", reason="fork is a Linux default")
def test_a_forked_child_uses_connections_of_its_own(store: SQLiteStore, db_path: Path) -> None:
    store.put_decision(decision(seconds=-1))
    parents = store._connections.get()

    def in_child() -> None:
        if store._connections.get() is parents:
            sys.exit(3)  # SQLite forbids using a connection across fork
        store.put_decision(decision(seconds=-2))

    child = multiprocessing.get_context("fork").Process(target=in_child)
    child.start()
    child.join(timeout=60)

    assert child.exitcode == 0
    assert len(store.query_decisions("agent-a").items) == 2


# -- schema versions ------------------------------------------------------------------------


def user_version(path: Path) -> int:
    return count(path, "PRAGMA user_version")


def test_a_new_file_gets_the_current_schema_version(store: SQLiteStore, db_path: Path) -> None:
    assert user_version(db_path) == len(sqlite_module._MIGRATIONS) >= 1


def test_missing_migrations_are_applied_in_order_on_open(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = decision()
    with SQLiteStore(db_path) as store:
        store.put_decision(kept)
    known = len(sqlite_module._MIGRATIONS)
    later = (
        "CREATE TABLE notes (text TEXT NOT NULL);\nCREATE INDEX notes_by_text ON notes (text);",
        "INSERT INTO notes SELECT 'after ' || COUNT(*) FROM decisions",  # needs the first
    )
    monkeypatch.setattr(sqlite_schema, "_MIGRATIONS", (*sqlite_schema._MIGRATIONS, *later))

    with SQLiteStore(db_path) as store:
        assert store.get_decision(kept.agent_id, kept.decision_id) == kept
    SQLiteStore(db_path).close()  # opening an up-to-date file applies nothing again

    assert user_version(db_path) == known + 2
    assert count(db_path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'notes_by_text'") == 1
    with raw(db_path) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("after 1",)]


def test_a_file_from_a_newer_version_is_refused(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    newer = len(sqlite_module._MIGRATIONS) + 1
    with raw(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")

    with pytest.raises(StoreUnavailableError, match=f"schema version {newer}.*upgrade"):
        SQLiteStore(db_path)


def test_a_version_1_file_gets_the_agent_registry_and_keeps_its_decisions(db_path: Path) -> None:
    kept = [decision(), decision("agent-b", seconds=-30, outcome=DecisionOutcome(success=True))]
    with raw(db_path) as conn:
        conn.executescript(sqlite_module._SCHEMA_V1)
        conn.executemany(
            sqlite_module._UPSERT_DECISION,
            [sqlite_module._decision_row(encode_record(r)) for r in kept],
        )
        conn.execute("PRAGMA user_version = 1")
    assert count(db_path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'agents'") == 0

    with SQLiteStore(db_path) as store:
        assert [store.get_decision(r.agent_id, r.decision_id) for r in kept] == kept
        registration = AgentRegistration(
            agent_id="agent-a", capabilities=["pricing"], registered_at=T0, last_heartbeat=T0
        )
        store.register_agent(registration)
        assert store.list_agents(capability="pricing") == [registration]

    assert user_version(db_path) == len(sqlite_module._MIGRATIONS) == 4
    with SQLiteStore(db_path) as store:  # the upgraded file opens as it is
        assert store.get_agent("agent-a") == registration
        assert store.query_decisions("agent-b").items == [kept[1]]
    with raw(db_path) as conn:
        assert conn.execute("SELECT agent_id, last_heartbeat FROM agents").fetchall() == [
            ("agent-a", to_micros(T0))
        ]


# -- query plans ----------------------------------------------------------------------------


def exercise_every_query(store: SQLiteStore, clock: FakeClock) -> None:
    root = decision(outcome=DecisionOutcome(success=True, latency_ms=3), ttl=epoch_seconds(T0) + 60)
    child = decision(seconds=-30, parent_decision_id=root.decision_id, trace_id=root.trace_id)
    store.put_decisions([root, child])
    store.get_decision("agent-a", root.decision_id)
    store.set_outcome("agent-a", child.decision_id, DecisionOutcome(success=False))
    page = store.query_decisions("agent-a", start=T0 - timedelta(days=1), end=T0, limit=1)
    store.query_decisions("agent-a", decision_type="tool_call", cursor=page.next_cursor)
    store.query_decisions("agent-a", success=True)
    store.list_unconsolidated("agent-a", before=T0, limit=1)
    store.mark_consolidated("agent-a", [root.decision_id])
    store.get_children("agent-a", root.decision_id)
    store.get_trace("agent-a", root.decision_id)
    store.decision_stats("agent-a", start=T0 - timedelta(days=1), end=T0)
    store.decision_stats("agent-a", start=T0 - timedelta(seconds=31), end=T0)
    pattern = MemoryPattern(agent_id="agent-a", shared_with=["agent-b"])
    store.put_pattern(pattern, expected_version=None)
    store.get_pattern("agent-a", pattern.pattern_id)
    store.list_patterns("agent-a", limit=1, cursor=None)
    store.list_shared_patterns("agent-b")
    store.get_pattern_history("agent-a", pattern.pattern_id)
    store.save_state(AgentState(agent_id="agent-a"))
    store.load_state("agent-a")
    store.create_checkpoint("agent-a", name="first")
    store.list_checkpoints("agent-a")
    store.rollback("agent-a")
    store.rollback("agent-a", to="first")
    direct = AgentSignal(source_agent_id="agent-a", signal_type="x", target_agent_ids=["agent-b"])
    store.publish_signal(direct)
    store.publish_signal(AgentSignal(source_agent_id="agent-a", signal_type="x", broadcast=True))
    store.pending_signals("agent-b")
    store.claim_signals("agent-b")
    store.release_signal("agent-b", direct.signal_id)
    store.mark_signal_processed("agent-b", direct.signal_id)
    clock.now = T0 + timedelta(days=1)
    store.purge_expired()


# A distinctive piece of each main query, and the index that must serve it.
MAIN_QUERIES = {
    "SELECT body FROM decisions WHERE agent_id = 'agent-a' AND decision_id =": (
        "sqlite_autoindex_decisions_1"
    ),
    "FROM decisions WHERE agent_id = 'agent-a' AND ts >=": "decisions_by_time",
    "FROM decisions WHERE agent_id = 'agent-a' AND decision_type =": "decisions_by_type",
    "FROM decisions WHERE agent_id = 'agent-a' AND success =": "decisions_by_time",
    "AND is_stm = 1 AND consolidated = 0": "decisions_unconsolidated",
    "AND parent_decision_id =": "decisions_by_parent",
    "AND trace_id =": "decisions_by_trace",
    "SELECT COUNT(*), COALESCE(SUM(success), 0)": "decisions_by_time",
    "WITH RECURSIVE types": "decisions_by_type",
    "ORDER BY latency_ms": "decisions_by_",
    "FROM patterns WHERE agent_id = 'agent-a' AND confidence >=": "patterns_by_confidence",
    "FROM pattern_shares AS s JOIN patterns": "sqlite_autoindex_pattern_shares_1",
    "FROM pattern_versions WHERE": "sqlite_autoindex_pattern_versions_1",
    "ORDER BY created_at DESC, rowid DESC": "checkpoints_by_time",
    "AND status = 'pending'": "signal_deliveries_open",
    "AND status = 'claimed' AND lease_until <=": "signal_deliveries_open",
    "DELETE FROM decisions WHERE ttl <=": "decisions_by_ttl",
    "DELETE FROM signals WHERE expires_at <=": "signals_by_expiry",
}


def test_every_query_searches_an_index_and_never_scans_a_table(
    store: SQLiteStore, clock: FakeClock
) -> None:
    conn = store._connections.get()
    executed: list[str] = []
    conn.set_trace_callback(executed.append)  # statements with their values filled in
    exercise_every_query(store, clock)
    conn.set_trace_callback(None)
    plans = {
        " ".join(sql.split()): [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        for sql in executed
        if re.match(r"\s*(SELECT|WITH|UPDATE|DELETE)", sql, re.IGNORECASE)
    }

    scans = {sql: plan for sql, plan in plans.items() if not any("SEARCH" in s for s in plan)}
    scans |= {
        sql: plan
        for sql, plan in plans.items()
        if any(re.match(r"SCAN (?!CONSTANT ROW|types$)", step) for step in plan)
    }
    unserved = {
        piece: index
        for piece, index in MAIN_QUERIES.items()
        if not any(
            piece in sql and any(f"INDEX {index}" in step for step in plan)
            for sql, plan in plans.items()
        )
    }
    assert len(plans) >= 25
    assert scans == {}
    assert unserved == {}


# -- decision_stats -------------------------------------------------------------------------


def random_decisions(rng: random.Random, n: int, history: timedelta) -> list[DecisionRecord]:
    """Decisions of two agents spread over ``history`` before T0, some expired or pending."""
    types = ["tool_call", "llm_call", "chain_step", "custom-kind"]
    latencies = [round(rng.uniform(0, 500), 1) for _ in range(60)]  # repeats on purpose
    made = []
    for _ in range(n):
        roll = rng.random()
        outcome = None
        if roll < 0.85:
            latency = rng.choice(latencies) if rng.random() < 0.8 else None
            outcome = DecisionOutcome(success=roll < 0.55, latency_ms=latency, recorded_at=T0)
        made.append(
            DecisionRecord(
                agent_id=rng.choice(["agent-a", "agent-a", "agent-b"]),
                decision_type=rng.choice(types),
                timestamp=T0 - history * rng.random(),
                reasoning=DecisionReasoning(
                    confidence=rng.random() if rng.random() < 0.7 else None
                ),
                outcome=outcome,
                ttl=epoch_seconds(T0) + rng.choice([-5, 0, 5, 3600])
                if rng.random() < 0.2
                else None,
            )
        )
    return made


def expected_stats(records: list[DecisionRecord], start: datetime, end: datetime) -> DecisionStats:
    rows = [
        (
            r.decision_type,
            None if r.outcome is None else r.outcome.success,
            r.reasoning.confidence,
            None if r.outcome is None else r.outcome.latency_ms,
        )
        for r in records
        if r.agent_id == "agent-a" and start <= r.timestamp < end and not r.is_expired(T0)
    ]
    return stats_from_rows("agent-a", start, end, rows)


@pytest.mark.parametrize(
    ("history", "window", "index"),
    [
        (timedelta(hours=20), timedelta(days=1), "decisions_by_latency"),
        (timedelta(days=60), timedelta(days=1), "decisions_by_time"),
    ],
    ids=["window-holds-everything", "window-holds-a-sliver"],
)
def test_stats_equal_stats_from_rows_on_random_data(
    store: SQLiteStore, history: timedelta, window: timedelta, index: str
) -> None:
    rng = random.Random(f"{history}")
    records = random_decisions(rng, 3000, history)
    store.put_decisions(records)
    conn = store._connections.get()
    executed: list[str] = []
    conn.set_trace_callback(executed.append)

    for start, end in [(T0 - window, T0), (T0 - window / 3, T0 - window / 7), (T0, T0 + window)]:
        got = store.decision_stats("agent-a", start=start, end=end).model_dump()
        want = expected_stats(records, start, end).model_dump()
        # A float sum depends on the order of addition, which neither side fixes.
        mean = want.pop("avg_confidence")
        assert got.pop("avg_confidence") == (mean and pytest.approx(mean, rel=1e-12))
        assert got == want
    percentile_queries = [sql for sql in executed if "ORDER BY latency_ms" in sql]
    assert percentile_queries
    assert all(f"INDEXED BY {index}" in sql for sql in percentile_queries)


def test_stats_of_a_window_without_latencies_have_no_percentiles(store: SQLiteStore) -> None:
    store.put_decisions([decision(), decision(outcome=DecisionOutcome(success=True))])

    stats = store.decision_stats("agent-a", start=T0 - timedelta(hours=1), end=T0)

    assert (stats.total, stats.latency_p50_ms, stats.latency_p95_ms) == (2, None, None)


# -- concurrency ----------------------------------------------------------------------------


def test_many_threads_writing_at_once_lose_nothing(store: SQLiteStore) -> None:
    per_thread, threads = 150, 8
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        made = [decision(f"agent-{worker}", seconds=-i - 1) for i in range(per_thread)]
        barrier.wait()
        try:
            for i in range(0, per_thread, 30):  # batches and single puts, interleaved
                store.put_decisions(made[i : i + 25])
                for record in made[i + 25 : i + 30]:
                    store.put_decision(record)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    found = [len(store.query_decisions(f"agent-{w}", limit=1000).items) for w in range(threads)]
    assert found == [per_thread] * threads


def test_two_stores_on_one_file_never_claim_a_signal_twice(
    store: SQLiteStore, db_path: Path, clock: FakeClock
) -> None:
    sent = [
        AgentSignal(
            source_agent_id="agent-a",
            signal_type="x",
            target_agent_ids=["agent-b"],
            created_at=T0 - timedelta(seconds=i),
        )
        for i in range(60)
    ]
    for signal in sent:
        store.publish_signal(signal)
    other = SQLiteStore(db_path, clock=clock)  # as a second process would open the file
    taken: dict[int, list[str]] = {0: [], 1: []}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def consume(worker: int, consumer: SQLiteStore) -> None:
        barrier.wait()
        try:
            while batch := consumer.claim_signals("agent-b", limit=4, lease_seconds=600):
                taken[worker] += [s.signal_id for s in batch]
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=consume, args=(w, s)) for w, s in enumerate([store, other])]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    other.close()

    assert errors == []
    assert sorted(taken[0] + taken[1]) == sorted(s.signal_id for s in sent)


def test_two_stores_saving_the_same_version_conflict_once(
    store: SQLiteStore, db_path: Path
) -> None:
    store.save_state(AgentState(agent_id="agent-a"))
    other = SQLiteStore(db_path)
    mine, theirs = store.load_state("agent-a"), other.load_state("agent-a")
    assert mine is not None and theirs is not None

    store.save_state(mine.model_copy(update={"config": {"who": "mine"}}))
    with pytest.raises(StateConflictError, match="version 1"):
        other.save_state(theirs.model_copy(update={"config": {"who": "theirs"}}))
    other.close()

    loaded = store.load_state("agent-a")
    assert loaded is not None and (loaded.version, loaded.config) == (2, {"who": "mine"})


# -- what the rows look like ----------------------------------------------------------------


def test_mark_consolidated_changes_nothing_else_in_the_stored_record(
    store: SQLiteStore,
) -> None:
    record = decision(
        context=DecisionContext(market={"btc": 64000.1, "note": "größer ✓"}, cycle=3),
        reasoning=DecisionReasoning(scores={"a": 0.1, "b": 1e-300}, confidence=0.3),
        tags=["x"],
    )
    store.put_decision(record)

    store.mark_consolidated("agent-a", [record.decision_id])

    stored = store.get_decision("agent-a", record.decision_id)
    assert stored == record.model_copy(update={"consolidated": True})
    assert store.list_unconsolidated("agent-a").items == []


def test_purge_expired_deletes_the_rows_and_their_deliveries(
    store: SQLiteStore, db_path: Path, clock: FakeClock
) -> None:
    store.put_decisions([decision(ttl=epoch_seconds(T0) + 10), decision()])
    expiring = AgentSignal(
        source_agent_id="agent-a",
        signal_type="x",
        target_agent_ids=["agent-b", "agent-c"],
        broadcast=True,
        expires_at=T0 + timedelta(seconds=10),
    )
    store.publish_signal(expiring)
    store.claim_signals("agent-d")  # a lazily made broadcast delivery row
    clock.now = T0 + timedelta(seconds=10)

    assert store.purge_expired() == 2
    assert count(db_path, "SELECT COUNT(*) FROM decisions") == 1
    assert count(db_path, "SELECT COUNT(*) FROM signals") == 0
    assert count(db_path, "SELECT COUNT(*) FROM signal_deliveries") == 0


def test_a_broadcast_gets_delivery_rows_only_for_agents_that_touch_it(
    store: SQLiteStore, db_path: Path
) -> None:
    sent = AgentSignal(source_agent_id="agent-a", signal_type="x", broadcast=True)
    store.publish_signal(sent)
    store.pending_signals("agent-b")
    store.claim_signals("agent-c")

    with raw(db_path) as conn:
        rows = conn.execute("SELECT target_agent_id, status FROM signal_deliveries").fetchall()
    assert sorted(rows) == [("*", "pending"), ("agent-c", "claimed")]


def test_pattern_shares_follow_shared_with_on_every_put(store: SQLiteStore, db_path: Path) -> None:
    first = MemoryPattern(agent_id="agent-a", shared_with=["agent-b", "agent-c"])
    store.put_pattern(first, expected_version=None)
    store.put_pattern(
        first.model_copy(update={"version": 2, "shared_with": ["agent-c"]}), expected_version=1
    )

    with raw(db_path) as conn:
        shares = conn.execute("SELECT grantee_agent_id FROM pattern_shares").fetchall()
        versions = conn.execute("SELECT version FROM pattern_versions ORDER BY 1").fetchall()
    assert (shares, versions) == ([("agent-c",)], [(1,), (2,)])
