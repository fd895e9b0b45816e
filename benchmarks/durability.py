"""Durability figures: exit time with the store down or hung, restart replay, the SIGKILL
window, and what ``journal_first`` costs a call.

    .venv/bin/python -m benchmarks.durability [--runs 5] [--queued 100000]

1. **Exit.** A process queues ``--queued`` decorated decisions while its store cannot be
   written (SQLite: another connection holds the database locked; DynamoDB: an endpoint that
   accepts connections and never answers), then returns from its script. Measured: the time
   from the end of the script to the end of the process, against the same process with
   nothing queued (the interpreter's own exit), and how many records its journal holds.
2. **Replay.** The store comes back; a new process opens it: time until everything is in.
3. **SIGKILL window.** A process decides in a tight loop against a healthy SQLite store and is
   killed with SIGKILL: how many accepted decisions are not in the store nor the journal,
   without and with ``journal_first``.
4. **journal_first per call.** ``@decision`` on a healthy SQLite store, interleaved rounds with
   and without ``journal_first`` in one process.

Each figure is the median over ``--runs`` fresh processes, with the min and max.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.results import machine, write_section

ROOT = Path(__file__).resolve().parents[1]


# -- the child process ----------------------------------------------------------------------


def _store(spec: str) -> Any:
    kind, _, rest = spec.partition(":")
    if kind == "sqlite":
        from agentmem_langchain.stores.sqlite import SQLiteStore

        return SQLiteStore(rest, timeout=0.2)
    import boto3

    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return DynamoDBStore(endpoint_url=rest, boto3_session=session, timeout=2.0)


def child(spec: str, n: int, flags: list[str]) -> None:
    from agentmem_langchain import MemoryManager, decision
    from agentmem_langchain.capture import RecorderSettings, set_default_settings

    set_default_settings(
        RecorderSettings(
            max_queue=max(10_000, n + 1),
            spill_buffer=10_000,
            max_queue_bytes=1 << 40,
            journal_first="--journal-first" in flags,
        )
    )
    memory = MemoryManager("bench-agent", store=_store(spec))

    @decision("source_selection", memory=memory)
    def step(i: int, options: list[str]) -> str:
        return options[i % len(options)]

    options = ["news", "prices", "social"]
    for i in range(n):
        step(i, options)
    if "--kill" in flags:
        os.kill(os.getpid(), signal.SIGKILL)
    print(json.dumps({"done_at": time.time(), "accepted": memory.recorder.stats().accepted}))
    sys.stdout.flush()


def count_child(spec: str) -> None:
    from agentmem_langchain import MemoryManager

    started = time.perf_counter()
    memory = MemoryManager("bench-agent", store=_store(spec))
    flushed = memory.flush(timeout=600)
    elapsed = time.perf_counter() - started
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    stats = memory.decision_stats(now - timedelta(days=1), now + timedelta(days=1))
    print(json.dumps({"flushed": flushed, "seconds": elapsed, "stored": stats.total}))


# -- the parent -----------------------------------------------------------------------------


def _run(args: list[str], journal: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "AGENTMEM_JOURNAL_DIR": str(journal), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.durability", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=check,
        timeout=900,
    )


def _journal_lines(folder: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))


class _HungEndpoint:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        for conn in self.held:
            conn.close()
        self.sock.close()


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def exit_and_replay(runs: int, queued: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for outage in ("sqlite-locked", "dynamodb-hung"):
        exits, baseline, lines, replay_s, stored = [], [], [], [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                db, journal = folder / "memory.db", folder / "journal"
                spec = f"sqlite:{db}"
                from agentmem_langchain.stores.sqlite import SQLiteStore

                SQLiteStore(db).close()
                for n, into in ((0, baseline), (queued, exits)):
                    hung = _HungEndpoint() if outage == "dynamodb-hung" else None
                    lock = sqlite3.connect(db, isolation_level=None)
                    lock.execute("BEGIN EXCLUSIVE")
                    try:
                        target = f"dynamodb:{hung.url}" if hung else spec
                        done = _run(["child", target, str(n)], journal)
                        ended = time.time()
                    finally:
                        lock.execute("ROLLBACK")
                        lock.close()
                        if hung:
                            hung.close()
                    into.append(ended - json.loads(done.stdout)["done_at"])
                lines.append(_journal_lines(journal))
                if outage == "sqlite-locked":
                    report = json.loads(_run(["count", spec], journal).stdout)
                    replay_s.append(report["seconds"])
                    stored.append(report["stored"])
        out[outage] = {
            "exit_seconds": _spread(exits),
            "exit_seconds_nothing_queued": _spread(baseline),
            "journal_lines": _spread([float(x) for x in lines]),
        }
        if replay_s:
            out[outage]["replay_seconds"] = _spread(replay_s)
            out[outage]["stored_after_replay"] = _spread([float(x) for x in stored])
    return out


def sigkill_window(runs: int, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("default", "journal_first"):
        lost = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                db, journal = Path(tmp) / "memory.db", Path(tmp) / "journal"
                spec = f"sqlite:{db}"
                flags = ["--kill"] + (["--journal-first"] if mode == "journal_first" else [])
                _run(["child", spec, str(n), *flags], journal, check=False)
                # Count what survived: the store plus what the journal (and segments) hold,
                # by replaying it in a fresh process.
                report = json.loads(_run(["count", spec], journal).stdout)
                lost.append(float(n - report["stored"]))
        out[mode] = {"lost_of": n, "lost": _spread(lost)}
    return out


def journal_first_cost(rounds: int = 20, calls: int = 2_000) -> dict[str, Any]:
    from agentmem_langchain import MemoryManager, decision
    from agentmem_langchain.capture import Recorder, RecorderSettings, recorder_for
    from agentmem_langchain.stores.sqlite import SQLiteStore

    results: dict[str, list[float]] = {"plain": [], "default": [], "journal_first": []}
    with tempfile.TemporaryDirectory() as tmp:
        memories = {}
        for mode in ("default", "journal_first"):
            store = SQLiteStore(Path(tmp) / f"{mode}.db")
            settings = RecorderSettings(
                journal_path=Path(tmp) / mode / "j.jsonl", journal_first=mode == "journal_first"
            )
            from agentmem_langchain.capture import batch as recorder_module

            recorder_module._registry[id(store)] = Recorder(store, settings)
            memories[mode] = MemoryManager("bench-agent", store=store)
            assert recorder_for(store).settings.journal_first == (mode == "journal_first")

        def plain(i: int, options: list[str]) -> str:
            return options[i % 3]

        functions = {
            "plain": plain,
            "default": decision("source_selection", memory=memories["default"])(plain),
            "journal_first": decision("source_selection", memory=memories["journal_first"])(plain),
        }
        options = ["news", "prices", "social"]
        for _ in range(rounds):
            for name, fn in functions.items():
                timings = []
                for i in range(calls):
                    start = time.perf_counter()
                    fn(i, options)
                    timings.append(time.perf_counter() - start)
                results[name].append(statistics.median(timings) * 1e6)
            for memory in memories.values():
                memory.flush(timeout=60)
    plain_us = statistics.median(results["plain"])
    return {
        name: {
            "median_us": statistics.median(values),
            "overhead_us": statistics.median(values) - plain_us,
            "min_us": min(values),
            "max_us": max(values),
        }
        for name, values in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--kill-after", type=int, default=50_000)
    args = parser.parse_args()

    exits = exit_and_replay(args.runs, args.queued)
    window = sigkill_window(args.runs, args.kill_after)
    cost = journal_first_cost()
    figures = {
        "machine": machine(),
        "runs": args.runs,
        "queued": args.queued,
        "exit": exits,
        "sigkill": window,
        "journal_first": cost,
    }
    print(json.dumps(figures, indent=2))

    def s(d: dict[str, float], unit: str = "s", fmt: str = ".2f") -> str:
        return f"{d['median']:{fmt}} {unit} ({d['min']:{fmt}}-{d['max']:{fmt}})"

    rows = "\n".join(
        f"| {outage} | {s(f['exit_seconds'])} | {s(f['exit_seconds_nothing_queued'])} | "
        f"{f['journal_lines']['median']:,.0f} |"
        for outage, f in exits.items()
    )
    replay = exits["sqlite-locked"]
    kill_rows = "\n".join(
        f"| {mode} | {f['lost']['median']:,.0f} of {f['lost_of']:,} "
        f"({f['lost']['min']:,.0f}-{f['lost']['max']:,.0f}) |"
        for mode, f in window.items()
    )
    markdown = f"""
## Durability: exit, restart replay, SIGKILL window

`python -m benchmarks.durability --runs {args.runs} --queued {args.queued}` on {machine()}.
Median over {args.runs} fresh processes (min-max).

Exit with {args.queued:,} decisions queued and the store unwritable, from the end of the
script to the end of the process (goal: under 2 s):

| outage | exit with {args.queued:,} queued | exit with nothing queued | journal lines |
|---|---|---|---|
{rows}

Restart replay: a new process opening the SQLite store brought in
{replay["stored_after_replay"]["median"]:,.0f} decisions in
{s(replay["replay_seconds"])}.

SIGKILL during a tight loop of {args.kill_after:,} decisions on a healthy SQLite store: decisions
accepted and found neither in the store nor in the journal afterwards:

| mode | lost |
|---|---|
{kill_rows}

`journal_first=True` per `@decision` call (healthy SQLite, interleaved rounds):
{cost["journal_first"]["overhead_us"]:.1f} µs overhead against {cost["default"]["overhead_us"]:.1f} µs
without it (plain call {cost["plain"]["median_us"]:.2f} µs).
"""
    write_section("durability", markdown, figures)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) > 1 and sys.argv[1] == "count":
        count_child(sys.argv[2])
    else:
        main()
