"""What is recorded is what the values were when the call was made.

Decorated calls snapshot their arguments when they start and their result and reasoning when
they end; the LangChain hooks snapshot inputs, outputs and metadata before they return. The
snapshot is JSON-safe, cut to size while it is copied, and free of lone surrogates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain import MemoryManager
from agentmem_langchain.capture import (
    CapturedDecision,
    CaptureSettings,
    recorder_for,
    report_problem,
)
from agentmem_langchain.capture.events import drain
from agentmem_langchain.capture.values import MAX_ITEMS, LenientJSON, cut_text, snapshotter
from agentmem_langchain.decorators import current_decision, decision
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore

LIMIT = CaptureSettings().max_value_chars
SURROGATE = "\ud800"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # any journal goes to a temporary folder


@pytest.fixture
def memory() -> MemoryManager:
    return MemoryManager("snapshot-agent", store=InMemoryStore())


@pytest.fixture
def submitted(memory, monkeypatch) -> list[CapturedDecision]:
    """The decisions the decorators hand to the recorder, kept instead of written."""
    items: list[CapturedDecision] = []

    def keep(item: Any) -> bool:
        items.append(item)
        return True

    monkeypatch.setattr(recorder_for(memory.store), "submit", keep)
    return items


def records(memory: MemoryManager) -> list[Any]:
    """The stored records in the order they were made (ids made in one millisecond are not).

    Flushes this memory's own recorder only: another test's store may be down."""
    assert memory.recorder.flush(timeout=30)
    return sorted(memory.iter_decisions(), key=lambda r: (r.timestamp, r.decision_id))


def plain_json_only(value: Any, user_objects: list[Any]) -> None:
    """``value`` is plain JSON data, and none of its containers is one of ``user_objects``."""
    kind = type(value)
    assert kind in (dict, list, str, int, float, bool, type(None)), kind
    if kind is float:
        assert math.isfinite(value)
    if kind in (dict, list):
        assert all(value is not obj for obj in user_objects)
    if kind is dict:
        for key, item in value.items():
            assert type(key) is str
            plain_json_only(item, user_objects)
    elif kind is list:
        for item in value:
            plain_json_only(item, user_objects)


# -- decorated calls: arguments at the start, result and reasoning at the end ----------------


def test_an_argument_mutated_between_sync_calls_is_recorded_as_each_call_saw_it(memory):
    @decision("step", memory=memory)
    def step(state):
        return state["n"]

    state = {"n": 0, "seen": []}
    for n in range(100):
        state["n"] = n
        state["seen"].append(n)
        step(state)
    stored = [r.context.inputs["state"] for r in records(memory)]
    assert sorted(s["n"] for s in stored) == list(range(100))
    assert all(s["seen"] == list(range(s["n"] + 1)) for s in stored)


def test_an_argument_mutated_between_async_calls_is_recorded_as_each_call_saw_it(memory):
    @decision("step", memory=memory)
    async def step(state):
        await asyncio.sleep(0)
        return state["n"]

    async def run() -> None:
        state = {"n": 0}
        for n in range(100):
            state["n"] = n
            await step(state)

    asyncio.run(run())
    assert sorted(r.context.inputs["state"]["n"] for r in records(memory)) == list(range(100))


def test_an_argument_mutated_between_generator_calls_is_recorded_as_each_call_saw_it(memory):
    @decision("step", memory=memory)
    def step(state):
        yield state["n"]

    state = {"n": 0}
    for n in range(100):
        state["n"] = n
        assert list(step(state)) == [n]
    assert sorted(r.context.inputs["state"]["n"] for r in records(memory)) == list(range(100))


def test_arguments_are_recorded_as_they_were_when_the_call_started(memory):
    @decision("step", memory=memory)
    def step(state):
        state["n"] += 1  # the function's own change comes after the snapshot
        return None

    step({"n": 1})
    assert records(memory)[0].context.inputs["state"] == {"n": 1}


def test_a_result_mutated_after_return_is_recorded_as_returned(memory):
    @decision("choose", memory=memory)
    def choose(options):
        return {"selected": options[:1], "rest": options[1:]}

    results = [choose(["a", "b", "c"]) for _ in range(50)]
    for result in results:
        result["selected"].append("mutated")
        result["rest"].clear()
    for record in records(memory):
        assert record.metadata["result"] == {"selected": ["a"], "rest": ["b", "c"]}
        assert record.reasoning.selected == ["a"]


def test_scores_set_through_current_decision_then_mutated_are_recorded_as_at_return(memory):
    scores = {"a": 0.1}

    @decision("rank", memory=memory)
    def rank(n):
        scores.clear()
        scores["a"] = n / 100
        current_decision().scores = scores
        current_decision().metadata["seen"] = scores
        current_decision().tags.append(f"n{n}")

    for n in range(100):
        rank(n)
        scores["a"] = 99.0
        scores["late"] = 1.0
    stored = sorted(records(memory), key=lambda r: r.context.inputs["n"])
    assert [r.reasoning.scores for r in stored] == [{"a": n / 100} for n in range(100)]
    assert [r.metadata["seen"] for r in stored] == [{"a": n / 100} for n in range(100)]
    assert [r.tags for r in stored] == [[f"n{n}"] for n in range(100)]


def test_a_frozen_decision_holds_only_plain_json_that_no_caller_holds(memory, submitted):
    @dataclass
    class Point:
        x: float
        at: datetime

    argument = {"points": [Point(1.5, datetime(2030, 1, 1, tzinfo=timezone.utc))], "n": math.nan}
    result = {"nested": {"set": {3, 1}}, "obj": object()}

    @decision("plot", memory=memory)
    def plot(data):
        current_decision().scores = {"a": 1, "b": math.inf}
        current_decision().metadata["extra"] = argument
        return result

    plot(argument)
    (item,) = submitted
    assert item.frozen and item.size > 0
    for name in ("inputs", "result", "context_extra", "metadata", "reasoning", "tags"):
        plain_json_only(getattr(item, name), [argument, result, argument["points"]])
    assert item.inputs["data"]["points"] == [{"x": 1.5, "at": "2030-01-01T00:00:00+00:00"}]
    assert item.result["nested"] == {"set": [1, 3]}


def test_a_frozen_decision_builds_its_record_without_converting_again(memory, submitted):
    @decision("choose", memory=memory)
    def choose(text):
        return text

    choose("x" * (LIMIT * 3))
    (item,) = submitted
    record = item.to_record()
    stored = record.context.inputs["text"]
    assert stored == item.inputs["text"]  # cut once, at capture; not cut again
    assert stored.endswith(f"…[truncated {LIMIT * 2} chars]")


# -- large values are cut while they are copied ----------------------------------------------


def _stored_text(argument: Any, limit: int) -> str:
    """What an argument's whole JSON text starts with, by the lenient rules (an argument is
    an entry of the call's arguments: one level down)."""
    full = LenientJSON(CaptureSettings(max_value_chars=limit)).value({"data": argument})
    return json.dumps(full["data"], ensure_ascii=False)[:limit]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"blob": "é" * 32_000, "n": 1}, id="32 KB text in a dict"),
        pytest.param([{"row": i, "name": f"item {i}"} for i in range(2_000)], id="32 KB rows"),
        pytest.param(list(range(100_000)), id="100k elements"),
        pytest.param({"k": 'v\n"q"' * 20_000}, id="escaped text"),
    ],
)
def test_a_large_argument_is_cut_at_capture_and_begins_like_its_full_json(memory, value):
    @decision("load", memory=memory)
    def load(data):
        return None

    load(value)
    stored = records(memory)[0].context.inputs["data"]
    assert isinstance(stored, str) and len(stored) < LIMIT + 40
    assert stored[:LIMIT] == _stored_text(value, LIMIT)
    assert stored[LIMIT:].startswith("…[truncated ")


