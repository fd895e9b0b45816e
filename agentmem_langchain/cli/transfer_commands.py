"""Moving records between stores: ``export`` and ``import``."""

from __future__ import annotations

import json
import os
import sys
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
    out: Annotated[str, typer.Option("--out", "-o", help="The file to write; - writes to stdout.")],
    format: Annotated[
        str, typer.Option("--format", help="jsonl (everything, lossless) or csv (decisions).")
    ] = "jsonl",
    force: Annotated[
        bool, typer.Option("--force", help="Replace OUT if it is an existing regular file.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write every record of the agents (decisions, patterns with history, state and
    checkpoints, signals, registration) to a file that ``agentmem import`` reads back.

    The file is written beside OUT (mode 0600) and renamed onto it when complete. Refused,
    leaving OUT as it was: the store's own database, a directory, a symbolic link, a FIFO or
    device, and an existing file without --force.

    Example: ``agentmem export --agent-id btc-agent-001 --out btc.jsonl``
    """
    from ..transfer import check_export_target, export_records

    if format not in ("jsonl", "csv"):
        _fail(f"--format: choose jsonl or csv, not {format!r}")
    to_stdout = out == "-"
    with _cli_errors(), _opened(ctx) as store:
        if not to_stdout:
            check_export_target(out, store, overwrite=force)  # before the progress line
        with _counting("exporting") as progress, _reader_may_leave(to_stdout):
            summary = export_records(
                store,
                agent_ids,
                sys.stdout if to_stdout else out,
                format="csv" if format == "csv" else "jsonl",
                overwrite=force,
                progress=progress,
            )
    if to_stdout:
        return  # stdout holds the export itself; nothing else goes there
    if as_json:
        typer.echo(json.dumps({"out": out, "counts": summary.counts, "total": summary.total}))
    else:
        counts = ", ".join(f"{n} {kind}" for kind, n in summary.counts.items() if n)
        console.print(f"wrote {summary.total} records to {out}: {counts or 'nothing'}")


@app.command("import")
def import_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A file written by agentmem export (JSONL).")],
    agent_ids: Annotated[
        list[str] | None,
        typer.Option("--agent-id", help="Import only this agent of the file (repeatable)."),
    ] = None,
    resume_from: Annotated[
        int, typer.Option(min=1, help="Skip the records before this one (after a failure).")
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """Read an export into the store: validated first, all or nothing (importing twice
    changes nothing).

    Every record must belong to an agent the file's header names (a signal to its sender),
    or nothing is written. On SQLite the import is one transaction; on DynamoDB a failure
    part-way says which record to pass to --resume-from.

    Example: ``agentmem --store dynamodb import btc.jsonl --agent-id btc-agent-001``
    """
    from ..transfer import import_records
    from ..transfer.format import line_reader, validate_lines

    with _cli_errors():
        if not source.is_file():
            _fail(f"{source}: no such file")
        if ctx.obj.missing_sqlite_file() is not None:  # a bad file must not leave a new store
            validate_lines(line_reader(source)())
    with _cli_errors(), _opened(ctx, create=True) as store, _counting("importing") as progress:
        summary = import_records(
            store, source, agent_ids=agent_ids, resume_from=resume_from, progress=progress
        )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "written": summary.written,
                    "unchanged": summary.unchanged,
                    "skipped": summary.skipped,
                    "total": summary.total,
                }
            )
        )
    else:
        skipped = sum(summary.skipped.values())
        console.print(
            f"imported {summary.total} records for {', '.join(summary.agent_ids) or 'no agent'}: "
            f"{sum(summary.written.values())} written, "
            f"{sum(summary.unchanged.values())} already there"
            + (f", {skipped} skipped" if skipped else "")
        )


@contextmanager
def _reader_may_leave(to_stdout: bool) -> Iterator[None]:
    """A reader of stdout that stops early (``| head``) ends the export quietly, with the
    status a process killed by SIGPIPE has (141), as other Unix tools do."""
    try:
        yield
    except BrokenPipeError:
        if not to_stdout:
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's flush does not fail again
        raise typer.Exit(141) from None


@contextmanager
def _counting(verb: str) -> Iterator[Callable[[str, int], None]]:
    """A transient progress line on stderr: records handled so far, by kind."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # a log file gets the result, not a spinner
    ) as bar:
        task = bar.add_task(verb, total=None)

        def progress(kind: str, done: int) -> None:
            bar.update(task, description=f"{verb} {kind}: {done}")

        yield progress
