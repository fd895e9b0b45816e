"""Per-run overhead of ``AgentMemoryMiddleware`` on a ``create_agent`` run with two tool calls.

    .venv/bin/python -m benchmarks.middleware_overhead [--processes 5] [--runs 400]
                                                       [--rounds 40]

One agent, built with ``langchain.agents.create_agent``: a scripted chat model (no API key)
calls ``get_price`` and then ``get_volume``, then answers. Configurations, on the same agent
shape:

* ``no memory``: the agent alone (the baseline every overhead is measured against);
* ``callback handler``: ``AgentMemoryCallbackHandler`` passed in ``config["callbacks"]``;
* ``middleware``: ``AgentMemoryMiddleware(memory, inject_patterns=False)`` (records the run
  and both tool calls, as the handler does);
* ``middleware + patterns``: ``AgentMemoryMiddleware(memory)`` with five learned patterns
  about its tools in the store, so every model call gets a patterns section in its system
  message;
* ``empty middleware, same hooks``: a middleware with the same state field and the same four
  hooks (``before_agent``, ``after_agent``, ``wrap_model_call``, ``wrap_tool_call``) doing
  nothing: what LangChain's agent graph itself costs for a middleware of this shape, before
  any of agentmem's work.

Each agentmem configuration records into its own SQLite store in a temporary directory. The
measurement runs in ``--processes`` fresh interpreters; in each, the configurations take
turns in ``--rounds`` short rounds in a new random order, so drift on a shared machine hits
them alike. A run is timed wall-clock and in CPU time of the calling thread; after each
round an agentmem configuration is flushed outside the per-run timings (the flush is timed
too and added to the sustained figure). A process's overhead for a configuration is its
median minus that process's median without memory; the figures reported are the medians of
those over the processes, with their spread (min-max over processes).

Goal: the middleware's overhead no more than the handler's. Results go to
benchmarks/RESULTS.md (section ``middleware-overhead``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from agentmem_langchain import AgentMemoryMiddleware, MemoryManager, MemoryPattern, PatternType
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.langchain.middleware import MemoryAgentState
from agentmem_langchain.langchain.testing import ScriptedChatModel, tool_call
from agentmem_langchain.stores.sqlite import SQLiteStore

from .results import machine, run_child, write_section

NONE, HANDLER, MIDDLEWARE, PATTERNS, EMPTY = (
    "no memory",
    "callback handler",
    "middleware",
    "middleware + patterns",
    "empty middleware, same hooks",
)
CONFIGS = (NONE, HANDLER, MIDDLEWARE, PATTERNS, EMPTY)
QUESTION = {"messages": [{"role": "user", "content": "How is BTC doing?"}]}


@tool
def get_price(symbol: str) -> dict[str, Any]:
    """The latest price of a symbol."""
    return {"symbol": symbol, "price": 45000.0}


@tool
def get_volume(symbol: str) -> dict[str, Any]:
    """The 24 h volume of a symbol."""
    return {"symbol": symbol, "volume": 1.2e9}


def scripted() -> ScriptedChatModel:
    return ScriptedChatModel(
        responses=[
            tool_call("get_price", {"symbol": "BTC"}, "c1", "Price first."),
            tool_call("get_volume", {"symbol": "BTC"}, "c2", "Then volume."),
            AIMessage("BTC trades at 45000 on 1.2e9 volume."),
        ]
    )


class EmptyMiddleware(AgentMiddleware[MemoryAgentState, Any, Any]):
    """The middleware's shape (state field and hooks) with no work in it."""

    state_schema = MemoryAgentState

    def before_agent(self, state: Any, runtime: Any) -> None:
        return None

    def after_agent(self, state: Any, runtime: Any) -> None:
        return None

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)


