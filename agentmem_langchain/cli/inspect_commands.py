"""Store setup and read-only views of an agent's memory: ``init``, ``stats``, ``decisions``,
``chain``, ``patterns``, ``signals``; plus the rich tables and tree they print.

Every stored string goes into a table or tree as a ``Text`` (never parsed as markup), so the
helpers print data literally on any console: one agent cannot restyle, link or break
another's view through the values it stores or the signals it sends.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..decision_logger import DecisionLogger
from ..models import DecisionRecord, DecisionStats
from .app import (
    MAX_HOURS,
    AgentOption,
    JsonOption,
    StoreOptions,
    _cli_errors,
    _fmt,
    _memory,
    app,
    console,
)


@app.command()
def init(
    ctx: typer.Context,
    store: Annotated[
        str | None, typer.Option(help="Store kind (overrides the global --store).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="DynamoDB endpoint URL (overrides the global option).")
    ] = None,
) -> None:
    """Create the store (the SQLite file, or the DynamoDB tables) if it does not exist yet.

    Example: ``agentmem init --store dynamodb --endpoint-url http://127.0.0.1:8000``
    """
    options: StoreOptions = ctx.obj
    options = replace(
        options, kind=store or options.kind, endpoint_url=endpoint_url or options.endpoint_url
    )
    with _cli_errors():
        opened = options.open()
        try:
            create = getattr(opened, "create_all_tables", None)
            if callable(create):
                console.print(str(create()))
            where = getattr(opened, "identity", None) or type(opened).__name__
            console.print(Text.assemble(("ready:", "green"), f" {where}"))
        finally:
            opened.close()


@app.command()
def stats(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    hours: Annotated[
        float, typer.Option(min=0.001, max=MAX_HOURS, help="Window, in hours.")
    ] = 24.0,
    as_json: JsonOption = False,
) -> None:
    """Success rate, confidence and latency of an agent's decisions in the last HOURS.

    Example: ``agentmem stats --agent-id btc-agent-001 --hours 6``
    """
    with _memory(ctx, agent_id) as memory, _cli_errors():
        result = DecisionLogger(memory).get_decision_stats(time_window_hours=hours)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        console.print(stats_table(result, hours))


@app.command()
def decisions(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    decision_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    as_json: JsonOption = False,
) -> None:
    """An agent's most recent decisions, newest first.

    Example: ``agentmem decisions --agent-id btc-agent-001 --type source_selection --limit 5``
    """
    with _memory(ctx, agent_id) as memory, _cli_errors():
        page = memory.query_decisions(decision_type=decision_type, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in page.items], indent=2))
    else:
        console.print(decisions_table(page.items))


@app.command()
def chain(
    ctx: typer.Context,
    decision_id: Annotated[str, typer.Argument(help="Any decision of the chain.")],
    agent_id: AgentOption = None,
    as_json: JsonOption = False,
) -> None:
    """The whole chain a decision belongs to, root first, as a tree.

    Example: ``agentmem chain 01J9Z... --agent-id btc-agent-001``
    """
    with _memory(ctx, agent_id) as memory, _cli_errors():
        records = memory.get_decision_chain(decision_id)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    console.print(chain_tree(records, decision_id))


def chain_tree(records: list[DecisionRecord], highlight: str | None = None) -> Tree:
    """A rich tree of a decision chain (children under their parent)."""
    by_parent: dict[str | None, list[DecisionRecord]] = {}
    known = {r.decision_id for r in records}
    for record in records:
        parent = record.parent_decision_id if record.parent_decision_id in known else None
        by_parent.setdefault(parent, []).append(record)
    tree = Tree(Text(f"chain of {len(records)} decisions"), guide_style="dim")

    def label(r: DecisionRecord) -> Text:
        mark = (" <", "bold yellow") if r.decision_id == highlight else ""
        chosen = ", ".join(r.reasoning.selected) or "-"
        confidence = _fmt(r.reasoning.confidence, "{:.2f}")
        return Text.assemble(
            f"{r.decision_type} ",
            (r.decision_id, "dim"),
            f" {chosen} ({confidence}) {r.status}",
            mark,
        )

    def grow(node: Tree, parent: str | None) -> None:
        for child in by_parent.get(parent, []):
            grow(node.add(label(child), highlight=False), child.decision_id)

    grow(tree, None)
    return tree


@app.command()
def patterns(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Only patterns at least this confident.")
    ] = 0.0,
    limit: Annotated[int, typer.Option(min=1, help="How many, most confident first.")] = 20,
    shared: Annotated[bool, typer.Option(help="Patterns other agents shared instead.")] = False,
    include_retired: Annotated[bool, typer.Option(help="Retired patterns too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """An agent's learned patterns (or those shared with it), most confident first.

    Example: ``agentmem patterns --agent-id btc-agent-001 --min-confidence 0.5``
    """
    with _memory(ctx, agent_id) as memory, _cli_errors():
        if shared:
            found = [p for p in memory.get_shared_patterns(limit) if p.confidence >= min_confidence]
        else:
            found = memory.get_patterns(min_confidence, limit, include_retired=include_retired)
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in found], indent=2))
        return
    table = Table(title=Text(f"{len(found)} patterns"))
    for column in ("confidence", "success", "n", "v", "status", "description"):
        table.add_column(column, justify="left" if column == "description" else "right")
    for p in found:
        table.add_row(
            f"{p.confidence:.2f}",
            f"{p.success_rate:.0%}",
            str(p.sample_size),
            str(p.version),
            str(p.status),
            Text(p.description),
        )
    console.print(table)


@app.command()
def signals(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Signals waiting for an agent, highest priority first (reading claims nothing).

    Example: ``agentmem signals --agent-id eth-agent-002``
    """
    with _memory(ctx, agent_id) as memory, _cli_errors():
        pending = memory.get_pending_signals(limit)
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in pending], indent=2))
        return
    table = Table(title=Text(f"{len(pending)} pending signals for {memory.agent_id}"))
    for column in ("priority", "created (UTC)", "from", "type", "payload"):
        table.add_column(column)
    for signal in pending:
        table.add_row(
            str(signal.priority),
            signal.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            Text(signal.source_agent_id),
            Text(signal.signal_type),
            Text(json.dumps(signal.payload)[:80]),
        )
    console.print(table)


