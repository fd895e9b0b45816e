"""Deprecated: the DynamoDB client moved to :mod:`agentmem_langchain.stores.dynamodb.client`.

This module re-exports its names for one release and warns on import.
"""

from __future__ import annotations

import warnings

from .stores.dynamodb.client import (
    DEFAULT_TABLE_PREFIX,
    DEFAULT_TIMEOUT,
    DynamoDBClientManager,
    TableSetupReport,
    Usage,
    UsageLine,
    UsageMeter,
    get_client_manager,
    translated,
)

warnings.warn(
    "agentmem_langchain.aws is deprecated; import from agentmem_langchain.stores.dynamodb.client",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "DEFAULT_TIMEOUT",
    "DynamoDBClientManager",
    "TableSetupReport",
    "Usage",
    "UsageLine",
    "UsageMeter",
    "get_client_manager",
    "translated",
]
