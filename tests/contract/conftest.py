"""Fixtures of the contract suite: every test here runs once per backend in ``BACKENDS``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

from .backends import BACKENDS
from .builders import T0


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock, starting at ``T0``; tests move it instead of sleeping."""
    return FakeClock(T0)


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[MemoryStore]:
    """A fresh, empty store of one backend, closed after the test."""
    made = BACKENDS[request.param](tmp_path, clock, request)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Let the interpreter switch threads far more often, so an unguarded race shows up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
