"""The memory a handler made without one records into."""

from __future__ import annotations

import threading

from .. import config
from ..decorators import default_memory as _decorators_memory
from ..memory import MemoryManager

_memory_lock = threading.Lock()
_memories: dict[tuple[object, ...], MemoryManager] = {}


def default_memory() -> MemoryManager:
    """The memory of handlers made without one (``AGENTMEM_TRACING``'s, :func:`instrument`'s).

    :func:`~agentmem_langchain.decorators.set_default_memory`'s memory if it is set (the one
    decorated functions use), else ``MemoryManager(config.agent_id())`` on the store of
    ``stores.open_store()``, opened once per agent and store settings.
    """
    memory = _decorators_memory()
    if memory is not None:
        return memory
    key = (
        config.agent_id(),
        config.store_kind(),
        config.resolve_sqlite_path().absolute(),
        config.dynamodb_endpoint(),
        config.table_prefix(),
        config.aws_region(),
    )
    with _memory_lock:
        memory = _memories.get(key)
        if memory is None:
            memory = _memories[key] = MemoryManager(config.agent_id())
    return memory


__all__ = ["default_memory"]
