"""PatternRetriever passes langchain-tests' standard retriever suite."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from agentmem_langchain import MemoryManager, MemoryPattern
from agentmem_langchain.langchain.retriever import PatternRetriever
from agentmem_langchain.testing import InMemoryStore

# The suite has one async test for pytest-asyncio; its sync tests ignore the mark.
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function:pytest.PytestWarning"),
]


def _memory_with_patterns() -> MemoryManager:
    memory = MemoryManager("standard-agent", store=InMemoryStore())
    for volatility, source, confidence in [
        ("high", "coinglass", 0.71),
        ("high", "glassnode", 0.35),
        ("low", "cryptoquant", 0.64),
        ("low", "coinglass", 0.22),
        ("medium", "kaiko", 0.5),
    ]:
        memory.store_pattern(
            MemoryPattern(
                agent_id="standard-agent",
                decision_type="source_selection",
                description=f"For source selection when volatility is {volatility}, "
                f"choosing {source} worked",
                conditions={"volatility": volatility},
                recommendation={"selected": [source]},
                confidence=confidence,
            )
        )
    return memory


class TestPatternRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[PatternRetriever]:
        return PatternRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": _memory_with_patterns(), "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "which source works when volatility is high"
