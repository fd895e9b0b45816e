"""The handler's hot path: hooks post events, the capture thread (or a flush) applies them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain.capture import events, recorder_for
from agentmem_langchain.capture import thread as capture_thread
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.testing import InMemoryStore
from tests.waiting import wait_for


@tool
def slow_lookup(symbol: str) -> str:
    """Takes 50 ms, like a small network call."""
    time.sleep(0.05)
    return symbol.upper()


def chain() -> Runnable[str, str]:
    return RunnableLambda(lambda s: s.strip(), name="parse") | RunnableLambda(
        lambda s: slow_lookup.invoke({"symbol": s}), name="act"
    )


@pytest.fixture
def memory() -> MemoryManager:
    events.drain()  # nothing another test posted is applied in this one
    return MemoryManager("events-agent", store=InMemoryStore())


@pytest.fixture
def no_capture_thread() -> Iterator[None]:
    """Events wait until something drains them: the test decides when they are applied."""
    capture_thread.unregister(events._stage)  # the thread goes on writing, not applying
    yield
    capture_thread.register(events._stage)


def test_the_callers_thread_only_posts_the_capture_thread_applies(memory):
    applied_on: set[str] = set()

    def accept(name: str) -> bool:  # a name filter runs where events are applied
        applied_on.add(threading.current_thread().name)
        return True

    handler = AgentMemoryCallbackHandler(memory, name_filter=accept)
    recorder = recorder_for(memory.store)
    assert chain().invoke(" btc ", config={"callbacks": [handler]}) == "BTC"
    # No flush, no read: the capture thread alone applies the events and submits.
    assert wait_for(lambda: recorder.stats().accepted == 2, timeout=10)
    assert applied_on == {"agentmem-capture"}
    assert threading.current_thread().name not in applied_on
    kinds = sorted(r.decision_type for r in list(memory.iter_decisions()))
    assert kinds == ["chain_step", "tool_call"]


def test_times_are_taken_by_the_hooks_not_when_events_are_applied(memory, no_capture_thread):
    handler = AgentMemoryCallbackHandler(memory)
    before = datetime.now(timezone.utc)
    chain().invoke(" eth ", config={"callbacks": [handler]})
    after = datetime.now(timezone.utc)
    assert events.pending() > 0
    time.sleep(0.3)  # applied 300 ms later, the records must not say so
    by_type = {r.decision_type: r for r in list(memory.iter_decisions())}
    assert events.pending() == 0
    for record in by_type.values():
        assert before <= record.timestamp <= after
        assert record.outcome is not None and record.outcome.latency_ms is not None
        assert 50 <= record.outcome.latency_ms < 300


def test_a_backlog_is_applied_by_the_hook_that_finds_it(memory, no_capture_thread, monkeypatch):
    monkeypatch.setattr(events, "MAX_PENDING", 100)  # items: an event has 5 to 13
    monkeypatch.setattr(events, "_CHUNK", 5)  # each hook over the limit applies 5 events
    handler = AgentMemoryCallbackHandler(memory)
    most = 0
    for n in range(10):
        chain().invoke(f"s{n}", config={"callbacks": [handler]})
        most = max(most, events.pending())
    assert most <= 100 + 13  # bounded (the limit and one event), though nothing else drained
    assert memory.flush(timeout=5)
    records = list(memory.iter_decisions())
    assert len(records) == 20 and len({r.decision_id for r in records}) == 20
    assert handler.errors == 0 and handler.live_runs == 0


def test_a_forked_child_does_not_apply_its_parents_events(memory, no_capture_thread):
    handler = AgentMemoryCallbackHandler(memory)
    chain().invoke("sol", config={"callbacks": [handler]})
    posted = events.pending()
    assert posted > 0
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os._exit(0 if events.pending() == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert events.pending() == posted  # the parent's are still the parent's to apply
    assert len(list(memory.iter_decisions())) == 2


def test_a_raising_apply_is_reported_and_the_next_event_still_applied(memory, no_capture_thread):
    done: list[int] = []

    @events.event_kind
    def broken(_: object) -> None:
        raise RuntimeError("bug")

    add = events.event_kind(lambda value: done.append(value))
    add_two = events.event_kind(lambda a, b: done.append(a + b))
    events.post((broken, None))
    events.post((add, 7))
    events.post((add_two, 1, 2))
    events.drain()
    assert done == [7, 3] and events.pending() == 0


def test_only_registered_event_kinds_are_called(memory, no_capture_thread):
    called: list[str] = []
    add = events.event_kind(lambda value: called.append(value))

    def stray(*args: object) -> None:  # a function among an event's arguments
        called.append("stray")

    # A drain interrupted between an event's function and its arguments leaves them behind:
    # they are skipped, a function among them not called, and the next event is applied.
    events.post((add, stray))
    events._pending.popleft()
    events.post((len, [1]))  # never registered
    events.post((add, "next"))
    events.drain()
    assert called == ["next"] and events.pending() == 0
    with pytest.raises(TypeError):
        events.event_kind(len)  # type: ignore[arg-type]


def test_a_busy_caller_wakes_the_capture_thread_once(monkeypatch):
    monkeypatch.setattr(capture_thread, "IDLE", 0.3)
    assert wait_for(lambda: not capture_thread._woken, timeout=5)  # waiting to be woken
    wakes: list[int] = []
    wake = capture_thread.wake

    def counted() -> None:
        wakes.append(1)
        wake()

    monkeypatch.setattr(capture_thread, "wake", counted)
    applied: list[int] = []
    add = events.event_kind(lambda value: applied.append(value))
    for n in range(20):  # an event every 20 ms: never 0.3 s of quiet
        events.post((add, n))
        time.sleep(0.02)
    assert wait_for(lambda: len(applied) == 20, timeout=5)
    assert applied == list(range(20)) and len(wakes) == 1
    # After 0.3 s without events it waits again, and the next event wakes it.
    assert wait_for(lambda: not capture_thread._woken, timeout=5)
    events.post((add, 20))
    assert wait_for(lambda: len(applied) == 21, timeout=5)
    assert len(wakes) == 2
