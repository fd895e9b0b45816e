"""Patterns: optimistic versions, history, listing by confidence, sharing between agents."""

from __future__ import annotations

import pytest

from agentmem_langchain.enums import PatternStatus
from agentmem_langchain.errors import StateConflictError
from agentmem_langchain.models import MemoryPattern, new_id
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.rules import check_pattern_version, pattern_version_conflict

from .builders import AGENT, OTHER, THIRD, at, ids, pattern


def bump(stored: MemoryPattern, **changes: object) -> MemoryPattern:
    """The next version of ``stored`` with ``changes``."""
    return MemoryPattern.model_validate(
        {
            **stored.model_dump(),
            "version": stored.version + 1,
            "updated_at": at(stored.version),
            **changes,
        }
    )


def pattern_ids(items: list[MemoryPattern]) -> list[str]:
    return ids(items, "pattern_id")


def test_created_pattern_is_returned_unchanged(store: MemoryStore) -> None:
    created = pattern(
        conditions={"market": "bull"},
        recommendation={"source": "coingecko"},
        user_metadata={"owner": "team-x"},
        evidence=[new_id(), new_id()],
        sample_size=10,
        success_count=7,
        success_rate=0.7,
    )
    store.put_pattern(created, expected_version=None)

    assert store.get_pattern(AGENT, created.pattern_id) == created


def test_get_unknown_pattern_returns_none(store: MemoryStore) -> None:
    assert store.get_pattern(AGENT, new_id()) is None


def test_creating_an_existing_pattern_raises_state_conflict(store: MemoryStore) -> None:
    created = pattern()
    store.put_pattern(created, expected_version=None)

    with pytest.raises(StateConflictError):
        store.put_pattern(created.model_copy(update={"confidence": 0.9}), expected_version=None)
    assert store.get_pattern(AGENT, created.pattern_id) == created


def test_update_with_the_stored_version_succeeds(store: MemoryStore) -> None:
    created = pattern(confidence=0.5)
    store.put_pattern(created, expected_version=None)
    updated = bump(created, confidence=0.75)

    store.put_pattern(updated, expected_version=1)

    assert store.get_pattern(AGENT, created.pattern_id) == updated


def test_update_with_a_stale_version_raises_state_conflict(store: MemoryStore) -> None:
    created = pattern()
    store.put_pattern(created, expected_version=None)
    second = bump(created, confidence=0.6)
    store.put_pattern(second, expected_version=1)

    with pytest.raises(StateConflictError):
        store.put_pattern(bump(created, confidence=0.1), expected_version=1)
    assert store.get_pattern(AGENT, created.pattern_id) == second


def test_update_of_a_missing_pattern_raises_state_conflict(store: MemoryStore) -> None:
    missing = pattern(version=2)

    with pytest.raises(StateConflictError):
        store.put_pattern(missing, expected_version=1)
    assert store.get_pattern(AGENT, missing.pattern_id) is None


def test_update_that_does_not_raise_the_version_raises_state_conflict(store: MemoryStore) -> None:
    created = pattern()
    store.put_pattern(created, expected_version=None)

    with pytest.raises(StateConflictError):
        store.put_pattern(created.model_copy(update={"confidence": 0.9}), expected_version=1)
    assert store.get_pattern(AGENT, created.pattern_id) == created


@pytest.mark.parametrize(
    ("saves", "version", "expected"),
    [(1, 1, None), (2, 2, 1), (0, 2, 1)],
    ids=["create-existing", "stale", "missing"],
)
def test_pattern_version_conflict_has_the_same_message_on_every_backend(
    store: MemoryStore, saves: int, version: int, expected: int | None
) -> None:
    created = pattern()
    if saves:
        store.put_pattern(created, expected_version=None)
    if saves > 1:
        store.put_pattern(bump(created), expected_version=1)
    late = created.model_copy(update={"version": version, "confidence": 0.9})

    with pytest.raises(StateConflictError) as raised:
        store.put_pattern(late, expected_version=expected)

    assert str(raised.value) == str(pattern_version_conflict(late, saves or None, expected))


