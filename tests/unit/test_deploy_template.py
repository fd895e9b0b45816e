"""``agentmem deploy template``: generated from the schema, cfn-lint clean, deployable on moto's
CloudFormation, with the tables ``create_all_tables`` makes and the policy ``iam-policy``
prints."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

import agentmem_langchain
from agentmem_langchain.cli import app
from agentmem_langchain.deploy import (
    HANDLER,
    PRINCIPAL_TAG,
    deployment_template,
    table_logical_id,
    template_json,
)
from agentmem_langchain.errors import ValidationError
from agentmem_langchain.stores.dynamodb.schema import TABLES, TableNames, create_all_tables

cfnlint_api = pytest.importorskip("cfnlint.api")
# moto's CloudFormation skips alarms (it does not model them); the template's are checked
# by cfn-lint and by test_the_alarms_watch_throttles_consolidation_errors_and_the_journal.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudWatch..Alarm")

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
VARIANTS = [
    pytest.param(fmt, agents, prefix, id=f"{fmt}-{len(agents)}agents-{prefix or 'bare'}")
    for fmt in ("cloudformation", "sam")
    for agents, prefix in (([], "agentmem_"), (["btc-agent-001", "eth.agent:2"], "prod-mem."))
]
runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def lambda_zip() -> bytes:
    """The function's code as the guide builds it: the package at the zip's root."""
    root = Path(agentmem_langchain.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(root.parent).as_posix())
    return buffer.getvalue()


def deploy(template: dict[str, Any], stack: str = "agentmem") -> dict[str, str]:
    """Create the stack on moto; returns logical id -> physical id."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="agentmem-code")
    s3.put_object(Bucket="agentmem-code", Key="agentmem-lambda.zip", Body=lambda_zip())
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName=stack,
        TemplateBody=template_json(template),
        Parameters=[{"ParameterKey": "CodeBucket", "ParameterValue": "agentmem-code"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}


def layout(client: Any, table: str) -> dict[str, Any]:
    """What a table is, without its name, times and counters."""
    described = client.describe_table(TableName=table)["Table"]
    return {
        "KeySchema": described["KeySchema"],
        "AttributeDefinitions": sorted(
            described["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        ),
        "BillingMode": described["BillingModeSummary"]["BillingMode"],
        "GlobalSecondaryIndexes": sorted(
            (
                {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], **_projection(i)}
                for i in described.get("GlobalSecondaryIndexes", [])
            ),
            key=lambda i: i["IndexName"],
        ),
    }


def _projection(index: dict[str, Any]) -> dict[str, Any]:
    projection = dict(index["Projection"])
    if "NonKeyAttributes" in projection:
        projection["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return {"Projection": projection}


# -- generation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "agents", "prefix"), VARIANTS)
def test_every_variant_is_cfn_lint_clean(fmt, agents, prefix):
    args = ["deploy", "template", "--format", fmt, "--table-prefix", prefix]
    if agents:
        args += ["--agents", ",".join(agents)]
    text = cli(*args)
    matches = cfnlint_api.lint(text, config=cfnlint_api.ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches] == []


def test_cfn_lint_catches_a_broken_template():
    template = deployment_template()
    template["Resources"]["AgentDecisionsTable"]["Properties"]["BillingMode"] = "FREE"
    matches = cfnlint_api.lint(
        template_json(template), config=cfnlint_api.ManualArgs(regions=[REGION])
    )
    assert any("FREE" in str(m) for m in matches)


def test_sam_format_uses_a_serverless_function_on_a_schedule():
    template = deployment_template(format="sam", code_uri="dist/lambda/")
    function = template["Resources"]["ConsolidationFunction"]
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Properties"]["CodeUri"] == "dist/lambda/"
    assert function["Properties"]["Events"]["Schedule"]["Type"] == "Schedule"
    assert "ConsolidationScheduleRule" not in template["Resources"]
    assert "CodeBucket" not in template["Parameters"]


def test_tables_have_ttl_pitr_encryption_and_on_demand_billing():
    resources = deployment_template()["Resources"]
    for spec in TABLES:
        table = resources[table_logical_id(spec)]
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionPolicy"] == "Retain"
        ttl = properties.get("TimeToLiveSpecification")
        expected = None if spec.ttl_attribute is None else spec.ttl_attribute
        assert (ttl or {}).get("AttributeName") == expected


def test_one_policy_per_agent_or_one_by_principal_tag():
    named = deployment_template(agent_ids=["a-1", "b-2", "a-1"])["Resources"]
    assert sorted(r for r in named if r.startswith("AgentPolicy")) == [
        "AgentPolicy1",
        "AgentPolicy2",
    ]
    tagged = deployment_template()["Resources"]["AgentPolicy"]
    keys = tagged["Properties"]["PolicyDocument"]["Statement"][0]["Condition"][
        "ForAllValues:StringLike"
    ]["dynamodb:LeadingKeys"]
    assert keys == [
        f"${{aws:PrincipalTag/{PRINCIPAL_TAG}}}",
        f"${{aws:PrincipalTag/{PRINCIPAL_TAG}}}#*",
    ]


def test_the_alarms_watch_throttles_consolidation_errors_and_the_journal():
    resources = deployment_template()["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"].endswith("Alarm")}
    assert len([k for k in alarms if k.endswith("ThrottleAlarm")]) == len(TABLES)
    assert alarms["ConsolidationErrorsAlarm"]["MetricName"] == "Errors"
    assert alarms["JournalGrowthAlarm"]["MetricName"] == "JournalPending"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"format": "terraform"}, "format"),
        ({"table_prefix": "bad prefix*"}, "table_prefix"),
        ({"agent_ids": ["not an id"]}, "agent_ids"),
        ({"agent_ids": "agent-1"}, "agent_ids"),
        ({"agent_ids": [f"a{i}" for i in range(201)]}, "agent_ids"),
        ({"code_uri": " "}, "code_uri"),
        ({"namespace": "AWS/DynamoDB"}, "namespace"),
        ({"namespace": "Mem${AWS::Region}"}, "namespace"),
    ],
)
def test_bad_options_raise_validation_error_naming_them(kwargs, field):
    with pytest.raises(ValidationError) as raised:
        deployment_template(**kwargs)
    assert raised.value.field == field


