"""Rules of the memory that hold whatever the backend: page sizes, the version checks of
patterns and state, what a saved state looks like, and how a pattern is updated."""

from __future__ import annotations

import itertools
from datetime import datetime

from ..errors import StateConflictError, ValidationError, _repr
from ..models import AgentState, MemoryPattern, PatternVersion
from .base import Evidence, MemoryStore

#: How many earlier versions of a pattern its ``history`` keeps.
PATTERN_HISTORY_LIMIT = 20

# Pattern writes seen in this process: caches of patterns compare it to know they are stale.
_pattern_writes = itertools.count(1)
_pattern_generation = 0


def note_pattern_write() -> None:
    """Count a pattern write of this process (see :func:`pattern_generation`)."""
    global _pattern_generation
    _pattern_generation = next(_pattern_writes)  # next() on a count is atomic


def pattern_generation() -> int:
    """A number that changes whenever this process writes a pattern, to any store.

    Every backend's ``put_pattern`` passes :func:`check_pattern_version` before it writes and
    :func:`store_pattern` counts again once the write is done, so a cache that read its
    patterns when the generation was ``g`` knows they may be stale once it is not ``g``.
    """
    return _pattern_generation


def check_limit(limit: int) -> None:
    """A page size is at least 1; anything less is a ``ValidationError`` on ``limit``."""
    if limit < 1:
        raise ValidationError(
            f"limit: must be at least 1 (got {_repr(limit)})", field="limit", value=limit
        )


def pattern_version_conflict(
    pattern: MemoryPattern, stored: int | None, expected: int | None
) -> StateConflictError:
    """The error of a pattern write that expected version ``expected`` (None: no pattern)
    while ``stored`` (None: none) is stored."""
    name = f"pattern {pattern.pattern_id!r} of agent {pattern.agent_id!r}"
    if expected is None:
        return StateConflictError(
            f"{name} already exists at version {stored}; pass expected_version to update it"
        )
    found = "none is stored" if stored is None else f"version {stored} is stored"
    return StateConflictError(f"{name}: expected version {expected}, but {found}")


def check_pattern_version(pattern: MemoryPattern, expected: int | None) -> None:
    """An update must raise the version: ``StateConflictError`` unless ``pattern.version``
    is greater than ``expected`` (a create, ``expected`` None, passes).

    Every backend's ``put_pattern`` calls it first, so it counts the write for
    :func:`pattern_generation`."""
    note_pattern_write()
    if expected is not None and pattern.version <= expected:
        raise StateConflictError(
            f"pattern {pattern.pattern_id!r} of agent {pattern.agent_id!r}: the new version "
            f"({pattern.version}) must be greater than {expected}"
        )


def check_pattern_write(pattern: MemoryPattern, stored: int | None, expected: int | None) -> None:
    """``put_pattern``'s check: ``StateConflictError`` unless the version goes up and the
    stored version (None: none) is ``expected``."""
    check_pattern_version(pattern, expected)
    if stored != expected:
        raise pattern_version_conflict(pattern, stored, expected)


def check_evidence_write(evidence: Evidence, stored: int | None, expected: int | None) -> None:
    """``put_evidence``'s check: ``StateConflictError`` unless the version goes up and the
    stored version (None: none) is ``expected``."""
    if (expected is not None and evidence.version <= expected) or stored != expected:
        raise StateConflictError(
            f"evidence {evidence.key!r} of agent {evidence.agent_id!r}: expected version "
            f"{expected}, found {stored}, writing {evidence.version}"
        )


def state_version_conflict(agent_id: str, stored: int, expected: int) -> StateConflictError:
    """The error of a ``save_state`` over version ``expected`` while ``stored`` (0: none)
    is stored."""
    return StateConflictError(
        f"state of agent {agent_id!r}: expected version {expected}, but version {stored} "
        "is stored (someone saved first)"
    )


def check_state_version(state: AgentState, stored: int) -> None:
    """``save_state``'s check: ``StateConflictError`` unless ``state.version`` is the stored
    version (0: none stored)."""
    if state.version != stored:
        raise state_version_conflict(state.agent_id, stored, state.version)


def stamp_state(state: AgentState, version: int, now: datetime) -> AgentState:
    """A copy of ``state`` as ``save_state`` stores it: at ``version``, ``updated_at`` = now
    (validated, so a naive ``now`` is taken as UTC)."""
    stamped = state.model_copy(deep=True)
    stamped.version = version
    stamped.updated_at = now
    return stamped


def store_pattern(store: MemoryStore, pattern: MemoryPattern, now: datetime) -> MemoryPattern:
    """Create the pattern, or update it if ``pattern.version`` is the stored version.

    An update is stored as ``version + 1`` with the previous statistics appended to
    ``history``; ``StateConflictError`` if the pattern changed since it was read.
    Returns what was stored.
    """
    current = store.get_pattern(pattern.agent_id, pattern.pattern_id)
    if current is None:
        store.put_pattern(pattern, expected_version=None)
        note_pattern_write()  # again, now that the write is done: a reader in between reloads
        return pattern
    if current.version != pattern.version:
        raise pattern_version_conflict(pattern, current.version, pattern.version)
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
    note_pattern_write()  # again, now that the write is done: a reader in between reloads
    return updated


__all__ = [
    "PATTERN_HISTORY_LIMIT",
    "check_evidence_write",
    "check_limit",
    "check_pattern_version",
    "check_pattern_write",
    "check_state_version",
    "note_pattern_write",
    "pattern_generation",
    "pattern_version_conflict",
    "stamp_state",
    "state_version_conflict",
    "store_pattern",
]
