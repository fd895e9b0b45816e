"""Per-call overhead of ``@decision`` over a plain call (goal: under 20 µs), by argument size.

Run: ``python -m benchmarks.decorator_overhead [--calls 20000] [--processes 5]``

Each of ``--processes`` fresh interpreters times every case: a sample is a plain call and the
same function decorated, back to back; the overhead is their difference. The recorder's
thread runs (its work competes for the GIL, as it would in an application), and every
``--burst`` calls the benchmark flushes so the queue never fills. Cases: small arguments
(sync, with ``current_decision()``, async), then one argument of about 100 B, 1 KB and 32 KB
of JSON (rows of a table: the decorator snapshots the argument when the call starts, cut at
``max_value_chars``, 4,000 characters by default). The baseline is the small sync case,
measured in the same process: each case's ratio to it is taken per process, so a slower
process does not move the ratio. Reported: the median over the processes of each process's
median, the range over the processes, and the p95. Also reported: how long the recorder
thread takes per record (``to_record`` + write to an ``InMemoryStore``), off the caller's path.

Masking secrets by value (on by default) is measured apart: the same decorated function with
masking on and with it off (``mask_values=False``, a second recorder in the same process),
called back to back; the difference, divided by the number of strings in the argument, is
the cost per captured string.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from agentmem_langchain import MemoryManager
from agentmem_langchain.capture import RecorderSettings, default_settings, set_default_settings
from agentmem_langchain.decorators import current_decision, decision
from agentmem_langchain.testing import InMemoryStore
from benchmarks.results import machine, run_child, write_section

SOURCES = ["coinglass", "cryptoquant", "glassnode"]
BASELINE = "small args, sync"
SIZES = {"100 B argument": 100, "1 KB argument": 1_000, "32 KB argument": 32_000}
_PROSE = (
    "Funding turned negative on two venues at 08:00 UTC while open interest kept rising; "
    "the model prefers the low-latency source with the fresher order book. "
)
#: Arguments for the masking cost: (argument, number of strings in it).
MASKING_CASES: dict[str, tuple[Any, int]] = {
    "3 short strings": (SOURCES, 3),
    "1 sentence (150 chars)": ([_PROSE], 1),
    "prose, 4,000 chars (cut)": ([_PROSE * 40], 1),
    "1 KB table": (None, 0),  # filled in from payload() below
}


def _plain(sources: list[str], budget: int = 2) -> dict[str, Any]:
    return {"selected": sources[:budget]}


def _with_reasoning(sources: list[str], budget: int = 2) -> dict[str, Any]:
    now = current_decision()
    if now is not None:
        now.confidence = 0.8
    return {"selected": sources[:budget]}


async def _async_plain(sources: list[str], budget: int = 2) -> dict[str, Any]:
    return {"selected": sources[:budget]}


def _table(rows: dict[str, Any]) -> dict[str, Any]:
    return {"selected": "row-0"}


def payload(size: int) -> dict[str, Any]:
    """A table whose JSON text is about ``size`` characters (rows of id, name and score)."""
    rows: list[dict[str, Any]] = []
    table: dict[str, Any] = {"table": "quotes", "rows": rows}
    while len(json.dumps(table)) < size:
        rows.append({"id": len(rows), "name": f"row-{len(rows)}", "score": 0.5})
    return table


def _overhead_us(
    plain: Callable[..., Any],
    decorated: Callable[..., Any],
    args: tuple[Any, ...],
    calls: int,
    burst: int,
    memory: MemoryManager,
) -> list[float]:
    return _paired(plain, decorated, args, calls, burst, (memory,))


def _async_overhead_us(
    plain: Callable[..., Any],
    decorated: Callable[..., Any],
    args: tuple[Any, ...],
    calls: int,
    burst: int,
    memory: MemoryManager,
) -> list[float]:
    samples: list[float] = []
    clock = time.perf_counter_ns

    async def rounds(count: int) -> None:
        for _ in range(count):
            t0 = clock()
            await plain(*args)
            t1 = clock()
            await decorated(*args)
            t2 = clock()
            samples.append(((t2 - t1) - (t1 - t0)) / 1000)

    loop = asyncio.new_event_loop()
    try:
        for start in range(0, calls, burst):
            gc.disable()
            loop.run_until_complete(rounds(min(burst, calls - start)))
            gc.enable()
            memory.flush(timeout=60)
    finally:
        loop.close()
    return samples


def _recorder_cost_us(memory: MemoryManager, decorated: Any, count: int) -> float:
    memory.flush(timeout=60)
    started = time.perf_counter()
    for _ in range(count):
        decorated(["a", "b"])
    memory.flush(timeout=60)
    return (time.perf_counter() - started) / count * 1e6


def _masking_cost(calls: int, burst: int) -> dict[str, Any]:
    """Per case: a call with masking by value on minus the same call with it off, paired."""
    on = MemoryManager("bench-agent", store=InMemoryStore())
    previous = default_settings()
    set_default_settings(RecorderSettings(mask_values=False))
    try:
        off = MemoryManager("bench-agent", store=InMemoryStore())
        off.recorder  # noqa: B018 - made now, with masking off
    finally:
        set_default_settings(previous)
    table = payload(1_000)
    cases = dict(MASKING_CASES)
    cases["1 KB table"] = (table, 1 + len(table["rows"]))
    masked = decision("source_selection", memory=on)(_table)
    unmasked = decision("source_selection", memory=off)(_table)
    out: dict[str, Any] = {}
    for name, (argument, strings) in cases.items():
        args = (argument,)
        _paired(unmasked, masked, args, min(2_000, calls), burst, (on, off))  # warm-up
        summary = _summary(_paired(unmasked, masked, args, calls, burst, (on, off)))
        out[name] = {**summary, "strings": strings}
        out[name]["per_string_us"] = summary["median_us"] / max(strings, 1)
    return out


def _paired(
    first: Callable[..., Any],
    second: Callable[..., Any],
    args: tuple[Any, ...],
    calls: int,
    burst: int,
    memories: tuple[MemoryManager, ...],
) -> list[float]:
    samples: list[float] = []
    clock = time.perf_counter_ns
    for start in range(0, calls, burst):
        gc.disable()
        for _ in range(min(burst, calls - start)):
            t0 = clock()
            first(*args)
            t1 = clock()
            second(*args)
            t2 = clock()
            samples.append(((t2 - t1) - (t1 - t0)) / 1000)
        gc.enable()
        for memory in memories:
            memory.flush(timeout=60)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": statistics.median(ordered),
        "p95_us": ordered[max(0, round(0.95 * len(ordered)) - 1)],
    }


def child(calls: int, burst: int) -> dict[str, Any]:
    """Every case in this process: ``{case: {median_us, p95_us}}`` and the recorder's cost."""
    memory = MemoryManager("bench-agent", store=InMemoryStore())

    def decorated(fn: Callable[..., Any]) -> Callable[..., Any]:
        return decision("source_selection", memory=memory)(fn)

    cases: dict[str, tuple[Any, Any, tuple[Any, ...], Any]] = {
        BASELINE: (_plain, decorated(_plain), (SOURCES,), _overhead_us),
        "small args + current_decision().confidence": (
            _with_reasoning, decorated(_with_reasoning), (SOURCES,), _overhead_us,
        ),
        "small args, async": (
            _async_plain, decorated(_async_plain), (SOURCES,), _async_overhead_us,
        ),
    }  # fmt: skip
    for name, size in SIZES.items():
        cases[name] = (_table, decorated(_table), (payload(size),), _overhead_us)
    figures: dict[str, Any] = {"cases": {}}
    for name, (plain, wrapped, args, measure) in cases.items():
        measure(plain, wrapped, args, min(2_000, calls), burst, memory)  # warm-up
        figures["cases"][name] = _summary(measure(plain, wrapped, args, calls, burst, memory))
    figures["recorder_thread_us_per_record"] = _recorder_cost_us(memory, cases[BASELINE][1], 5_000)
    stats = memory.recorder.stats()
    figures["dropped"], figures["spilled"] = stats.dropped, stats.spilled
    figures["masking"] = _masking_cost(calls, burst)
    return figures


