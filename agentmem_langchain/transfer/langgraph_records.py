"""The LangGraph data of an export: thread checkpoints and namespaced store items.

What ``AgentMemorySaver`` and ``AgentMemoryStore`` keep in an agent's partition, as lines of
the export file (format version 2) and back:

* ``thread_checkpoint``: one graph checkpoint of a thread, with its key, parent, run, the
  serializer's ``type``, the ``checkpoint`` and ``metadata`` payloads and its pending
  ``writes``; every payload is base64 text.
* ``store_item``: one item of a namespace, its JSON ``value``, times (epoch seconds), TTL and
  stored ``vectors`` (JSON text).

Every field is required. Payloads are read as strict base64 (the standard alphabet,
padded); a value or vectors that is not the JSON an ``AgentMemoryStore`` writes, or an item
larger than it allows, is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from ..errors import ValidationError
from ..models import AgentId, Model
from ..stores.namespaces import NamespaceItem, NamespaceItemStore, namespace_store
from ..stores.threads import (
    ThreadCheckpoint,
    ThreadCheckpointStore,
    ThreadWrite,
    thread_store,
    write_order,
)

LANGGRAPH_KINDS = ("thread_checkpoint", "store_item")
"""Record kinds of format version 2, written after an agent's ``KINDS`` records."""

MAX_ITEM_BYTES = 350 * 1024
"""The most bytes an item's value and vectors may hold together, as ``AgentMemoryStore``
allows (``agentmem_langchain.langgraph.store.MAX_ITEM_BYTES``)."""


def _decoded(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"not base64 text ({exc})") from None


def _encoded(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _json_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected JSON text, got {type(value).__name__}")
    try:
        loaded = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"not JSON text ({exc})") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"expected the JSON of an object, got {type(loaded).__name__}")
    return value


def _vectors_text(value: Any) -> str:
    loaded = json.loads(_json_text(value))
    for path, vector in loaded.items():
        if not isinstance(vector, list) or not all(_finite_number(x) for x in vector):
            raise ValueError(f"vectors[{path!r}] is not a list of finite numbers")
    return str(value)


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


Payload = Annotated[bytes, BeforeValidator(_decoded), PlainSerializer(_encoded, return_type=str)]
"""Bytes, written and read as base64 text."""
Text = Annotated[str, Field(strict=True)]
Key = Annotated[str, Field(strict=True, min_length=1)]
Seconds = Annotated[float, Field(strict=True, allow_inf_nan=False)]
JsonText = Annotated[str, BeforeValidator(_json_text)]
VectorsText = Annotated[str, BeforeValidator(_vectors_text)]


class ThreadWriteRecord(Model):
    """One pending write of a thread checkpoint (``ThreadWrite``)."""

    task_id: Text
    idx: Annotated[int, Field(strict=True)]
    channel: Text
    type: Text
    value: Payload
    task_path: Text

    def row(self) -> ThreadWrite:
        return ThreadWrite(
            task_id=self.task_id,
            idx=self.idx,
            channel=self.channel,
            type=self.type,
            value=self.value,
            task_path=self.task_path,
        )


class ThreadCheckpointRecord(Model):
    """A ``thread_checkpoint`` line: one checkpoint of a thread of ``agent_id``, with its
    pending writes (each ``(task_id, idx)`` once)."""

    agent_id: AgentId
    thread_id: Key
    checkpoint_ns: Text
    checkpoint_id: Key
    parent_checkpoint_id: Text | None
    run_id: Text | None
    type: Text
    checkpoint: Payload
    metadata: Payload
    writes: list[ThreadWriteRecord]

    @model_validator(mode="after")
    def _writes_once(self) -> ThreadCheckpointRecord:
        seen: set[tuple[str, int]] = set()
        for write in self.writes:
            key = (write.task_id, write.idx)
            if key in seen:
                raise ValueError(f"writes: task {write.task_id!r} idx {write.idx} comes twice")
            seen.add(key)
        return self

    @classmethod
    def of(
        cls, agent_id: str, checkpoint: ThreadCheckpoint, writes: list[ThreadWrite]
    ) -> ThreadCheckpointRecord:
        """The line of ``checkpoint`` of ``agent_id`` with its ``writes``."""
        c = checkpoint
        return cls(
            agent_id=agent_id,
            thread_id=c.thread_id,
            checkpoint_ns=c.checkpoint_ns,
            checkpoint_id=c.checkpoint_id,
            parent_checkpoint_id=c.parent_checkpoint_id,
            run_id=c.run_id,
            type=c.type,
            checkpoint=c.checkpoint,
            metadata=c.metadata,
            writes=[ThreadWriteRecord(**vars(w)) for w in writes],
        )

    def row(self) -> ThreadCheckpoint:
        return ThreadCheckpoint(
            thread_id=self.thread_id,
            checkpoint_ns=self.checkpoint_ns,
            checkpoint_id=self.checkpoint_id,
            parent_checkpoint_id=self.parent_checkpoint_id,
            run_id=self.run_id,
            type=self.type,
            checkpoint=self.checkpoint,
            metadata=self.metadata,
        )