def test_pattern_version_not_raised_has_the_same_message_on_every_backend(
    store: MemoryStore,
) -> None:
    created = pattern()
    store.put_pattern(created, expected_version=None)

    with pytest.raises(StateConflictError) as raised:
        store.put_pattern(created, expected_version=1)
    with pytest.raises(StateConflictError) as shared:
        check_pattern_version(created, 1)

    assert str(raised.value) == str(shared.value)


def test_history_keeps_every_version_oldest_first(store: MemoryStore) -> None:
    versions = [pattern(confidence=0.1)]
    store.put_pattern(versions[0], expected_version=None)
    for confidence in (0.2, 0.3):
        versions.append(bump(versions[-1], confidence=confidence))
        store.put_pattern(versions[-1], expected_version=versions[-2].version)

    assert store.get_pattern_history(AGENT, versions[0].pattern_id) == versions


def test_history_of_unknown_pattern_is_empty(store: MemoryStore) -> None:
    assert store.get_pattern_history(AGENT, new_id()) == []


def test_list_patterns_orders_by_confidence_highest_first(store: MemoryStore) -> None:
    made = [pattern(confidence=c) for c in (0.3, 0.9, 0.1, 0.6)]
    for p in made:
        store.put_pattern(p, expected_version=None)

    listed = store.list_patterns(AGENT).items

    assert [p.confidence for p in listed] == [0.9, 0.6, 0.3, 0.1]


def test_list_patterns_returns_the_latest_version_only(store: MemoryStore) -> None:
    created = pattern(confidence=0.2)
    store.put_pattern(created, expected_version=None)
    updated = bump(created, confidence=0.8)
    store.put_pattern(updated, expected_version=1)

    assert store.list_patterns(AGENT).items == [updated]


def test_list_patterns_keeps_confidence_at_or_above_the_minimum(store: MemoryStore) -> None:
    made = {c: pattern(confidence=c) for c in (0.3, 0.5, 0.7)}
    for p in made.values():
        store.put_pattern(p, expected_version=None)

    listed = store.list_patterns(AGENT, min_confidence=0.5).items

    assert pattern_ids(listed) == [made[0.7].pattern_id, made[0.5].pattern_id]


def test_list_patterns_leaves_out_retired_patterns(store: MemoryStore) -> None:
    active = pattern(confidence=0.4)
    retired = pattern(confidence=0.8, status=PatternStatus.RETIRED)
    for p in (active, retired):
        store.put_pattern(p, expected_version=None)

    assert pattern_ids(store.list_patterns(AGENT).items) == [active.pattern_id]


def test_list_patterns_includes_retired_when_asked(store: MemoryStore) -> None:
    active = pattern(confidence=0.4)
    retired = pattern(confidence=0.8, status=PatternStatus.RETIRED)
    for p in (active, retired):
        store.put_pattern(p, expected_version=None)

    listed = store.list_patterns(AGENT, include_retired=True).items

    assert pattern_ids(listed) == [retired.pattern_id, active.pattern_id]


def test_retiring_a_pattern_removes_it_from_the_list(store: MemoryStore) -> None:
    created = pattern()
    store.put_pattern(created, expected_version=None)
    store.put_pattern(bump(created, status=PatternStatus.RETIRED), expected_version=1)

    assert store.list_patterns(AGENT).items == []


def test_list_patterns_pages_return_each_pattern_once_in_order(store: MemoryStore) -> None:
    made = [pattern(confidence=i / 40) for i in range(23)]
    for p in made:
        store.put_pattern(p, expected_version=None)

    seen: list[MemoryPattern] = []
    cursor: str | None = None
    for _ in range(100):
        page = store.list_patterns(AGENT, limit=4, cursor=cursor)
        assert len(page.items) <= 4
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pattern_ids(seen) == pattern_ids(sorted(made, key=lambda p: -p.confidence))


