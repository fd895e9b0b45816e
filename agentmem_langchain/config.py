"""Settings in one place: explicit arguments first, ``AGENTMEM_*`` environment variables second.

=============================  ==============================================================
variable                       meaning
=============================  ==============================================================
``AGENTMEM_STORE``             ``sqlite`` (default) or ``dynamodb``
``AGENTMEM_SQLITE_PATH``       the SQLite file (default ``.agentmem/memory.db``)
``AGENTMEM_DYNAMODB_ENDPOINT`` a DynamoDB endpoint URL (a local server, for instance)
``AGENTMEM_TABLE_PREFIX``      DynamoDB table name prefix (default ``agentmem_``)
``AWS_REGION``                 the AWS region for DynamoDB
``AGENTMEM_AGENT_ID``          the agent the CLI reports on when ``--agent-id`` is not given
=============================  ==============================================================
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .stores.base import MemoryStore

DEFAULT_SQLITE_PATH = Path(".agentmem") / "memory.db"
DEFAULT_TABLE_PREFIX = "agentmem_"
#: How long a decision is kept before its TTL expires it (consolidation keeps what it learnt).
DEFAULT_DECISION_TTL = timedelta(days=30)
#: Decisions younger than this are short-term memory (the seed's "< 1 day").
STM_WINDOW = timedelta(days=1)
STORE_KINDS = ("sqlite", "dynamodb")


def resolve_sqlite_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite file to use: ``path``, else ``AGENTMEM_SQLITE_PATH``, else the default."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("AGENTMEM_SQLITE_PATH") or DEFAULT_SQLITE_PATH)


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
    kind = (kind or os.environ.get("AGENTMEM_STORE") or "sqlite").strip().lower()
    if kind == "sqlite":
        from .stores.sqlite import SQLiteStore

        return SQLiteStore(resolve_sqlite_path(sqlite_path))
    if kind == "dynamodb":
        try:
            from .stores.dynamodb import DynamoDBStore
        except ImportError as exc:
            raise ConfigurationError(
                "the DynamoDB store needs boto3: pip install 'agentmem-langchain[dynamodb]'"
            ) from exc
        return DynamoDBStore(
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
            endpoint_url=endpoint_url or os.environ.get("AGENTMEM_DYNAMODB_ENDPOINT") or None,
            table_prefix=table_prefix
            or os.environ.get("AGENTMEM_TABLE_PREFIX")
            or DEFAULT_TABLE_PREFIX,
        )
    raise ConfigurationError(
        f"store: unknown store {kind!r}; choose one of {', '.join(STORE_KINDS)}"
    )


__all__ = [
    "DEFAULT_DECISION_TTL",
    "DEFAULT_SQLITE_PATH",
    "DEFAULT_TABLE_PREFIX",
    "STM_WINDOW",
    "STORE_KINDS",
    "open_store",
    "resolve_sqlite_path",
]
