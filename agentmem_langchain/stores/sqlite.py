"""``SQLiteStore``: the embedded default store, one SQLite file shared by threads and processes.

::

    with SQLiteStore("memory.db") as store:  # None: $AGENTMEM_SQLITE_PATH or .agentmem/memory.db
        store.put_decision(DecisionRecord(agent_id="a1", decision_type="tool_call"))

How it keeps the ``MemoryStore`` promises:

* **Threads and processes.** Each thread gets its own connection, opened on first use. The
  file is in WAL mode, so readers never wait for a writer. Every write runs in
  ``BEGIN IMMEDIATE``, which takes SQLite's write lock before reading, so read-modify-writes
  (claims, conditional saves, outcomes) never interleave, in one process or several; a
  writer waits up to ``timeout`` seconds for the lock, then raises ``StoreUnavailableError``.
* **Durability.** ``synchronous=NORMAL``: in WAL mode a returned write survives the crash of
  any process; only an OS crash or power loss can lose the last commits.
* **Schema.** ``PRAGMA user_version`` counts the migrations applied; opening a file applies
  the missing ones in order and refuses a file written by a newer version of the library.
* **Errors.** Only ``_translated`` sees ``sqlite3`` errors; it raises ``StoreUnavailableError``.

Each model is stored as its JSON (``body``) beside the scalar columns its queries need; times
are integer microseconds (``_common.to_micros``). ``":memory:"`` is refused: every thread's
connection would see a different, empty database; use a file in a temporary directory.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ..enums import ProcessingStatus
from ..errors import (
    ConfigurationError,
    NotFoundError,
    StateConflictError,
    StoreUnavailableError,
    ValidationError,
)
from ..models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionOutcome,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
    Model,
    Page,
    StateCheckpoint,
    utcnow,
)
from ._common import (
    check_snapshot,
    decode_cursor,
    encode_cursor,
    epoch_seconds,
    nearest_rank_index,
    processing_view,
    store_key,
    to_micros,
)
from .base import EncodedDecision, encode_record

PATH_ENV_VAR = "AGENTMEM_SQLITE_PATH"
DEFAULT_PATH = Path(".agentmem") / "memory.db"

# A broadcast has one shared delivery row for this target; an agent gets a row of its own only
# when it claims or processes the signal ('*' can never be an agent id).
_BROADCAST = "*"

_SCHEMA_V1 = """
CREATE TABLE decisions (
    agent_id TEXT NOT NULL, decision_id TEXT NOT NULL, ts INTEGER NOT NULL,
    decision_type TEXT NOT NULL, success INTEGER, confidence REAL, latency_ms REAL,
    is_stm INTEGER NOT NULL, consolidated INTEGER NOT NULL, ttl INTEGER,
    parent_decision_id TEXT, trace_id TEXT, body TEXT NOT NULL,
    PRIMARY KEY (agent_id, decision_id));
-- Each of the next three serves pages and also covers one part of decision_stats.
CREATE INDEX decisions_by_time
    ON decisions (agent_id, ts, decision_id, success, confidence, latency_ms, ttl);
CREATE INDEX decisions_by_type ON decisions (agent_id, decision_type, ts, decision_id, ttl);
CREATE INDEX decisions_by_latency ON decisions (agent_id, latency_ms, ts, ttl)
    WHERE latency_ms IS NOT NULL;
CREATE INDEX decisions_unconsolidated ON decisions (agent_id, ts, decision_id)
    WHERE is_stm = 1 AND consolidated = 0;
CREATE INDEX decisions_by_parent ON decisions (agent_id, parent_decision_id, ts, decision_id)
    WHERE parent_decision_id IS NOT NULL;
CREATE INDEX decisions_by_trace ON decisions (agent_id, trace_id, ts, decision_id)
    WHERE trace_id IS NOT NULL;
CREATE INDEX decisions_by_ttl ON decisions (ttl) WHERE ttl IS NOT NULL;

CREATE TABLE patterns (
    agent_id TEXT NOT NULL, pattern_id TEXT NOT NULL, version INTEGER NOT NULL,
    confidence REAL NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (agent_id, pattern_id));
CREATE INDEX patterns_by_confidence ON patterns (agent_id, confidence, pattern_id);
CREATE TABLE pattern_versions (
    agent_id TEXT NOT NULL, pattern_id TEXT NOT NULL, version INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (agent_id, pattern_id, version));
-- Led by the grantee, so list_shared_patterns is one range of the primary key.
CREATE TABLE pattern_shares (
    grantee_agent_id TEXT NOT NULL, agent_id TEXT NOT NULL, pattern_id TEXT NOT NULL,
    PRIMARY KEY (grantee_agent_id, agent_id, pattern_id));
CREATE INDEX pattern_shares_by_pattern ON pattern_shares (agent_id, pattern_id);

