"""@decision on every kind of callable: what is recorded, and that the call is unchanged."""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from agentmem_langchain import DecisionLogger, MemoryManager
from agentmem_langchain.capture import ContextThreadPoolExecutor, suppress_capture
from agentmem_langchain.decorators import current_decision, decision
from agentmem_langchain.testing import InMemoryStore


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # any journal goes to a temporary folder


@pytest.fixture
def memory() -> MemoryManager:
    return MemoryManager("agent-1", store=InMemoryStore())


def recorded(memory: MemoryManager, agent_id: str | None = None):
    reader = memory if agent_id is None else MemoryManager(agent_id, store=memory.store)
    return sorted(reader.iter_decisions(), key=lambda r: r.decision_id)


def only(memory: MemoryManager, agent_id: str | None = None):
    records = recorded(memory, agent_id)
    assert len(records) == 1, records
    return records[0]


def test_a_sync_call_records_arguments_result_latency_and_success(memory):
    @decision("source_selection", memory=memory)
    def choose(sources, budget=2, *extra, **options):
        return sources[:budget]

    assert choose(["a", "b", "c"], 1, "x", mode="fast") == ["a"]
    record = only(memory)
    assert record.decision_type == "source_selection" and record.agent_id == "agent-1"
    assert record.context.inputs == {
        "sources": ["a", "b", "c"],
        "budget": 1,
        "extra": ["x"],
        "mode": "fast",
    }
    assert record.metadata["result"] == ["a"]
    assert record.metadata["function"].endswith("choose")
    assert record.outcome is not None and record.outcome.success is True
    assert record.outcome.latency_ms is not None and record.outcome.latency_ms >= 0
    assert record.trace_id == record.decision_id and record.parent_decision_id is None
    assert record.ttl is not None


def test_bare_decorator_uses_the_function_name_and_keeps_its_signature(memory):
    @decision
    def rebalance(portfolio: str) -> str:
        """Rebalance a portfolio."""
        return portfolio

    assert rebalance.__name__ == "rebalance" and rebalance.__doc__ == "Rebalance a portfolio."
    assert list(inspect.signature(rebalance).parameters) == ["portfolio"]
    from agentmem_langchain.decorators import set_default_memory

    set_default_memory(memory)
    try:
        rebalance("core")
    finally:
        set_default_memory(None)
    assert only(memory).decision_type == "rebalance"


def test_the_users_exception_is_reraised_unchanged_and_recorded(memory):
    error = ValueError("bad input")

    @decision("risk_assessment", memory=memory)
    def assess():
        raise error

    with pytest.raises(ValueError, match="bad input") as caught:
        assess()
    assert caught.value is error
    outcome = only(memory).outcome
    assert outcome is not None and outcome.success is False
    assert (outcome.error_type, outcome.error) == ("ValueError", "bad input")
    assert "raise error" in outcome.details["traceback"]


def test_an_async_function_is_recorded_and_stays_a_coroutine_function(memory):
    @decision("llm_call", memory=memory)
    async def ask(question):
        await asyncio.sleep(0)
        return {"answer": 42, "confidence": 0.6}

    assert inspect.iscoroutinefunction(ask)
    assert asyncio.run(ask("meaning")) == {"answer": 42, "confidence": 0.6}
    record = only(memory)
    assert record.context.inputs == {"question": "meaning"}
    assert record.reasoning.confidence == 0.6


def test_a_generator_yields_unchanged_and_records_count_and_return(memory):
    @decision("query_execution", memory=memory)
    def rows(n):
        yield from range(n)
        return "done"

    assert list(rows(3)) == [0, 1, 2]
    record = only(memory)
    assert record.metadata["yielded"] == 3 and record.metadata["result"] == "done"
    assert record.outcome is not None and record.outcome.success


def test_a_generator_consumed_partially_is_recorded_as_incomplete(memory):
    closed = []

    @decision("query_execution", memory=memory)
    def rows():
        try:
            yield from range(100)
        finally:
            closed.append(True)

    for value in rows():
        if value == 2:
            break
    assert closed == [True]
    record = only(memory)
    assert record.metadata["yielded"] == 3 and record.metadata["completed"] is False
    assert record.outcome is not None and record.outcome.success


def test_a_generator_failing_midway_raises_unchanged_and_records_the_error(memory):
    @decision("query_execution", memory=memory)
    def rows():
        yield 1
        raise KeyError("gone")

    gen = rows()
    assert next(gen) == 1
    with pytest.raises(KeyError, match="gone"):
        next(gen)
    outcome = only(memory).outcome
    assert outcome is not None and outcome.error_type == "KeyError"


def test_send_and_throw_reach_the_wrapped_generator(memory):
    @decision("echo", memory=memory)
    def echo():
        received = []
        try:
            while True:
                received.append((yield len(received)))
        except RuntimeError:
            yield received

    gen = echo()
    assert next(gen) == 0
    assert gen.send("a") == 1
    assert gen.throw(RuntimeError("stop")) == ["a"]
    gen.close()
    assert only(memory).metadata["yielded"] == 3


