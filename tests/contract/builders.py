"""Small builders shared by the contract tests: a fixed time origin and terse records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest

from agentmem_langchain.models import (
    AgentSignal,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    MemoryPattern,
)
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores._common import epoch_seconds
from agentmem_langchain.testing import FakeClock

from .backends import BACKENDS

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "agent-a"
OTHER = "agent-b"
THIRD = "agent-c"


def at(seconds: float) -> datetime:
    """``T0`` shifted by ``seconds`` (negative is earlier)."""
    return T0 + timedelta(seconds=seconds)


def ttl_in(seconds: int) -> int:
    """A ``ttl`` that passes ``seconds`` after ``T0``."""
    return epoch_seconds(T0) + seconds


def outcome(
    success: bool, *, latency_ms: float | None = None, quality_score: float | None = None
) -> DecisionOutcome:
    return DecisionOutcome(
        success=success, latency_ms=latency_ms, quality_score=quality_score, recorded_at=T0
    )


def decision(
    agent_id: str = AGENT,
    *,
    seconds: float = -60,
    decision_type: str = "tool_call",
    success: bool | None = None,
    confidence: float | None = None,
    latency_ms: float | None = None,
    **fields: Any,
) -> DecisionRecord:
    """A decision made ``seconds`` after ``T0`` (a minute before, by default)."""
    result = None if success is None else outcome(success, latency_ms=latency_ms)
    return DecisionRecord(
        agent_id=agent_id,
        decision_type=decision_type,
        timestamp=at(seconds),
        reasoning=DecisionReasoning(confidence=confidence),
        outcome=result,
        **fields,
    )


def pattern(agent_id: str = AGENT, *, confidence: float = 0.5, **fields: Any) -> MemoryPattern:
    return MemoryPattern(
        agent_id=agent_id,
        confidence=confidence,
        description=f"pattern at {confidence}",
        created_at=T0,
        updated_at=T0,
        **fields,
    )


def signal(
    source: str = AGENT,
    *,
    targets: tuple[str, ...] = (OTHER,),
    seconds: float = -60,
    priority: int = 0,
    **fields: Any,
) -> AgentSignal:
    return AgentSignal(
        source_agent_id=source,
        signal_type="alert",
        target_agent_ids=list(targets),
        created_at=at(seconds),
        priority=priority,
        **fields,
    )


def ids(items: list[Any], attribute: str = "decision_id") -> list[str]:
    return [getattr(item, attribute) for item in items]


@contextmanager
def fresh_store(backend: str, request: pytest.FixtureRequest) -> Iterator[MemoryStore]:
    """A new store of ``backend`` in its own directory, for one hypothesis example."""
    with TemporaryDirectory(prefix="agentmem-contract-") as tmp:
        made = BACKENDS[backend](Path(tmp), FakeClock(T0), request)
        try:
            yield made
        finally:
            made.close()
