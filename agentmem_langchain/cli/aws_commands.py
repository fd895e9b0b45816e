"""AWS deployment helpers: ``cost`` (DynamoDB on-demand projection), ``iam-policy`` and
``dashboard`` (CloudWatch)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ..analytics.cost import PRICES_AS_OF, CostEstimate, Prices
from .app import JsonOption, StoreOptions, _cli_errors, _fail, app, console, err_console


@app.command()
def cost(
    ctx: typer.Context,
    cycles_per_day: Annotated[
        float, typer.Option(min=0.001, help="Agent cycles a day (144: one every 10 minutes).")
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
    from ..analytics.cost import measure_cycles, project_monthly_cost

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

    from ..stores.dynamodb import DynamoDBStore

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
    table.add_row(
        Text("total", style="bold"), "", "", Text(f"{estimate.total_usd:.4f}", style="bold")
    )
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
    from ..stores.dynamodb.iam import iam_policy as policy_for

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
    from ..analytics.cloudwatch import create_dashboard, dashboard_body

    types = decision_type or []
    with _cli_errors():
        if not create:
            body = dashboard_body(namespace, agent_ids, types, region=region)
            typer.echo(json.dumps(body, indent=2))
            return
        result = create_dashboard(name, agent_ids, types, namespace=namespace, region=region)
    console.print(
        Text.assemble(("dashboard ready:", "green"), f" {result.name} {result.arn or ''}")
    )
    for message in result.messages:
        err_console.print(Text.assemble(("CloudWatch:", "yellow"), f" {message}"))
