"""PatternRetriever: ranking, filters, metadata, caching, embeddings, async, feedback loop."""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections import Counter
from datetime import datetime, timezone

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain import DecisionOutcome, DecisionRecord, MemoryManager, MemoryPattern
from agentmem_langchain.capture import recorder_for
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.langchain.retriever import BM25Index, PatternRetriever, tokenize
from agentmem_langchain.learning import consolidate
from agentmem_langchain.testing import FakeClock, InMemoryStore

AGENT = "retrieving-agent"
TRUTH = {("high", "A"): 0.8, ("high", "B"): 0.4, ("low", "A"): 0.4, ("low", "B"): 0.8}


@pytest.fixture
def memory():
    clock = FakeClock(datetime(2024, 5, 1, tzinfo=timezone.utc))
    return MemoryManager(AGENT, store=InMemoryStore(clock=clock), clock=clock)


@pytest.fixture
def learned(memory):
    rng = random.Random(11)
    memory.store.put_decisions(
        [
            DecisionRecord(
                agent_id=AGENT,
                decision_type="source_selection",
                timestamp=memory.now(),
                context={"market": {"volatility": vol}},
                reasoning={"selected": [src]},
                outcome=DecisionOutcome(success=rng.random() < p),
            )
            for (vol, src), p in TRUTH.items()
            for _ in range(200)
        ]
    )
    consolidate(memory, now=memory.now().replace(hour=1))
    return memory


def insight(memory, description, confidence, **fields):
    return memory.store_pattern(
        MemoryPattern(
            agent_id=memory.agent_id,
            description=description,
            confidence=confidence,
            **fields,
        )
    )


@pytest.mark.parametrize(
    ("query", "volatility", "source"),
    [
        ("which source for source selection when volatility is high", "high", "A"),
        ("source selection in low volatility markets", "low", "B"),
    ],
)
def test_the_right_pattern_comes_first_for_each_context(learned, query, volatility, source):
    (best, *_) = PatternRetriever(memory=learned, k=4).invoke(query)
    assert best.metadata["conditions"] == {"volatility": volatility}
    assert best.metadata["recommendation"] == {"selected": [source]}


def test_documents_carry_the_pattern_text_and_statistics(learned):
    (doc,) = PatternRetriever(memory=learned, k=1).invoke("high volatility")
    pattern = learned.get_pattern(doc.metadata["pattern_id"])
    assert doc.page_content.startswith(pattern.description)
    assert "When: volatility = high" in doc.page_content
    assert doc.id == pattern.pattern_id
    assert {k: doc.metadata[k] for k in ("pattern_type", "confidence", "version")} == {
        "pattern_type": pattern.pattern_type,
        "confidence": pattern.confidence,
        "version": pattern.version,
    }
    assert (doc.metadata["success_rate"], doc.metadata["sample_size"]) == (
        pattern.success_rate,
        pattern.sample_size,
    )
    assert "_learner" not in doc.page_content and "_learner" not in doc.metadata["recommendation"]


def test_k_min_confidence_and_pattern_types_filter(learned):
    retriever = PatternRetriever(memory=learned, k=10, min_confidence=0.5)
    assert all(d.metadata["confidence"] >= 0.5 for d in retriever.invoke("volatility"))
    avoid = PatternRetriever(memory=learned, pattern_types=["avoid"], k=10).invoke("volatility")
    assert avoid and {d.metadata["pattern_type"] for d in avoid} == {"avoid"}
    assert len(PatternRetriever(memory=learned).invoke("volatility", k=2)) == 2


def test_retired_and_candidate_patterns_are_never_served(memory):
    insight(memory, "stale retired advice", 0.9, status="retired")
    insight(memory, "live advice", 0.3)
    docs = PatternRetriever(memory=memory, k=5).invoke("advice")
    assert [d.page_content for d in docs] == ["live advice"]


def test_shared_patterns_are_included_on_request(memory):
    other = MemoryManager("eth-agent-002", store=memory.store)
    insight(other, "ETH funding flips predict reversals", 0.8, shared_with=[AGENT])
    with_shared = PatternRetriever(memory=memory).invoke("funding reversals")
    without = PatternRetriever(memory=memory, include_shared=False).invoke("funding reversals")
    assert [d.metadata["agent_id"] for d in with_shared] == ["eth-agent-002"]
    assert without == []


def test_relevance_beats_confidence_and_confidence_breaks_ties(memory):
    insight(memory, "funding rate spikes precede liquidations", 0.3)
    insight(memory, "weekend volume is thin", 0.9)
    insight(memory, "funding rate spikes precede squeezes", 0.6)
    docs = PatternRetriever(memory=memory, k=3).invoke("funding rate spikes")
    assert [d.page_content for d in docs] == [
        "funding rate spikes precede squeezes",
        "funding rate spikes precede liquidations",
        "weekend volume is thin",
    ]


