"""``agentmem threads``: an agent's LangGraph threads and a thread's checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from typer.testing import CliRunner

from agentmem_langchain.cli import app
from agentmem_langchain.langgraph import AgentMemorySaver
from agentmem_langchain.stores.sqlite import SQLiteStore

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "memory.db"
    with SQLiteStore(path) as store:
        saver = AgentMemorySaver(store, agent_id="cli-agent")
        parent = None
        for step in range(3):
            config = parent or generate_config("support-42")
            checkpoint = generate_checkpoint(channel_values={"messages": [step]})
            checkpoint["channel_versions"] = {"messages": step + 1}
            parent = saver.put(config, checkpoint, generate_metadata(step=step), {})
        saver.put(generate_config("other"), generate_checkpoint(), generate_metadata(), {})
    return str(path)


def test_threads_lists_the_agents_threads(db: str) -> None:
    result = runner.invoke(
        app, ["--sqlite-path", db, "threads", "--agent-id", "cli-agent", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == ["other", "support-42"]


def test_threads_of_one_thread_lists_its_checkpoints_newest_first(db: str) -> None:
    args = ["--sqlite-path", db, "threads", "support-42", "--agent-id", "cli-agent"]
    result = runner.invoke(app, [*args, "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["step"] for r in rows] == [2, 1]
    assert rows[0]["parent_checkpoint_id"] == rows[1]["checkpoint_id"]


def test_threads_table_and_help(db: str) -> None:
    table = runner.invoke(
        app, ["--sqlite-path", db, "threads", "support-42", "--agent-id", "cli-agent"]
    )
    assert table.exit_code == 0, table.output
    assert "3 checkpoints" in table.output
    assert "Example" in runner.invoke(app, ["threads", "--help"]).output


def test_threads_of_another_agent_are_not_listed(db: str) -> None:
    result = runner.invoke(app, ["--sqlite-path", db, "threads", "--agent-id", "nobody", "--json"])
    assert json.loads(result.output) == []