class StoreItemRecord(Model):
    """A ``store_item`` line: one namespaced item of ``agent_id`` (``NamespaceItem``)."""

    agent_id: AgentId
    namespace: Annotated[list[Text], Field(min_length=1)]
    key: Text
    value: JsonText
    created_at: Seconds
    updated_at: Seconds
    expires_at: Seconds | None
    ttl_minutes: Seconds | None
    vectors: VectorsText | None

    @model_validator(mode="after")
    def _fits(self) -> StoreItemRecord:
        size = len(self.value.encode("utf-8")) + len((self.vectors or "").encode("utf-8"))
        if size > MAX_ITEM_BYTES:
            raise ValueError(
                f"value and vectors hold {size} bytes, over the {MAX_ITEM_BYTES} an item may hold"
            )
        return self

    @classmethod
    def of(cls, agent_id: str, item: NamespaceItem) -> StoreItemRecord:
        """The line of ``item`` of ``agent_id``."""
        return cls(agent_id=agent_id, **{**vars(item), "namespace": list(item.namespace)})

    def row(self) -> NamespaceItem:
        return NamespaceItem(
            namespace=tuple(self.namespace),
            key=self.key,
            value=self.value,
            created_at=self.created_at,
            updated_at=self.updated_at,
            expires_at=self.expires_at,
            ttl_minutes=self.ttl_minutes,
            vectors=self.vectors,
        )


def langgraph_records(store: object, agent_id: str, now: float) -> Iterator[tuple[str, Model]]:
    """The LangGraph data of ``agent_id`` in ``store``: each thread's checkpoints oldest
    first, with their writes, thread by thread; then every item not expired at ``now``
    (epoch seconds), by namespace and key. A store that keeps neither yields nothing."""
    if isinstance(store, ThreadCheckpointStore):
        for thread_id in store.list_threads(agent_id):
            for checkpoint in reversed(store.list_thread_checkpoints(agent_id, thread_id)):
                writes = store.get_thread_writes(
                    agent_id, thread_id, checkpoint.checkpoint_ns, checkpoint.checkpoint_id
                )
                yield "thread_checkpoint", ThreadCheckpointRecord.of(agent_id, checkpoint, writes)
    if isinstance(store, NamespaceItemStore):
        for item in store.search_namespace_items(agent_id, ()):
            if item.expires_at is None or item.expires_at > now:
                yield "store_item", StoreItemRecord.of(agent_id, item)


def check_target(store: object, kinds: set[str]) -> None:
    """``ValidationError`` if ``store`` cannot keep records of ``kinds``."""
    if "thread_checkpoint" in kinds:
        thread_store(store)
    if "store_item" in kinds:
        namespace_store(store)


def put_thread_checkpoint(store: object, record: ThreadCheckpointRecord) -> bool:
    """Store the checkpoint and its writes; False (nothing written) if ``store`` holds both
    as they are. A checkpoint with the same key is replaced, a write with the same
    ``(task_id, idx)`` too; other writes already there stay."""
    threads = thread_store(store)
    row, agent = record.row(), record.agent_id
    key = (row.thread_id, row.checkpoint_ns, row.checkpoint_id)
    current = threads.get_thread_checkpoint(agent, *key)
    held = {write_order(w): w for w in threads.get_thread_writes(agent, *key)}
    missing = [w.row() for w in record.writes if held.get((w.task_id, w.idx)) != w.row()]
    if current == row and not missing:
        return False
    if current != row:
        threads.put_thread_checkpoint(agent, row)
    if missing:
        threads.put_thread_writes(agent, *key, missing, replace=True)
    return True


def put_store_item(store: object, record: StoreItemRecord) -> bool:
    """Store the item; False (nothing written) if ``store`` holds it already, or an item
    under its namespace and key updated at the same time or later."""
    items = namespace_store(store)
    item = record.row()
    current = items.get_namespace_item(record.agent_id, item.namespace, item.key)
    if current is not None and (current == item or current.updated_at >= item.updated_at):
        return False
    items.put_namespace_item(record.agent_id, item)
    return True


def refuse_before_version_2(number: int, kind: str, version: int) -> None:
    """``ValidationError`` for a LangGraph line in a file of format version 1."""
    if kind in LANGGRAPH_KINDS and version < 2:
        raise ValidationError(
            f"line {number}: a {kind} line needs format_version 2 or later "
            f"(the header says {version})",
            field="kind",
            value=kind,
        )


__all__ = [
    "LANGGRAPH_KINDS",
    "MAX_ITEM_BYTES",
    "StoreItemRecord",
    "ThreadCheckpointRecord",
    "ThreadWriteRecord",
    "check_target",
    "langgraph_records",
    "put_store_item",
    "put_thread_checkpoint",
    "refuse_before_version_2",
]