def test_patterns_written_elsewhere_are_cached_until_refresh(memory, monkeypatch):
    # A write by another process does not move this process's pattern-write counter.
    monkeypatch.setattr("agentmem_langchain.langchain.retriever.pattern_generation", lambda: 0)
    insight(memory, "first insight", 0.5)
    retriever = PatternRetriever(memory=memory, k=5)
    assert len(retriever.invoke("insight")) == 1
    insight(memory, "second insight", 0.5)
    assert len(retriever.invoke("insight")) == 1
    retriever.refresh()
    assert len(retriever.invoke("insight")) == 2
    uncached = PatternRetriever(memory=memory, k=5, cache_seconds=0)
    insight(memory, "third insight", 0.5)
    assert len(uncached.invoke("insight")) == 3


def test_a_pattern_written_in_this_process_is_seen_by_the_next_call(memory):
    insight(memory, "first insight", 0.5)
    retriever = PatternRetriever(memory=memory, k=5)
    assert len(retriever.invoke("insight")) == 1
    insight(memory, "second insight", 0.5)
    assert len(retriever.invoke("insight")) == 2


def test_bm25_scores_follow_the_documented_formula():
    texts = ["high volatility coinglass", "low volatility cryptoquant cryptoquant", "calm"]
    scores = BM25Index(texts).scores("cryptoquant volatility")
    docs = [Counter(tokenize(t)) for t in texts]
    avgdl = sum(sum(d.values()) for d in docs) / 3

    def expected(d):
        total = 0.0
        for term in ("cryptoquant", "volatility"):
            df = sum(term in doc for doc in docs)
            idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
            tf, length = d[term], sum(d.values())
            total += idf * tf * 2.5 / (tf + 1.5 * (0.25 + 0.75 * length / avgdl))
        return total

    assert set(scores) == {0, 1}
    for i in (0, 1):
        assert scores[i] == pytest.approx(expected(docs[i]), abs=1e-12)


class KeywordEmbeddings(Embeddings):
    """A vector of keyword counts: enough to show that embeddings drive relevance."""

    words = ("whale", "funding", "weekend")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(text.lower().count(w)) for w in self.words]


def test_embeddings_replace_bm25_when_given(memory):
    insight(memory, "whale wallets moving", 0.2)
    insight(memory, "funding is negative", 0.9)
    retriever = PatternRetriever(memory=memory, embeddings=KeywordEmbeddings(), k=1)
    (doc,) = retriever.invoke("any whale alerts?")
    assert doc.page_content == "whale wallets moving"
    assert doc.metadata["relevance"] == pytest.approx(1.0)


def test_async_matches_sync_and_reads_the_store_off_the_event_loop(learned):
    threads: set[int] = set()
    original = learned.store.list_patterns

    def spy(*args, **kwargs):
        threads.add(threading.get_ident())
        return original(*args, **kwargs)

    learned.store.list_patterns = spy  # type: ignore[method-assign]
    retriever = PatternRetriever(memory=learned, k=3, cache_seconds=0)

    async def main():
        return threading.get_ident(), await retriever.ainvoke("high volatility")

    loop_thread, docs = asyncio.run(main())
    assert threads and loop_thread not in threads
    assert [d.id for d in docs] == [d.id for d in retriever.invoke("high volatility")]


def test_store_and_agent_id_work_without_a_manager(learned):
    retriever = PatternRetriever(store=learned.store, agent_id=AGENT, k=2)
    assert len(retriever.invoke("volatility")) == 2
    with pytest.raises(ValueError, match="needs memory"):
        PatternRetriever(store=learned.store)


@tool
def fetch_source(source: str) -> str:
    """Fetch data from a source."""
    return f"data from {source}"


def test_decisions_of_a_run_record_the_patterns_it_retrieved(learned):
    retriever = PatternRetriever(memory=learned, k=2)
    chain = RunnableLambda(lambda q: retriever.invoke(q), name="recall") | RunnableLambda(
        lambda docs: fetch_source.invoke(
            {"source": docs[0].metadata["recommendation"]["selected"][0]}
        ),
        name="act",
    )
    handler = AgentMemoryCallbackHandler(learned)
    chain.invoke("source selection when volatility is high", config={"callbacks": [handler]})
    assert recorder_for(learned.store).flush(timeout=5)
    tool_calls = learned.store.query_decisions(AGENT, decision_type="tool_call").items
    expected = [d.id for d in retriever.invoke("source selection when volatility is high")]
    assert [t.reasoning.patterns_applied for t in tool_calls] == [expected]
