"""An agent loop driven by langchain-core's fake chat models, recorded by the handlers.

The loop is what tool-calling agents do: ask the model, run the tool calls it emits (each
announced with ``on_agent_action``), feed the results back, stop when it answers in text.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from langchain_core.agents import AgentAction
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain.capture import recorder_for
from agentmem_langchain.langchain.callbacks import (
    AgentMemoryCallbackHandler,
    AsyncAgentMemoryCallbackHandler,
)
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.testing import InMemoryStore

LOGPROBS = {"content": [{"token": "place", "logprob": -0.1}, {"token": "_order", "logprob": -0.3}]}
USAGE = {"input_tokens": 20, "output_tokens": 5, "total_tokens": 25}


@tool
def get_price(symbol: str) -> dict[str, object]:
    """The latest price of a symbol."""
    return {"symbol": symbol, "price": 45000.0, "confidence": 0.9}


@tool
def place_order(symbol: str, side: str) -> str:
    """Place a market order."""
    return f"{side} {symbol} filled"


TOOLS = {"get_price": get_price, "place_order": place_order}


def scripted_model() -> FakeMessagesListChatModel:
    def call(name: str, args: dict[str, str], call_id: str) -> dict[str, object]:
        return {"name": name, "args": args, "id": call_id}

    return FakeMessagesListChatModel(
        responses=[
            AIMessage(
                content="I need the BTC price first.",
                tool_calls=[call("get_price", {"symbol": "BTC"}, "call-1")],
                usage_metadata=USAGE,
                response_metadata={"model_name": "fake-gpt"},
            ),
            AIMessage(
                content="",
                tool_calls=[call("place_order", {"symbol": "BTC", "side": "buy"}, "call-2")],
                usage_metadata=USAGE,
                response_metadata={"model_name": "fake-gpt", "logprobs": LOGPROBS},
            ),
            AIMessage(content="Bought BTC.", usage_metadata=USAGE),
        ]
    )


def agent_loop(question: str, run_manager) -> str:
    model, messages = scripted_model(), [HumanMessage(question)]
    for _ in range(5):
        reply = model.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            if reply.content:
                run_manager.on_agent_action(
                    AgentAction(call["name"], call["args"], f"Thought: {reply.content}")
                )
            messages.append(TOOLS[call["name"]].invoke(call))
    raise RuntimeError("the agent did not finish")


async def agent_loop_async(question: str, run_manager) -> str:
    model, messages = scripted_model(), [HumanMessage(question)]
    for _ in range(5):
        reply = await model.ainvoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            if reply.content:
                await run_manager.on_agent_action(
                    AgentAction(call["name"], call["args"], f"Thought: {reply.content}")
                )
            messages.append(await TOOLS[call["name"]].ainvoke(call))
    raise RuntimeError("the agent did not finish")


agent = RunnableLambda(agent_loop, afunc=agent_loop_async, name="trading_agent")


@pytest.fixture
def memory() -> MemoryManager:
    return MemoryManager("btc-agent-001", store=InMemoryStore())


def stored(memory: MemoryManager) -> list[DecisionRecord]:
    assert memory.flush(timeout=5)
    assert recorder_for(memory.store).flush(timeout=5)
    records = memory.store.query_decisions(memory.agent_id, limit=1000).items
    return sorted(records, key=lambda r: (r.timestamp, r.decision_id))


def assert_one_agent_trace(records: list[DecisionRecord]) -> None:
    root, price, order = records
    assert [r.decision_type for r in records] == ["chain_step", "tool_call", "tool_call"]
    assert root.context.extra["run_name"] == "trading_agent"
    assert root.context.inputs == {"value": "buy BTC?"}
    assert root.metadata["result"] == "Bought BTC."
    assert root.metadata["usage"] == {"input": 60, "output": 15, "total": 75}
    for tool_call in (price, order):
        assert tool_call.parent_decision_id == root.decision_id
        assert tool_call.trace_id == root.decision_id
        assert tool_call.metadata["model"] == "fake-gpt"
        assert tool_call.outcome is not None and tool_call.outcome.success
        assert tool_call.outcome.latency_ms is not None and tool_call.outcome.latency_ms >= 0
    assert price.context.inputs == {"symbol": "BTC"}
    assert price.reasoning.rationale == "Thought: I need the BTC price first."
    assert price.reasoning.confidence == 0.9  # the tool's own output wins over logprobs
    assert price.metadata["tool_call_id"] == "call-1"
    assert order.context.inputs == {"symbol": "BTC", "side": "buy"}
    assert order.reasoning.rationale is None
    assert order.reasoning.confidence == pytest.approx(math.exp(-0.2))
    assert order.reasoning.selected == ["place_order"]
    assert root.outcome is not None and root.outcome.latency_ms >= order.outcome.latency_ms


def test_agent_loop_invoke(memory):
    handler = AgentMemoryCallbackHandler(memory)
    assert agent.invoke("buy BTC?", config={"callbacks": [handler]}) == "Bought BTC."
    assert_one_agent_trace(stored(memory))
    assert handler.errors == 0 and handler.live_runs == 0


def test_agent_loop_batch_in_threads(memory):
    handler = AgentMemoryCallbackHandler(memory)
    answers = agent.batch(["buy BTC?"] * 4, config={"callbacks": [handler], "max_concurrency": 4})
    assert answers == ["Bought BTC."] * 4
    records = stored(memory)
    roots = [r for r in records if r.parent_decision_id is None]
    assert len(roots) == 4 and len(records) == 12
    for root in roots:
        assert_one_agent_trace([r for r in records if r.trace_id == root.decision_id])


@pytest.mark.parametrize(
    "handler_class", [AgentMemoryCallbackHandler, AsyncAgentMemoryCallbackHandler]
)
def test_agent_loop_ainvoke(memory, handler_class):
    handler = handler_class(memory)
    answer = asyncio.run(agent.ainvoke("buy BTC?", config={"callbacks": [handler]}))
    assert answer == "Bought BTC."
    assert_one_agent_trace(stored(memory))


def test_agent_loop_astream(memory):
    handler = AsyncAgentMemoryCallbackHandler(memory)

    async def consume() -> list[str]:
        return [chunk async for chunk in agent.astream("buy BTC?", config={"callbacks": [handler]})]

    assert asyncio.run(consume()) == ["Bought BTC."]
    assert_one_agent_trace(stored(memory))


def test_streamed_model_output_drives_a_tool_call(memory):
    # GenericFakeChatModel streams its answer token by token; the last step acts on it.
    model = GenericFakeChatModel(messages=iter(["get_price BTC"]))
    chain = model | RunnableLambda(lambda msg: get_price.invoke({"symbol": msg.content.split()[1]}))
    handler = AgentMemoryCallbackHandler(memory, record_llm=True)

    async def consume() -> list[object]:
        return [chunk async for chunk in chain.astream("price?", config={"callbacks": [handler]})]

    assert asyncio.run(consume())[-1]["price"] == 45000.0
    root, llm_call, tool_call = stored(memory)
    assert [r.decision_type for r in (root, llm_call, tool_call)] == [
        "chain_step",
        "llm_call",
        "tool_call",
    ]
    assert llm_call.metadata["result"]["text"] == "get_price BTC"
    assert llm_call.parent_decision_id == tool_call.parent_decision_id == root.decision_id
