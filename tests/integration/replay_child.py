"""A process that decides (or counts what is stored), for the restart and exit tests.

``python -m tests.integration.replay_child decide <store> <n> <ids-file> [--journal-first]
[--kill] [--max-queue N]``: opens the store the way an agent does, makes ``n`` decorated
decisions, writes their ids, prints how long it had been running, then exits (normally, or by
SIGKILL with ``--kill``).
``python -m tests.integration.replay_child count <store>``: opens the store (which replays what
earlier processes journaled), flushes, prints the ids stored as JSON.

``<store>`` is ``sqlite:<path>`` or ``dynamodb:<endpoint>:<prefix>``. The journal folder is
``$AGENTMEM_JOURNAL_DIR``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any


def open_store(spec: str) -> Any:
    kind, _, rest = spec.partition(":")
    if kind == "sqlite":
        from agentmem_langchain.stores.sqlite import SQLiteStore

        return SQLiteStore(rest, timeout=0.2)
    import boto3

    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    endpoint, _, prefix = rest.rpartition(":")
    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return DynamoDBStore(
        endpoint_url=endpoint, table_prefix=prefix, boto3_session=session, timeout=2.0
    )


def decide(spec: str, n: int, ids_file: str, flags: list[str]) -> None:
    from agentmem_langchain import MemoryManager, decision
    from agentmem_langchain.capture import RecorderSettings, set_default_settings

    max_queue = int(flags[flags.index("--max-queue") + 1]) if "--max-queue" in flags else 10_000
    set_default_settings(
        RecorderSettings(
            journal_first="--journal-first" in flags,
            max_queue=max_queue,
            spill_buffer=max_queue,
            max_retries=0,
        )
    )
    memory = MemoryManager("restart-agent", store=open_store(spec))

    ids: list[str] = []
    from agentmem_langchain.capture import current_decision

    @decision("source_selection", memory=memory)
    def step(n: int) -> str:
        captured = current_decision()
        assert captured is not None
        ids.append(captured.decision_id)
        return f"source-{n % 3}"

    for i in range(n):
        step(i)
    with open(ids_file, "w") as handle:
        json.dump(ids, handle)
    if "--kill" in flags:
        os.kill(os.getpid(), signal.SIGKILL)
    print(json.dumps({"decided_at": time.time()}), flush=True)


def count(spec: str) -> None:
    from agentmem_langchain import MemoryManager

    memory = MemoryManager("restart-agent", store=open_store(spec))
    flushed = memory.flush(timeout=60)
    ids: list[str] = []
    cursor = None
    while True:
        page = memory.store.query_decisions("restart-agent", limit=500, cursor=cursor)
        ids += [r.decision_id for r in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    print(json.dumps({"flushed": flushed, "ids": ids}))


if __name__ == "__main__":
    command, spec, *rest = sys.argv[1:]
    if command == "decide":
        decide(spec, int(rest[0]), rest[1], rest[2:])
    else:
        count(spec)
