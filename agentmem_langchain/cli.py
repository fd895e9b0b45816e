"""The ``agentmem`` command: look at an agent's memory from the terminal.

Examples::

    agentmem init                                   # create the store (SQLite by default)
    agentmem stats --agent-id btc-agent-001         # last 24 h as a table
    agentmem decisions --agent-id btc-agent-001 --limit 5 --json
    agentmem --store dynamodb --endpoint-url http://127.0.0.1:8000 init

Every command maps to one library call; ``--json`` prints machine-readable output. Bad
arguments or an unreachable store exit with code 2 and a one-line message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from .config import STORE_KINDS, open_store
from .cost import PRICES_AS_OF, CostEstimate, Prices
from .decision_logger import DecisionLogger
from .errors import AgentMemError
from .memory import MemoryManager
from .models import DecisionRecord, DecisionStats
from .stores.base import MemoryStore

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
    typer.Option("--agent-id", help="The agent (default: $AGENTMEM_AGENT_ID)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Library errors become one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except AgentMemError as exc:
        _fail(str(exc))


@contextmanager
def _memory(ctx: typer.Context, agent_id: str | None) -> Iterator[MemoryManager]:
    agent_id = agent_id or os.environ.get("AGENTMEM_AGENT_ID")
    if not agent_id:
        _fail("pass --agent-id (or set AGENTMEM_AGENT_ID)")
    with _cli_errors(), _opened(ctx) as store:
        yield MemoryManager(agent_id, store=store)


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
                console.print(str(create()), highlight=False)
            console.print(f"[green]ready:[/green] {opened!r}")
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
    tree = Tree(f"chain of {len(records)} decisions", guide_style="dim")

    def label(r: DecisionRecord) -> str:
        mark = " [bold yellow]<[/bold yellow]" if r.decision_id == highlight else ""
        chosen = ", ".join(r.reasoning.selected) or "-"
        confidence = _fmt(r.reasoning.confidence, "{:.2f}")
        return (
            f"{r.decision_type} [dim]{r.decision_id}[/dim] {chosen} ({confidence}) {r.status}{mark}"
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
    table = Table(title=f"{len(found)} patterns")
    for column in ("confidence", "success", "n", "v", "status", "description"):
        table.add_column(column, justify="left" if column == "description" else "right")
    for p in found:
        table.add_row(
            f"{p.confidence:.2f}",
            f"{p.success_rate:.0%}",
            str(p.sample_size),
            str(p.version),
            str(p.status),
            p.description,
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
    table = Table(title=f"{len(pending)} pending signals for {memory.agent_id}")
    for column in ("priority", "created (UTC)", "from", "type", "payload"):
        table.add_column(column)
    for signal in pending:
        table.add_row(
            str(signal.priority),
            signal.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            signal.source_agent_id,
            signal.signal_type,
            json.dumps(signal.payload)[:80],
        )
    console.print(table)


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
    from .analytics import Analytics

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


def stats_table(result: DecisionStats, hours: float) -> Table:
    """A rich table of ``DecisionStats`` (also used by the demo)."""
    table = Table(title=f"{result.agent_id}: last {_hours(hours)}", show_header=False)
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
        table.add_row(name, str(value))
    return table


def decisions_table(records: list[DecisionRecord]) -> Table:
    """A rich table of decisions, one row each."""
    table = Table(title=f"{len(records)} decisions")
    for column in ("time (UTC)", "type", "selected", "confidence", "status", "latency"):
        table.add_column(column)
    for r in records:
        latency = r.outcome.latency_ms if r.outcome else None
        table.add_row(
            r.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            r.decision_type,
            ", ".join(r.reasoning.selected) or "-",
            _fmt(r.reasoning.confidence, "{:.2f}"),
            str(r.status),
            _fmt(latency, "{:.1f} ms"),
        )
    return table


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def _hours(hours: float) -> str:
    return str(timedelta(hours=hours)) if hours != 24 else "24 h"


@app.command()
def consolidate(
    ctx: typer.Context,
    agent_id: AgentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Learn patterns from the agent's decided STM decisions (safe to run any time).

    Example: ``agentmem consolidate --agent-id btc-agent-001``
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .learning import consolidate as run_consolidation

    with (
        _memory(ctx, agent_id) as memory,
        _cli_errors(),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("reading decisions", total=None)

        def progress(phase: str, done: int, total: int | None) -> None:
            label = "reading decisions" if phase == "reading" else "writing patterns"
            bar.update(task, description=label, completed=done, total=total)

        result = run_consolidation(memory, progress=progress)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    elif result.busy:
        console.print("another consolidation is running; nothing done")
    else:
        console.print(
            f"learned from {result.learned} decisions ({result.pending} pending, "
            f"{result.skipped} skipped): {result.created} patterns created, "
            f"{result.updated} updated, {result.retired} retired"
        )


@app.command()
def cost(
    ctx: typer.Context,
    cycles_per_day: Annotated[
        float, typer.Option(min=0.001, help="Agent cycles a day (the seed's agent: 144).")
    ] = 144,
    sample_cycles: Annotated[int, typer.Option(min=1, help="Cycles to measure.")] = 10,
    write_price: Annotated[
        float, typer.Option(min=0, help="USD per million write request units.")
    ] = Prices.write_per_million,
    read_price: Annotated[
        float, typer.Option(min=0, help="USD per million read request units.")
    ] = Prices.read_per_million,
    storage_price: Annotated[
        float, typer.Option(min=0, help="USD per GB-month of storage.")
    ] = Prices.storage_per_gb_month,
    as_json: JsonOption = False,
) -> None:
    """Project a month of DynamoDB on-demand cost from units measured on a real server.

    Runs SAMPLE_CYCLES agent cycles (five chained decisions with outcomes, a state save, a
    signal, a pending-signal read and the 24 h stats) against the DynamoDB-protocol server at
    the global ``--endpoint-url`` (in fresh tables it deletes afterwards), or against moto in
    process when none is given; never against AWS itself.

    Example: ``agentmem --endpoint-url http://127.0.0.1:8000 cost --cycles-per-day 144``
    """
    from .cost import measure_cycles, project_monthly_cost

    prices = Prices(write_price, read_price, storage_price)
    with _cli_errors(), _probe_store(ctx.obj) as probe:
        measured = measure_cycles(probe, cycles=sample_cycles)
    estimate = project_monthly_cost(
        measured.usage,
        cycles=measured.cycles,
        cycles_per_day=cycles_per_day,
        stored_bytes_per_cycle=measured.stored_bytes_per_cycle,
        prices=prices,
    )
    if as_json:
        typer.echo(json.dumps(estimate.as_dict(), indent=2))
    else:
        console.print(cost_table(estimate, measured.cycles))


@contextmanager
def _probe_store(options: StoreOptions) -> Iterator[Any]:
    """Fresh tables on the given endpoint, or on moto in process; deleted afterwards."""
    from uuid import uuid4

    from .stores.dynamodb import DynamoDBStore

    prefix = f"agentmem_costprobe_{uuid4().hex[:8]}_"
    if options.endpoint_url:
        import boto3

        session = boto3.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        store = DynamoDBStore(
            endpoint_url=options.endpoint_url, table_prefix=prefix, boto3_session=session
        )
        mock = None
    else:
        try:
            from moto import mock_aws
        except ImportError:
            _fail(
                "pass --endpoint-url of a DynamoDB-protocol server, or "
                "pip install 'agentmem-langchain[cost]' to measure on moto in process"
            )
        mock = mock_aws()
        mock.start()
        store = DynamoDBStore(region="us-east-1", table_prefix=prefix)
    try:
        store.create_all_tables()
        yield store
    finally:
        try:
            store.client_manager.delete_all_tables()
        finally:
            store.close()
            if mock is not None:
                mock.stop()


def cost_table(estimate: CostEstimate, cycles: int) -> Table:
    """A rich table of a monthly cost projection."""
    table = Table(
        title=f"DynamoDB on-demand, {estimate.cycles_per_day:g} cycles/day, 30 days "
        f"(measured over {cycles} cycles; prices as of {PRICES_AS_OF})"
    )
    for column in ("", "per cycle", "per month", "USD / month"):
        table.add_column(column, justify="right")
    table.add_row(
        "write units",
        f"{estimate.write_units_per_cycle:.1f}",
        f"{estimate.monthly_write_units:,.0f}",
        f"{estimate.write_usd:.4f}",
    )
    table.add_row(
        "read units",
        f"{estimate.read_units_per_cycle:.1f}",
        f"{estimate.monthly_read_units:,.0f}",
        f"{estimate.read_usd:.4f}",
    )
    table.add_row("storage", "", f"{estimate.storage_gb:.4f} GB", f"{estimate.storage_usd:.4f}")
    table.add_row("[bold]total[/bold]", "", "", f"[bold]{estimate.total_usd:.4f}[/bold]")
    return table


@app.command("iam-policy")
def iam_policy(
    agent_id: Annotated[str, typer.Option("--agent-id", help="The agent the policy is for.")],
    table_prefix: Annotated[str, typer.Option(help="DynamoDB table name prefix.")] = ("agentmem_"),
    region: Annotated[str, typer.Option(help="Region of the tables (* = any).")] = "*",
    account_id: Annotated[str, typer.Option(help="AWS account id (* = any).")] = "*",
) -> None:
    """Print a least-privilege IAM policy: the agent touches only its own partitions.

    Example: ``agentmem iam-policy --agent-id btc-agent-001 > policy.json``
    """
    from .iam import iam_policy as policy_for

    with _cli_errors():
        policy = policy_for(
            agent_id, table_prefix=table_prefix, region=region, account_id=account_id
        )
    typer.echo(json.dumps(policy, indent=2))


@app.command()
def dashboard(
    agent_ids: Annotated[
        list[str], typer.Option("--agent-id", help="An agent to show (repeat for several).")
    ],
    name: Annotated[str, typer.Option(help="Dashboard name.")] = "agentmem",
    decision_type: Annotated[
        list[str] | None, typer.Option("--type", help="A decision type to chart (repeatable).")
    ] = None,
    namespace: Annotated[str, typer.Option(help="CloudWatch namespace.")] = "AgentMem",
    region: Annotated[str | None, typer.Option(help="AWS region (default: AWS_REGION).")] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create or replace it in CloudWatch (PutDashboard).")
    ] = False,
) -> None:
    """Print the CloudWatch dashboard of agents' metrics; ``--create`` puts it in CloudWatch.

    Example: ``agentmem dashboard --agent-id btc-agent-001 --agent-id eth-agent-002 --create``
    """
    from .cloudwatch import create_dashboard, dashboard_body

    types = decision_type or []
    with _cli_errors():
        if not create:
            body = dashboard_body(namespace, agent_ids, types, region=region)
            typer.echo(json.dumps(body, indent=2))
            return
        result = create_dashboard(name, agent_ids, types, namespace=namespace, region=region)
    console.print(f"[green]dashboard ready:[/green] {result.name} {result.arn or ''}")
    for message in result.messages:
        err_console.print(f"[yellow]CloudWatch:[/yellow] {message}", highlight=False)


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
    from .transfer import export_records

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
    from .transfer import import_records

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
def _opened(ctx: typer.Context, *, replay: bool = True) -> Iterator[MemoryStore]:
    from .capture.batch import replay_pending

    store = ctx.obj.open()
    if replay:
        replay_pending(store)  # what earlier processes journaled, in the background
    try:
        yield store
    finally:
        store.close()


@app.command()
def replay(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Write into the store what earlier processes journaled for it (while it was down).

    Any process that opens a store replays its journal in the background; this command does
    it now, with a progress bar. Exit code 1 if entries remain (the store is still down).

    Example: ``agentmem --store dynamodb replay``
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .capture.batch import Recorder, default_settings

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


def main() -> None:
    """Entry point of the ``agentmem`` script."""
    app()


__all__ = ["app", "decisions_table", "main", "stats_table"]
