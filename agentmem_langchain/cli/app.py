"""The typer app, its global (store) options, and the helpers every command module shares.

Command modules import from here; this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from .. import config
from ..config import STORE_KINDS
from ..errors import AgentMemError
from ..memory import MemoryManager
from ..stores.base import MemoryStore
from ..stores.opening import open_store

#: The longest window a command accepts (100 years): longer reaches before year 1.
MAX_HOURS = 24 * 365 * 100

app = typer.Typer(
    help="Inspect and manage agentmem-langchain memory stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@dataclass
class StoreOptions:
    """Which store the command talks to (the global options)."""

    kind: str | None
    sqlite_path: Path | None
    endpoint_url: str | None
    region: str | None
    table_prefix: str | None

    def open(self) -> MemoryStore:
        return open_store(
            self.kind,
            sqlite_path=self.sqlite_path,
            endpoint_url=self.endpoint_url,
            region=self.region,
            table_prefix=self.table_prefix,
        )


@app.callback()
def _global_options(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            help=f"Store kind: {' | '.join(STORE_KINDS)} (default: $AGENTMEM_STORE or sqlite)."
        ),
    ] = None,
    sqlite_path: Annotated[
        Path | None,
        typer.Option(help="SQLite file (default: $AGENTMEM_SQLITE_PATH or .agentmem/memory.db)."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="DynamoDB endpoint URL (a local server, for instance).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region for DynamoDB.")] = None,
    table_prefix: Annotated[str | None, typer.Option(help="DynamoDB table name prefix.")] = None,
) -> None:
    ctx.obj = StoreOptions(store, sqlite_path, endpoint_url, region, table_prefix)


AgentOption = Annotated[
    str | None,
    typer.Option("--agent-id", help="The agent (default: $AGENTMEM_AGENT_ID, else 'default')."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Library errors, and files that cannot be read or written, become one line on stderr and
    exit code 2, never a traceback."""
    try:
        yield
    except AgentMemError as exc:
        _fail(str(exc))
    except OSError as exc:
        name = str(exc.filename or "")
        shown = name if len(name) <= 80 else name[:77] + "..."
        _fail(f"{shown}: {exc.strerror or exc}" if shown else str(exc))


@contextmanager
def _memory(ctx: typer.Context, agent_id: str | None) -> Iterator[MemoryManager]:
    agent_id = agent_id or config.agent_id()
    with _cli_errors(), _opened(ctx) as store:
        yield MemoryManager(agent_id, store=store)


@contextmanager
def _opened(ctx: typer.Context, *, replay: bool = True) -> Iterator[MemoryStore]:
    from ..capture.batch import replay_pending

    store = ctx.obj.open()
    if replay:
        replay_pending(store)  # what earlier processes journaled, in the background
    try:
        yield store
    finally:
        store.close()


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def main() -> None:
    """Entry point of the ``agentmem`` script."""
    app()
