"""``AgentMemorySaver``: a LangGraph checkpointer over any agentmem store.

Graph checkpoints live in the agent's partition of the store, next to its decisions'
state: one SQLite file or one set of DynamoDB tables holds both. Serialization, metadata
filters and LangGraph's rules are here; the store keeps bytes
(:class:`~agentmem_langchain.stores.threads.ThreadCheckpointStore`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.serde.base import SerializerProtocol

from .. import config as settings
from ..errors import NotFoundError, ValidationError
from ..stores.threads import ThreadCheckpoint, ThreadWrite, thread_store

PRUNE_STRATEGIES = ("keep_latest", "delete")


class AgentMemorySaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer keeping each thread's checkpoints in ``store``, in the
    partition of ``agent_id`` (None: ``AGENTMEM_AGENT_ID``, else ``default``).

    Works on ``SQLiteStore``, ``DynamoDBStore`` and the in-memory store; sync and async;
    passes ``langgraph-checkpoint-conformance`` with every capability (``put``,
    ``put_writes``, ``get_tuple``, ``list``, ``delete_thread``, ``delete_for_runs``,
    ``copy_thread``, ``prune``).

    ::

        store = SQLiteStore("memory.db")
        graph = builder.compile(checkpointer=AgentMemorySaver(store, agent_id="btc-agent-001"))
        graph.invoke(inputs, {"configurable": {"thread_id": "t-1"}})
    """

    def __init__(
        self,
        store: object,
        *,
        agent_id: str | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self.store = thread_store(store)
        if agent_id is not None and (not isinstance(agent_id, str) or not agent_id.strip()):
            raise ValidationError(
                f"agent_id: must be a non-empty string, got {agent_id!r}", field="agent_id"
            )
        self.agent_id = agent_id or settings.agent_ids()[0]

    def __repr__(self) -> str:
        return f"AgentMemorySaver({self.store!r}, agent_id={self.agent_id!r})"

    # -- reading ------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (its ``checkpoint_id``), else the thread's newest
        in ``checkpoint_ns``, with its pending writes; None if there is none."""
        thread_id, ns = _thread_of(config)
        row = self.store.get_thread_checkpoint(
            self.agent_id, thread_id, ns, get_checkpoint_id(config)
        )
        return None if row is None else self._tuple(row)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of the thread in ``config`` (every thread of the agent
        when None), whose metadata has every ``filter`` item, older than ``before``'s, at
        most ``limit``."""
        thread_id, ns, wanted = None, None, None
        if config is not None:
            thread_id = config["configurable"].get("thread_id")
            ns = config["configurable"].get("checkpoint_ns")
            wanted = get_checkpoint_id(config)
        before_id = get_checkpoint_id(before) if before is not None else None
        narrowed = bool(filter) or wanted is not None
        rows = self.store.list_thread_checkpoints(
            self.agent_id,
            None if thread_id is None else str(thread_id),
            ns,
            before=before_id,
            limit=None if narrowed else limit,
        )
        returned = 0
        for row in rows:
            if limit is not None and returned >= limit:
                return
            if wanted is not None and row.checkpoint_id != wanted:
                continue
            if filter and not _matches(self._metadata(row), filter):
                continue
            returned += 1
            yield self._tuple(row)

    def _tuple(self, row: ThreadCheckpoint) -> CheckpointTuple:
        writes = self.store.get_thread_writes(
            self.agent_id, row.thread_id, row.checkpoint_ns, row.checkpoint_id
        )
        writes.sort(key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx))
        parent = None
        if row.parent_checkpoint_id is not None:
            parent = _config(row.thread_id, row.checkpoint_ns, row.parent_checkpoint_id)
        return CheckpointTuple(
            config=_config(row.thread_id, row.checkpoint_ns, row.checkpoint_id),
            checkpoint=self.serde.loads_typed((row.type, row.checkpoint)),
            metadata=self._metadata(row),
            parent_config=parent,
            pending_writes=[
                (w.task_id, w.channel, self.serde.loads_typed((w.type, w.value))) for w in writes
            ],
        )

    def _metadata(self, row: ThreadCheckpoint) -> CheckpointMetadata:
        kind, _, data = row.metadata.partition(b"\0")
        loaded: CheckpointMetadata = self.serde.loads_typed((kind.decode(), data))
        return loaded

    # -- writing ------------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store ``checkpoint`` (whole, with its channel values) as the child of the
        checkpoint ``config`` names; returns the config that names the new one."""
        thread_id, ns = _thread_of(config)
        kind, data = self.serde.dumps_typed(checkpoint)
        meta = get_serializable_checkpoint_metadata(config, metadata)
        meta_kind, meta_data = self.serde.dumps_typed(meta)
        run_id = meta.get("run_id")
        row = ThreadCheckpoint(
            thread_id=thread_id,
            checkpoint_ns=ns,
            checkpoint_id=checkpoint["id"],
            parent_checkpoint_id=config["configurable"].get("checkpoint_id"),
            run_id=None if run_id is None else str(run_id),
            type=kind,
            checkpoint=data,
            metadata=meta_kind.encode() + b"\0" + meta_data,
        )
        self.store.put_thread_checkpoint(self.agent_id, row)
        return _config(thread_id, ns, checkpoint["id"])

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Attach a task's writes to the checkpoint ``config`` names. Writes to LangGraph's
        special channels (errors, interrupts...) replace earlier ones; others are kept once."""
        thread_id, ns = _thread_of(config)
        rows = []
        for index, (channel, value) in enumerate(writes):
            kind, data = self.serde.dumps_typed(value)
            idx = WRITES_IDX_MAP.get(channel, index)
            rows.append(ThreadWrite(task_id, idx, channel, kind, data, task_path))
        self.store.put_thread_writes(
            self.agent_id,
            thread_id,
            ns,
            config["configurable"]["checkpoint_id"],
            rows,
            replace=all(channel in WRITES_IDX_MAP for channel, _ in writes),
        )

    # -- housekeeping -------------------------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of the thread, in every namespace."""
        self.store.delete_thread_checkpoints(self.agent_id, str(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (with their writes) that the given runs made, in every
        thread of the agent."""
        wanted = {str(r) for r in run_ids}
        if not wanted:
            return
        doomed: dict[str, list[tuple[str, str]]] = {}
        for row in self.store.list_thread_checkpoints(self.agent_id):
            if row.run_id in wanted:
                doomed.setdefault(row.thread_id, []).append((row.checkpoint_ns, row.checkpoint_id))
        for thread_id, keys in doomed.items():
            self.store.delete_thread_checkpoints(self.agent_id, thread_id, keys)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint of a thread, with its writes, to another thread (oldest
        first, ids kept, so the copy's parent chain is whole)."""
        rows = self.store.list_thread_checkpoints(self.agent_id, str(source_thread_id))
        for row in reversed(rows):
            writes = self.store.get_thread_writes(
                self.agent_id, row.thread_id, row.checkpoint_ns, row.checkpoint_id
            )
            copy = dataclasses.replace(row, thread_id=str(target_thread_id))
            self.store.put_thread_checkpoint(self.agent_id, copy)
            if writes:
                self.store.put_thread_writes(
                    self.agent_id,
                    copy.thread_id,
                    row.checkpoint_ns,
                    row.checkpoint_id,
                    writes,
                    replace=True,
                )

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: keep only each namespace's newest checkpoint (with its writes);
        ``delete``: delete the threads. Graphs with ``DeltaChannel`` need their history:
        do not prune them with ``keep_latest``."""
        if strategy not in PRUNE_STRATEGIES:
            raise ValidationError(
                f"strategy: must be one of {PRUNE_STRATEGIES}, got {strategy!r}",
                field="strategy",
            )
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            seen: set[str] = set()
            doomed = []
            for row in self.store.list_thread_checkpoints(self.agent_id, str(thread_id)):
                if row.checkpoint_ns in seen:
                    doomed.append((row.checkpoint_ns, row.checkpoint_id))
                seen.add(row.checkpoint_ns)
            if doomed:
                self.store.delete_thread_checkpoints(self.agent_id, str(thread_id), doomed)

    def rollback(
        self, thread_id: str, to: str | None = None, *, checkpoint_ns: str = ""
    ) -> RunnableConfig:
        """Make an earlier checkpoint the thread's newest again: checkpoint ``to`` (an id),
        else the one before the newest, is copied, without its pending writes, as a new
        checkpoint whose parent is the current newest. History is kept, as the agent state's
        ``rollback`` keeps versions; the next run of the thread continues from the restored
        state and runs again what came after it. Returns its config; ``NotFoundError`` if
        there is no such checkpoint.

        ``saver.rollback("support-42")`` undoes the last step of thread ``support-42``.
        """
        rows = self.store.list_thread_checkpoints(self.agent_id, str(thread_id), checkpoint_ns)
        if to is None:
            target = rows[1] if len(rows) > 1 else None
        else:
            target = next((r for r in rows if r.checkpoint_id == to), None)
        if target is None:
            wanted = "an earlier checkpoint" if to is None else f"checkpoint {to!r}"
            raise NotFoundError(f"thread {thread_id!r} of agent {self.agent_id!r} has no {wanted}")
        checkpoint = self.serde.loads_typed((target.type, target.checkpoint))
        checkpoint["id"] = str(uuid6(clock_seq=-2))
        metadata: dict[str, Any] = {**self._metadata(target), "source": "fork"}
        parent = _config(str(thread_id), checkpoint_ns, rows[0].checkpoint_id)
        return self.put(parent, checkpoint, cast(CheckpointMetadata, metadata), {})

    def get_next_version(self, current: str | None, channel: None) -> str:
        """A version sorting after ``current`` (a counter, then a random tie-breaker, as
        LangGraph's own savers make them)."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(current.split(".")[0])
        return f"{number + 1:032}.{random.random():016}"

    # -- async twins: the same calls, on a worker thread ----------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """:meth:`get_tuple`, off the event loop."""
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """:meth:`list`, read off the event loop."""
        found = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """:meth:`put`, off the event loop."""
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """:meth:`put_writes`, off the event loop."""
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread`, off the event loop."""
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """:meth:`delete_for_runs`, off the event loop."""
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """:meth:`copy_thread`, off the event loop."""
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """:meth:`prune`, off the event loop."""
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)


def _thread_of(config: RunnableConfig) -> tuple[str, str]:
    configurable = config.get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None or thread_id == "":
        raise ValidationError(
            "config: configurable.thread_id is required by AgentMemorySaver", field="config"
        )
    return str(thread_id), str(configurable.get("checkpoint_ns") or "")


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _matches(metadata: CheckpointMetadata, wanted: dict[str, Any]) -> bool:
    found: dict[str, Any] = dict(metadata)
    return all(key in found and found[key] == value for key, value in wanted.items())