def test_list_patterns_pages_cover_patterns_with_equal_confidence(store: MemoryStore) -> None:
    made = [pattern(confidence=0.5) for _ in range(9)]
    for p in made:
        store.put_pattern(p, expected_version=None)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        page = store.list_patterns(AGENT, limit=2, cursor=cursor)
        seen += pattern_ids(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == sorted(pattern_ids(made))
    assert len(seen) == 9


def test_an_agents_list_never_includes_another_agents_patterns(store: MemoryStore) -> None:
    mine = pattern(AGENT)
    theirs = pattern(OTHER, shared_with=[AGENT])
    for p in (mine, theirs):
        store.put_pattern(p, expected_version=None)

    assert pattern_ids(store.list_patterns(AGENT).items) == [mine.pattern_id]
    assert store.get_pattern(AGENT, theirs.pattern_id) is None


def test_shared_patterns_reach_only_the_named_grantees(store: MemoryStore) -> None:
    shared = pattern(AGENT, shared_with=[OTHER])
    store.put_pattern(shared, expected_version=None)

    assert pattern_ids(store.list_shared_patterns(OTHER)) == [shared.pattern_id]
    assert store.list_shared_patterns(THIRD) == []


def test_shared_pattern_is_returned_unchanged(store: MemoryStore) -> None:
    shared = pattern(AGENT, shared_with=[OTHER, THIRD], user_metadata={"k": [1, 2]})
    store.put_pattern(shared, expected_version=None)

    assert store.list_shared_patterns(THIRD) == [shared]


def test_unshared_patterns_are_not_listed_as_shared(store: MemoryStore) -> None:
    store.put_pattern(pattern(AGENT), expected_version=None)

    assert store.list_shared_patterns(OTHER) == []


def test_owner_does_not_receive_its_own_patterns_as_shared(store: MemoryStore) -> None:
    store.put_pattern(pattern(AGENT, shared_with=[AGENT, OTHER]), expected_version=None)

    assert store.list_shared_patterns(AGENT) == []


def test_shared_patterns_are_listed_highest_confidence_first(store: MemoryStore) -> None:
    made = [
        pattern(AGENT, confidence=0.2, shared_with=[THIRD]),
        pattern(OTHER, confidence=0.9, shared_with=[THIRD]),
        pattern(AGENT, confidence=0.5, shared_with=[THIRD]),
    ]
    for p in made:
        store.put_pattern(p, expected_version=None)

    assert [p.confidence for p in store.list_shared_patterns(THIRD)] == [0.9, 0.5, 0.2]


def test_shared_patterns_respect_the_limit(store: MemoryStore) -> None:
    for c in (0.2, 0.9, 0.5):
        store.put_pattern(pattern(AGENT, confidence=c, shared_with=[OTHER]), expected_version=None)

    assert [p.confidence for p in store.list_shared_patterns(OTHER, limit=2)] == [0.9, 0.5]


def test_retired_patterns_are_not_shared(store: MemoryStore) -> None:
    created = pattern(AGENT, shared_with=[OTHER])
    store.put_pattern(created, expected_version=None)
    store.put_pattern(bump(created, status=PatternStatus.RETIRED), expected_version=1)

    assert store.list_shared_patterns(OTHER) == []


def test_removing_a_grantee_revokes_the_share(store: MemoryStore) -> None:
    created = pattern(AGENT, shared_with=[OTHER, THIRD])
    store.put_pattern(created, expected_version=None)
    updated = bump(created, shared_with=[THIRD])
    store.put_pattern(updated, expected_version=1)

    assert store.list_shared_patterns(OTHER) == []
    assert store.list_shared_patterns(THIRD) == [updated]


def test_shared_list_shows_the_latest_version(store: MemoryStore) -> None:
    created = pattern(AGENT, confidence=0.3, shared_with=[OTHER])
    store.put_pattern(created, expected_version=None)
    updated = bump(created, confidence=0.7)
    store.put_pattern(updated, expected_version=1)

    assert store.list_shared_patterns(OTHER) == [updated]
