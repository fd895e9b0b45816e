"""Page sizes: every method that takes ``limit`` refuses one under 1 the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentmem_langchain.errors import ValidationError
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.rules import check_limit

from .builders import AGENT

CALLS: dict[str, Callable[[MemoryStore, int], Any]] = {
    "query_decisions": lambda store, limit: store.query_decisions(AGENT, limit=limit),
    "list_unconsolidated": lambda store, limit: store.list_unconsolidated(AGENT, limit=limit),
    "list_patterns": lambda store, limit: store.list_patterns(AGENT, limit=limit),
    "list_shared_patterns": lambda store, limit: store.list_shared_patterns(AGENT, limit=limit),
    "pending_signals": lambda store, limit: store.pending_signals(AGENT, limit=limit),
    "claim_signals": lambda store, limit: store.claim_signals(AGENT, limit=limit),
}


@pytest.mark.parametrize("limit", [0, -1])
@pytest.mark.parametrize("method", list(CALLS))
def test_limit_under_one_raises_the_same_validation_error(
    store: MemoryStore, method: str, limit: int
) -> None:
    with pytest.raises(ValidationError) as shared:
        check_limit(limit)

    with pytest.raises(ValidationError) as raised:
        CALLS[method](store, limit)

    assert (str(raised.value), raised.value.field, raised.value.value) == (
        str(shared.value),
        "limit",
        limit,
    )
