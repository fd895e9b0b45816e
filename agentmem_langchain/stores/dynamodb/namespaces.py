"""Namespaced items of LangGraph's ``BaseStore`` in the ``agent_state`` table
(``docs/dynamodb.md``), all in the agent's partition; sort keys:

* ``NSITEM#{path}#{key}``: one item (``path`` as in ``stores/namespaces.py``: segments
  escaped, each followed by ``/``), so a prefix search is one ``begins_with`` Query that
  respects segment boundaries.
* ``NSNAME#{path}``: one marker per namespace that holds items, written with its first item
  and deleted with its last, so ``list_namespaces`` reads markers, never items or the table.

An item's value and vectors stay in the item: one item is at most 400 KB (DynamoDB's
limit), which ``AgentMemoryStore`` checks before writing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import StateConflictError
from ..namespaces import Namespace, NamespaceItem, namespace_path
from . import schema
from ._core import StoreCore
from .schema import Item, n, s


def _item_sk(namespace: Namespace, key: str) -> str:
    return f"NSITEM#{namespace_path(namespace)}#{key}"


class NamespacesMixin(StoreCore):
    """The namespaced item methods of ``DynamoDBStore`` (table ``agent_state``)."""

    def put_namespace_item(self, agent_id: str, item: NamespaceItem) -> None:
        """Put the item, then its namespace's marker (idempotent)."""
        record: Item = {
            "agent_id": s(agent_id),
            "sk": s(_item_sk(item.namespace, item.key)),
            "ns": {"L": [s(x) for x in item.namespace]},
            "key": s(item.key),
            "value": s(item.value),
            "created_at": n(item.created_at),
            "updated_at": n(item.updated_at),
        }
        for name, value in (("expires_at", item.expires_at), ("ttl_minutes", item.ttl_minutes)):
            if value is not None:
                record[name] = n(value)
        if item.vectors is not None:
            record["vectors"] = s(item.vectors)
        self._put(self._state, "put_namespace_item", record, schema.STATE)
        marker = {
            "agent_id": s(agent_id),
            "sk": s(f"NSNAME#{namespace_path(item.namespace)}"),
            "ns": record["ns"],
        }
        self._put(self._state, "put_namespace_item", marker, schema.STATE)

    def get_namespace_item(
        self, agent_id: str, namespace: Namespace, key: str
    ) -> NamespaceItem | None:
        """The item (a consistent GetItem), or None."""
        response = self._io.call(
            "GetItem",
            "get_namespace_item",
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s(_item_sk(namespace, key))},
            ConsistentRead=True,
        )
        found = response.get("Item")
        return None if found is None else _from_item(found)

    def delete_namespace_item(self, agent_id: str, namespace: Namespace, key: str) -> None:
        """Delete the item, and its namespace's marker if it was the last item there."""
        self._io.call(
            "DeleteItem",
            "delete_namespace_item",
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s(_item_sk(namespace, key))},
        )
        if self._holds_items(agent_id, namespace):
            return
        marker: Item = {"agent_id": s(agent_id), "sk": s(f"NSNAME#{namespace_path(namespace)}")}
        self._io.call("DeleteItem", "delete_namespace_item", TableName=self._state, Key=marker)
        if self._holds_items(agent_id, namespace):  # a put raced the delete: restore its marker
            marker["ns"] = {"L": [s(x) for x in namespace]}
            self._put(self._state, "delete_namespace_item", marker, schema.STATE)

    def _holds_items(self, agent_id: str, namespace: Namespace) -> bool:
        left = self._io.call(
            "Query",
            "delete_namespace_item",
            TableName=self._state,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :p)",
            ExpressionAttributeNames={"#pk": "agent_id", "#sk": "sk"},
            ExpressionAttributeValues={
                ":pk": s(agent_id),
                ":p": s(f"NSITEM#{namespace_path(namespace)}#"),
            },
            ProjectionExpression="#sk",
            ConsistentRead=True,
            Limit=1,
        )
        return bool(left.get("Items"))

    def search_namespace_items(self, agent_id: str, prefix: Namespace) -> list[NamespaceItem]:
        """Items under ``prefix``: one Query of ``NSITEM#{path}``."""
        found = self._under(agent_id, f"NSITEM#{namespace_path(prefix)}", "search_namespace_items")
        return [_from_item(item) for item in found]

    def list_item_namespaces(self, agent_id: str, prefix: Namespace) -> list[Namespace]:
        """Namespaces under ``prefix``: one Query of the ``NSNAME#`` markers."""
        found = self._under(agent_id, f"NSNAME#{namespace_path(prefix)}", "list_item_namespaces")
        return sorted(tuple(x["S"] for x in item["ns"]["L"]) for item in found)

    def refresh_namespace_items(
        self, agent_id: str, expiries: Sequence[tuple[Namespace, str, float]]
    ) -> None:
        """One UpdateItem per item, only where the item still exists."""
        for namespace, key, expires_at in expiries:
            try:
                self._io.call(
                    "UpdateItem",
                    "refresh_namespace_items",
                    TableName=self._state,
                    Key={"agent_id": s(agent_id), "sk": s(_item_sk(namespace, key))},
                    UpdateExpression="SET #e = :e",
                    ConditionExpression="attribute_exists(#sk)",
                    ExpressionAttributeNames={"#e": "expires_at", "#sk": "sk"},
                    ExpressionAttributeValues={":e": n(expires_at)},
                )
            except StateConflictError:
                continue  # deleted meanwhile: nothing to refresh


def _from_item(item: Item) -> NamespaceItem:
    return NamespaceItem(
        namespace=tuple(x["S"] for x in item["ns"]["L"]),
        key=item["key"]["S"],
        value=item["value"]["S"],
        created_at=float(item["created_at"]["N"]),
        updated_at=float(item["updated_at"]["N"]),
        expires_at=float(item["expires_at"]["N"]) if "expires_at" in item else None,
        ttl_minutes=float(item["ttl_minutes"]["N"]) if "ttl_minutes" in item else None,
        vectors=item["vectors"]["S"] if "vectors" in item else None,
    )
