"""Moving records between stores: ``export`` and ``import``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from .app import JsonOption, _cli_errors, _fail, _opened, app, console, err_console


@app.command("export")
def export_command(
    ctx: typer.Context,
    agent_ids: Annotated[
        list[str], typer.Option("--agent-id", help="An agent to export (repeat for several).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    format: Annotated[
        str, typer.Option("--format", help="jsonl (everything, lossless) or csv (decisions).")
    ] = "jsonl",
    as_json: JsonOption = False,
) -> None:
    """Write every record of the agents (decisions, patterns with history, state and
    checkpoints, signals, registration) to a file that ``agentmem import`` reads back.

    Example: ``agentmem export --agent-id btc-agent-001 --out btc.jsonl``
    """
    from ..transfer import export_records

    if format not in ("jsonl", "csv"):
        _fail(f"--format: choose jsonl or csv, not {format!r}")
    with _cli_errors(), _opened(ctx) as store, _counting("exporting") as progress:
        summary = export_records(
            store,
            agent_ids,
            out,
            format="csv" if format == "csv" else "jsonl",
            progress=progress,
        )
    if as_json:
        typer.echo(json.dumps({"out": str(out), "counts": summary.counts, "total": summary.total}))
    else:
        counts = ", ".join(f"{n} {kind}" for kind, n in summary.counts.items() if n)
        console.print(f"wrote {summary.total} records to {out}: {counts or 'nothing'}")


@app.command("import")
def import_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A file written by agentmem export (JSONL).")],
    as_json: JsonOption = False,
) -> None:
    """Read an export into the store (validated first; importing twice changes nothing).

    Example: ``agentmem --store dynamodb import btc.jsonl``
    """
    from ..transfer import import_records

    with _cli_errors():
        if not source.is_file():
            _fail(f"{source}: no such file")
    with _cli_errors(), _opened(ctx) as store, _counting("importing") as progress:
        summary = import_records(store, source, progress=progress)
    if as_json:
        typer.echo(
            json.dumps(
                {"written": summary.written, "unchanged": summary.unchanged, "total": summary.total}
            )
        )
    else:
        console.print(
            f"imported {summary.total} records for {', '.join(summary.agent_ids) or 'no agent'}: "
            f"{sum(summary.written.values())} written, "
            f"{sum(summary.unchanged.values())} already there"
        )


@contextmanager
def _counting(verb: str) -> Iterator[Callable[[str, int], None]]:
    """A transient progress line on stderr: records handled so far, by kind."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True
    ) as bar:
        task = bar.add_task(verb, total=None)

        def progress(kind: str, done: int) -> None:
            bar.update(task, description=f"{verb} {kind}: {done}")

        yield progress
