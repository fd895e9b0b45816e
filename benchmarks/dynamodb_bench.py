"""DynamoDB store: write throughput, stats and chain latency, consumed capacity (on dynalite).

    .venv/bin/python -m benchmarks.dynamodb_bench [--decisions 2000] [--stored 50000]

Starts its own dynalite server on loopback (``tests/dynalite.py``; run from the repository
root after ``npm ci``) and measures, on one ``DynamoDBStore``:

* ``--decisions`` decisions written one by one (``put_decision``, one PutItem each) vs the same
  number written with ``put_decisions`` in batches of ``--batch`` (BatchWriteItem, 25 a call),
  then an outcome attached to each one-by-one decision (``set_outcome``, one UpdateItem);
* with ``--stored`` decisions of one agent loaded batched over the last 23 hours: p50/p95 of
  ``DecisionLogger.get_decision_stats(time_window_hours=24)`` (``--stats-repeats`` runs) and of
  ``MemoryManager.get_decision_chain`` on a chain of ``--chain`` linked decisions logged into the
  same partition (``--chain-repeats`` runs);
* consumed capacity from ``store.usage()``: write units per decision (reported by the server
  for the base table, plus the library's estimate of the index writes DynamoDB would bill and
  dynalite does not report) and read units per query.

dynalite is a single-threaded Node process on LevelDB: absolute latencies are those of a local
emulator, not of DynamoDB (no network round trip, no partition fan-out). The capacity units
follow DynamoDB's rules and are the figures to use for cost. Results go to
benchmarks/RESULTS.md (section ``dynamodb``) and benchmarks/results-dynamodb.json.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from agentmem_langchain import DecisionLogger, DecisionOutcome, DecisionRecord, MemoryManager
from agentmem_langchain.models import DecisionReasoning, utcnow
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.dynamodb.client import Usage
from tests.dynalite import DynaliteServer

from .results import machine, percentiles_ms, write_section

TYPES = ["source_selection", "query_execution", "signal_generation", "tool_call"]
SOURCES = ["coinglass", "cryptoquant", "glassnode", "kaiko", "santiment", "messari"]
STATS_AGENT = "stats-agent"


def make_records(
    memory: MemoryManager, count: int, window: timedelta, *, outcomes: bool, seed: int
) -> list[DecisionRecord]:
    """Decisions shaped like captured ones (context, reasoning, ttl from the manager)."""
    rng = random.Random(seed)
    now = utcnow()
    records = []
    for _ in range(count):
        outcome = None
        if outcomes and rng.random() < 0.9:
            outcome = DecisionOutcome(success=rng.random() < 0.7, latency_ms=rng.uniform(5, 500))
        record = DecisionRecord(
            agent_id=memory.agent_id,
            decision_type=rng.choice(TYPES),
            timestamp=now - window * rng.random(),
            reasoning=DecisionReasoning(
                confidence=rng.random(),
                selected=[rng.choice(SOURCES)],
                alternatives=SOURCES[:3],
                rationale="highest recent success rate in this volatility regime",
            ),
            context={
                "market": {"volatility": rng.choice(["low", "high"]), "regime": "bull"},
                "inputs": {"symbol": "BTC-USD", "window": "4h"},
            },
            outcome=outcome,
        )
        records.append(memory.prepare(record))
    return records


def units(usage: Usage) -> dict[str, float]:
    """Reported, estimated-index and billed write units, read units and calls of a snapshot."""
    return {
        "calls": sum(line.calls for line in usage.lines),
        "reported_write_units": sum(line.write_units for line in usage.lines),
        "estimated_index_write_units": sum(
            line.estimated_index_write_units for line in usage.lines
        ),
        "billed_write_units": usage.write_units,
        "read_units": usage.read_units,
    }


def per(figures: dict[str, float], count: int) -> dict[str, float]:
    return {key: value / count for key, value in figures.items()}


def metered(store: DynamoDBStore, action: Callable[[], Any]) -> tuple[float, dict[str, float]]:
    """Seconds ``action`` took and the capacity it consumed."""
    store.reset_usage()
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    return elapsed, units(store.usage())


def bench_writes(store: DynamoDBStore, count: int, batch: int) -> dict[str, Any]:
    single = MemoryManager("writer-single", store=store)
    batched = MemoryManager("writer-batched", store=store)
    one_records = make_records(single, count, timedelta(hours=1), outcomes=False, seed=1)
    many_records = make_records(batched, count, timedelta(hours=1), outcomes=False, seed=1)

    def one_by_one() -> None:
        for record in one_records:
            store.put_decision(record)

    def in_batches() -> None:
        for start in range(0, count, batch):
            store.put_decisions(many_records[start : start + batch])

    def outcomes() -> None:
        rng = random.Random(4)
        for record in one_records:
            single.log_outcome(
                record.decision_id, success=rng.random() < 0.7, latency_ms=rng.uniform(5, 500)
            )

    single_s, single_units = metered(store, one_by_one)
    batch_s, batch_units = metered(store, in_batches)
    outcome_s, outcome_units = metered(store, outcomes)
    return {
        "decisions": count,
        "batch_size": batch,
        "one_by_one_per_s": count / single_s,
        "batched_per_s": count / batch_s,
        "ratio": single_s / batch_s,
        "outcomes_per_s": count / outcome_s,
        "per_decision": {
            "put_decision": per(single_units, count),
            "put_decisions": per(batch_units, count),
            "set_outcome": per(outcome_units, count),
        },
    }


def load_stored(store: DynamoDBStore, count: int, batch: int) -> dict[str, Any]:
    memory = MemoryManager(STATS_AGENT, store=store)
    loaded = 0
    store.reset_usage()
    started = time.perf_counter()
    for start in range(0, count, 5000):  # generated in slices: bounded memory
        records = make_records(
            memory, min(5000, count - start), timedelta(hours=23), outcomes=True, seed=start + 2
        )
        for i in range(0, len(records), batch):
            store.put_decisions(records[i : i + batch])
        loaded += len(records)
    elapsed = time.perf_counter() - started
    figures = units(store.usage())
    return {
        "decisions": loaded,
        "seconds": elapsed,
        "per_s": loaded / elapsed,
        "per_decision": per(figures, loaded),
    }


def build_chain(store: DynamoDBStore, length: int) -> tuple[str, dict[str, float]]:
    """``length`` decisions, each the child of the previous one, logged one by one through
    ``MemoryManager.log_decision`` (which reads the parent to inherit its trace)."""
    memory = MemoryManager(STATS_AGENT, store=store)
    store.reset_usage()
    parent: str | None = None
    for step in range(length):
        parent = memory.log_decision(
            DecisionRecord(
                agent_id=STATS_AGENT,
                decision_type=TYPES[step % len(TYPES)],
                parent_decision_id=parent,
                reasoning=DecisionReasoning(confidence=0.5, selected=["kaiko"]),
                context={"inputs": {"step": step}},
            )
        )
    assert parent is not None
    return parent, per(units(store.usage()), length)


def timed(
    store: DynamoDBStore, action: Callable[[], Any], repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Latency percentiles of ``repeats`` runs and the capacity of one run (averaged)."""
    samples = []
    store.reset_usage()
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return percentiles_ms(samples), per(units(store.usage()), repeats)


