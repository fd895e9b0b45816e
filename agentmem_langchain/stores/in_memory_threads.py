"""Thread checkpoints of the in-memory store: the reference semantics of
:class:`~agentmem_langchain.stores.threads.ThreadCheckpointStore` in plain dicts."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from .threads import CheckpointKey, ThreadCheckpoint, ThreadWrite, write_order

_Thread = tuple[str, str]  # (agent_id, thread_id)
_Key = tuple[str, str]  # (checkpoint_ns, checkpoint_id)


class _ThreadsMixin:
    """The thread checkpoint operations of ``InMemoryStore`` (under the store's lock)."""

    _lock: threading.RLock
    # Made on first use: the store's __init__ knows nothing of threads.
    _thread_cps: dict[_Thread, dict[_Key, ThreadCheckpoint]]
    _thread_writes: dict[_Thread, dict[_Key, dict[tuple[str, int], ThreadWrite]]]

    @property
    def _threads(self) -> dict[_Thread, dict[_Key, ThreadCheckpoint]]:
        if "_thread_cps" not in vars(self):
            self._thread_cps = {}
        return self._thread_cps

    @property
    def _writes(self) -> dict[_Thread, dict[_Key, dict[tuple[str, int], ThreadWrite]]]:
        if "_thread_writes" not in vars(self):
            self._thread_writes = {}
        return self._thread_writes

    def put_thread_checkpoint(self, agent_id: str, checkpoint: ThreadCheckpoint) -> None:
        """Store ``checkpoint``, replacing one with the same key."""
        key = (checkpoint.checkpoint_ns, checkpoint.checkpoint_id)
        with self._lock:
            self._threads.setdefault((agent_id, checkpoint.thread_id), {})[key] = checkpoint

    def get_thread_checkpoint(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str | None
    ) -> ThreadCheckpoint | None:
        """That checkpoint, or the newest of the namespace; None if there is none."""
        if checkpoint_id is not None:
            with self._lock:
                return self._threads.get((agent_id, thread_id), {}).get(
                    (checkpoint_ns, checkpoint_id)
                )
        newest = self.list_thread_checkpoints(agent_id, thread_id, checkpoint_ns, limit=1)
        return newest[0] if newest else None

    def list_thread_checkpoints(
        self,
        agent_id: str,
        thread_id: str | None = None,
        checkpoint_ns: str | None = None,
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[ThreadCheckpoint]:
        """Checkpoints newest first, narrowed by thread, namespace and ``before``."""
        with self._lock:
            found = [
                cp
                for (agent, thread), cps in self._threads.items()
                if agent == agent_id and thread_id in (None, thread)
                for cp in cps.values()
                if checkpoint_ns in (None, cp.checkpoint_ns)
                and (before is None or cp.checkpoint_id < before)
            ]
        found.sort(key=lambda c: (c.thread_id, c.checkpoint_ns))
        found.sort(key=lambda c: c.checkpoint_id, reverse=True)
        return found if limit is None else found[:limit]

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
        """Add the writes; existing ones kept unless ``replace``."""
        with self._lock:
            stored = self._writes.setdefault((agent_id, thread_id), {})
            held = stored.setdefault((checkpoint_ns, checkpoint_id), {})
            for write in writes:
                if replace or (write.task_id, write.idx) not in held:
                    held[(write.task_id, write.idx)] = write

    def get_thread_writes(
        self, agent_id: str, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> list[ThreadWrite]:
        """The checkpoint's writes in ``(task_id, idx)`` order."""
        with self._lock:
            held = self._writes.get((agent_id, thread_id), {}).get((checkpoint_ns, checkpoint_id))
            return sorted((held or {}).values(), key=write_order)

    def delete_thread_checkpoints(
        self, agent_id: str, thread_id: str, keys: Sequence[CheckpointKey] | None = None
    ) -> None:
        """Delete checkpoints with their writes (the whole thread when ``keys`` is None)."""
        with self._lock:
            for table in (self._threads, self._writes):
                if keys is None:
                    table.pop((agent_id, thread_id), None)
                    continue
                held = table.get((agent_id, thread_id), {})
                for key in keys:
                    held.pop(key, None)

    def list_threads(self, agent_id: str) -> list[str]:
        """The agent's threads that have checkpoints, sorted."""
        with self._lock:
            return sorted(t for (a, t), cps in self._threads.items() if a == agent_id and cps)
