"""The async twins of ``MemoryManager`` and ``DecisionLogger``: the sync methods' results and
errors, with the store I/O off the event loop.

One agent session runs twice on the same store, once through the sync API and once through
the twins (a second agent id), and the two transcripts must match once ids are numbered by
first appearance. Bad input raises the sync method's error, and input a sync method checks
before any I/O raises before the twin schedules anything. A cancelled twin never leaves a
write half done: once scheduled, the call runs to completion.

Then the reason for the twins: a 1 ms ticker on the loop measures how late each tick is
while an agent-like workload runs through the twins, and through the sync API called from
the loop, on SQLite and on dynalite.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentmem_langchain import (
    AgentState,
    DecisionLogger,
    DecisionRecord,
    DecisionType,
    MemoryManager,
    MemoryPattern,
    NotFoundError,
    Page,
    ValidationError,
)
from agentmem_langchain.capture.decision import CapturedDecision
from agentmem_langchain.capture.hook import current_parent_id, use_decision
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock, InMemoryStore
from tests.contract.conftest_dynamodb import dynalite_store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "agent-1"
TWIN_CLASSES = (MemoryManager, DecisionLogger)
TWINS = sorted(
    f"{cls.__name__}.{name}"
    for cls in TWIN_CLASSES
    for name, member in vars(cls).items()
    if inspect.iscoroutinefunction(member)
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(params=["memory", "sqlite"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[MemoryStore]:
    made: MemoryStore = (
        InMemoryStore(clock=clock)
        if request.param == "memory"
        else SQLiteStore(tmp_path / "memory.db", clock=clock)
    )
    yield made
    made.close()


def agent(store: MemoryStore, clock: FakeClock, agent_id: str = AGENT) -> DecisionLogger:
    return DecisionLogger(MemoryManager(agent_id, store=store, clock=clock))


# -- the same session, through the sync API and through the twins ---------------------------


class Caller:
    """Calls ``name`` on a manager or logger: the sync method, or its ``a`` twin awaited.

    The clock moves a second before every call, so every record has a time of its own and
    every listing has one order.
    """

    def __init__(self, clock: FakeClock, *, twins: bool) -> None:
        self.clock = clock
        self.twins = twins
        self.called: set[str] = set()

    async def __call__(self, target: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        self.clock.advance(seconds=1)
        if not self.twins:
            return getattr(target, name)(*args, **kwargs)
        self.called.add(f"{type(target).__name__}.a{name}")
        return await getattr(target, f"a{name}")(*args, **kwargs)


async def session(call: Caller, logger: DecisionLogger, owner: MemoryManager) -> list[Any]:
    """What an agent does in a few steps; returns every result, in order."""
    memory, me = logger.memory, logger.agent_id
    source = await call(
        logger,
        "log_source_selection",
        ["coinglass", "cryptoquant"],
        {"coinglass": 0.95, "cryptoquant": 0.88},
        ["coinglass"],
        context={"market": {"btc_price": 45000.0}, "cycle": 1},
        confidence=0.92,
    )
    query = await call(
        logger, "log_query_execution", "SELECT 1", "coinglass", {"n": 1}, parent_decision_id=source
    )
    signal = await call(
        logger, "log_signal_generation", "long", {"rsi": 30.0}, 0.7, parent_decision_id=query
    )
    risk = await call(
        logger, "log_risk_assessment", "low", 0.2, {"vol": 0.1}, parent_decision_id=signal
    )
    strategy = await call(
        logger,
        "log_strategy_selection",
        ["x", "y"],
        {"x": 0.6, "y": 0.4},
        "x",
        parent_decision_id=risk,
    )
    plain = await call(
        logger, "log_decision", "custom", rationale="why", tags=["t"], metadata={"k": 1}
    )
    record = DecisionRecord(
        agent_id=me, decision_type="tool_call", timestamp=call.clock(), parent_decision_id=plain
    )
    direct = await call(memory, "log_decision", record)
    ids = [source, query, signal, risk, strategy, plain, direct]
    results: list[Any] = [ids, *[await call(memory, "get_decision", d) for d in ids]]

    results += [
        await call(
            logger,
            "log_outcome",
            source,
            DecisionType.SOURCE_SELECTION,
            success=True,
            quality_score=0.8,
            latency_ms=12.0,
            note="fine",
        ),
        await call(logger, "log_outcome", risk, success=False, error="stale"),
        await call(memory, "log_outcome", query, False, error="timeout", attempt=2),
        await call(memory, "update_outcome", signal, {"success": True, "recorded_at": T0}),
    ]
    first = await call(memory, "query_decisions", limit=3)
    results += [
        first,
        await call(memory, "query_decisions", limit=3, cursor=first.next_cursor),
        await call(memory, "query_decisions", decision_type="custom"),
        await call(memory, "query_decisions", start=T0, success=True),
        await call(memory, "get_children", source),
        await call(memory, "get_decision_chain", strategy),
        await call(logger, "get_decision_chain", query),
        await call(memory, "decision_stats", T0),
        await call(logger, "get_decision_stats", 1),
    ]

    now = {"created_at": call.clock(), "updated_at": call.clock()}
    mine = memory.store_pattern(
        MemoryPattern(agent_id=me, description="coinglass first", confidence=0.7, **now)
    )
    owner.store_pattern(
        MemoryPattern(agent_id=owner.agent_id, confidence=0.6, shared_with=[me], **now)
    )
    results += [
        await call(memory, "get_pattern", mine.pattern_id),
        await call(memory, "get_patterns", 0.5),
        await call(memory, "get_patterns", 0.9),
        await call(memory, "get_shared_patterns"),
        await call(memory, "recommend", "source_selection", ["coinglass", "kaiko"], seed=3),
    ]

    results.append(await call(memory, "load_state"))
    results.append(await call(memory, "save_state", metrics={"cycles": 1}))
    state = await call(memory, "load_state")
    state.status = "paused"
    results += [state, await call(memory, "save_state", state, config={"mode": "safe"})]

    results += [
        await call(memory, "publish_signal", "tick", {"n": 1}, targets=[me], priority=2),
        await call(memory, "publish_signal", "tock", targets=[me]),
        await call(memory, "get_pending_signals"),
    ]
    claimed = await call(memory, "claim_signals", 1)
    results += [
        claimed,
        await call(memory, "release_signal", claimed[0].signal_id),
        await call(memory, "mark_signal_processed", claimed[0].signal_id),
        await call(memory, "mark_signal_processed", claimed[0].signal_id),
        await call(memory, "get_pending_signals"),
        await call(memory, "flush"),
    ]
    return results


ULID = re.compile(r"\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b")


def transcript(results: list[Any], agent_id: str) -> list[Any]:
    """``results`` as JSON, the agent's id a placeholder and ids numbered by first use."""

    def plain(value: Any) -> Any:
        if isinstance(value, Page):  # a cursor is opaque (it encodes an id): is there one?
            return {"items": plain(value.items), "more": value.next_cursor is not None}
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    text = json.dumps(plain(results), sort_keys=True).replace(agent_id, "<agent>")
    numbers: dict[str, str] = {}
    text = ULID.sub(lambda m: numbers.setdefault(m.group(), f"<id{len(numbers)}>"), text)
    loaded: list[Any] = json.loads(text)
    return loaded


