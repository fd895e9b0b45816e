"""What every part of ``SQLiteStore`` shares: the transaction helper of ``_StoreBase`` and
the paging helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, TypeVar

from ...errors import ValidationError
from ...models import Model, Page
from .._common import decode_cursor, encode_cursor, epoch_seconds
from .connection import _begun, _ThreadConnections, _translated

M = TypeVar("M", bound=Model)

_MADE_ON_FIRST_USE = ("_threads_ready", "_namespaces_ready")
"""The flags of the parts whose tables are created on first use (True once made)."""


class _StoreBase:
    """The state the store's parts share: the clock, the file, its connections; and the
    transaction every operation runs in."""

    path: str
    _clock: Callable[[], datetime]
    _connections: _ThreadConnections

    @contextmanager
    def _transaction(self, op: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection; ``write`` takes the write lock first."""
        with _translated(op):
            conn = self._connections.get()
            with _begun(conn, "IMMEDIATE" if write else "DEFERRED"):
                yield conn

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every write this thread makes inside the block is one transaction: all kept when
        the block ends, none if it raises. Holds the file's write lock meanwhile. Tables made
        on first use (thread checkpoints, namespaced items) are part of it: rolled back, they
        are made again on their next use."""
        with _translated("atomic"):
            conn = self._connections.get()
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            for flag in _MADE_ON_FIRST_USE:
                vars(self).pop(flag, None)
            raise
        with _translated("atomic: commit"):
            conn.execute("COMMIT")

    def _now_seconds(self) -> int:
        return epoch_seconds(self._clock())


def _position(cursor: str) -> tuple[float, str]:
    """The (sort key, id) a cursor of this store points after."""
    position = decode_cursor(cursor)
    if (
        isinstance(position, list)
        and len(position) == 2
        and isinstance(position[0], (int, float))
        and not isinstance(position[0], bool)
        and isinstance(position[1], str)
    ):
        return position[0], position[1]
    raise ValidationError(f"cursor: {cursor!r} is not a cursor of this store", field="cursor")


def _page(rows: list[Any], limit: int, model: type[M]) -> Page[M]:
    """A page from up to ``limit + 1`` rows of (sort key, id, body)."""
    items = [model.model_validate_json(row[-1]) for row in rows[:limit]]
    more = len(rows) > limit
    return Page[M](
        items=items, next_cursor=encode_cursor(list(rows[limit - 1][:2])) if more else None
    )
