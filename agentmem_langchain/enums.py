"""Enumerations of the data model.

Every enum is a ``str`` (or ``int``) enum so values compare equal to their plain form and
serialise to JSON unchanged: ``DecisionType.SOURCE_SELECTION == "source_selection"``.
"""

from __future__ import annotations

from enum import Enum, IntEnum


class DecisionType(str, Enum):
    """The kinds of decision the library knows; any other non-empty string is accepted too."""

    SOURCE_SELECTION = "source_selection"
    QUERY_EXECUTION = "query_execution"
    SIGNAL_GENERATION = "signal_generation"
    RISK_ASSESSMENT = "risk_assessment"
    STRATEGY_SELECTION = "strategy_selection"
    TOOL_CALL = "tool_call"
    CHAIN_STEP = "chain_step"
    LLM_CALL = "llm_call"
    CUSTOM = "custom"

    def __str__(self) -> str:
        return self.value


class MemoryType(str, Enum):
    """Short-term memory holds raw decisions (< 1 day); long-term memory holds patterns."""

    STM = "stm"
    LTM = "ltm"

    def __str__(self) -> str:
        return self.value


class OutcomeStatus(str, Enum):
    """Where a decision stands: no outcome yet, succeeded or failed."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"

    def __str__(self) -> str:
        return self.value


class PatternType(str, Enum):
    """What a learned pattern tells an agent to do."""

    SUCCESS = "success"  # "in this context, this choice works"
    AVOID = "avoid"  # "in this context, this choice fails"
    INSIGHT = "insight"  # free-form knowledge a user stores
    CUSTOM = "custom"

    def __str__(self) -> str:
        return self.value


class PatternStatus(str, Enum):
    """Retired patterns are kept (with their history) but no longer served."""

    ACTIVE = "active"
    RETIRED = "retired"

    def __str__(self) -> str:
        return self.value


class SignalType(str, Enum):
    """Common kinds of signal between agents; any other non-empty string is accepted too."""

    MARKET_SIGNAL = "market_signal"
    PATTERN_SHARED = "pattern_shared"
    ALERT = "alert"
    REQUEST = "request"
    RESPONSE = "response"
    CUSTOM = "custom"

    def __str__(self) -> str:
        return self.value


class SignalPriority(IntEnum):
    """Higher is delivered first; any integer in the signed 32-bit range is accepted."""

    LOW = 0
    NORMAL = 5
    HIGH = 10
    CRITICAL = 20


class ProcessingStatus(str, Enum):
    """A signal's state for one target agent."""

    PENDING = "pending"
    CLAIMED = "claimed"
    PROCESSED = "processed"

    def __str__(self) -> str:
        return self.value


__all__ = [
    "DecisionType",
    "MemoryType",
    "OutcomeStatus",
    "PatternStatus",
    "PatternType",
    "ProcessingStatus",
    "SignalPriority",
    "SignalType",
]
