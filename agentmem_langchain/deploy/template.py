"""The CloudFormation (or SAM) template of a production deployment, generated from the schema.

>>> template = deployment_template(agent_ids=["btc-agent-001"])
>>> sorted(r for r in template["Resources"] if r.endswith("Table"))
['AgentDecisionsTable', 'AgentMemoryLtmTable', 'AgentSignalsTable', 'AgentStateTable']

Every part comes from the code the library itself runs, never from a copy:

* the tables are :data:`~agentmem_langchain.stores.dynamodb.schema.TABLES`, through the same
  ``TableSpec.create_params`` that ``create_all_tables`` sends, plus TTL, point-in-time
  recovery and server-side encryption (on by default);
* the agents' IAM managed policies are the statements of
  :func:`~agentmem_langchain.stores.dynamodb.iam.iam_policy` (``agentmem iam-policy``), one
  policy per agent id, or one policy keyed by the principal tag ``agentmem_agent_id``;
* the consolidation function runs :data:`HANDLER` (``learning.consolidation.handler``) on a
  schedule, under a role of its own that reaches the consolidated agents' partitions only;
* the dashboard is :func:`~agentmem_langchain.analytics.cloudwatch.dashboard_body` plus the
  operational graphs the alarms watch: throttled requests, consolidation errors and the
  capture journal's ``JournalPending`` metric.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .. import config
from ..analytics.cloudwatch import DEFAULT_NAMESPACE, JOURNAL_METRIC, dashboard_body
from ..errors import ValidationError
from ..memory import validate_agent_id
from ..models import AGENT_ID_TEXT
from ..stores.dynamodb.iam import ITEM_ACTIONS, iam_policy
from ..stores.dynamodb.schema import TABLES, TableNames, TableSpec

FORMATS = ("cloudformation", "sam")

HANDLER = "agentmem_langchain.learning.consolidation.handler"
"""The consolidation function's handler: module path and function, as Lambda resolves it."""

RUNTIME = "python3.12"

PRINCIPAL_TAG = "agentmem_agent_id"
"""The IAM principal tag naming an agent when the template is made without agent ids."""

#: CloudFormation allows 500 resources a stack; one policy per agent keeps well under it.
MAX_AGENTS = 200

# iam_policy is called for this id, then its partitions become the template's. It is a
# valid agent id that nobody names an agent.
_PLACEHOLDER = "agentmem-template-placeholder"
_ANY_ARN = "arn:aws:dynamodb:*:*:"
_STACK_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
_AGENT = AGENT_ID_TEXT.pattern.removeprefix("^").removesuffix("$")
# An IAM policy variable: CloudFormation reads ``${...}`` only inside Fn::Sub, IAM here.
_TAG_KEY = "${aws:PrincipalTag/" + PRINCIPAL_TAG + "}"


