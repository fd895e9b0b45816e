"""Settings live in ``config``; importing the package changes nothing; ``uninstrument`` undoes
``instrument``; ``AGENTMEM_TRACING`` works through langchain-core's configure hook."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.tools import tool
from langchain_core.tracers.context import _configure_hooks
from langchain_core.utils.env import env_var_is_set

from agentmem_langchain import config
from agentmem_langchain.capture import hook, recorder_for
from agentmem_langchain.decorators import set_default_memory
from agentmem_langchain.langchain import callbacks, defaults, tracing
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.langchain.tracing import instrument, uninstrument
from agentmem_langchain.learning.consolidation import handler as consolidation_handler
from agentmem_langchain.memory import MemoryManager
from agentmem_langchain.testing import InMemoryStore

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "agentmem_langchain"
VARIABLE = re.compile(r"AGENTMEM_[A-Z_]+")


@tool
def echo(text: str) -> str:
    """Return the text."""
    return text


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No AGENTMEM_* variable set, and nothing written to the working directory."""
    for name in list(os.environ):
        if name.startswith("AGENTMEM_") or name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def default_memory():
    memory = MemoryManager("default-memory-agent", store=InMemoryStore())
    set_default_memory(memory)
    yield memory
    set_default_memory(None)
    uninstrument()


def recorded(memory: MemoryManager) -> list[str]:
    assert recorder_for(memory.store).flush(timeout=5)
    return [r.decision_type for r in memory.store.query_decisions(memory.agent_id).items]


