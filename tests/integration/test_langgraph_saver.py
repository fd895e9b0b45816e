"""``AgentMemorySaver`` against LangGraph's own conformance suite
(``langgraph-checkpoint-conformance``), every capability, on every backend; and what the
suite does not cover: 1 MB states on DynamoDB, replacing a split checkpoint, a process
killed mid-step, bad input."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.checkpoint.conformance.report import ProgressCallbacks
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from agentmem_langchain.errors import NotFoundError, StateConflictError, ValidationError
from agentmem_langchain.langgraph import AgentMemorySaver
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock
from tests.contract.backends import BACKENDS
from tests.contract.builders import T0

ROOT = Path(__file__).resolve().parents[2]
_agents = itertools.count()


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made = BACKENDS[request.param](tmp_path, FakeClock(T0), request)
    yield made
    made.close()


def test_conformance_suite_passes_every_capability(store: MemoryStore) -> None:
    # Each capability suite gets a fresh saver on a partition (agent) of its own.
    @checkpointer_test(name=f"AgentMemorySaver[{type(store).__name__}]")
    async def saver() -> Any:
        yield AgentMemorySaver(store, agent_id=f"conformance-{next(_agents)}")

    report = asyncio.run(validate(saver, progress=ProgressCallbacks.quiet()))

    failures = {cap: r.failures for cap, r in report.results.items() if r.passed is not True}
    assert failures == {}
    assert set(report.results) == {c.value for c in ALL_CAPABILITIES}
    assert all(r.detected and r.tests_passed > 0 for r in report.results.values())


def _put(saver: AgentMemorySaver, thread_id: str, values: dict[str, Any], cid: str | None = None):
    checkpoint = generate_checkpoint(checkpoint_id=cid, channel_values=values)
    checkpoint["channel_versions"] = dict.fromkeys(values, 1)
    return saver.put(generate_config(thread_id), checkpoint, generate_metadata(), {})


def _big(size: int, fill: str = "x") -> str:
    return (fill * 97 + "\n") * (size // 98)


def test_a_1mb_state_is_split_across_items_and_read_back_whole(store: MemoryStore) -> None:
    saver = AgentMemorySaver(store, agent_id="big")
    state = {"messages": [_big(1_000_000)], "n": 7}
    stored = _put(saver, "t", state)
    saver.put_writes(stored, [("messages", _big(600_000, "w"))], task_id="task-1")

    found = saver.get_tuple(generate_config("t"))

    assert found is not None
    assert found.checkpoint["channel_values"] == state
    assert found.pending_writes == [("task-1", "messages", _big(600_000, "w"))]
    if hasattr(store, "client_manager"):  # DynamoDB: 4 parts of the state, 2 of the write
        assert _parts(store, "big") == 6


def _parts(store: Any, agent_id: str) -> int:
    sks = store._under(agent_id, "TPART#", "test", keys_only=True)
    return sum(1 for _ in sks)


@pytest.mark.parametrize("backend", ["dynalite"])
def test_replacing_a_split_checkpoint_leaves_only_the_new_parts(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = BACKENDS[backend](tmp_path, FakeClock(T0), request)
    saver = AgentMemorySaver(store, agent_id="replace")
    cid = generate_checkpoint()["id"]
    _put(saver, "t", {"v": _big(700_000, "a")}, cid)
    parts_before = _parts(store, "replace")

    _put(saver, "t", {"v": _big(700_000, "b")}, cid)

    found = saver.get_tuple(generate_config("t"))
    assert found is not None and found.checkpoint["channel_values"] == {"v": _big(700_000, "b")}
    assert parts_before == _parts(store, "replace") == 3


@pytest.mark.parametrize("backend", ["dynalite"])
def test_deleting_a_thread_deletes_its_parts(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = BACKENDS[backend](tmp_path, FakeClock(T0), request)
    saver = AgentMemorySaver(store, agent_id="gone")
    _put(saver, "t#1", {"v": _big(700_000)})
    _put(saver, "t", {"v": "small"})

    saver.delete_thread("t#1")

    assert _parts(store, "gone") == 0
    assert store.list_threads("gone") == ["t"]


def test_threads_of_two_agents_never_mix(store: MemoryStore) -> None:
    first = AgentMemorySaver(store, agent_id="agent-a")
    second = AgentMemorySaver(store, agent_id="agent-b")
    _put(first, "shared-thread", {"who": "a"})

    assert second.get_tuple(generate_config("shared-thread")) is None
    assert list(second.list(None)) == []


def test_a_store_without_thread_checkpoints_is_rejected_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        AgentMemorySaver(object())
    assert caught.value.field == "store"


def test_an_unknown_prune_strategy_is_rejected_by_name(store: MemoryStore) -> None:
    saver = AgentMemorySaver(store, agent_id="p")
    with pytest.raises(ValidationError) as caught:
        saver.prune(["t"], strategy="keep_oldest")
    assert caught.value.field == "strategy"


def test_default_agent_is_the_configured_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentmem_langchain.testing import InMemoryStore

    monkeypatch.setenv("AGENTMEM_AGENT_ID", "from-env")
    assert AgentMemorySaver(InMemoryStore()).agent_id == "from-env"


_KILLED_GRAPH = textwrap.dedent(
    """
    import os, sys
    from typing import TypedDict
    from langgraph.graph import END, START, StateGraph
    from agentmem_langchain.langgraph import AgentMemorySaver
    from agentmem_langchain.stores.sqlite import SQLiteStore

    class State(TypedDict):
        steps: list[str]

    def first(state):
        return {"steps": state["steps"] + ["first"]}

    def second(state):
        if sys.argv[2] == "die":
            os._exit(9)  # killed after first's checkpoint, before second's writes
        return {"steps": state["steps"] + ["second"]}

    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    graph = builder.compile(checkpointer=AgentMemorySaver(SQLiteStore(sys.argv[1]), agent_id="g"))
    config = {"configurable": {"thread_id": "crash"}}
    if sys.argv[2] == "die":
        # "sync": each step's checkpoint is saved before the next step starts (LangGraph's
        # default, "async", may still be saving it when the process dies).
        graph.invoke({"steps": []}, config, durability="sync")
    else:
        print(graph.invoke(None, config)["steps"])
    """
)


def test_a_process_killed_mid_step_leaves_a_thread_that_resumes(tmp_path: Path) -> None:
    script = tmp_path / "graph.py"
    script.write_text(_KILLED_GRAPH)
    db = str(tmp_path / "memory.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    died = subprocess.run([sys.executable, str(script), db, "die"], env=env, timeout=120)
    resumed = subprocess.run(
        [sys.executable, str(script), db, "resume"],
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    )

    assert died.returncode == 9
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "['first', 'second']"


def test_async_and_sync_see_the_same_checkpoints(store: MemoryStore) -> None:
    saver = AgentMemorySaver(store, agent_id="twins")
    thread = str(uuid.uuid4())
    stored = _put(saver, thread, {"k": 1})

    async def read() -> list[Any]:
        return [t async for t in saver.alist(generate_config(thread))]

    listed = asyncio.run(read())
    assert [t.config for t in listed] == [stored]


def test_rollback_makes_an_earlier_checkpoint_the_newest_and_keeps_history(
    store: MemoryStore,
) -> None:
    saver = AgentMemorySaver(store, agent_id="rollback")
    first = _put(saver, "t", {"step": 1})
    checkpoint = generate_checkpoint(channel_values={"step": 2})
    second = saver.put(first, checkpoint, generate_metadata(step=1), {})

    restored = saver.rollback("t")

    newest = saver.get_tuple(generate_config("t"))
    assert newest is not None and newest.config == restored
    assert newest.checkpoint["channel_values"] == {"step": 1}
    assert newest.parent_config == second
    assert newest.metadata["source"] == "fork"
    assert len(list(saver.list(generate_config("t")))) == 3


def test_rollback_without_an_earlier_checkpoint_is_not_found(store: MemoryStore) -> None:
    saver = AgentMemorySaver(store, agent_id="rollback")
    _put(saver, "t", {"step": 1})
    with pytest.raises(NotFoundError):
        saver.rollback("t")
    with pytest.raises(NotFoundError):
        saver.rollback("t", to="no-such-checkpoint")


@pytest.mark.parametrize("backend", ["dynalite"])
def test_two_writers_of_one_split_checkpoint_never_interleave_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = BACKENDS[backend](tmp_path, FakeClock(T0), request)
    saver = AgentMemorySaver(store, agent_id="race")
    cid = generate_checkpoint()["id"]
    payloads = {fill: _big(700_000, fill) for fill in "abcdef"}
    outcomes: list[str] = []

    def write(fill: str) -> None:
        try:
            _put(saver, "t", {"v": payloads[fill]}, cid)
            outcomes.append("written")
        except StateConflictError:
            outcomes.append("conflict")  # lost the race to a writer that read the same head

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, payloads))

    found = saver.get_tuple(generate_config("t"))
    assert found is not None
    assert found.checkpoint["channel_values"]["v"] in payloads.values()  # one writer's, whole
    assert "written" in outcomes
    assert _parts(store, "race") == 3  # only the surviving checkpoint's parts are left
