"""The LangChain handler on real runnables and tools: what lands in the store."""

from __future__ import annotations

import uuid

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain.capture import CapturedDecision, current_parent, recorder_for, use_decision
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.langchain.run_details import uuid_text
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.testing import InMemoryStore


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def scored_lookup(symbol: str) -> dict[str, object]:
    """A lookup that reports how sure it is."""
    return {"symbol": symbol, "price": 45000.0, "confidence": 0.9}


@pytest.fixture
def memory() -> MemoryManager:
    return MemoryManager("chain-agent", store=InMemoryStore())


def stored(memory: MemoryManager) -> list[DecisionRecord]:
    assert memory.flush(timeout=5)
    assert recorder_for(memory.store).flush(timeout=5)
    records = list(memory.store.query_decisions(memory.agent_id, limit=1000).items)
    return sorted(records, key=lambda r: (r.timestamp, r.decision_id))


def five_steps():
    return (
        RunnableLambda(lambda x: x + 1, name="parse")
        | RunnableLambda(lambda x: x * 2, name="enrich")
        | RunnableLambda(lambda x: add.invoke({"a": x, "b": 1}), name="call_tool")
        | RunnableLambda(lambda x: x - 1, name="score")
        | RunnableLambda(str, name="render")
    )


def test_tool_run_becomes_tool_call_decision(memory):
    handler = AgentMemoryCallbackHandler(memory)
    assert add.invoke({"a": 1, "b": 2}, config={"callbacks": [handler]}) == 3
    [record] = stored(memory)
    assert record.decision_type == "tool_call"
    assert record.agent_id == "chain-agent"
    assert record.context.inputs == {"a": 1, "b": 2}
    assert record.context.extra["run_name"] == "add"
    assert record.reasoning.selected == ["add"]
    assert record.outcome is not None and record.outcome.success
    assert record.outcome.latency_ms is not None and record.outcome.latency_ms >= 0
    assert record.metadata["result"] == 3


def test_root_chain_is_parent_of_tool_call(memory):
    handler = AgentMemoryCallbackHandler(memory)
    assert five_steps().invoke(1, config={"callbacks": [handler]}) == "4"
    root, tool_call = stored(memory)
    assert (root.decision_type, tool_call.decision_type) == ("chain_step", "tool_call")
    assert root.parent_decision_id is None and root.trace_id == root.decision_id
    assert tool_call.parent_decision_id == root.decision_id
    assert tool_call.trace_id == root.decision_id
    assert root.context.inputs == {"value": 1} and root.metadata["result"] == "4"


def test_record_chains_true_records_every_step(memory):
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    five_steps().invoke(1, config={"callbacks": [handler]})
    records = stored(memory)
    names = [r.context.extra["run_name"] for r in records if r.decision_type == "chain_step"]
    assert names == ["RunnableSequence", "parse", "enrich", "call_tool", "score", "render"]
    by_name = {r.context.extra["run_name"]: r for r in records}
    assert by_name["add"].parent_decision_id == by_name["call_tool"].decision_id
    assert by_name["parse"].parent_decision_id == by_name["RunnableSequence"].decision_id


def test_record_chains_false_keeps_tools_only(memory):
    handler = AgentMemoryCallbackHandler(memory, record_chains=False)
    five_steps().invoke(1, config={"callbacks": [handler]})
    [record] = stored(memory)
    assert record.decision_type == "tool_call" and record.parent_decision_id is None


def test_name_filter_selects_chain_steps(memory):
    handler = AgentMemoryCallbackHandler(
        memory, record_chains=True, record_tools=False, name_filter={"enrich", "score"}
    )
    five_steps().invoke(1, config={"callbacks": [handler]})
    assert [r.context.extra["run_name"] for r in stored(memory)] == ["enrich", "score"]


def test_metadata_decision_type_marks_one_step_not_its_children(memory):
    risky = RunnableLambda(lambda x: add.invoke({"a": x, "b": 0}), name="risk").with_config(
        metadata={"agentmem_decision_type": "risk_assessment"}
    )
    chain = RunnableLambda(lambda x: x, name="prep") | risky
    handler = AgentMemoryCallbackHandler(memory, record_chains=False)
    chain.invoke(5, config={"callbacks": [handler]})
    risk, tool_call = stored(memory)
    assert risk.decision_type == "risk_assessment"
    assert tool_call.decision_type == "tool_call"
    assert tool_call.parent_decision_id == risk.decision_id


