"""Store write throughput and stats latency on the embedded SQLite store.

    .venv/bin/python -m benchmarks.store_bench [--decisions 10000] [--stats-decisions 100000]

Measures: 10,000 decisions put one by one vs in batches of 500, and
``DecisionLogger.get_decision_stats`` over 100,000 decisions in a 24 h window (goal: < 50 ms
median). Results go to benchmarks/RESULTS.md (section ``sqlite-store``).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from agentmem_langchain import DecisionLogger, DecisionOutcome, DecisionRecord, MemoryManager
from agentmem_langchain.models import DecisionReasoning, utcnow
from agentmem_langchain.stores.sqlite import SQLiteStore

from .results import machine, percentiles_ms, write_section

TYPES = ["source_selection", "query_execution", "signal_generation", "tool_call"]


def make_records(
    agent_id: str, count: int, window: timedelta, seed: int = 1
) -> list[DecisionRecord]:
    rng = random.Random(seed)
    now = utcnow()
    records = []
    for _ in range(count):
        outcome = None
        if rng.random() < 0.9:
            outcome = DecisionOutcome(success=rng.random() < 0.7, latency_ms=rng.uniform(5, 500))
        records.append(
            DecisionRecord(
                agent_id=agent_id,
                decision_type=rng.choice(TYPES),
                timestamp=now - window * rng.random(),
                reasoning=DecisionReasoning(confidence=rng.random(), selected=["a"]),
                context={"market": {"volatility": rng.choice(["low", "high"])}},
                outcome=outcome,
            )
        )
    return records


def bench_writes(directory: Path, count: int) -> dict[str, float]:
    records = make_records("writer", count, timedelta(hours=1))
    with SQLiteStore(directory / "single.db") as store:
        started = time.perf_counter()
        for record in records:
            store.put_decision(record)
        single = time.perf_counter() - started
    with SQLiteStore(directory / "batch.db") as store:
        started = time.perf_counter()
        for i in range(0, count, 500):
            store.put_decisions(records[i : i + 500])
        batched = time.perf_counter() - started
    return {
        "decisions": count,
        "one_by_one_per_s": count / single,
        "batched_per_s": count / batched,
        "ratio": single / batched,
    }


def bench_stats(directory: Path, count: int, repeats: int = 30) -> dict[str, float]:
    with SQLiteStore(directory / "stats.db") as store:
        records = make_records("stats-agent", count, timedelta(hours=23))
        for i in range(0, count, 5000):
            store.put_decisions(records[i : i + 5000])
        logger = DecisionLogger(MemoryManager("stats-agent", store=store))
        stats = logger.get_decision_stats(time_window_hours=24)
        assert stats.total == count, stats
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            logger.get_decision_stats(time_window_hours=24)
            samples.append(time.perf_counter() - started)
    return {"decisions": count, **percentiles_ms(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--stats-decisions", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writes = bench_writes(Path(tmp), args.decisions)
        stats = bench_stats(Path(tmp), args.stats_decisions)
    markdown = f"""
## SQLite store: writes and stats

`.venv/bin/python -m benchmarks.store_bench --decisions {args.decisions} --stats-decisions {args.stats_decisions}`
on {machine()}.

| measure | result |
|---|---|
| put {writes["decisions"]:,} decisions one by one | {writes["one_by_one_per_s"]:,.0f} decisions/s |
| put {writes["decisions"]:,} decisions in batches of 500 | {writes["batched_per_s"]:,.0f} decisions/s ({writes["ratio"]:.1f}x) |
| `get_decision_stats` over {stats["decisions"]:,} decisions in 24 h, median | {stats["median_ms"]:.1f} ms (goal < 50 ms) |
| `get_decision_stats`, p95 | {stats["p95_ms"]:.1f} ms |

One-by-one puts are each a committed transaction (durable on return); a batch is one transaction.
"""
    print(markdown)
    write_section(
        "sqlite-store", markdown, {"machine": machine(), "writes": writes, "stats": stats}
    )


if __name__ == "__main__":
    main()
