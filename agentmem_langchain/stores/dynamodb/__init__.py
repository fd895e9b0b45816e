"""The DynamoDB backend: ``DynamoDBStore`` on four tables.

* :mod:`.store` - :class:`DynamoDBStore`, combining one mixin per access pattern:
  :mod:`.decisions`, :mod:`.patterns`, :mod:`.state` (state and checkpoints),
  :mod:`.signals` and :mod:`.registry`, on the shared helpers of :mod:`._core`;
* :mod:`.client` - the boto3 client: retries, timeouts, batching, error translation,
  table setup; :mod:`.usage` - consumed-capacity counters;
* :mod:`.schema` - tables, indexes and how models become items (no boto3 needed).

Names are loaded on first use, so ``.schema`` imports without boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import DynamoDBClientManager, get_client_manager
    from .store import DynamoDBStore


def __getattr__(name: str) -> Any:
    if name == "DynamoDBStore":
        from .store import DynamoDBStore

        return DynamoDBStore
    if name in ("DynamoDBClientManager", "get_client_manager"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DynamoDBClientManager", "DynamoDBStore", "get_client_manager"]
