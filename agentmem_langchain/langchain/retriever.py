"""``PatternRetriever``: long-term patterns as a LangChain retriever ("what worked before").

Ranking: ``score = (1 - confidence_weight) * relevance + confidence_weight * usefulness``
(``confidence_weight`` 0.3 by default). ``usefulness`` is
:func:`~agentmem_langchain.learning.stats.rank_score`: the expected rate of what the pattern
states minus one standard deviation (Beta posterior of its counts), so a strong pattern with
few outcomes is not buried under a middling one with many. ``relevance`` is in [0, 1]:

* by default Okapi BM25 (:class:`BM25Index`) over the pattern's description, decision type,
  conditions and recommendation, divided by the best score of the query;
* with ``embeddings`` (any LangChain ``Embeddings``), the cosine similarity of the query and
  the same text, clipped at 0.

Patterns that do not match the query at all still rank by usefulness after those that do,
so ``k`` documents come back whenever ``k`` patterns exist. Each ``Document`` has the
pattern text as ``page_content`` and ``pattern_id``, ``pattern_type``, ``confidence``,
``success_rate``, ``sample_size``, ``version`` (and more) as ``metadata``; the callback
handler records those ``pattern_id`` values in ``reasoning.patterns_applied`` of the
decisions of the run that retrieved them.

Patterns are read from the store at most every ``cache_seconds`` (30 s by default; 0 reads
on every query; ``refresh()`` forces it), so a query over 10,000 patterns costs
milliseconds, not a store scan; and again as soon as this process has written a pattern
(a consolidation, ``MemoryManager.store_pattern``), so what was just learned is served by
the very next query.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import Field, PrivateAttr, model_validator

from .. import _checks as check
from ..errors import ValidationError
from ..learning.learner import public_recommendation
from ..learning.stats import rank_score
from ..memory import MemoryManager
from ..models import MemoryPattern
from ..stores.base import MemoryStore
from ..stores.rules import pattern_generation
from .prompt import NEVER_SERVED, tokenize

_PAGE = 1000


class BM25Index:
    """Okapi BM25 over a fixed list of texts.

    ``score(d, q) = Σ_{t ∈ q} idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 - b + b·|d|/avgdl))``
    with ``idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))`` (never negative), ``k1 = 1.5``,
    ``b = 0.75``. Each term's contribution per document is computed once, at build time.
    """

    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        docs = [Counter(tokenize(text)) for text in texts]
        lengths = [sum(doc.values()) for doc in docs]
        avgdl = (sum(lengths) / len(docs)) if docs and sum(lengths) else 1.0
        document_frequency: Counter[str] = Counter()
        for doc in docs:
            document_frequency.update(doc.keys())
        n = len(docs)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for index, (doc, length) in enumerate(zip(docs, lengths, strict=True)):
            norm = k1 * (1 - b + b * length / avgdl)
            for term, tf in doc.items():
                df = document_frequency[term]
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                weight = idf * tf * (k1 + 1) / (tf + norm)
                self.postings.setdefault(term, []).append((index, weight))

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document matching at least one query term."""
        totals: dict[int, float] = {}
        get = totals.get
        for term in set(tokenize(query)):
            for index, weight in self.postings.get(term, ()):
                totals[index] = get(index, 0.0) + weight
        return totals


def pattern_text(pattern: MemoryPattern) -> str:
    """The ``page_content`` of a pattern: its description, conditions and recommendation."""
    lines = [pattern.description or f"{pattern.pattern_type} pattern"]
    if pattern.conditions:
        lines.append("When: " + "; ".join(f"{k} = {v}" for k, v in pattern.conditions.items()))
    recommendation = public_recommendation(pattern)
    if recommendation:
        lines.append(
            "Recommendation: " + "; ".join(f"{k} = {v}" for k, v in recommendation.items())
        )
    return "\n".join(lines)


