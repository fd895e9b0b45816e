"""The LangGraph lines of an export (format version 2): ``thread_checkpoint`` and
``store_item``, how they are checked before anything is written, and how they are counted."""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.errors import ValidationError
from agentmem_langchain.langgraph.store import MAX_ITEM_BYTES as STORE_MAX_ITEM_BYTES
from agentmem_langchain.stores.namespaces import NamespaceItem
from agentmem_langchain.stores.threads import ThreadCheckpoint, ThreadWrite
from agentmem_langchain.testing import InMemoryStore
from agentmem_langchain.transfer import KINDS, MAX_LINE_CHARS, export_records, import_records
from agentmem_langchain.transfer.langgraph_records import MAX_ITEM_BYTES

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "agent-a"
PAYLOAD = bytes(range(256)) * 3  # every byte value, not UTF-8

Data = dict[str, Any]


def header(version: int = 2) -> str:
    data = {
        "format": "agentmem-export",
        "format_version": version,
        "exported_at": "2024-05-01T12:00:00Z",
        "agent_ids": [AGENT],
    }
    return json.dumps({"kind": "header", "data": data})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def thread_checkpoint(**changes: Any) -> Data:
    data: Data = {
        "agent_id": AGENT,
        "thread_id": "t-1",
        "checkpoint_ns": "",
        "checkpoint_id": "1ef0",
        "parent_checkpoint_id": None,
        "run_id": "run-1",
        "type": "msgpack",
        "checkpoint": b64(PAYLOAD),
        "metadata": b64(b'{"step": 1}'),
        "writes": [
            {
                "task_id": "task-1",
                "idx": 0,
                "channel": "messages",
                "type": "msgpack",
                "value": b64(b"\x00\xff"),
                "task_path": "",
            },
            {
                "task_id": "task-1",
                "idx": -1,
                "channel": "__error__",
                "type": "json",
                "value": "",
                "task_path": "a~b",
            },
        ],
    }
    data.update(changes)
    return data


def store_item(**changes: Any) -> Data:
    data: Data = {
        "agent_id": AGENT,
        "namespace": ["users", "u1"],
        "key": "prefs",
        "value": json.dumps({"text": "likes risk", "n": 1}),
        "created_at": 1714564800.25,
        "updated_at": 1714564801,
        "expires_at": 1714568400.5,
        "ttl_minutes": 60.0,
        "vectors": json.dumps({"text": [0.5, -1, 2e-3]}),
    }
    data.update(changes)
    return data


def line(kind: str, data: Data) -> str:
    return json.dumps({"kind": kind, "data": data})


def good_lines() -> list[str]:
    return [
        header(),
        line("thread_checkpoint", thread_checkpoint()),
        line("store_item", store_item()),
    ]


def empty(store: InMemoryStore) -> bool:
    return store.list_threads(AGENT) == [] and store.search_namespace_items(AGENT, ()) == []


# -- good lines -------------------------------------------------------------------------------


def test_good_lines_are_stored_byte_for_byte() -> None:
    store = InMemoryStore()

    summary = import_records(store, good_lines())

    assert summary.written["thread_checkpoint"] == summary.written["store_item"] == 1
    assert store.get_thread_checkpoint(AGENT, "t-1", "", "1ef0") == ThreadCheckpoint(
        "t-1", "", "1ef0", None, "run-1", "msgpack", PAYLOAD, b'{"step": 1}'
    )
    assert store.get_thread_writes(AGENT, "t-1", "", "1ef0") == [
        ThreadWrite("task-1", -1, "__error__", "json", b"", "a~b"),
        ThreadWrite("task-1", 0, "messages", "msgpack", b"\x00\xff", ""),
    ]
    [item] = store.search_namespace_items(AGENT, ())
    assert item == NamespaceItem(
        ("users", "u1"),
        "prefs",
        store_item()["value"],
        1714564800.25,
        1714564801.0,
        1714568400.5,
        60.0,
        store_item()["vectors"],
    )