def test_an_async_generator_full_and_partial(memory):
    @decision("stream", memory=memory)
    async def stream(n):
        for i in range(n):
            yield i

    async def consume():
        assert [x async for x in stream(3)] == [0, 1, 2]
        partial = stream(10)
        assert await partial.__anext__() == 0
        await partial.aclose()

    asyncio.run(consume())
    full, cut = sorted(recorded(memory), key=lambda r: "completed" in r.metadata)
    assert full.metadata["yielded"] == 3 and "completed" not in full.metadata
    assert cut.metadata == {**cut.metadata, "yielded": 1, "completed": False}


class Agent:
    def __init__(self, memory: MemoryManager, agent_id: str) -> None:
        self.memory = memory
        self.agent_id = agent_id

    @decision("strategy_selection")
    def pick(self, strategies, top=1):
        return strategies[:top]

    @decision("custom")
    @classmethod
    def outer_classmethod(cls, x):
        return x

    @classmethod
    @decision("custom")
    def inner_classmethod(cls, x):
        return x

    @decision("custom")
    @staticmethod
    def outer_staticmethod(x):
        return x

    @staticmethod
    @decision("custom")
    def inner_staticmethod(x):
        return x


def test_an_instance_method_drops_self_and_uses_its_agent_and_memory(memory):
    agent = Agent(memory, "btc-agent-001")
    assert agent.pick(["momentum", "carry"]) == ["momentum"]
    record = only(memory, "btc-agent-001")
    assert record.context.inputs == {"strategies": ["momentum", "carry"], "top": 1}


@pytest.mark.parametrize(
    "name", ["outer_classmethod", "inner_classmethod", "outer_staticmethod", "inner_staticmethod"]
)
def test_classmethods_and_staticmethods_record_their_arguments(memory, name):
    from agentmem_langchain.decorators import set_default_memory

    set_default_memory(memory)
    try:
        assert getattr(Agent, name)(5) == 5
        assert getattr(Agent(memory, "ignored"), name)(6) == 6
    finally:
        set_default_memory(None)
    records = recorded(memory)
    assert sorted(r.context.inputs["x"] for r in records) == [5, 6]


def test_nested_calls_become_parent_and_child_in_one_trace(memory):
    @decision("child", memory=memory)
    def child():
        return current_decision().decision_id

    @decision("root", memory=memory)
    def root():
        return current_decision().decision_id, child(), child()

    root_id, first, second = root()
    by_id = {r.decision_id: r for r in recorded(memory)}
    assert by_id[first].parent_decision_id == root_id == by_id[second].parent_decision_id
    assert {r.trace_id for r in by_id.values()} == {root_id}
    assert current_decision() is None


def test_calls_made_by_a_generators_consumer_are_not_its_children(memory):
    @decision("inner", memory=memory)
    def inner():
        return current_decision().parent_decision_id

    @decision("gen", memory=memory)
    def gen():
        yield inner()  # inside the generator: its child
        yield None

    produced = gen()
    parent_inside = next(produced)
    parent_outside = inner()  # the consumer, between two steps
    list(produced)
    assert parent_inside is not None and parent_outside is None


def test_threads_through_the_context_executor_are_children(memory):
    @decision("work", memory=memory)
    def work(n):
        return current_decision().parent_decision_id

    @decision("fan_out", memory=memory)
    def fan_out():
        with ContextThreadPoolExecutor(max_workers=4) as pool:
            return current_decision().decision_id, list(pool.map(work, range(8)))

    root_id, parents = fan_out()
    assert parents == [root_id] * 8


