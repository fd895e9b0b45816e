"""The export file itself: header, JSONL lines, the CSV view, and how imports check lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.errors import ValidationError
from agentmem_langchain.models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    MemoryPattern,
)
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock, InMemoryStore
from agentmem_langchain.transfer import (
    CSV_COLUMNS,
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    export_records,
    import_records,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "agent-a"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store(clock: FakeClock) -> InMemoryStore:
    """An agent with one record of every kind, and two decisions."""
    made = InMemoryStore(clock=clock)
    made.register_agent(AgentRegistration(agent_id=AGENT, registered_at=T0, last_heartbeat=T0))
    made.put_decisions([root(), child()])
    made.put_pattern(
        MemoryPattern(agent_id=AGENT, confidence=0.5, created_at=T0, updated_at=T0),
        expected_version=None,
    )
    made.save_state(AgentState(agent_id=AGENT, config={"k": 1}, updated_at=T0))
    made.create_checkpoint(AGENT, "first")
    made.publish_signal(
        AgentSignal(source_agent_id=AGENT, signal_type="alert", broadcast=True, created_at=T0)
    )
    return made


def root() -> DecisionRecord:
    return DecisionRecord(
        decision_id="01HXAAAAAAAAAAAAAAAAAAAAAA",
        agent_id=AGENT,
        decision_type="strategy_selection",
        timestamp=T0,
        reasoning=DecisionReasoning(
            confidence=0.75, selected=["a"], scores={"a": 0.5}, rationale="=1+1"
        ),
        outcome=DecisionOutcome(
            success=True, latency_ms=12.5, recorded_at=T0, details={"pnl": 1.5}
        ),
        tags=["btc", "live"],
        metadata={"run": 3},
        ttl=2_000_000_000,
    )


def child() -> DecisionRecord:
    return DecisionRecord(
        decision_id="01HXBBBBBBBBBBBBBBBBBBBBBB",
        agent_id=AGENT,
        decision_type="tool_call",
        timestamp=T0,
        parent_decision_id="01HXAAAAAAAAAAAAAAAAAAAAAA",
        trace_id="01HXAAAAAAAAAAAAAAAAAAAAAA",
    )


def jsonl(store: MemoryStore, clock: FakeClock | None = None) -> list[str]:
    out = io.StringIO()
    export_records(store, [AGENT], out, clock=clock or (lambda: T0))
    return out.getvalue().splitlines()


def everything(store: MemoryStore) -> list[Any]:
    """What the store shows of the agent, for before/after comparisons."""
    decisions = store.query_decisions(AGENT).items
    patterns = store.list_patterns(AGENT, include_retired=True).items
    return [
        store.get_agent(AGENT),
        sorted(decisions, key=lambda d: d.decision_id),
        [store.get_pattern_history(AGENT, p.pattern_id) for p in patterns],
        store.load_state(AGENT),
        store.list_checkpoints(AGENT),
        list(store.iter_published_signals(AGENT, consumers=["agent-b"])),
    ]


def import_lines(store: MemoryStore, lines: list[str]) -> Any:
    return import_records(store, io.StringIO("\n".join(lines) + "\n"))


# -- JSONL ------------------------------------------------------------------------------------


def test_first_line_is_a_header_with_format_version_and_export_time(store: InMemoryStore) -> None:
    header = json.loads(jsonl(store)[0])

    assert header == {
        "kind": "header",
        "data": {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": "2024-05-01T12:00:00Z",
            "agent_ids": [AGENT],
        },
    }


def test_every_other_line_is_one_record_of_a_known_kind(store: InMemoryStore) -> None:
    lines = [json.loads(line) for line in jsonl(store)[1:]]

    assert all(set(line) == {"kind", "data"} for line in lines)
    assert [line["kind"] for line in lines] == [
        "registration",
        "decision",
        "decision",
        "pattern_version",
        "state",
        "checkpoint",
        "signal",
    ]
    assert set(KINDS) == {line["kind"] for line in lines}


def test_a_decision_line_holds_the_record_field_for_field(store: InMemoryStore) -> None:
    lines = [json.loads(line) for line in jsonl(store)]
    data = next(
        line["data"] for line in lines if line["data"].get("decision_id") == root().decision_id
    )

    assert DecisionRecord.model_validate(data) == root()


def test_export_summary_counts_records_by_kind(store: InMemoryStore) -> None:
    summary = export_records(store, [AGENT], io.StringIO())

    assert summary.counts == {
        "registration": 1,
        "decision": 2,
        "pattern_version": 1,
        "state": 1,
        "checkpoint": 1,
        "signal": 1,
    }
    assert summary.total == 7


def test_progress_is_told_each_kinds_running_count(store: InMemoryStore) -> None:
    seen: list[tuple[str, int]] = []

    export_records(store, [AGENT], io.StringIO(), progress=lambda k, n: seen.append((k, n)))

    assert seen[:3] == [("registration", 1), ("decision", 1), ("decision", 2)]
    assert len(seen) == 7


def test_export_to_a_path_leaves_no_partial_file(store: InMemoryStore, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"

    export_records(store, [AGENT], path)

    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert len(path.read_text(encoding="utf-8").splitlines()) == 8


def test_a_failed_export_to_a_path_leaves_nothing_behind(
    store: InMemoryStore, tmp_path: Path
) -> None:
    def boom(kind: str, count: int) -> None:
        if kind == "state":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        export_records(store, [AGENT], tmp_path / "out.jsonl", progress=boom)

    assert list(tmp_path.iterdir()) == []


def test_agent_ids_must_be_a_list_of_valid_ids(store: InMemoryStore) -> None:
    with pytest.raises(ValidationError, match="list of agent ids"):
        export_records(store, AGENT, io.StringIO())
    with pytest.raises(ValidationError, match="at least one"):
        export_records(store, [], io.StringIO())
    with pytest.raises(ValidationError, match="agent_ids"):
        export_records(store, ["has space"], io.StringIO())


def test_an_unknown_format_is_refused(store: InMemoryStore) -> None:
    with pytest.raises(ValidationError, match="format"):
        export_records(store, [AGENT], io.StringIO(), format="xml")  # type: ignore[arg-type]


# -- CSV --------------------------------------------------------------------------------------


def csv_rows(store: MemoryStore) -> list[dict[str, str]]:
    out = io.StringIO()
    export_records(store, [AGENT], out, format="csv")
    out.seek(0)
    return list(csv.DictReader(out))


def test_csv_has_the_documented_columns_and_one_row_per_decision(store: InMemoryStore) -> None:
    out = io.StringIO()
    summary = export_records(store, [AGENT], out, format="csv")

    header = out.getvalue().splitlines()[0]
    assert header.split(",") == list(CSV_COLUMNS)
    assert len(csv_rows(store)) == 2
    assert summary.counts["decision"] == 2
    assert summary.total == 2


def test_csv_flattens_a_decision(store: InMemoryStore) -> None:
    row = next(r for r in csv_rows(store) if r["decision_id"] == root().decision_id)

    assert row["decision_type"] == "strategy_selection"
    assert row["timestamp"] == "2024-05-01T12:00:00Z"
    assert row["status"] == "success"
    assert (row["success"], row["latency_ms"], row["quality_score"]) == ("true", "12.5", "")
    assert (row["confidence"], row["ttl"], row["consolidated"]) == ("0.75", "2000000000", "false")
    assert json.loads(row["tags"]) == ["btc", "live"]
    assert json.loads(row["scores"]) == {"a": 0.5}
    assert json.loads(row["outcome_details"]) == {"pnl": 1.5}
    assert json.loads(row["metadata"]) == {"run": 3}
    assert json.loads(row["context"]) == {"market": {}, "cycle": None, "inputs": {}, "extra": {}}


def test_csv_leaves_cells_empty_for_a_pending_decision(store: InMemoryStore) -> None:
    row = next(r for r in csv_rows(store) if r["decision_id"] == child().decision_id)

    assert row["status"] == "pending"
    assert row["parent_decision_id"] == root().decision_id
    assert [row[c] for c in ("success", "latency_ms", "error", "outcome_recorded_at")] == [""] * 4


def test_csv_text_a_spreadsheet_would_run_as_a_formula_is_quoted(store: InMemoryStore) -> None:
    row = next(r for r in csv_rows(store) if r["decision_id"] == root().decision_id)

    assert row["rationale"] == "'=1+1"


def test_a_csv_export_cannot_be_imported(store: InMemoryStore, tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    export_records(store, [AGENT], path, format="csv")

    with pytest.raises(ValidationError, match=r"line 1: this is a CSV export.*JSONL"):
        import_records(InMemoryStore(), path)


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text('{"some": "json"}\n', encoding="utf-8")

    with pytest.raises(ValidationError, match=r"line 1: expected the header.*JSONL"):
        import_records(InMemoryStore(), path)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        import_records(InMemoryStore(), io.StringIO(""))


def test_a_newer_format_version_is_refused(store: InMemoryStore) -> None:
    lines = jsonl(store)
    header = json.loads(lines[0])
    header["data"]["format_version"] = FORMAT_VERSION + 1

    with pytest.raises(ValidationError, match="newer than this library reads"):
        import_lines(InMemoryStore(), [json.dumps(header), *lines[1:]])


# -- importing --------------------------------------------------------------------------------


def test_import_writes_what_the_export_holds(store: InMemoryStore, clock: FakeClock) -> None:
    target = InMemoryStore(clock=clock)

    summary = import_lines(target, jsonl(store))

    assert everything(target) == everything(store)
    assert summary.written == export_records(store, [AGENT], io.StringIO()).counts
    assert summary.exported_at == T0
    assert summary.agent_ids == (AGENT,)


def test_importing_twice_changes_nothing(store: InMemoryStore, clock: FakeClock) -> None:
    target = InMemoryStore(clock=clock)
    lines = jsonl(store)
    import_lines(target, lines)
    after_first = everything(target)

    again = import_lines(target, lines)

    assert everything(target) == after_first
    assert again.unchanged == {
        "registration": 1,
        "decision": 0,
        "pattern_version": 1,
        "state": 1,
        "checkpoint": 1,
        "signal": 0,
    }
    assert again.total == 7


def test_import_keeps_newer_state_on_the_target(store: InMemoryStore, clock: FakeClock) -> None:
    target = InMemoryStore(clock=clock)
    import_lines(target, jsonl(store))
    newer = target.save_state(AgentState(agent_id=AGENT, config={"k": 2}, version=1))

    import_lines(target, jsonl(store))

    assert target.load_state(AGENT) == newer


def test_blank_lines_are_ignored(store: InMemoryStore, clock: FakeClock) -> None:
    target = InMemoryStore(clock=clock)
    lines = jsonl(store)

    import_lines(target, [lines[0], "", *lines[1:3], "   ", *lines[3:], ""])

    assert everything(target) == everything(store)


def bad_lines(store: MemoryStore, number: int, text: str) -> list[str]:
    """The export of ``store`` with line ``number`` (1-based) replaced by ``text``."""
    lines = jsonl(store)
    lines[number - 1] = text
    return lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"kind": "decisions", "data": {}}', "kind one of"),
        ('{"kind": "decision", "data": {}, "extra": 1}', "kind one of"),
        ('{"kind": "decision", "data": {"agent_id": "agent-a"}}', "decision_type"),
        (
            '{"kind": "state", "data": {"agent_id": "agent-a", "version": 0}}',
            "state.version must be at least 1",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(
    store: InMemoryStore, clock: FakeClock, text: str, message: str
) -> None:
    target = InMemoryStore(clock=clock)

    with pytest.raises(ValidationError, match=message) as raised:
        import_lines(target, bad_lines(store, 4, text))

    assert str(raised.value).startswith("line 4")
    assert everything(target) == [None, [], [], None, [], []]


def test_a_bad_last_line_leaves_earlier_lines_unwritten(
    store: InMemoryStore, clock: FakeClock
) -> None:
    target = InMemoryStore(clock=clock)
    lines = jsonl(store)

    with pytest.raises(ValidationError, match=f"line {len(lines) + 1}"):
        import_lines(target, [*lines, '{"kind": "signal", "data": {"signal_type": "x"}}'])

    assert target.query_decisions(AGENT).items == []
    assert target.get_agent(AGENT) is None


def test_a_bad_value_names_the_field(store: InMemoryStore) -> None:
    data = root().model_dump(mode="json")
    data["reasoning"]["confidence"] = 2.0

    with pytest.raises(ValidationError, match=r"line 2 \(decision\):.*confidence") as raised:
        import_lines(
            InMemoryStore(), bad_lines(store, 2, json.dumps({"kind": "decision", "data": data}))
        )

    assert raised.value.field is not None and "confidence" in raised.value.field


def test_a_status_of_an_agent_the_signal_is_not_for_is_refused(store: InMemoryStore) -> None:
    sent = AgentSignal(
        source_agent_id=AGENT,
        signal_type="alert",
        target_agent_ids=["agent-b"],
        processing={"agent-z": "processed"},
    )
    line = json.dumps({"kind": "signal", "data": sent.model_dump(mode="json")})

    with pytest.raises(ValidationError, match=r"line 3: .*not for: \['agent-z'\]"):
        import_lines(InMemoryStore(), bad_lines(store, 3, line))


def test_a_checkpoint_holding_another_agents_state_is_refused(store: InMemoryStore) -> None:
    [checkpoint] = store.list_checkpoints(AGENT)
    data = checkpoint.model_dump(mode="json")
    data["state"]["agent_id"] = "agent-b"
    line = json.dumps({"kind": "checkpoint", "data": data})

    with pytest.raises(ValidationError, match="line 2: checkpoint of 'agent-a' holds the state"):
        import_lines(InMemoryStore(), bad_lines(store, 2, line))


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    export = jsonl(InMemoryStore())
    path.write_bytes(export[0].encode() + b"\n" + b'{"kind": "\xe9"}\n')

    with pytest.raises(ValidationError, match="line 2: not UTF-8"):
        import_records(InMemoryStore(), path)


def test_import_progress_reports_each_kind(store: InMemoryStore, clock: FakeClock) -> None:
    seen: list[tuple[str, int]] = []

    import_records(
        InMemoryStore(clock=clock),
        io.StringIO("\n".join(jsonl(store))),
        progress=lambda kind, count: seen.append((kind, count)),
    )

    assert seen == [
        ("decision", 2),
        ("registration", 1),
        ("pattern_version", 1),
        ("state", 1),
        ("checkpoint", 1),
        ("signal", 1),
    ]


@pytest.mark.parametrize("out", ["", ".", Path("")])
def test_an_export_path_without_a_file_name_is_a_validation_error(out):
    with pytest.raises(ValidationError, match="a file name is needed"):
        export_records(InMemoryStore(), ["agent-1"], out)
