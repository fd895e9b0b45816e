"""``AgentMemoryStore``: LangGraph's long-term memory (``BaseStore``) in an agentmem store.

What ``create_agent(store=...)``, ``runtime.store`` and memory tools read and write, kept
in the agent's partition of the same store as its decisions and thread checkpoints. TTL,
filters and semantic ranking are here, once; backends keep items
(:class:`~agentmem_langchain.stores.namespaces.NamespaceItemStore`).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)
from langgraph.store.base.embed import ensure_embeddings, get_text_at_path, tokenize_path

from .. import config as settings
from ..errors import ValidationError
from ..models import utcnow
from ..stores.namespaces import Namespace, NamespaceItem, namespace_store

MAX_ITEM_BYTES = 350 * 1024
"""An item's value and vectors together stay under this on every backend (DynamoDB's item
limit is 400 KB), so code moves between backends unchanged."""

_Vectors = dict[str, list[float]]


class AgentMemoryStore(BaseStore):
    """A LangGraph ``BaseStore`` whose namespaces live in the partition of ``agent_id``
    (None: ``AGENTMEM_AGENT_ID``, else ``default``) of ``store`` (SQLite, DynamoDB or
    in-memory).

    ``index`` (LangGraph's ``IndexConfig``: ``dims``, ``embed``, ``fields``) turns on
    semantic search: vectors are stored with each item and ranked in this process, so a
    query reads every item under its namespace prefix. ``ttl`` (``TTLConfig``) sets the
    default TTL in minutes and refresh-on-read; expired items are never returned.

    ::

        memories = AgentMemoryStore(SQLiteStore("memory.db"), agent_id="btc-agent-001")
        memories.put(("users", "u1"), "prefs", {"risk": "low"})
        memories.search(("users",), filter={"risk": "low"})
    """

    supports_ttl = True

    def __init__(
        self,
        store: object,
        *,
        agent_id: str | None = None,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = namespace_store(store)
        if agent_id is not None and (not isinstance(agent_id, str) or not agent_id.strip()):
            raise ValidationError(
                f"agent_id: must be a non-empty string, got {agent_id!r}", field="agent_id"
            )
        self.agent_id = agent_id or settings.agent_ids()[0]
        self.ttl_config = ttl
        self.index_config = index
        self.embeddings: Embeddings | None = None
        self._fields: list[tuple[str, Any]] = []
        if index:
            self.embeddings = ensure_embeddings(index.get("embed"))
            self._fields = [_field(p) for p in (index.get("fields") or ["$"])]
        self._clock = clock

    def __repr__(self) -> str:
        return f"AgentMemoryStore({self.store!r}, agent_id={self.agent_id!r})"

    # -- batches ------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` in order (``GetOp``, ``PutOp``, ``SearchOp``, ``ListNamespacesOp``)."""
        ops = list(ops)
        queries, texts = self._to_embed(ops)
        vectors: dict[str, list[float]] = {}
        if self.embeddings is not None:
            vectors = {q: self.embeddings.embed_query(q) for q in queries}
            if texts:
                vectors.update(zip(texts, self.embeddings.embed_documents(texts), strict=True))
        return self._run(ops, vectors)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch` with embeddings awaited and storage calls off the event loop."""
        ops = list(ops)
        queries, texts = self._to_embed(ops)
        vectors: dict[str, list[float]] = {}
        if self.embeddings is not None:
            for query in queries:
                vectors[query] = await self.embeddings.aembed_query(query)
            if texts:
                embedded = await self.embeddings.aembed_documents(texts)
                vectors.update(zip(texts, embedded, strict=True))
        return await asyncio.to_thread(self._run, ops, vectors)

    def _to_embed(self, ops: Sequence[Op]) -> tuple[list[str], list[str]]:
        """The search queries and document texts ``ops`` need embedded (each once)."""
        if self.embeddings is None:
            return [], []
        queries = {op.query for op in ops if isinstance(op, SearchOp) and op.query}
        texts: dict[str, None] = {}
        for op in ops:
            if isinstance(op, PutOp) and op.value is not None and op.index is not False:
                for _, text in self._texts(op):
                    texts[text] = None
        return sorted(queries), list(texts)

    def _texts(self, op: PutOp) -> list[tuple[str, str]]:
        """``(path, text)`` of every indexed field of the put's value."""
        fields = self._fields if not op.index else [_field(p) for p in op.index]
        found = []
        for path, tokens in fields:
            texts = get_text_at_path(op.value, tokens)
            if len(texts) == 1:
                found.append((path, texts[0]))
            else:
                found.extend((f"{path}.{i}", text) for i, text in enumerate(texts))
        return found

    def _run(self, ops: Sequence[Op], vectors: dict[str, list[float]]) -> list[Result]:
        now = self._clock().timestamp()
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op, now))
            elif isinstance(op, PutOp):
                self._put(op, now, vectors)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append(self._search(op, now, vectors))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                raise ValidationError(f"ops: unknown operation {op!r}", field="ops")
        return results

    # -- operations ---------------------------------------------------------------------------

    def _get(self, op: GetOp, now: float) -> Item | None:
        found = self.store.get_namespace_item(self.agent_id, tuple(op.namespace), op.key)
        if found is None or _expired(found, now):
            return None
        if op.refresh_ttl:
            self._refresh([found], now)
        item: Item = _item(found, Item)
        return item

    def _put(self, op: PutOp, now: float, vectors: dict[str, list[float]]) -> None:
        namespace = tuple(op.namespace)
        if op.value is None:
            self.store.delete_namespace_item(self.agent_id, namespace, op.key)
            return
        value = json.dumps(op.value, default=str)
        stored_vectors = None
        if self.embeddings is not None and op.index is not False:
            stored_vectors = json.dumps({path: vectors[text] for path, text in self._texts(op)})
        size = len(value.encode()) + len((stored_vectors or "").encode())
        if size > MAX_ITEM_BYTES:
            raise ValidationError(
                f"value: {size} bytes with its vectors, over the {MAX_ITEM_BYTES} an item "
                f"may hold ({namespace!r}, {op.key!r})",
                field="value",
            )
        before = self.store.get_namespace_item(self.agent_id, namespace, op.key)
        created = now if before is None or _expired(before, now) else before.created_at
        ttl = op.ttl
        item = NamespaceItem(
            namespace=namespace,
            key=op.key,
            value=value,
            created_at=created,
            updated_at=now,
            expires_at=None if ttl is None else now + ttl * 60,
            ttl_minutes=ttl,
            vectors=stored_vectors,
        )
        self.store.put_namespace_item(self.agent_id, item)

    def _search(
        self, op: SearchOp, now: float, vectors: dict[str, list[float]]
    ) -> list[SearchItem]:
        found = self.store.search_namespace_items(self.agent_id, tuple(op.namespace_prefix))
        live = [i for i in found if not _expired(i, now)]
        if op.filter:
            live = [i for i in live if _matches(json.loads(i.value), op.filter)]
        live.sort(key=lambda i: (-i.updated_at, i.namespace, i.key))
        scored: list[tuple[float | None, NamespaceItem]]
        if op.query and self.embeddings is not None:
            scored = _ranked(vectors[op.query], live)
        else:
            scored = [(None, i) for i in live]
        page = scored[op.offset : op.offset + op.limit]
        if op.refresh_ttl:
            self._refresh([i for _, i in page], now)
        return [_item(i, SearchItem, score) for score, i in page]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        prefix: list[str] = []
        for condition in op.match_conditions or ():
            if condition.match_type == "prefix":
                for segment in condition.path:
                    if segment == "*":
                        break
                    prefix.append(segment)
                break
        found = self.store.list_item_namespaces(self.agent_id, tuple(prefix))
        kept = [ns for ns in found if all(_match(c, ns) for c in op.match_conditions or ())]
        if op.max_depth is not None:
            kept = sorted({ns[: op.max_depth] for ns in kept})
        return kept[op.offset : op.offset + op.limit]

    def _refresh(self, items: Sequence[NamespaceItem], now: float) -> None:
        expiries = [
            (i.namespace, i.key, now + i.ttl_minutes * 60)
            for i in items
            if i.ttl_minutes is not None
        ]
        if expiries:
            self.store.refresh_namespace_items(self.agent_id, expiries)


def _field(path: str) -> tuple[str, Any]:
    return (path, path) if path == "$" else (path, tokenize_path(path))


def _expired(item: NamespaceItem, now: float) -> bool:
    return item.expires_at is not None and item.expires_at <= now


def _when(seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)


def _item(found: NamespaceItem, kind: type[Any], score: float | None = None) -> Any:
    fields: dict[str, Any] = {
        "value": json.loads(found.value),
        "key": found.key,
        "namespace": found.namespace,
        "created_at": _when(found.created_at),
        "updated_at": _when(found.updated_at),
    }
    if kind is SearchItem:
        fields["score"] = score
    return kind(**fields)


def _ranked(
    query: list[float], items: Sequence[NamespaceItem]
) -> list[tuple[float | None, NamespaceItem]]:
    """Items by their best field's cosine similarity to ``query``; unindexed ones last."""
    scored: list[tuple[float | None, NamespaceItem]] = []
    unscored: list[tuple[float | None, NamespaceItem]] = []
    for item in items:
        stored: _Vectors = json.loads(item.vectors) if item.vectors else {}
        if not stored:
            unscored.append((None, item))
            continue
        scored.append((max(_cosine(query, v) for v in stored.values()), item))
    scored.sort(key=lambda pair: pair[0] or 0.0, reverse=True)
    return scored + unscored


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return 0.0 if norm == 0 else sum(x * y for x, y in zip(a, b, strict=False)) / norm


def _match(condition: MatchCondition, namespace: Namespace) -> bool:
    """LangGraph's namespace match: ``prefix`` or ``suffix`` segments, ``*`` any one."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValidationError(
            f"match_type: must be 'prefix' or 'suffix', got {condition.match_type!r}",
            field="match_type",
        )
    return all(p == "*" or k == p for k, p in pairs)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: bool(a == b),
    "$ne": lambda a, b: bool(a != b),
    "$gt": lambda a, b: float(a) > float(b),
    "$gte": lambda a, b: float(a) >= float(b),
    "$lt": lambda a, b: float(a) < float(b),
    "$lte": lambda a, b: float(a) <= float(b),
}


def _matches(value: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(_compare(value.get(k), v) for k, v in wanted.items())


def _compare(found: Any, wanted: Any) -> bool:
    """LangGraph's filter semantics: operators, nested objects, lists element-wise."""
    if isinstance(wanted, dict):
        if any(k.startswith("$") for k in wanted):
            return all(_operator(found, op, v) for op, v in wanted.items())
        return isinstance(found, dict) and all(_compare(found.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(found, (list, tuple))
            and len(found) == len(wanted)
            and all(_compare(f, w) for f, w in zip(found, wanted, strict=True))
        )
    return bool(found == wanted)


def _operator(found: Any, op: str, wanted: Any) -> bool:
    if op not in _OPERATORS:
        raise ValidationError(
            f"filter: unknown operator {op!r} (use one of {sorted(_OPERATORS)})", field="filter"
        )
    if found is None and op not in ("$eq", "$ne"):
        return False  # a missing field is neither above nor below anything
    try:
        return _OPERATORS[op](found, wanted)
    except (TypeError, ValueError):
        return False