def learned_patterns(memory: MemoryManager) -> None:
    """Five confident patterns about the agent's tools, as a consolidation would leave."""
    for i, name in enumerate(["get_price", "get_volume"] * 2 + ["get_price"]):
        memory.store_pattern(
            MemoryPattern(
                agent_id=memory.agent_id,
                pattern_type=PatternType.SUCCESS,
                decision_type="tool_call",
                conditions={"tool": name, "regime": f"r{i}"},
                recommendation={"selected": name},
                confidence=0.8,
                sample_size=40,
                success_count=34,
                success_rate=0.85,
            )
        )


def build(config: str, folder: Path) -> tuple[Callable[[], Any], Callable[[], None]]:
    """The run to time and the flush to call after each round, for one configuration."""
    model = scripted()
    if config in (NONE, EMPTY):
        agent = create_agent(
            model,
            tools=[get_price, get_volume],
            system_prompt="Be brief.",
            middleware=[EmptyMiddleware()] if config == EMPTY else [],
        )
        return lambda: agent.invoke(QUESTION), lambda: None
    memory = MemoryManager(
        f"bench-{CONFIGS.index(config)}", store=SQLiteStore(folder / f"{config}.db")
    )
    if config == HANDLER:
        agent = create_agent(model, tools=[get_price, get_volume], system_prompt="Be brief.")
        handler = AgentMemoryCallbackHandler(memory)
        return lambda: agent.invoke(QUESTION, config={"callbacks": [handler]}), memory.flush
    if config == PATTERNS:
        learned_patterns(memory)
    middleware = AgentMemoryMiddleware(memory, inject_patterns=config == PATTERNS)
    agent = create_agent(
        model, tools=[get_price, get_volume], system_prompt="Be brief.", middleware=[middleware]
    )
    return lambda: agent.invoke(QUESTION), memory.flush


