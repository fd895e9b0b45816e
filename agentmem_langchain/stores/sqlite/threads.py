"""Thread checkpoints of LangGraph graphs in ``SQLiteStore`` (see ``stores/threads.py``).

Two tables keyed by agent first, as every other table of the file; they are created on the
first use of a thread operation, so files made before them need no migration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..threads import CheckpointKey, ThreadCheckpoint, ThreadWrite
from .core import _StoreBase

_TABLES = (
    """CREATE TABLE IF NOT EXISTS thread_checkpoints (
        agent_id TEXT NOT NULL, thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, run_id TEXT,
        type TEXT NOT NULL, checkpoint BLOB NOT NULL, metadata BLOB NOT NULL,
        PRIMARY KEY (agent_id, thread_id, checkpoint_ns, checkpoint_id)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS thread_checkpoints_by_run
        ON thread_checkpoints (agent_id, run_id) WHERE run_id IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS thread_writes (
        agent_id TEXT NOT NULL, thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, idx INTEGER NOT NULL,
        channel TEXT NOT NULL, type TEXT NOT NULL, value BLOB NOT NULL,
        task_path TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (agent_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx))
        WITHOUT ROWID""",
)

_COLUMNS = """thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, type,
    checkpoint, metadata"""


class _ThreadsMixin(_StoreBase):
    """The thread checkpoint operations of ``SQLiteStore``."""

    _threads_ready: bool = False

    @contextmanager
    def _threads_conn(self, op: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        self._ensure_thread_tables()
        with self._transaction(op, write=write) as conn:
            yield conn

    def _ensure_thread_tables(self) -> None:
        if self._threads_ready:
            return
        with self._transaction("create thread tables", write=True) as conn:
            for statement in _TABLES:
                conn.execute(statement)
        self._threads_ready = True

    def put_thread_checkpoint(self, agent_id: str, checkpoint: ThreadCheckpoint) -> None:
        """Store ``checkpoint`` (one row, one transaction), replacing one with its key."""
        c = checkpoint
        key = (agent_id, c.thread_id, c.checkpoint_ns, c.checkpoint_id)
        row = (*key, c.parent_checkpoint_id, c.run_id, c.type, c.checkpoint, c.metadata)
        with self._threads_conn("put_thread_checkpoint", write=True) as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO thread_checkpoints (agent_id, {_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def get_thread_checkpoint(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str | None
    ) -> ThreadCheckpoint | None:
        """That checkpoint, or the newest of the namespace; None if there is none."""
        sql = f"SELECT {_COLUMNS} FROM thread_checkpoints WHERE agent_id = ? AND thread_id = ? "
        sql += "AND checkpoint_ns = ? "
        params: tuple[str, ...] = (agent_id, thread_id, checkpoint_ns)
        if checkpoint_id is None:
            sql += "ORDER BY checkpoint_id DESC LIMIT 1"
        else:
            sql += "AND checkpoint_id = ?"
            params += (checkpoint_id,)
        with self._threads_conn("get_thread_checkpoint") as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None else ThreadCheckpoint(*row)

    def list_thread_checkpoints(
        self,
        agent_id: str,
        thread_id: str | None = None,
        checkpoint_ns: str | None = None,
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[ThreadCheckpoint]:
        """Checkpoints newest first, narrowed by thread, namespace and ``before``."""
        where, params = ["agent_id = ?"], [agent_id]
        for column, value in (
            ("thread_id = ?", thread_id),
            ("checkpoint_ns = ?", checkpoint_ns),
            ("checkpoint_id < ?", before),
        ):
            if value is not None:
                where.append(column)
                params.append(value)
        sql = f"SELECT {_COLUMNS} FROM thread_checkpoints WHERE {' AND '.join(where)} "
        sql += "ORDER BY checkpoint_id DESC, thread_id, checkpoint_ns"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._threads_conn("list_thread_checkpoints") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [ThreadCheckpoint(*row) for row in rows]

    def put_thread_writes(
        self,
        agent_id: str,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        writes: Sequence[ThreadWrite],
        *,
        replace: bool,
    ) -> None:
        """Add the writes in one transaction; existing ones kept unless ``replace``."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        key = (agent_id, thread_id, checkpoint_ns, checkpoint_id)
        rows = [(*key, w.task_id, w.idx, w.channel, w.type, w.value, w.task_path) for w in writes]
        with self._threads_conn("put_thread_writes", write=True) as conn:
            conn.executemany(
                f"{verb} INTO thread_writes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def get_thread_writes(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> list[ThreadWrite]:
        """The checkpoint's writes in ``(task_id, idx)`` order."""
        sql = """SELECT task_id, idx, channel, type, value, task_path FROM thread_writes
            WHERE agent_id = ? AND thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
            ORDER BY task_id, idx"""
        with self._threads_conn("get_thread_writes") as conn:
            rows = conn.execute(sql, (agent_id, thread_id, checkpoint_ns, checkpoint_id))
            return [ThreadWrite(*row) for row in rows.fetchall()]

    def delete_thread_checkpoints(
        self, agent_id: str, thread_id: str, keys: Sequence[CheckpointKey] | None = None
    ) -> None:
        """Delete checkpoints with their writes (the whole thread when ``keys`` is None)."""
        with self._threads_conn("delete_thread_checkpoints", write=True) as conn:
            for table in ("thread_checkpoints", "thread_writes"):
                if keys is None:
                    conn.execute(
                        f"DELETE FROM {table} WHERE agent_id = ? AND thread_id = ?",
                        (agent_id, thread_id),
                    )
                    continue
                conn.executemany(
                    f"DELETE FROM {table} WHERE agent_id = ? AND thread_id = ? "
                    "AND checkpoint_ns = ? AND checkpoint_id = ?",
                    [(agent_id, thread_id, ns, cid) for ns, cid in keys],
                )

    def list_threads(self, agent_id: str) -> list[str]:
        """The agent's threads that have checkpoints, sorted."""
        sql = "SELECT DISTINCT thread_id FROM thread_checkpoints WHERE agent_id = ? ORDER BY 1"
        with self._threads_conn("list_threads") as conn:
            return [row[0] for row in conn.execute(sql, (agent_id,)).fetchall()]
