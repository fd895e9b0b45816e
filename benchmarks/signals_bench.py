"""Signal throughput and delivery latency on SQLite and on DynamoDB (dynalite).

    .venv/bin/python -m benchmarks.signals_bench [--signals 1000] [--latency-signals 500]
        [--sqlite-rate 200] [--dynalite-rate 20]

For each store, through ``MultiAgentCoordinator`` with one producer agent and one target agent:

* publish: ``--signals`` signals published one by one (``publish_signal``, targets=[agent]);
* consume: the same signals taken by one consumer, ``consume_signals(limit=10)`` (a claim with
  a 30 s lease) then ``ack`` of each, until none is left: signals per second overall, and over
  the first and the last tenth of the run;
* delivery latency: on a fresh store, a producer thread publishes ``--latency-signals`` at a
  steady rate (``--sqlite-rate``/``--dynalite-rate`` per second) while a consumer thread polls
  (claim limit 10; ``POLL_S`` pause after a claim that found nothing) and acks; latency is from
  just before ``publish_signal`` to just after ``ack`` returned, p50/p95/max.

On DynamoDB it also reports what claims cost (``store.usage()`` read units). The store finds an agent's pending signals by reading the agent's
TargetAgentIndex partition from the start and then every signal's status item, so a claim
reads every delivery the agent still has, processed ones included, until they expire (24 h by
default): the cost of a claim grows with the agent's history. dynalite (started here on
loopback, ``tests/dynalite.py``) is a single-threaded local emulator: its latencies are not
DynamoDB's, but the number of requests and read units per claim are.

Results go to benchmarks/RESULTS.md (section ``signals``) and benchmarks/results-signals.json.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentmem_langchain.coordination import MultiAgentCoordinator
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.sqlite import SQLiteStore
from tests.dynalite import DynaliteServer

from .results import machine, write_section

PRODUCER = "producer-agent"
AGENT = "consumer-agent"
LEASE = timedelta(seconds=30)
CLAIM_LIMIT = 10
POLL_S = 0.01

StoreFactory = Callable[[str], MemoryStore]  # a fresh, empty store for a label


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95 and the max of timings in seconds, in milliseconds."""
    ordered = sorted(samples_s)

    def rank(p: float) -> float:
        return ordered[max(0, round(p * len(ordered)) - 1)] * 1000

    return {"p50_ms": rank(0.50), "p95_ms": rank(0.95), "max_ms": ordered[-1] * 1000}


