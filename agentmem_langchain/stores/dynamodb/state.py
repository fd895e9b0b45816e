"""Agent state and checkpoints: optimistic saves, snapshots, rollback."""

from __future__ import annotations

from ...errors import NotFoundError, StateConflictError
from ...models import AgentState, StateCheckpoint
from .._common import check_snapshot
from ..rules import stamp_state, state_version_conflict
from . import schema
from ._core import StoreCore
from .schema import Item, n, s


class StateMixin(StoreCore):
    """The state and checkpoint methods of ``DynamoDBStore`` (table ``agent_state``)."""

    def save_state(self, state: AgentState) -> AgentState:
        stored = stamp_state(state, state.version + 1, self._clock())
        if state.version == 0:
            condition, names, values = "attribute_not_exists(#sk)", {"#sk": "sk"}, None
        else:
            condition, names = "#v = :v", {"#v": "version"}
            values = {":v": n(state.version)}
        try:
            self._put(
                self._state,
                "save_state",
                _state_item(stored, "STATE"),
                schema.STATE,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except StateConflictError as exc:
            # The condition failed: read what is stored now, for the message every backend gives.
            current = self.load_state(state.agent_id)
            found = current.version if current is not None else 0
            raise state_version_conflict(state.agent_id, found, state.version) from (
                exc.__cause__ or exc
            )
        return stored

    def load_state(self, agent_id: str) -> AgentState | None:
        response = self._io.call(
            "GetItem",
            "load_state",
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s("STATE")},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return AgentState.model_validate_json(item["doc"]["S"]) if item else None

    def create_checkpoint(self, agent_id: str, name: str | None = None) -> StateCheckpoint:
        state = self.load_state(agent_id)
        if state is None:
            raise NotFoundError(f"agent {agent_id} has no saved state to checkpoint")
        checkpoint = StateCheckpoint(
            agent_id=agent_id, name=name, created_at=self._clock(), state=state
        )
        self._append_checkpoint("create_checkpoint", checkpoint)
        return checkpoint

    def _append_checkpoint(self, op: str, checkpoint: StateCheckpoint) -> None:
        # A counter orders checkpoints even when the clock does not move between them.
        agent_id = checkpoint.agent_id
        response = self._io.call(
            "UpdateItem",
            op,
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s("CPSEQ")},
            UpdateExpression="ADD #n :one",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": n(1)},
            ReturnValues="UPDATED_NEW",
        )
        seq = schema.integer(response["Attributes"]["n"])
        item = {
            "agent_id": s(agent_id),
            "sk": s(f"CP#{seq:012d}"),
            "doc": s(checkpoint.model_dump_json()),
        }
        self._put(
            self._state,
            op,
            item,
            schema.STATE,
            ConditionExpression="attribute_not_exists(#sk)",  # never over another checkpoint
            ExpressionAttributeNames={"#sk": "sk"},
        )

    def list_checkpoints(self, agent_id: str) -> list[StateCheckpoint]:
        pages = self._io.query_pages(
            "list_checkpoints",
            TableName=self._state,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :cp)",
            ExpressionAttributeNames={"#pk": "agent_id", "#sk": "sk"},
            ExpressionAttributeValues={":pk": s(agent_id), ":cp": s("CP#")},
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        return [
            StateCheckpoint.model_validate_json(i["doc"]["S"])
            for page in pages
            for i in page.get("Items", [])
        ]

    def rollback(self, agent_id: str, to: str | None = None) -> AgentState:
        checkpoints = self.list_checkpoints(agent_id)
        chosen = next(
            (c for c in checkpoints if to is None or to in (c.checkpoint_id, c.name)), None
        )
        if chosen is None:
            raise NotFoundError(f"agent {agent_id} has no checkpoint {to or ''}".rstrip())
        current = self.load_state(agent_id)
        version = current.version if current else 0
        return self.save_state(chosen.state.model_copy(update={"version": version}))

    def put_state_snapshot(self, state: AgentState) -> bool:
        check_snapshot(state)
        try:
            self._put(
                self._state,
                "put_state_snapshot",
                _state_item(state, "STATE"),
                schema.STATE,
                ConditionExpression="attribute_not_exists(#sk) OR #v < :v",
                ExpressionAttributeNames={"#sk": "sk", "#v": "version"},
                ExpressionAttributeValues={":v": n(state.version)},
            )
        except StateConflictError:
            return False  # the stored state is at this version or a newer one
        return True

    def put_checkpoint(self, checkpoint: StateCheckpoint) -> bool:
        # Checkpoint items are keyed by a counter, not by id, so the id is looked up first
        # (a consistent read); two writers of one checkpoint at the same moment could both
        # append it, which an import, run once at a time, never does.
        existing = self.list_checkpoints(checkpoint.agent_id)
        if any(c.checkpoint_id == checkpoint.checkpoint_id for c in existing):
            return False
        self._append_checkpoint("put_checkpoint", checkpoint)
        return True


def _state_item(state: AgentState, sk: str) -> Item:
    return {
        "agent_id": s(state.agent_id),
        "sk": s(sk),
        "doc": s(state.model_dump_json()),
        "version": n(state.version),
    }
