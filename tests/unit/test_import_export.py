"""Import honours its header and is all or nothing; export never destroys what is at its path.

Stores are real: SQLite files (compared by a full SQL dump before and after), the in-memory
store, and DynamoDB on moto for the resumable import.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.errors import StoreUnavailableError, ValidationError
from agentmem_langchain.models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionReasoning,
    DecisionRecord,
    MemoryPattern,
)
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore
from agentmem_langchain.transfer import (
    MAX_LINE_CHARS,
    ImportInterrupted,
    export_records,
    import_records,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
A, B = "agent-a", "agent-b"


def populate(store: MemoryStore, agent: str, decisions: int = 3) -> None:
    """One record of every kind for ``agent``, and ``decisions`` decisions."""
    store.register_agent(AgentRegistration(agent_id=agent, registered_at=T0, last_heartbeat=T0))
    store.put_decisions(
        [
            DecisionRecord(
                agent_id=agent,
                decision_type="tool_call",
                reasoning=DecisionReasoning(selected=[f"t{i}"], confidence=0.5),
            )
            for i in range(decisions)
        ]
    )
    store.put_pattern(
        MemoryPattern(agent_id=agent, description=f"{agent} pattern", confidence=0.5),
        expected_version=None,
    )
    store.save_state(AgentState(agent_id=agent, config={"owner": agent}))
    store.create_checkpoint(agent, "first")
    other = B if agent == A else A
    store.publish_signal(
        AgentSignal(source_agent_id=agent, signal_type="alert", target_agent_ids=[other])
    )


def exported(store: MemoryStore, agents: list[str]) -> list[str]:
    out = io.StringIO()
    export_records(store, agents, out, clock=lambda: T0)
    return out.getvalue().splitlines()


def dump(path: Path) -> list[str]:
    """Every row of every table of the SQLite file, as SQL."""
    with sqlite3.connect(path) as conn:
        return sorted(conn.iterdump())


def relabel(line: str, header: list[str]) -> str:
    """An export's header line naming only ``header``."""
    data = json.loads(line)
    data["data"]["agent_ids"] = header
    return json.dumps(data)


@pytest.fixture
def source() -> InMemoryStore:
    made = InMemoryStore()
    populate(made, A)
    populate(made, B)
    return made


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A SQLite store holding agent-b's own records already."""
    path = tmp_path / "target.db"
    with SQLiteStore(path) as store:
        populate(store, B, decisions=1)
    return path


def import_file(db: Path, lines: list[str], tmp_path: Path, **options: Any) -> Any:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with SQLiteStore(db) as store:
        return import_records(store, path, **options)


# -- the header is the file's claim: nothing of any other agent gets in --------------------------


@pytest.mark.parametrize("kind", ["registration", "decision", "pattern_version", "state"])
def test_a_record_of_an_agent_the_header_does_not_name_leaves_the_store_as_it_was(
    source: InMemoryStore, target: Path, tmp_path: Path, kind: str
) -> None:
    both = exported(source, [A, B])
    lines = [relabel(both[0], [A])] + [
        line for line in both[1:] if json.loads(line)["kind"] in (kind, "decision")
    ]
    before = dump(target)

    with pytest.raises(ValidationError, match=f"of agent '{B}', which the header does not name"):
        import_file(target, lines, tmp_path)

    assert dump(target) == before


def test_a_signal_with_a_forged_sender_is_refused(
    source: InMemoryStore, target: Path, tmp_path: Path
) -> None:
    lines = exported(source, [A])
    signal = json.loads(next(line for line in lines if '"kind":"signal"' in line))
    signal["data"]["source_agent_id"] = B
    before = dump(target)

    with pytest.raises(ValidationError, match=f"signal sent by agent '{B}'") as raised:
        import_file(target, [*lines, json.dumps(signal)], tmp_path)

    assert str(raised.value).startswith(f"line {len(lines) + 1}:")
    assert dump(target) == before


def test_agent_ids_imports_only_the_named_agents(source: InMemoryStore, tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"

    summary = import_file(db, exported(source, [A, B]), tmp_path, agent_ids=[A])

    with SQLiteStore(db) as store:
        assert store.get_agent(B) is None and store.load_state(B) is None
        assert len(store.query_decisions(A).items) == 3
    assert summary.agent_ids == (A,)
    assert summary.skipped["decision"] == 3 and summary.skipped["signal"] == 1


def test_agent_ids_must_be_agents_of_the_file(source: InMemoryStore, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="'agent-z' not in this export"):
        import_file(tmp_path / "x.db", exported(source, [A]), tmp_path, agent_ids=["agent-z"])
    with pytest.raises(ValidationError, match="list of agent ids"):
        import_file(tmp_path / "x.db", exported(source, [A]), tmp_path, agent_ids=A)


# -- all or nothing ----------------------------------------------------------------------------


def test_a_bad_last_line_of_601_writes_nothing(target: Path, tmp_path: Path) -> None:
    made = InMemoryStore()
    populate(made, A, decisions=599)
    lines = exported(made, [A])[:600]
    before = dump(target)

    with pytest.raises(ValidationError, match=r"^line 601: not JSON"):
        import_file(target, [*lines, '{"kind": "decision", "data": {'], tmp_path)

    assert len(lines) == 600 and dump(target) == before


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        (
            '{"kind": "decision", "data": {"agent_id": "agent-a", "decision_type": "\\udc00"}}',
            "lone surrogate",
        ),
        ('{"kind": "decision", "data": ' + "[" * 5000 + "]" * 5000 + "}", "line 2"),
    ],
)  # fmt: skip
def test_hostile_lines_are_one_validation_error_naming_the_line(
    source: InMemoryStore, target: Path, tmp_path: Path, line: str, message: str
) -> None:
    header = exported(source, [A])[0]
    before = dump(target)

    with pytest.raises(ValidationError, match=message) as raised:
        import_file(target, [header, line], tmp_path)

    assert str(raised.value).startswith("line 2")
    assert "\n" not in str(raised.value)
    assert dump(target) == before


