"""Namespaced items of the in-memory store: the reference semantics of
:class:`~agentmem_langchain.stores.namespaces.NamespaceItemStore` in one dict."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from .namespaces import Namespace, NamespaceItem, namespace_path

_ItemKey = tuple[str, str, str]  # (agent_id, namespace path, key)


class _NamespacesMixin:
    """The namespaced item operations of ``InMemoryStore`` (under the store's lock)."""

    _lock: threading.RLock
    _ns_items: dict[_ItemKey, NamespaceItem]  # made on first use

    @property
    def _items(self) -> dict[_ItemKey, NamespaceItem]:
        if "_ns_items" not in vars(self):
            self._ns_items = {}
        return self._ns_items

    def put_namespace_item(self, agent_id: str, item: NamespaceItem) -> None:
        """Store ``item``, replacing one with its namespace and key."""
        with self._lock:
            self._items[(agent_id, namespace_path(item.namespace), item.key)] = item

    def get_namespace_item(
        self, agent_id: str, namespace: Namespace, key: str
    ) -> NamespaceItem | None:
        """The item, or None."""
        with self._lock:
            return self._items.get((agent_id, namespace_path(namespace), key))

    def delete_namespace_item(self, agent_id: str, namespace: Namespace, key: str) -> None:
        """Delete the item; a missing one is no error."""
        with self._lock:
            self._items.pop((agent_id, namespace_path(namespace), key), None)

    def search_namespace_items(self, agent_id: str, prefix: Namespace) -> list[NamespaceItem]:
        """Items whose namespace starts with the segments of ``prefix``."""
        start = namespace_path(prefix)
        with self._lock:
            found = [
                (path, key, item)
                for (agent, path, key), item in self._items.items()
                if agent == agent_id and path.startswith(start)
            ]
        return [item for _, _, item in sorted(found, key=lambda f: (f[0], f[1]))]

    def list_item_namespaces(self, agent_id: str, prefix: Namespace) -> list[Namespace]:
        """The distinct namespaces holding items that start with ``prefix``, sorted."""
        return sorted({item.namespace for item in self.search_namespace_items(agent_id, prefix)})

    def refresh_namespace_items(
        self, agent_id: str, expiries: Sequence[tuple[Namespace, str, float]]
    ) -> None:
        """Set the expiry of each item that still exists."""
        with self._lock:
            for namespace, key, expires_at in expiries:
                index = (agent_id, namespace_path(namespace), key)
                if index in self._items:
                    self._items[index] = dataclasses.replace(
                        self._items[index], expires_at=expires_at
                    )
