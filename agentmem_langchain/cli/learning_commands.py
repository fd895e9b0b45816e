"""How well an agent learns: ``calibration`` (confidence vs outcomes) and ``consolidate``
(learn patterns from decided decisions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .app import (
    MAX_HOURS,
    AgentOption,
    JsonOption,
    _cli_errors,
    _fmt,
    _memory,
    app,
    console,
    err_console,
)


@app.command()
def calibration(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    hours: Annotated[
        float, typer.Option(min=0.001, max=MAX_HOURS, help="Window, in hours.")
    ] = 24.0,
    bins: Annotated[int, typer.Option(min=1, max=100, help="Reliability bins.")] = 10,
    decision_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also save a reliability diagram (PNG) here.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Does stated confidence match how often decisions succeed? Bins, ECE and Brier score.

    Example: ``agentmem calibration --agent-id btc-agent-001 --plot reliability.png``
    """
    from ..analytics import Analytics

    with _memory(ctx, agent_id) as memory, _cli_errors():
        analytics = Analytics(memory)
        result = analytics.calibration(bins, hours=hours, decision_type=decision_type)
        if plot is not None:
            analytics.plot_reliability(bins, path=plot, hours=hours, decision_type=decision_type)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    table = Table(title=f"{memory.agent_id}: calibration over {result.count} decided decisions")
    for column in ("confidence", "decisions", "mean confidence", "success rate"):
        table.add_column(column, justify="right")
    for b in result.bins:
        table.add_row(
            f"{b.lower:.1f}-{b.upper:.1f}",
            str(b.count),
            _fmt(b.mean_confidence, "{:.2f}"),
            _fmt(b.success_rate, "{:.0%}"),
        )
    console.print(table)
    console.print(
        f"expected calibration error {_fmt(result.expected_calibration_error, '{:.3f}')}, "
        f"Brier score {_fmt(result.brier_score, '{:.3f}')}"
    )
    if plot is not None:
        console.print(f"reliability diagram: {plot}")


@app.command()
def consolidate(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    recount: Annotated[
        bool,
        typer.Option(
            "--recount",
            help="Also rebuild the recommend() counters from every stored decision "
            "(history logged before they existed).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Learn patterns from the agent's decided STM decisions (safe to run any time).

    Example: ``agentmem consolidate --agent-id btc-agent-001 --recount``
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..learning import consolidate as run_consolidation
    from ..learning.evidence import rebuild_evidence

    with (
        _memory(ctx, agent_id) as memory,
        _cli_errors(),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as bar,
    ):
        task = bar.add_task("reading decisions", total=None)

        def progress(phase: str, done: int, total: int | None) -> None:
            label = "reading decisions" if phase == "reading" else "writing patterns"
            bar.update(task, description=label, completed=done, total=total)

        result = run_consolidation(memory, progress=progress)
        if recount:
            bar.update(task, description="recounting outcomes", completed=0, total=None)
            recounted = rebuild_evidence(memory.store, memory.agent_id)
    if as_json:
        figures = result.as_dict()
        if recount:
            figures["recounted"] = recounted
        typer.echo(json.dumps(figures, indent=2))
    elif result.busy:
        console.print("another consolidation is running; nothing done")
    else:
        console.print(
            f"learned from {result.learned} decisions ({result.pending} pending, "
            f"{result.skipped} skipped): {result.created} patterns created, "
            f"{result.updated} updated, {result.retired} retired"
        )
    if recount and not as_json:
        console.print(f"recommend() counters rebuilt from {recounted} outcomes")
