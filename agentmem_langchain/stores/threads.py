"""Thread checkpoints: the primitives a LangGraph checkpointer needs from a store.

A thread checkpoint is an opaque, already serialized graph checkpoint kept in one agent's
partition, keyed by ``(thread_id, checkpoint_ns, checkpoint_id)``; its pending writes hang
off the same key. Backends store and return bytes: serialization, metadata filters and the
LangGraph semantics live once, above them, in ``agentmem_langchain.langgraph``. Stores here
never import LangGraph.

``SQLiteStore``, ``DynamoDBStore`` and the in-memory store implement
:class:`ThreadCheckpointStore`; ``isinstance(store, ThreadCheckpointStore)`` tells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import ValidationError


@dataclass(frozen=True)
class ThreadCheckpoint:
    """One stored graph checkpoint: its key, its parent, the run that made it and two
    serialized payloads (``type`` names the serializer's format of ``checkpoint``)."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    run_id: str | None
    type: str
    checkpoint: bytes
    metadata: bytes


@dataclass(frozen=True)
class ThreadWrite:
    """One pending write of a task against a checkpoint (``idx`` negative for the special
    channels LangGraph replaces rather than appends)."""

    task_id: str
    idx: int
    channel: str
    type: str
    value: bytes
    task_path: str = ""


CheckpointKey = tuple[str, str]
"""``(checkpoint_ns, checkpoint_id)`` inside one thread."""


@runtime_checkable
class ThreadCheckpointStore(Protocol):
    """Where thread checkpoints live: in the partition of ``agent_id``.

    Listing is newest first by ``checkpoint_id`` (LangGraph's ids sort by time). A
    checkpoint is stored whole or not at all: a reader never sees half of one.
    """

    def put_thread_checkpoint(self, agent_id: str, checkpoint: ThreadCheckpoint) -> None:
        """Store ``checkpoint``, replacing one with the same key."""
        ...

    def get_thread_checkpoint(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str | None
    ) -> ThreadCheckpoint | None:
        """That checkpoint, or the newest of the thread's namespace when ``checkpoint_id``
        is None; None if there is none."""
        ...

    def list_thread_checkpoints(
        self,
        agent_id: str,
        thread_id: str | None = None,
        checkpoint_ns: str | None = None,
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[ThreadCheckpoint]:
        """Checkpoints newest first: of every thread of the agent when ``thread_id`` is
        None, of every namespace when ``checkpoint_ns`` is None; only ids below ``before``;
        at most ``limit``."""
        ...

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
        """Add ``writes`` to a checkpoint; a write whose ``(task_id, idx)`` is stored already
        is kept as it was unless ``replace``."""
        ...

    def get_thread_writes(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> list[ThreadWrite]:
        """The checkpoint's pending writes, in ``(task_id, idx)`` order."""
        ...

    def delete_thread_checkpoints(
        self, agent_id: str, thread_id: str, keys: Sequence[CheckpointKey] | None = None
    ) -> None:
        """Delete the named checkpoints of the thread with their writes, or the whole
        thread when ``keys`` is None. Missing ones are no error."""
        ...

    def list_threads(self, agent_id: str) -> list[str]:
        """The ids of the agent's threads that have checkpoints, sorted."""
        ...


def thread_store(store: object) -> ThreadCheckpointStore:
    """``store`` as a :class:`ThreadCheckpointStore`, or ``ValidationError`` naming it."""
    if not isinstance(store, ThreadCheckpointStore):
        raise ValidationError(
            f"store: {type(store).__name__} cannot keep thread checkpoints", field="store"
        )
    return store


def write_order(write: ThreadWrite) -> tuple[str, int]:
    """The order backends return a checkpoint's writes in."""
    return (write.task_id, write.idx)