def test_an_export_writes_the_lines_it_reads() -> None:
    store = InMemoryStore()
    import_records(store, good_lines())
    out = io.StringIO()

    export_records(store, [AGENT], out, clock=lambda: T0)

    lines = out.getvalue().splitlines()
    assert json.loads(lines[0])["data"]["format_version"] == 2
    written = [json.loads(text) for text in lines[1:]]
    assert [w["kind"] for w in written] == ["thread_checkpoint", "store_item"]
    checkpoint = written[0]["data"]
    assert base64.b64decode(checkpoint["checkpoint"], validate=True) == PAYLOAD
    assert [w["idx"] for w in checkpoint["writes"]] == [-1, 0]
    assert written[1]["data"] == {**store_item(), "updated_at": 1714564801.0}


def test_an_item_expired_at_export_time_is_left_out() -> None:
    store = InMemoryStore()
    import_records(store, good_lines())
    late = datetime.fromtimestamp(1714568400.5, tz=timezone.utc)

    summary = export_records(store, [AGENT], io.StringIO(), clock=lambda: late)

    assert summary.counts["store_item"] == 0
    assert summary.counts["thread_checkpoint"] == 1


def test_counts_read_zero_for_a_langgraph_kind_and_list_it_once_counted() -> None:
    store = InMemoryStore()

    before = export_records(store, [AGENT], io.StringIO())
    import_records(store, good_lines())
    after = export_records(store, [AGENT], io.StringIO(), clock=lambda: T0)

    assert set(before.counts) == set(KINDS)
    assert before.counts["thread_checkpoint"] == before.counts["store_item"] == 0
    assert after.counts == {**dict.fromkeys(KINDS, 0), "thread_checkpoint": 1, "store_item": 1}


def test_resume_from_counts_the_langgraph_records_in_write_order() -> None:
    store = InMemoryStore()

    summary = import_records(store, good_lines(), resume_from=2)

    assert summary.skipped["thread_checkpoint"] == 1 and summary.written["store_item"] == 1
    assert store.list_threads(AGENT) == []


def test_the_item_limit_is_the_langgraph_stores() -> None:
    assert MAX_ITEM_BYTES == STORE_MAX_ITEM_BYTES


# -- bad lines --------------------------------------------------------------------------------


def write_at(index: int, **changes: Any) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        data["writes"][index].update(changes)

    return change


def without(field: str) -> Callable[[Data], None]:
    return lambda data: data.pop(field)


BAD_CHECKPOINTS: dict[str, Callable[[Data], None]] = {
    "not base64": lambda d: d.update(checkpoint="not base64!"),
    "unpadded base64": lambda d: d.update(metadata="abc"),
    "base64 with a newline": lambda d: d.update(checkpoint=b64(PAYLOAD)[:76] + "\n"),
    "non-ASCII base64": lambda d: d.update(checkpoint="é" * 4),
    "a number for bytes": lambda d: d.update(checkpoint=12),
    "no checkpoint": without("checkpoint"),
    "no metadata": without("metadata"),
    "no writes": without("writes"),
    "no parent": without("parent_checkpoint_id"),
    "an unknown field": lambda d: d.update(extra=1),
    "an empty thread id": lambda d: d.update(thread_id=""),
    "a number for a thread id": lambda d: d.update(thread_id=7),
    "a number for the namespace": lambda d: d.update(checkpoint_ns=0),
    "writes not a list": lambda d: d.update(writes={}),
    "a write's value not base64": write_at(0, value="%%%%"),
    "a write's idx as text": write_at(0, idx="0"),
    "a write's idx as a bool": write_at(0, idx=True),
    "a write's idx as a float": write_at(0, idx=1.0),
    "a write without a channel": lambda d: d["writes"][0].pop("channel"),
    "a write twice": lambda d: d["writes"].append(copy.deepcopy(d["writes"][0])),
    "a bad agent id": lambda d: d.update(agent_id="-bad"),
}

