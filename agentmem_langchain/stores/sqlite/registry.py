"""The agent registry: one row per agent, walked in agent id order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...models import AgentRegistration, enum_value
from .._common import to_micros
from .core import _StoreBase


class _RegistryMixin(_StoreBase):
    """The agent registry operations of ``SQLiteStore``."""

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
            params["cap"] = enum_value(capability)
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
