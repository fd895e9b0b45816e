"""The handler never breaks a chain, never leaks runs, and instrument() is idempotent."""

from __future__ import annotations

import threading
import uuid

import pytest
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain.capture import recorder_for
from agentmem_langchain.errors import StoreUnavailableError
from agentmem_langchain.langchain import tracing
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.langchain.tracing import instrument, uninstrument
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.testing import InMemoryStore


@tool
def echo(text: str) -> str:
    """Return the text."""
    return text


class BrokenStore(InMemoryStore):
    def put_decision(self, record):
        raise StoreUnavailableError("down")

    def put_decisions(self, records):
        raise StoreUnavailableError("down")


def chain():
    return RunnableLambda(lambda x: x, name="prep") | RunnableLambda(
        lambda x: echo.invoke({"text": x}), name="act"
    )


def test_store_that_raises_never_reaches_the_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recorder may spill to a journal under the cwd
    memory = MemoryManager("safe-agent", store=BrokenStore())
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    assert chain().invoke("hello", config={"callbacks": [handler]}) == "hello"
    recorder_for(memory.store).flush(timeout=0.5)
    assert handler.errors == 0 and handler.live_runs == 0


def test_failing_name_filter_is_counted_not_raised():
    def broken_filter(name: str) -> bool:
        raise RuntimeError("filter bug")

    memory = MemoryManager("safe-agent", store=InMemoryStore())
    handler = AgentMemoryCallbackHandler(memory, name_filter=broken_filter)
    assert chain().invoke("hi", config={"callbacks": [handler]}) == "hi"
    assert handler.errors == 4  # the sequence, two steps and the tool each failed to start
    assert handler.live_runs == 0


ODD_VALUES = [None, 42, "text", object(), {"generations": "nope"}, [[None]], float("nan")]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_hooks_fed_odd_inputs_never_raise(odd):
    handler = AgentMemoryCallbackHandler(MemoryManager("odd-agent", store=InMemoryStore()))
    run_id, child = uuid.uuid4(), uuid.uuid4()
    meta = {"agentmem_confidence": odd, "agentmem_decision_type": odd}
    handler.on_chain_start(odd, odd, run_id=run_id, metadata=meta, tags=odd, name=odd)
    handler.on_tool_start(odd, odd, run_id=child, parent_run_id=run_id, inputs=odd)
    handler.on_agent_action(odd, run_id=run_id)
    handler.on_chat_model_start(odd, odd, run_id=uuid.uuid4(), parent_run_id=odd)
    handler.on_llm_end(odd, run_id=uuid.uuid4(), parent_run_id=run_id)
    handler.on_retriever_end(odd, run_id=uuid.uuid4())
    handler.on_tool_end(odd, run_id=child)
    handler.on_tool_error(odd, run_id=uuid.uuid4())
    handler.on_chain_error(ValueError("x"), run_id=run_id, inputs=odd)
    assert handler.live_runs <= 1  # at most the chat model run, which never ended


def test_runs_that_never_end_are_bounded():
    handler = AgentMemoryCallbackHandler(
        MemoryManager("leaky-agent", store=InMemoryStore()), max_runs=10
    )
    for _ in range(50):
        handler.on_tool_start({"name": "t"}, "x", run_id=uuid.uuid4())
    assert handler.live_runs == 10
    assert handler.evicted_runs == 40


def test_run_map_is_emptied_on_error():
    handler = AgentMemoryCallbackHandler(MemoryManager("err-agent", store=InMemoryStore()))

    def explode(x: str) -> str:
        raise KeyError(x)

    with pytest.raises(KeyError):
        (RunnableLambda(str) | RunnableLambda(explode)).invoke("k", config={"callbacks": [handler]})
    assert handler.live_runs == 0


def test_disabled_handler_records_nothing():
    memory = MemoryManager("off-agent", store=InMemoryStore())
    handler = AgentMemoryCallbackHandler(memory)
    handler.enabled = False
    echo.invoke({"text": "x"}, config={"callbacks": [handler]})
    assert recorder_for(memory.store).flush(timeout=5)
    assert memory.store.query_decisions("off-agent").items == []
    assert handler.live_runs == 0


@pytest.fixture
def instrumented_memory():
    memory = MemoryManager("instrumented-agent", store=InMemoryStore())
    yield memory
    uninstrument()


def recorded(memory: MemoryManager) -> list[str]:
    assert recorder_for(memory.store).flush(timeout=5)
    return [r.decision_type for r in memory.store.query_decisions(memory.agent_id).items]


def test_instrument_records_runs_without_callbacks(instrumented_memory):
    handler = instrument(instrumented_memory)
    assert instrument(instrumented_memory) is handler  # safe to call twice
    chain().invoke("hi")
    assert sorted(recorded(instrumented_memory)) == ["chain_step", "tool_call"]


def test_instrument_reaches_new_threads(instrumented_memory):
    instrument(instrumented_memory)
    worker = threading.Thread(target=lambda: echo.invoke({"text": "from a thread"}))
    worker.start()
    worker.join()
    assert recorded(instrumented_memory) == ["tool_call"]


def test_explicit_handler_is_not_doubled_by_instrument(instrumented_memory):
    instrument(instrumented_memory)
    own = MemoryManager("own-agent", store=InMemoryStore())
    echo.invoke({"text": "x"}, config={"callbacks": [AgentMemoryCallbackHandler(own)]})
    assert recorded(own) == ["tool_call"]
    assert recorded(instrumented_memory) == []


def test_uninstrument_stops_recording(instrumented_memory):
    instrument(instrumented_memory)
    uninstrument()
    uninstrument()  # harmless twice
    echo.invoke({"text": "x"})
    assert recorded(instrumented_memory) == []


def test_instrument_twice_keeps_one_handler_and_new_settings(instrumented_memory):
    handler = instrument(instrumented_memory)
    assert instrument(record_tools=False) is handler is tracing._instrumented
    assert handler.record_tools is False and handler.memory is instrumented_memory
    echo.invoke({"text": "x"})
    assert recorded(instrumented_memory) == []
