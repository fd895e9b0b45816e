"""agentmem-langchain: a memory of their own decisions for LangChain agents.

>>> from agentmem_langchain import MemoryManager, DecisionLogger, DecisionType
>>> memory = MemoryManager(agent_id="btc-agent-001")
>>> logger = DecisionLogger(memory)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .config import tracing_enabled
from .decision_logger import DecisionLogger
from .enums import (
    DecisionType,
    MemoryType,
    OutcomeStatus,
    PatternStatus,
    PatternType,
    ProcessingStatus,
    SignalPriority,
    SignalType,
)
from .errors import (
    AgentMemError,
    ConfigurationError,
    NotFoundError,
    StateConflictError,
    StoreUnavailableError,
    ValidationError,
)
from .memory import MemoryManager
from .models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
    Page,
    PatternVersion,
    StateCheckpoint,
)
from .stores import MemoryStore, open_store

if TYPE_CHECKING:
    from .analytics import Analytics
    from .analytics.cloudwatch import CloudWatchExporter
    from .coordination import MultiAgentCoordinator
    from .decorators import ContextThreadPoolExecutor, current_decision, decision
    from .langchain.callbacks import AgentMemoryCallbackHandler, AsyncAgentMemoryCallbackHandler
    from .langchain.middleware import AgentMemoryMiddleware
    from .langchain.retriever import PatternRetriever
    from .langchain.tracing import instrument, uninstrument
    from .langgraph import AgentMemorySaver, AgentMemoryStore
    from .learning import ConsolidationScheduler, PatternLearner, consolidate

__version__ = "0.1.0"

# Capture, learning and retrieval load langchain-core: imported on first use, not here.
_LAZY = {
    "Analytics": "analytics",
    "CloudWatchExporter": "analytics.cloudwatch",
    "AgentMemoryCallbackHandler": "langchain.callbacks",
    "AsyncAgentMemoryCallbackHandler": "langchain.callbacks",
    "AgentMemoryMiddleware": "langchain.middleware",
    "AgentMemorySaver": "langgraph.saver",
    "AgentMemoryStore": "langgraph.store",
    "instrument": "langchain.tracing",
    "uninstrument": "langchain.tracing",
    "ContextThreadPoolExecutor": "decorators",
    "current_decision": "decorators",
    "decision": "decorators",
    "MultiAgentCoordinator": "coordination",
    "ConsolidationScheduler": "learning",
    "PatternLearner": "learning",
    "consolidate": "learning",
    "PatternRetriever": "langchain.retriever",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def flush(timeout: float | None = None) -> bool:
    """Wait until every decision captured in this process is in its store.

    True when everything accepted is durable; False if ``timeout`` seconds (default: the
    recorders' ``flush_timeout``) passed first, for instance because a store is down (what
    was not written then is in the local journal, replayed later). Never raises.
    """
    from ._checks import optional_real
    from .capture.batch import flush_all

    return flush_all(optional_real(timeout, "timeout", low=0))


__all__ = [
    "AgentMemError",
    "AgentMemoryCallbackHandler",
    "AgentMemoryMiddleware",
    "AgentMemorySaver",
    "AgentMemoryStore",
    "AgentRegistration",
    "AgentSignal",
    "AgentState",
    "Analytics",
    "AsyncAgentMemoryCallbackHandler",
    "CloudWatchExporter",
    "ConfigurationError",
    "ConsolidationScheduler",
    "ContextThreadPoolExecutor",
    "DecisionContext",
    "DecisionLogger",
    "DecisionOutcome",
    "DecisionReasoning",
    "DecisionRecord",
    "DecisionStats",
    "DecisionType",
    "MemoryManager",
    "MemoryPattern",
    "MemoryStore",
    "MemoryType",
    "MultiAgentCoordinator",
    "NotFoundError",
    "OutcomeStatus",
    "Page",
    "PatternLearner",
    "PatternRetriever",
    "PatternStatus",
    "PatternType",
    "PatternVersion",
    "ProcessingStatus",
    "SignalPriority",
    "SignalType",
    "StateCheckpoint",
    "StateConflictError",
    "StoreUnavailableError",
    "ValidationError",
    "__version__",
    "consolidate",
    "current_decision",
    "decision",
    "flush",
    "instrument",
    "open_store",
    "uninstrument",
]

if tracing_enabled():
    # Registers langchain-core's configure hook for AGENTMEM_TRACING (see .langchain.tracing): no
    # handler, store or thread is made here; langchain-core adds a handler to each run while
    # the variable is on. Without it, langchain-core is not loaded at all.
    import_module(".langchain.tracing", __name__)
