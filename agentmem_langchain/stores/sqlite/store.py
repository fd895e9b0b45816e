"""``SQLiteStore``: the operations of each area combined, plus opening, closing, identity
and ``purge_expired``."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from ... import _checks as check
from ...models import utcnow
from .._common import epoch_seconds, store_key, to_micros
from .connection import _resolve_path, _ThreadConnections, _translated
from .decisions import _DecisionsMixin
from .evidence import _EvidenceMixin
from .namespaces import _NamespacesMixin
from .patterns import _PatternsMixin
from .registry import _RegistryMixin
from .schema import _migrate
from .signals import _SignalsMixin
from .state import _StateMixin
from .threads import _ThreadsMixin


class SQLiteStore(
    _DecisionsMixin,
    _PatternsMixin,
    _StateMixin,
    _SignalsMixin,
    _RegistryMixin,
    _EvidenceMixin,
    _ThreadsMixin,
    _NamespacesMixin,
):
    """A ``MemoryStore`` in one SQLite file, safe for many threads and several processes.

    ``path`` defaults to ``$AGENTMEM_SQLITE_PATH``, else ``.agentmem/memory.db``; missing parent
    directories are created. ``clock`` is the store's "now" (TTL, leases, ``updated_at``);
    ``timeout`` (default 5) is how many seconds a write waits for another writer before it
    fails. The schema is created or migrated on construction. A file or directory that
    cannot be opened or written raises ``StoreUnavailableError``.

    ::

        with SQLiteStore(tmp_path / "memory.db") as store:
            store.put_decision(DecisionRecord(agent_id="a1", decision_type="tool_call"))
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        timeout: float = 5.0,
    ) -> None:
        check.path(path, "path")
        check.function(clock, "clock", optional=False)
        check.real(timeout, "timeout", low=0)
        self._clock = clock
        with _translated("open"):
            self.path = _resolve_path(path)
            self._connections = _ThreadConnections(self.path, timeout)
            try:
                _migrate(self._connections.get(), self.path)
            except BaseException:
                self._connections.close_all()
                raise

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @property
    def identity(self) -> str:
        """The file, for messages: ``sqlite:///abs/path/memory.db`` (symlinks resolved)."""
        return f"sqlite://{os.path.realpath(self.path)}"

    @property
    def journal_key(self) -> str:
        """``sqlite-`` and 12 hex digits of the resolved path: the same for this file in
        every process, however the path was spelt."""
        return store_key("sqlite", os.path.realpath(self.path))

    @property
    def available(self) -> bool:
        """False once closed. A locked file is contention, not an outage: still True."""
        return not self._connections.closed

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- housekeeping ---------------------------------------------------------------------

    def purge_expired(self) -> int:
        """Delete expired decisions and signals (with their deliveries); returns how many
        decisions and signals were deleted."""
        now = self._clock()
        now_us = to_micros(now)
        with self._transaction("purge_expired", write=True) as conn:
            decisions = conn.execute(
                "DELETE FROM decisions WHERE ttl <= ?", (epoch_seconds(now),)
            ).rowcount
            conn.execute(
                """DELETE FROM signal_deliveries WHERE signal_id IN
                    (SELECT signal_id FROM signals WHERE expires_at <= ?)""",
                (now_us,),
            )
            signals = conn.execute("DELETE FROM signals WHERE expires_at <= ?", (now_us,))
            return decisions + signals.rowcount

    def close(self) -> None:
        """Close every connection; calling it twice is harmless. Later calls raise
        ``StoreUnavailableError``."""
        self._connections.close_all()
