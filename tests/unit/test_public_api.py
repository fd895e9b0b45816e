"""The package's public surface: what ``import agentmem_langchain`` offers and costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentmem_langchain

ROOT = Path(__file__).resolve().parents[2]

PUBLIC = {
    "AgentMemError", "AgentMemoryCallbackHandler", "AgentMemoryMiddleware",
    "AgentMemorySaver", "AgentMemoryStore",
    "AgentRegistration", "AgentSignal",
    "AgentState", "Analytics", "AsyncAgentMemoryCallbackHandler", "CloudWatchExporter",
    "ConfigurationError", "ConsolidationScheduler", "ContextThreadPoolExecutor",
    "DecisionContext", "DecisionLogger", "DecisionOutcome", "DecisionReasoning",
    "DecisionRecord", "DecisionStats", "DecisionType", "MemoryManager", "MemoryPattern",
    "MemoryStore", "MemoryType", "MultiAgentCoordinator", "NotFoundError", "OutcomeStatus",
    "Page", "PatternLearner", "PatternRetriever", "PatternStatus", "PatternType",
    "PatternVersion", "ProcessingStatus", "SignalPriority", "SignalType", "StateCheckpoint",
    "StateConflictError", "StoreUnavailableError", "ValidationError", "consolidate",
    "current_decision", "decision", "flush", "instrument", "open_store", "uninstrument",
    "__version__",
}  # fmt: skip


def _python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
        check=True,
    )
    return result.stdout


def test_all_names_exactly_the_public_api():
    assert set(agentmem_langchain.__all__) == PUBLIC


def test_every_public_name_resolves():
    for name in agentmem_langchain.__all__:
        assert getattr(agentmem_langchain, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        agentmem_langchain.no_such_thing  # noqa: B018


def test_import_loads_neither_langchain_nor_boto3():
    out = _python(
        "import sys, json, agentmem_langchain\n"
        "print(json.dumps([m for m in ('langchain_core', 'langgraph', 'boto3', 'rich')\n"
        "    if m in sys.modules]))"
    )
    assert json.loads(out) == []


def test_top_level_flush_stores_every_captured_decision(tmp_path):
    out = _python(
        "import agentmem_langchain as am\n"
        "memory = am.MemoryManager('flush-agent')\n"
        "@am.decision('tool_call', memory=memory)\n"
        "def act(i):\n"
        "    return i\n"
        "for i in range(50):\n"
        "    act(i)\n"
        "print(am.flush(timeout=10))\n"
        "print(len(memory.store.query_decisions('flush-agent', limit=100).items))",
        AGENTMEM_SQLITE_PATH=str(tmp_path / "flush.db"),
        AGENTMEM_STORE="sqlite",
    )
    assert out.split() == ["True", "50"]


def test_tracing_env_var_records_runs_without_any_callback(tmp_path):
    out = _python(
        "import agentmem_langchain\n"
        "from langchain_core.runnables import RunnableLambda\n"
        "RunnableLambda(lambda x: x + 1, name='adder').invoke(1)\n"
        "assert agentmem_langchain.flush(10)\n"
        "memory = agentmem_langchain.MemoryManager('traced-agent')\n"
        "print([r.context.extra.get('run_name') for r in memory.query_decisions().items])",
        AGENTMEM_TRACING="true",
        AGENTMEM_AGENT_ID="traced-agent",
        AGENTMEM_SQLITE_PATH=str(tmp_path / "traced.db"),
        AGENTMEM_STORE="sqlite",
    )
    assert "adder" in out
