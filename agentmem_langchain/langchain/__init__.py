"""LangChain integrations: what records an agent's runs, and what brings its patterns back.

- :mod:`.callbacks` — ``AgentMemoryCallbackHandler``, sync and async (its hooks);
  :mod:`.matching` — what the capture thread does with their events; :mod:`.run_details` —
  a run's context, tags and marks as its record is written; :mod:`.graph_runs` — how
  LangGraph's runs (nodes, routers, interrupts) look to callbacks;
- :mod:`.tracing` — ``instrument()`` and ``AGENTMEM_TRACING``, through langchain-core's
  configure hooks; :mod:`.defaults` — the memory of a handler made without one;
- :mod:`.runs` — the run table the handlers share: LangChain payload readers, parent
  resolution, handler settings and counters;
- :mod:`.retriever` — ``PatternRetriever``, a LangChain retriever over learned patterns;
- :mod:`.middleware` — ``AgentMemoryMiddleware`` for LangChain 1.x ``create_agent`` (records
  runs and tool calls, puts fitting patterns into the prompt; :mod:`.prompt` chooses and
  renders them). It needs the ``langchain`` package, loaded only when the name is used;
- :mod:`.agent_runs` — the middleware's per-run bookkeeping and where its memory comes from;
- :mod:`.threads` — LangGraph interrupts and the runs that resume them;
- :mod:`.testing` — ``ScriptedChatModel``, a tool-calling chat model that needs no API key.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .callbacks import AgentMemoryCallbackHandler, AsyncAgentMemoryCallbackHandler
from .defaults import default_memory
from .retriever import PatternRetriever
from .tracing import instrument, uninstrument

if TYPE_CHECKING:
    from .middleware import AgentMemoryMiddleware


def __getattr__(name: str) -> Any:
    # The middleware imports the ``langchain`` package (the ``agents`` extra): on first use.
    if name == "AgentMemoryMiddleware":
        value = import_module(".middleware", __name__).AgentMemoryMiddleware
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AgentMemoryCallbackHandler",
    "AgentMemoryMiddleware",
    "AsyncAgentMemoryCallbackHandler",
    "PatternRetriever",
    "default_memory",
    "instrument",
    "uninstrument",
]
