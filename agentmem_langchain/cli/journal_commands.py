"""The capture journal: ``replay`` writes what earlier processes journaled into the store."""

from __future__ import annotations

import json

import typer

from .app import JsonOption, _cli_errors, _opened, app, console, err_console


@app.command()
def replay(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Write into the store what earlier processes journaled for it (while it was down).

    Any process that opens a store replays its journal in the background; this command does
    it now, with a progress bar. Exit code 1 if entries remain (the store is still down).

    Example: ``agentmem --store dynamodb replay``
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..capture.batch import Recorder, default_settings

    with _cli_errors(), _opened(ctx, replay=False) as store:
        recorder = Recorder(store, default_settings())  # replays here, not in the background
        total = recorder.pending_replay()
        with Progress(
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=total == 0,
        ) as bar:
            task = bar.add_task("replay", total=total)
            applied = recorder.replay_now(lambda done: bar.update(task, completed=done))
        left = recorder.pending_replay()
        stats = recorder.stats()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "replayed": applied,
                    "remaining": left,
                    "dead_lettered": stats.dead_lettered,
                    "journal": str(recorder.journal_path),
                }
            )
        )
    else:
        console.print(
            f"replayed {applied} journal entries into the store; {left} remaining"
            + (
                f"; {stats.dead_lettered} refused, see {recorder.dead_letter_path}"
                if stats.dead_lettered
                else ""
            ),
            highlight=False,
        )
    if left:
        raise typer.Exit(code=1)