BAD_ITEMS: dict[str, Callable[[Data], None]] = {
    "a value not JSON": lambda d: d.update(value="{not json"),
    "a value not an object": lambda d: d.update(value="[1, 2]"),
    "a value as an object": lambda d: d.update(value={"text": "x"}),
    "vectors not JSON": lambda d: d.update(vectors="[1"),
    "vectors of text": lambda d: d.update(vectors=json.dumps({"text": ["a"]})),
    "vectors of a bool": lambda d: d.update(vectors=json.dumps({"text": [True]})),
    "vectors not lists": lambda d: d.update(vectors=json.dumps({"text": 1.5})),
    "an empty namespace": lambda d: d.update(namespace=[]),
    "a number in the namespace": lambda d: d.update(namespace=["users", 1]),
    "a namespace as text": lambda d: d.update(namespace="users"),
    "a time as text": lambda d: d.update(created_at="1714564800"),
    "a time as a bool": lambda d: d.update(updated_at=True),
    "an infinite expiry": lambda d: d.update(expires_at=float("inf")),
    "a NaN ttl": lambda d: d.update(ttl_minutes=float("nan")),
    "no expiry field": without("expires_at"),
    "no value": without("value"),
    "a number for a key": lambda d: d.update(key=3),
    "too large": lambda d: d.update(value=json.dumps({"text": "x" * MAX_ITEM_BYTES})),
}


@pytest.mark.parametrize("change", list(BAD_CHECKPOINTS.values()), ids=list(BAD_CHECKPOINTS))
def test_a_bad_thread_checkpoint_is_refused_by_line_and_nothing_is_written(
    change: Callable[[Data], None],
) -> None:
    data = thread_checkpoint()
    change(data)
    store = InMemoryStore()
    lines = good_lines()
    lines.insert(2, line("thread_checkpoint", data))

    with pytest.raises(ValidationError, match=r"^line 3[: ]"):
        import_records(store, lines)

    assert empty(store)


@pytest.mark.parametrize("change", list(BAD_ITEMS.values()), ids=list(BAD_ITEMS))
def test_a_bad_store_item_is_refused_by_line_and_nothing_is_written(
    change: Callable[[Data], None],
) -> None:
    data = store_item()
    change(data)
    store = InMemoryStore()

    with pytest.raises(ValidationError, match=r"^line 4[: ]"):
        import_records(store, [*good_lines(), line("store_item", data)])

    assert empty(store)


@pytest.mark.parametrize("kind", ["thread_checkpoint", "store_item"])
def test_a_record_of_an_agent_the_header_does_not_name_is_refused(kind: str) -> None:
    data = thread_checkpoint() if kind == "thread_checkpoint" else store_item()
    data["agent_id"] = "agent-z"
    store = InMemoryStore()

    with pytest.raises(ValidationError, match=rf"^line 4: a {kind} of agent 'agent-z'"):
        import_records(store, [*good_lines(), line(kind, data)])

    assert empty(store)
    assert store.list_threads("agent-z") == []


@pytest.mark.parametrize("kind", ["thread_checkpoint", "store_item"])
def test_a_langgraph_line_in_a_version_1_file_is_refused(kind: str) -> None:
    data = thread_checkpoint() if kind == "thread_checkpoint" else store_item()
    store = InMemoryStore()

    with pytest.raises(ValidationError, match=rf"^line 2: a {kind} line needs format_version 2"):
        import_records(store, [header(1), line(kind, data)])

    assert empty(store)


def test_a_version_1_file_without_them_imports() -> None:
    store = InMemoryStore()

    summary = import_records(store, [header(1)])

    assert summary.written == dict.fromkeys(KINDS, 0)


class NoLangGraph:
    """A store that keeps neither thread checkpoints nor namespaced items."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if "thread" in name or "namespace" in name:
            raise AttributeError(name)
        return getattr(self._store, name)


def test_a_store_that_cannot_keep_them_refuses_the_file_before_writing() -> None:
    inner = InMemoryStore()
    store: Any = NoLangGraph(inner)
    lines = [header(), line("thread_checkpoint", thread_checkpoint())]

    with pytest.raises(ValidationError, match="cannot keep thread checkpoints"):
        import_records(store, lines)

    assert empty(inner)
    assert export_records(store, [AGENT], io.StringIO()).total == 0


def test_a_checkpoint_too_large_to_import_is_not_exported(tmp_path: Path) -> None:
    store = InMemoryStore()
    huge = b"\x00" * (MAX_LINE_CHARS // 4 * 3 + 3)
    store.put_thread_checkpoint(AGENT, ThreadCheckpoint("t", "", "c", None, None, "b", huge, b""))
    out = tmp_path / "agent.jsonl"

    with pytest.raises(ValidationError, match=r"a thread_checkpoint line of \d+ bytes is longer"):
        export_records(store, [AGENT], out)

    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
