"""Deprecated path of :mod:`agentmem_langchain.langchain`, kept for one release."""

from __future__ import annotations

import warnings

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

warnings.warn(
    f"{__name__} is deprecated; import from agentmem_langchain.langchain",
    DeprecationWarning,
    stacklevel=2,
)
