"""Agent state: optimistic versions, races, checkpoints and rollback."""

from __future__ import annotations

import threading

import pytest

from agentmem_langchain.errors import NotFoundError, StateConflictError
from agentmem_langchain.models import AgentState, new_id
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.rules import state_version_conflict
from agentmem_langchain.testing import FakeClock

from .builders import AGENT, OTHER, T0


def state(config: dict[str, object], version: int = 0, agent_id: str = AGENT) -> AgentState:
    return AgentState(
        agent_id=agent_id,
        config=config,
        metrics={"decisions": 3},
        version=version,
        updated_at=T0,
    )


def save_three(store: MemoryStore, clock: FakeClock) -> list[str]:
    """Saves configs step 1, 2, 3 with a checkpoint after each; returns checkpoint ids."""
    checkpoint_ids = []
    version = 0
    for step in (1, 2, 3):
        version = store.save_state(state({"step": step}, version)).version
        clock.advance(seconds=1)
        checkpoint_ids.append(store.create_checkpoint(AGENT, name=f"step-{step}").checkpoint_id)
    return checkpoint_ids


def test_load_before_any_save_returns_none(store: MemoryStore) -> None:
    assert store.load_state(AGENT) is None


def test_first_save_from_version_zero_stores_version_one(store: MemoryStore) -> None:
    saved = store.save_state(state({"mode": "fast"}))

    assert saved.version == 1
    assert saved.config == {"mode": "fast"}


def test_load_returns_what_was_saved(store: MemoryStore) -> None:
    saved = store.save_state(state({"mode": "fast"}))

    assert store.load_state(AGENT) == saved


def test_each_save_increments_the_version(store: MemoryStore) -> None:
    first = store.save_state(state({"step": 1}))
    second = store.save_state(state({"step": 2}, first.version))

    assert (first.version, second.version) == (1, 2)
    loaded = store.load_state(AGENT)
    assert loaded is not None
    assert (loaded.version, loaded.config) == (2, {"step": 2})


def test_save_with_a_stale_version_raises_state_conflict(store: MemoryStore) -> None:
    store.save_state(state({"step": 1}))
    store.save_state(state({"step": 2}, 1))

    with pytest.raises(StateConflictError):
        store.save_state(state({"step": "stale"}, 1))
    loaded = store.load_state(AGENT)
    assert loaded is not None
    assert loaded.config == {"step": 2}


def test_save_from_version_zero_when_state_exists_raises_state_conflict(store: MemoryStore) -> None:
    store.save_state(state({"step": 1}))

    with pytest.raises(StateConflictError):
        store.save_state(state({"step": "again"}))


def test_save_with_a_version_ahead_of_the_store_raises_state_conflict(store: MemoryStore) -> None:
    with pytest.raises(StateConflictError):
        store.save_state(state({"step": 1}, version=5))
    assert store.load_state(AGENT) is None


def test_save_stamps_updated_at_with_the_store_clock(store: MemoryStore, clock: FakeClock) -> None:
    clock.advance(seconds=90)
    first = store.save_state(state({"step": 1}))
    assert first.updated_at == clock()
    assert store.load_state(AGENT) == first

    clock.advance(seconds=30)
    second = store.save_state(state({"step": 2}, first.version))

    assert second.updated_at == clock()
    loaded = store.load_state(AGENT)
    assert loaded is not None
    assert (loaded.updated_at, loaded) == (clock(), second)


@pytest.mark.parametrize(("saves", "version"), [(1, 0), (2, 1), (0, 5)])
def test_state_version_conflict_has_the_same_message_on_every_backend(
    store: MemoryStore, saves: int, version: int
) -> None:
    for stored in range(saves):
        store.save_state(state({"step": stored}, stored))

    with pytest.raises(StateConflictError) as raised:
        store.save_state(state({"step": "late"}, version))

    assert str(raised.value) == str(state_version_conflict(AGENT, saves, version))


