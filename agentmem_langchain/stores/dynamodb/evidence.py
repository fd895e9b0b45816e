"""Outcome counters (:class:`~agentmem_langchain.stores.base.Evidence`): one item per group
in the agent's partition of ``agent_state`` (sort key ``EV#<key>``), read with one
consistent GetItem and written with one conditional PutItem."""

from __future__ import annotations

from ...errors import StateConflictError
from ..base import Evidence
from ..rules import check_evidence_write
from ._core import StoreCore
from .schema import STATE, integer, n, s

_PREFIX = "EV#"


class EvidenceMixin(StoreCore):
    """The evidence methods of ``DynamoDBStore``."""

    def get_evidence(self, agent_id: str, key: str) -> Evidence | None:
        response = self._io.call(
            "GetItem",
            "get_evidence",
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s(_PREFIX + key)},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        return Evidence(agent_id, key, integer(item["version"]), item["doc"]["S"])

    def put_evidence(self, evidence: Evidence, *, expected_version: int | None) -> None:
        if expected_version is not None and evidence.version <= expected_version:
            check_evidence_write(evidence, expected_version, expected_version)
        if expected_version is None:
            condition, names = "attribute_not_exists(#sk)", {"#sk": "sk"}
            values = None
        else:
            condition, names = "#v = :v", {"#v": "version"}
            values = {":v": n(expected_version)}
        item = {
            "agent_id": s(evidence.agent_id),
            "sk": s(_PREFIX + evidence.key),
            "version": n(evidence.version),
            "doc": s(evidence.data),
        }
        try:
            self._put(
                self._state,
                "put_evidence",
                item,
                STATE,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except StateConflictError as exc:
            raise StateConflictError(
                f"evidence {evidence.key!r} of agent {evidence.agent_id!r}: expected version "
                f"{expected_version}, but another writer stored first"
            ) from (exc.__cause__ or exc)