def _python(code: str, cwd: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMEM_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# -- 1. every setting in config, with one default --------------------------------------------


def test_every_setting_has_one_default(clean_env):
    assert config.agent_id() == config.DEFAULT_AGENT_ID == "default"
    assert config.agent_ids() == ["default"]
    assert config.store_kind() == "sqlite"
    assert config.resolve_sqlite_path() == Path(".agentmem") / "memory.db"
    assert config.dynamodb_endpoint() is None
    assert config.table_prefix() == "agentmem_"
    assert config.aws_region() is None
    assert config.journal_dir() == Path(".agentmem") / "journal"
    assert config.tracing_enabled() is False


def test_every_setting_reads_its_variable(clean_env, tmp_path):
    clean_env.setenv("AGENTMEM_AGENT_ID", " a-1, b-2 ,")
    clean_env.setenv("AGENTMEM_STORE", " DynamoDB ")
    clean_env.setenv("AGENTMEM_SQLITE_PATH", str(tmp_path / "x.db"))
    clean_env.setenv("AGENTMEM_DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")
    clean_env.setenv("AGENTMEM_TABLE_PREFIX", "t_")
    clean_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    clean_env.setenv("AGENTMEM_JOURNAL_DIR", str(tmp_path / "j"))
    clean_env.setenv("AGENTMEM_TRACING", "true")
    assert config.agent_id() == "a-1, b-2 ,"
    assert config.agent_ids() == ["a-1", "b-2"]
    assert config.store_kind() == "dynamodb"
    assert config.resolve_sqlite_path() == tmp_path / "x.db"
    assert config.dynamodb_endpoint() == "http://127.0.0.1:8000"
    assert config.table_prefix() == "t_"
    assert config.aws_region() == "eu-west-1"
    assert config.journal_dir() == tmp_path / "j"
    assert config.tracing_enabled() is True
    # explicit arguments win over the variables
    assert config.store_kind("sqlite") == "sqlite"
    assert config.resolve_sqlite_path("y.db") == Path("y.db")
    assert config.dynamodb_endpoint("http://other") == "http://other"
    assert config.table_prefix("p_") == "p_"
    assert config.aws_region("us-east-1") == "us-east-1"


def test_blank_variables_mean_the_default(clean_env):
    for name in ("AGENTMEM_AGENT_ID", "AGENTMEM_STORE", "AGENTMEM_TABLE_PREFIX"):
        clean_env.setenv(name, "  ")
    assert (config.agent_id(), config.store_kind(), config.table_prefix()) == (
        "default",
        "sqlite",
        "agentmem_",
    )


@pytest.mark.parametrize("value", ["", "0", "false", "False", "1", "true", "yes", "on", "TRUE"])
def test_tracing_switch_is_langchain_cores_rule(clean_env, value):
    """langchain-core decides whether its hook makes a handler: config agrees with it."""
    clean_env.setenv("AGENTMEM_TRACING", value)
    assert config.tracing_enabled() is env_var_is_set("AGENTMEM_TRACING")


def _reads_a_variable(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    names = any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and VARIABLE.fullmatch(node.value)
        for node in ast.walk(tree)
    )
    reads = any(
        (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"))
        or (isinstance(node, ast.Name) and node.id in ("environ", "getenv"))
        for node in ast.walk(tree)
    )
    return names and reads


def test_only_config_reads_agentmem_variables():
    readers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "config.py" and _reads_a_variable(path)
    }
    assert readers == set()


def test_readme_table_lists_every_variable_config_reads():
    in_config = set(VARIABLE.findall((PACKAGE / "config.py").read_text()))
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Stores and configuration") :]
    table = table[: table.index("\n## ")]
    rows = {
        m for line in table.splitlines() if line.startswith("|") for m in VARIABLE.findall(line)
    }
    assert rows == in_config


# -- one agent id default, everywhere ---------------------------------------------------------


def test_the_default_agent_is_the_same_everywhere(tmp_path):
    """With AGENTMEM_AGENT_ID unset: decorated functions, the tracing handler and the
    consolidation Lambda all use agent "default"."""
    out = _python(
        "import json, agentmem_langchain as am\n"
        "from langchain_core.runnables import RunnableLambda\n"
        "from agentmem_langchain.learning.consolidation import handler\n"
        "@am.decision('tool_call')\n"
        "def act(i):\n"
        "    return am.current_decision().agent_id\n"
        "seen = act(1)\n"
        "RunnableLambda(lambda x: x, name='traced').invoke(1)\n"
        "assert am.flush(10)\n"
        "memory = am.MemoryManager('default')\n"
        "types = sorted(r.decision_type for r in memory.query_decisions().items)\n"
        "agents = [r['agent_id'] for r in handler({}, None)['results']]\n"
        "print(json.dumps([seen, types, agents]))",
        tmp_path,
        AGENTMEM_TRACING="true",
        AGENTMEM_SQLITE_PATH=str(tmp_path / "d.db"),
        AGENTMEM_JOURNAL_DIR=str(tmp_path / "journal"),
    )
    assert json.loads(out) == ["default", ["chain_step", "tool_call"], ["default"]]


def test_consolidation_lambda_takes_agents_from_config(clean_env, tmp_path):
    clean_env.setenv("AGENTMEM_SQLITE_PATH", str(tmp_path / "c.db"))
    clean_env.setenv("AGENTMEM_AGENT_ID", "a-1,a-2")
    assert [r["agent_id"] for r in consolidation_handler({}, None)["results"]] == ["a-1", "a-2"]
    explicit = consolidation_handler({"agent_id": "b-1"}, None)["results"]
    assert [r["agent_id"] for r in explicit] == ["b-1"]


def test_handler_without_memory_uses_the_default_memory(clean_env, tmp_path):
    clean_env.setenv("AGENTMEM_SQLITE_PATH", str(tmp_path / "h.db"))
    clean_env.setenv("AGENTMEM_AGENT_ID", "configured-agent")
    handler = AgentMemoryCallbackHandler()
    assert handler.memory is defaults.default_memory()  # opened once, then shared
    assert handler.agent_id == handler.memory.agent_id == "configured-agent"
    own = MemoryManager("own-agent", store=InMemoryStore())
    set_default_memory(own)
    try:
        assert AgentMemoryCallbackHandler().memory is own  # set_default_memory's wins
        assert AgentMemoryCallbackHandler(own, agent_id="x").agent_id == "x"
    finally:
        set_default_memory(None)


# -- 2. no side effect at import; AGENTMEM_TRACING through the configure hook -----------------


def test_import_installs_nothing_and_the_hook_records(tmp_path):
    db, journal = tmp_path / "traced.db", tmp_path / "journal"
    out = _python(
        "import gc, json, os, threading\n"
        "from langchain_core.tracers.context import _configure_hooks\n"
        "before_hooks, before_threads = list(_configure_hooks), threading.enumerate()\n"
        "import agentmem_langchain as am\n"
        "from agentmem_langchain.langchain import tracing\n"
        "from agentmem_langchain.langchain.runs import HandlerBase\n"
        "added = [h for h in _configure_hooks if not any(h is b for b in before_hooks)]\n"
        "state = {\n"
        "  'handlers': sum(isinstance(o, HandlerBase) for o in gc.get_objects()),\n"
        "  'instrumented': tracing._instrumented is not None,\n"
        "  'threads': threading.enumerate() != before_threads,\n"
        "  'files': any(os.path.exists(os.environ[v]) for v in ('AGENTMEM_SQLITE_PATH',\n"
        "               'AGENTMEM_JOURNAL_DIR')) or os.path.exists('.agentmem'),\n"
        "  'kept': [h for h in before_hooks if not any(h is a for a in _configure_hooks)],\n"
        "  'added': [(h[0] is tracing._tracing_var, h[0].get(), h[1], h[2].__name__, h[3])\n"
        "            for h in added],\n"
        "}\n"
        "from langchain_core.runnables import RunnableLambda\n"
        "RunnableLambda(lambda x: x + 1, name='adder').invoke(1)\n"
        "os.environ['AGENTMEM_TRACING'] = 'false'  # read at each run\n"
        "RunnableLambda(lambda x: x + 1, name='untraced').invoke(1)\n"
        "assert am.flush(10)\n"
        "memory = am.MemoryManager('traced-agent')\n"
        "runs = memory.query_decisions().items\n"
        "state['runs'] = [r.context.extra.get('run_name') for r in runs]\n"
        "print(json.dumps(state))",
        tmp_path,
        AGENTMEM_TRACING="true",
        AGENTMEM_AGENT_ID="traced-agent",
        AGENTMEM_SQLITE_PATH=str(db),
        AGENTMEM_JOURNAL_DIR=str(journal),
    )
    state = json.loads(out)
    assert state == {
        "handlers": 0,
        "instrumented": False,
        "threads": False,
        "files": False,
        "kept": [],
        "added": [[True, None, True, "AgentMemoryCallbackHandler", "AGENTMEM_TRACING"]],
        "runs": ["adder"],
    }


def test_tracing_env_var_adds_a_handler_per_run(default_memory, monkeypatch):
    monkeypatch.setenv("AGENTMEM_TRACING", "false")
    echo.invoke({"text": "off"})
    assert recorded(default_memory) == []
    monkeypatch.setenv("AGENTMEM_TRACING", "true")
    echo.invoke({"text": "on"})
    assert recorded(default_memory) == ["tool_call"]
    assert tracing._tracing_var.get() is None  # langchain-core makes handlers; none is kept


def test_tracing_env_var_does_not_double_an_explicit_handler(default_memory, monkeypatch):
    monkeypatch.setenv("AGENTMEM_TRACING", "true")
    own = MemoryManager("own-agent", store=InMemoryStore())
    echo.invoke({"text": "x"}, config={"callbacks": [AgentMemoryCallbackHandler(own)]})
    assert recorded(own) == ["tool_call"]
    assert recorded(default_memory) == []


def test_instrument_takes_precedence_over_the_tracing_env_var(default_memory, monkeypatch):
    monkeypatch.setenv("AGENTMEM_TRACING", "true")
    instrumented = MemoryManager("instrumented-agent", store=InMemoryStore())
    instrument(instrumented)
    echo.invoke({"text": "x"})
    assert recorded(instrumented) == ["tool_call"]
    assert recorded(default_memory) == []
    uninstrument()
    echo.invoke({"text": "y"})
    assert recorded(default_memory) == ["tool_call"]


# -- 3. uninstrument() restores exactly what instrument() changed -----------------------------


def test_uninstrument_restores_what_instrument_changed(default_memory):
    AgentMemoryCallbackHandler(default_memory)  # any handler installs the shared resolver
    hooks, resolvers = list(_configure_hooks), list(hook._resolvers)
    handler = instrument(default_memory)
    assert instrument() is handler  # twice: one handler, one hook
    assert len(_configure_hooks) == len(hooks) + 1
    uninstrument()
    uninstrument()  # twice: harmless
    assert len(_configure_hooks) == len(hooks)
    assert all(a is b for a, b in zip(_configure_hooks, hooks, strict=True))
    assert all(a is b for a, b in zip(hook._resolvers, resolvers, strict=True))
    assert tracing._instrumented is None and tracing._instrumented_hook is None
    assert not handler.enabled
    echo.invoke({"text": "x"})
    assert recorded(default_memory) == []
    again = instrument(default_memory)  # instrumenting again works: a new handler
    assert again is not handler
    echo.invoke({"text": "y"})
    assert recorded(default_memory) == ["tool_call"]


def test_a_tracing_handler_whose_default_store_cannot_open_lets_the_run_go_on(
    tmp_path, monkeypatch
):
    from langchain_core.runnables import RunnableLambda

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AGENTMEM_SQLITE_PATH", str(blocker / "memory.db"))
    monkeypatch.setattr(defaults, "_decorators_memory", lambda: None)
    handler = callbacks.AgentMemoryCallbackHandler()
    assert handler.enabled is False
    chain = RunnableLambda(lambda x: x + 1)
    assert chain.invoke(1, config={"callbacks": [handler]}) == 2
