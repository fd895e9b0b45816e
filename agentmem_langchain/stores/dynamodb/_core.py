"""What every part of :class:`~.store.DynamoDBStore` shares: the client, clock and tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from .._common import epoch_seconds
from . import schema
from .client import DynamoDBClientManager
from .schema import Item, s

LIVE = "attribute_not_exists(#ttl) OR #ttl > :now"
"""Filter keeping items whose ``ttl`` (epoch seconds, ``:now``) has not passed."""


class StoreCore:
    """State and IO helpers the access-pattern mixins of ``DynamoDBStore`` build on."""

    _io: DynamoDBClientManager
    _clock: Callable[[], datetime]
    _decisions: str
    _patterns: str
    _state: str
    _signals: str

    def _expired(self, item: Item) -> bool:
        ttl = item.get("ttl")
        return ttl is not None and schema.integer(ttl) <= self._now_s()

    def _now_s(self) -> int:
        return epoch_seconds(self._clock())

    def _put(self, table: str, op: str, item: Item, spec: schema.TableSpec, **extra: Any) -> Any:
        return self._io.call(
            "PutItem",
            op,
            schema.index_write_units(spec, None, item),
            TableName=table,
            Item=item,
            **extra,
        )

    def _under(
        self,
        agent_id: str,
        prefix: str,
        op: str,
        *,
        keys_only: bool = False,
        project: str | None = None,
    ) -> Iterator[Item]:
        """Every item of the agent's partition of the state table whose sort key starts with
        ``prefix``, in key order (strongly consistent; every page followed). ``keys_only``
        reads only the sort keys, ``project`` also that attribute."""
        params: dict[str, Any] = {
            "TableName": self._state,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :p)",
            "ExpressionAttributeNames": {"#pk": "agent_id", "#sk": "sk"},
            "ExpressionAttributeValues": {":pk": s(agent_id), ":p": s(prefix)},
            "ConsistentRead": True,
        }
        if keys_only or project:
            params["ProjectionExpression"] = "#sk" + (", #x" if project else "")
            if project:
                params["ExpressionAttributeNames"]["#x"] = project
        for page in self._io.query_pages(op, **params):
            yield from page.get("Items", [])
