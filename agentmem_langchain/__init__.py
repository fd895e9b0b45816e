"""agentmem-langchain: a memory of their own decisions for LangChain agents.

>>> from agentmem_langchain import MemoryManager, DecisionLogger, DecisionType
>>> memory = MemoryManager(agent_id="btc-agent-001")
>>> logger = DecisionLogger(memory)
"""

from __future__ import annotations

from .config import open_store
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
from .stores import MemoryStore

__version__ = "0.1.0"

__all__ = [
    "AgentMemError",
    "AgentSignal",
    "AgentState",
    "ConfigurationError",
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
    "NotFoundError",
    "OutcomeStatus",
    "Page",
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
    "open_store",
]
