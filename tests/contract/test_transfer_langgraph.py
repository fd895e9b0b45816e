"""Transfer of LangGraph data: the thread checkpoints of ``AgentMemorySaver`` (a 500 KB one
split into parts on DynamoDB, pending writes, a subgraph namespace) and the items of
``AgentMemoryStore`` (vectors, TTL) survive export and import into another backend, read
back through LangGraph's own interfaces."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import moto  # noqa: F401  (moto hooks into botocore on import: boto3 sessions made later,

# such as dynalite's shared one, can then be mocked by the moto backend whatever runs first)
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from agentmem_langchain.errors import StoreUnavailableError, ValidationError
from agentmem_langchain.langgraph import AgentMemorySaver, AgentMemoryStore
from agentmem_langchain.models import AgentRegistration
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.base import AtomicWrites
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.stores.dynamodb.threads import PART_BYTES
from agentmem_langchain.stores.namespaces import namespace_store
from agentmem_langchain.stores.threads import thread_store
from agentmem_langchain.testing import FakeClock, InMemoryStore
from agentmem_langchain.transfer import ImportInterrupted, export_records, import_records

from .backends import BACKENDS
from .builders import AGENT, OTHER, T0, decision

TARGET_OF = {"memory": "dynalite", "sqlite": "moto", "moto": "sqlite", "dynalite": "memory"}
"""The backend each source backend's export is imported into: every backend is both."""

THREADS = ("t-1", "t-2")
BIG = 500 * 1024
INDEX: Any = {"dims": 16, "embed": DeterministicFakeEmbedding(size=16), "fields": ["text"]}


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    """A fresh store of the backend ``TARGET_OF`` the running test's source backend."""
    source = request.node.callspec.params["store"]
    place = tmp_path / "target"
    place.mkdir()
    made = BACKENDS[TARGET_OF[source]](place, clock, request)
    try:
        yield made
    finally:
        made.close()


def saver(store: MemoryStore, agent: str = AGENT) -> AgentMemorySaver:
    return AgentMemorySaver(store, agent_id=agent)


def memories(store: MemoryStore, clock: FakeClock, agent: str = AGENT) -> AgentMemoryStore:
    return AgentMemoryStore(store, agent_id=agent, index=INDEX, clock=clock)


# -- the fixture ------------------------------------------------------------------------------


def put(
    on: AgentMemorySaver, config: RunnableConfig, step: int, values: dict[str, Any]
) -> RunnableConfig:
    checkpoint = generate_checkpoint(channel_values=values)
    checkpoint["channel_versions"] = dict.fromkeys(values, step + 1)
    metadata = generate_metadata(step=step, run="r-1")
    return on.put(config, checkpoint, metadata, dict.fromkeys(values, step + 1))


def populate(store: MemoryStore, clock: FakeClock) -> None:
    """Two threads of three checkpoints (one of 500 KB, one in a subgraph namespace) with
    pending writes; a decision and a registration; items with vectors, one with a TTL and
    one expired; and a thread and an item of another agent."""
    store.register_agent(AgentRegistration(agent_id=AGENT, registered_at=T0, last_heartbeat=T0))
    store.put_decisions([decision()])
    graph = saver(store)
    for thread in THREADS:
        config = generate_config(thread)
        for step in range(3):
            values: dict[str, Any] = {"messages": [f"{thread} step {step}"], "n": step}
            if thread == "t-1" and step == 1:
                values["blob"] = "x" * BIG
            config = put(graph, config, step, values)
        graph.put_writes(config, [("messages", "pending"), ("n", 9)], task_id="task-1")
        graph.put_writes(config, [("__error__", "boom")], task_id="task-2", task_path="p")
    put(graph, generate_config("t-1", checkpoint_ns="child:1"), 0, {"inner": True})
    put(saver(store, OTHER), generate_config("t-1"), 0, {"theirs": True})

    items = memories(store, clock)
    items.put(("users", "u1"), "prefs", {"text": "likes risk", "risk": "high"})
    items.put(("users", "u2"), "prefs", {"text": "plays safe", "risk": "low"})
    items.put(("notes",), "plain", {"text": "no vectors"}, index=False)
    items.put(("users", "u1"), "session", {"text": "short lived"}, ttl=60)
    items.put(("users", "u3"), "gone", {"text": "expires first"}, ttl=1)
    clock.advance(seconds=120)  # past the 1-minute TTL
    memories(store, clock, OTHER).put(("users",), "theirs", {"text": "not exported"})