def race_two_saves(store: MemoryStore, version: int) -> dict[str, str]:
    """Two threads save from ``version`` at the same moment; returns who won or conflicted."""
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def save(name: str) -> None:
        barrier.wait()
        try:
            store.save_state(state({"writer": name}, version))
            results[name] = "won"
        except StateConflictError:
            results[name] = "conflict"

    threads = [threading.Thread(target=save, args=(name,)) for name in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_threads_saving_from_the_same_version_exactly_one_wins(
    store: MemoryStore, frequent_thread_switches: None
) -> None:
    version = store.save_state(state({"step": 0})).version
    for _ in range(10):
        results = race_two_saves(store, version)

        assert sorted(results.values()) == ["conflict", "won"]
        winner = next(name for name, result in results.items() if result == "won")
        loaded = store.load_state(AGENT)
        assert loaded is not None
        assert (loaded.version, loaded.config) == (version + 1, {"writer": winner})
        version = loaded.version


def test_agents_have_separate_states(store: MemoryStore) -> None:
    store.save_state(state({"who": "a"}))
    store.save_state(state({"who": "b"}, agent_id=OTHER))

    loaded = [store.load_state(agent) for agent in (AGENT, OTHER)]

    assert [s.config if s else None for s in loaded] == [{"who": "a"}, {"who": "b"}]


def test_checkpoint_copies_the_current_state(store: MemoryStore) -> None:
    saved = store.save_state(state({"step": 1}))

    checkpoint = store.create_checkpoint(AGENT, name="before-change")

    assert (checkpoint.agent_id, checkpoint.name, checkpoint.state) == (
        AGENT,
        "before-change",
        saved,
    )


def test_checkpoints_are_listed_newest_first(store: MemoryStore, clock: FakeClock) -> None:
    checkpoint_ids = save_three(store, clock)

    listed = store.list_checkpoints(AGENT)

    assert [c.checkpoint_id for c in listed] == checkpoint_ids[::-1]
    assert [c.state.config for c in listed] == [{"step": 3}, {"step": 2}, {"step": 1}]


def test_checkpoint_without_state_raises_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError):
        store.create_checkpoint(AGENT)
    assert store.list_checkpoints(AGENT) == []


def test_checkpoints_of_another_agent_are_not_listed(store: MemoryStore, clock: FakeClock) -> None:
    save_three(store, clock)

    assert store.list_checkpoints(OTHER) == []


def test_rollback_without_target_restores_the_newest_checkpoint(
    store: MemoryStore, clock: FakeClock
) -> None:
    save_three(store, clock)
    store.save_state(state({"step": "broken"}, 3))

    restored = store.rollback(AGENT)

    assert restored.config == {"step": 3}


def test_rollback_saves_the_restored_state_as_a_new_version(
    store: MemoryStore, clock: FakeClock
) -> None:
    save_three(store, clock)
    store.save_state(state({"step": "broken"}, 3))

    restored = store.rollback(AGENT, to="step-1")

    assert restored.version == 5
    assert store.load_state(AGENT) == restored
    assert store.save_state(state({"step": "next"}, 5)).version == 6


def test_rollback_to_a_name_restores_that_checkpoint(store: MemoryStore, clock: FakeClock) -> None:
    save_three(store, clock)

    restored = store.rollback(AGENT, to="step-2")

    assert (restored.config, restored.metrics) == ({"step": 2}, {"decisions": 3})


def test_rollback_to_an_id_restores_that_checkpoint(store: MemoryStore, clock: FakeClock) -> None:
    checkpoint_ids = save_three(store, clock)

    restored = store.rollback(AGENT, to=checkpoint_ids[0])

    assert restored.config == {"step": 1}


def test_rollback_keeps_the_checkpoints(store: MemoryStore, clock: FakeClock) -> None:
    checkpoint_ids = save_three(store, clock)

    store.rollback(AGENT, to="step-1")

    assert [c.checkpoint_id for c in store.list_checkpoints(AGENT)] == checkpoint_ids[::-1]


def test_rollback_to_an_unknown_checkpoint_raises_not_found(
    store: MemoryStore, clock: FakeClock
) -> None:
    save_three(store, clock)

    with pytest.raises(NotFoundError):
        store.rollback(AGENT, to="no-such-checkpoint")
    with pytest.raises(NotFoundError):
        store.rollback(AGENT, to=new_id())


def test_rollback_without_checkpoints_raises_not_found(store: MemoryStore) -> None:
    store.save_state(state({"step": 1}))

    with pytest.raises(NotFoundError):
        store.rollback(AGENT)


def test_rollback_to_another_agents_checkpoint_raises_not_found(
    store: MemoryStore, clock: FakeClock
) -> None:
    checkpoint_ids = save_three(store, clock)
    store.save_state(state({"who": "b"}, agent_id=OTHER))

    with pytest.raises(NotFoundError):
        store.rollback(OTHER, to=checkpoint_ids[0])
