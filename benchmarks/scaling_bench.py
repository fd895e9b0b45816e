"""Scaling: recorder throughput vs batch size, and query latency as the store grows.

    .venv/bin/python -m benchmarks.scaling_bench [--sizes 1000,10000,100000,1000000]
        [--dynalite-sizes 1000,10000,100000] [--skip-dynalite]

Two measurements, on the embedded SQLite store and on DynamoDB emulated by dynalite
(``tests/dynalite.py``; run from the repository root after ``npm ci``):

* **Recorder throughput vs batch size**: ``--records`` (SQLite) / ``--dynalite-records``
  pre-built ``CapturedDecision`` items are ``submit``-ted to a fresh ``recorder_for(store,
  RecorderSettings(batch_size=B))`` and the clock stops when ``flush()`` returns (the records
  are converted on the capture thread, so conversion is part of the cost). Median and worst
  records/s of ``--repeats`` runs per batch size (``--batch-sizes`` / ``--dynalite-batch-sizes``;
  dynalite's BatchWriteItem takes at most 25 items, so larger batches are sent in chunks).
* **Query latency as the store grows**: one agent's table is filled, in place, to each of
  ``--sizes`` (SQLite) / ``--dynalite-sizes`` decisions with ``put_decisions`` in big batches,
  timestamps spread uniformly over 30 days (a 24 h window holds ~1/30 of them). At each size:
  p50/p95 of ``DecisionLogger.get_decision_stats(time_window_hours=24)``, of
  ``get_decision_chain`` on a fixed 10-decision chain, of ``query_decisions(limit=50)``
  (the newest page) and of ``PatternRetriever(memory=..., k=4, cache_seconds=0)`` (a cold
  retrieval that re-reads the ``--patterns`` stored patterns each call).

Results go to benchmarks/RESULTS.md (section ``scaling``) and benchmarks/results-scaling.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentmem_langchain import DecisionLogger, DecisionOutcome, DecisionRecord, MemoryManager
from agentmem_langchain.capture import CapturedDecision, RecorderSettings, recorder_for
from agentmem_langchain.langchain.retriever import PatternRetriever
from agentmem_langchain.models import DecisionReasoning, MemoryPattern, utcnow
from agentmem_langchain.stores.base import MemoryStore
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.sqlite import SQLiteStore

from .results import machine, percentiles_ms, write_section

TYPES = ["source_selection", "query_execution", "signal_generation", "tool_call"]
SOURCES = ["coinglass", "cryptoquant", "glassnode", "kaiko", "santiment", "messari"]
REGIMES = ["bull", "bear", "sideways", "crash"]
AGENT = "scale-agent"
SPREAD = timedelta(days=30)
LOAD_SLICE = 10_000


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


# -- recorder throughput ----------------------------------------------------------------


def captured(agent_id: str, count: int, seed: int) -> list[CapturedDecision]:
    """Decisions as the decorator captures them (raw values, converted by the recorder)."""
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        item = CapturedDecision(
            agent_id=agent_id,
            decision_type=rng.choice(TYPES),
            inputs={"symbol": "BTC-USD", "window": "4h"},
            context_extra={"market": {"volatility": rng.choice(["low", "high"])}},
        )
        item.confidence = rng.random()
        item.selected = [rng.choice(SOURCES)]
        item.alternatives = SOURCES[:3]
        item.finish(result={"source": item.selected[0]})
        items.append(item)
    return items


def recorder_run(store: MemoryStore, items: list[CapturedDecision], batch: int, tmp: Path) -> float:
    """records/s from the first ``submit`` until ``flush()`` returns."""
    settings = RecorderSettings(
        batch_size=batch,
        max_queue=len(items) + 1,
        on_full="block",
        journal_dir=tmp / "journal",
        flush_timeout=600.0,
    )
    recorder = recorder_for(store, settings)
    assert recorder.settings.batch_size == batch, "a recorder already existed for this store"
    started = time.perf_counter()
    for item in items:
        recorder.submit(item)
    assert recorder.flush(), recorder.stats()
    elapsed = time.perf_counter() - started
    stats = recorder.stats()
    assert stats.written == len(items) and stats.spilled == 0, stats
    recorder.close()
    return len(items) / elapsed


def conversion_us(count: int) -> float:
    """Microseconds ``CapturedDecision.to_record`` takes per record (the recorder's own work)."""
    settings = RecorderSettings()
    items = captured("convert", count, seed=99)
    started = time.perf_counter()
    for item in items:
        item.to_record(settings)
    return (time.perf_counter() - started) / count * 1e6


def summarize(rates: list[float]) -> dict[str, Any]:
    return {
        "runs": rates,
        "median_per_s": statistics.median(rates),
        "worst_per_s": min(rates),
    }


def bench_recorder_sqlite(
    tmp: Path, count: int, batches: list[int], repeats: int
) -> dict[str, dict[str, Any]]:
    out = {}
    for batch in batches:
        rates = []
        for rep in range(repeats):
            items = captured(f"rec-sqlite-{batch}-{rep}", count, seed=rep)
            with SQLiteStore(tmp / f"recorder-{batch}-{rep}.db") as store:
                rates.append(recorder_run(store, items, batch, tmp))
        out[str(batch)] = summarize(rates)
        print(f"  sqlite recorder batch {batch}: {out[str(batch)]['median_per_s']:,.0f} rec/s")
    return out


def bench_recorder_dynamo(
    endpoint: str, tmp: Path, count: int, batches: list[int], repeats: int
) -> dict[str, dict[str, Any]]:
    out = {}
    for batch in batches:
        rates = []
        for rep in range(repeats):
            items = captured(f"rec-dynamo-{batch}-{rep}", count, seed=rep)
            store = DynamoDBStore(region="us-east-1", endpoint_url=endpoint)
            try:
                rates.append(recorder_run(store, items, batch, tmp))
            finally:
                store.close()
        out[str(batch)] = summarize(rates)
        print(f"  dynalite recorder batch {batch}: {out[str(batch)]['median_per_s']:,.0f} rec/s")
    return out


# -- query latency as the store grows ----------------------------------------------------


def bulk_records(count: int, seed: int) -> list[DecisionRecord]:
    rng = random.Random(seed)
    now = utcnow()
    records = []
    for _ in range(count):
        outcome = None
        if rng.random() < 0.9:
            outcome = DecisionOutcome(success=rng.random() < 0.7, latency_ms=rng.uniform(5, 500))
        records.append(
            DecisionRecord(
                agent_id=AGENT,
                decision_type=rng.choice(TYPES),
                timestamp=now - SPREAD * rng.random(),
                reasoning=DecisionReasoning(
                    confidence=rng.random(), selected=[rng.choice(SOURCES)]
                ),
                context={"market": {"volatility": rng.choice(["low", "high"])}},
                outcome=outcome,
            )
        )
    return records


def grow(store: MemoryStore, have: int, want: int, batch: int) -> float:
    """Add decisions until the agent has ``want`` bulk ones; seconds it took."""
    started = time.perf_counter()
    while have < want:
        records = bulk_records(min(LOAD_SLICE, want - have), seed=have + 7)
        for i in range(0, len(records), batch):
            store.put_decisions(records[i : i + batch])
        have += len(records)
    return time.perf_counter() - started


def build_chain(memory: MemoryManager, length: int) -> str:
    parent: str | None = None
    for step in range(length):
        parent = memory.log_decision(
            DecisionRecord(
                agent_id=AGENT,
                decision_type=TYPES[step % len(TYPES)],
                parent_decision_id=parent,
                reasoning=DecisionReasoning(confidence=0.5, selected=["kaiko"]),
                context={"inputs": {"step": step}},
            )
        )
    assert parent is not None
    return parent


def store_patterns(store: MemoryStore, count: int) -> None:
    rng = random.Random(11)
    for i in range(count):
        source = rng.choice(SOURCES)
        store.put_pattern(
            MemoryPattern(
                agent_id=AGENT,
                decision_type=rng.choice(TYPES),
                description=(
                    f"pattern {i}: prefer {source} when volatility is "
                    f"{rng.choice(['low', 'high'])} in a {rng.choice(REGIMES)} market"
                ),
                conditions={"volatility": rng.choice(["low", "high"])},
                recommendation={"source": source},
                confidence=rng.random(),
                success_rate=rng.random(),
            ),
            expected_version=None,
        )


def timed(action: Callable[[], Any], repeats: int) -> dict[str, float]:
    action()  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return percentiles_ms(samples)


def measure(
    memory: MemoryManager, last: str, chain: int, patterns: int, repeats: int
) -> dict[str, Any]:
    logger = DecisionLogger(memory)
    retriever = PatternRetriever(memory=memory, k=4, cache_seconds=0)
    stats = logger.get_decision_stats(time_window_hours=24)
    links = memory.get_decision_chain(last)
    assert len(links) == chain and links[-1].decision_id == last, links
    page = memory.query_decisions(limit=50)
    assert len(page.items) == 50, page
    docs = retriever.invoke("source selection when volatility is high in a bull market")
    assert len(docs) == 4, docs
    return {
        "in_window": stats.total,
        "stats": timed(lambda: logger.get_decision_stats(time_window_hours=24), repeats),
        "chain": timed(lambda: memory.get_decision_chain(last), repeats),
        "newest_page": timed(lambda: memory.query_decisions(limit=50), repeats),
        "retriever": timed(
            lambda: retriever.invoke("source selection when volatility is high"), repeats
        ),
        "patterns": patterns,
    }


def bench_growth(
    store: MemoryStore,
    sizes: list[int],
    *,
    batch: int,
    chain: int,
    patterns: int,
    repeats: int,
    label: str,
) -> dict[str, dict[str, Any]]:
    memory = MemoryManager(AGENT, store=store, decision_ttl=None)
    last = build_chain(memory, chain)
    store_patterns(store, patterns)
    out: dict[str, dict[str, Any]] = {}
    have = 0
    for size in sizes:
        load_s = grow(store, have, size, batch)
        added, have = size - have, size
        figures = measure(memory, last, chain, patterns, repeats)
        figures.update(decisions=size + chain, load_s=load_s, load_per_s=added / load_s)
        out[str(size)] = figures
        print(
            f"  {label} {size:,}: loaded {added:,} in {load_s:.1f} s; stats "
            f"{figures['stats']['median_ms']:.1f} ms ({figures['in_window']:,} in window), chain "
            f"{figures['chain']['median_ms']:.2f} ms, page {figures['newest_page']['median_ms']:.2f}"
            f" ms, retriever {figures['retriever']['median_ms']:.1f} ms"
        )
    return out


@contextmanager
def dynalite() -> Iterator[tuple[str, DynamoDBStore]]:
    """A dynalite server (endpoint) and a store on it with its tables created."""
    from tests.dynalite import DynaliteServer

    with DynaliteServer() as server:
        store = DynamoDBStore(region="us-east-1", endpoint_url=server.endpoint_url)
        try:
            store.create_all_tables()
            yield server.endpoint_url, store
        finally:
            store.close()


# -- report ------------------------------------------------------------------------------


def recorder_table(results: dict[str, dict[str, Any]], count: int, repeats: int) -> str:
    head = "| batch size | median records/s | worst records/s |\n|---|---|---|\n"
    rows = "".join(
        f"| {batch} | {r['median_per_s']:,.0f} | {r['worst_per_s']:,.0f} |\n"
        for batch, r in results.items()
    )
    return f"{count:,} records, {repeats} runs per batch size:\n\n{head}{rows}"


def growth_table(results: dict[str, dict[str, Any]], chain: int) -> str:
    sizes = list(results)
    head = "| p50 / p95 ms | " + " | ".join(f"{int(s):,}" for s in sizes) + " |\n"
    head += "|---|" + "---|" * len(sizes) + "\n"

    def row(name: str, key: str, digits: int) -> str:
        cells = [
            f"{results[s][key]['median_ms']:.{digits}f} / {results[s][key]['p95_ms']:.{digits}f}"
            for s in sizes
        ]
        return f"| {name} | " + " | ".join(cells) + " |\n"

    window = "| decisions in the 24 h window | " + " | ".join(
        f"{results[s]['in_window']:,}" for s in sizes
    )
    per_k = "| stats p50 per 1,000 in window | " + " | ".join(
        f"{results[s]['stats']['median_ms'] / max(1, results[s]['in_window']) * 1000:.2f}"
        for s in sizes
    )
    load = "| load time for the step (decisions/s) | " + " | ".join(
        f"{results[s]['load_s']:.1f} s ({results[s]['load_per_s']:,.0f}/s)" for s in sizes
    )
    patterns = next(iter(results.values()))["patterns"]
    return (
        head
        + row("`get_decision_stats(24 h)`", "stats", 1)
        + window
        + " |\n"
        + per_k
        + " |\n"
        + row(f"`get_decision_chain` ({chain} links)", "chain", 2)
        + row("`query_decisions(limit=50)`, newest page", "newest_page", 2)
        + row(f"`PatternRetriever` k=4, cold, {patterns:,} patterns", "retriever", 1)
        + load
        + " |\n"
    )


def markdown(args: argparse.Namespace, figures: dict[str, Any], command: str) -> str:
    best_us = 1e6 / max(r["median_per_s"] for r in figures["recorder"]["sqlite"].values())
    text = f"""
## Scaling: recorder batch size, query latency vs store size

`{command}` on {machine()}.

### Recorder throughput vs batch size

`submit` of pre-built `CapturedDecision`s until `flush()` returns (conversion to records
happens on the capture thread and is included), fresh store and recorder per run.

SQLite, {recorder_table(figures["recorder"]["sqlite"], args.records, args.repeats)}
Converting a `CapturedDecision` (`to_record`: redaction, secret masking, JSON, truncation)
alone takes {figures["recorder"]["to_record_us"]:.0f} µs a record here (measured on its own,
before the runs), of the {best_us:.0f} µs a record the recorder spends at its best SQLite batch
size: batching removes the per-transaction (SQLite) and per-request (DynamoDB) cost, and what
is left per record (conversion, serialization, the insert, the hand-off between threads under
the GIL) does not shrink with larger batches.
"""
    if "dynalite" in figures["recorder"]:
        text += f"""
dynalite (BatchWriteItem: at most 25 items a request, larger batches are chunked),
{recorder_table(figures["recorder"]["dynalite"], args.dynalite_records, args.dynalite_repeats)}
"""
    text += f"""
### Query latency as the store grows

One agent, decisions loaded with `put_decisions` (batches of {args.load_batch} on SQLite,
{args.dynalite_load_batch} on dynalite) and spread uniformly over 30 days, so the 24 h window
holds ~1/30 of them; plus one {args.chain}-decision chain and {args.patterns:,} stored patterns,
the same at every size. {args.query_repeats} timed runs per cell after one warm-up; columns are
bulk decisions stored (the chain adds {args.chain}).

SQLite:

{growth_table(figures["growth"]["sqlite"], args.chain)}"""
    if "dynalite" in figures["growth"]:
        text += f"""
dynalite:

{growth_table(figures["growth"]["dynalite"], args.chain)}"""
    text += """
`get_decision_stats` reads only the window's rows (SQLite: the (agent, timestamp) index;
DynamoDB: a Query on the agent's time key), so its cost follows the rows in the window: on
SQLite the cost per 1,000 window rows stays in a narrow band at every size; on dynalite each
request's fixed cost dominates small windows, so the per-1,000 figure falls as the window
grows. Because the window is a fixed 1/30 share of the table here, the stats row alone cannot
tell window from table; the rows that read a fixed amount do: the 10-link chain (trace index),
the newest page of 50 and the cold pattern retrieval (which reads only the patterns) do not
grow with the table. The retriever's p95 is 2-3x its p50 at every size (cause not
investigated). dynalite is a local single-process emulator: its latencies have no network
round trip and are not DynamoDB's.
"""
    if args.skip_dynalite:
        text += "\ndynalite was skipped in this run (`--skip-dynalite`).\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=ints, default=ints("1000,10000,100000,1000000"))
    parser.add_argument("--dynalite-sizes", type=ints, default=ints("1000,10000,100000"))
    parser.add_argument("--skip-dynalite", action="store_true")
    parser.add_argument("--records", type=int, default=10_000, help="SQLite recorder run")
    parser.add_argument("--dynalite-records", type=int, default=2_000)
    parser.add_argument("--batch-sizes", type=ints, default=ints("1,10,50,200,500"))
    parser.add_argument("--dynalite-batch-sizes", type=ints, default=ints("1,25,100"))
    parser.add_argument("--repeats", type=int, default=5, help="SQLite recorder runs")
    parser.add_argument("--dynalite-repeats", type=int, default=3)
    parser.add_argument("--load-batch", type=int, default=5000)
    parser.add_argument("--dynalite-load-batch", type=int, default=500)
    parser.add_argument("--chain", type=int, default=10)
    parser.add_argument("--patterns", type=int, default=1000)
    parser.add_argument("--query-repeats", type=int, default=20)
    args = parser.parse_args()
    command = ".venv/bin/python -m benchmarks.scaling_bench --sizes " + ",".join(
        map(str, args.sizes)
    )
    if args.skip_dynalite:
        command += " --skip-dynalite"
    else:
        command += " --dynalite-sizes " + ",".join(map(str, args.dynalite_sizes))

    started = time.perf_counter()
    figures: dict[str, Any] = {"machine": machine(), "args": vars(args), "recorder": {}}
    figures["growth"] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        figures["recorder"]["to_record_us"] = conversion_us(args.records)
        print(f"to_record: {figures['recorder']['to_record_us']:.0f} us a record")
        print("recorder throughput, SQLite")
        figures["recorder"]["sqlite"] = bench_recorder_sqlite(
            tmp, args.records, args.batch_sizes, args.repeats
        )
        print("query latency vs size, SQLite")
        with SQLiteStore(tmp / "growth.db") as store:
            figures["growth"]["sqlite"] = bench_growth(
                store,
                args.sizes,
                batch=args.load_batch,
                chain=args.chain,
                patterns=args.patterns,
                repeats=args.query_repeats,
                label="sqlite",
            )
        if not args.skip_dynalite:
            with dynalite() as (endpoint, store):
                print("recorder throughput, dynalite")
                figures["recorder"]["dynalite"] = bench_recorder_dynamo(
                    endpoint,
                    tmp,
                    args.dynalite_records,
                    args.dynalite_batch_sizes,
                    args.dynalite_repeats,
                )
                print("query latency vs size, dynalite")
                figures["growth"]["dynalite"] = bench_growth(
                    store,
                    args.dynalite_sizes,
                    batch=args.dynalite_load_batch,
                    chain=args.chain,
                    patterns=args.patterns,
                    repeats=args.query_repeats,
                    label="dynalite",
                )
    figures["seconds"] = time.perf_counter() - started
    text = markdown(args, figures, command)
    print(text)
    print(f"(total run time {figures['seconds']:.0f} s)")
    write_section("scaling", text, figures)


if __name__ == "__main__":
    main()