def test_failed_step_is_recorded_and_the_error_reaches_the_caller(memory):
    def explode(x: int) -> int:
        raise ValueError("bad input 7")

    chain = RunnableLambda(lambda x: x, name="prep") | RunnableLambda(explode, name="explode")
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    with pytest.raises(ValueError, match="bad input 7"):
        chain.invoke(7, config={"callbacks": [handler]})
    failed = {r.context.extra["run_name"]: r.outcome for r in stored(memory)}
    assert failed["explode"] is not None and failed["explode"].success is False
    assert failed["explode"].error_type == "ValueError"
    assert failed["RunnableSequence"] is not None and not failed["RunnableSequence"].success
    assert failed["prep"] is not None and failed["prep"].success
    assert handler.live_runs == 0


def test_confidence_from_run_metadata_wins_over_output(memory):
    handler = AgentMemoryCallbackHandler(memory)
    config = {"callbacks": [handler], "metadata": {"agentmem_confidence": 0.35}}
    scored_lookup.invoke({"symbol": "BTC"}, config=config)
    [record] = stored(memory)
    assert record.reasoning.confidence == 0.35


def test_confidence_from_tool_output(memory):
    handler = AgentMemoryCallbackHandler(memory)
    scored_lookup.invoke({"symbol": "BTC"}, config={"callbacks": [handler]})
    [record] = stored(memory)
    assert record.reasoning.confidence == 0.9


@pytest.mark.parametrize("bad", [1.5, float("nan"), "high", True, -0.1])
def test_invalid_metadata_confidence_is_ignored(memory, bad):
    handler = AgentMemoryCallbackHandler(memory)
    add.invoke(
        {"a": 1, "b": 1}, config={"callbacks": [handler], "metadata": {"agentmem_confidence": bad}}
    )
    [record] = stored(memory)
    assert record.reasoning.confidence is None
    assert record.outcome is not None and record.outcome.success


def test_code_inside_a_tool_run_gets_the_tool_as_parent(memory):
    seen: list[tuple[str | None, str | None]] = []

    @tool
    def inspect_parent(x: int) -> int:
        """Report the parent a decorated function would get here."""
        seen.append(current_parent())
        return x

    handler = AgentMemoryCallbackHandler(memory)
    inspect_parent.invoke({"x": 1}, config={"callbacks": [handler]})
    [record] = stored(memory)
    assert seen == [(record.decision_id, record.trace_id)]


def test_chain_inside_a_decorated_decision_is_its_child(memory):
    outer = CapturedDecision(agent_id="chain-agent", decision_type="strategy_selection")
    handler = AgentMemoryCallbackHandler(memory)
    with use_decision(outer):
        five_steps().invoke(1, config={"callbacks": [handler]})
    root, tool_call = stored(memory)
    assert root.parent_decision_id == outer.decision_id
    assert root.trace_id == outer.decision_id == tool_call.trace_id


class PatternRetriever(BaseRetriever):
    """Stands in for the library's retriever: documents carry a ``pattern_id``."""

    ids: list[str]

    def _get_relevant_documents(self, query: str, *, run_manager) -> list[Document]:
        docs = [Document(page_content=f"pattern {i}", metadata={"pattern_id": i}) for i in self.ids]
        return [*docs, Document(page_content="plain document")]


def test_retrieved_patterns_become_patterns_applied(memory):
    retriever = PatternRetriever(ids=["01HZXPATTERNAAAAAAAAAAAAAA", "01HZXPATTERNBBBBBBBBBBBBBB"])
    chain = RunnableLambda(lambda q: retriever.invoke(q), name="recall") | RunnableLambda(
        lambda docs: scored_lookup.invoke({"symbol": "BTC"}), name="act"
    )
    handler = AgentMemoryCallbackHandler(memory)
    chain.invoke("btc volatility", config={"callbacks": [handler]})
    root, tool_call = stored(memory)
    expected = ["01HZXPATTERNAAAAAAAAAAAAAA", "01HZXPATTERNBBBBBBBBBBBBBB"]
    assert tool_call.reasoning.patterns_applied == expected
    assert root.reasoning.patterns_applied == expected