def _spread(values: list[float], digits: int = 2) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for name in runs[0]["cases"]:
        medians = [run["cases"][name]["median_us"] for run in runs]
        ratios = [
            run["cases"][name]["median_us"] / run["cases"][BASELINE]["median_us"] for run in runs
        ]
        cases[name] = {
            "median_us": _spread(medians),
            "p95_us": _spread([run["cases"][name]["p95_us"] for run in runs]),
            "ratio_to_baseline": _spread(ratios),
        }
    masking = {
        name: {
            "median_us": _spread([run["masking"][name]["median_us"] for run in runs]),
            "p95_us": _spread([run["masking"][name]["p95_us"] for run in runs]),
            "per_string_us": _spread([run["masking"][name]["per_string_us"] for run in runs]),
            "strings": runs[0]["masking"][name]["strings"],
        }
        for name in runs[0]["masking"]
    }
    return {
        "cases": cases,
        "masking": masking,
        "recorder_thread_us_per_record": _spread(
            [run["recorder_thread_us_per_record"] for run in runs], 1
        ),
        "dropped": sum(run["dropped"] for run in runs),
        "spilled": sum(run["spilled"] for run in runs),
    }


def _markdown(command: str, options: argparse.Namespace, figures: dict[str, Any]) -> str:
    rows = []
    slowest = 0.0
    for name, case in figures["cases"].items():
        median, p95, ratio = case["median_us"], case["p95_us"], case["ratio_to_baseline"]
        if name not in SIZES:
            slowest = max(slowest, median["median"])
        rows.append(
            f"| {name} | {median['median']:.1f} | {median['min']:.1f}-{median['max']:.1f} | "
            f"{p95['median']:.1f} | {ratio['median']:.2f}x | "
            f"{ratio['min']:.2f}-{ratio['max']:.2f}x |"
        )
    recorder = figures["recorder_thread_us_per_record"]
    goal = "met" if slowest < 20 else "NOT met"
    return "\n".join(
        [
            "## @decision overhead per call",
            "",
            f"`{command}` — {figures['machine']}",
            "",
            "| case | median µs | per process | p95 µs | / small sync | per process |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"Overhead = decorated call minus plain call, {options.calls} paired samples per case "
            f"in each of {options.processes} fresh processes, the capture thread running; "
            "median µs is the median over the processes of each one's median, 'per process' "
            "the range; '/ small sync' is the case's median divided by the small sync case's "
            "median in the same process. Arguments are snapshotted when the call starts (a "
            "copy cut at 4,000 characters of JSON), so a 32 KB argument costs a bounded copy. "
            f"Goal for small arguments, sync and async: under 20 µs: {goal} (slowest "
            f"{slowest:.1f} µs). Off the caller's path, the capture thread needs about "
            f"{recorder['median']:.0f} µs per record (build, validate, write to InMemoryStore); "
            f"dropped {figures['dropped']}, spilled {figures['spilled']}.",
            "",
            "### Masking secrets by value: cost per captured string",
            "",
            "| argument | strings | masking on - off, median µs | per process | p95 µs | "
            "per string µs |",
            "|---|---|---|---|---|---|",
            *_masking_rows(figures["masking"]),
            "",
            "Each sample: the same decorated function with masking by value on (the default) "
            "and off (`mask_values=False`, a second recorder in the same process), called back "
            "to back; the difference is what masking adds to the caller's call. Masking by key "
            "name is in both. The case rows above include masking (it is on by default).",
        ]
    )


