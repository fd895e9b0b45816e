"""CPU per stored record off the caller's thread, against plain Python doing the same job.

    .venv/bin/python -m benchmarks.record_cpu [--processes 5] [--records 4000]

In each of ``--processes`` fresh interpreters, for two ways of capturing:

* **handler**: ``AgentMemoryCallbackHandler`` on the 5-step chain of ``handler_overhead``
  (two records per invocation, from 14 hook events);
* **decorator**: a ``@decision`` function with three small arguments;

``--records`` records are captured with the capture thread held off (the hooks and
``submit`` only queue). The handler's pending events are then matched into decisions on the
calling thread (timed on its own: the work the capture thread does per hook event), and the
capture thread is let go while the calling thread sleeps, so the pipeline runs alone, as it
does while an agent waits on a model. Measured: the CPU time of the capture thread
(converting and batching) and of the store's thread (the SQLite writes) until every record is
written, per record. The baseline, in the same process: plain Python building each record as
a dict of the same shape (a new id, ISO times, the same inputs, reasoning, outcome and
result), ``json.dumps`` and a batched ``executemany`` into a WAL table with three indexes, 200
records per transaction. Reported: medians over the processes, converting + writing as a
multiple of the baseline with its range, and the same with the matching of events included.
Results go to benchmarks/RESULTS.md (section ``record-cpu``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .results import machine, run_child, write_section

SCENARIOS = ("handler", "decorator")
CHILD = [sys.executable, "-m", "benchmarks.record_cpu", "--child"]


def thread_cpu(name_prefix: str) -> float:
    """CPU seconds used so far by the running threads whose names start with the prefix."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith(name_prefix) and thread.ident is not None:
            with contextlib.suppress(OSError):  # ended meanwhile
                total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return total


