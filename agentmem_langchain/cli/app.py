"""The typer app, its global (store) options, and the helpers every command module shares.

Command modules import from here; this module imports none of them.

Output is data, never markup: both consoles print text as it is (no rich markup, no emoji
codes), so a stored ``[/]`` or ``[link=...]`` prints literally; styles are set with ``Text``.
Every failure is one line on stderr and exit code 2 (:class:`GuardedGroup`), never a
traceback; an exception nobody expected is named by its type as a bug
(``AGENTMEM_DEBUG=1`` lets its traceback through).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from .. import config
from ..config import STORE_KINDS
from ..errors import AgentMemError
from ..memory import MemoryManager
from ..stores.base import MemoryStore
from ..stores.opening import open_store

#: The longest window a command accepts (100 years): longer reaches before year 1.
MAX_HOURS = 24 * 365 * 100

#: The longest error message printed (a 5000-character path is cut, not echoed whole).
MAX_MESSAGE_CHARS = 400

#: What a shell sees: 0 done; 1 ``replay`` left entries in the journal; 2 any error (bad
#: input, a store that cannot be reached, a bug named by its type); 130 interrupted.
EXIT_CODES = (0, 1, 2, 130)


class GuardedGroup(TyperGroup):
    """The ``agentmem`` group: whatever a command raises becomes one line on stderr and exit
    code 2 (typer's own exits and usage errors pass through unchanged)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _is_click_exit(exc) or config.cli_debug():
                raise
            _fail(_describe(exc))


def _is_click_exit(exc: BaseException) -> bool:
    """typer.Exit, Abort and click's usage errors: the framework reports those itself."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"ClickException", "Exit", "Abort"})


def _describe(exc: BaseException) -> str:
    """One line saying what went wrong: the library's own message, a file's error, or the
    type of an exception nobody expected (a bug, so said)."""
    if isinstance(exc, AgentMemError):
        return str(exc)
    if isinstance(exc, OSError):
        name = str(exc.filename or "")
        return f"{name}: {exc.strerror or exc}" if name else str(exc)
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, ValueError) or type(exc).__module__.startswith("botocore"):
        return f"{exc}"
    return f"unexpected {type(exc).__name__}: {exc} (a bug; AGENTMEM_DEBUG=1 shows where)"


app = typer.Typer(
    cls=GuardedGroup,
    help="Inspect and manage agentmem-langchain memory stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)


@dataclass
class StoreOptions:
    """Which store the command talks to (the global options)."""

    kind: str | None
    sqlite_path: Path | None
    endpoint_url: str | None
    region: str | None
    table_prefix: str | None

    def missing_sqlite_file(self) -> Path | None:
        """The SQLite file these options name, if it does not exist (None for DynamoDB)."""
        if config.store_kind(self.kind) != "sqlite":
            return None
        path = config.resolve_sqlite_path(self.sqlite_path).expanduser()
        return None if os.path.lexists(path) else path

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
    """One line on stderr (printed as text, never markup), exit code 2."""
    line = re.sub(r"\s+", " ", message).strip()
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 3] + "..."
    err_console.print(Text.assemble(("error:", "red"), " ", line), soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Library errors, files that cannot be read or written, and bad values become one line
    on stderr and exit code 2, never a traceback."""
    try:
        yield
    except (AgentMemError, OSError, ValueError, RecursionError) as exc:
        _fail(_describe(exc))


@contextmanager
def _memory(ctx: typer.Context, agent_id: str | None) -> Iterator[MemoryManager]:
    agent_id = agent_id or config.agent_id()
    with _cli_errors(), _opened(ctx) as store:
        yield MemoryManager(agent_id, store=store)


@contextmanager
def _opened(
    ctx: typer.Context, *, replay: bool = True, create: bool = False
) -> Iterator[MemoryStore]:
    """The store of the global options; a SQLite file that does not exist is an error unless
    ``create`` (reading a typo'd path must not create an empty database)."""
    from ..capture.batch import replay_pending

    options: StoreOptions = ctx.obj
    missing = None if create else options.missing_sqlite_file()
    if missing is not None:
        _fail(f"{missing}: no such SQLite store (create it with 'agentmem init')")
    store = options.open()
    if replay:
        replay_pending(store)  # what earlier processes journaled, in the background
    try:
        yield store
    finally:
        store.close()


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def main() -> None:
    """Entry point of the ``agentmem`` script: a usage error (an unknown command or option, a
    value of the wrong type) is one line on stderr with exit code 2, like every other error."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:
        if not exc.format_message().strip():  # the help was printed instead (no arguments)
            raise SystemExit(exc.exit_code) from None
        ctx = getattr(exc, "ctx", None)
        hint = f" (try '{ctx.command_path} --help')" if ctx is not None else ""
        try:
            _fail(exc.format_message() + hint)
        except typer.Exit:
            raise SystemExit(max(2, exc.exit_code)) from None
    except typer.Abort:
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
