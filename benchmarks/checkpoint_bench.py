"""LangGraph checkpointers: ``put`` / ``get_tuple`` latency and DynamoDB capacity per checkpoint.

    .venv/bin/python -m benchmarks.checkpoint_bench [--checkpoints 300] [--messages 10]

In one run, on one thread of ``--checkpoints`` checkpoints whose state is ``--messages`` chat
messages (a human/AI conversation, about 300 bytes each), each checkpoint the child of the
one before as in a graph run:

* ``AgentMemorySaver`` on ``SQLiteStore`` (one file, WAL);
* LangGraph's own ``SqliteSaver`` (``langgraph-checkpoint-sqlite``) on a file of its own;
* ``AgentMemorySaver`` on ``DynamoDBStore`` on a dynalite server started on loopback
  (``tests/dynalite.py``; run from the repository root after ``npm ci``).

For each: p50/p95 of ``put``, of ``get_tuple`` of the newest checkpoint (no id: what a graph
run reads first) and of ``get_tuple`` by id. On DynamoDB, the consumed capacity per ``put``,
``put_writes`` and ``get_tuple`` from ``store.usage()``, and the write units of one 1 MB
checkpoint (split across items). dynalite is a local emulator: its latencies are not
DynamoDB's; its capacity units follow DynamoDB's rules. Results go to benchmarks/RESULTS.md
(section ``checkpoint``) and benchmarks/results-checkpoint.json.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_metadata
from langgraph.checkpoint.sqlite import SqliteSaver

from agentmem_langchain.langgraph import AgentMemorySaver
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.sqlite import SQLiteStore
from tests.dynalite import DynaliteServer

from .results import machine, percentiles_ms, write_section


def conversation(messages: int) -> list[Any]:
    """A chat history of ``messages`` messages of about 300 bytes each."""
    said = "The funding rate turned negative on two venues while open interest kept rising; "
    return [
        (HumanMessage if i % 2 == 0 else AIMessage)(content=f"{i}: {said * 3}", id=f"m-{i}")
        for i in range(messages)
    ]


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run_saver(saver: BaseCheckpointSaver[Any], checkpoints: int, messages: int) -> dict[str, Any]:
    """Put a chain of checkpoints on one thread, then read the newest and each by id."""
    state = conversation(messages)
    config: dict[str, Any] = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}
    puts, stored = [], []
    for step in range(checkpoints):
        checkpoint = generate_checkpoint(channel_values={"messages": state})
        checkpoint["channel_versions"] = {"messages": step + 1}
        metadata = generate_metadata(step=step)
        start = time.perf_counter()
        config = saver.put(config, checkpoint, metadata, {"messages": step + 1})
        puts.append(time.perf_counter() - start)
        stored.append(config)
    newest = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}
    latest = [timed(lambda: saver.get_tuple(newest)) for _ in range(checkpoints)]
    by_id = [timed(lambda c=c: saver.get_tuple(c)) for c in stored]  # type: ignore[misc]
    found = saver.get_tuple(newest)
    assert found is not None and len(found.checkpoint["channel_values"]["messages"]) == messages
    return {
        "put": percentiles_ms(puts),
        "get_tuple_latest": percentiles_ms(latest),
        "get_tuple_by_id": percentiles_ms(by_id),
    }


def dynamodb_units(store: DynamoDBStore, messages: int) -> dict[str, float]:
    """Capacity of one put, one put_writes, one get_tuple; and of a 1 MB checkpoint."""
    saver = AgentMemorySaver(store, agent_id="units")
    state = conversation(messages)
    config: dict[str, Any] = {"configurable": {"thread_id": "units", "checkpoint_ns": ""}}

    def measured(call: Callable[[], Any]) -> tuple[float, float]:
        store.reset_usage()
        call()
        usage = store.usage()
        return usage.write_units, usage.read_units

    checkpoint = generate_checkpoint(channel_values={"messages": state})
    put_w, _ = measured(lambda: saver.put(config, checkpoint, generate_metadata(), {}))
    stored = {"configurable": {**config["configurable"], "checkpoint_id": checkpoint["id"]}}
    writes_w, _ = measured(lambda: saver.put_writes(stored, [("messages", state[-1])], "task-1"))
    _, get_r = measured(lambda: saver.get_tuple(config))
    big = generate_checkpoint(channel_values={"blob": "x" * 1_000_000})
    big_w, _ = measured(lambda: saver.put(config, big, generate_metadata(), {}))
    _, big_r = measured(lambda: saver.get_tuple(config))
    return {
        "put_write_units": put_w,
        "put_writes_write_units": writes_w,
        "get_tuple_read_units": get_r,
        "put_1mb_write_units": big_w,
        "get_tuple_1mb_read_units": big_r,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--checkpoints", type=int, default=300)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with SQLiteStore(Path(tmp) / "agentmem.db") as store:
            saver = AgentMemorySaver(store, agent_id="bench")
            results["agentmem_sqlite"] = run_saver(saver, args.checkpoints, args.messages)
        for key, synchronous in (("langgraph_sqlite", "FULL"), ("langgraph_normal", "NORMAL")):
            conn = sqlite3.connect(Path(tmp) / f"{key}.db", check_same_thread=False)
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            results[key] = run_saver(SqliteSaver(conn), args.checkpoints, args.messages)
            conn.close()
    with DynaliteServer() as server:
        session = boto3.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        dynamo = DynamoDBStore(endpoint_url=server.endpoint_url, boto3_session=session)
        dynamo.create_all_tables()
        saver = AgentMemorySaver(dynamo, agent_id="bench")
        results["agentmem_dynalite"] = run_saver(saver, args.checkpoints, args.messages)
        results["dynamodb_units"] = dynamodb_units(dynamo, args.messages)
        dynamo.close()
    report(args, results)


NAMES = {
    "agentmem_sqlite": "`AgentMemorySaver` on `SQLiteStore`",
    "langgraph_sqlite": "LangGraph `SqliteSaver` (sqlite3's default `synchronous = FULL`)",
    "langgraph_normal": "LangGraph `SqliteSaver`, `synchronous = NORMAL` as `SQLiteStore`",
    "agentmem_dynalite": "`AgentMemorySaver` on `DynamoDBStore` (dynalite)",
}


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    command = (
        f"`.venv/bin/python -m benchmarks.checkpoint_bench --checkpoints {args.checkpoints} "
        f"--messages {args.messages}`"
    )
    rows = []
    for key, name in NAMES.items():
        r = results[key]
        cells = [f"{r[m]['median_ms']:.2f} / {r[m]['p95_ms']:.2f}" for m in METHODS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    units = results["dynamodb_units"]
    markdown = f"""