def exported(store: MemoryStore, clock: FakeClock) -> io.StringIO:
    out = io.StringIO()
    export_records(store, [AGENT], out, clock=clock)
    out.seek(0)
    return out


# -- what LangGraph reads ---------------------------------------------------------------------


def view(store: MemoryStore, clock: FakeClock) -> dict[str, Any]:
    """What ``AgentMemorySaver`` and ``AgentMemoryStore`` return for AGENT, as plain data."""
    graph = saver(store)
    items = AgentMemoryStore(store, agent_id=AGENT, index=INDEX, clock=clock)
    configs = [generate_config(t, checkpoint_ns=ns) for t in THREADS for ns in ("", "child:1")]
    return {
        "latest": [graph.get_tuple(c) for c in configs],
        "listed": list(graph.list(None)),
        "by_thread": [list(graph.list({"configurable": {"thread_id": t}})) for t in THREADS],
        "by_id": [graph.get_tuple(t.config) for t in graph.list(None)],
        "get": [
            dump(items.get(ns, key, refresh_ttl=False))
            for ns, key in [
                (("users", "u1"), "prefs"),
                (("users", "u1"), "session"),
                (("users", "u3"), "gone"),
                (("notes",), "plain"),
            ]
        ],
        "search": [dump(i) for i in items.search((), limit=100, refresh_ttl=False)],
        "ranked": [
            dump(i) for i in items.search(("users",), query="risk", limit=10, refresh_ttl=False)
        ],
        "filtered": [dump(i) for i in items.search((), filter={"risk": "low"}, refresh_ttl=False)],
    }


def parts(store: MemoryStore) -> int | None:
    """How many payload parts a DynamoDB store holds for AGENT (None for other backends)."""
    if not isinstance(store, DynamoDBStore):
        return None
    found = store.client_manager.client.query(
        TableName=store._state,
        KeyConditionExpression="agent_id = :a AND begins_with(sk, :p)",
        ExpressionAttributeValues={":a": {"S": AGENT}, ":p": {"S": "TPART#"}},
        Select="COUNT",
    )
    return int(found["Count"])


def dump(item: Any) -> Any:
    return None if item is None else item.dict()


def test_the_fixture_has_what_the_transfer_must_carry(store: MemoryStore, clock: FakeClock) -> None:
    populate(store, clock)
    seen = view(store, clock)

    assert len(seen["listed"]) == 7
    assert [len(t) for t in seen["by_thread"]] == [4, 3]
    big = [t for t in seen["listed"] if "blob" in t.checkpoint["channel_values"]]
    assert len(big) == 1 and len(big[0].checkpoint["channel_values"]["blob"]) == BIG > PART_BYTES
    assert all(len(t.pending_writes or []) == 3 for t in seen["latest"][::2])
    assert seen["get"][2] is None  # expired
    assert [(i["namespace"], i["key"]) for i in seen["search"]] == [
        (["notes"], "plain"),
        (["users", "u1"], "prefs"),
        (["users", "u1"], "session"),
        (["users", "u2"], "prefs"),
    ]
    assert seen["ranked"][0]["score"] is not None


# -- round trip -------------------------------------------------------------------------------