CREATE TABLE agent_state (
    agent_id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
-- Ordered by (created_at, rowid): with a frozen clock the last checkpoint made is the newest.
CREATE TABLE checkpoints (
    agent_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, name TEXT,
    created_at INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (agent_id, checkpoint_id));
CREATE INDEX checkpoints_by_time ON checkpoints (agent_id, created_at);

CREATE TABLE signals (
    signal_id TEXT PRIMARY KEY, source_agent_id TEXT NOT NULL, broadcast INTEGER NOT NULL,
    priority INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER,
    body TEXT NOT NULL);
CREATE INDEX signals_by_expiry ON signals (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE signal_deliveries (
    target_agent_id TEXT NOT NULL, signal_id TEXT NOT NULL, status TEXT NOT NULL,
    lease_until INTEGER, PRIMARY KEY (target_agent_id, signal_id));
CREATE INDEX signal_deliveries_open
    ON signal_deliveries (target_agent_id, status, lease_until, signal_id);
CREATE INDEX signal_deliveries_by_signal ON signal_deliveries (signal_id);
"""

# The agent registry, one row per agent. It is small: list_agents walks it in primary-key
# order (its result order) and filters on the way, capabilities read from the body.
_SCHEMA_V2 = """
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY, last_heartbeat INTEGER NOT NULL, body TEXT NOT NULL);
"""

# iter_published_signals (an export) reads one publisher's signals in signal_id order.
_SCHEMA_V3 = """
CREATE INDEX signals_by_source ON signals (source_agent_id, signal_id);
"""

# Forward migrations, each a script of statements ending in ";" at the end of a line:
# applying _MIGRATIONS[v] takes a file from user_version v to v + 1. Append; never edit one
# that has shipped.
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3)

# How many published signals iter_published_signals reads per transaction.
_PUBLISHED_PAGE = 200

_LIVE_DECISION = "(ttl IS NULL OR ttl > :now_s)"

_UPSERT_DECISION = """
INSERT INTO decisions (agent_id, decision_id, ts, decision_type, success, confidence,
    latency_ms, is_stm, consolidated, ttl, parent_decision_id, trace_id, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (agent_id, decision_id) DO UPDATE SET ts = excluded.ts,
    decision_type = excluded.decision_type, success = excluded.success,
    confidence = excluded.confidence, latency_ms = excluded.latency_ms,
    is_stm = excluded.is_stm, consolidated = excluded.consolidated, ttl = excluded.ttl,
    parent_decision_id = excluded.parent_decision_id, trace_id = excluded.trace_id,
    body = excluded.body"""

_STATS_WINDOW = f"agent_id = :agent AND ts >= :start AND ts < :end AND {_LIVE_DECISION}"

_STATS_TOTALS = f"""
SELECT COUNT(*), COALESCE(SUM(success), 0), COUNT(success), SUM(confidence), COUNT(confidence),
    COUNT(latency_ms)
FROM decisions INDEXED BY decisions_by_time WHERE {_STATS_WINDOW}"""

# GROUP BY would sort every row of the window; instead, hop from one decision type to the
# next in decisions_by_type (one seek each) and count each type's range of the window there.
_STATS_BY_TYPE = f"""
WITH RECURSIVE types (name) AS (
    SELECT MIN(decision_type) FROM decisions WHERE agent_id = :agent
    UNION ALL
    SELECT (SELECT MIN(decision_type) FROM decisions
            WHERE agent_id = :agent AND decision_type > types.name)
    FROM types WHERE name IS NOT NULL)
SELECT name, (SELECT COUNT(*) FROM decisions INDEXED BY decisions_by_type
              WHERE decision_type = types.name AND {_STATS_WINDOW})
FROM types WHERE name IS NOT NULL"""

_AGENT_SPAN = """
SELECT (SELECT MIN(ts) FROM decisions WHERE agent_id = :agent),
    (SELECT MAX(ts) FROM decisions WHERE agent_id = :agent)"""

# A nearest-rank percentile is the latency at one rank of the window's sorted latencies.
# decisions_by_latency yields them sorted, but walks the agent's decisions outside the window
# too; decisions_by_time walks only the window, then sorts it. Walking from the nearer end
# keeps either short.
_LATENCY_AT_OFFSET = f"""
SELECT latency_ms FROM decisions INDEXED BY {{index}}
WHERE {_STATS_WINDOW} AND latency_ms IS NOT NULL
ORDER BY latency_ms {{order}} LIMIT 1 OFFSET :offset"""

# Walking decisions_by_latency is the faster way while the window holds at least about this
# share of the agent's decisions: the two walks visit 55% of the agent's entries, and a walked
# entry costs about 1/15 of a sorted one (measured with 10^6 decisions).
_LATENCY_INDEX_MIN_SHARE = 1 / 24

_UPSERT_PATTERN = """
INSERT INTO patterns (agent_id, pattern_id, version, confidence, status, body)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (agent_id, pattern_id) DO UPDATE SET version = excluded.version,
    confidence = excluded.confidence, status = excluded.status, body = excluded.body"""

_NEWEST_CHECKPOINT = """
SELECT body FROM checkpoints WHERE agent_id = :agent {}
ORDER BY created_at DESC, rowid DESC LIMIT 1"""

# Signals agent :agent may take now: its deliveries that are pending or whose lease ran out,
# plus broadcasts it has not touched yet (never its own); the UNION ALL cannot repeat a
# signal, since a broadcast counts only while the agent has no delivery row of its own.
_OPEN_SIGNALS = """
SELECT s.signal_id, s.body FROM signals AS s
WHERE s.signal_id IN (
        SELECT signal_id FROM signal_deliveries
        WHERE target_agent_id = :agent AND status = 'pending'
        UNION ALL
        SELECT signal_id FROM signal_deliveries
        WHERE target_agent_id = :agent AND status = 'claimed' AND lease_until <= :now
        UNION ALL
        SELECT b.signal_id FROM signal_deliveries AS b JOIN signals AS bs USING (signal_id)
        WHERE b.target_agent_id = '*' AND bs.source_agent_id != :agent
            AND NOT EXISTS (SELECT 1 FROM signal_deliveries AS o
                WHERE o.target_agent_id = :agent AND o.signal_id = b.signal_id))
    AND (s.expires_at IS NULL OR s.expires_at > :now)
ORDER BY s.priority DESC, s.created_at, s.signal_id
LIMIT :limit"""

_SET_DELIVERY = """
INSERT INTO signal_deliveries (target_agent_id, signal_id, status, lease_until)
VALUES (?, ?, ?, ?)
ON CONFLICT (target_agent_id, signal_id) DO UPDATE SET
    status = excluded.status, lease_until = excluded.lease_until"""

M = TypeVar("M", bound=Model)


@contextmanager
def _translated(op: str) -> Iterator[None]:
    """Raise ``StoreUnavailableError`` for any sqlite3 (or file system) failure inside."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailableError(f"SQLite store: {op} failed: {exc}") from exc


@contextmanager
def _begun(conn: sqlite3.Connection, mode: str) -> Iterator[sqlite3.Connection]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _connect(path: str, timeout: float) -> sqlite3.Connection:
    # isolation_level=None: the module never opens transactions behind our back.
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        mode = _switch_to_wal(conn, timeout)
        if mode != "wal":
            raise StoreUnavailableError(f"SQLite store: {path} cannot use WAL (mode {mode!r})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA busy_timeout = {round(timeout * 1000)}")
    except BaseException:
        conn.close()
        raise
    return conn


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> str:
    # Switching a new file to WAL needs an exclusive lock, and SQLite reports "locked" at once
    # instead of waiting in the busy handler: processes opening a new file together retry.
    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the file's schema to ``len(_MIGRATIONS)``; refuse a newer one."""
    known = len(_MIGRATIONS)

    def version() -> int:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > known:
            raise StoreUnavailableError(
                f"SQLite store: {path} has schema version {found}, but this version of "
                f"agentmem-langchain knows versions up to {known}; upgrade agentmem-langchain"
            )
        return found

    if version() == known:
        return
    with _begun(conn, "IMMEDIATE"):  # another process may be migrating the same file
        for script in _MIGRATIONS[version() :]:
            for statement in script.split(";\n"):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {known}")


_Owned = tuple["weakref.ref[threading.Thread]", sqlite3.Connection]  # a thread, its connection


class _ThreadConnections:
    """One connection per thread, opened on first use; ``close_all`` closes every one.

    Per-thread connections let readers run while another thread writes: measured with four
    reader and four writer threads, one shared connection behind a lock cut reads by up to
    half, and queueing writers on a lock of their own cut writes by two thirds (writers wait
    for each other in SQLite's busy handler instead, as writers of other processes do).

    Connections of threads that have ended are closed when the next one is opened. A forked
    child never touches its parent's connections (SQLite forbids it) and opens its own.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._closed = False
        self._reset()

    @property
    def closed(self) -> bool:
        return self._closed

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._owned: list[_Owned] = []

    def get(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailableError(f"SQLite store: {self._path} is closed")
        if self._pid != os.getpid():
            self._reset()  # the parent's objects are dropped, never closed, in the child
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        return conn if conn is not None else self._open()

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StoreUnavailableError(f"SQLite store: {self._path} is closed")
            live: list[_Owned] = []
            ended: list[_Owned] = []
            for entry in self._owned:
                (live if _running(entry[0]) else ended).append(entry)
            for _, stale in ended:
                stale.close()
            conn = _connect(self._path, self._timeout)
            self._owned = [*live, (weakref.ref(threading.current_thread()), conn)]
        self._local.conn = conn
        return conn

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            owned, self._owned = self._owned, []
        if self._pid == os.getpid():
            for _, conn in owned:
                conn.close()


def _running(thread: weakref.ref[threading.Thread]) -> bool:
    alive = thread()
    return alive is not None and alive.is_alive()


def _resolve_path(path: str | os.PathLike[str] | None) -> str:
    if path is None:
        path = os.environ.get(PATH_ENV_VAR) or DEFAULT_PATH
    text = os.fspath(path)
    if text == ":memory:" or text.startswith("file:"):
        raise ConfigurationError(
            f"SQLiteStore path {text!r}: in-memory and URI databases are not supported "
            "(each thread's connection would see its own database); use a file path"
        )
    resolved = Path(text).expanduser()
    resolved.parent.mkdir(parents=True, exist_ok=True)
    return str(resolved)


def _label(value: Any) -> str:
    return str(getattr(value, "value", value))


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValidationError(f"limit: must be at least 1 (got {limit!r})", field="limit")


def _position(cursor: str) -> tuple[float, str]:
    """The (sort key, id) a cursor of this store points after."""
    position = decode_cursor(cursor)
    if (
        isinstance(position, list)
        and len(position) == 2
        and isinstance(position[0], (int, float))
        and not isinstance(position[0], bool)
        and isinstance(position[1], str)
    ):
        return position[0], position[1]
    raise ValidationError(f"cursor: {cursor!r} is not a cursor of this store", field="cursor")


def _page(rows: list[Any], limit: int, model: type[M]) -> Page[M]:
    """A page from up to ``limit + 1`` rows of (sort key, id, body)."""
    items = [model.model_validate_json(row[-1]) for row in rows[:limit]]
    more = len(rows) > limit
    return Page[M](
        items=items, next_cursor=encode_cursor(list(rows[limit - 1][:2])) if more else None
    )


def _decision_row(decision: EncodedDecision) -> tuple[Any, ...]:
    success = decision.success
    return (
        decision.agent_id,
        decision.decision_id,
        to_micros(decision.timestamp),
        _label(decision.decision_type),
        None if success is None else int(success),
        decision.confidence,
        decision.latency_ms,
        int(decision.is_stm),
        int(decision.consolidated),
        decision.ttl,
        decision.parent_decision_id,
        decision.trace_id,
        decision.body,
    )


def _stats(
    agent_id: str,
    start: datetime,
    end: datetime,
    totals: tuple[Any, ...],
    by_type: dict[str, int],
    latencies: tuple[float | None, float | None],
) -> DecisionStats:
    """``DecisionStats`` from ``_STATS_TOTALS``, with ``stats_from_rows``' arithmetic."""
    total, successes, decided, confidence_sum, confidences, _ = totals
    return DecisionStats(
        agent_id=agent_id,
        start=start,
        end=end,
        total=total,
        successes=successes,
        failures=decided - successes,
        pending=total - decided,
        success_rate=successes / decided if decided else 0.0,
        avg_confidence=confidence_sum / confidences if confidences else None,
        latency_p50_ms=latencies[0],
        latency_p95_ms=latencies[1],
        by_type=by_type,
    )


def _check_pattern_write(pattern: MemoryPattern, stored: int | None, expected: int | None) -> None:
    name = f"pattern {pattern.pattern_id!r} of agent {pattern.agent_id!r}"
    if expected is None:
        if stored is not None:
            raise StateConflictError(
                f"{name} already exists at version {stored}; pass expected_version to update it"
            )
        return
    if stored != expected:
        found = "none is stored" if stored is None else f"version {stored} is stored"
        raise StateConflictError(f"{name}: expected version {expected}, but {found}")
    if pattern.version <= expected:
        raise StateConflictError(
            f"{name}: the new version ({pattern.version}) must be greater than {expected}"
        )


class SQLiteStore:
    """A ``MemoryStore`` in one SQLite file, safe for many threads and several processes.

    ``path`` defaults to ``$AGENTMEM_SQLITE_PATH``, else ``.agentmem/memory.db``; missing parent
    directories are created. ``clock`` is the store's "now" (TTL, leases, ``updated_at``);
    ``timeout`` (default 5) is how many seconds a write waits for another writer before it
    fails. The schema is created or migrated on construction. A file or directory that
    cannot be opened or written raises ``StoreUnavailableError``.

    ::

        with SQLiteStore(tmp_path / "memory.db") as store:
            store.put_decision(DecisionRecord(agent_id="a1", decision_type="tool_call"))
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        timeout: float = 5.0,
    ) -> None:
        self._clock = clock
        with _translated("open"):
            self.path = _resolve_path(path)
            self._connections = _ThreadConnections(self.path, timeout)
            try:
                _migrate(self._connections.get(), self.path)
            except BaseException:
                self._connections.close_all()
                raise

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @property
    def identity(self) -> str:
        """The file, for messages: ``sqlite:///abs/path/memory.db`` (symlinks resolved)."""
        return f"sqlite://{os.path.realpath(self.path)}"

    @property
    def journal_key(self) -> str:
        """``sqlite-`` and 12 hex digits of the resolved path: the same for this file in
        every process, however the path was spelt."""
        return store_key("sqlite", os.path.realpath(self.path))

    @property
    def available(self) -> bool:
        """False once closed. A locked file is contention, not an outage: still True."""
        return not self._connections.closed

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self, op: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection; ``write`` takes the write lock first."""
        with _translated(op):
            conn = self._connections.get()
            with _begun(conn, "IMMEDIATE" if write else "DEFERRED"):
                yield conn

    def _now_seconds(self) -> int:
        return epoch_seconds(self._clock())

    # -- decisions ------------------------------------------------------------------------

    def put_decision(self, record: DecisionRecord) -> None:
        """Store one decision, replacing any record with the same ``decision_id``."""
        self.put_decisions([record])

    def put_decisions(self, records: Sequence[DecisionRecord]) -> None:
        """Store many decisions in one transaction: when this returns, all are durable."""
        self.put_encoded_decisions([encode_record(record) for record in records])

    def put_encoded_decisions(self, decisions: Sequence[EncodedDecision]) -> None:
        """``put_decisions`` for decisions in their stored form."""
        rows = [_decision_row(decision) for decision in decisions]  # outside the lock
        if rows:
            with self._transaction("put_decisions", write=True) as conn:
                conn.executemany(_UPSERT_DECISION, rows)

    def get_decision(self, agent_id: str, decision_id: str) -> DecisionRecord | None:
        """The decision, or None if it does not exist or has expired."""
        with self._transaction("get_decision") as conn:
            body = self._decision_body(conn, agent_id, decision_id)
        return None if body is None else DecisionRecord.model_validate_json(body)

    def _decision_body(self, conn: sqlite3.Connection, agent_id: str, decision_id: str) -> Any:
        sql = (
            "SELECT body FROM decisions WHERE agent_id = :agent AND decision_id = :id"
            f" AND {_LIVE_DECISION}"
        )
        params = {"agent": agent_id, "id": decision_id, "now_s": self._now_seconds()}
        row = conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def set_outcome(
        self, agent_id: str, decision_id: str, outcome: DecisionOutcome
    ) -> DecisionRecord:
        """Attach (or replace) the outcome; ``NotFoundError`` if missing or expired."""
        with self._transaction("set_outcome", write=True) as conn:
            body = self._decision_body(conn, agent_id, decision_id)
            if body is None:
                raise NotFoundError(
                    f"decision {decision_id!r} of agent {agent_id!r} does not exist or has expired"
                )
            record = DecisionRecord.model_validate_json(body)
            record.outcome = outcome
            conn.execute(_UPSERT_DECISION, _decision_row(encode_record(record)))
        return record

    def query_decisions(
        self,
        agent_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        decision_type: str | None = None,
        success: bool | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """Decisions with ``start <= timestamp < end``, of one type or outcome if given,
        newest first."""
        where = ["agent_id = :agent"]
        params: dict[str, Any] = {"agent": agent_id}
        if start is not None:
            where.append("ts >= :start")
            params["start"] = to_micros(start)
        if end is not None:
            where.append("ts < :end")
            params["end"] = to_micros(end)
        if decision_type is not None:
            where.append("decision_type = :type")
            params["type"] = _label(decision_type)
        if success is not None:
            where.append("success = :success")
            params["success"] = int(success)
        return self._decision_page("query_decisions", where, params, limit, cursor, descending=True)

    def list_unconsolidated(
        self,
        agent_id: str,
        *,
        before: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        """STM decisions not yet consolidated (with ``timestamp < before``), oldest first."""
        # These two terms must appear literally for SQLite to use the partial index.
        where = ["agent_id = :agent", "is_stm = 1", "consolidated = 0"]
        params: dict[str, Any] = {"agent": agent_id}
        if before is not None:
            where.append("ts < :before")
            params["before"] = to_micros(before)
        return self._decision_page(
            "list_unconsolidated", where, params, limit, cursor, descending=False
        )

    def _decision_page(
        self,
        op: str,
        where: list[str],
        params: dict[str, Any],
        limit: int,
        cursor: str | None,
        *,
        descending: bool,
    ) -> Page[DecisionRecord]:
        _check_limit(limit)
        order = "DESC" if descending else "ASC"
        if cursor is not None:
            where.append(f"(ts, decision_id) {'<' if descending else '>'} (:after_ts, :after_id)")
            params["after_ts"], params["after_id"] = _position(cursor)
        sql = (
            f"SELECT ts, decision_id, body FROM decisions WHERE {' AND '.join(where)}"
            f" AND {_LIVE_DECISION} ORDER BY ts {order}, decision_id {order} LIMIT :limit"
        )
        params.update(now_s=self._now_seconds(), limit=limit + 1)
        with self._transaction(op) as conn:
            rows = conn.execute(sql, params).fetchall()
        return _page(rows, limit, DecisionRecord)

    def mark_consolidated(self, agent_id: str, decision_ids: Sequence[str]) -> None:
        """Flag decisions as consolidated; unknown ids are ignored."""
        sql = """UPDATE decisions SET consolidated = 1,
            body = json_set(body, '$.consolidated', json('true'))
            WHERE agent_id = ? AND decision_id = ? AND consolidated = 0"""
        with self._transaction("mark_consolidated", write=True) as conn:
            conn.executemany(sql, [(agent_id, decision_id) for decision_id in decision_ids])

    def get_children(self, agent_id: str, decision_id: str) -> list[DecisionRecord]:
        """Direct children (``parent_decision_id == decision_id``), oldest first."""
        return self._decisions_where("get_children", agent_id, "parent_decision_id", decision_id)

    def get_trace(self, agent_id: str, trace_id: str) -> list[DecisionRecord]:
        """Every decision whose ``trace_id`` is ``trace_id``, oldest first."""
        return self._decisions_where("get_trace", agent_id, "trace_id", trace_id)

    def _decisions_where(
        self, op: str, agent_id: str, column: str, value: str
    ) -> list[DecisionRecord]:
        sql = (
            f"SELECT body FROM decisions WHERE agent_id = :agent AND {column} = :value"
            f" AND {_LIVE_DECISION} ORDER BY ts, decision_id"
        )
        params = {"agent": agent_id, "value": value, "now_s": self._now_seconds()}
        with self._transaction(op) as conn:
            rows = conn.execute(sql, params).fetchall()
        return [DecisionRecord.model_validate_json(row[0]) for row in rows]

    def decision_stats(self, agent_id: str, *, start: datetime, end: datetime) -> DecisionStats:
        """Counts, success rate, mean confidence, nearest-rank latency p50/p95 and counts by
        type for decisions with ``start <= timestamp < end``, all computed inside SQLite."""
        params: dict[str, Any] = {
            "agent": agent_id,
            "start": to_micros(start),
            "end": to_micros(end),
            "now_s": self._now_seconds(),
        }
        with self._transaction("decision_stats") as conn:
            totals = conn.execute(_STATS_TOTALS, params).fetchone()
            by_type = {name: n for name, n in conn.execute(_STATS_BY_TYPE, params) if n}
            latencies = self._latencies(conn, params, totals[5])
        return _stats(agent_id, start, end, totals, by_type, latencies)

    def _latencies(
        self, conn: sqlite3.Connection, params: dict[str, Any], count: int
    ) -> tuple[float | None, float | None]:
        """The nearest-rank p50 and p95 of the ``count`` latencies in the window."""
        if not count:
            return None, None
        oldest, newest = conn.execute(_AGENT_SPAN, params).fetchone()
        span = max(newest - oldest, 1)
        window = max(min(params["end"], newest + 1) - max(params["start"], oldest), 1)
        walk = window / span >= _LATENCY_INDEX_MIN_SHARE  # time share stands in for row share
        index = "decisions_by_latency" if walk else "decisions_by_time"
        found: list[float] = []
        for q in (0.50, 0.95):
            rank = nearest_rank_index(count, q)
            order, offset = ("ASC", rank) if rank < count / 2 else ("DESC", count - 1 - rank)
            sql = _LATENCY_AT_OFFSET.format(index=index, order=order)
            found.append(conn.execute(sql, {**params, "offset": offset}).fetchone()[0])
        return found[0], found[1]

    # -- patterns -------------------------------------------------------------------------

    def put_pattern(self, pattern: MemoryPattern, *, expected_version: int | None) -> None:
        """Create (``expected_version=None``) or update the pattern if its stored version is
        ``expected_version``; keeps every version and rewrites its shares. Raises
        ``StateConflictError`` when the check fails."""
        key = (pattern.agent_id, pattern.pattern_id)
        body = pattern.model_dump_json()
        with self._transaction("put_pattern", write=True) as conn:
            row = conn.execute(
                "SELECT version FROM patterns WHERE agent_id = ? AND pattern_id = ?", key
            ).fetchone()
            _check_pattern_write(pattern, None if row is None else row[0], expected_version)
            conn.execute(
                _UPSERT_PATTERN,
                (*key, pattern.version, pattern.confidence, _label(pattern.status), body),
            )
            conn.execute(
                "INSERT OR REPLACE INTO pattern_versions VALUES (?, ?, ?, ?)",
                (*key, pattern.version, body),
            )
            conn.execute("DELETE FROM pattern_shares WHERE agent_id = ? AND pattern_id = ?", key)
            conn.executemany(
                "INSERT OR IGNORE INTO pattern_shares VALUES (?, ?, ?)",
                [(grantee, *key) for grantee in pattern.shared_with],
            )

    def get_pattern(self, agent_id: str, pattern_id: str) -> MemoryPattern | None:
        """The pattern's latest version, or None."""
        sql = "SELECT body FROM patterns WHERE agent_id = ? AND pattern_id = ?"
        with self._transaction("get_pattern") as conn:
            row = conn.execute(sql, (agent_id, pattern_id)).fetchone()
        return None if row is None else MemoryPattern.model_validate_json(row[0])

    def list_patterns(
        self,
        agent_id: str,
        *,
        min_confidence: float = 0.0,
        include_retired: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[MemoryPattern]:
        """The agent's own patterns with ``confidence >= min_confidence``, highest first
        (ties: newest ``pattern_id`` first); retired ones only if ``include_retired``."""
        _check_limit(limit)
        where = ["agent_id = :agent", "confidence >= :min"]
        params: dict[str, Any] = {"agent": agent_id, "min": min_confidence, "limit": limit + 1}
        if not include_retired:
            where.append("status = 'active'")
        if cursor is not None:
            where.append("(confidence, pattern_id) < (:after_c, :after_id)")
            params["after_c"], params["after_id"] = _position(cursor)
        sql = (
            f"SELECT confidence, pattern_id, body FROM patterns WHERE {' AND '.join(where)}"
            " ORDER BY confidence DESC, pattern_id DESC LIMIT :limit"
        )
        with self._transaction("list_patterns") as conn:
            rows = conn.execute(sql, params).fetchall()
        return _page(rows, limit, MemoryPattern)

    def list_shared_patterns(
        self, grantee_agent_id: str, *, limit: int = 100
    ) -> list[MemoryPattern]:
        """Active patterns of other agents whose ``shared_with`` names the grantee,
        highest confidence first."""
        _check_limit(limit)
        sql = """SELECT p.body FROM pattern_shares AS s JOIN patterns AS p
            ON p.agent_id = s.agent_id AND p.pattern_id = s.pattern_id
            WHERE s.grantee_agent_id = :grantee AND s.agent_id != :grantee
                AND p.status = 'active'
            ORDER BY p.confidence DESC, p.pattern_id DESC LIMIT :limit"""
        with self._transaction("list_shared_patterns") as conn:
            rows = conn.execute(sql, {"grantee": grantee_agent_id, "limit": limit}).fetchall()
        return [MemoryPattern.model_validate_json(row[0]) for row in rows]

    def get_pattern_history(self, agent_id: str, pattern_id: str) -> list[MemoryPattern]:
        """Every stored version of the pattern, oldest first (empty if unknown)."""
        sql = """SELECT body FROM pattern_versions WHERE agent_id = ? AND pattern_id = ?
            ORDER BY version"""
        with self._transaction("get_pattern_history") as conn:
            rows = conn.execute(sql, (agent_id, pattern_id)).fetchall()
        return [MemoryPattern.model_validate_json(row[0]) for row in rows]

    # -- state ----------------------------------------------------------------------------

    def save_state(self, state: AgentState) -> AgentState:
        """Save if the stored version equals ``state.version`` (0: none stored yet); returns
        the stored state (``version + 1``, ``updated_at`` = now). ``StateConflictError`` if
        another writer saved first."""
        with self._transaction("save_state", write=True) as conn:
            stored = self._state_version(conn, state.agent_id)
            if stored != state.version:
                raise StateConflictError(
                    f"state of agent {state.agent_id!r}: saving over version {state.version}, "
                    f"but version {stored} is stored (someone saved first)"
                )
            return self._write_state(conn, state, stored + 1)

    def _state_version(self, conn: sqlite3.Connection, agent_id: str) -> int:
        row = conn.execute("SELECT version FROM agent_state WHERE agent_id = ?", (agent_id,))
        found = row.fetchone()
        return 0 if found is None else int(found[0])

    def _write_state(self, conn: sqlite3.Connection, state: AgentState, version: int) -> AgentState:
        saved = state.model_copy(deep=True)
        saved.version = version
        saved.updated_at = self._clock()
        conn.execute(
            "INSERT OR REPLACE INTO agent_state VALUES (?, ?, ?)",
            (saved.agent_id, version, saved.model_dump_json()),
        )
        return saved

    def load_state(self, agent_id: str) -> AgentState | None:
        """The current state, or None if none was saved."""
        with self._transaction("load_state") as conn:
            row = conn.execute("SELECT body FROM agent_state WHERE agent_id = ?", (agent_id,))
            found = row.fetchone()
        return None if found is None else AgentState.model_validate_json(found[0])

    def create_checkpoint(self, agent_id: str, name: str | None = None) -> StateCheckpoint:
        """Copy the current state into a new checkpoint. ``NotFoundError`` if no state."""
        with self._transaction("create_checkpoint", write=True) as conn:
            row = conn.execute("SELECT body FROM agent_state WHERE agent_id = ?", (agent_id,))
            found = row.fetchone()
            if found is None:
                raise NotFoundError(f"agent {agent_id!r} has no saved state to checkpoint")
            checkpoint = StateCheckpoint(
                agent_id=agent_id,
                name=name,
                created_at=self._clock(),
                state=AgentState.model_validate_json(found[0]),
            )
            conn.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?)",
                (
                    agent_id,
                    checkpoint.checkpoint_id,
                    name,
                    to_micros(checkpoint.created_at),
                    checkpoint.model_dump_json(),
                ),
            )
        return checkpoint

    def list_checkpoints(self, agent_id: str) -> list[StateCheckpoint]:
        """The agent's checkpoints, newest first (the last made first when times tie)."""
        sql = """SELECT body FROM checkpoints WHERE agent_id = ?
            ORDER BY created_at DESC, rowid DESC"""
        with self._transaction("list_checkpoints") as conn:
            rows = conn.execute(sql, (agent_id,)).fetchall()
        return [StateCheckpoint.model_validate_json(row[0]) for row in rows]

    def rollback(self, agent_id: str, to: str | None = None) -> AgentState:
        """Restore the newest checkpoint, or the newest whose ``checkpoint_id`` or ``name`` is
        ``to``, as a new version of the state. ``NotFoundError`` if there is none."""
        params = {"agent": agent_id, "to": to}
        match = "" if to is None else "AND (checkpoint_id = :to OR name = :to)"
        with self._transaction("rollback", write=True) as conn:
            row = conn.execute(_NEWEST_CHECKPOINT.format(match), params).fetchone()
            if row is None:
                wanted = "any checkpoint" if to is None else f"a checkpoint named {to!r}"
                raise NotFoundError(f"agent {agent_id!r} has no {wanted}")
            checkpoint = StateCheckpoint.model_validate_json(row[0])
            current = self._state_version(conn, agent_id)
            return self._write_state(conn, checkpoint.state, current + 1)

    def put_state_snapshot(self, state: AgentState) -> bool:
        """Store ``state`` as given (version and ``updated_at`` kept) unless the stored state
        is at that version or newer; True if written."""
        check_snapshot(state)
        with self._transaction("put_state_snapshot", write=True) as conn:
            if self._state_version(conn, state.agent_id) >= state.version:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO agent_state VALUES (?, ?, ?)",
                (state.agent_id, state.version, state.model_dump_json()),
            )
            return True

    def put_checkpoint(self, checkpoint: StateCheckpoint) -> bool:
        """Store ``checkpoint`` as given; False if the agent has one with that id."""
        row = (
            checkpoint.agent_id,
            checkpoint.checkpoint_id,
            checkpoint.name,
            to_micros(checkpoint.created_at),
            checkpoint.model_dump_json(),
        )
        with self._transaction("put_checkpoint", write=True) as conn:
            inserted = conn.execute("INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?, ?)", row)
            return inserted.rowcount > 0

    # -- signals --------------------------------------------------------------------------

    def publish_signal(self, signal: AgentSignal) -> None:
        """Store a signal with one pending delivery per target (and a shared one if broadcast).

        Publishing the same ``signal_id`` again updates it; existing deliveries keep their status.
        """
        targets = sorted(set(signal.target_agent_ids)) + ([_BROADCAST] if signal.broadcast else [])
        body = signal.model_copy(update={"processing": {}}).model_dump_json()
        expires = None if signal.expires_at is None else to_micros(signal.expires_at)
        with self._transaction("publish_signal", write=True) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO signals VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    signal.signal_id,
                    signal.source_agent_id,
                    int(signal.broadcast),
                    signal.priority,
                    to_micros(signal.created_at),
                    expires,
                    body,
                ),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO signal_deliveries VALUES (?, ?, 'pending', NULL)",
                [(target, signal.signal_id) for target in targets],
            )

    def pending_signals(self, agent_id: str, *, limit: int = 10) -> list[AgentSignal]:
        """Signals ``agent_id`` may take now (not processed, no live claim, not expired, not
        its own broadcast), highest priority first, then oldest. Reading does not claim."""
        _check_limit(limit)
        now = to_micros(self._clock())
        params = {"agent": agent_id, "now": now, "limit": limit}
        with self._transaction("pending_signals") as conn:
            rows = conn.execute(_OPEN_SIGNALS, params).fetchall()
            return [_load_signal(conn, row[0], row[1], agent_id, now) for row in rows]

    def claim_signals(
        self, agent_id: str, *, limit: int = 10, lease_seconds: float = 30.0
    ) -> list[AgentSignal]:
        """Atomically claim up to ``limit`` signals, in ``pending_signals`` order, for
        ``lease_seconds``; an unprocessed signal is pending again when its lease ends."""
        _check_limit(limit)
        now = to_micros(self._clock())
        lease_until = now + round(lease_seconds * 1_000_000)
        params = {"agent": agent_id, "now": now, "limit": limit}
        with self._transaction("claim_signals", write=True) as conn:
            rows = conn.execute(_OPEN_SIGNALS, params).fetchall()
            conn.executemany(
                _SET_DELIVERY, [(agent_id, row[0], "claimed", lease_until) for row in rows]
            )
            return [_load_signal(conn, row[0], row[1], agent_id, now) for row in rows]

    def mark_signal_processed(self, agent_id: str, signal_id: str) -> bool:
        """Mark the signal processed for ``agent_id``; False if it was already processed.
        ``NotFoundError`` if no such signal is addressed to ``agent_id``."""
        with self._transaction("mark_signal_processed", write=True) as conn:
            if _delivery_status(conn, agent_id, signal_id) == ProcessingStatus.PROCESSED.value:
                return False
            conn.execute(_SET_DELIVERY, (agent_id, signal_id, "processed", None))
            return True

    def release_signal(self, agent_id: str, signal_id: str) -> None:
        """Give up ``agent_id``'s claim at once: the signal is pending again for it.
        ``NotFoundError`` if no such signal is addressed to ``agent_id``."""
        sql = """UPDATE signal_deliveries SET status = 'pending', lease_until = NULL
            WHERE target_agent_id = ? AND signal_id = ? AND status = 'claimed'"""
        with self._transaction("release_signal", write=True) as conn:
            _delivery_status(conn, agent_id, signal_id)
            conn.execute(sql, (agent_id, signal_id))

    def iter_published_signals(
        self, agent_id: str, *, consumers: Sequence[str] = ()
    ) -> Iterator[AgentSignal]:
        """Every unexpired signal ``agent_id`` published, by ``signal_id``, with its targets'
        statuses (and those of the ``consumers`` that claimed or processed a broadcast).
        Read a page at a time, each page in one transaction."""
        sql = """SELECT signal_id, body FROM signals INDEXED BY signals_by_source
            WHERE source_agent_id = :agent AND signal_id > :after
                AND (expires_at IS NULL OR expires_at > :now)
            ORDER BY signal_id LIMIT :limit"""
        after = ""
        while True:
            now = to_micros(self._clock())
            params = {"agent": agent_id, "after": after, "now": now, "limit": _PUBLISHED_PAGE}
            with self._transaction("iter_published_signals") as conn:
                rows = conn.execute(sql, params).fetchall()
                statuses = _stored_statuses(conn, [row[0] for row in rows], now)
            for signal_id, body in rows:
                signal = AgentSignal.model_validate_json(body)
                signal.processing = processing_view(signal, statuses.get(signal_id, {}), consumers)
                yield signal
            if len(rows) < _PUBLISHED_PAGE:
                return
            after = rows[-1][0]

    # -- agent registry -------------------------------------------------------------------

    def register_agent(self, registration: AgentRegistration) -> None:
        """Create the agent's registration, or replace it (re-registering is harmless)."""
        row = (
            registration.agent_id,
            to_micros(registration.last_heartbeat),
            registration.model_dump_json(),
        )
        with self._transaction("register_agent", write=True) as conn:
            conn.execute("INSERT OR REPLACE INTO agents VALUES (?, ?, ?)", row)

    def heartbeat(self, agent_id: str, at: datetime) -> bool:
        """Set the registration's ``last_heartbeat`` to ``at``; False if not registered."""
        with self._transaction("heartbeat", write=True) as conn:
            found = conn.execute("SELECT body FROM agents WHERE agent_id = ?", (agent_id,))
            row = found.fetchone()
            if row is None:
                return False
            registration = AgentRegistration.model_validate_json(row[0])
            registration.last_heartbeat = at
            conn.execute(
                "UPDATE agents SET last_heartbeat = ?, body = ? WHERE agent_id = ?",
                (to_micros(registration.last_heartbeat), registration.model_dump_json(), agent_id),
            )
            return True

    def get_agent(self, agent_id: str) -> AgentRegistration | None:
        """The agent's registration, or None."""
        with self._transaction("get_agent") as conn:
            row = conn.execute("SELECT body FROM agents WHERE agent_id = ?", (agent_id,))
            found = row.fetchone()
        return None if found is None else AgentRegistration.model_validate_json(found[0])

    def list_agents(
        self, *, seen_since: datetime | None = None, capability: str | None = None
    ) -> list[AgentRegistration]:
        """Registered agents, by agent id: those whose ``last_heartbeat`` is at or after
        ``seen_since`` and that have ``capability``, when given."""
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if seen_since is not None:
            conditions.append("last_heartbeat >= :since")
            params["since"] = to_micros(seen_since)
        if capability is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM json_each(body, '$.capabilities') WHERE value = :cap)"
            )
            params["cap"] = _label(capability)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT body FROM agents{where} ORDER BY agent_id"
        with self._transaction("list_agents") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [AgentRegistration.model_validate_json(row[0]) for row in rows]

    def deregister_agent(self, agent_id: str) -> bool:
        """Remove the agent's registration; False if there was none."""
        with self._transaction("deregister_agent", write=True) as conn:
            deleted = conn.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,))
            return deleted.rowcount > 0

    # -- housekeeping ---------------------------------------------------------------------

    def purge_expired(self) -> int:
        """Delete expired decisions and signals (with their deliveries); returns how many
        decisions and signals were deleted."""
        now = self._clock()
        now_us = to_micros(now)
        with self._transaction("purge_expired", write=True) as conn:
            decisions = conn.execute(
                "DELETE FROM decisions WHERE ttl <= ?", (epoch_seconds(now),)
            ).rowcount
            conn.execute(
                """DELETE FROM signal_deliveries WHERE signal_id IN
                    (SELECT signal_id FROM signals WHERE expires_at <= ?)""",
                (now_us,),
            )
            signals = conn.execute("DELETE FROM signals WHERE expires_at <= ?", (now_us,))
            return decisions + signals.rowcount

    def close(self) -> None:
        """Close every connection; calling it twice is harmless. Later calls raise
        ``StoreUnavailableError``."""
        self._connections.close_all()