def deployment_template(
    *,
    format: str = "cloudformation",
    table_prefix: str = config.DEFAULT_TABLE_PREFIX,
    agent_ids: Sequence[str] = (),
    namespace: str = DEFAULT_NAMESPACE,
    code_uri: str = "build/agentmem-lambda/",
) -> dict[str, Any]:
    """The template (a dict; :func:`template_json` prints it) of one deployment.

    ``format`` is ``"cloudformation"`` (the function's code from the ``CodeBucket`` and
    ``CodeKey`` parameters) or ``"sam"`` (``AWS::Serverless::Function`` built from
    ``code_uri`` by ``sam build``). With ``agent_ids`` each agent gets its own managed policy
    and the dashboard graphs each; without, one policy serves every agent through the
    principal tag ``agentmem_agent_id``. Bad values raise ``ValidationError`` naming the
    argument.
    """
    if format not in FORMATS:
        raise ValidationError(
            f"format: expected one of {', '.join(FORMATS)}, got {format!r}",
            field="format",
            value=format,
        )
    agents = _checked_agents(agent_ids)
    names = TableNames(table_prefix)
    iam_policy(_PLACEHOLDER, table_prefix=table_prefix)  # checks the prefix, names the field
    # The dashboard body is a Fn::Sub string: a "$" would be read as a variable.
    if not (0 < len(namespace) <= 255) or namespace.startswith((":", "AWS/")) or "$" in namespace:
        raise ValidationError(
            f"namespace: 1 to 255 characters, no '$', not starting with ':' or 'AWS/' "
            f"(got {namespace!r})",
            field="namespace",
            value=namespace,
        )
    if not code_uri.strip():
        raise ValidationError("code_uri: must not be blank", field="code_uri", value=code_uri)
    resources: dict[str, Any] = {}
    for spec in TABLES:
        resources[table_logical_id(spec)] = _table(spec, names)
    resources.update(_agent_policies(agents, table_prefix))
    resources.update(_consolidation(format, agents, table_prefix, code_uri))
    resources["Dashboard"] = _dashboard(agents, namespace, table_prefix)
    resources.update(_alarms(namespace, table_prefix))
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"agentmem-langchain: memory tables '{table_prefix}*', agent policies, "
        "scheduled consolidation, dashboard and alarms",
    }
    if format == "sam":
        template["Transform"] = "AWS::Serverless-2016-10-31"
    template["Parameters"] = _parameters(format, agents)
    template["Conditions"] = {
        "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    }
    template["Resources"] = resources
    template["Outputs"] = _outputs(agents)
    return template


def template_json(template: dict[str, Any]) -> str:
    """``template`` as the JSON text CloudFormation, SAM and cfn-lint read."""
    return json.dumps(template, indent=2) + "\n"


def table_logical_id(spec: TableSpec) -> str:
    """The table's logical id: ``agent_decisions`` becomes ``AgentDecisionsTable``."""
    return "".join(part.capitalize() for part in spec.name.split("_")) + "Table"


def _checked_agents(agent_ids: Sequence[str]) -> list[str]:
    if isinstance(agent_ids, str):
        raise ValidationError("agent_ids: a list of agent ids, not one string", field="agent_ids")
    agents = list(dict.fromkeys(validate_agent_id(a, "agent_ids") for a in agent_ids))
    if len(agents) > MAX_AGENTS:
        raise ValidationError(
            f"agent_ids: at most {MAX_AGENTS} agents get their own policy (got {len(agents)}); "
            "for more, leave them out and tag each agent's role with "
            f"{PRINCIPAL_TAG}",
            field="agent_ids",
        )
    return agents


# -- tables -----------------------------------------------------------------------------------


def _table(spec: TableSpec, names: TableNames) -> dict[str, Any]:
    properties = spec.create_params(names.physical(spec))
    if spec.ttl_attribute is not None:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": spec.ttl_attribute,
            "Enabled": True,
        }
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    properties["SSESpecification"] = {"SSEEnabled": True}
    properties["Tags"] = [{"Key": "agentmem:table", "Value": spec.name}]
    # Memory outlives the stack: deleting it (or replacing a table) keeps the data.
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _depends_on_tables() -> list[str]:
    return [table_logical_id(spec) for spec in TABLES]


# -- IAM --------------------------------------------------------------------------------------


def _stack_statements(table_prefix: str, leading_key: str) -> list[dict[str, Any]]:
    """``iam_policy``'s statements with the placeholder agent replaced by ``leading_key`` (an
    agent id, or the principal tag) and the table ARNs narrowed to the stack's account and
    region (``Fn::Sub``)."""
    statements: list[dict[str, Any]] = iam_policy(_PLACEHOLDER, table_prefix=table_prefix)[
        "Statement"
    ]
    return [_substituted(statement, leading_key) for statement in statements]


def _substituted(value: Any, leading_key: str) -> Any:
    if isinstance(value, dict):
        return {k: _substituted(v, leading_key) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, leading_key) for v in value]
    if value == _PLACEHOLDER or (isinstance(value, str) and value.startswith(_PLACEHOLDER + "#")):
        return leading_key + value[len(_PLACEHOLDER) :]
    if isinstance(value, str) and value.startswith(_ANY_ARN):
        return {"Fn::Sub": _STACK_ARN + value[len(_ANY_ARN) :]}
    return value


def _managed_policy(description: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Description": description,
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    }


def agent_policy_logical_id(index: int | None) -> str:
    """``AgentPolicy`` (principal-tag policy) or ``AgentPolicy1``, ``AgentPolicy2``, ... in
    the order the agent ids were given."""
    return "AgentPolicy" if index is None else f"AgentPolicy{index + 1}"


def _agent_policies(agents: list[str], table_prefix: str) -> dict[str, Any]:
    if not agents:
        description = (
            f"agentmem: an agent's own partitions of the '{table_prefix}' tables; the agent is "
            f"the principal's tag {PRINCIPAL_TAG}"
        )
        return {
            agent_policy_logical_id(None): _managed_policy(
                description, _stack_statements(table_prefix, _TAG_KEY)
            )
        }
    return {
        agent_policy_logical_id(i): _managed_policy(
            f"agentmem: the partitions of agent {agent} in the '{table_prefix}' tables",
            _stack_statements(table_prefix, agent),
        )
        for i, agent in enumerate(agents)
    }


# -- consolidation ----------------------------------------------------------------------------