def bench_throughput(store: MemoryStore, count: int) -> dict[str, Any]:
    coordinator = MultiAgentCoordinator(store)
    started = time.perf_counter()
    for i in range(count):
        coordinator.publish_signal(PRODUCER, "market_signal", {"seq": i}, targets=[AGENT])
    publish_s = time.perf_counter() - started

    dynamo = store if isinstance(store, DynamoDBStore) else None
    if dynamo is not None:
        dynamo.reset_usage()
    done_at: list[float] = []  # perf_counter after each ack
    claims = 0
    started = time.perf_counter()
    while batch := coordinator.consume_signals(AGENT, limit=CLAIM_LIMIT, lease=LEASE):
        claims += 1
        for signal in batch:
            if not coordinator.ack(AGENT, signal.signal_id):
                raise AssertionError(f"signal {signal.signal_id} acknowledged twice")
            done_at.append(time.perf_counter())
    claims += 1  # the last one, which found nothing
    consume_s = time.perf_counter() - started
    if len(done_at) != count:
        raise AssertionError(f"consumed {len(done_at)} of {count} signals")
    tenth = max(1, count // 10)
    first_s = done_at[tenth - 1] - started
    last_s = done_at[-1] - done_at[-tenth - 1]
    figures: dict[str, Any] = {
        "signals": count,
        "published_per_s": count / publish_s,
        "consumed_per_s": count / consume_s,
        "consumed_per_s_first_tenth": tenth / first_s,
        "consumed_per_s_last_tenth": tenth / last_s,
        "claims": claims,
    }
    if dynamo is not None:
        usage = dynamo.usage()
        claim_reads = sum(
            line.read_units for line in usage.lines if line.operation == "claim_signals"
        )
        figures["consume_read_units_per_signal"] = claim_reads / count
        figures["consume_write_units_per_signal"] = usage.write_units / count
        dynamo.reset_usage()
        started = time.perf_counter()
        empty = coordinator.consume_signals(AGENT, limit=CLAIM_LIMIT, lease=LEASE)
        figures["empty_claim_ms"] = (time.perf_counter() - started) * 1000
        assert empty == []
        usage = dynamo.usage()
        figures["empty_claim_read_units"] = usage.read_units
        figures["empty_claim_requests"] = sum(line.calls for line in usage.lines)
    return figures


def bench_latency(store: MemoryStore, count: int, rate: float) -> dict[str, Any]:
    """A producer at ``rate`` signals/s and one polling consumer, both threads."""
    producer = MultiAgentCoordinator(store)
    consumer = MultiAgentCoordinator(store)
    sent_at: dict[int, float] = {}  # by seq
    lock = threading.Lock()
    failures: list[BaseException] = []

    def produce() -> None:
        try:
            start = time.perf_counter()
            for i in range(count):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                with lock:  # before publishing: the consumer may have it before we return
                    sent_at[i] = time.perf_counter()
                producer.publish_signal(PRODUCER, "market_signal", {"seq": i}, targets=[AGENT])
            published.append(time.perf_counter() - start)
        except BaseException as exc:
            failures.append(exc)

    published: list[float] = []
    latencies: list[float] = []
    polls = empty_polls = 0
    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    deadline = time.monotonic() + count / rate + 120
    while len(latencies) < count and time.monotonic() < deadline and not failures:
        batch = consumer.consume_signals(AGENT, limit=CLAIM_LIMIT, lease=LEASE)
        polls += 1
        if not batch:
            empty_polls += 1
            time.sleep(POLL_S)
            continue
        for signal in batch:
            if not consumer.ack(AGENT, signal.signal_id):
                raise AssertionError(f"signal {signal.signal_id} acknowledged twice")
            acked = time.perf_counter()
            with lock:
                latencies.append(acked - sent_at[signal.payload["seq"]])
    thread.join(60)
    if failures:
        raise failures[0]
    if len(latencies) != count:
        raise AssertionError(f"delivered {len(latencies)} of {count} signals in time")
    figures: dict[str, Any] = {
        "signals": count,
        "target_rate_per_s": rate,
        "achieved_rate_per_s": count / published[0],
        "polls": polls,
        "empty_polls": empty_polls,
        **percentiles(latencies),
    }
    return figures


@contextmanager
def sqlite_stores(directory: Path) -> Iterator[StoreFactory]:
    opened: list[MemoryStore] = []

    def make(label: str) -> MemoryStore:
        store = SQLiteStore(directory / f"{label}.db")
        opened.append(store)
        return store

    try:
        yield make
    finally:
        for store in opened:
            store.close()


@contextmanager
def dynalite_stores() -> Iterator[StoreFactory]:
    import boto3

    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    opened: list[MemoryStore] = []
    with DynaliteServer() as server:

        def make(label: str) -> MemoryStore:
            store = DynamoDBStore(
                endpoint_url=server.endpoint_url,
                table_prefix=f"bench_{label}_",
                boto3_session=session,
            )
            store.create_all_tables()
            opened.append(store)
            return store

        try:
            yield make
        finally:
            for store in opened:
                store.close()


def run_store(make: StoreFactory, signals: int, latency_signals: int, rate: float) -> dict:
    throughput = bench_throughput(make("throughput"), signals)
    latency = bench_latency(make("latency"), latency_signals, rate)
    return {"throughput": throughput, "latency": latency}


def markdown_for(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, label in (("sqlite", "SQLite (file)"), ("dynalite", "DynamoDB on dynalite")):
        t, lat = results[name]["throughput"], results[name]["latency"]
        rows.append(
            f"| {label} | {t['published_per_s']:,.0f} | {t['consumed_per_s']:,.0f} "
            f"({t['consumed_per_s_first_tenth']:,.0f} → {t['consumed_per_s_last_tenth']:,.0f}) "
            f"| {lat['achieved_rate_per_s']:,.0f}/s | {lat['p50_ms']:,.1f} / {lat['p95_ms']:,.1f} "
            f"/ {lat['max_ms']:,.0f} |"
        )
    d, dl = results["dynalite"]["throughput"], results["dynalite"]["latency"]
    n, m = args.signals, args.latency_signals
    return f"""
## Signals: publish, consume, delivery latency

`.venv/bin/python -m benchmarks.signals_bench --signals {n} --latency-signals {m} --sqlite-rate {args.sqlite_rate:g} --dynalite-rate {args.dynalite_rate:g}`
on {machine()}, dynalite (a local DynamoDB emulator: one Node process on the same machine).

| store | published/s | consumed/s (first → last tenth) | latency run: publish rate | delivery latency p50 / p95 / max ms |
|---|---|---|---|---|
{chr(10).join(rows)}

Throughput: {n:,} signals published one by one to one agent, then taken by one consumer with
`consume_signals(limit={CLAIM_LIMIT})` (30 s lease) and an `ack` of each. Latency: {m:,} signals
published at a steady rate by a producer thread while a consumer thread polls (a {POLL_S * 1000:.0f} ms
pause after a claim that found nothing), from just before `publish_signal` to just after `ack`;
each latency run starts on an empty store.

What claims cost on DynamoDB (`store.usage()`):

| measure | value |
|---|---|
| read units per consumed signal, claims only ({n:,} signals, limit {CLAIM_LIMIT}) | {d["consume_read_units_per_signal"]:,.1f} |
| write units per consumed signal (claim + ack, estimated index units included) | {d["consume_write_units_per_signal"]:,.1f} |
| one claim that finds nothing, after {n:,} processed signals | {d["empty_claim_requests"]} requests, {d["empty_claim_read_units"]:,.0f} read units, {d["empty_claim_ms"]:,.0f} ms |
| latency run: claims (of which found nothing) | {dl["polls"]:,} ({dl["empty_polls"]:,}) |

A DynamoDB claim reads the agent's TargetAgentIndex partition from its start; the status of
a signal this store object has seen processed is remembered, not read again, but the delivery
pages still are, so a claim's cost still grows with the deliveries the agent has: consuming
slows as the history grows (first → last tenth). Deliveries stay until they expire (the
default `ttl` is 24 h); a short `ttl` keeps claims cheap. SQLite's claim is one indexed query
on pending deliveries and does not slow down.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=1000)
    parser.add_argument("--latency-signals", type=int, default=500)
    parser.add_argument("--sqlite-rate", type=float, default=200.0)
    parser.add_argument("--dynalite-rate", type=float, default=20.0)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, sqlite_stores(Path(tmp)) as make:
        results["sqlite"] = run_store(make, args.signals, args.latency_signals, args.sqlite_rate)
    with dynalite_stores() as make:
        results["dynalite"] = run_store(
            make, args.signals, args.latency_signals, args.dynalite_rate
        )
    markdown = markdown_for(args, results)
    print(markdown)
    write_section(
        "signals",
        markdown,
        {
            "machine": machine(),
            "command": vars(args),
            "claim_limit": CLAIM_LIMIT,
            "lease_s": LEASE.total_seconds(),
            "poll_s": POLL_S,
            **results,
        },
    )


if __name__ == "__main__":
    main()
