"""Outcome counters (:class:`~agentmem_langchain.stores.base.Evidence`): one row per group,
written conditionally on its version."""

from __future__ import annotations

from ..base import Evidence
from ..rules import check_evidence_write
from .core import _StoreBase


class _EvidenceMixin(_StoreBase):
    """The evidence operations of ``SQLiteStore`` (table ``evidence``)."""

    def get_evidence(self, agent_id: str, key: str) -> Evidence | None:
        """The counters stored under ``key``, or None."""
        with self._transaction("get_evidence") as conn:
            row = conn.execute(
                "SELECT version, data FROM evidence WHERE agent_id = ? AND key = ?",
                (agent_id, key),
            ).fetchone()
        return None if row is None else Evidence(agent_id, key, int(row[0]), str(row[1]))

    def put_evidence(self, evidence: Evidence, *, expected_version: int | None) -> None:
        """Store ``evidence`` if ``expected_version`` (None: none) is the stored version."""
        with self._transaction("put_evidence", write=True) as conn:
            row = conn.execute(
                "SELECT version FROM evidence WHERE agent_id = ? AND key = ?",
                (evidence.agent_id, evidence.key),
            ).fetchone()
            check_evidence_write(evidence, None if row is None else int(row[0]), expected_version)
            conn.execute(
                "INSERT OR REPLACE INTO evidence VALUES (?, ?, ?, ?)",
                (evidence.agent_id, evidence.key, evidence.version, evidence.data),
            )
