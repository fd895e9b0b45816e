"""The ``agentmem`` entry point: a usage error is one line on stderr and exit code 2, help is
help, as a shell sees them (a real process running ``main()``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

ENTRY = "from agentmem_langchain.cli import main; main()"


def agentmem(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("decisions", "--limit", "abc"), "Invalid value for '--limit'"),
        (("nosuch",), "No such command 'nosuch'"),
        (("stats", "--no-such-option"), "No such option"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(args: tuple[str, ...], said: str) -> None:
    done = agentmem(*args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and said in lines[0]
    assert "--help" in lines[0]
    assert "Traceback" not in done.stderr


def test_help_is_printed_with_exit_code_0() -> None:
    done = agentmem("--help")
    assert done.returncode == 0
    assert "decisions" in done.stdout and done.stderr == ""


def test_export_to_stdout_read_only_in_part_ends_quietly(tmp_path) -> None:
    from agentmem_langchain import DecisionLogger, MemoryManager
    from agentmem_langchain.stores.sqlite import SQLiteStore

    path = tmp_path / "big.db"
    with SQLiteStore(path) as store:
        logger = DecisionLogger(MemoryManager("agent-a", store=store))
        for i in range(400):  # a few hundred KB of export: more than a pipe holds
            logger.log_decision("tool_call", selected=[f"tool{i}"], rationale="x" * 500)
    export = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "--sqlite-path", str(path), "export",
         "--agent-id", "agent-a", "--out", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert export.stdout is not None and export.stderr is not None
    first = export.stdout.readline()  # `| head -1`
    export.stdout.close()
    assert export.wait(timeout=60) == 141
    assert b'"format"' in first
    assert export.stderr.read() == b""
