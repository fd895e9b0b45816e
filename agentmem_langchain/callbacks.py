"""Deprecated path of :mod:`agentmem_langchain.langchain`, kept for one release."""

from __future__ import annotations

from ._moved import warn_moved
from .langchain.callbacks import AgentMemoryCallbackHandler, AsyncAgentMemoryCallbackHandler
from .langchain.defaults import default_memory
from .langchain.tracing import instrument, uninstrument

__all__ = [
    "AgentMemoryCallbackHandler",
    "AsyncAgentMemoryCallbackHandler",
    "default_memory",
    "instrument",
    "uninstrument",
]

warn_moved(__name__, "agentmem_langchain.langchain")
