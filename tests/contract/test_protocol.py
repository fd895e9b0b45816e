"""Every backend is a ``MemoryStore`` and can be closed more than once."""

from __future__ import annotations

from agentmem_langchain.stores import MemoryStore


def test_store_satisfies_the_store_protocol(store: MemoryStore) -> None:
    assert isinstance(store, MemoryStore)


def test_closing_twice_is_harmless(store: MemoryStore) -> None:
    store.close()
    store.close()

    assert isinstance(store, MemoryStore)