def run_once(runs: int, rounds: int, seed: int) -> dict[str, Any]:
    """One process: every configuration, ``runs`` runs each, in interleaved rounds."""
    rng = random.Random(seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        built = {config: build(config, Path(folder)) for config in CONFIGS}
        for run, flush in built.values():  # warm-up: imports, first compiles, the store
            for _ in range(20):
                run()
            flush()
        wall: dict[str, list[float]] = {c: [] for c in CONFIGS}
        cpu: dict[str, list[float]] = {c: [] for c in CONFIGS}
        flushes: dict[str, float] = dict.fromkeys(CONFIGS, 0.0)
        per_round = runs // rounds
        for _ in range(rounds):
            order = list(CONFIGS)
            rng.shuffle(order)
            for config in order:
                run, flush = built[config]
                for _ in range(per_round):
                    w0, c0 = time.perf_counter(), time.thread_time()
                    run()
                    cpu[config].append(time.thread_time() - c0)
                    wall[config].append(time.perf_counter() - w0)
                f0 = time.perf_counter()
                flush()
                flushes[config] += time.perf_counter() - f0
    result = {}
    for config in CONFIGS:
        n = len(wall[config])
        result[config] = {
            "median_ms": statistics.median(wall[config]) * 1000,
            "cpu_median_ms": statistics.median(cpu[config]) * 1000,
            "sustained_ms": (sum(wall[config]) + flushes[config]) / n * 1000,
            "runs": n,
        }
    return {"configs": result, "seconds": time.monotonic() - started}


def report(processes: list[dict[str, Any]], command: str) -> tuple[str, dict[str, Any]]:
    def overheads(config: str, key: str) -> list[float]:
        return [p["configs"][config][key] - p["configs"][NONE][key] for p in processes]

    table: dict[str, dict[str, Any]] = {}
    rows = [
        "| configuration | run, median | overhead, wall | overhead, caller CPU | "
        "overhead, sustained (with flush) |",
        "|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        base = statistics.median(p["configs"][config]["median_ms"] for p in processes)
        entry: dict[str, Any] = {"run_median_ms": base}
        cells = [config, f"{base:.2f} ms"]
        for key, label in (
            ("median_ms", "wall"),
            ("cpu_median_ms", "cpu"),
            ("sustained_ms", "kept"),
        ):
            values = overheads(config, key)
            entry[f"{label}_overhead_ms"] = statistics.median(values)
            entry[f"{label}_spread_ms"] = [min(values), max(values)]
            cells.append(
                "—"
                if config == NONE
                else f"{statistics.median(values):.3f} ms ({min(values):.3f} to {max(values):.3f})"
            )
        table[config] = entry
        rows.append("| " + " | ".join(cells) + " |")
    ratios = {
        label: [
            (p["configs"][MIDDLEWARE][key] - p["configs"][NONE][key])
            / max(1e-9, p["configs"][HANDLER][key] - p["configs"][NONE][key])
            for p in processes
        ]
        for key, label in (
            ("median_ms", "wall"),
            ("cpu_median_ms", "cpu"),
            ("sustained_ms", "kept"),
        )
    }
    ratio = {label: statistics.median(values) for label, values in ratios.items()}
    shell = table[EMPTY]["wall_overhead_ms"]
    handler = table[HANDLER]["wall_overhead_ms"]
    own = table[MIDDLEWARE]["wall_overhead_ms"] - shell
    met = ratio["wall"] <= 1.0
    markdown = "\n".join(
        [
            "## Middleware overhead (`create_agent`, two tool calls per run)",
            "",
            f"`{command}` — {len(processes)} processes, {machine()}.",
            "",
            *rows,
            "",
            "Middleware overhead ÷ handler overhead, per process then the median "
            f"(min-max): wall {ratio['wall']:.2f} "
            f"({min(ratios['wall']):.2f}-{max(ratios['wall']):.2f}), caller CPU "
            f"{ratio['cpu']:.2f} ({min(ratios['cpu']):.2f}-{max(ratios['cpu']):.2f}), "
            f"sustained {ratio['kept']:.2f} "
            f"({min(ratios['kept']):.2f}-{max(ratios['kept']):.2f}).",
            "",
            "Of the middleware's wall-clock overhead, the empty middleware with the same hooks "
            f"accounts for {shell:.3f} ms (LangChain's graph running the hooks); agentmem's own "
            f"work is the rest, {own:.3f} ms, against the handler's {handler:.3f} ms.",
            "",
            f"Goal (the middleware costs no more than the handler, wall-clock): "
            f"{'met' if met else 'not met'}.",
        ]
    )
    figures = {
        "command": command,
        "machine": machine(),
        "configs": table,
        "middleware_vs_handler": ratio,
        "middleware_vs_handler_per_process": ratios,
        "goal_met": met,
        "empty_hooks_overhead_ms": shell,
        "middleware_own_work_ms": own,
        "processes": processes,
    }
    return markdown, figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--runs", type=int, default=400, help="per configuration and process")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--child", type=int, metavar="SEED", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    if args.child is not None:
        print(json.dumps(run_once(args.runs, args.rounds, args.child)), flush=True)
        return
    if args.processes < 1 or args.runs < args.rounds or args.rounds < 1:
        parser.error("--processes and --rounds must be at least 1, --runs at least --rounds")
    command = "python -m benchmarks.middleware_overhead " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    processes = []
    for seed in range(args.processes):
        child = [sys.executable, "-m", "benchmarks.middleware_overhead", "--child", str(seed)]
        child += ["--runs", str(args.runs), "--rounds", str(args.rounds)]
        run = run_child(child, f"process {seed + 1}")
        processes.append(run)
        c = run["configs"]
        none = c[NONE]["median_ms"]
        print(
            f"process {seed + 1}/{args.processes}: handler "
            f"{c[HANDLER]['median_ms'] - none:.3f} ms, middleware "
            f"{c[MIDDLEWARE]['median_ms'] - none:.3f} ms, with patterns "
            f"{c[PATTERNS]['median_ms'] - none:.3f} ms, empty hooks "
            f"{c[EMPTY]['median_ms'] - none:.3f} ms ({run['seconds']:.0f} s)",
            flush=True,
        )
    markdown, figures = report(processes, command.strip())
    print(markdown)
    if not args.no_write:
        write_section("middleware-overhead", markdown, figures)


if __name__ == "__main__":
    main()
