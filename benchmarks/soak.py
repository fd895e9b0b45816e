"""Soak: a million ``@decision`` calls into a store slower than the producer.

    .venv/bin/python -m benchmarks.soak [--decisions 1000000] [--store-delay-us 50]

One thread calls a ``@decision``-decorated function ``--decisions`` times as fast as it can.
The memory's store is a ``SQLiteStore`` in a temporary directory that sleeps
``--store-delay-us`` per record written (``put_decisions``), so its sustained rate is below
the producer's and the recorder's defaults (a bounded queue, then ``on_full="spill"``: a spill
buffer that the capture thread journals) have to spill to the journal and replay it. RSS is sampled every ``--sample-every`` calls and while the
recorder drains, so boundedness is visible. At the end the recorder is flushed (up to
``--flush-timeout`` seconds) and the SQLite file itself is counted: every decision must be
there exactly once. Results go to benchmarks/RESULTS.md (section ``soak``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentmem_langchain.capture import Recorder, RecorderSettings, recorder_for
from agentmem_langchain.decorators import decision
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.stores.sqlite import SQLiteStore

from .results import machine, write_section

AGENT = "soak-agent"
DEFAULTS = RecorderSettings()
SLOW_CALL_MS = (1, 10, 100, 1000)


class SlowSQLiteStore(SQLiteStore):
    """A ``SQLiteStore`` that takes ``delay_s`` per record written, on top of SQLite's cost."""

    def __init__(self, path: Path, delay_s: float) -> None:
        super().__init__(path)
        self.delay_s = delay_s
        self.put_calls = 0
        self.put_records = 0

    def put_decisions(self, records: Sequence[DecisionRecord]) -> None:
        self.put_calls += 1
        self.put_records += len(records)
        time.sleep(self.delay_s * len(records))
        super().put_decisions(records)


def rss_mb() -> float:
    """The current resident set size (Linux ``/proc/self/statm``), in MiB."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """``ru_maxrss`` (KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def journal_mb(recorder: Recorder) -> float:
    try:
        return recorder.journal_path.stat().st_size / 2**20
    except OSError:
        return 0.0


def sample(phase: str, done: int, start: float, recorder: Recorder) -> dict[str, Any]:
    s = recorder.stats()
    row = {
        "phase": phase,
        "calls": done,
        "elapsed_s": round(time.perf_counter() - start, 2),
        "rss_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "queued": s.queued,
        "outstanding": s.outstanding,
        "written": s.written,
        "spilled": s.spilled,
        "replayed": s.replayed,
        "journal_mb": round(journal_mb(recorder), 1),
    }
    print(
        f"  {phase:7} calls {done:>9,}  t {row['elapsed_s']:>7.1f}s  rss {row['rss_mb']:>6.1f} MiB"
        f"  queued {s.queued:>6,}  outstanding {s.outstanding:>9,}  written {s.written:>9,}"
        f"  spilled {s.spilled:>9,}  replayed {s.replayed:>9,}  journal {row['journal_mb']:.1f} MiB",
        flush=True,
    )
    return row


def count_rows(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT decision_id) FROM decisions WHERE agent_id = ?",
            (AGENT,),
        ).fetchone()
    return int(total), int(distinct)


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    os.environ["AGENTMEM_JOURNAL_DIR"] = str(tmp / "journal")  # read when the recorder is made
    db = tmp / "soak.db"
    store = SlowSQLiteStore(db, args.store_delay_us / 1e6)
    memory = MemoryManager(AGENT, store=store)
    recorder = recorder_for(store)  # the default settings

    @decision("soak_step", memory=memory)
    def step(i: int, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "size": i % 7, "price": 45000.0 + i % 100}

    if args.tracemalloc:
        tracemalloc.start()
    samples: list[dict[str, Any]] = []
    start = time.perf_counter()
    samples.append(sample("produce", 0, start, recorder))
    every = max(1, args.sample_every)
    slow = dict.fromkeys(SLOW_CALL_MS, 0)  # calls slower than each threshold (counters only,
    stalled_s = 0.0  # so the measurement itself keeps memory flat)
    longest = 0.0
    clock = time.perf_counter
    for i in range(1, args.decisions + 1):
        began = clock()
        step(i, "BTC")
        took = clock() - began
        if took > 0.001:
            longest = max(longest, took)
            for threshold in SLOW_CALL_MS:
                if took * 1000 > threshold:
                    slow[threshold] += 1
            if took > 0.01:
                stalled_s += took
        if i % every == 0:
            samples.append(sample("produce", i, start, recorder))
    produced_s = time.perf_counter() - start
    at_end_of_production = recorder.stats()

    # Drain: flush in the background, sampling while it waits.
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(recorder.flush(args.flush_timeout)))
    flusher.start()
    while flusher.is_alive():
        flusher.join(args.drain_sample_s)
        samples.append(sample("drain", args.decisions, start, recorder))
    total_s = time.perf_counter() - start
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    if args.tracemalloc:
        tracemalloc.stop()

    stats = recorder.stats()
    rows, distinct = count_rows(db)
    journal_left = recorder.journal_path.exists() and recorder.journal_path.stat().st_size > 0
    verified = bool(flushed and flushed[0]) and rows == distinct == args.decisions
    return {
        "decisions": args.decisions,
        "store_delay_us": args.store_delay_us,
        "produce_s": produced_s,
        "total_s": total_s,
        "drain_s": total_s - produced_s,
        "producer_calls_per_s": args.decisions / produced_s,
        "longest_call_ms": longest * 1000,
        "calls_slower_than_ms": {str(k): v for k, v in slow.items()},
        "time_in_calls_over_10ms_s": stalled_s,
        "end_to_end_per_s": args.decisions / total_s,
        "store_ceiling_per_s": 1e6 / args.store_delay_us if args.store_delay_us > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
        "tracemalloc_peak_mb": traced_peak_mb,
        "flushed": bool(flushed and flushed[0]),
        "stats_at_end_of_production": vars(at_end_of_production),
        "stats": vars(stats),
        "store_put_calls": store.put_calls,
        "store_put_records": store.put_records,
        "rows": rows,
        "distinct_decision_ids": distinct,
        "journal_left": journal_left,
        "verified": verified,
        "samples": samples,
    }


