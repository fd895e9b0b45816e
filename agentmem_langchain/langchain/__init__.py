"""LangChain integrations: what records an agent's runs, and what brings its patterns back.

- :mod:`.callbacks` — ``AgentMemoryCallbackHandler`` (sync and async), ``instrument()``, and
  ``AGENTMEM_TRACING`` through langchain-core's configure hook;
- :mod:`.runs` — the run table the handlers share: LangChain payload readers, parent
  resolution, handler settings and counters;
- :mod:`.retriever` — ``PatternRetriever``, a LangChain retriever over learned patterns.
"""

from __future__ import annotations

from .callbacks import (
    AgentMemoryCallbackHandler,
    AsyncAgentMemoryCallbackHandler,
    default_memory,
    instrument,
    uninstrument,
)
from .retriever import PatternRetriever

__all__ = [
    "AgentMemoryCallbackHandler",
    "AsyncAgentMemoryCallbackHandler",
    "PatternRetriever",
    "default_memory",
    "instrument",
    "uninstrument",
]
