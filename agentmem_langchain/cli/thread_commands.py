"""``agentmem threads``: the LangGraph threads an agent's checkpointer keeps, and a thread's
checkpoints (``AgentMemorySaver``; needs ``pip install 'agentmem-langchain[agents]'``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from .. import config
from .app import AgentOption, JsonOption, _cli_errors, _opened, app, console


@app.command()
def threads(
    ctx: typer.Context,
    thread_id: Annotated[
        str | None, typer.Argument(help="A thread: list its checkpoints (default: list threads).")
    ] = None,
    agent_id: AgentOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many checkpoints, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """An agent's LangGraph threads; with THREAD_ID, that thread's checkpoints, newest first.

    Example: ``agentmem threads support-42 --agent-id btc-agent-001 --limit 5``
    """
    agent_id = agent_id or config.agent_ids()[0]
    with _cli_errors(), _opened(ctx, replay=False) as store:
        from ..langgraph.saver import AgentMemorySaver

        saver = AgentMemorySaver(store, agent_id=agent_id)
        if thread_id is None:
            names = saver.store.list_threads(agent_id)
            if as_json:
                typer.echo(json.dumps(names, indent=2))
            else:
                _print_threads(names)
            return
        rows = [
            _row(t) for t in saver.list({"configurable": {"thread_id": thread_id}}, limit=limit)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        console.print(checkpoints_table(thread_id, rows))


def _row(found: Any) -> dict[str, Any]:
    configurable = found.config["configurable"]
    parent = (found.parent_config or {}).get("configurable", {})
    return {
        "checkpoint_id": configurable["checkpoint_id"],
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "parent_checkpoint_id": parent.get("checkpoint_id"),
        "step": found.metadata.get("step"),
        "source": found.metadata.get("source"),
        "run_id": found.metadata.get("run_id"),
        "pending_writes": len(found.pending_writes or []),
        "channels": sorted(found.checkpoint.get("channel_values", {})),
    }


def _print_threads(names: list[str]) -> None:
    table = Table(title=f"{len(names)} threads")
    table.add_column("thread_id")
    for name in names:
        table.add_row(Text(name))
    console.print(table)


def checkpoints_table(thread_id: str, rows: list[dict[str, Any]]) -> Table:
    """A rich table of a thread's checkpoints (every stored string printed literally)."""
    table = Table(title=f"thread {thread_id}: {len(rows)} checkpoints")
    for column in ("checkpoint_id", "ns", "step", "source", "writes", "channels"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            Text(row["checkpoint_id"]),
            Text(row["checkpoint_ns"] or "-"),
            Text(str(row["step"])),
            Text(str(row["source"])),
            Text(str(row["pending_writes"])),
            Text(", ".join(row["channels"])),
        )
    return table
