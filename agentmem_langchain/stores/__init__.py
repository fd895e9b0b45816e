"""Memory stores: the ``MemoryStore`` protocol and its backends.

``SQLiteStore`` (embedded, the default) is imported eagerly; ``DynamoDBStore`` loads boto3
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import MemoryStore
from .opening import open_store

if TYPE_CHECKING:
    from .dynamodb import DynamoDBStore
    from .sqlite import SQLiteStore


def __getattr__(name: str) -> Any:
    if name == "SQLiteStore":
        from .sqlite import SQLiteStore

        return SQLiteStore
    if name == "DynamoDBStore":
        from .dynamodb import DynamoDBStore

        return DynamoDBStore
    raise AttributeError(name)


__all__ = ["DynamoDBStore", "MemoryStore", "SQLiteStore", "open_store"]
