"""The agentmem command against hostile data and bad input: stored text prints as data, every
error is one line on stderr with exit code 2, and import/export never touch what is not theirs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from agentmem_langchain import AgentState, DecisionLogger, MemoryManager, MemoryPattern
from agentmem_langchain.cli import app
from agentmem_langchain.cli.app import GuardedGroup
from agentmem_langchain.stores.sqlite import SQLiteStore

runner = CliRunner()
HOSTILE = "[/] [link=https://evil.example]click[/link] [bold red]x :smile:"


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def one_line_error(result: Result) -> str:
    """The result's stderr, after checking it is exactly one line and not a traceback."""
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert "Traceback" not in result.output
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return str(err)


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.iterdump())


@pytest.fixture
def hostile_db(tmp_path: Path) -> tuple[Path, str]:
    """agent-a's store, written to by agent-b too, full of rich markup."""
    path = tmp_path / "hostile.db"
    with SQLiteStore(path) as store:
        memory = MemoryManager("agent-a", store=store)
        logger = DecisionLogger(memory)
        root = logger.log_decision(HOSTILE, selected=[HOSTILE], confidence=0.5)
        child = logger.log_decision(HOSTILE, parent_decision_id=root, confidence=0.5)
        logger.log_outcome(child, success=True)
        memory.store_pattern(MemoryPattern(agent_id="agent-a", description=HOSTILE, confidence=0.9))
        store.save_state(AgentState(agent_id="agent-a", config={"note": HOSTILE}))
        MemoryManager("agent-b", store=store).publish_signal(
            HOSTILE, {"note": HOSTILE}, targets=["agent-a"]
        )
    return path, child


@pytest.mark.parametrize(
    "command", [["decisions"], ["patterns"], ["signals"], ["stats"], ["chain", "CHILD"]]
)
def test_stored_markup_prints_literally(hostile_db: tuple[Path, str], command: list[str]) -> None:
    path, child = hostile_db
    args = [c.replace("CHILD", child) for c in command]

    result = invoke("--sqlite-path", str(path), *args, "--agent-id", "agent-a")

    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert "[/]" in shown and "[link=" in shown  # the text itself, not styles or a crash
    assert "\x1b]8;" not in shown  # no terminal hyperlink


def test_init_of_dynamodb_names_the_tables_not_an_object_repr(monkeypatch) -> None:
    from moto import mock_aws

    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        result = invoke("--store", "dynamodb", "init")
    assert result.exit_code == 0, result.output
    assert "object at 0x" not in result.output
    assert "ready: dynamodb://us-east-1/agentmem_" in result.output


# -- read commands never create a store ------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["stats"], ["decisions"], ["patterns"], ["signals"], ["calibration"], ["consolidate"],
        ["chain", "01M8SXGF4PHCJVH8HT3F7WWYP8"], ["export", "--agent-id", "a", "--out", "x.jsonl"],
    ],
)  # fmt: skip
def test_a_read_command_on_a_missing_sqlite_file_says_so_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / "typo.db"

    error = one_line_error(invoke("--sqlite-path", str(typo), *command))

    assert "no such SQLite store" in error and str(typo) in error
    assert list(tmp_path.iterdir()) == []


# -- every bad input is one line, exit code 2 ---------------------------------------------------


def test_an_endpoint_that_is_not_a_url_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    error = one_line_error(invoke("--store", "dynamodb", "--endpoint-url", "not a url", "stats"))
    assert "not a url" in error


def test_an_empty_aws_region_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert "region" in one_line_error(invoke("--store", "dynamodb", "stats"))


def test_a_plot_into_a_directory_is_one_line(hostile_db: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = hostile_db
    error = one_line_error(
        invoke(
            "--sqlite-path",
            str(path),
            "calibration",
            "--agent-id",
            "agent-a",
            "--plot",
            str(tmp_path),
        )
    )
    assert "directory" in error.lower()


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--table-prefix", "*", "table_prefix"),
        ("--table-prefix", "a/b", "table_prefix"),
        ("--region", "us-east-1:*", "region"),
        ("--region", "", "region"),
        ("--account-id", "12345", "account_id"),
        ("--account-id", "*:table", "account_id"),
    ],
)
def test_iam_policy_refuses_values_that_would_widen_the_arns(
    option: str, value: str, field: str
) -> None:
    error = one_line_error(invoke("iam-policy", "--agent-id", "btc-agent-001", option, value))
    assert field in error