def test_a_line_longer_than_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    header = exported(InMemoryStore(), [A])[0]
    path = tmp_path / "huge.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n" + "x" * (MAX_LINE_CHARS + 10) + "\n")

    with pytest.raises(ValidationError, match=f"line 2: longer than {MAX_LINE_CHARS}"):
        import_records(InMemoryStore(), path)


def test_a_failure_while_writing_rolls_a_sqlite_import_back(
    source: InMemoryStore, target: Path, tmp_path: Path
) -> None:
    before = dump(target)

    def fail_at_the_state(kind: str, count: int) -> None:
        if kind == "state":
            raise RuntimeError("disk full")

    with pytest.raises(StoreUnavailableError, match="rolled back, nothing was written"):
        import_file(target, exported(source, [A, B]), tmp_path, progress=fail_at_the_state)

    assert dump(target) == before


def test_a_failure_while_writing_rolls_an_in_memory_import_back(source: InMemoryStore) -> None:
    store = InMemoryStore()
    populate(store, B, decisions=1)
    before = exported(store, [A, B])

    def fail_at_the_signal(kind: str, count: int) -> None:
        if kind == "signal":
            raise RuntimeError("boom")

    with pytest.raises(StoreUnavailableError, match="RuntimeError: boom"):
        import_records(store, exported(source, [A, B]), progress=fail_at_the_signal)

    assert exported(store, [A, B]) == before


def test_a_dynamodb_import_that_fails_midway_says_where_to_resume(
    source: InMemoryStore,
) -> None:
    import boto3
    from moto import mock_aws

    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    lines = exported(source, [A, B])
    with mock_aws():
        store = DynamoDBStore(region="us-east-1", table_prefix="resume_")
        store.create_all_tables()
        boto3.client("dynamodb", region_name="us-east-1").delete_table(
            TableName="resume_agent_signals"
        )

        with pytest.raises(ImportInterrupted) as raised:
            import_records(store, lines)

        # 6 decisions, 2 registrations, 2 pattern versions, 2 states, 2 checkpoints written.
        assert (raised.value.resume_from, raised.value.total) == (15, 16)
        assert "--resume-from 15" in str(raised.value)
        assert len(store.query_decisions(A).items) == 3
        store.create_all_tables()  # the signals table is back
        summary = import_records(store, lines, resume_from=raised.value.resume_from)
        assert summary.written["signal"] == 2 and summary.skipped["decision"] == 6
        assert exported(store, [A, B]) == lines
        store.close()


def test_resume_from_is_a_record_number_of_the_file(source: InMemoryStore) -> None:
    lines = exported(source, [A])
    with pytest.raises(ValidationError, match="resume_from: must be between 1 and 9"):
        import_records(InMemoryStore(), lines, resume_from=10)
    with pytest.raises(ValidationError, match="resume_from"):
        import_records(InMemoryStore(), lines, resume_from="2")  # type: ignore[arg-type]


# -- export never destroys what is at its path -----------------------------------------------------


@pytest.fixture
def live(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "live.db") as store:
        populate(store, A)
        yield store


def test_export_onto_the_live_database_is_refused_and_it_stays_a_database(
    live: SQLiteStore,
) -> None:
    before = dump(Path(live.path))

    with pytest.raises(ValidationError, match="the store's own database file"):
        export_records(live, [A], live.path, overwrite=True)

    assert dump(Path(live.path)) == before


def test_export_onto_the_live_databases_wal_is_refused(live: SQLiteStore) -> None:
    with pytest.raises(ValidationError, match="the store's own database file"):
        export_records(live, [A], live.path + "-wal", overwrite=True)


def test_export_onto_a_fifo_is_refused_and_the_fifo_stays(
    live: SQLiteStore, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    with pytest.raises(ValidationError, match="not a regular file"):
        export_records(live, [A], fifo, overwrite=True)

    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_onto_a_symlink_is_refused_and_link_and_target_stay(
    live: SQLiteStore, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    link = tmp_path / "link.jsonl"
    link.symlink_to(precious)

    with pytest.raises(ValidationError, match="symbolic link"):
        export_records(live, [A], link, overwrite=True)

    assert link.is_symlink() and precious.read_text() == "keep me"


def test_export_onto_a_directory_is_refused(live: SQLiteStore, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(ValidationError, match="is a directory"):
        export_records(live, [A], tmp_path / "dir", overwrite=True)
    with pytest.raises(ValidationError, match="directory that does not exist"):
        export_records(live, [A], tmp_path / "missing" / "out.jsonl")


def test_an_existing_file_is_replaced_only_with_overwrite(
    live: SQLiteStore, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("older export")

    with pytest.raises(ValidationError, match="exists; pass --force"):
        export_records(live, [A], out)
    assert out.read_text() == "older export"

    export_records(live, [A], out, overwrite=True)
    assert out.read_text().startswith('{"kind":"header"')


def test_an_export_file_is_private_and_nothing_else_is_left(
    live: SQLiteStore, tmp_path: Path
) -> None:
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    old_umask = os.umask(0o022)
    try:
        export_records(live, [A], out_dir / "a.jsonl")
    finally:
        os.umask(old_umask)

    assert [p.name for p in out_dir.iterdir()] == ["a.jsonl"]
    assert stat.S_IMODE((out_dir / "a.jsonl").stat().st_mode) == 0o600