@pytest.mark.asyncio
async def test_every_twin_returns_what_its_sync_method_returns(
    store: MemoryStore, clock: FakeClock
) -> None:
    owner = MemoryManager("owner-agent", store=store, clock=clock)
    runs = {}
    for twins, agent_id in ((False, "agent-sync"), (True, "agent-twin")):
        clock.set(T0)
        call = Caller(clock, twins=twins)
        runs[twins] = (
            call,
            transcript(await session(call, agent(store, clock, agent_id), owner), agent_id),
        )
    assert runs[True][1] == runs[False][1]
    assert sorted(runs[True][0].called) == TWINS  # the session used every twin


@pytest.mark.parametrize("name", TWINS)
def test_every_twin_takes_its_sync_methods_arguments(name: str) -> None:
    cls = next(c for c in TWIN_CLASSES if c.__name__ == name.partition(".")[0])
    twin = getattr(cls, name.partition(".")[2])
    sync = getattr(cls, twin.__name__.removeprefix("a"))
    assert inspect.signature(twin) == inspect.signature(sync)
    assert twin.__doc__.startswith(f"Async twin of :meth:`{sync.__name__}`")


@pytest.mark.asyncio
async def test_concurrent_twins_each_write_once_on_sqlite(tmp_path: Path, clock: FakeClock) -> None:
    # The worker threads each use a SQLite connection of their own.
    logger = agent(SQLiteStore(tmp_path / "memory.db", clock=clock), clock)
    ids = await asyncio.gather(
        *(logger.alog_decision("tool_call", confidence=0.5) for _ in range(40))
    )
    await asyncio.gather(*(logger.alog_outcome(d, success=i % 4 != 0) for i, d in enumerate(ids)))
    stats = await logger.aget_decision_stats()
    assert (len(set(ids)), stats.total, stats.successes, stats.failures) == (40, 40, 30, 10)
    logger.memory.store.close()