def test_iam_policy_takes_a_real_region_and_account() -> None:
    result = invoke(
        "iam-policy", "--agent-id", "btc-agent-001", "--region", "eu-west-1",
        "--account-id", "123456789012", "--table-prefix", "prod.v2-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    resources = json.loads(result.output)["Statement"][0]["Resource"]
    assert all(
        r.startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/prod.v2-") for r in resources
    )


def test_an_unexpected_exception_is_one_line_naming_its_type(monkeypatch) -> None:
    monkeypatch.delenv("AGENTMEM_DEBUG", raising=False)
    probe = typer.Typer(cls=GuardedGroup)

    @probe.command()
    def broken() -> None:
        raise TypeError("unsupported operand")

    @probe.command()
    def other() -> None: ...

    error = one_line_error(runner.invoke(probe, ["broken"]))
    assert "unexpected TypeError: unsupported operand" in error


def test_a_message_holding_markup_is_printed_as_text(tmp_path: Path) -> None:
    error = one_line_error(invoke("--sqlite-path", str(tmp_path / "[red]x[/].db"), "stats"))
    assert "[red]x[/].db" in error


# -- import through the command line ---------------------------------------------------------


def test_an_import_smuggling_another_agents_records_changes_nothing(
    hostile_db: tuple[Path, str], tmp_path: Path
) -> None:
    path, _ = hostile_db
    out = tmp_path / "a.jsonl"
    assert invoke("--sqlite-path", str(path), "export", "--agent-id", "agent-a", "--out", str(out))
    lines = out.read_text().splitlines()
    smuggled = json.loads(lines[1])
    smuggled["data"]["agent_id"] = "agent-b"
    out.write_text("\n".join([*lines, json.dumps(smuggled)]) + "\n")
    before = dump(path)

    error = one_line_error(invoke("--sqlite-path", str(path), "import", str(out)))

    assert f"line {len(lines) + 1}:" in error and "'agent-b'" in error
    assert dump(path) == before


def test_a_bad_import_file_creates_no_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "header"}\n')
    new_store = tmp_path / "new.db"

    one_line_error(invoke("--sqlite-path", str(new_store), "import", str(bad)))

    assert not new_store.exists()


def test_import_agent_id_imports_only_that_agent(
    hostile_db: tuple[Path, str], tmp_path: Path
) -> None:
    path, _ = hostile_db
    out, fresh = tmp_path / "ab.jsonl", tmp_path / "fresh.db"
    invoke(
        "--sqlite-path", str(path), "export", "--agent-id", "agent-a", "--agent-id", "agent-b",
        "--out", str(out),
    )  # fmt: skip

    result = invoke(
        "--sqlite-path", str(fresh), "import", str(out), "--agent-id", "agent-b", "--json"
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["written"]["signal"] == 1 and report["skipped"]["decision"] == 2
    with SQLiteStore(fresh) as store:
        assert store.query_decisions("agent-a").items == []


def test_a_dynamodb_import_cut_short_prints_the_resume_position(
    hostile_db: tuple[Path, str], tmp_path: Path, monkeypatch
) -> None:
    import boto3
    from moto import mock_aws

    path, _ = hostile_db
    out = tmp_path / "a.jsonl"
    invoke("--sqlite-path", str(path), "export", "--agent-id", "agent-a", "--out", str(out))
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    dynamo = ("--store", "dynamodb")
    with mock_aws():
        assert invoke(*dynamo, "init").exit_code == 0
        boto3.client("dynamodb", region_name="us-east-1").delete_table(
            TableName="agentmem_agent_state"
        )

        error = one_line_error(invoke(*dynamo, "import", str(out)))
        assert "import again with --resume-from 4" in error  # decisions and pattern went in

        assert invoke(*dynamo, "init").exit_code == 0
        resumed = invoke(*dynamo, "import", str(out), "--resume-from", "3", "--json")
        assert resumed.exit_code == 0, resumed.output
        report = json.loads(resumed.stdout)
        assert report["skipped"]["decision"] == 2 and report["written"]["state"] == 1


# -- export through the command line ---------------------------------------------------------


def test_export_onto_the_live_database_is_refused_and_it_still_opens(
    hostile_db: tuple[Path, str],
) -> None:
    path, _ = hostile_db
    before = dump(path)

    error = one_line_error(
        invoke(
            "--sqlite-path",
            str(path),
            "export",
            "--agent-id",
            "agent-a",
            "--out",
            str(path),
            "--force",
        )
    )

    assert "store's own database" in error
    assert dump(path) == before


def test_export_onto_a_fifo_or_symlink_is_refused(
    hostile_db: tuple[Path, str], tmp_path: Path
) -> None:
    path, _ = hostile_db
    fifo, link, kept = tmp_path / "fifo", tmp_path / "link", tmp_path / "kept.txt"
    os.mkfifo(fifo)
    kept.write_text("keep")
    link.symlink_to(kept)
    base = ("--sqlite-path", str(path), "export", "--agent-id", "agent-a", "--force", "--out")

    assert "not a regular file" in one_line_error(invoke(*base, str(fifo)))
    assert "symbolic link" in one_line_error(invoke(*base, str(link)))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert link.is_symlink() and kept.read_text() == "keep"


def test_export_to_dash_writes_the_export_to_stdout(hostile_db: tuple[Path, str]) -> None:
    path, _ = hostile_db
    result = invoke("--sqlite-path", str(path), "export", "--agent-id", "agent-a", "--out", "-")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert json.loads(lines[0])["kind"] == "header"
    assert {json.loads(line)["kind"] for line in lines[1:]} >= {"decision", "pattern_version"}


def test_export_over_an_existing_file_needs_force(
    hostile_db: tuple[Path, str], tmp_path: Path
) -> None:
    path, _ = hostile_db
    out = tmp_path / "a.jsonl"
    out.write_text("previous")
    base = ("--sqlite-path", str(path), "export", "--agent-id", "agent-a", "--out", str(out))

    assert "--force" in one_line_error(invoke(*base))
    assert out.read_text() == "previous"
    assert invoke(*base, "--force").exit_code == 0
    assert out.read_text().startswith('{"kind":"header"')
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
