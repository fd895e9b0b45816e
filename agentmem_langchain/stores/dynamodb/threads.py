"""Thread checkpoints of LangGraph graphs in the ``agent_state`` table (``docs/dynamodb.md``).

Every item is in the agent's partition (``agent_id``), so ``agentmem iam-policy`` covers
them; sort keys (``#`` and ``%`` in ids escaped as ``%23``/``%25``):

* ``THREAD#{thread}#{ns}#{checkpoint_id}``: the checkpoint's head, the commit point.
* ``TWRITE#{thread}#{ns}#{checkpoint_id}#{task_id}#{idx}``: one pending write.
* ``TPART#{thread}#{ns}#{checkpoint_id}#{rev}#{n}``: part ``n`` of a payload too large for
  one item (DynamoDB's limit is 400 KB); ``rev`` is unique to the write that made it.

A large checkpoint's parts are written first, then its head, conditionally: a new head only
where none is, a replacement only over the head it read. A reader therefore sees a whole
checkpoint or none, and two writers never interleave one; parts of a replaced head are
deleted after the swap.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from ...errors import StateConflictError, StoreUnavailableError
from ..threads import CheckpointKey, ThreadCheckpoint, ThreadWrite, write_order
from . import schema
from ._core import StoreCore
from .schema import Item, n, s

PART_BYTES = 300 * 1024
"""Payloads up to this size stay in their item; larger ones are split into parts of it."""

_READ_ATTEMPTS = 3


def _esc(value: str) -> str:
    return value.replace("%", "%25").replace("#", "%23")


def _key(kind: str, *parts: str) -> str:
    return "#".join([kind, *(_esc(p) for p in parts)])


def _prefix(kind: str, *parts: str) -> str:
    return _key(kind, *parts) + "#"


class ThreadsMixin(StoreCore):
    """The thread checkpoint methods of ``DynamoDBStore`` (table ``agent_state``)."""

    # -- checkpoints ----------------------------------------------------------------------

    def put_thread_checkpoint(self, agent_id: str, checkpoint: ThreadCheckpoint) -> None:
        """Store ``checkpoint``: parts first, then the head, conditionally (see module)."""
        c = checkpoint
        sk = _key("THREAD", c.thread_id, c.checkpoint_ns, c.checkpoint_id)
        item: Item = {
            "agent_id": s(agent_id),
            "sk": s(sk),
            "thread_id": s(c.thread_id),
            "ns": s(c.checkpoint_ns),
            "cid": s(c.checkpoint_id),
            "type": s(c.type),
            "meta": {"B": c.metadata},
        }
        if c.parent_checkpoint_id is not None:
            item["parent"] = s(c.parent_checkpoint_id)
        if c.run_id is not None:
            item["run_id"] = s(c.run_id)
        self._write_payload(agent_id, item, c.checkpoint, "put_thread_checkpoint")
        try:
            old = self._swap_head(agent_id, item)
        except BaseException:
            self._delete_parts(agent_id, item, "put_thread_checkpoint")
            raise
        if old is not None and old.get("parts"):
            self._delete_parts(agent_id, old, "put_thread_checkpoint")

    def _swap_head(self, agent_id: str, item: Item) -> Item | None:
        """Put the head where none is, else over the head read just before; the old head."""
        try:
            self._put_item("put_thread_checkpoint", item, "attribute_not_exists(#sk)", {})
            return None
        except StateConflictError:
            pass
        old = self._get_item(agent_id, item["sk"]["S"], "put_thread_checkpoint")
        if old is None:  # deleted meanwhile: put it where none is, once more
            self._put_item("put_thread_checkpoint", item, "attribute_not_exists(#sk)", {})
            return None
        self._put_item("put_thread_checkpoint", item, "#rev = :rev", {":rev": old["rev"]})
        return old

    def get_thread_checkpoint(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str | None
    ) -> ThreadCheckpoint | None:
        """That checkpoint, or the newest of the namespace; None if there is none."""
        for _ in range(_READ_ATTEMPTS):
            if checkpoint_id is not None:
                sk = _key("THREAD", thread_id, checkpoint_ns, checkpoint_id)
                head = self._get_item(agent_id, sk, "get_thread_checkpoint")
            else:
                newest = self._heads(agent_id, _prefix("THREAD", thread_id, checkpoint_ns), limit=1)
                head = next(newest, None)
            if head is None:
                return None
            found = self._checkpoint_from(agent_id, head)
            if found is not None:
                return found
        raise StoreUnavailableError(
            f"get_thread_checkpoint: thread {thread_id!r} kept changing while it was read"
        )

    def list_thread_checkpoints(
        self,
        agent_id: str,
        thread_id: str | None = None,
        checkpoint_ns: str | None = None,
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[ThreadCheckpoint]:
        """Checkpoints newest first: one Query of the partition's ``THREAD#`` range."""
        if thread_id is not None and checkpoint_ns is not None:
            prefix = _prefix("THREAD", thread_id, checkpoint_ns)
            ordered = True  # one namespace: the sort key orders by checkpoint id
        else:
            prefix = "THREAD#" if thread_id is None else _prefix("THREAD", thread_id)
            ordered = False
        heads = self._heads(
            agent_id,
            prefix,
            before=before if ordered else None,
            limit=limit if ordered else None,
        )
        rows: list[ThreadCheckpoint] = []
        for head in heads:
            if checkpoint_ns is not None and head["ns"]["S"] != checkpoint_ns:
                continue
            if before is not None and head["cid"]["S"] >= before:
                continue
            row = self._checkpoint_from(agent_id, head)
            if row is not None:  # replaced while listing: the old version is gone
                rows.append(row)
        if not ordered:
            rows.sort(key=lambda c: (c.thread_id, c.checkpoint_ns))
            rows.sort(key=lambda c: c.checkpoint_id, reverse=True)
        return rows if limit is None else rows[:limit]

    def _heads(
        self,
        agent_id: str,
        prefix: str,
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Item]:
        """Heads under ``prefix``, newest first; below ``prefix + before`` if given."""
        params: dict[str, Any] = {
            "TableName": self._state,
            "ExpressionAttributeNames": {"#pk": "agent_id", "#sk": "sk"},
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if before is None:
            params["KeyConditionExpression"] = "#pk = :pk AND begins_with(#sk, :p)"
            params["ExpressionAttributeValues"] = {":pk": s(agent_id), ":p": s(prefix)}
        else:
            # Every key between the prefix and prefix+before starts with the prefix.
            params["KeyConditionExpression"] = "#pk = :pk AND #sk BETWEEN :p AND :hi"
            params["ExpressionAttributeValues"] = {
                ":pk": s(agent_id),
                ":p": s(prefix),
                ":hi": s(prefix + _esc(before)),
            }
        if limit is not None:
            params["Limit"] = limit + (before is not None)
        given = 0
        for page in self._io.query_pages("list_thread_checkpoints", **params):
            for head in page.get("Items", []):
                if before is not None and head["cid"]["S"] >= before:
                    continue
                yield head
                given += 1
                if limit is not None and given >= limit:
                    return

    def _checkpoint_from(self, agent_id: str, head: Item) -> ThreadCheckpoint | None:
        payload = self._read_payload(agent_id, head, "get_thread_checkpoint")
        if payload is None:
            return None
        return ThreadCheckpoint(
            thread_id=head["thread_id"]["S"],
            checkpoint_ns=head["ns"]["S"],
            checkpoint_id=head["cid"]["S"],
            parent_checkpoint_id=head["parent"]["S"] if "parent" in head else None,
            run_id=head["run_id"]["S"] if "run_id" in head else None,
            type=head["type"]["S"],
            checkpoint=payload,
            metadata=bytes(head["meta"]["B"]),
        )

    # -- writes ---------------------------------------------------------------------------

    def put_thread_writes(
        self,
        agent_id: str,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        writes: Sequence[ThreadWrite],
        *,
        replace: bool,
    ) -> None:
        """One conditional PutItem per write (kept if stored already, unless ``replace``)."""
        for w in writes:
            sk = _key("TWRITE", thread_id, checkpoint_ns, checkpoint_id, w.task_id, str(w.idx))
            item: Item = {
                "agent_id": s(agent_id),
                "sk": s(sk),
                "thread_id": s(thread_id),
                "ns": s(checkpoint_ns),
                "cid": s(checkpoint_id),
                "task_id": s(w.task_id),
                "idx": n(w.idx),
                "channel": s(w.channel),
                "type": s(w.type),
                "task_path": s(w.task_path),
            }
            self._write_payload(agent_id, item, w.value, "put_thread_writes")
            if replace:
                self._put_item("put_thread_writes", item, None, {})
                continue
            try:
                self._put_item("put_thread_writes", item, "attribute_not_exists(#sk)", {})
            except StateConflictError:
                self._delete_parts(agent_id, item, "put_thread_writes")  # the stored one stays

    def get_thread_writes(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> list[ThreadWrite]:
        """The checkpoint's writes in ``(task_id, idx)`` order."""
        prefix = _prefix("TWRITE", thread_id, checkpoint_ns, checkpoint_id)
        found = []
        for item in self._under(agent_id, prefix, "get_thread_writes"):
            value = self._read_payload(agent_id, item, "get_thread_writes")
            if value is None:
                continue
            found.append(
                ThreadWrite(
                    task_id=item["task_id"]["S"],
                    idx=schema.integer(item["idx"]),
                    channel=item["channel"]["S"],
                    type=item["type"]["S"],
                    value=value,
                    task_path=item["task_path"]["S"],
                )
            )
        return sorted(found, key=write_order)

    # -- deleting and listing threads -------------------------------------------------------

    def delete_thread_checkpoints(
        self, agent_id: str, thread_id: str, keys: Sequence[CheckpointKey] | None = None
    ) -> None:
        """Delete heads first (readers stop seeing them), then their writes and parts."""
        op = "delete_thread_checkpoints"
        if keys is None:
            prefixes = [_prefix(kind, thread_id) for kind in ("THREAD", "TWRITE", "TPART")]
        else:
            prefixes = [
                _prefix(kind, thread_id, ns, cid)
                for kind in ("TWRITE", "TPART")
                for ns, cid in keys
            ]
            heads = [_key("THREAD", thread_id, ns, cid) for ns, cid in keys]
            self._delete_keys(agent_id, heads, op)
        for prefix in prefixes:
            sks = [item["sk"]["S"] for item in self._under(agent_id, prefix, op, keys_only=True)]
            self._delete_keys(agent_id, sks, op)

    def list_threads(self, agent_id: str) -> list[str]:
        """The agent's threads that have checkpoints (a Query of its ``THREAD#`` heads)."""
        heads = self._under(agent_id, "THREAD#", "list_threads", project="thread_id")
        return sorted({item["thread_id"]["S"] for item in heads})

    # -- payloads, split across items when large --------------------------------------------

    def _write_payload(self, agent_id: str, item: Item, payload: bytes, op: str) -> None:
        """Put ``payload`` in ``item`` (``body``), or in parts written now (``parts``)."""
        item["rev"] = s(uuid.uuid4().hex)
        if len(payload) <= PART_BYTES:
            item["body"] = {"B": payload}
            return
        chunks = [payload[i : i + PART_BYTES] for i in range(0, len(payload), PART_BYTES)]
        base = _part_prefix(item)
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "agent_id": s(agent_id),
                        "sk": s(f"{base}{i:05d}"),
                        "body": {"B": chunk},
                    }
                }
            }
            for i, chunk in enumerate(chunks)
        ]
        self._io.batch_write(self._state, requests, op)
        item["parts"] = n(len(chunks))

    def _read_payload(self, agent_id: str, item: Item, op: str) -> bytes | None:
        """The item's payload; None if its parts are gone (the item was replaced)."""
        if "body" in item:
            return bytes(item["body"]["B"])
        expected = schema.integer(item["parts"])
        parts = list(self._under(agent_id, _part_prefix(item), op))
        if len(parts) != expected:
            return None
        return b"".join(bytes(p["body"]["B"]) for p in parts)

    def _delete_parts(self, agent_id: str, item: Item, op: str) -> None:
        if "parts" not in item:
            return
        sks = [p["sk"]["S"] for p in self._under(agent_id, _part_prefix(item), op, keys_only=True)]
        self._delete_keys(agent_id, sks, op)

    # -- IO -------------------------------------------------------------------------------

    def _put_item(self, op: str, item: Item, condition: str | None, values: dict[str, Any]) -> None:
        extra: dict[str, Any] = {}
        if condition is not None:
            names = {"#sk": "sk"} if "#sk" in condition else {"#rev": "rev"}
            extra = {"ConditionExpression": condition, "ExpressionAttributeNames": names}
            if values:
                extra["ExpressionAttributeValues"] = values
        self._put(self._state, op, item, schema.STATE, **extra)

    def _get_item(self, agent_id: str, sk: str, op: str) -> Item | None:
        response = self._io.call(
            "GetItem",
            op,
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s(sk)},
            ConsistentRead=True,
        )
        found: Item | None = response.get("Item")
        return found

    def _delete_keys(self, agent_id: str, sks: Sequence[str], op: str) -> None:
        if not sks:
            return
        requests = [
            {"DeleteRequest": {"Key": {"agent_id": s(agent_id), "sk": s(sk)}}} for sk in sks
        ]
        self._io.batch_write(self._state, requests, op)


def _part_prefix(item: Item) -> str:
    rev: str = item["rev"]["S"]
    return _prefix("TPART", item["thread_id"]["S"], item["ns"]["S"], item["cid"]["S"]) + rev + "#"