def test_cli_reports_a_bad_option_in_one_line():
    result = runner.invoke(app, ["deploy", "template", "--format", "terraform"])
    assert result.exit_code == 2
    assert "format" in result.output and "Traceback" not in result.output


# -- deployed on moto -------------------------------------------------------------------------


@pytest.mark.parametrize("agents", [[], ["btc-agent-001"]], ids=["tagged", "named"])
def test_deployed_tables_are_what_create_all_tables_makes(aws, agents):
    deploy(deployment_template(table_prefix="stack_", agent_ids=agents))
    client = boto3.client("dynamodb", region_name=REGION)
    report = create_all_tables(client, TableNames("direct_"))
    for spec in TABLES:
        assert layout(client, "stack_" + spec.name) == layout(client, "direct_" + spec.name)
        # moto's CloudFormation does not apply TimeToLiveSpecification: compare the template's
        # with what create_all_tables enabled.
        ttl = client.describe_time_to_live(TableName="direct_" + spec.name)
        direct = ttl["TimeToLiveDescription"].get("AttributeName")
        properties = deployment_template()["Resources"][table_logical_id(spec)]["Properties"]
        assert properties.get("TimeToLiveSpecification", {}).get("AttributeName") == direct
        assert report.tables["direct_" + spec.name] == "created"


def test_a_table_spec_change_shows_up_as_drift(aws):
    """The comparison above can fail: a template made from another layout differs."""
    template = deployment_template(table_prefix="stack_")
    decisions = template["Resources"][table_logical_id(TABLES[0])]["Properties"]
    decisions["GlobalSecondaryIndexes"][0]["Projection"] = {"ProjectionType": "ALL"}
    deploy(template)
    client = boto3.client("dynamodb", region_name=REGION)
    create_all_tables(client, TableNames("direct_"))
    name = TABLES[0].name
    assert layout(client, "stack_" + name) != layout(client, "direct_" + name)


def test_deployed_agent_policy_is_what_iam_policy_prints(aws):
    resources = deploy(deployment_template(agent_ids=["btc-agent-001", "eth-agent-002"]))
    iam = boto3.client("iam", region_name=REGION)
    for index, agent in enumerate(["btc-agent-001", "eth-agent-002"], 1):
        arn = resources[f"AgentPolicy{index}"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        printed = json.loads(
            cli("iam-policy", "--agent-id", agent, "--region", REGION, "--account-id", ACCOUNT)
        )
        deployed = document["Document"]
        deployed = json.loads(deployed) if isinstance(deployed, str) else deployed
        assert deployed == printed


def test_principal_tag_policy_is_iam_policy_with_the_tag_as_agent():
    tag = f"${{aws:PrincipalTag/{PRINCIPAL_TAG}}}"
    statements = deployment_template(table_prefix="p_")["Resources"]["AgentPolicy"]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    printed = json.loads(cli("iam-policy", "--agent-id", "tagged-agent", "--table-prefix", "p_"))

    def resolved(value: Any) -> Any:  # the stack's ARNs as iam-policy's "any region/account"
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            stack = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
            return value["Fn::Sub"].replace(stack, "arn:aws:dynamodb:*:*:")
        if isinstance(value, dict):
            return {k: resolved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolved(v) for v in value]
        return value.replace(tag, "tagged-agent") if isinstance(value, str) else value

    assert resolved(statements) == printed["Statement"]


def test_deployed_function_runs_the_packaged_handler(aws, tmp_path):
    resources = deploy(deployment_template(agent_ids=["btc-agent-001"]))
    function = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName=resources["ConsolidationFunction"]
    )["Configuration"]
    assert function["Handler"] == HANDLER
    assert function["Environment"]["Variables"]["AGENTMEM_AGENT_ID"] == "btc-agent-001"
    assert function["Environment"]["Variables"]["AGENTMEM_STORE"] == "dynamodb"
    package = tmp_path / "agentmem-lambda.zip"
    package.write_bytes(lambda_zip())
    module, name = function["Handler"].rsplit(".", 1)
    probe = (
        "import importlib, inspect, sys; "
        f"sys.path.insert(0, {str(package)!r}); "
        f"m = importlib.import_module({module!r}); "
        f"assert m.__file__.startswith({str(package)!r}), m.__file__; "
        f"print(list(inspect.signature(getattr(m, {name!r})).parameters))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['event', 'context']"


def test_help_lists_deploy_and_its_example():
    assert "deploy" in cli("--help")
    assert "Example" in cli("deploy", "template", "--help")