## LangGraph checkpointers: `put` / `get_tuple` ({args.messages}-message state)

{command} on {machine()}. One thread of {args.checkpoints} checkpoints, each the child of
the one before; the state is {args.messages} chat messages of about 300 bytes.

| saver | `put` p50 / p95 ms | `get_tuple` newest p50 / p95 ms | `get_tuple` by id p50 / p95 ms |
|---|---|---|---|
{chr(10).join(rows)}

DynamoDB capacity (`store.usage()`, on-demand units as billed; no index on these items):

| per | units |
|---|---|
| `put` of a {args.messages}-message checkpoint | {units["put_write_units"]:.1f} write |
| `put_writes` of one message | {units["put_writes_write_units"]:.1f} write |
| `get_tuple` of the newest (Query of the head + Query of its writes) | {units["get_tuple_read_units"]:.1f} read |
| `put` of a 1 MB checkpoint (4 parts + head) | {units["put_1mb_write_units"]:.1f} write |
| `get_tuple` of that 1 MB checkpoint | {units["get_tuple_1mb_read_units"]:.1f} read |

`AgentMemorySaver` keeps each checkpoint whole (its channel values inline), LangGraph's
`SqliteSaver` keeps channel values as versioned blobs and joins them on read; all on the
same machine, in the same run. `SQLiteStore` runs WAL with `synchronous = NORMAL` (a commit
survives a process crash; the last commits may be lost on power loss); LangGraph's saver on
a plain `sqlite3` connection syncs every commit (`FULL`), hence the second row with the
same setting as `SQLiteStore`. dynalite's latencies are those of a local emulator (no
network round trip); its capacity units follow DynamoDB's rules (a write unit per KB
written; a read unit per 4 KB for the strongly consistent reads the saver makes).
"""
    write_section("checkpoint", markdown, {"args": vars(args), **results})
    print(markdown)


METHODS = ("put", "get_tuple_latest", "get_tuple_by_id")


if __name__ == "__main__":
    main()