def report(r: dict[str, Any], command: str) -> str:
    s = r["stats"]
    p = r["stats_at_end_of_production"]
    ceiling = (
        f"{r['store_ceiling_per_s']:,.0f}/s" if r["store_ceiling_per_s"] is not None else "none"
    )
    produce_rows = [x for x in r["samples"] if x["phase"] == "produce"]
    drain_rows = [x for x in r["samples"] if x["phase"] == "drain"]
    shown = produce_rows + drain_rows[-1:]
    table = [
        "| phase | calls | elapsed s | RSS MiB | queued | outstanding | written | spilled | replayed | journal MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {x['phase']} | {x['calls']:,} | {x['elapsed_s']:.1f} | {x['rss_mb']:.1f} | "
            f"{x['queued']:,} | {x['outstanding']:,} | {x['written']:,} | {x['spilled']:,} | "
            f"{x['replayed']:,} | {x['journal_mb']:.1f} |"
            for x in shown
        ),
    ]
    slow = r["calls_slower_than_ms"]
    drain_rss = max((x["rss_mb"] for x in drain_rows), default=float("nan"))
    traced = (
        f"; tracemalloc peak {r['tracemalloc_peak_mb']:.1f} MiB"
        if r["tracemalloc_peak_mb"] is not None
        else ""
    )
    verdict = (
        "every decision landed exactly once"
        if r["verified"]
        else f"NOT VERIFIED (flushed {r['flushed']}, rows {r['rows']:,}, distinct "
        f"{r['distinct_decision_ids']:,}, expected {r['decisions']:,})"
    )
    return "\n".join(
        [
            "## Soak: a slow store under sustained load",
            "",
            f"`{command}` on {machine()}.",
            "",
            f"{r['decisions']:,} calls of a `@decision`-decorated function from one thread into a "
            f"`SQLiteStore` that sleeps {r['store_delay_us']} µs per record written (ceiling "
            f"{ceiling}), with the recorder's default settings: a queue of "
            f"{DEFAULTS.max_queue:,}, batches of {DEFAULTS.batch_size}, and when the queue is full "
            f"a spill buffer of {DEFAULTS.spill_buffer:,} more that the capture thread appends "
            "to the journal (the calling thread does no I/O; a producer that outruns the journal "
            "waits for room, which is what the slow calls are).",
            "",
            "| figure | value |",
            "|---|---|",
            f"| producer | {r['produce_s']:.1f} s, {r['producer_calls_per_s']:,.0f} calls/s |",
            f"| slowest call | {r['longest_call_ms']:,.1f} ms; calls over 1 / 10 / 100 / 1000 ms: "
            f"{slow['1']:,} / {slow['10']:,} / {slow['100']:,} / {slow['1000']:,}; "
            f"{r['time_in_calls_over_10ms_s']:.1f} s spent in calls over 10 ms |",
            f"| drain after the last call (`flush`) | {r['drain_s']:.1f} s |",
            f"| end to end | {r['total_s']:.1f} s, {r['end_to_end_per_s']:,.0f} decisions/s |",
            f"| peak RSS (`ru_maxrss`) | {r['peak_rss_mb']:.1f} MiB (max sampled while draining "
            f"{drain_rss:.1f} MiB){traced} |",
            f"| recorder at the last call | accepted {p['accepted']:,}, written {p['written']:,}, "
            f"spilled {p['spilled']:,}, replayed {p['replayed']:,}, queued {p['queued']:,} |",
            f"| recorder after flush | accepted {s['accepted']:,}, written {s['written']:,}, "
            f"spilled {s['spilled']:,}, replayed {s['replayed']:,}, dropped {s['dropped']:,}, "
            f"retried {s['retried']:,}, capture errors {s['capture_errors']:,} |",
            f"| store | {r['store_put_calls']:,} `put_decisions` calls, "
            f"{r['store_put_records']:,} records |",
            f"| in the SQLite file | {r['rows']:,} rows, {r['distinct_decision_ids']:,} distinct "
            f"decision ids; journal left: {r['journal_left']} — **{verdict}** |",
            "",
            "Samples (RSS is the current resident set, from `/proc/self/statm`; the last row is "
            "the end of the drain):",
            "",
            *table,
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--store-delay-us", type=float, default=50.0)
    parser.add_argument("--sample-every", type=int, default=100_000)
    parser.add_argument("--drain-sample-s", type=float, default=10.0)
    parser.add_argument("--flush-timeout", type=float, default=3600.0)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    result["command"] = command.strip()
    result["machine"] = machine()
    markdown = report(result, command.strip())
    print(markdown)
    if not args.no_write:
        write_section("soak", markdown, result)
    if not result["verified"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