def pattern_document(pattern: MemoryPattern, score: float, relevance: float) -> Document:
    """A ``Document`` for a pattern (metadata: ids, type, statistics, version, scores)."""
    metadata: dict[str, Any] = {
        "pattern_id": pattern.pattern_id,
        "agent_id": pattern.agent_id,
        "pattern_type": pattern.pattern_type,
        "decision_type": pattern.decision_type,
        "confidence": pattern.confidence,
        "success_rate": pattern.success_rate,
        "sample_size": pattern.sample_size,
        "success_count": pattern.success_count,
        "version": pattern.version,
        "conditions": dict(pattern.conditions),
        "recommendation": public_recommendation(pattern),
        "score": score,
        "relevance": relevance,
    }
    return Document(id=pattern.pattern_id, page_content=pattern_text(pattern), metadata=metadata)


def _checked_query(query: Any, k: Any) -> int | None:
    """``k`` once ``query`` is a str and ``k`` None or at least 1; else ``ValidationError``."""
    check.text(query, "query")
    return None if k is None else check.integer(k, "k", low=1)


@dataclass(frozen=True)
class _Index:
    patterns: list[MemoryPattern]  # most useful first
    bm25: BM25Index
    vectors: list[list[float]] | None
    generation: int = 0  # pattern_generation() when the patterns were read
    usefulness: list[float] = field(default_factory=list)  # rank_score of each pattern