def run_pipeline(scenario: str, records: int, folder: Path) -> dict[str, float]:
    """Capture ``records`` records with the capture thread held, then time it writing them."""
    from agentmem_langchain import MemoryManager, decision
    from agentmem_langchain.capture import Recorder, RecorderSettings, events, thread
    from agentmem_langchain.capture import batch as recorders
    from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
    from agentmem_langchain.stores.sqlite import SQLiteStore

    from .handler_overhead import five_step_chain

    store = SQLiteStore(folder / f"{scenario}.db")
    settings = RecorderSettings(
        journal_path=folder / f"{scenario}.jsonl",
        max_queue=records + 10,
        max_queue_bytes=1 << 40,
    )
    recorders._registry[id(store)] = Recorder(store, settings)
    memory = MemoryManager("bench-agent", store=store)
    recorder = memory.recorder
    warm = 20
    thread._woken = True  # held: hooks and submits queue without waking the thread
    if scenario == "handler":
        handler = AgentMemoryCallbackHandler(memory)
        chain = five_step_chain()
        config: Any = {"callbacks": [handler]}

        def capture_one(n: int) -> None:
            chain.invoke(" btc ", config=config)

        per_call = 2
    else:

        @decision("source_selection", memory=memory)
        def choose(n: int, options: list[str], budget: float) -> str:
            return options[n % len(options)]

        options = ["news", "prices", "social"]

        def capture_one(n: int) -> None:
            choose(n, options, 0.5)

        per_call = 1
    for n in range(warm):  # imports, caches, the store thread
        capture_one(n)
    thread._woken = False
    assert memory.flush(timeout=60)
    time.sleep(thread.IDLE + 0.3)  # the thread stops polling and waits to be woken
    if thread._woken:
        raise SystemExit("the capture thread did not go idle")
    thread._woken = True
    written_before = recorder.stats().written
    for n in range(records // per_call):
        capture_one(n)
    expected = written_before + (records // per_call) * per_call
    count = expected - written_before
    # The handler's events are matched into decisions here, so that work is timed apart.
    matching = time.thread_time()
    events.drain()
    matching = time.thread_time() - matching
    capture_before = thread_cpu("agentmem-capture")
    store_before = thread_cpu("agentmem-store-")
    started = time.perf_counter()
    thread._woken = False
    thread.wake()
    while recorder.stats().written < expected:
        if time.perf_counter() - started > 300:
            raise SystemExit(f"{scenario}: records not written within 300 s")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    return {
        "events_us": matching * 1e6 / count,
        "capture_us": (thread_cpu("agentmem-capture") - capture_before) * 1e6 / count,
        "store_us": (thread_cpu("agentmem-store-") - store_before) * 1e6 / count,
        "seconds": elapsed,
        "records": float(count),
    }


def child(scenario: str, records: int) -> None:
    from .handler_overhead import plain_python_us_per_record

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["AGENTMEM_JOURNAL_DIR"] = str(folder / "journal")
        figures = run_pipeline(scenario, records, folder)
        figures["plain_us"] = plain_python_us_per_record(folder, count=records)
    print(json.dumps(figures), flush=True)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def report(runs: dict[str, list[dict[str, float]]], command: str) -> tuple[str, dict[str, Any]]:
    rows = [
        "| capture | matching events µs / record | converting and batching | writing "
        "| converting + writing | plain Python | (converting + writing) / plain "
        "| per process | all / plain |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, Any] = {}
    for scenario, results in runs.items():
        work = [r["capture_us"] + r["store_us"] for r in results]
        ratios = [w / r["plain_us"] for w, r in zip(work, results, strict=True)]
        everything = [
            (w + r["events_us"]) / r["plain_us"] for w, r in zip(work, results, strict=True)
        ]
        figures = {
            "events_us": _median([r["events_us"] for r in results]),
            "capture_us": _median([r["capture_us"] for r in results]),
            "store_us": _median([r["store_us"] for r in results]),
            "work_us": _median(work),
            "plain_us": _median([r["plain_us"] for r in results]),
            "ratio": _median(ratios),
            "ratio_range": (min(ratios), max(ratios)),
            "ratio_with_events": _median(everything),
        }
        summary[scenario] = figures
        rows.append(
            f"| {scenario} | {figures['events_us']:.1f} | {figures['capture_us']:.1f} "
            f"| {figures['store_us']:.1f} | {figures['work_us']:.1f} | {figures['plain_us']:.1f} "
            f"| {figures['ratio']:.2f}x | {min(ratios):.2f}-{max(ratios):.2f}x "
            f"| {figures['ratio_with_events']:.2f}x |"
        )
    worst = max(f["ratio"] for f in summary.values())
    markdown = "\n".join(
        [
            "## CPU per stored record",
            "",
            f"`{command}` on {machine()}.",
            "",
            f"{int(runs[SCENARIOS[0]][0]['records']):,} records per process and way of "
            f"capturing, in {len(runs[SCENARIOS[0]])} fresh processes; medians over the "
            "processes, µs of CPU per record written. The records are captured with the capture "
            "thread held; the handler's events are then matched into decisions (timed on their "
            "own), and the capture thread converts and batches the records while the store's "
            "thread writes them to SQLite, the calling thread asleep. Plain Python, in the same "
            "process: a dict per record of the same shape, `json.dumps`, a batched "
            "`executemany` into a WAL table with three indexes. Goal: converting and writing "
            "within 1.5x of plain Python: "
            f"{'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f}x).",
            "",
            *rows,
        ]
    )
    return markdown, {"command": command, "machine": machine(), "scenarios": summary}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.records)
        return
    if args.processes < 1 or args.records < 200:
        parser.error("--processes must be at least 1 and --records at least 200")
    command = "python -m benchmarks.record_cpu " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    runs: dict[str, list[dict[str, float]]] = {scenario: [] for scenario in SCENARIOS}
    for number in range(args.processes):
        for scenario in SCENARIOS:  # interleaved: drift hits both alike
            command_line = [*CHILD, scenario, "--records", str(args.records)]
            result = run_child(command_line, f"the {scenario} process")
            runs[scenario].append(result)
            total = result["capture_us"] + result["store_us"]
            print(
                f"process {number + 1}/{args.processes} {scenario}: {total:.1f} µs per record "
                f"({result['capture_us']:.1f} converting + {result['store_us']:.1f} writing; "
                f"{result['events_us']:.1f} matching events), plain "
                f"{result['plain_us']:.1f} µs ({total / result['plain_us']:.2f}x)",
                flush=True,
            )
    markdown, figures = report(runs, command.strip())
    print(markdown)
    if not args.no_write:
        write_section("record-cpu", markdown, figures)


if __name__ == "__main__":
    main()
