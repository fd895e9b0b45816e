"""Fleet load: N agents x C cycles at full speed against DynamoDB (dynalite on loopback).

    .venv/bin/python -m benchmarks.fleet_load [--agents 50] [--cycles 144] [--processes 2]

Each agent runs the cycle ``agentmem cost`` measures (``analytics/cost.py``): five chained
decisions (source selection, query execution, signal generation, risk assessment, strategy
selection), an outcome for each, a state save, a signal to the next agent of the fleet (a
ring), a claim of the signals sent to it and an ``ack`` of each, and the 24 h decision stats.
After its last cycle each agent consolidates its decisions into patterns. It runs twice: all
agents as threads of one process sharing one ``DynamoDBStore``, then split over
``--processes`` processes (threads in each, one store per process).

Reported: decisions per second sustained over the cycles, p50/p95 of every call the agents
make, read and write units per agent per day at 144 cycles a day (write units as DynamoDB
bills them, index writes included), errors (any exception; must be 0), and TTL: a decision
and a signal the fleet wrote are read again through a store whose clock is 31 days ahead,
where they must be gone (dynalite has no TTL deletion; the store filters expired items on
every read, which is what this checks).

dynalite is a single-threaded local emulator on the same 2 cores as the agents: its
latencies are an upper bound of nothing in particular, but request counts, units and the
absence of errors under concurrency are what they would be on DynamoDB. Its queue is why the
store's call timeout is raised to ``CALL_TIMEOUT_S`` here.

Results go to benchmarks/RESULTS.md (section ``fleet-load``) and benchmarks/results-fleet-load.json.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from agentmem_langchain.decision_logger import DecisionLogger
from agentmem_langchain.learning.consolidation import consolidate
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.stores.dynamodb import DynamoDBStore

from .results import machine, percentiles_ms, write_section

CYCLES_PER_DAY = 144
# dynalite answers one request at a time: with 50 agents' requests queued, one can wait longer
# than the store's default 5 s timeout, which on DynamoDB would mean an outage. Not here.
CALL_TIMEOUT_S = 60.0
DECISIONS_PER_CYCLE = 5
T = TypeVar("T")


def open_store(endpoint_url: str, prefix: str, clock: Callable[[], datetime] | None = None) -> Any:
    import boto3

    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    extra = {"clock": clock} if clock is not None else {}
    return DynamoDBStore(
        endpoint_url=endpoint_url,
        table_prefix=prefix,
        boto3_session=session,
        timeout=CALL_TIMEOUT_S,
        **extra,
    )


class Timings:
    """Seconds per call name, for one agent (one thread: no lock needed)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def __call__(self, name: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        result = call(*args, **kwargs)
        self.samples.setdefault(name, []).append(time.perf_counter() - started)
        return result


def agent_cycle(logger: DecisionLogger, peer: str, cycle: int, timed: Timings) -> list[str]:
    """One cycle of ``agentmem cost``'s workload, plus the claim and ack of received signals."""
    memory = logger.memory
    context = {"market": {"btc_price": 45_000.0 + cycle}, "cycle": cycle}
    source = timed(
        "log_source_selection", logger.log_source_selection,
        sources=["coinglass", "cryptoquant"], scores={"coinglass": 0.95, "cryptoquant": 0.88},
        selected=["coinglass"], context=context, confidence=0.92,
    )  # fmt: skip
    query = timed(
        "log_query_execution", logger.log_query_execution,
        query="funding_rates", source="coinglass", context=context, parent_decision_id=source,
    )  # fmt: skip
    signal = timed(
        "log_signal_generation", logger.log_signal_generation,
        signal="long", indicators={"funding": 0.01}, strength=0.7, context=context,
        parent_decision_id=query,
    )  # fmt: skip
    risk = timed(
        "log_risk_assessment", logger.log_risk_assessment,
        risk_level="medium", risk_score=0.4, factors={"leverage": 0.3}, context=context,
        parent_decision_id=signal,
    )  # fmt: skip
    strategy = timed(
        "log_strategy_selection", logger.log_strategy_selection,
        strategies=["momentum", "mean_reversion"], scores={"momentum": 0.8}, selected="momentum",
        context=context, parent_decision_id=risk,
    )  # fmt: skip
    ids = [source, query, signal, risk, strategy]
    for i, decision_id in enumerate(ids):
        success = (cycle + i) % 4 != 0
        timed("log_outcome", logger.log_outcome, decision_id, success=success, latency_ms=120.0)
    timed("save_state", memory.save_state, config={"cycle": cycle}, metrics={"cycle": cycle})
    timed(
        "publish_signal", memory.publish_signal, "market_signal", {"cycle": cycle}, targets=[peer]
    )
    for received in timed("claim_signals", memory.claim_signals, limit=10):
        if not timed("ack_signal", memory.coordinator.ack, memory.agent_id, received.signal_id):
            raise AssertionError(f"signal {received.signal_id} acknowledged twice")
    timed("get_decision_stats", logger.get_decision_stats, time_window_hours=24)
    return ids


def run_agent(store: Any, agent: str, peer: str, cycles: int) -> dict[str, Any]:
    """One agent's cycles then its consolidation; never raises (errors are counted)."""
    timed = Timings()
    errors: list[str] = []
    decisions = 0
    first: str | None = None
    logger = DecisionLogger(MemoryManager(agent, store=store))
    for cycle in range(cycles):
        try:
            ids = agent_cycle(logger, peer, cycle, timed)
        except Exception:
            errors.append(traceback.format_exc(limit=3))
            continue
        decisions += len(ids)
        first = first or ids[0]
    try:
        result = timed("consolidate", consolidate, store, agent)
        patterns, learned = result.created, result.learned
    except Exception:
        errors.append(traceback.format_exc(limit=3))
        patterns = learned = 0
    return {
        "agent": agent,
        "decisions": decisions,
        "errors": errors,
        "samples": timed.samples,
        "first_decision": first,
        "patterns_created": patterns,
        "decisions_learned": learned,
    }


def run_process(
    endpoint_url: str, prefix: str, agents: list[str], fleet: list[str], cycles: int
) -> dict[str, Any]:
    """``agents`` (a slice of ``fleet``) as threads sharing one store; units it consumed."""
    store = open_store(endpoint_url, prefix)
    try:
        peers = {a: fleet[(fleet.index(a) + 1) % len(fleet)] for a in agents}
        with ThreadPoolExecutor(max_workers=len(agents)) as pool:
            results = list(pool.map(lambda a: run_agent(store, a, peers[a], cycles), agents))
        usage = store.usage()
        return {"agents": results, "read_units": usage.read_units, "write_units": usage.write_units}
    finally:
        store.close()


def run_fleet(
    endpoint_url: str, *, agents: int, cycles: int, processes: int, label: str
) -> dict[str, Any]:
    """One run on fresh tables: ``processes`` = 1 runs every agent as a thread of this process."""
    prefix = f"fleet_{label}_{int(time.time() * 1000)}_"
    setup = open_store(endpoint_url, prefix)
    setup.create_all_tables()
    setup.close()
    fleet = [f"agent-{i:04d}" for i in range(agents)]
    slices = [fleet[i::processes] for i in range(processes)]
    started = time.perf_counter()
    if processes == 1:
        parts = [run_process(endpoint_url, prefix, fleet, fleet, cycles)]
    else:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            futures = [
                pool.submit(run_process, endpoint_url, prefix, s, fleet, cycles) for s in slices
            ]
            parts = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    results = [r for part in parts for r in part["agents"]]
    samples: dict[str, list[float]] = {}
    for result in results:
        for name, values in result["samples"].items():
            samples.setdefault(name, []).extend(values)
    decisions = sum(r["decisions"] for r in results)
    cycle_s = sum(sum(v) for k, v in samples.items() if k != "consolidate") / max(1, len(results))
    per_agent_day = CYCLES_PER_DAY / cycles / agents
    figures = {
        "mode": "threads" if processes == 1 else f"{processes} processes",
        "agents": agents,
        "cycles": cycles,
        "decisions": decisions,
        "elapsed_s": elapsed,
        "decisions_per_s": decisions / elapsed,
        "agent_busy_s": cycle_s,
        "errors": sum(len(r["errors"]) for r in results),
        "first_errors": [e for r in results for e in r["errors"]][:3],
        "patterns_created": sum(r["patterns_created"] for r in results),
        "decisions_learned": sum(r["decisions_learned"] for r in results),
        "read_units_per_agent_day": sum(p["read_units"] for p in parts) * per_agent_day,
        "write_units_per_agent_day": sum(p["write_units"] for p in parts) * per_agent_day,
        "latency_ms": {
            name: percentiles_ms(values) | {"calls": len(values)}
            for name, values in sorted(samples.items())
        },
        "ttl": check_ttl(endpoint_url, prefix, results[0]),
    }
    return figures


def check_ttl(endpoint_url: str, prefix: str, result: dict[str, Any]) -> dict[str, bool]:
    """A decision and a fresh signal are readable now and gone 31 days later."""
    agent, decision_id = result["agent"], result["first_decision"]
    later = datetime.now(timezone.utc) + timedelta(days=31)
    now_store = open_store(endpoint_url, prefix)
    later_store = open_store(endpoint_url, prefix, clock=lambda: later)
    try:
        sender = MemoryManager("ttl-sender", store=now_store)
        sender.publish_signal("ttl_probe", {}, targets=[agent], ttl=timedelta(hours=24))
        now_memory = MemoryManager(agent, store=now_store)
        later_memory = MemoryManager(agent, store=later_store, clock=lambda: later)
        return {
            "decision_readable_now": now_memory.get_decision(decision_id) is not None,
            "signal_pending_now": any(
                s.signal_type == "ttl_probe" for s in now_memory.get_pending_signals()
            ),
            "decision_gone_after_31_days": later_memory.get_decision(decision_id) is None,
            "signal_gone_after_31_days": not any(
                s.signal_type == "ttl_probe" for s in later_memory.get_pending_signals()
            ),
        }
    finally:
        now_store.close()
        later_store.close()


def markdown_for(args: argparse.Namespace, runs: list[dict[str, Any]]) -> str:
    head = (
        "| mode | decisions/s | elapsed s | errors | read units / agent / day | "
        "write units / agent / day | TTL expiry verified |\n|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {r['mode']} | {r['decisions_per_s']:,.0f} | {r['elapsed_s']:,.0f} | {r['errors']} "
        f"| {r['read_units_per_agent_day']:,.0f} | {r['write_units_per_agent_day']:,.0f} "
        f"| {'yes' if all(r['ttl'].values()) else 'NO'} |"
        for r in runs
    ]
    names = sorted({n for r in runs for n in r["latency_ms"]})
    lat_head = "| call | " + " | ".join(f"{r['mode']} median / p95 ms" for r in runs) + " |"
    lat_rule = "|---|" + "---|" * len(runs)
    lat_rows = [
        f"| `{n}` | "
        + " | ".join(
            f"{r['latency_ms'][n]['median_ms']:,.1f} / {r['latency_ms'][n]['p95_ms']:,.1f}"
            if n in r["latency_ms"]
            else "-"
            for r in runs
        )
        + " |"
        for n in names
    ]
    return f"""
## Fleet load: {args.agents} agents x {args.cycles} cycles on DynamoDB (dynalite)

`.venv/bin/python -m benchmarks.fleet_load --agents {args.agents} --cycles {args.cycles} --processes {args.processes}`
on {machine()}, dynalite (one Node process on the same machine) as the server.

{head}
{chr(10).join(rows)}

Every agent runs its {args.cycles} cycles at full speed (five chained decisions with outcomes, a
state save, a signal to the next agent, a claim and ack of its own signals, the 24 h stats),
then consolidates. Units per agent per day are what the run consumed scaled to
{CYCLES_PER_DAY} cycles a day (write units as DynamoDB bills them, index writes estimated where
dynalite does not report them). TTL: a decision and a signal are read through a store whose
clock is 31 days ahead and are gone. decisions/s: all decisions over the whole run's wall
time, consolidation included. The store's call timeout is {CALL_TIMEOUT_S:.0f} s (default 5 s): dynalite
answers one request at a time, and 50 agents' requests queue behind each other.

{lat_head}
{lat_rule}
{chr(10).join(lat_rows)}
"""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=CYCLES_PER_DAY)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--endpoint-url", help="a running DynamoDB-protocol server (default: start dynalite)"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave RESULTS.md alone"
    )
    args = parser.parse_args(argv)
    if args.endpoint_url:
        runs = run_both(args.endpoint_url, args)
    else:
        from tests.dynalite import DynaliteServer

        with DynaliteServer() as server:
            runs = run_both(server.endpoint_url, args)
    figures = {"agents": args.agents, "cycles": args.cycles, "runs": runs}
    print(
        json.dumps(
            {r["mode"]: {k: r[k] for k in ("decisions_per_s", "errors", "ttl")} for r in runs},
            indent=2,
        )
    )
    if not args.no_write:
        write_section("fleet-load", markdown_for(args, runs), figures)
    return figures


def run_both(endpoint_url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    options = {"agents": args.agents, "cycles": args.cycles}
    return [
        run_fleet(endpoint_url, processes=1, label="threads", **options),
        run_fleet(endpoint_url, processes=args.processes, label="processes", **options),
    ]


if __name__ == "__main__":
    main()