def stats_table(result: DecisionStats, hours: float) -> Table:
    """A rich table of ``DecisionStats`` (also used by the demo)."""
    table = Table(title=Text(f"{result.agent_id}: last {_hours(hours)}"), show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("decisions", result.total),
        ("successes", result.successes),
        ("failures", result.failures),
        ("pending", result.pending),
        ("success rate", f"{result.success_rate:.1%}"),
        ("avg confidence", _fmt(result.avg_confidence, "{:.2f}")),
        ("latency p50", _fmt(result.latency_p50_ms, "{:.1f} ms")),
        ("latency p95", _fmt(result.latency_p95_ms, "{:.1f} ms")),
    ]
    rows += [(f"  {kind}", count) for kind, count in sorted(result.by_type.items())]
    for name, value in rows:
        table.add_row(Text(name), Text(str(value)))
    return table


def decisions_table(records: list[DecisionRecord]) -> Table:
    """A rich table of decisions, one row each."""
    table = Table(title=Text(f"{len(records)} decisions"))
    for column in ("time (UTC)", "type", "selected", "confidence", "status", "latency"):
        table.add_column(column)
    for r in records:
        latency = r.outcome.latency_ms if r.outcome else None
        table.add_row(
            r.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            Text(r.decision_type),
            Text(", ".join(r.reasoning.selected) or "-"),
            _fmt(r.reasoning.confidence, "{:.2f}"),
            Text(str(r.status)),
            _fmt(latency, "{:.1f} ms"),
        )
    return table


def _hours(hours: float) -> str:
    return str(timedelta(hours=hours)) if hours != 24 else "24 h"
