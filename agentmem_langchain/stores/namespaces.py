"""Namespaced items: the primitives a LangGraph ``BaseStore`` needs from a store.

An item is a JSON object under a namespace (a tuple of strings) and a key, in one agent's
partition. Backends store and return items; TTL, filters and semantic ranking live once,
above them, in ``agentmem_langchain.langgraph.store``.

A namespace is kept as its *path*: each segment escaped and followed by ``/``
(``("acme", "users")`` is ``acme/users/``). A prefix search is then a range of paths that
respects segment boundaries: ``acme/`` starts ``acme/users/`` but not ``acme-corp/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import ValidationError

Namespace = tuple[str, ...]


@dataclass(frozen=True)
class NamespaceItem:
    """One stored item; times are epoch seconds; ``vectors`` is the JSON of its embeddings
    (``{field path: [floats]}``) when the store indexes items."""

    namespace: Namespace
    key: str
    value: str
    created_at: float
    updated_at: float
    expires_at: float | None = None
    ttl_minutes: float | None = None
    vectors: str | None = None


@runtime_checkable
class NamespaceItemStore(Protocol):
    """Where namespaced items live: in the partition of ``agent_id``. Expired items are
    returned like any other: the layer above filters them."""

    def put_namespace_item(self, agent_id: str, item: NamespaceItem) -> None:
        """Store ``item``, replacing one with its namespace and key."""
        ...

    def get_namespace_item(
        self, agent_id: str, namespace: Namespace, key: str
    ) -> NamespaceItem | None:
        """The item, or None."""
        ...

    def delete_namespace_item(self, agent_id: str, namespace: Namespace, key: str) -> None:
        """Delete the item; a missing one is no error."""
        ...

    def search_namespace_items(self, agent_id: str, prefix: Namespace) -> list[NamespaceItem]:
        """Every item whose namespace starts with the segments of ``prefix`` (all items
        when it is empty), by namespace path and key."""
        ...

    def list_item_namespaces(self, agent_id: str, prefix: Namespace) -> list[Namespace]:
        """The distinct namespaces holding items that start with ``prefix``, sorted."""
        ...

    def refresh_namespace_items(
        self, agent_id: str, expiries: Sequence[tuple[Namespace, str, float]]
    ) -> None:
        """Set ``expires_at`` of each ``(namespace, key, expires_at)`` that still exists."""
        ...


def namespace_store(store: object) -> NamespaceItemStore:
    """``store`` as a :class:`NamespaceItemStore`, or ``ValidationError`` naming it."""
    if not isinstance(store, NamespaceItemStore):
        raise ValidationError(
            f"store: {type(store).__name__} cannot keep namespaced items", field="store"
        )
    return store


def namespace_path(namespace: Sequence[str]) -> str:
    """The sortable path of ``namespace``: each segment escaped, then ``/``."""
    return "".join(
        segment.replace("%", "%25").replace("/", "%2F").replace("#", "%23") + "/"
        for segment in namespace
    )


def path_upper_bound(path: str) -> str:
    """The first path after every path that starts with ``path`` (which ends with ``/``;
    ``0`` follows ``/`` in code point order)."""
    return path[:-1] + "0"