def bench_queries(
    store: DynamoDBStore, stored: int, chain: int, stats_repeats: int, chain_repeats: int
) -> dict[str, Any]:
    last, chain_build = build_chain(store, chain)
    memory = MemoryManager(STATS_AGENT, store=store)
    logger = DecisionLogger(memory)

    stats = logger.get_decision_stats(time_window_hours=24)  # also the warm-up
    assert stats.total == stored + chain, stats
    links = memory.get_decision_chain(last)
    assert len(links) == chain and links[-1].decision_id == last, links

    stats_ms, stats_units = timed(
        store, lambda: logger.get_decision_stats(time_window_hours=24), stats_repeats
    )
    chain_ms, chain_units = timed(store, lambda: memory.get_decision_chain(last), chain_repeats)
    trace_id = links[0].trace_id or links[0].decision_id
    trace_ms, trace_units = timed(
        store, lambda: store.get_trace(STATS_AGENT, trace_id), chain_repeats
    )
    return {
        "stored": stored + chain,
        "stats": {
            "repeats": stats_repeats,
            "total": stats.total,
            **stats_ms,
            "read_units": stats_units["read_units"],
            "queries": stats_units["calls"],
        },
        "chain": {
            "length": chain,
            "repeats": chain_repeats,
            **chain_ms,
            "read_units": chain_units["read_units"],
            "calls": chain_units["calls"],
            "log_decision_per_link": chain_build,
        },
        "get_trace": {**trace_ms, "read_units": trace_units["read_units"]},
    }


