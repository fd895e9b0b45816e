"""``AgentMemoryStore`` held to LangGraph's ``InMemoryStore`` as the reference: the same
operations on both, on every backend, give the same answers (namespace-prefix search on
segment boundaries included); and what the reference lacks (TTL) checked on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore as ReferenceStore

from agentmem_langchain.errors import ValidationError
from agentmem_langchain.langgraph import AgentMemoryStore
from agentmem_langchain.testing import FakeClock
from tests.contract.backends import BACKENDS
from tests.contract.builders import T0

ITEMS: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
    (("acme",), "k1", {"n": 1, "tag": "a", "text": "btc breakout on volume"}),
    (("acme", "users"), "k2", {"n": 5, "tag": "b", "text": "user prefers low risk"}),
    (("acme-corp",), "k3", {"n": 3, "tag": "a", "text": "another tenant's secret"}),
    (("acme", "users", "deep"), "k4", {"n": 7, "tag": "a", "text": "eth funding rates"}),
    (("other",), "k5", {"n": 2, "nested": {"x": 1}, "text": "weather report"}),
    (("acme",), "k6", {"n": 2, "nested": {"x": 2}, "text": "btc halving cycle"}),
    (("acme", "users"), "k2", {"n": 4, "tag": "b", "text": "user prefers low risk"}),
]

SEARCHES: list[dict[str, Any]] = [
    {"namespace_prefix": ("acme",)},
    {"namespace_prefix": ("acme", "users")},
    {"namespace_prefix": ("acm",)},
    {"namespace_prefix": ()},
    {"namespace_prefix": (), "filter": {"tag": "a"}},
    {"namespace_prefix": (), "filter": {"n": {"$gt": 2}}},
    {"namespace_prefix": (), "filter": {"n": {"$gte": 2}}},
    {"namespace_prefix": (), "filter": {"n": {"$lt": 4}}},
    {"namespace_prefix": (), "filter": {"n": {"$lte": 4}}},
    {"namespace_prefix": (), "filter": {"n": {"$eq": 2}}},
    {"namespace_prefix": (), "filter": {"n": {"$ne": 2}}},
    {"namespace_prefix": (), "filter": {"n": {"$gt": 1, "$lt": 5}}},
    {"namespace_prefix": (), "filter": {"nested": {"x": 1}}},
    {"namespace_prefix": ("acme",), "filter": {"tag": "a", "n": 7}},
    {"namespace_prefix": ("nothing",)},
]

LISTINGS: list[dict[str, Any]] = [
    {},
    {"prefix": ("acme",)},
    {"prefix": ("acme", "*")},
    {"suffix": ("users",)},
    {"prefix": ("acme",), "suffix": ("deep",)},
    {"max_depth": 1},
    {"prefix": ("acme",), "max_depth": 2},
    {"limit": 2, "offset": 1},
]


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    clock = FakeClock(T0)
    made = BACKENDS[request.param](tmp_path, clock, request)
    yield made, clock
    made.close()


def _both(backend: Any, **options: Any) -> tuple[AgentMemoryStore, BaseStore]:
    store, clock = backend
    return AgentMemoryStore(store, agent_id="lg", clock=clock, **options), ReferenceStore(**options)


def _found(items: list[Any]) -> list[tuple[tuple[str, ...], str, dict[str, Any]]]:
    return sorted((tuple(i.namespace), i.key, i.value) for i in items)


def _fill(*stores: BaseStore) -> None:
    for store in stores:
        for namespace, key, value in ITEMS:
            store.put(namespace, key, value)


def test_search_answers_as_the_reference_does(backend: Any) -> None:
    ours, reference = _both(backend)
    _fill(ours, reference)

    for search in SEARCHES:
        options = {k: v for k, v in search.items() if k != "namespace_prefix"}
        prefix = search["namespace_prefix"]
        got = _found(ours.search(prefix, **options, limit=50))
        assert got == _found(reference.search(prefix, **options, limit=50)), search


def test_a_prefix_search_never_crosses_a_segment_boundary(backend: Any) -> None:
    ours, reference = _both(backend)
    _fill(ours, reference)

    keys = {i.key for i in ours.search(("acme",), limit=50)}

    assert "k3" not in keys  # ("acme-corp",) is not under ("acme",)
    assert (
        keys == {i.key for i in reference.search(("acme",), limit=50)} == {"k1", "k2", "k4", "k6"}
    )


def test_list_namespaces_answers_as_the_reference_does(backend: Any) -> None:
    ours, reference = _both(backend)
    _fill(ours, reference)

    for listing in LISTINGS:
        options = {"limit": 100, **listing}
        assert ours.list_namespaces(**options) == reference.list_namespaces(**options), listing


def test_get_put_delete_answer_as_the_reference_does(backend: Any) -> None:
    ours, reference = _both(backend)
    _fill(ours, reference)

    for store in (ours, reference):
        store.delete(("acme", "users", "deep"), "k4")
        store.delete(("acme",), "missing")
    for namespace, key, _ in [*ITEMS, (("acme",), "missing", {})]:
        mine, theirs = ours.get(namespace, key), reference.get(namespace, key)
        assert (mine and mine.value) == (theirs and theirs.value), (namespace, key)
    # The reference keeps listing a namespace after its last item is deleted; LangGraph's
    # SQL stores (and this one) list only namespaces that hold items.
    holding = [
        ns
        for ns in reference.list_namespaces(limit=100)
        if any(tuple(i.namespace) == ns for i in reference.search(ns, limit=100))
    ]
    assert ours.list_namespaces(limit=100) == holding
    assert ("acme", "users", "deep") not in holding
    assert _found(ours.search((), limit=50)) == _found(reference.search((), limit=50))


def test_limit_and_offset_page_as_the_reference_does(backend: Any) -> None:
    ours, reference = _both(backend)
    _fill(ours, reference)

    pages = [_found(ours.search((), limit=2, offset=o)) for o in (0, 2, 4)]

    assert [len(p) for p in pages] == [
        len(reference.search((), limit=2, offset=o)) for o in (0, 2, 4)
    ]
    assert sorted(x for p in pages for x in p) == _found(reference.search((), limit=50))


def test_semantic_search_ranks_as_the_reference_does(backend: Any) -> None:
    index = {"dims": 32, "embed": DeterministicFakeEmbedding(size=32), "fields": ["text"]}
    ours, reference = _both(backend, index=index)
    _fill(ours, reference)

    mine = ours.search(("acme",), query="btc breakout on volume", limit=3)
    theirs = reference.search(("acme",), query="btc breakout on volume", limit=3)

    assert [i.key for i in mine] == [i.key for i in theirs]
    assert mine[0].key == "k1"
    assert [i.score for i in mine] == pytest.approx([i.score for i in theirs])


def test_async_twins_answer_as_the_sync_forms(backend: Any) -> None:
    ours, _ = _both(backend)

    async def run() -> tuple[Any, Any, Any]:
        await ours.aput(("a", "b"), "k", {"v": 1})
        got = await ours.aget(("a", "b"), "k")
        found = await ours.asearch(("a",))
        names = await ours.alist_namespaces()
        return got, found, names

    got, found, names = asyncio.run(run())
    assert got is not None and got.value == {"v": 1}
    assert [i.key for i in found] == ["k"]
    assert names == [("a", "b")]


def test_an_expired_item_is_never_returned(backend: Any) -> None:
    ours, _ = _both(backend)
    clock = backend[1]
    ours.put(("t",), "short", {"v": 1}, ttl=1)
    ours.put(("t",), "forever", {"v": 2})

    clock.advance(61)

    assert ours.get(("t",), "short") is None
    assert [i.key for i in ours.search(("t",))] == ["forever"]


def test_reading_refreshes_the_ttl_unless_told_not_to(backend: Any) -> None:
    store, clock = backend
    ours = AgentMemoryStore(
        store, agent_id="lg", clock=clock, ttl={"default_ttl": 1, "refresh_on_read": True}
    )
    ours.put(("t",), "read", {"v": 1})
    ours.put(("t",), "unread", {"v": 2})

    clock.advance(50)
    assert ours.get(("t",), "read") is not None
    assert ours.get(("t",), "unread", refresh_ttl=False) is not None
    clock.advance(50)

    assert ours.get(("t",), "read") is not None
    assert ours.get(("t",), "unread") is None


def test_two_agents_never_see_each_others_namespaces(backend: Any) -> None:
    store, clock = backend
    first = AgentMemoryStore(store, agent_id="one", clock=clock)
    second = AgentMemoryStore(store, agent_id="two", clock=clock)
    first.put(("users",), "u1", {"v": 1})

    assert second.get(("users",), "u1") is None
    assert second.search(()) == []
    assert second.list_namespaces() == []


def test_an_oversized_value_is_rejected_by_name(backend: Any) -> None:
    ours, _ = _both(backend)
    with pytest.raises(ValidationError) as caught:
        ours.put(("t",), "big", {"v": "x" * 400_000})
    assert caught.value.field == "value"


def test_an_unknown_filter_operator_is_rejected_by_name(backend: Any) -> None:
    ours, _ = _both(backend)
    ours.put(("t",), "k", {"n": 1})
    with pytest.raises(ValidationError) as caught:
        ours.search(("t",), filter={"n": {"$regex": "1"}})
    assert caught.value.field == "filter"


@pytest.mark.parametrize("name", ["moto", "dynalite"])
def test_list_namespaces_on_dynamodb_is_one_query_of_markers(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = BACKENDS[name](tmp_path, FakeClock(T0), request)
    ours = AgentMemoryStore(store, agent_id="lg")
    _fill(ours)
    store.reset_usage()

    assert ours.list_namespaces(prefix=("acme",)) == [
        ("acme",),
        ("acme", "users"),
        ("acme", "users", "deep"),
    ]

    calls = [(line.api, line.calls) for line in store.usage().lines]
    assert calls == [("Query", 1)]  # no Scan, no read of the items themselves
