"""Deploying agentmem on AWS: the CloudFormation/SAM template generated from the schema.

- :mod:`.template` — :func:`deployment_template` and :func:`template_json`
  (``agentmem deploy template``).
"""

from __future__ import annotations

from .template import (
    FORMATS,
    HANDLER,
    MAX_AGENTS,
    PRINCIPAL_TAG,
    RUNTIME,
    agent_policy_logical_id,
    deployment_template,
    table_logical_id,
    template_json,
)

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
