"""Connections to one SQLite file: one per thread, in WAL mode, and the transactions and
error translation every store operation goes through."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ... import config
from ..._files import create_private_file, private_dir
from ...errors import ConfigurationError, StoreUnavailableError

PATH_ENV_VAR = "AGENTMEM_SQLITE_PATH"
DEFAULT_PATH = config.DEFAULT_SQLITE_PATH


@contextmanager
def _translated(op: str) -> Iterator[None]:
    """Raise ``StoreUnavailableError`` for any sqlite3 (or file system) failure inside."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailableError(f"SQLite store: {op} failed: {exc}") from exc


@contextmanager
def _begun(conn: sqlite3.Connection, mode: str) -> Iterator[sqlite3.Connection]:
    """One transaction: committed when the block ends, rolled back if it raises. Inside a
    transaction already open (``SQLiteStore.atomic``), a savepoint of it instead."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO nested")
            raise
        finally:
            conn.execute("RELEASE nested")
        return
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _connect(path: str, timeout: float) -> sqlite3.Connection:
    # A new database is created 0600 first: SQLite gives its -wal and -shm files its mode.
    create_private_file(path)
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
        path = config.resolve_sqlite_path()
    text = os.fspath(path)
    if text == ":memory:" or text.startswith("file:"):
        raise ConfigurationError(
            f"SQLiteStore path {text!r}: in-memory and URI databases are not supported "
            "(each thread's connection would see its own database); use a file path"
        )
    resolved = Path(text).expanduser()
    private_dir(resolved.parent)
    return str(resolved)
