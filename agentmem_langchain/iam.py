"""Deprecated path of :mod:`agentmem_langchain.stores.dynamodb.iam`, kept for one release."""

from __future__ import annotations

from ._moved import warn_moved
from .stores.dynamodb.iam import *  # noqa: F403
from .stores.dynamodb.iam import __all__ as __all__

warn_moved(__name__, "agentmem_langchain.stores.dynamodb.iam")