def test_a_deeply_nested_argument_is_cut_at_depth_and_size(memory):
    nested: Any = "leaf"
    for _ in range(60):  # deeper than MAX_DEPTH: the deepest part is kept as its repr
        nested = {"child": [nested, "x" * 300]}

    @decision("load", memory=memory)
    def load(data):
        return None

    load(nested)
    stored = records(memory)[0].context.inputs["data"]
    assert isinstance(stored, str) and len(stored) < LIMIT + 40
    assert stored[:LIMIT] == _stored_text(nested, LIMIT)


def test_a_huge_argument_is_not_copied_past_the_budget(memory, submitted):
    calls = []

    class Costly:
        def __repr__(self) -> str:
            calls.append(1)
            return "<costly>"

    @decision("load", memory=memory)
    def load(rows):
        return None

    load([Costly() for _ in range(100_000)])
    (item,) = submitted
    assert len(calls) < LIMIT // 5  # each repr adds at least 12 characters of JSON
    assert item.size < 2 * LIMIT
    assert isinstance(item.inputs["rows"], str)
    assert item.inputs["rows"].startswith('["<costly>", "<costly>"')


def test_a_value_that_fits_the_budget_is_kept_whole():
    snap = snapshotter(CaptureSettings(max_value_chars=200))
    value = {"a": [1, 2.5, None, True, "x" * 50], "b": {"c": "d"}}
    stored, size = snap.snapshot(value)
    assert stored == value and stored is not value and 0 < size <= 200