def _consolidation(
    format: str, agents: list[str], table_prefix: str, code_uri: str
) -> dict[str, Any]:
    """The function, its role and its schedule."""
    role = _consolidation_role(agents, table_prefix)
    environment = {
        "Variables": {
            "AGENTMEM_STORE": "dynamodb",
            "AGENTMEM_TABLE_PREFIX": table_prefix,
            "AGENTMEM_AGENT_ID": {"Ref": "ConsolidatedAgentIds"},
            # /tmp is a Lambda function's only writable directory (and it is ephemeral).
            "AGENTMEM_JOURNAL_DIR": "/tmp/agentmem/journal",
        }
    }
    common = {
        "Description": "agentmem consolidation: short-term decisions into long-term patterns",
        "Handler": HANDLER,
        "Runtime": RUNTIME,
        "Timeout": 300,
        "MemorySize": 512,
        "Role": {"Fn::GetAtt": ["ConsolidationRole", "Arn"]},
        "Environment": environment,
    }
    resources: dict[str, Any] = {"ConsolidationRole": role}
    if format == "sam":
        resources["ConsolidationFunction"] = {
            "Type": "AWS::Serverless::Function",
            "DependsOn": _depends_on_tables(),
            "Properties": {
                **common,
                "CodeUri": code_uri,
                "Events": {
                    "Schedule": {
                        "Type": "Schedule",
                        "Properties": {"Schedule": {"Ref": "ConsolidationSchedule"}},
                    }
                },
            },
        }
        return resources
    resources["ConsolidationFunction"] = {
        "Type": "AWS::Lambda::Function",
        "DependsOn": _depends_on_tables(),
        "Properties": {
            **common,
            "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
        },
    }
    resources["ConsolidationScheduleRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": "Runs agentmem consolidation",
            "ScheduleExpression": {"Ref": "ConsolidationSchedule"},
            "State": "ENABLED",
            "Targets": [
                {"Arn": {"Fn::GetAtt": ["ConsolidationFunction", "Arn"]}, "Id": "consolidation"}
            ],
        },
    }
    resources["ConsolidationSchedulePermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": "ConsolidationFunction"},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": ["ConsolidationScheduleRule", "Arn"]},
        },
    }
    return resources


def _consolidation_role(agents: list[str], table_prefix: str) -> dict[str, Any]:
    """Logs, plus the consolidated agents' partitions: their own policies when the template
    names the agents; else the item actions on this deployment's tables and indexes only
    (a schedule's agent list is a parameter, which a LeadingKeys list cannot expand)."""
    basic = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    }
    properties: dict[str, Any] = {
        "Description": "agentmem consolidation function",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "ManagedPolicyArns": [basic],
    }
    if agents:
        properties["ManagedPolicyArns"] += [
            {"Ref": agent_policy_logical_id(i)} for i in range(len(agents))
        ]
    else:
        own = _stack_statements(table_prefix, _TAG_KEY)[0]
        statement = {
            "Sid": "ConsolidatedTablesItemsOnly",
            "Effect": "Allow",
            "Action": list(ITEM_ACTIONS),
            "Resource": own["Resource"],
        }
        properties["Policies"] = [
            {
                "PolicyName": "agentmem-consolidation",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            }
        ]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


# -- dashboard and alarms ---------------------------------------------------------------------

_REGION_VAR = "${AWS::Region}"


def _dashboard(agents: list[str], namespace: str, table_prefix: str) -> dict[str, Any]:
    widgets: list[dict[str, Any]] = []
    if agents:
        widgets = dashboard_body(namespace, agents, region=_REGION_VAR)["widgets"]
    top = max((w["y"] + w["height"] for w in widgets), default=0)
    names = TableNames(table_prefix)

    def graph(title: str, stat: str, metrics: list[list[Any]]) -> dict[str, Any]:
        return {
            "type": "metric",
            "properties": {
                "title": title,
                "view": "timeSeries",
                "stacked": False,
                "region": _REGION_VAR,
                "stat": stat,
                "period": 300,
                "metrics": metrics,
            },
        }

    throttles = [
        ["AWS/DynamoDB", metric, "TableName", names.physical(spec)]
        for spec in TABLES
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
    ]
    function = ["FunctionName", "${ConsolidationFunction}"]
    operations = [
        graph("DynamoDB throttled requests", "Sum", throttles),
        graph(
            "Consolidation runs and errors",
            "Sum",
            [["AWS/Lambda", "Invocations", *function], ["AWS/Lambda", "Errors", *function]],
        ),
        graph(
            "Capture journal: entries waiting for the store",
            "Maximum",
            [[namespace, JOURNAL_METRIC, "TablePrefix", table_prefix]],
        ),
    ]
    for i, widget in enumerate(operations):
        widgets.append(
            {**widget, "x": 12 * (i % 2), "y": top + 6 * (i // 2), "width": 12, "height": 6}
        )
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}-agentmem"},
            "DashboardBody": {"Fn::Sub": body},
        },
    }


