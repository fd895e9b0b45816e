"""The capture pipeline's shape: one package, one capture thread plus one deadline thread per
store, and no import from it back into the LangChain layer."""

from __future__ import annotations

import ast
import gc
import threading
import time
import weakref
from pathlib import Path

from langchain_core.runnables import RunnableLambda

import agentmem_langchain.capture as capture_package
from agentmem_langchain import MemoryManager, decision
from agentmem_langchain.capture import (
    CapturedDecision,
    Recorder,
    RecorderSettings,
    capture_error_count,
    thread,
)
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore
from tests.unit.test_recorder_reliability import BlockedStore
from tests.waiting import wait_for

PACKAGE = Path(capture_package.__file__).parent
#: Modules of the LangChain layer, which sits above the pipeline.
LANGCHAIN_LAYER = {"langchain", "callbacks", "retriever", "decorators", "memory", "decision_logger"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, as written (relative imports keep their dots)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_no_module_of_the_pipeline_imports_langchain_or_the_layer_above_it():
    offenders = {}
    for path in PACKAGE.glob("*.py"):
        bad = {
            name
            for name in imported_modules(path)
            if name.startswith("langchain")
            or (name.lstrip(".").split(".")[0] in LANGCHAIN_LAYER and name.startswith(".."))
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_the_stages_each_have_a_module_and_the_thread_model_is_told_once():
    names = {path.stem for path in PACKAGE.glob("*.py")}
    assert {"hook", "events", "decision", "record", "batch", "store", "journal"} <= names
    doc = capture_package.__doc__ or ""
    for stage in ("hook", "event", "record", "batch", "store or journal"):
        assert f"**{stage}**" in doc
    assert "one capture thread" in doc


def agentmem_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("agentmem-")}


def test_decorator_and_handler_capture_use_one_thread_and_one_per_store(tmp_path):
    store = SQLiteStore(tmp_path / "pipeline.db")
    memory = MemoryManager("pipeline-agent", store=store)

    @decision("tool_call", memory=memory)
    def choose(n: int) -> int:
        return n % 3

    handler = AgentMemoryCallbackHandler(memory)
    chain = RunnableLambda(lambda s: s.strip(), name="parse")
    for n in range(50):
        choose(n)
        chain.invoke(" btc ", config={"callbacks": [handler]})
    assert memory.flush(timeout=10)
    recorder_threads = {name for name in agentmem_threads() if "recorder" in name}
    spill_threads = {name for name in agentmem_threads() if "spill" in name}
    assert recorder_threads == set() and spill_threads == set()
    assert "agentmem-capture" in agentmem_threads()
    key = memory.recorder.key
    assert {name for name in agentmem_threads() if name.endswith(key)} == {f"agentmem-store-{key}"}
    assert len(store.query_decisions("pipeline-agent", limit=500).items) == 100


def test_the_capture_thread_writes_without_a_flush_and_steps_every_recorder(tmp_path):
    stores = [InMemoryStore(), InMemoryStore()]
    recorders = [
        Recorder(store, RecorderSettings(journal_path=tmp_path / f"{n}.jsonl"))
        for n, store in enumerate(stores)
    ]
    for recorder in recorders:
        for _ in range(30):
            recorder.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
    # No flush: the capture thread alone takes both queues to their stores.
    assert wait_for(lambda: all(r.stats().written == 30 for r in recorders), timeout=10)
    assert not thread.is_capture_thread()


def test_a_flush_on_the_capture_thread_returns_at_once_instead_of_waiting_for_itself(tmp_path):
    recorder = Recorder(InMemoryStore(), RecorderSettings(journal_path=tmp_path / "j.jsonl"))
    answers: list[bool] = []

    class Probe:
        rank = 5

        def step(self) -> bool:
            if not answers:
                recorder.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
                answers.append(recorder.flush(timeout=30))
            return False

        def has_work(self) -> bool:
            return not answers

        def urgent(self) -> bool:
            return False

        def due(self) -> float | None:
            return None

    probe = Probe()
    thread.register(probe)
    try:
        thread.wake()
        assert wait_for(lambda: bool(answers), timeout=10)
    finally:
        thread.unregister(probe)
    assert answers == [False]  # it would have waited for its own next round
    assert recorder.flush(timeout=10)


def test_a_recorder_let_go_of_with_items_queued_still_writes_them(tmp_path):
    store = InMemoryStore()
    recorder = Recorder(store, RecorderSettings(journal_path=tmp_path / "j.jsonl"))
    thread.unregister(recorder)  # not stepped until the test says so
    ids = []
    for _ in range(20):
        captured = CapturedDecision(agent_id="agent-1", decision_type="tool_call")
        ids.append(captured.decision_id)
        assert recorder.submit(captured)
    held = weakref.ref(recorder)
    del recorder
    gc.collect()
    alive = held()
    assert alive is not None  # kept while it holds items not yet written
    thread.register(alive)
    thread.wake()
    del alive
    assert wait_for(lambda: all(store.get_decision("agent-1", i) for i in ids), timeout=10)

    def released() -> bool:
        gc.collect()
        return held() is None

    assert wait_for(released, timeout=10)  # written: nothing holds it any more


def test_a_store_thread_ends_when_idle_and_the_next_call_starts_another(monkeypatch):
    from agentmem_langchain.capture import deadline

    monkeypatch.setattr(deadline, "IDLE_EXIT", 0.1)
    caller = deadline.StoreCaller("idle-test")
    assert caller.call(lambda a, b: a + b, (1, 2), timeout=5) == 3
    assert wait_for(lambda: "agentmem-store-idle-test" not in agentmem_threads(), timeout=5)
    assert caller.call(lambda a, b: a * b, (3, 4), timeout=5) == 12


def test_a_stage_that_raises_is_reported_and_the_others_go_on(tmp_path):
    class Broken:
        rank = 2

        def step(self) -> bool:
            raise RuntimeError("a bug in a stage")

        def has_work(self) -> bool:
            return False

        def urgent(self) -> bool:
            return False

        def due(self) -> float | None:
            return None

    broken = Broken()
    errors_before = capture_error_count()
    thread.register(broken)
    try:
        recorder = Recorder(InMemoryStore(), RecorderSettings(journal_path=tmp_path / "j.jsonl"))
        for _ in range(10):
            recorder.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
        assert wait_for(lambda: recorder.stats().written == 10, timeout=10)
        assert capture_error_count() > errors_before
    finally:
        thread.unregister(broken)


def test_a_store_that_hangs_does_not_hold_up_another_stores_writes(tmp_path):
    stuck, healthy = BlockedStore(), InMemoryStore()
    slow = Recorder(stuck, RecorderSettings(journal_path=tmp_path / "stuck.jsonl"))
    fine = Recorder(healthy, RecorderSettings(journal_path=tmp_path / "fine.jsonl"))
    try:
        slow.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
        assert wait_for(lambda: slow.stats().queued == 0, timeout=5)  # its write hangs
        started = time.monotonic()
        for _ in range(5):
            fine.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
        assert wait_for(lambda: fine.stats().written == 5, timeout=10)
        # Well within the hung call's write_timeout (5 s): the other store was not held up.
        assert time.monotonic() - started < 2.0
        assert slow.stats().written == 0
    finally:
        stuck.release.set()
    assert slow.flush(timeout=10) and slow.stats().written == 1


class CountingSQLiteStore(SQLiteStore):
    """A SQLite store that counts the records it is given in each form."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.forms = {"encoded": 0, "models": 0}

    def put_encoded_decisions(self, decisions):  # type: ignore[no-untyped-def]
        self.forms["encoded"] += len(decisions)
        super().put_encoded_decisions(decisions)


class CountingMemoryStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.models = 0

    def put_decisions(self, records):  # type: ignore[no-untyped-def]
        self.models += len(records)
        super().put_decisions(records)


def test_a_store_that_takes_encoded_decisions_is_given_them_and_others_get_models(tmp_path):
    sqlite, plain = CountingSQLiteStore(tmp_path / "forms.db"), CountingMemoryStore()
    for store in (sqlite, plain):
        memory = MemoryManager("forms-agent", store=store)

        @decision("tool_call", memory=memory)
        def choose(n: int, options: list[str]) -> str:
            return options[n % len(options)]

        options = ["a", "b"]
        for n in range(30):
            choose(n, options)
        options.append("changed after the calls")
        assert memory.flush(timeout=10)
        stored = store.query_decisions("forms-agent").items
        assert [r.context.inputs["options"] for r in stored] == [["a", "b"]] * 30
    assert sqlite.forms["encoded"] == 30
    assert plain.models == 30