class PatternRetriever(BaseRetriever):
    """The agent's (and optionally shared) active patterns, most useful first.

    >>> retriever = PatternRetriever(memory=memory_manager, k=3)          # doctest: +SKIP
    >>> retriever.invoke("source selection when volatility is high")     # doctest: +SKIP

    Give ``memory`` (a ``MemoryManager``) or ``store`` and ``agent_id``. Only patterns with
    ``confidence >= min_confidence`` and, when ``pattern_types`` is given, of those types are
    served; retired patterns never are. ``invoke(query, k=2)`` overrides ``k`` per call.
    Bad settings (``k=0``, a ``memory`` that is not a ``MemoryManager``), a query that is not
    a str, or a per-call ``k`` below 1 raise ``ValidationError`` naming the argument.
    """

    memory: MemoryManager | None = None
    store: MemoryStore | None = None
    agent_id: str | None = None
    k: int = Field(default=4, ge=1)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    include_shared: bool = True
    pattern_types: list[str] | None = None
    embeddings: Embeddings | None = None
    confidence_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    cache_seconds: float = Field(default=30.0, ge=0.0)
    max_patterns: int = Field(default=100_000, ge=1)

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _index: _Index | None = PrivateAttr(default=None)
    _loaded_at: float = PrivateAttr(default=0.0)
    _vectors: dict[tuple[str, str, int], list[float]] = PrivateAttr(default_factory=dict)

    def __init__(self, **settings: Any) -> None:
        try:
            super().__init__(**settings)
        except pydantic.ValidationError as exc:  # one line naming the setting, not pydantic's
            raise ValidationError.from_pydantic(exc) from None

    @model_validator(mode="after")
    def _has_source(self) -> PatternRetriever:
        if self.memory is None and (self.store is None or self.agent_id is None):
            raise ValueError("PatternRetriever needs memory=, or store= and agent_id=")
        return self

    def refresh(self) -> None:
        """Read the patterns from the store again now."""
        generation, started = pattern_generation(), time.monotonic()
        index = self._build(generation)
        with self._lock:
            self._index, self._loaded_at = index, started

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        k = _checked_query(query, k)
        index = self._current_index()
        vector = self.embeddings.embed_query(query) if self.embeddings is not None else None
        return self._rank(index, query, k or self.k, vector)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        k = _checked_query(query, k)
        # Store reads and scoring run in a worker thread: the event loop never waits on them.
        index = await asyncio.to_thread(self._current_index)
        vector = None
        if self.embeddings is not None:
            vector = await self.embeddings.aembed_query(query)
        return await asyncio.to_thread(self._rank, index, query, k or self.k, vector)

    # -- internals ------------------------------------------------------------------------

    def _current_index(self) -> _Index:
        with self._lock:
            index, loaded_at = self._index, self._loaded_at
        if (
            index is None
            or index.generation != pattern_generation()
            or time.monotonic() - loaded_at >= self.cache_seconds
        ):
            self.refresh()
            with self._lock:
                assert self._index is not None
                index = self._index
        return index

    def _source(self) -> tuple[MemoryStore, str]:
        if self.memory is not None:
            return self.memory.store, self.agent_id or self.memory.agent_id
        assert self.store is not None and self.agent_id is not None
        return self.store, self.agent_id

    def _load(self) -> list[MemoryPattern]:
        store, agent_id = self._source()
        found: dict[str, MemoryPattern] = {}
        cursor: str | None = None
        while len(found) < self.max_patterns:
            page = store.list_patterns(
                agent_id, min_confidence=self.min_confidence, limit=_PAGE, cursor=cursor
            )
            found.update((p.pattern_id, p) for p in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if self.include_shared:
            for p in store.list_shared_patterns(agent_id, limit=_PAGE):
                if p.confidence >= self.min_confidence:
                    found.setdefault(p.pattern_id, p)
        wanted = set(self.pattern_types) if self.pattern_types is not None else None
        chosen = [
            p
            for p in found.values()
            if p.pattern_type not in NEVER_SERVED
            and str(p.status) == "active"
            and (wanted is None or p.pattern_type in wanted)
        ]
        chosen.sort(key=lambda p: (rank_score(p), p.pattern_id), reverse=True)
        return chosen[: self.max_patterns]

    def _build(self, generation: int) -> _Index:
        patterns = self._load()
        texts = [f"{pattern_text(p)}\n{p.decision_type or ''}" for p in patterns]
        vectors = self._embed(patterns, texts) if self.embeddings is not None else None
        usefulness = [rank_score(p) for p in patterns]
        return _Index(patterns, BM25Index(texts), vectors, generation, usefulness)

    def _embed(self, patterns: list[MemoryPattern], texts: list[str]) -> list[list[float]]:
        assert self.embeddings is not None
        keys = [(p.agent_id, p.pattern_id, p.version) for p in patterns]
        missing = [i for i, key in enumerate(keys) if key not in self._vectors]
        if missing:
            fresh = self.embeddings.embed_documents([texts[i] for i in missing])
            cache = {keys[i]: vector for i, vector in zip(missing, fresh, strict=True)}
            self._vectors = {key: self._vectors.get(key) or cache[key] for key in keys}
        return [self._vectors[key] for key in keys]

    def _rank(
        self, index: _Index, query: str, k: int, vector: list[float] | None
    ) -> list[Document]:
        relevance = _relevance(index, query, vector)
        w = self.confidence_weight
        candidates = set(relevance)
        for position in range(min(k, len(index.patterns))):  # best of the rest, by usefulness
            candidates.add(position)
        # ties go to the more useful pattern (the lower position)
        scored = [
            ((1 - w) * relevance.get(i, 0.0) + w * index.usefulness[i], -i) for i in candidates
        ]
        best = heapq.nlargest(k, scored)
        return [
            pattern_document(index.patterns[-neg], score, relevance.get(-neg, 0.0))
            for score, neg in best
        ]


def _relevance(index: _Index, query: str, vector: list[float] | None) -> dict[int, float]:
    """Relevance in [0, 1] of each pattern that matches the query at all."""
    if vector is None:
        raw = index.bm25.scores(query)
        top = max(raw.values(), default=0.0)
        return {i: s / top for i, s in raw.items()} if top > 0 else {}
    assert index.vectors is not None
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    out: dict[int, float] = {}
    for i, doc in enumerate(index.vectors):
        doc_norm = math.sqrt(sum(x * x for x in doc)) or 1.0
        cosine = sum(a * b for a, b in zip(vector, doc, strict=False)) / (norm * doc_norm)
        if cosine > 0:
            out[i] = min(1.0, cosine)
    return out


__all__ = ["BM25Index", "PatternRetriever", "pattern_document", "pattern_text", "tokenize"]