def test_a_budget_cut_marker_counts_at_least_one_hidden_character():
    snap = snapshotter(CaptureSettings(max_value_chars=50))
    stored, _ = snap.snapshot(list(range(MAX_ITEMS)))
    full = json.dumps(list(range(MAX_ITEMS)))
    assert stored.startswith(full[:50] + "…[truncated ")
    hidden = int(stored.rsplit(" ", 2)[1])
    assert 1 <= hidden <= len(full) - 50


texts = st.text(alphabet=st.characters(blacklist_categories=()), max_size=12) | st.sampled_from(
    ["", "é", SURROGATE, 'q"\\\n', "x" * 40]
)
keys = texts | st.sampled_from(["api_key", "token", "APIKEY"]) | st.integers()
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts | st.just(2**14_000),
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=4)
        | st.dictionaries(
            texts | st.sampled_from(["api_key", "token"]) | st.integers(), inner, max_size=5
        )
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_like, limit=st.sampled_from([1, 4, 16, 60, 300]))
def test_a_snapshot_is_the_full_conversion_or_its_json_text_cut_at_the_limit(value, limit):
    capture = CaptureSettings(max_value_chars=limit)
    full = LenientJSON(capture).value(value)
    stored, size = snapshotter(capture).snapshot(value)
    assert size >= 0
    json.dumps(stored, ensure_ascii=False).encode("utf-8")  # storable as it is
    if isinstance(full, str):
        assert stored == cut_text(full, limit)
    elif isinstance(stored, str):
        text = json.dumps(full, ensure_ascii=False)
        head, _, tail = stored.rpartition("…[truncated ")
        assert head == text[:limit] and len(head) == limit
        assert 1 <= int(tail.split()[0]) <= len(text) - limit
    else:
        assert stored == full


# -- text UTF-8 cannot encode ------------------------------------------------------------------


def test_lone_surrogates_anywhere_are_stored_as_replacement_characters(tmp_path):
    store = SQLiteStore(tmp_path / "decisions.db")
    memory = MemoryManager("surrogate-agent", store=store)

    @decision("odd_text", memory=memory, tags=[f"tag{SURROGATE}"])
    def odd(n, payload):
        current_decision().rationale = f"because{SURROGATE}"
        current_decision().tags.append(f"t{SURROGATE}{n}")
        if n % 4 == 3:
            raise ValueError(f"bad {SURROGATE} value {n}")
        return {f"out{SURROGATE}": [f"r{SURROGATE}"]}

    for n in range(400):
        payload = {f"key{SURROGATE}{n}": f"value{SURROGATE}", "plain": n}
        if n % 4 == 3:
            with pytest.raises(ValueError, match="bad"):
                odd(n, payload)
        else:
            odd(n, payload)
    assert memory.recorder.flush(timeout=60)
    stored = list(MemoryManager("surrogate-agent", store=store).iter_decisions())
    assert len(stored) == 400
    for record in stored:
        text = record.model_dump_json()
        text.encode("utf-8")  # storable: no lone surrogate left
        assert SURROGATE not in text and "\ufffd" in text
        key = next(k for k in record.context.inputs["payload"] if k.startswith("key"))
        assert key.startswith("key\ufffd")
        assert record.reasoning.rationale == "because\ufffd"
        if not record.outcome.success:
            assert record.outcome.error.startswith("bad \ufffd value")
            assert SURROGATE not in record.outcome.details["traceback"]


# -- the LangChain handler snapshots in its hooks ------------------------------------------------


def test_handler_records_inputs_and_outputs_as_they_were_when_the_hooks_ran(memory):
    produced = {"items": ["a"], "meta": {"step": 1}}

    def produce(request: dict[str, Any]) -> dict[str, Any]:
        return produced

    def consume(data: dict[str, Any]) -> str:
        data["items"].append("changed by the next step")  # the step before is recorded as is
        data["meta"]["step"] = 2
        return "done"

    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    request = {"query": "btc", "filters": ["x"]}
    chain = RunnableLambda(produce, name="produce") | RunnableLambda(consume, name="consume")
    config: Any = {"callbacks": [handler], "metadata": {"region": {"name": "eu"}}}
    chain.invoke(request, config=config)
    request["filters"].append("after")
    config["metadata"]["region"]["name"] = "us"
    by_name = {r.context.extra["run_name"]: r for r in records(memory)}
    step = by_name["produce"]
    assert step.context.inputs == {"query": "btc", "filters": ["x"]}
    assert step.metadata["result"] == {"items": ["a"], "meta": {"step": 1}}
    assert step.context.extra["region"] == {"name": "eu"}
    assert by_name["RunnableSequence"].context.inputs == {"query": "btc", "filters": ["x"]}


