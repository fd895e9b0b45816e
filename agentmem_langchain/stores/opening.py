"""Opening the store the settings name (:mod:`agentmem_langchain.config`)."""

from __future__ import annotations

import os

from .. import _checks as check
from .. import config
from ..errors import ConfigurationError
from .base import MemoryStore


def open_store(
    kind: str | None = None,
    *,
    sqlite_path: str | os.PathLike[str] | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    table_prefix: str | None = None,
) -> MemoryStore:
    """Open the store named by ``kind`` (or ``AGENTMEM_STORE``; SQLite when neither is set).

    >>> store = open_store("sqlite", sqlite_path="/tmp/agentmem-doc.db")
    """
    check.optional_text(kind, "kind")
    check.path(sqlite_path, "sqlite_path")
    for name, value in [("endpoint_url", endpoint_url), ("region", region)]:
        check.optional_text(value, name)
    check.optional_text(table_prefix, "table_prefix")
    kind = config.store_kind(kind)
    if kind == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(config.resolve_sqlite_path(sqlite_path))
    if kind == "dynamodb":
        try:
            from .dynamodb import DynamoDBStore
        except ImportError as exc:
            raise ConfigurationError(
                "the DynamoDB store needs boto3: pip install 'agentmem-langchain[dynamodb]'"
            ) from exc
        return DynamoDBStore(
            region=config.aws_region(region),
            endpoint_url=config.dynamodb_endpoint(endpoint_url),
            table_prefix=config.table_prefix(table_prefix),
        )
    raise ConfigurationError(
        f"store: unknown store {kind!r}; choose one of {', '.join(config.STORE_KINDS)}"
    )


__all__ = ["open_store"]
