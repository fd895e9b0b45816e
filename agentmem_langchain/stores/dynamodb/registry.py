"""The agent registry: register, heartbeat, look up, list and deregister agents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...errors import StateConflictError
from ...models import AgentRegistration, enum_value
from .._common import to_micros
from . import schema
from ._core import StoreCore
from .schema import STATE, n, s


class RegistryMixin(StoreCore):
    """The registry methods of ``DynamoDBStore`` (registration items of ``agent_state``).

    A registration is the item (agent_id, "REGISTRATION") of the agent's own state
    partition, so the agent's least-privilege credentials register, heartbeat and
    deregister it, and cannot write anyone else's. Every registration also carries
    ``registry_pk = "#agents"``: AgentRegistryIndex (projected whole, sorted by agent id)
    lists them with one paginated Query, the only read of the registry that crosses agents.
    """

    def register_agent(self, registration: AgentRegistration) -> None:
        item = schema.registration_item(registration)
        self._io.call(
            "PutItem",
            "register_agent",
            lambda r: schema.index_write_units(STATE, r.get("Attributes"), item),
            TableName=self._state,
            Item=item,
            ReturnValues="ALL_OLD",
        )

    def heartbeat(self, agent_id: str, at: datetime) -> bool:
        beat = n(to_micros(at))

        def estimate(response: dict[str, Any]) -> float:
            old = response.get("Attributes", {})
            return schema.index_write_units(STATE, old, {**old, "last_heartbeat": beat})

        try:
            self._io.call(
                "UpdateItem",
                "heartbeat",
                estimate,
                TableName=self._state,
                Key=schema.registration_key(agent_id),
                UpdateExpression="SET #hb = :hb",
                ConditionExpression="attribute_exists(#reg)",
                ExpressionAttributeNames={"#hb": "last_heartbeat", "#reg": "registry_pk"},
                ExpressionAttributeValues={":hb": beat},
                ReturnValues="ALL_OLD",
            )
        except StateConflictError:
            return False  # not registered: the condition keeps the update from creating it
        return True

    def get_agent(self, agent_id: str) -> AgentRegistration | None:
        response = self._io.call(
            "GetItem",
            "get_agent",
            TableName=self._state,
            Key=schema.registration_key(agent_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return schema.registration_from_item(item) if item else None

    def list_agents(
        self, *, seen_since: datetime | None = None, capability: str | None = None
    ) -> list[AgentRegistration]:
        names = {"#pk": "registry_pk"}
        values: dict[str, Any] = {":pk": s(schema.REGISTRY)}
        filters = []
        if seen_since is not None:
            filters.append("#hb >= :since")
            names["#hb"], values[":since"] = "last_heartbeat", n(to_micros(seen_since))
        if capability is not None:
            filters.append("contains(#caps, :cap)")
            names["#caps"], values[":cap"] = "capabilities", s(enum_value(capability))
        params: dict[str, Any] = {
            "TableName": self._state,
            "IndexName": "AgentRegistryIndex",
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": True,
        }
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        since_us = to_micros(seen_since) if seen_since is not None else None
        found: list[AgentRegistration] = []
        for page in self._io.query_pages("list_agents", **params):
            for item in page.get("Items", []):
                registration = schema.registration_from_item(item)
                if registration is None:
                    continue  # an item of the agent's partition that is not its registration
                if since_us is not None and to_micros(registration.last_heartbeat) < since_us:
                    continue
                if capability is not None and capability not in registration.capabilities:
                    continue
                found.append(registration)
        return found

    def deregister_agent(self, agent_id: str) -> bool:
        response = self._io.call(
            "DeleteItem",
            "deregister_agent",
            lambda r: schema.index_write_units(STATE, r.get("Attributes"), None),
            TableName=self._state,
            Key=schema.registration_key(agent_id),
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))