# -- errors ----------------------------------------------------------------------------------

UNKNOWN = DecisionRecord(agent_id=AGENT, decision_type="custom").decision_id
Call = Callable[[DecisionLogger, str], tuple[Any, str, tuple[Any, ...], dict[str, Any]]]


def logger_call(name: str, *args: Any, **kwargs: Any) -> Call:
    return lambda logger, _decision: (logger, name, args, kwargs)


def memory_call(name: str, *args: Any, **kwargs: Any) -> Call:
    return lambda logger, _decision: (logger.memory, name, args, kwargs)


def on_decision(target: str, name: str, *args: Any, **kwargs: Any) -> Call:
    """A call whose first argument is the id of the decision the test logged."""

    def made(
        logger: DecisionLogger, decision: str
    ) -> tuple[Any, str, tuple[Any, ...], dict[str, Any]]:
        return (logger if target == "logger" else logger.memory), name, (decision, *args), kwargs

    return made


#: Bad input that the sync method rejects before any I/O: the twin rejects it before it
#: schedules anything.
CHECKED_FIRST: dict[str, Call] = {
    "confidence above 1": logger_call("log_decision", "tool_call", confidence=1.5),
    "empty decision type": logger_call("log_decision", ""),
    "scores not a mapping": logger_call("log_decision", "tool_call", scores=3),
    "selected not a source": logger_call("log_source_selection", ["a"], {"a": 1.0}, ["b"]),
    "context not a mapping": logger_call("log_query_execution", "q", "s", context=42),
    "indicators not a mapping": logger_call("log_signal_generation", "long", indicators=3),
    "confidence NaN": logger_call("log_risk_assessment", "low", confidence=math.nan),
    "strategy not offered": logger_call("log_strategy_selection", ["x"], {"x": 1.0}, "z"),
    "quality above 1": on_decision("logger", "log_outcome", success=True, quality_score=2.0),
    "no success": on_decision("logger", "log_outcome"),
    "window of 0 hours": logger_call("get_decision_stats", 0),
    "window too large": logger_call("get_decision_stats", 1e300),
    "another agent's record": memory_call(
        "log_decision", DecisionRecord(agent_id="someone-else", decision_type="custom")
    ),
    "negative latency": on_decision("memory", "log_outcome", True, latency_ms=-1.0),
    "unknown outcome field": on_decision("memory", "update_outcome", {"success": True, "x": 1}),
    "query limit 0": memory_call("query_decisions", limit=0),
    "patterns limit 0": memory_call("get_patterns", limit=0),
    "shared patterns limit 0": memory_call("get_shared_patterns", limit=0),
    "pending signals limit 0": memory_call("get_pending_signals", limit=0),
    "metrics not a mapping": memory_call("save_state", metrics="many"),
    "another agent's state": memory_call("save_state", AgentState(agent_id="someone-else")),
    "signal without audience": memory_call("publish_signal", "tick"),
    "lease of 0": memory_call("claim_signals", lease=timedelta(0)),
}

