"""Rules of the memory that hold whatever the backend: how a pattern is updated."""

from __future__ import annotations

from datetime import datetime

from ..errors import StateConflictError
from ..models import MemoryPattern, PatternVersion
from .base import MemoryStore

#: How many earlier versions of a pattern its ``history`` keeps.
PATTERN_HISTORY_LIMIT = 20


def store_pattern(store: MemoryStore, pattern: MemoryPattern, now: datetime) -> MemoryPattern:
    """Create the pattern, or update it if ``pattern.version`` is the stored version.

    An update is stored as ``version + 1`` with the previous statistics appended to
    ``history``; ``StateConflictError`` if the pattern changed since it was read.
    Returns what was stored.
    """
    current = store.get_pattern(pattern.agent_id, pattern.pattern_id)
    if current is None:
        store.put_pattern(pattern, expected_version=None)
        return pattern
    if current.version != pattern.version:
        raise StateConflictError(
            f"pattern {pattern.pattern_id!r} is at version {current.version}, "
            f"not {pattern.version}: reload it and apply the change again"
        )
    previous = PatternVersion(
        version=current.version,
        confidence=current.confidence,
        success_rate=current.success_rate,
        sample_size=current.sample_size,
        success_count=current.success_count,
        updated_at=current.updated_at,
    )
    updated = pattern.model_copy(
        update={
            "version": current.version + 1,
            "history": [*current.history, previous][-PATTERN_HISTORY_LIMIT:],
            "created_at": current.created_at,
            "updated_at": now,
        }
    )
    store.put_pattern(updated, expected_version=current.version)
    return updated


__all__ = ["PATTERN_HISTORY_LIMIT", "store_pattern"]
