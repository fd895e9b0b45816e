"""Signals: one row each, plus one delivery row per target (claims, leases, processing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

from ...enums import ProcessingStatus
from ...errors import NotFoundError
from ...models import AgentSignal
from .._common import processing_view, to_micros
from ..rules import check_limit
from .core import _StoreBase

# A broadcast has one shared delivery row for this target; an agent gets a row of its own only
# when it claims or processes the signal ('*' can never be an agent id).
_BROADCAST = "*"

# How many published signals iter_published_signals reads per transaction.
_PUBLISHED_PAGE = 200

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


class _SignalsMixin(_StoreBase):
    """The signal operations of ``SQLiteStore``."""

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
        check_limit(limit)
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
        check_limit(limit)
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
