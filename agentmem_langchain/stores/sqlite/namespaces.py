"""Namespaced items of LangGraph's ``BaseStore`` in ``SQLiteStore`` (see
``stores/namespaces.py``): one table keyed by agent, namespace path and key, created on
first use. A prefix search is a range of the primary key."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..namespaces import Namespace, NamespaceItem, namespace_path, path_upper_bound
from .core import _StoreBase

_TABLE = """CREATE TABLE IF NOT EXISTS namespace_items (
    agent_id TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL, namespace TEXT NOT NULL,
    value TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    expires_at REAL, ttl_minutes REAL, vectors TEXT,
    PRIMARY KEY (agent_id, path, key)) WITHOUT ROWID"""

_COLUMNS = "namespace, key, value, created_at, updated_at, expires_at, ttl_minutes, vectors"


def _item(row: Sequence[Any]) -> NamespaceItem:
    return NamespaceItem(tuple(json.loads(row[0])), *row[1:])


class _NamespacesMixin(_StoreBase):
    """The namespaced item operations of ``SQLiteStore``."""

    _namespaces_ready: bool = False

    @contextmanager
    def _items_conn(self, op: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not self._namespaces_ready:
            with self._transaction("create namespace_items", write=True) as conn:
                conn.execute(_TABLE)
            self._namespaces_ready = True
        with self._transaction(op, write=write) as conn:
            yield conn

    def put_namespace_item(self, agent_id: str, item: NamespaceItem) -> None:
        """Store ``item``, replacing one with its namespace and key."""
        i = item
        key = (agent_id, namespace_path(i.namespace), json.dumps(list(i.namespace)), i.key)
        row = (*key, i.value, i.created_at, i.updated_at, i.expires_at, i.ttl_minutes, i.vectors)
        with self._items_conn("put_namespace_item", write=True) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO namespace_items (agent_id, path, "
                f"{_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def get_namespace_item(
        self, agent_id: str, namespace: Namespace, key: str
    ) -> NamespaceItem | None:
        """The item, or None."""
        sql = f"SELECT {_COLUMNS} FROM namespace_items WHERE agent_id = ? AND path = ? AND key = ?"
        with self._items_conn("get_namespace_item") as conn:
            row = conn.execute(sql, (agent_id, namespace_path(namespace), key)).fetchone()
        return None if row is None else _item(row)

    def delete_namespace_item(self, agent_id: str, namespace: Namespace, key: str) -> None:
        """Delete the item; a missing one is no error."""
        sql = "DELETE FROM namespace_items WHERE agent_id = ? AND path = ? AND key = ?"
        with self._items_conn("delete_namespace_item", write=True) as conn:
            conn.execute(sql, (agent_id, namespace_path(namespace), key))

    def _prefix_rows(
        self, op: str, columns: str, agent_id: str, prefix: Namespace, order: str
    ) -> list[Any]:
        sql = f"SELECT {columns} FROM namespace_items WHERE agent_id = ?"
        params: tuple[str, ...] = (agent_id,)
        if prefix:
            start = namespace_path(prefix)
            sql += " AND path >= ? AND path < ?"
            params += (start, path_upper_bound(start))
        with self._items_conn(op) as conn:
            return conn.execute(f"{sql} ORDER BY {order}", params).fetchall()

    def search_namespace_items(self, agent_id: str, prefix: Namespace) -> list[NamespaceItem]:
        """Items whose namespace starts with the segments of ``prefix`` (a key range)."""
        rows = self._prefix_rows("search_namespace_items", _COLUMNS, agent_id, prefix, "path, key")
        return [_item(row) for row in rows]

    def list_item_namespaces(self, agent_id: str, prefix: Namespace) -> list[Namespace]:
        """The distinct namespaces holding items that start with ``prefix``, sorted."""
        columns = "DISTINCT namespace, path"
        rows = self._prefix_rows("list_item_namespaces", columns, agent_id, prefix, "path")
        return sorted({tuple(json.loads(row[0])) for row in rows})

    def refresh_namespace_items(
        self, agent_id: str, expiries: Sequence[tuple[Namespace, str, float]]
    ) -> None:
        """Set the expiry of each item that still exists."""
        rows = [(at, agent_id, namespace_path(ns), key) for ns, key, at in expiries]
        with self._items_conn("refresh_namespace_items", write=True) as conn:
            conn.executemany(
                "UPDATE namespace_items SET expires_at = ? "
                "WHERE agent_id = ? AND path = ? AND key = ?",
                rows,
            )