#: Errors only the store (or the coordinator) finds: the twin raises them from its worker.
FOUND_BY_THE_STORE: dict[str, Call] = {
    "outcome of an unknown decision": logger_call("log_outcome", UNKNOWN, success=True),
    "outcome for the wrong type": on_decision(
        "logger", "log_outcome", DecisionType.RISK_ASSESSMENT, success=True
    ),
    "manager outcome of an unknown decision": memory_call("log_outcome", UNKNOWN, True),
    "chain of an unknown decision": logger_call("get_decision_chain", UNKNOWN),
    "not a cursor": memory_call("query_decisions", cursor="not-a-cursor"),
}


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting what is submitted to it."""

    submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def raised(call: Callable[[], Any]) -> BaseException:
    try:
        result = call()
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        return exc
    raise AssertionError("no error was raised")


@pytest.mark.parametrize(
    ("bad", "checked_first"),
    [(name, True) for name in CHECKED_FIRST] + [(name, False) for name in FOUND_BY_THE_STORE],
)
@pytest.mark.asyncio
async def test_twin_raises_the_sync_methods_error(
    store: MemoryStore, clock: FakeClock, bad: str, checked_first: bool
) -> None:
    logger = agent(store, clock)
    decision = logger.log_decision("source_selection")
    target, name, args, kwargs = (CHECKED_FIRST if checked_first else FOUND_BY_THE_STORE)[bad](
        logger, decision
    )
    executor = CountingExecutor(max_workers=2)
    asyncio.get_running_loop().set_default_executor(executor)

    sync_error = await raised(lambda: getattr(target, name)(*args, **kwargs))
    twin_error = await raised(lambda: getattr(target, f"a{name}")(*args, **kwargs))

    assert type(twin_error) is type(sync_error)
    assert str(twin_error) == str(sync_error)
    assert isinstance(twin_error, (ValidationError, NotFoundError))
    assert (executor.submitted == 0) is checked_first
    page = logger.memory.query_decisions()
    assert [(r.decision_id, r.outcome) for r in page.items] == [(decision, None)]


# -- cancellation and context ----------------------------------------------------------------


class GatedStore(InMemoryStore):
    """Its ``set_outcome`` waits for ``gate`` (and says when it started)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.started = threading.Event()
        self.gate = threading.Event()

    def set_outcome(self, *args: Any, **kwargs: Any) -> DecisionRecord:
        self.started.set()
        self.gate.wait(10)
        return super().set_outcome(*args, **kwargs)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.002)


@pytest.mark.asyncio
async def test_cancelled_twin_still_completes_its_write(clock: FakeClock) -> None:
    store = GatedStore(clock)
    memory = MemoryManager(AGENT, store=store, clock=clock)
    decision = memory.log_decision(DecisionRecord(agent_id=AGENT, decision_type="custom"))
    task = asyncio.create_task(memory.alog_outcome(decision, True, quality_score=0.5))
    await eventually(store.started.is_set)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.gate.set()

    await eventually(lambda: store.get_decision(AGENT, decision).outcome is not None)  # type: ignore[union-attr]
    assert store.get_decision(AGENT, decision).outcome.quality_score == 0.5  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_cancelled_twin_still_runs_a_call_waiting_for_a_worker(clock: FakeClock) -> None:
    memory = MemoryManager(AGENT, store=InMemoryStore(clock=clock), clock=clock)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    gate = threading.Event()
    busy = loop.run_in_executor(None, gate.wait, 10)  # the only worker is taken
    record = DecisionRecord(agent_id=AGENT, decision_type="custom")
    task = asyncio.create_task(memory.alog_decision(record))
    for _ in range(5):
        await asyncio.sleep(0)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert memory.get_decision(record.decision_id) is None  # still waiting for the worker
    gate.set()
    await busy
    await loop.run_in_executor(None, lambda: None)  # the worker takes calls in order

    assert memory.get_decision(record.decision_id) == record


