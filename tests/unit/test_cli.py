"""The agentmem command on a real SQLite file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentmem_langchain import DecisionLogger, MemoryManager, MemoryPattern
from agentmem_langchain.cli import app
from agentmem_langchain.stores.sqlite import SQLiteStore

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.db"
    with SQLiteStore(path) as store:
        logger = DecisionLogger(MemoryManager("cli-agent", store=store))
        for i in range(3):
            decision_id = logger.log_decision("tool_call", confidence=0.5, selected=[f"tool{i}"])
            logger.log_outcome(decision_id, success=i != 1, latency_ms=10.0 * (i + 1))
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_init_creates_the_sqlite_file(tmp_path):
    path = tmp_path / "new" / "memory.db"
    result = invoke("--sqlite-path", str(path), "init")
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_stats_json_reports_the_agents_numbers(db):
    result = invoke("--sqlite-path", str(db), "stats", "--agent-id", "cli-agent", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert (stats["total"], stats["successes"], stats["failures"]) == (3, 2, 1)
    assert stats["latency_p50_ms"] == 20.0


def test_stats_table_shows_the_success_rate(db):
    result = invoke("--sqlite-path", str(db), "stats", "--agent-id", "cli-agent")
    assert result.exit_code == 0, result.output
    assert "66.7%" in result.output


def test_decisions_json_lists_newest_first(db):
    result = invoke("--sqlite-path", str(db), "decisions", "--agent-id", "cli-agent", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["reasoning"]["selected"] for r in records] == [["tool2"], ["tool1"], ["tool0"]]


def test_decisions_limit_and_table(db):
    result = invoke(
        "--sqlite-path", str(db), "decisions", "--agent-id", "cli-agent", "--limit", "2"
    )
    assert result.exit_code == 0, result.output
    assert "tool2" in result.output and "tool0" not in result.output


def test_agent_id_is_read_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("AGENTMEM_AGENT_ID", "cli-agent")
    result = invoke("--sqlite-path", str(db), "stats", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"] == 3


def test_without_an_agent_id_the_default_agent_is_reported(db, monkeypatch):
    monkeypatch.delenv("AGENTMEM_AGENT_ID", raising=False)
    result = invoke("--sqlite-path", str(db), "stats", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["agent_id"] == "default"


def test_malformed_agent_id_exits_2(db):
    result = invoke("--sqlite-path", str(db), "stats", "--agent-id", "bad id")
    assert result.exit_code == 2
    assert "agent_id" in result.output


@pytest.mark.parametrize("command", ["stats", "calibration"])
def test_a_window_reaching_before_year_one_exits_2_and_a_century_works(db, command):
    result = invoke("--sqlite-path", str(db), command, "--agent-id", "cli-agent", "--hours", "1e9")
    assert result.exit_code == 2  # a usage error, not an OverflowError
    assert "--hours" in result.output
    century = invoke(
        "--sqlite-path", str(db), command, "--agent-id", "cli-agent", "--hours", "876000"
    )
    assert century.exit_code == 0, century.output


def test_unknown_store_exits_2(tmp_path):
    result = invoke("--store", "postgres", "init")
    assert result.exit_code == 2
    assert "postgres" in result.output


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in (
        "init", "stats", "decisions", "chain", "patterns", "calibration", "signals",
        "consolidate", "cost", "export", "import", "dashboard", "iam-policy",
    ):  # fmt: skip
        assert command in result.output
        sub = invoke(command, "--help")
        assert sub.exit_code == 0, (command, sub.output)
        assert "Example" in sub.output, command


@pytest.fixture
def linked_db(tmp_path):
    path = tmp_path / "linked.db"
    with SQLiteStore(path) as store:
        memory = MemoryManager("cli-agent", store=store)
        logger = DecisionLogger(memory)
        root = logger.log_decision("strategy_selection", selected=["momentum"], confidence=0.8)
        child = logger.log_decision("risk_assessment", parent_decision_id=root, confidence=0.6)
        logger.log_outcome(child, success=True)
        memory.store_pattern(
            MemoryPattern(
                agent_id="cli-agent",
                decision_type="source_selection",
                description="high volatility: coinglass",
                confidence=0.71,
                success_rate=0.84,
                sample_size=50,
                success_count=42,
            )
        )
        MemoryManager("eth-agent", store=store).publish_signal(
            "market_signal", {"side": "long"}, targets=["cli-agent"], priority=7
        )
    return path, root, child


def test_chain_prints_the_tree_with_parent_above_child(linked_db):
    path, root, child = linked_db
    result = invoke("--sqlite-path", str(path), "chain", child, "--agent-id", "cli-agent")
    assert result.exit_code == 0, result.output
    assert result.output.index(root) < result.output.index(child)
    assert "strategy_selection" in result.output and "risk_assessment" in result.output


def test_chain_json_is_root_first(linked_db):
    path, root, child = linked_db
    result = invoke("--sqlite-path", str(path), "chain", child, "--agent-id", "cli-agent", "--json")
    assert [r["decision_id"] for r in json.loads(result.output)] == [root, child]


def test_chain_of_an_unknown_decision_exits_2(linked_db):
    path, _, _ = linked_db
    result = invoke(
        "--sqlite-path", str(path), "chain", "01M8SXGF4PHCJVH8HT3F7WWYP8", "--agent-id", "cli-agent"
    )
    assert result.exit_code == 2
    assert "not found" in result.output and "Traceback" not in result.output


def test_patterns_lists_the_agents_patterns(linked_db):
    path, _, _ = linked_db
    result = invoke("--sqlite-path", str(path), "patterns", "--agent-id", "cli-agent", "--json")
    assert result.exit_code == 0, result.output
    [pattern] = json.loads(result.output)
    assert pattern["description"] == "high volatility: coinglass"
    table = invoke("--sqlite-path", str(path), "patterns", "--agent-id", "cli-agent")
    assert "0.71" in table.output and "84%" in table.output
    none = invoke("--sqlite-path", str(path), "patterns", "--agent-id", "cli-agent", "--shared")
    assert "0 patterns" in none.output


def test_signals_shows_pending_signals_without_claiming_them(linked_db):
    path, _, _ = linked_db
    for _ in range(2):  # reading twice: still pending
        result = invoke("--sqlite-path", str(path), "signals", "--agent-id", "cli-agent", "--json")
        assert result.exit_code == 0, result.output
        [signal] = json.loads(result.output)
        assert (signal["source_agent_id"], signal["priority"]) == ("eth-agent", 7)


def test_dashboard_prints_the_body_and_create_puts_it_in_cloudwatch(monkeypatch):
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_REGION", "us-east-1")
    printed = invoke("dashboard", "--agent-id", "cli-agent")
    assert printed.exit_code == 0, printed.output
    assert "cli-agent" in json.dumps(json.loads(printed.output))
    with mock_aws():
        created = invoke("dashboard", "--agent-id", "cli-agent", "--name", "ops", "--create")
        assert created.exit_code == 0, created.output
        body = boto3.client("cloudwatch", region_name="us-east-1").get_dashboard(
            DashboardName="ops"
        )["DashboardBody"]
    assert json.loads(body) == json.loads(printed.output)


def test_dashboard_without_a_region_exits_2(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    result = invoke("dashboard", "--agent-id", "cli-agent")
    assert result.exit_code == 2 and "region" in result.output


def test_calibration_reports_bins_ece_and_saves_a_plot(db, tmp_path):
    png = tmp_path / "reliability.png"
    args = ("--sqlite-path", str(db), "calibration", "--agent-id", "cli-agent")
    result = invoke(*args, "--json", "--plot", str(png))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # Three decisions at confidence 0.5, two of them successes.
    assert data["count"] == 3
    assert data["brier_score"] == pytest.approx((0.25 + 0.25 + 0.25) / 3)
    assert data["expected_calibration_error"] == pytest.approx(abs(2 / 3 - 0.5))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = invoke(*args)
    assert "expected calibration error 0.167" in table.output


def test_export_then_import_into_dynamodb_and_back_keeps_every_record(linked_db, tmp_path):
    from moto import mock_aws

    path, root, child = linked_db
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    exported = invoke(
        "--sqlite-path", str(path), "export", "--agent-id", "cli-agent", "--agent-id",
        "eth-agent", "--out", str(first), "--json",
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["counts"]["decision"] == 2
    with mock_aws():
        dynamo = ("--store", "dynamodb", "--region", "us-east-1")
        assert invoke(*dynamo, "init").exit_code == 0
        imported = invoke(*dynamo, "import", str(first), "--json")
        assert imported.exit_code == 0, imported.output
        again = json.loads(invoke(*dynamo, "import", str(first), "--json").output)
        assert sum(again["unchanged"].values()) > 0  # a second import changes nothing new
        back = invoke(
            *dynamo, "export", "--agent-id", "cli-agent", "--agent-id", "eth-agent",
            "--out", str(second),
        )  # fmt: skip
        assert back.exit_code == 0, back.output
    records = [json.loads(line) for line in first.read_text().splitlines()[1:]]
    returned = [json.loads(line) for line in second.read_text().splitlines()[1:]]
    assert sorted(map(json.dumps, records)) == sorted(map(json.dumps, returned))
    assert {r["data"]["decision_id"] for r in records if r["kind"] == "decision"} == {root, child}


def test_export_csv_and_bad_import_files_exit_cleanly(linked_db, tmp_path):
    path, _, _ = linked_db
    out = tmp_path / "decisions.csv"
    result = invoke(
        "--sqlite-path", str(path), "export", "--agent-id", "cli-agent", "--out", str(out),
        "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header, *rows = out.read_text().splitlines()
    assert header.split(",")[:3] == ["agent_id", "decision_id", "decision_type"]
    assert len(rows) == 2
    assert invoke("--sqlite-path", str(path), "import", str(out)).exit_code == 2
    missing = invoke("--sqlite-path", str(path), "import", str(tmp_path / "none.jsonl"))
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad_format = invoke(
        "--sqlite-path", str(path), "export", "--agent-id", "cli-agent", "--out", str(out),
        "--format", "xml",
    )  # fmt: skip
    assert bad_format.exit_code == 2


def test_replay_writes_what_an_earlier_process_journaled_and_counts_it(tmp_path, monkeypatch):
    from agentmem_langchain.capture import CapturedDecision, Recorder, RecorderSettings

    path, journal = tmp_path / "replay.db", tmp_path / "journal"
    monkeypatch.setenv("AGENTMEM_JOURNAL_DIR", str(journal))
    with SQLiteStore(path) as store:
        earlier = Recorder(store, RecorderSettings(journal_dir=journal))
        items = [CapturedDecision(agent_id="cli-agent", decision_type="t") for _ in range(25)]
        earlier._spill(earlier._build_ops(items, settle_failures=False))
        assert earlier.journal_path.exists()

    result = invoke("--sqlite-path", str(path), "replay", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["replayed"], report["remaining"]) == (25, 0)
    with SQLiteStore(path) as store:
        assert all(store.get_decision("cli-agent", i.decision_id) for i in items)
    again = invoke("--sqlite-path", str(path), "replay")
    assert again.exit_code == 0, again.output
    assert "replayed 0 journal entries into the store; 0 remaining" in again.output


def test_a_file_name_too_long_is_one_line_and_exit_2(db):
    result = invoke("--sqlite-path", str(db), "import", "x" * 5000)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.output) < 600


def test_consolidate_recount_rebuilds_the_recommend_counters(tmp_path):
    from agentmem_langchain.models import DecisionOutcome, DecisionRecord

    path = tmp_path / "old.db"
    with SQLiteStore(path) as store:  # decisions written without counting, as before counters
        store.put_decisions(
            [
                DecisionRecord(
                    agent_id="cli-agent",
                    decision_type="source_selection",
                    reasoning={"selected": ["kaiko" if i % 2 else "coinglass"]},
                    outcome=DecisionOutcome(success=i % 3 != 0),
                )
                for i in range(6)
            ]
        )
        before = MemoryManager("cli-agent", store=store).recommend(
            "source_selection", ["coinglass", "kaiko"]
        )
    assert before.samples == {"coinglass": 0.0, "kaiko": 0.0}
    result = invoke("--sqlite-path", str(path), "consolidate", "--agent-id", "cli-agent",
                    "--recount", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recounted"] == 6
    with SQLiteStore(path) as store:
        after = MemoryManager("cli-agent", store=store).recommend(
            "source_selection", ["coinglass", "kaiko"]
        )
    assert sum(after.samples.values()) == pytest.approx(6.0, rel=0.05)
    assert after.samples["coinglass"] > 0 and after.samples["kaiko"] > 0