def test_batch_runs_are_separate_traces(memory):
    handler = AgentMemoryCallbackHandler(memory)
    assert five_steps().batch([1, 2, 3], config={"callbacks": [handler]}) == ["4", "6", "8"]
    records = stored(memory)
    roots = [r for r in records if r.decision_type == "chain_step"]
    tools = [r for r in records if r.decision_type == "tool_call"]
    assert len(roots) == 3 and len(tools) == 3
    assert {t.parent_decision_id for t in tools} == {r.decision_id for r in roots}
    assert len({r.trace_id for r in roots}) == 3


def test_handler_is_a_plain_base_callback_handler(memory):
    handler = AgentMemoryCallbackHandler(memory)
    assert isinstance(handler, BaseCallbackHandler)
    assert handler.raise_error is False


def test_agent_id_argument_overrides_the_memory_agent(memory):
    handler = AgentMemoryCallbackHandler(memory, agent_id="other-agent")
    add.invoke({"a": 1, "b": 1}, config={"callbacks": [handler]})
    assert recorder_for(memory.store).flush(timeout=5)
    assert [r.agent_id for r in memory.store.query_decisions("other-agent").items] == [
        "other-agent"
    ]


def test_decorated_function_inside_a_tool_is_its_child(memory):
    from agentmem_langchain.decorators import decision

    @decision("risk_assessment", memory=memory)
    def assess(size: int) -> bool:
        return size < 10

    @tool
    def guarded_order(size: int) -> bool:
        """Place an order if the risk check passes."""
        return assess(size)

    handler = AgentMemoryCallbackHandler(memory)
    assert guarded_order.invoke({"size": 3}, config={"callbacks": [handler]}) is True
    by_type = {r.decision_type: r for r in stored(memory)}
    assert by_type["risk_assessment"].parent_decision_id == by_type["tool_call"].decision_id
    assert by_type["risk_assessment"].trace_id == by_type["tool_call"].trace_id


def test_a_decorated_call_without_memory_looks_its_run_up_once(memory, monkeypatch):
    import threading

    from agentmem_langchain.capture import events
    from agentmem_langchain.decorators import decision

    @decision("risk_assessment")
    def assess(size: int) -> bool:
        return size < 10

    @tool
    def guarded_order(size: int) -> bool:
        """Place an order if the risk check passes."""
        events.drain()  # the tool's start is applied: a lookup reads the table once
        return assess(size)

    handler = AgentMemoryCallbackHandler(memory)
    caller, lookups = threading.current_thread(), []
    table_get = handler._runs.get

    def counted_get(key, default=None):
        if threading.current_thread() is caller and key is not None:  # not the tool's start
            lookups.append(key)
        return table_get(key, default)

    monkeypatch.setattr(handler._runs, "get", counted_get)
    assert guarded_order.invoke({"size": 3}, config={"callbacks": [handler]}) is True
    by_type = {r.decision_type: r for r in stored(memory)}
    assert by_type["risk_assessment"].parent_decision_id == by_type["tool_call"].decision_id
    assert len(lookups) == 1  # its memory and its parent, from one lookup


def test_runs_are_stamped_by_the_memorys_clock():
    from datetime import datetime, timezone

    from agentmem_langchain.testing import FakeClock

    clock = FakeClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    simulated = MemoryManager("sim-agent", store=InMemoryStore(clock=clock), clock=clock)
    handler = AgentMemoryCallbackHandler(simulated)
    RunnableLambda(lambda x: x, name="step").invoke(1, config={"callbacks": [handler]})
    [record] = stored(simulated)
    assert record.timestamp == datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("key", [0, 1, 2**64, 2**128 - 1, uuid.uuid4().int])
def test_a_run_id_is_written_as_its_uuid_text(key):
    assert uuid_text(key) == str(uuid.UUID(int=key))
