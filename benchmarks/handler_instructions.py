"""Instructions per invocation that each handler adds, counted by valgrind: noise-free.

    .venv/bin/python -m benchmarks.handler_instructions [--small 200] [--large 600]

Timings on a shared 2-core VM drift by more than the hooks cost, so this counts instructions
instead (``valgrind --tool=cachegrind --cache-sim=no``; ``make bench`` installs valgrind).
Each configuration runs the 5-step chain of ``handler_overhead`` ``--small`` and ``--large``
times in a fresh interpreter (``PYTHONHASHSEED=0``, objects made before the runs frozen out of
the garbage collector's walks); the difference divided by the difference in invocations is
the count per invocation, start-up excluded. Configurations:

* no callbacks; a no-op ``BaseCallbackHandler``; ``RunCollectorCallbackHandler``;
* agentmem, hot path: the hooks post their events and nothing applies them (the capture
  thread is held off; the events are dropped every 1,000, and that freeing is counted);
* agentmem, everything: the hooks, the capture thread matching runs and converting
  and SQLite writing every record, and a final flush (valgrind runs all threads on one core,
  so every thread's instructions are counted).

Goal, as in ``handler_overhead``: the hot path within 1.5x the no-op handler's overhead.
Results go to benchmarks/RESULTS.md (section ``handler-instructions``).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .results import machine, write_section

CONFIGS = {
    "none": "no callbacks",
    "noop": "no-op BaseCallbackHandler",
    "collector": "RunCollectorCallbackHandler",
    "hot": "AgentMemoryCallbackHandler, hot path",
    "all": "AgentMemoryCallbackHandler, everything",
}


def child(config: str, invocations: int) -> None:
    """Run the chain ``invocations`` times with ``config`` (inside valgrind)."""
    from agentmem_langchain import flush
    from agentmem_langchain.capture import events as _callback_events
    from agentmem_langchain.capture import thread as capture_thread
    from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
    from agentmem_langchain.memory import MemoryManager
    from agentmem_langchain.stores.sqlite import SQLiteStore

    from .handler_overhead import NoOpHandler, RunCollector, five_step_chain

    tmp = Path(tempfile.mkdtemp())
    os.environ["AGENTMEM_JOURNAL_DIR"] = str(tmp / "journal")
    if config == "hot":
        capture_thread._woken = True  # as if the capture thread were awake: it never runs
    handler: Any = None
    if config == "noop":
        handler = NoOpHandler()
    elif config == "collector":
        handler = RunCollector()
    elif config in ("hot", "all"):
        handler = AgentMemoryCallbackHandler(
            MemoryManager("bench-agent", store=SQLiteStore(tmp / "bench.db"))
        )
    chain = five_step_chain()
    settings: Any = {"callbacks": [handler]} if handler is not None else {}
    chain.invoke(" btc ", config=settings)  # imports and caches
    # A full collection walks every object the interpreter holds, which the modules each
    # configuration imports make differ; frozen, collections only walk what the runs create.
    gc.collect()
    gc.freeze()
    for _ in range(invocations):
        chain.invoke(" btc ", config=settings)
        if config == "collector":
            handler.reset()
        elif config == "hot" and _callback_events.pending() >= 1000:
            _callback_events._pending.clear()
    if config == "hot":
        _callback_events._pending.clear()  # or the exit would apply them: work not per call
    if config == "all" and not flush(timeout=120):
        raise SystemExit("flush timed out")
    shutil.rmtree(tmp, ignore_errors=True)


def count(config: str, invocations: int) -> int:
    """Instructions valgrind counts for a run of ``invocations``."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.handler_instructions",
        "--child",
        config,
        str(invocations),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=600)
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind (make bench does)")
    per: dict[str, float] = {}
    for config, label in CONFIGS.items():
        small, large = count(config, args.small), count(config, args.large)
        per[config] = (large - small) / (args.large - args.small)
        print(f"{label}: {per[config]:,.0f} instructions per invocation", flush=True)
    base, noop = per["none"], per["noop"] - per["none"]
    rows = [
        "| configuration | instructions per invocation | added to no callbacks | / no-op's |",
        "|---|---|---|---|",
    ]
    figures: dict[str, Any] = {"machine": machine(), "configs": {}}
    for config, label in CONFIGS.items():
        added = per[config] - base
        ratio = "-" if config == "none" else f"{added / noop:.2f}x"
        rows.append(f"| {label} | {per[config]:,.0f} | {added:,.0f} | {ratio} |")
        figures["configs"][label] = {"per_invocation": per[config], "added": added}
    hot = (per["hot"] - base) / noop
    figures["goal_met_hot_path"] = bool(hot <= 1.5)
    command = f"python -m benchmarks.handler_instructions --small {args.small} --large {args.large}"
    figures["command"] = command
    markdown = "\n".join(
        [
            "## LangChain handler overhead in instructions",
            "",
            f"`{command}` on {machine()}, valgrind's instruction count (cachegrind).",
            "",
            "Per `invoke` of the same 5-step chain with one tool call, counted as the "
            f"difference between {args.large} and {args.small} invocations in a fresh "
            "interpreter. The hot path is what the agentmem hooks run on the caller's thread; "
            "everything adds the capture and SQLite threads' work (under valgrind "
            "an invocation takes far longer, so the capture thread's 50 ms polls come far "
            "more often per invocation than they do at full speed). Goal: the hot "
            f"path within 1.5x the no-op handler's overhead: {'met' if hot <= 1.5 else 'NOT met'}"
            f" ({hot:.2f}x).",
            "",
            *rows,
        ]
    )
    print(markdown)
    if not args.no_write:
        write_section("handler-instructions", markdown, figures)


if __name__ == "__main__":
    main()