def _delivery_status(conn: sqlite3.Connection, agent_id: str, signal_id: str) -> str:
    """``agent_id``'s stored status for the signal (leases are not checked here); a broadcast
    it has not touched is pending. ``NotFoundError`` if the signal is not addressed to it."""
    status, broadcast_to_agent = conn.execute(
        """SELECT (SELECT status FROM signal_deliveries
                   WHERE target_agent_id = :agent AND signal_id = :id),
            EXISTS (SELECT 1 FROM signals
                    WHERE signal_id = :id AND broadcast = 1 AND source_agent_id != :agent)""",
        {"agent": agent_id, "id": signal_id},
    ).fetchone()
    if status is None and not broadcast_to_agent:
        raise NotFoundError(f"signal {signal_id!r} for agent {agent_id!r} not found")
    return str(status or ProcessingStatus.PENDING.value)


def _stored_statuses(
    conn: sqlite3.Connection, signal_ids: list[str], now: int
) -> dict[str, dict[str, str]]:
    """signal id -> agent -> status, as it stands at ``now`` (a lapsed claim is pending)."""
    if not signal_ids:
        return {}
    marks = ", ".join("?" * len(signal_ids))
    rows = conn.execute(
        f"""SELECT signal_id, target_agent_id, status, lease_until FROM signal_deliveries
        WHERE signal_id IN ({marks}) AND target_agent_id != '*'""",
        signal_ids,
    )
    found: dict[str, dict[str, str]] = {}
    for signal_id, target, status, lease_until in rows:
        lapsed = status == ProcessingStatus.CLAIMED.value and lease_until <= now
        found.setdefault(signal_id, {})[target] = (
            ProcessingStatus.PENDING.value if lapsed else status
        )
    return found


def _load_signal(
    conn: sqlite3.Connection, signal_id: str, body: str, agent_id: str, now: int
) -> AgentSignal:
    """The signal, with ``processing`` as stored: every target's status, ``agent_id``'s first."""
    signal = AgentSignal.model_validate_json(body)
    processing = {agent_id: ProcessingStatus.PENDING}
    rows = conn.execute(
        """SELECT target_agent_id, status, lease_until FROM signal_deliveries
        WHERE signal_id = ? AND target_agent_id != '*'""",
        (signal_id,),
    )
    for target, status, lease_until in rows:
        lapsed = status == ProcessingStatus.CLAIMED.value and lease_until <= now
        processing[target] = ProcessingStatus.PENDING if lapsed else ProcessingStatus(status)
    signal.processing = processing
    return signal


__all__ = ["DEFAULT_PATH", "PATH_ENV_VAR", "SQLiteStore"]