def test_threads_and_items_read_back_the_same_from_another_backend(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    expected = view(store, clock)
    file = exported(store, clock)

    summary = import_records(target, file)

    assert view(target, clock) == expected
    assert all(parts(s) in (None, 2) for s in (store, target))  # 500 KB in 300 KB parts
    assert summary.written["thread_checkpoint"] == 7
    assert summary.written["store_item"] == 4  # the expired one is not exported
    assert memories(target, clock).list_namespaces() == [
        ("notes",),
        ("users", "u1"),
        ("users", "u2"),
    ]
    assert saver(target, OTHER).get_tuple(generate_config("t-1")) is None
    assert memories(target, clock, OTHER).search(()) == []


def test_export_counts_and_lines_of_the_langgraph_kinds(
    store: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    out = io.StringIO()

    counts = export_records(store, [AGENT], out, clock=clock).counts

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [line["kind"] for line in lines]
    assert lines[0]["data"]["format_version"] == 2
    assert counts["thread_checkpoint"] == 7 and counts["store_item"] == 4
    assert kinds[-11:] == ["thread_checkpoint"] * 7 + ["store_item"] * 4
    checkpoints = [line["data"] for line in lines if line["kind"] == "thread_checkpoint"]
    assert [c["thread_id"] for c in checkpoints] == ["t-1"] * 4 + ["t-2"] * 3
    assert all(c["agent_id"] == AGENT for c in checkpoints)
    assert sum(len(c["writes"]) for c in checkpoints) == 6


def test_a_second_import_changes_nothing(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    text = exported(store, clock).getvalue()
    import_records(target, io.StringIO(text))
    first = view(target, clock)

    again = import_records(target, io.StringIO(text))

    assert view(target, clock) == first
    assert again.written["thread_checkpoint"] == again.written["store_item"] == 0
    assert again.unchanged["thread_checkpoint"] == 7
    assert again.unchanged["store_item"] == 4


def test_a_newer_item_on_the_target_is_kept(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    file = exported(store, clock)
    clock.advance(seconds=1)
    memories(target, clock).put(("users", "u1"), "prefs", {"text": "changed on the target"})

    summary = import_records(target, file)

    found = memories(target, clock).get(("users", "u1"), "prefs")
    assert found is not None and found.value == {"text": "changed on the target"}
    assert summary.unchanged["store_item"] == 1 and summary.written["store_item"] == 3


def test_a_forged_line_of_another_agents_thread_is_refused_and_nothing_is_written(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    lines = exported(store, clock).getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if '"thread_checkpoint"' in line)
    forged = json.loads(lines[at])
    forged["data"]["agent_id"] = OTHER
    lines.insert(at, json.dumps(forged))

    with pytest.raises(ValidationError, match=rf"^line {at + 1}: a thread_checkpoint of agent"):
        import_records(target, lines)

    assert (
        thread_store(target).list_threads(AGENT) == thread_store(target).list_threads(OTHER) == []
    )
    assert namespace_store(target).search_namespace_items(AGENT, ()) == []
    assert target.get_agent(AGENT) is None
    assert target.query_decisions(AGENT).items == []


def test_a_version_1_file_imports_as_before(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    lines = exported(store, clock).getvalue().splitlines()
    header = json.loads(lines[0])
    header["data"]["format_version"] = 1
    old = [json.dumps(header)] + [
        line for line in lines[1:] if json.loads(line)["kind"] in ("registration", "decision")
    ]

    summary = import_records(target, old)

    assert summary.written == {
        "registration": 1,
        "decision": 1,
        "pattern_version": 0,
        "state": 0,
        "checkpoint": 0,
        "signal": 0,
    }
    assert target.get_agent(AGENT) == store.get_agent(AGENT)
    assert thread_store(target).list_threads(AGENT) == []


def test_a_version_1_file_with_a_langgraph_line_is_refused(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    lines = exported(store, clock).getvalue().splitlines()
    header = json.loads(lines[0])
    header["data"]["format_version"] = 1
    first = next(i for i, line in enumerate(lines) if '"thread_checkpoint"' in line)

    with pytest.raises(
        ValidationError, match=rf"^line {first + 1}: a thread_checkpoint line needs"
    ):
        import_records(target, [json.dumps(header), *lines[1:]])

    assert target.get_agent(AGENT) is None


# -- failures part-way ------------------------------------------------------------------------


def test_an_import_that_fails_on_an_item_writes_nothing_or_resumes(
    store: MemoryStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = InMemoryStore(clock=clock)
    populate(source, clock)
    text = exported(source, clock).getvalue()
    expected = view(source, clock)
    real = namespace_store(store).put_namespace_item

    def failing(agent_id: str, item: Any) -> None:
        if item.key == "session":
            raise StoreUnavailableError("the disk is full")
        real(agent_id, item)

    monkeypatch.setattr(store, "put_namespace_item", failing)
    with pytest.raises(StoreUnavailableError) as raised:
        import_records(store, io.StringIO(text))
    monkeypatch.undo()

    if isinstance(store, AtomicWrites):
        assert "rolled back" in str(raised.value)
        assert thread_store(store).list_threads(AGENT) == []
        assert namespace_store(store).search_namespace_items(AGENT, ()) == []
        assert store.get_agent(AGENT) is None
        import_records(store, io.StringIO(text))
    else:
        assert isinstance(raised.value, ImportInterrupted)
        resumed = import_records(store, io.StringIO(text), resume_from=raised.value.resume_from)
        assert resumed.skipped["thread_checkpoint"] == 7
        assert resumed.written["store_item"] + resumed.skipped["store_item"] == 4
    assert view(store, clock) == expected
