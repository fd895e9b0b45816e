"""LangChain integrations: what records an agent's runs, and what brings its patterns back.

- :mod:`.callbacks` — ``AgentMemoryCallbackHandler``, sync and async;
- :mod:`.tracing` — ``instrument()`` and ``AGENTMEM_TRACING``, through langchain-core's
  configure hooks; :mod:`.defaults` — the memory of a handler made without one;
- :mod:`.runs` — the run table the handlers share: LangChain payload readers, parent
  resolution, handler settings and counters;
- :mod:`.retriever` — ``PatternRetriever``, a LangChain retriever over learned patterns.
"""

from __future__ import annotations

from .callbacks import AgentMemoryCallbackHandler, AsyncAgentMemoryCallbackHandler
from .defaults import default_memory
from .retriever import PatternRetriever
from .tracing import instrument, uninstrument

__all__ = [
    "AgentMemoryCallbackHandler",
    "AsyncAgentMemoryCallbackHandler",
    "PatternRetriever",
    "default_memory",
    "instrument",
    "uninstrument",
]
