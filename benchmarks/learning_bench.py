"""Consolidation throughput and retriever latency on the embedded SQLite store.

    .venv/bin/python -m benchmarks.learning_bench [--decisions 100000] [--patterns 10000]

Measures: ``consolidate`` over 100,000 decided STM decisions (wall time, and peak Python
memory in a second run under tracemalloc), then ``PatternRetriever.invoke`` with 10,000
patterns stored (goal: p50 < 20 ms), warm (index cached) and cold (``cache_seconds=0``: the
patterns are read from SQLite on every query). Results go to benchmarks/RESULTS.md (section
``learning``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from agentmem_langchain import DecisionOutcome, DecisionRecord, MemoryManager, MemoryPattern
from agentmem_langchain.langchain.retriever import PatternRetriever
from agentmem_langchain.learning import consolidate
from agentmem_langchain.models import utcnow
from agentmem_langchain.stores.sqlite import SQLiteStore

from .results import machine, percentiles_ms, write_section

AGENT = "bench-agent"
SOURCES = ["coinglass", "cryptoquant", "glassnode", "kaiko", "santiment", "messari"]
WORDS = [
    "funding",
    "whale",
    "liquidation",
    "basis",
    "spread",
    "momentum",
    "breakout",
    "reversal",
    "squeeze",
]


def fill_decisions(path: Path, count: int) -> None:
    rng = random.Random(1)
    now = utcnow()
    with SQLiteStore(path) as store:
        for start in range(0, count, 5000):
            batch = []
            for _ in range(min(5000, count - start)):
                volatility = rng.choice(["low", "medium", "high"])
                source = rng.choice(SOURCES)
                p = 0.3 + 0.1 * (SOURCES.index(source) % 5) + (0.1 if volatility == "high" else 0)
                batch.append(
                    DecisionRecord(
                        agent_id=AGENT,
                        decision_type="source_selection",
                        timestamp=now - timedelta(hours=rng.uniform(1, 20)),
                        context={
                            "market": {
                                "volatility": volatility,
                                "regime": rng.choice(["bull", "bear"]),
                            }
                        },
                        reasoning={"selected": [source]},
                        outcome=DecisionOutcome(
                            success=rng.random() < p, latency_ms=rng.uniform(5, 500)
                        ),
                    )
                )
            store.put_decisions(batch)


def bench_consolidation(directory: Path, count: int) -> dict[str, float]:
    timed, traced = directory / "timed.db", directory / "traced.db"
    fill_decisions(timed, count)
    shutil.copy(timed, traced)
    with SQLiteStore(timed) as store:
        started = time.perf_counter()
        result = consolidate(store, AGENT)
        elapsed = time.perf_counter() - started
    assert result.learned == count, result
    with SQLiteStore(traced) as store:
        tracemalloc.start()
        consolidate(store, AGENT)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "decisions": count,
        "patterns": result.created,
        "seconds": elapsed,
        "decisions_per_s": count / elapsed,
        "peak_mib": peak / 2**20,
    }


def fill_patterns(store: SQLiteStore, count: int) -> None:
    rng = random.Random(2)
    memory = MemoryManager(AGENT, store=store)
    for i in range(count):
        words = " ".join(rng.sample(WORDS, 3))
        source = rng.choice(SOURCES)
        memory.store_pattern(
            MemoryPattern(
                agent_id=AGENT,
                decision_type="source_selection",
                description=f"For source selection when {words} (case {i}), choosing {source} "
                f"succeeded {rng.randint(5, 90)} of 100 times",
                conditions={"volatility": rng.choice(["low", "medium", "high"]), "signal": words},
                recommendation={"selected": [source]},
                confidence=rng.random(),
                sample_size=100,
            )
        )


def bench_retriever(directory: Path, count: int, queries: int) -> dict[str, float]:
    rng = random.Random(3)
    texts = [
        f"source selection when {' '.join(rng.sample(WORDS, 2))} is high" for _ in range(queries)
    ]
    with SQLiteStore(directory / "patterns.db") as store:
        fill_patterns(store, count)
        retriever = PatternRetriever(store=store, agent_id=AGENT, k=4)
        started = time.perf_counter()
        retriever.refresh()
        build = time.perf_counter() - started
        warm = []
        for text in texts:
            started = time.perf_counter()
            docs = retriever.invoke(text)
            warm.append(time.perf_counter() - started)
            assert len(docs) == 4
        cold_retriever = PatternRetriever(store=store, agent_id=AGENT, k=4, cache_seconds=0)
        cold = []
        for text in texts[:10]:
            started = time.perf_counter()
            cold_retriever.invoke(text)
            cold.append(time.perf_counter() - started)
    warm_ms, cold_ms = percentiles_ms(warm), percentiles_ms(cold)
    return {
        "patterns": count,
        "queries": queries,
        "index_build_ms": build * 1000,
        "warm_p50_ms": warm_ms["median_ms"],
        "warm_p95_ms": warm_ms["p95_ms"],
        "cold_p50_ms": cold_ms["median_ms"],
        "cold_p95_ms": cold_ms["p95_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        consolidation = bench_consolidation(Path(tmp), args.decisions)
        retrieval = bench_retriever(Path(tmp), args.patterns, args.queries)
    command = (
        f".venv/bin/python -m benchmarks.learning_bench --decisions {args.decisions} "
        f"--patterns {args.patterns} --queries {args.queries}"
    )
    c, r = consolidation, retrieval
    markdown = f"""## Learning: consolidation and retrieval (SQLite)

`{command}` on {machine()}

| measure | value |
|---|---|
| consolidate {c["decisions"]:,} decided decisions ({c["patterns"]} patterns) | {c["seconds"]:.1f} s ({c["decisions_per_s"]:,.0f} decisions/s) |
| consolidation peak Python memory (tracemalloc, second run) | {c["peak_mib"]:.1f} MiB |
| retriever index build, {r["patterns"]:,} patterns | {r["index_build_ms"]:.0f} ms |
| retriever query, warm index: p50 / p95 (goal p50 < 20 ms) | {r["warm_p50_ms"]:.2f} / {r["warm_p95_ms"]:.2f} ms |
| retriever query, cold (`cache_seconds=0`, reads SQLite): p50 / p95 | {r["cold_p50_ms"]:.0f} / {r["cold_p95_ms"]:.0f} ms |
"""
    print(markdown)
    write_section(
        "learning",
        markdown,
        {"consolidation": consolidation, "retriever": retrieval, "command": command},
    )


if __name__ == "__main__":
    main()
