"""The backends the contract suite runs against: name -> factory.

A factory takes ``(tmp_path, clock, request)`` and returns a fresh, empty ``MemoryStore``
that reads time from ``clock``. ``request`` is the pytest request of the running test, so a
backend that needs a server can get a session-scoped fixture with
``request.getfixturevalue("dynalite_endpoint")``; backends that need nothing ignore it.
Stores made for two tests (or two hypothesis examples) must not see each other's data:
use ``tmp_path`` or a unique table prefix.

To add a backend, append to ``BACKENDS``; every contract test then runs on it too, with
the backend's name as the test id (``-k moto`` selects it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock, InMemoryStore


class StoreFactory(Protocol):
    def __call__(
        self, tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest
    ) -> MemoryStore: ...


def memory_store(tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest) -> MemoryStore:
    return InMemoryStore(clock=clock)


def sqlite_store(tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest) -> MemoryStore:
    from agentmem_langchain.stores.sqlite import SQLiteStore

    return SQLiteStore(tmp_path / "memory.db", clock=clock)


from .conftest_dynamodb import dynalite_store, moto_store  # noqa: E402

BACKENDS: dict[str, StoreFactory] = {
    "memory": memory_store,
    "sqlite": sqlite_store,
    "moto": moto_store,
    "dynalite": dynalite_store,
}
