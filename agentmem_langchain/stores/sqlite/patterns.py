"""Patterns: versioned writes with an optimistic check, history, and shares."""

from __future__ import annotations

from typing import Any

from ...models import MemoryPattern, Page, enum_value
from ..rules import check_limit, check_pattern_write
from .core import _page, _position, _StoreBase

_UPSERT_PATTERN = """
INSERT INTO patterns (agent_id, pattern_id, version, confidence, status, body)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (agent_id, pattern_id) DO UPDATE SET version = excluded.version,
    confidence = excluded.confidence, status = excluded.status, body = excluded.body"""


class _PatternsMixin(_StoreBase):
    """The pattern operations of ``SQLiteStore``."""

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
            check_pattern_write(pattern, None if row is None else row[0], expected_version)
            conn.execute(
                _UPSERT_PATTERN,
                (*key, pattern.version, pattern.confidence, enum_value(pattern.status), body),
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
        check_limit(limit)
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
        check_limit(limit)
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
