"""Decisions: writes, pages, lineage and ``decision_stats``, computed inside SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...errors import NotFoundError
from ...models import DecisionOutcome, DecisionRecord, DecisionStats, Page, enum_value
from .._common import nearest_rank_index, stats_from_totals, to_micros
from ..base import EncodedDecision, encode_record
from ..rules import check_limit
from .core import _page, _position, _StoreBase

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


def _decision_row(decision: EncodedDecision) -> tuple[Any, ...]:
    success = decision.success
    return (
        decision.agent_id,
        decision.decision_id,
        to_micros(decision.timestamp),
        enum_value(decision.decision_type),
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
    """``DecisionStats`` from a row of ``_STATS_TOTALS``."""
    total, successes, decided, confidence_sum, confidences, _ = totals
    return stats_from_totals(
        agent_id,
        start,
        end,
        total=total,
        successes=successes,
        failures=decided - successes,
        confidence_sum=confidence_sum,
        confidence_count=confidences,
        latency_percentiles=latencies,
        by_type=by_type,
    )


class _DecisionsMixin(_StoreBase):
    """The decision operations of ``SQLiteStore``."""

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
            params["type"] = enum_value(decision_type)
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
        check_limit(limit)
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
