"""``agentmem deploy``: what a production deployment on AWS needs, printed for the AWS tools.

This module adds the ``deploy`` group to ``app`` itself; importing it registers the group.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .app import _cli_errors, app

deploy_app = typer.Typer(
    help="Deploy agentmem on AWS: print the CloudFormation/SAM template.",
    no_args_is_help=True,
)
app.add_typer(deploy_app, name="deploy")


@deploy_app.command()
def template(
    format: Annotated[
        str, typer.Option("--format", help="cloudformation (code from S3) or sam (sam build).")
    ] = "cloudformation",
    table_prefix: Annotated[str, typer.Option(help="DynamoDB table name prefix.")] = "agentmem_",
    agents: Annotated[
        str,
        typer.Option(
            help="Comma-separated agent ids: one IAM policy and dashboard graphs each "
            "(default: one policy for every agent, by the principal tag agentmem_agent_id)."
        ),
    ] = "",
    namespace: Annotated[str, typer.Option(help="CloudWatch namespace.")] = "AgentMem",
    code_uri: Annotated[
        str, typer.Option(help="SAM only: the function's code directory for sam build.")
    ] = "build/agentmem-lambda/",
) -> None:
    """Print the template of the tables, agent policies, consolidation function, dashboard
    and alarms, generated from the schema the store creates tables with.

    Example: ``agentmem deploy template --format sam --agents btc-agent-001 > template.json``
    """
    from ..deploy import deployment_template, template_json

    agent_ids = [a.strip() for a in agents.split(",") if a.strip()]
    with _cli_errors():
        generated = deployment_template(
            format=format,
            table_prefix=table_prefix,
            agent_ids=agent_ids,
            namespace=namespace,
            code_uri=code_uri,
        )
    typer.echo(template_json(generated), nl=False)