def markdown(
    args: argparse.Namespace, writes: dict[str, Any], load: dict[str, Any], queries: dict[str, Any]
) -> str:
    put1 = writes["per_decision"]["put_decision"]
    putn = writes["per_decision"]["put_decisions"]
    outc = writes["per_decision"]["set_outcome"]
    loaded = load["per_decision"]
    stats, chain, trace = queries["stats"], queries["chain"], queries["get_trace"]
    link = chain["log_decision_per_link"]

    def wcu(u: dict[str, float]) -> str:
        return (
            f"{u['billed_write_units']:.2f} ({u['reported_write_units']:.2f} table + "
            f"{u['estimated_index_write_units']:.2f} index, estimated)"
        )

    command = (
        f".venv/bin/python -m benchmarks.dynamodb_bench --decisions {args.decisions} "
        f"--stored {args.stored} --batch {args.batch} --stats-repeats {args.stats_repeats} "
        f"--chain {args.chain} --chain-repeats {args.chain_repeats}"
    )
    return f"""
## DynamoDB store on dynalite: writes, stats, chains, capacity

`{command}` on {machine()}, dynalite (a local DynamoDB emulator: one Node process on the same machine).

| measure | result |
|---|---|
| `put_decision` one by one, {writes["decisions"]:,} decisions | {writes["one_by_one_per_s"]:,.0f} decisions/s |
| `put_decisions` in batches of {writes["batch_size"]}, {writes["decisions"]:,} decisions | {writes["batched_per_s"]:,.0f} decisions/s ({writes["ratio"]:.1f}x) |
| `set_outcome` one by one, {writes["decisions"]:,} decisions | {writes["outcomes_per_s"]:,.0f} outcomes/s |
| load {load["decisions"]:,} decisions of one agent, batched | {load["seconds"]:.1f} s ({load["per_s"]:,.0f} decisions/s) |
| `get_decision_stats(24 h)` over {stats["total"]:,} decisions, p50 / p95 ({stats["repeats"]} runs) | {stats["median_ms"]:,.0f} / {stats["p95_ms"]:,.0f} ms |
| `get_decision_chain`, {chain["length"]} linked decisions in that partition, p50 / p95 ({chain["repeats"]} runs) | {chain["median_ms"]:.1f} / {chain["p95_ms"]:.1f} ms |
| `store.get_trace` of the same chain, p50 / p95 | {trace["median_ms"]:.1f} / {trace["p95_ms"]:.1f} ms |

Consumed capacity (`store.usage()`; on-demand, so units are what is billed):

| per | write units | read units |
|---|---|---|
| decision, `put_decision` (no outcome yet) | {wcu(put1)} | {put1["read_units"]:.2f} |
| decision, `put_decisions` (no outcome yet) | {wcu(putn)} | {putn["read_units"]:.2f} |
| outcome, `set_outcome` on a pending decision | {wcu(outc)} | {outc["read_units"]:.2f} |
| decision loaded with `put_decisions`, outcome already attached to 90% | {wcu(loaded)} | {loaded["read_units"]:.2f} |
| chain link, `log_decision` with a parent (reads the parent) | {wcu(link)} | {link["read_units"]:.2f} |
| `get_decision_stats(24 h)` call over {stats["total"]:,} decisions ({stats["queries"]:.0f} Query requests) | 0 | {stats["read_units"]:,.1f} ({stats["read_units"] / stats["total"] * 1000:.2f} per 1,000 decisions) |
| `get_decision_chain` call ({chain["calls"]:.0f} requests: GetItem, Query, BatchGetItem) | 0 | {chain["read_units"]:.1f} |

dynalite reports only base-table write units; the index units are the store's estimate of what
DynamoDB bills for the GSI entries each write creates or changes (one unit per entry per KB
projected). Batching saves time (fewer round trips), not capacity: a BatchWriteItem is billed
per item like a PutItem. A decision logged first and given its outcome later costs the put plus
the outcome update; an item just over 1 KB costs 2 table units. Latencies are the emulator's:
on DynamoDB each request adds a network round trip, and the stats query reads about 1 MB per
page.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=2000, help="one-by-one vs batched")
    parser.add_argument("--batch", type=int, default=500, help="records per put_decisions")
    parser.add_argument("--stored", type=int, default=50_000, help="decisions of one agent")
    parser.add_argument("--stats-repeats", type=int, default=10)
    parser.add_argument("--chain", type=int, default=10, help="linked decisions in the chain")
    parser.add_argument("--chain-repeats", type=int, default=50)
    args = parser.parse_args()
    print(
        f"dynalite: {args.decisions} decisions one by one and batched, {args.stored} stored, "
        f"{args.stats_repeats} stats runs, chain of {args.chain} x {args.chain_repeats} runs"
    )
    started = time.perf_counter()
    with DynaliteServer() as server:
        store = DynamoDBStore(region="us-east-1", endpoint_url=server.endpoint_url)
        try:
            store.create_all_tables()
            writes = bench_writes(store, args.decisions, args.batch)
            load = load_stored(store, args.stored, args.batch)
            queries = bench_queries(
                store, args.stored, args.chain, args.stats_repeats, args.chain_repeats
            )
        finally:
            store.close()
    text = markdown(args, writes, load, queries)
    print(text)
    print(f"(total run time {time.perf_counter() - started:.0f} s)")
    write_section(
        "dynamodb",
        text,
        {
            "machine": machine(),
            "server": "dynalite",
            "args": vars(args),
            "writes": writes,
            "load": load,
            "queries": queries,
        },
    )


if __name__ == "__main__":
    main()