def _masking_rows(masking: dict[str, Any]) -> list[str]:
    rows = []
    for name, case in masking.items():
        median, p95, per = case["median_us"], case["p95_us"], case["per_string_us"]
        rows.append(
            f"| {name} | {case['strings']} | {median['median']:.2f} | "
            f"{median['min']:.2f} to {median['max']:.2f} | {p95['median']:.2f} | "
            f"{per['median']:.2f} |"
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--burst", type=int, default=1_000)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args(argv)
    if options.child:
        figures = child(options.calls, options.burst)
        print(json.dumps(figures))
        return figures
    runs = []
    for index in range(options.processes):
        child_command = [
            sys.executable, "-m", "benchmarks.decorator_overhead", "--child",
            "--calls", str(options.calls), "--burst", str(options.burst),
        ]  # fmt: skip
        runs.append(run_child(child_command, f"process {index + 1}"))
        baseline = runs[-1]["cases"][BASELINE]["median_us"]
        print(f"process {index + 1}/{options.processes}: small sync {baseline:.1f} µs", flush=True)
    figures = {
        "calls": options.calls,
        "processes": options.processes,
        "machine": machine(),
        "baseline": BASELINE,
        **_aggregate(runs),
        "per_process": runs,
    }
    command = (
        f"python -m benchmarks.decorator_overhead --calls {options.calls} "
        f"--burst {options.burst} --processes {options.processes}"
    )
    markdown = _markdown(command, options, figures)
    print(markdown)
    if not options.no_write:
        write_section("decorator-overhead", markdown, figures)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