def _alarm(description: str, **properties: Any) -> dict[str, Any]:
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "AlarmActions": actions,
            "TreatMissingData": "notBreaching",
            **properties,
        },
    }


def _alarms(namespace: str, table_prefix: str) -> dict[str, Any]:
    names = TableNames(table_prefix)
    alarms: dict[str, Any] = {}
    for spec in TABLES:
        table = names.physical(spec)
        # ThrottledRequests is reported per operation; the table-level events need no list.
        throttled = [
            {
                "Id": metric_id,
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/DynamoDB",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "TableName", "Value": table}],
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
            }
            for metric_id, metric in (
                ("reads", "ReadThrottleEvents"),
                ("writes", "WriteThrottleEvents"),
            )
        ]
        throttled.append(
            {"Id": "throttled", "Expression": "reads + writes", "Label": "Throttled requests"}
        )
        alarms[table_logical_id(spec)[: -len("Table")] + "ThrottleAlarm"] = _alarm(
            f"Requests to {table} are being throttled",
            Metrics=throttled,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    alarms["ConsolidationErrorsAlarm"] = _alarm(
        "The agentmem consolidation function failed",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": {"Ref": "ConsolidationFunction"}}],
        Statistic="Sum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    alarms["JournalGrowthAlarm"] = _alarm(
        "A capture journal has held entries the store did not take for 15 minutes",
        Namespace=namespace,
        MetricName=JOURNAL_METRIC,
        Dimensions=[{"Name": "TablePrefix", "Value": table_prefix}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=3,
        Threshold={"Ref": "JournalAlarmThreshold"},
        ComparisonOperator="GreaterThanThreshold",
    )
    return alarms


# -- parameters and outputs -------------------------------------------------------------------


def _parameters(format: str, agents: list[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "ConsolidatedAgentIds": {
            # A string, not a CommaDelimitedList: the handler reads "a,b" from one variable.
            "Type": "String",
            "Default": ",".join(agents) or config.DEFAULT_AGENT_ID,
            "AllowedPattern": f"{_AGENT}(,{_AGENT})*",
            "Description": "Agents the scheduled consolidation runs for (comma-separated ids)",
        },
        "ConsolidationSchedule": {
            "Type": "String",
            "Default": "rate(1 hour)",
            "Description": "How often consolidation runs (an EventBridge schedule expression)",
        },
        "JournalAlarmThreshold": {
            "Type": "Number",
            "Default": 1000,
            "MinValue": 0,
            "Description": "Alarm when a capture journal holds more entries than this for 15 min",
        },
        "AlarmTopicArn": {
            "Type": "String",
            "Default": "",
            "Description": "SNS topic the alarms notify (empty: alarms without notification)",
        },
    }
    if format == "cloudformation":
        parameters["CodeBucket"] = {
            "Type": "String",
            "Description": "S3 bucket holding the consolidation function's zip",
        }
        parameters["CodeKey"] = {
            "Type": "String",
            "Default": "agentmem-lambda.zip",
            "Description": "S3 key of the zip (agentmem-langchain[dynamodb] installed at its root)",
        }
    return parameters


def _outputs(agents: list[str]) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for spec in TABLES:
        logical = table_logical_id(spec)
        outputs[logical + "Name"] = {
            "Description": f"The {spec.name} table",
            "Value": {"Ref": logical},
        }
    if agents:
        for i, agent in enumerate(agents):
            outputs[agent_policy_logical_id(i) + "Arn"] = {
                "Description": f"Managed policy to attach to the role of agent {agent}",
                "Value": {"Ref": agent_policy_logical_id(i)},
            }
    else:
        outputs["AgentPolicyArn"] = {
            "Description": f"Managed policy for every agent's role (tagged {PRINCIPAL_TAG})",
            "Value": {"Ref": agent_policy_logical_id(None)},
        }
    outputs["ConsolidationFunctionName"] = {
        "Description": "The scheduled consolidation function",
        "Value": {"Ref": "ConsolidationFunction"},
    }
    outputs["DashboardName"] = {
        "Description": "The CloudWatch dashboard",
        "Value": {"Ref": "Dashboard"},
    }
    return outputs


__all__ = [
    "FORMATS",
    "HANDLER",
    "MAX_AGENTS",
    "PRINCIPAL_TAG",
    "RUNTIME",
    "agent_policy_logical_id",
    "deployment_template",
    "table_logical_id",
    "template_json",
]