def test_handler_records_a_tool_output_as_returned_not_as_later_changed(memory):
    returned: list[dict[str, Any]] = []

    @tool
    def lookup(symbol: str) -> dict[str, Any]:
        """A quote."""
        quote = {"symbol": symbol, "price": 1.0}
        returned.append(quote)
        return quote

    handler = AgentMemoryCallbackHandler(memory)
    for n in range(20):
        lookup.invoke({"symbol": f"S{n}"}, config={"callbacks": [handler]})
        returned[-1]["price"] = -1.0
    tools = [r for r in records(memory) if r.decision_type == "tool_call"]
    assert len(tools) == 20
    assert all(r.metadata["result"]["price"] == 1.0 for r in tools)


def test_handler_hooks_post_snapshots_not_the_callers_objects(memory):
    from agentmem_langchain.capture import events
    from agentmem_langchain.capture import thread as capture_thread

    drain()
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    request = {"query": ["btc"]}
    metadata = {"region": {"name": "eu"}}
    output = {"answer": ["yes"]}
    chain = RunnableLambda(lambda r: output, name="answer")
    capture_thread.unregister(events._stage)  # the events stay posted until drained here
    try:
        chain.invoke(request, config={"callbacks": [handler], "metadata": metadata})
        posted = list(events._pending)
    finally:
        capture_thread.register(events._stage)
    drain()
    for obj in (request, request["query"], metadata, metadata["region"], output):
        assert all(item is not obj for item in posted)


def test_a_chain_whose_parent_the_handler_never_saw_is_recorded_with_its_inputs(memory):
    handler = AgentMemoryCallbackHandler(memory)  # record_chains="root"
    run_id, unknown_parent = uuid.uuid4(), uuid.uuid4()
    inputs = {"question": ["btc"]}
    handler.on_chain_start(
        {"name": "orphan"}, inputs, run_id=run_id, parent_run_id=unknown_parent, name="orphan"
    )
    inputs["question"].append("changed")
    outputs = {"answer": [1]}
    handler.on_chain_end(outputs, run_id=run_id, parent_run_id=unknown_parent)
    outputs["answer"].append(2)
    (record,) = records(memory)
    assert record.context.inputs == {"question": ["btc"]}
    assert record.metadata["result"] == {"answer": [1]}


class Documents(BaseRetriever):
    """A retriever whose documents the test can change after it returned them."""

    returned: list[Document] = []

    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return self.returned


def test_a_typed_retrieval_is_recorded_with_its_documents_as_returned(memory):
    document = Document(page_content="first", metadata={"pattern_id": "p-1"})
    retriever = Documents(returned=[document]).with_config(
        metadata={"agentmem_decision_type": "recall"}
    )
    handler = AgentMemoryCallbackHandler(memory, record_chains=False, record_tools=False)
    retriever.invoke("btc", config={"callbacks": [handler]})
    document.page_content = "changed"
    (record,) = records(memory)
    assert record.decision_type == "recall"
    assert record.metadata["result"][0]["page_content"] == "first"


def test_a_tool_messages_confidence_is_read_before_it_is_copied(memory):
    @tool(response_format="content_and_artifact")
    def rated(symbol: str) -> tuple[str, dict[str, float]]:
        """A quote and how sure it is."""
        return f"{symbol}: 1.0", {"confidence": 0.7}

    handler = AgentMemoryCallbackHandler(memory)
    call = {"name": "rated", "args": {"symbol": "BTC"}, "id": "call-1", "type": "tool_call"}
    rated.invoke(call, config={"callbacks": [handler]})
    (record,) = [r for r in records(memory) if r.decision_type == "tool_call"]
    assert record.reasoning.confidence == 0.7
    assert record.metadata["result"]["content"] == "BTC: 1.0"


# -- log lines -------------------------------------------------------------------------------


def test_a_problem_log_line_stays_under_500_characters_for_a_huge_message(caplog):
    caplog.set_level(logging.WARNING, logger="agentmem_langchain.capture")
    try:
        raise RuntimeError("boom\n" * 10_000)
    except RuntimeError as exc:
        report_problem("snapshot-test-huge", "records: " + "x" * 120_000, exc)
    (line,) = [r for r in caplog.records if r.name == "agentmem_langchain.capture"]
    assert len(line.getMessage()) <= 500 and "\n" not in line.getMessage()
    assert line.exc_info is None  # the traceback is not on the WARNING line
    assert "RuntimeError: boom" in line.getMessage()
    assert all(len(text) <= 500 for text in caplog.text.splitlines())


def test_a_problem_traceback_goes_to_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="agentmem_langchain.capture")
    try:
        raise KeyError("missing")
    except KeyError as exc:
        report_problem("snapshot-test-debug", "lookup failed", exc)
    levels = {r.levelno: r for r in caplog.records if r.name == "agentmem_langchain.capture"}
    assert levels[logging.DEBUG].exc_info is not None
    assert levels[logging.WARNING].exc_info is None
