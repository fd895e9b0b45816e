"""Deprecated path of :mod:`agentmem_langchain.stores.dynamodb.schema`, kept for one release."""

from __future__ import annotations

from .._moved import warn_moved
from .dynamodb.schema import *  # noqa: F403
from .dynamodb.schema import __all__ as __all__

warn_moved(__name__, "agentmem_langchain.stores.dynamodb.schema")
