"""The callback handler on real LangGraph graphs and ``create_agent`` agents.

What LangGraph shows callbacks (see ``agentmem_langchain.langchain.graph_runs``): routing
functions are child runs of their node, an ``interrupt()`` is a ``GraphInterrupt`` error of
the runs it stops while the top-level graph ends normally, and the resuming run is a new
root on the same ``thread_id``.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

from agentmem_langchain.capture import events
from agentmem_langchain.capture import thread as capture_thread
from agentmem_langchain.decorators import decision, set_default_memory
from agentmem_langchain.langchain.callbacks import (
    AgentMemoryCallbackHandler,
    AsyncAgentMemoryCallbackHandler,
)
from agentmem_langchain.langchain.threads import INTERRUPTED
from agentmem_langchain.langchain.tracing import instrument, uninstrument
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.testing import InMemoryStore
from tests.agent_fakes import ScriptedChatModel, tool_call

HANDLERS = [AgentMemoryCallbackHandler, AsyncAgentMemoryCallbackHandler]


@pytest.fixture
def memory() -> MemoryManager:
    return MemoryManager("graph-agent", store=InMemoryStore())


def stored(memory: MemoryManager, agent_id: str | None = None) -> list[DecisionRecord]:
    assert memory.flush(timeout=5) and memory.recorder.flush(timeout=5)
    records = memory.store.query_decisions(agent_id or memory.agent_id, limit=1000).items
    return sorted(records, key=lambda r: (r.timestamp, r.decision_id))


def by_name(records: list[DecisionRecord]) -> dict[str, list[DecisionRecord]]:
    named: dict[str, list[DecisionRecord]] = {}
    for record in records:
        named.setdefault(record.context.extra.get("run_name", ""), []).append(record)
    return named


def is_interrupted(record: DecisionRecord) -> bool:
    return (
        record.outcome is None
        and INTERRUPTED in record.tags
        and record.context.extra.get("interrupted") is True
    )


# -- a tool that handles its own error -------------------------------------------------------


@tool
def flaky_quote(symbol: str) -> str:
    """A quote service that fails for unknown symbols."""
    raise ToolException(f"no quote for {symbol}")


flaky_quote.handle_tool_error = True


@tool
def get_price(symbol: str) -> str:
    """The latest price of a symbol."""
    return f"{symbol} 45000"


def quoting_agent() -> Any:
    model = ScriptedChatModel(
        responses=[
            tool_call("flaky_quote", {"symbol": "XYZ"}, "call-1"),
            tool_call("get_price", {"symbol": "BTC"}, "call-2"),
            AIMessage("BTC trades at 45000."),
        ]
    )
    return create_agent(model, tools=[flaky_quote, get_price])


def assert_handled_error_is_a_failure(records: list[DecisionRecord]) -> None:
    tools = {r.context.extra["run_name"]: r for r in records if r.decision_type == "tool_call"}
    failed, ok = tools["flaky_quote"].outcome, tools["get_price"].outcome
    assert failed is not None and failed.success is False
    assert failed.error == "no quote for XYZ"
    assert failed.error_type == "ToolError"
    assert ok is not None and ok.success is True


def test_a_tool_error_the_tool_handled_is_a_failure(memory):
    handler = AgentMemoryCallbackHandler(memory)
    result = quoting_agent().invoke({"messages": [("user", "quote")]}, {"callbacks": [handler]})
    assert result["messages"][-1].content == "BTC trades at 45000."
    records = stored(memory)
    assert_handled_error_is_a_failure(records)
    [root] = [r for r in records if r.parent_decision_id is None]
    assert root.outcome is not None and root.outcome.success  # the agent went on
    assert handler.errors == 0


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_tool_error_the_tool_handled_is_a_failure_async(memory, handler_class):
    handler = handler_class(memory)
    question = {"messages": [("user", "quote")]}
    asyncio.run(quoting_agent().ainvoke(question, {"callbacks": [handler]}))
    assert_handled_error_is_a_failure(stored(memory))


# -- interrupt() and resume --------------------------------------------------------------------


class Approval(TypedDict, total=False):
    amount: int
    answer: str


def approval_graph() -> Any:
    def prepare(state: Approval) -> Approval:
        return {"amount": state["amount"] * 2}

    def ask(state: Approval) -> Approval:
        return {"answer": interrupt({"approve": state["amount"]})}

    graph = StateGraph(Approval)
    graph.add_node("prepare", prepare)
    graph.add_node("ask", ask)
    graph.add_edge(START, "prepare")
    graph.add_edge("prepare", "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=InMemorySaver())


def assert_interrupted_then_resumed(records: list[DecisionRecord], thread_id: str) -> None:
    first, resumed = [r for r in records if r.context.extra["run_name"] == "LangGraph"]
    assert is_interrupted(first)
    assert first.parent_decision_id is None and first.context.extra["thread_id"] == thread_id
    assert resumed.parent_decision_id == first.decision_id
    assert resumed.trace_id == first.trace_id == first.decision_id
    assert resumed.outcome is not None and resumed.outcome.success
    assert not is_interrupted(resumed) and resumed.context.extra["thread_id"] == thread_id
    asks = by_name(records)["ask"]
    assert [is_interrupted(a) for a in asks] == [True, False]
    assert asks[0].parent_decision_id == first.decision_id
    assert asks[1].parent_decision_id == resumed.decision_id
    [prepare] = by_name(records)["prepare"]
    assert prepare.outcome is not None and prepare.outcome.success
    assert all(r.trace_id == first.decision_id for r in records)


def test_an_interrupted_graph_is_marked_and_its_resume_continues_the_trace(memory):
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    app, config = approval_graph(), {"configurable": {"thread_id": "t-1"}, "callbacks": [handler]}
    paused = app.invoke({"amount": 5}, config)
    assert paused["__interrupt__"][0].value == {"approve": 10}
    assert app.invoke(Command(resume="yes"), config) == {"amount": 10, "answer": "yes"}
    assert_interrupted_then_resumed(stored(memory), "t-1")
    assert handler.errors == 0 and handler.live_runs == 0


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_an_interrupted_graph_is_marked_in_ainvoke_and_astream(memory, handler_class):
    handler = handler_class(memory, record_chains=True)
    app, config = approval_graph(), {"configurable": {"thread_id": "t-2"}, "callbacks": [handler]}

    async def run() -> list[Any]:
        await app.ainvoke({"amount": 5}, config)
        return [chunk async for chunk in app.astream(Command(resume="no"), config)]

    assert asyncio.run(run()) == [{"ask": {"answer": "no"}}]
    assert_interrupted_then_resumed(stored(memory), "t-2")


def test_an_interrupted_stream_is_marked(memory):
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    app, config = approval_graph(), {"configurable": {"thread_id": "t-3"}, "callbacks": [handler]}
    chunks = list(app.stream({"amount": 5}, config))
    assert "__interrupt__" in chunks[-1]
    list(app.stream(Command(resume="yes"), config))
    assert_interrupted_then_resumed(stored(memory), "t-3")


def test_the_root_alone_is_marked_and_linked_with_the_default_switches(memory):
    handler = AgentMemoryCallbackHandler(memory)  # records the root chain only
    app, config = approval_graph(), {"configurable": {"thread_id": "t-4"}, "callbacks": [handler]}
    app.invoke({"amount": 1}, config)
    app.invoke(Command(resume="yes"), config)
    first, resumed = stored(memory)
    assert is_interrupted(first) and first.context.extra["thread_id"] == "t-4"
    assert (resumed.parent_decision_id, resumed.trace_id) == (first.decision_id, first.trace_id)


def test_another_thread_is_not_linked_to_an_interrupted_one(memory):
    handler = AgentMemoryCallbackHandler(memory)
    app = approval_graph()
    app.invoke({"amount": 1}, {"configurable": {"thread_id": "t-5"}, "callbacks": [handler]})
    app.invoke({"amount": 1}, {"configurable": {"thread_id": "t-6"}, "callbacks": [handler]})
    assert [r.parent_decision_id for r in stored(memory)] == [None, None]


@tool
def place_order(symbol: str) -> str:
    """Place an order once a human approves it."""
    answer = interrupt({"approve": symbol})
    return f"{symbol} {answer}"


def test_an_interrupt_inside_a_tool_marks_the_tool_and_the_agent(memory):
    model = ScriptedChatModel(
        responses=[tool_call("place_order", {"symbol": "BTC"}, "call-1"), AIMessage("Done.")]
    )
    agent = create_agent(model, tools=[place_order], checkpointer=InMemorySaver())
    handler = AgentMemoryCallbackHandler(memory)
    config = {"configurable": {"thread_id": "agent-1"}, "callbacks": [handler]}
    agent.invoke({"messages": [("user", "buy BTC")]}, config)
    result = agent.invoke(Command(resume="approved"), config)
    assert result["messages"][-1].content == "Done."
    first, paused_tool, resumed, done_tool = stored(memory)
    assert is_interrupted(first) and is_interrupted(paused_tool)
    assert paused_tool.parent_decision_id == first.decision_id
    assert resumed.parent_decision_id == first.decision_id
    assert done_tool.parent_decision_id == resumed.decision_id
    assert done_tool.outcome is not None and done_tool.outcome.success
    assert done_tool.metadata["result"]["content"] == "BTC approved"


def test_a_compile_time_breakpoint_is_invisible_to_callbacks(memory):
    # interrupt_before stops the graph without any error: the graph run just ends.
    graph = StateGraph(Approval)
    graph.add_node("prepare", lambda state: {"amount": state["amount"] + 1})
    graph.add_edge(START, "prepare")
    graph.add_edge("prepare", END)
    app = graph.compile(checkpointer=InMemorySaver(), interrupt_before=["prepare"])
    handler = AgentMemoryCallbackHandler(memory)
    app.invoke({"amount": 1}, {"configurable": {"thread_id": "bp"}, "callbacks": [handler]})
    [root] = stored(memory)
    assert root.outcome is not None and root.outcome.success and INTERRUPTED not in root.tags


def test_a_command_for_the_parent_graph_is_not_a_failure(memory):
    class Count(TypedDict):
        x: int

    def hand_up(state: Count) -> Command:
        return Command(graph=Command.PARENT, goto="after", update={"x": state["x"] + 100})

    inner = StateGraph(Count)
    inner.add_node("hand_up", hand_up)
    inner.add_edge(START, "hand_up")
    outer = StateGraph(Count)
    outer.add_node("sub", inner.compile())
    outer.add_node("after", lambda state: {"x": state["x"] + 1})
    outer.add_edge(START, "sub")
    outer.add_edge("after", END)
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    assert outer.compile().invoke({"x": 1}, {"callbacks": [handler]}) == {"x": 102}
    outcomes = [r.outcome for r in stored(memory)]
    assert all(o is not None and o.success for o in outcomes) and len(outcomes) == 5


# -- routing functions -----------------------------------------------------------------------


class Fanout(TypedDict):
    x: int
    items: Annotated[list[int], operator.add]


def routed_graph() -> Any:
    def start_route(state: Fanout) -> str:
        return "prepare"

    def fan_out(state: Fanout) -> list[Send]:
        return [Send("work", {"x": i, "items": []}) for i in range(2)]

    def check_route(state: Fanout) -> str:
        get_price.invoke({"symbol": "BTC"})  # a tool called while routing
        return END

    graph = StateGraph(Fanout)
    graph.add_node("prepare", lambda state: {"x": state["x"] + 1})
    graph.add_node("work", lambda state: {"items": [state["x"]]})
    graph.add_node("check", RunnableLambda(lambda state: {"x": state["x"]}, name="checker"))
    graph.add_conditional_edges(START, start_route, ["prepare"])
    graph.add_conditional_edges("prepare", fan_out, ["work"])
    graph.add_edge("work", "check")
    graph.add_conditional_edges("check", check_route, [END])
    return graph.compile()


def test_routing_functions_are_not_chain_steps(memory):
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    result = routed_graph().invoke({"x": 1, "items": []}, {"callbacks": [handler]})
    assert sorted(result["items"]) == [0, 1]
    records = stored(memory)
    named = by_name(records)
    assert sorted(named) == ["LangGraph", "check", "checker", "get_price", "prepare", "work"]
    assert len(named["work"]) == 2
    [tool_run] = named["get_price"]
    [check] = named["check"]
    assert tool_run.parent_decision_id == check.decision_id  # under the node it routes from
    assert named["checker"][0].parent_decision_id == check.decision_id
    assert handler.errors == 0 and handler.live_runs == 0


def test_routing_functions_are_not_chain_steps_async(memory):
    handler = AsyncAgentMemoryCallbackHandler(memory, record_chains=True)
    asyncio.run(routed_graph().ainvoke({"x": 1, "items": []}, {"callbacks": [handler]}))
    assert "start_route" not in by_name(stored(memory))
    assert sorted(by_name(stored(memory))) == [
        "LangGraph",
        "check",
        "checker",
        "get_price",
        "prepare",
        "work",
    ]


def test_a_plain_sequence_still_records_every_step(memory):
    chain = RunnableLambda(lambda x: x + 1, name="one") | RunnableLambda(lambda x: x, name="two")
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    chain.invoke(1, {"callbacks": [handler]})
    assert sorted(by_name(stored(memory))) == ["RunnableSequence", "one", "two"]


def test_create_agent_records_only_its_nodes(memory):
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    quoting_agent().invoke({"messages": [("user", "quote")]}, {"callbacks": [handler]})
    chain_steps = [r for r in stored(memory) if r.decision_type == "chain_step"]
    assert {r.context.extra["run_name"] for r in chain_steps} == {"LangGraph", "model", "tools"}


# -- decorated functions inside a recorded run --------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[MemoryManager]:
    """A default memory that must stay empty: the enclosing run's memory comes first."""
    other = MemoryManager("default-agent", store=InMemoryStore())
    set_default_memory(other)
    yield other
    set_default_memory(None)


