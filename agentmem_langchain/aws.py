"""Deprecated path of :mod:`agentmem_langchain.stores.dynamodb.client`, kept for one release."""

from __future__ import annotations

from ._moved import warn_moved
from .stores.dynamodb.client import *  # noqa: F403
from .stores.dynamodb.client import __all__ as __all__

warn_moved(__name__, "agentmem_langchain.stores.dynamodb.client")
