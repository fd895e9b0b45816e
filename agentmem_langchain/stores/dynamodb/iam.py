"""A least-privilege IAM policy for one agent's DynamoDB credentials.

>>> policy = iam_policy("btc-agent-001")
>>> policy["Statement"][0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
['btc-agent-001', 'btc-agent-001#*']

Every item and every index partition the store writes or reads for an agent is keyed by the
agent id, alone or followed by ``#`` (``btc-agent-001#tool_call`` in DecisionTypeIndex); an
agent id never contains ``#``, so ``ID#*`` matches that agent's partitions and nobody else's.
``dynamodb:LeadingKeys`` checks the partition key of the table or index a request names, so
with this policy an agent can touch only its own partitions, plus:

* SharedPatternIndex partitions keyed by its id (covered by the first statement): the
  patterns other agents shared with it, projected whole, so the owner's partition is never
  read;
* TargetAgentIndex partitions keyed by its id or ``#broadcast``: signals sent to it or to
  everyone (projected whole, like shared patterns). Its claims and acknowledgements are
  items in its own partition, and the signals it publishes live in its own partition too;
* the ``#agents`` partition of AgentRegistryIndex, with ``Query`` only: the agent registry
  (``list_agents``), read-only. An agent's own registration is the item
  (``ID``, ``REGISTRATION``) of its own state partition, so it registers, heartbeats and
  deregisters itself under the first statement and cannot write another agent's
  registration (IAM checks a write's table partition key, never the index keys it sets).
  Every agent can read every registration's capabilities and metadata, so keep secrets out
  of ``metadata``. ``get_agent`` is a consistent ``GetItem`` and works for the agent's own
  id only; other agents are found with ``list_agents``.

Table administration (CreateTable, UpdateTimeToLive) is not included: run ``agentmem init``
with other credentials.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic

from ... import config
from ...errors import ValidationError
from ...models import AgentId
from .schema import BROADCAST, REGISTRY, SIGNALS, STATE, TABLES, TableNames

#: The data-plane calls ``DynamoDBStore`` makes (it never scans).
ITEM_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)


def iam_policy(
    agent_id: str,
    *,
    table_prefix: str = config.DEFAULT_TABLE_PREFIX,
    region: str = "*",
    account_id: str = "*",
) -> dict[str, Any]:
    """The IAM policy document (a dict, ready for ``json.dumps``) for ``agent_id``.

    ``region`` and ``account_id`` narrow the table ARNs; ``*`` matches any. Each value is
    checked, so no wildcard or ARN separator slips into a resource: ``table_prefix`` holds
    only the characters of a DynamoDB table name (letters, digits, ``_ . -``), ``region``
    looks like ``eu-west-1`` and ``account_id`` is 12 digits; else ``ValidationError``.
    """
    try:
        pydantic.TypeAdapter(AgentId).validate_python(agent_id)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            f"agent_id: {agent_id!r} is not a valid agent id", field="agent_id", value=agent_id
        ) from exc
    _check("table_prefix", table_prefix, _PREFIX, "letters, digits, '_', '.' and '-' only")
    _check("region", region, _REGION, "'*' or a region such as 'eu-west-1'")
    _check("account_id", account_id, _ACCOUNT, "'*' or 12 digits")
    names = TableNames(table_prefix)

    def arn(table: str, index: str | None = None) -> str:
        base = f"arn:aws:dynamodb:{region}:{account_id}:table/{table}"
        return f"{base}/index/{index}" if index else base

    own_resources = []
    for spec in TABLES:
        own_resources.append(arn(names.physical(spec)))
        own_resources += [arn(names.physical(spec), i.name) for i in spec.indexes]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnPartitionsOnly",
                "Effect": "Allow",
                "Action": list(ITEM_ACTIONS),
                "Resource": own_resources,
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [agent_id, f"{agent_id}#*"]}
                },
            },
            {
                "Sid": "BroadcastSignals",
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": [arn(names.physical(SIGNALS), SIGNALS.indexes[0].name)],
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [BROADCAST]}},
            },
            {
                "Sid": "AgentRegistryReadOnly",
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": [arn(names.physical(STATE), STATE.index("AgentRegistryIndex").name)],
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [REGISTRY]}},
            },
        ],
    }


# A DynamoDB table name is 3-255 of [a-zA-Z0-9_.-]; the longest suffix is under 30.
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,200}")
_REGION = re.compile(r"\*|[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
_ACCOUNT = re.compile(r"\*|[0-9]{12}")


def _check(name: str, value: object, pattern: re.Pattern[str], expected: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValidationError(
            f"{name}: expected {expected}, got {value!r}"[:300], field=name, value=value
        )


__all__ = ["ITEM_ACTIONS", "iam_policy"]