@pytest.mark.asyncio
async def test_error_of_a_cancelled_twin_is_logged(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = GatedStore(clock)
    memory = MemoryManager(AGENT, store=store, clock=clock)
    task = asyncio.create_task(memory.aupdate_outcome(UNKNOWN, {"success": True}))
    await eventually(store.started.is_set)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    with caplog.at_level(logging.WARNING, logger="agentmem_langchain.aio"):
        store.gate.set()
        await eventually(lambda: bool(caplog.records))
    assert "update_outcome failed after its caller was cancelled" in caplog.text
    assert "NotFoundError" in caplog.text


@pytest.mark.asyncio
async def test_twin_runs_in_the_callers_context(clock: FakeClock) -> None:
    seen: list[str | None] = []

    class ContextSpy(InMemoryStore):
        def put_decision(self, record: DecisionRecord) -> None:
            seen.append(current_parent_id())  # what a decision made here would link to
            super().put_decision(record)

    logger = agent(ContextSpy(clock=clock), clock)
    outer = CapturedDecision(agent_id=AGENT, decision_type="step")
    with use_decision(outer):
        await logger.alog_decision("tool_call")
    await logger.alog_decision("tool_call")

    assert seen == [outer.decision_id, None]


# -- loop lag --------------------------------------------------------------------------------

LAG_BUDGET_MS = 10.0
TICK_S = 0.001
#: Workload steps (four calls each) per backend: a few hundred calls, about a second each way.
STEPS = {"sqlite": 100, "dynalite": 60}


async def ticker(stop: asyncio.Event, late_ms: list[float]) -> None:
    """Tick every millisecond; note how late each tick woke up."""
    loop = asyncio.get_running_loop()
    due = loop.time() + TICK_S
    while not stop.is_set():
        await asyncio.sleep(TICK_S)
        now = loop.time()
        late_ms.append(max(0.0, now - due) * 1000)
        due = now + TICK_S


async def twin_step(logger: DecisionLogger, i: int) -> None:
    decision = await logger.alog_decision("tool_call", selected=["a"], confidence=0.5)
    await logger.alog_outcome(decision, success=i % 3 != 0, latency_ms=5.0)
    await logger.memory.aquery_decisions(limit=10)
    await logger.aget_decision_stats()


async def sync_step(logger: DecisionLogger, i: int) -> None:
    decision = logger.log_decision("tool_call", selected=["a"], confidence=0.5)
    logger.log_outcome(decision, success=i % 3 != 0, latency_ms=5.0)
    logger.memory.query_decisions(limit=10)
    logger.get_decision_stats()
    await asyncio.sleep(0)  # a node yields between steps (an LLM call, a tool)


async def p99_lag_ms(
    step: Callable[[DecisionLogger, int], Awaitable[None]], logger: DecisionLogger, steps: int
) -> float:
    """The 99th percentile of the ticker's lateness while ``steps`` steps run."""
    for i in range(3):  # workers started, connections open, botocore's models loaded
        await step(logger, i)
    stop, late_ms = asyncio.Event(), list[float]()
    ticking = asyncio.create_task(ticker(stop, late_ms))
    await asyncio.sleep(0.005)
    for i in range(steps):
        await step(logger, i)
    stop.set()
    await ticking
    late_ms.sort()
    return late_ms[math.ceil(0.99 * len(late_ms)) - 1]


@pytest.mark.parametrize("backend", ["sqlite", "dynalite"])
@pytest.mark.asyncio
async def test_twins_keep_the_event_loop_responsive(
    backend: str, tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    store = (
        SQLiteStore(tmp_path / "memory.db", clock=clock)
        if backend == "sqlite"
        else dynalite_store(tmp_path, clock, request)
    )
    logger = agent(store, clock)
    try:
        with_twins = await p99_lag_ms(twin_step, logger, STEPS[backend])
        with_sync = await p99_lag_ms(sync_step, logger, STEPS[backend])
    finally:
        store.close()
    print(f"{backend}: loop lag p99 {with_twins:.1f} ms (twins), {with_sync:.1f} ms (sync)")

    assert with_twins <= LAG_BUDGET_MS
    assert with_sync > with_twins
    if backend == "dynalite":
        # A SQLite step blocks the loop for only a millisecond or two, so there the sync API
        # is worse (p99 of 8-9 ms against 1-2 ms for the twins when measured) but stays under
        # the budget; on dynalite a step takes tens of milliseconds and breaks it.
        assert with_sync > LAG_BUDGET_MS
