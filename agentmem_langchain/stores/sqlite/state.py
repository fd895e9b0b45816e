"""Agent state, saved by version, and its checkpoints."""

from __future__ import annotations

import sqlite3

from ...errors import NotFoundError
from ...models import AgentState, StateCheckpoint
from .._common import check_snapshot, to_micros
from ..rules import check_state_version, stamp_state
from .core import _StoreBase

_NEWEST_CHECKPOINT = """
SELECT body FROM checkpoints WHERE agent_id = :agent {}
ORDER BY created_at DESC, rowid DESC LIMIT 1"""


class _StateMixin(_StoreBase):
    """The state and checkpoint operations of ``SQLiteStore``."""

    def save_state(self, state: AgentState) -> AgentState:
        """Save if the stored version equals ``state.version`` (0: none stored yet); returns
        the stored state (``version + 1``, ``updated_at`` = now). ``StateConflictError`` if
        another writer saved first."""
        with self._transaction("save_state", write=True) as conn:
            stored = self._state_version(conn, state.agent_id)
            check_state_version(state, stored)
            return self._write_state(conn, state, stored + 1)

    def _state_version(self, conn: sqlite3.Connection, agent_id: str) -> int:
        row = conn.execute("SELECT version FROM agent_state WHERE agent_id = ?", (agent_id,))
        found = row.fetchone()
        return 0 if found is None else int(found[0])

    def _write_state(self, conn: sqlite3.Connection, state: AgentState, version: int) -> AgentState:
        saved = stamp_state(state, version, self._clock())
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