@decision("risk_assessment")
def assess(amount: int) -> bool:
    return amount < 100


def test_a_decorated_function_in_a_node_records_into_the_handlers_memory(memory, elsewhere):
    graph = StateGraph(Approval)
    graph.add_node("check", lambda state: {"answer": str(assess(state["amount"]))})
    graph.add_edge(START, "check")
    graph.add_edge("check", END)
    handler = AgentMemoryCallbackHandler(memory, record_chains=True)
    graph.compile().invoke({"amount": 5}, {"callbacks": [handler]})
    records = stored(memory)
    [check] = by_name(records)["check"]
    [risk] = [r for r in records if r.decision_type == "risk_assessment"]
    assert risk.agent_id == "graph-agent"
    assert (risk.parent_decision_id, risk.trace_id) == (check.decision_id, check.trace_id)
    assert stored(elsewhere) == []


@tool
def guarded_order(amount: int) -> str:
    """Place an order if the risk check passes."""
    return "placed" if assess(amount) else "refused"


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_decorated_function_in_a_tool_records_for_the_handlers_agent(
    memory, elsewhere, handler_class
):
    model = ScriptedChatModel(
        responses=[tool_call("guarded_order", {"amount": 5}, "call-1"), AIMessage("Placed.")]
    )
    agent = create_agent(model, tools=[guarded_order])
    handler = handler_class(memory, agent_id="desk-7")
    asyncio.run(agent.ainvoke({"messages": [("user", "buy")]}, {"callbacks": [handler]}))
    records = stored(memory, "desk-7")
    [tool_run] = [r for r in records if r.decision_type == "tool_call"]
    [risk] = [r for r in records if r.decision_type == "risk_assessment"]
    assert risk.agent_id == "desk-7"
    assert (risk.parent_decision_id, risk.trace_id) == (tool_run.decision_id, tool_run.trace_id)
    assert stored(memory) == [] and stored(elsewhere) == []


def test_a_decorated_function_outside_any_run_uses_the_default_memory(elsewhere):
    assert assess(5) is True
    [record] = stored(elsewhere)
    assert record.parent_decision_id is None


# -- uninstrument() ------------------------------------------------------------------------------


@pytest.fixture
def no_capture_thread() -> Iterator[None]:
    """Events wait until something applies them: runs end, and are not yet recorded."""
    events.drain()
    capture_thread.unregister(events._stage)
    yield
    capture_thread.register(events._stage)


def test_uninstrument_writes_the_runs_that_ended_before_it(memory, no_capture_thread):
    instrument(memory)
    try:
        for symbol in ("BTC", "ETH", "SOL"):
            get_price.invoke({"symbol": symbol})
        assert events.pending() > 0  # ended, not yet applied
    finally:
        assert uninstrument(timeout=5) is True
    records = memory.store.query_decisions(memory.agent_id, limit=10).items  # the store itself
    assert sorted(r.context.inputs["symbol"] for r in records) == ["BTC", "ETH", "SOL"]
    get_price.invoke({"symbol": "ADA"})  # after uninstrument: not recorded
    assert len(stored(memory)) == 3