def test_concurrent_threads_do_not_cross_talk(memory):
    @decision("leaf", memory=memory)
    def leaf(owner):
        return current_decision().parent_decision_id

    @decision("branch", memory=memory)
    def branch(owner):
        mine = current_decision().decision_id
        return all(leaf(owner) == mine for _ in range(20))

    results: list[bool] = []
    threads = [threading.Thread(target=lambda i=i: results.append(branch(i))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8
    records = recorded(memory)
    branches = {
        r.decision_id: r.context.inputs["owner"] for r in records if r.decision_type == "branch"
    }
    for r in records:
        if r.decision_type == "leaf":
            assert branches[r.parent_decision_id] == r.context.inputs["owner"]


def test_concurrent_asyncio_tasks_do_not_cross_talk(memory):
    @decision("leaf", memory=memory)
    async def leaf():
        await asyncio.sleep(0)
        return current_decision().parent_decision_id

    @decision("task", memory=memory)
    async def task(i):
        mine = current_decision().decision_id
        parents = await asyncio.gather(leaf(), leaf())
        return parents == [mine, mine]

    async def main():
        return await asyncio.gather(*(task(i) for i in range(20)))

    assert asyncio.run(main()) == [True] * 20
    assert len(recorded(memory)) == 60


def test_current_decision_sets_reasoning_and_results_are_read(memory):
    @decision("signal_generation", memory=memory)
    def signal():
        now = current_decision()
        now.scores = {"rsi": 0.3}
        now.alternatives = ["hold"]
        now.patterns_applied = ["p-1"]
        return {"selected": "buy", "confidence": 0.75, "reasoning": "oversold"}

    signal()
    reasoning = only(memory).reasoning
    assert reasoning.scores == {"rsi": 0.3} and reasoning.selected == ["buy"]
    assert (reasoning.confidence, reasoning.rationale) == (0.75, "oversold")
    assert (reasoning.alternatives, reasoning.patterns_applied) == (["hold"], ["p-1"])


def test_confidence_argument_as_number_or_function_of_the_result(memory):
    @decision("a", memory=memory, confidence=0.4)
    def fixed():
        return None

    @decision("b", memory=memory, confidence=lambda r: r / 10)
    def computed():
        return 9

    fixed()
    computed()
    by_type = {r.decision_type: r.reasoning.confidence for r in recorded(memory)}
    assert by_type == {"a": 0.4, "b": 0.9}


def test_capture_args_and_result_can_be_turned_off(memory):
    @decision("private", memory=memory, capture_args=False, capture_result=False)
    def private(password_hint):
        return {"confidence": 0.5, "payload": "secret stuff"}

    private("hint")
    record = only(memory)
    assert record.context.inputs == {} and "result" not in record.metadata
    assert record.reasoning.confidence == 0.5


def test_secret_arguments_are_masked_and_redact_hooks_apply(memory):
    def redact(data):
        data["inputs"]["email"] = "[redacted]"
        return data

    @decision("call_api", memory=memory, redact=redact)
    def call_api(email, api_key, text):
        return len(text)

    call_api("a@b.c", "sk-live-123", "x" * 10_000)
    inputs = only(memory).context.inputs
    assert inputs["email"] == "[redacted]" and inputs["api_key"] == "***"
    assert inputs["text"].endswith("…[truncated 6000 chars]")


def test_suppress_capture_records_nothing(memory):
    @decision("quiet", memory=memory)
    def quiet():
        return current_decision()

    with suppress_capture():
        assert quiet() is None
    assert recorded(memory) == []


def test_outcomes_logged_later_attach_to_the_decision(memory):
    @decision("source_selection", memory=memory)
    def choose():
        return current_decision().decision_id

    first, second = choose(), choose()
    DecisionLogger(memory).log_outcome(first, "source_selection", success=False, quality_score=0.1)
    other_process = MemoryManager("agent-1", store=memory.store)
    other_process.log_outcome(second, success=True, quality_score=0.9)
    by_id = {r.decision_id: r for r in recorded(memory)}
    assert by_id[first].outcome.quality_score == 0.1 and not by_id[first].outcome.success
    assert by_id[second].outcome.quality_score == 0.9


def test_reads_wait_for_decisions_captured_in_this_process(memory):
    class SlowStore(InMemoryStore):
        def put_decisions(self, records):
            gate.wait(5)
            super().put_decisions(records)

    gate = threading.Event()
    slow = MemoryManager("agent-1", store=SlowStore())

    @decision("chain_step", memory=slow)
    def step(i):
        return i

    for i in range(5):
        step(i)
    threading.Timer(0.05, gate.set).start()
    assert len(slow.query_decisions().items) == 5


def test_library_failures_never_reach_the_caller(memory):
    class BrokenStore(InMemoryStore):
        def put_decisions(self, records):
            raise OSError("disk on fire")

    broken = MemoryManager("agent-1", store=BrokenStore())

    class Weird:
        memory = broken

        @property
        def agent_id(self):
            raise RuntimeError("property bug")

        @decision("custom", redact=lambda data: 1 / 0)
        def act(self, x):
            return x * 2

    try:
        assert Weird().act(21) == 42
        assert broken.flush(timeout=0.2) is False  # the store is broken; nothing raised
    finally:
        broken.recorder.close(timeout=0)


def test_decisions_are_stamped_by_the_memorys_clock():
    from datetime import datetime, timezone

    from agentmem_langchain.testing import FakeClock

    clock = FakeClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    simulated = MemoryManager("sim-agent", store=InMemoryStore(clock=clock), clock=clock)

    @decision("tool_call", memory=simulated)
    def act() -> int:
        return 1

    act()
    clock.advance(hours=5)
    act()
    stamps = sorted(r.timestamp for r in simulated.iter_decisions())
    assert stamps == [
        datetime(2030, 1, 1, tzinfo=timezone.utc),
        datetime(2030, 1, 1, 5, tzinfo=timezone.utc),
    ]
