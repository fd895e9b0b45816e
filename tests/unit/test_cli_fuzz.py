"""Generated input for the agentmem command: hostile import files and random arguments.

Every run asserts what the command documents (``agentmem_langchain.cli.app.EXIT_CODES``): an
exit code of that set, never a traceback, never an "unexpected" error (which would be a bug),
and, when the command fails, a store exactly as it was (a full SQL dump before and after).
The import files are an export of agent-a with something hostile in it: another agent's
record, a forged signal sender, a bad last line, deep nesting, lone surrogates, a huge line,
an empty or a binary file, random JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agentmem_langchain import AgentState, DecisionLogger, MemoryManager, MemoryPattern
from agentmem_langchain.cli import app
from agentmem_langchain.cli.app import EXIT_CODES
from agentmem_langchain.stores.sqlite import SQLiteStore

runner = CliRunner()
MARKUP = "[/] [link=https://x.example]y[/link] [bold]"
FUZZ = settings(
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    """A store of agent-a and agent-b, with agent-a's export and agent-b's export lines."""
    base = tmp_path_factory.mktemp("fuzz")
    path = base / "template.db"
    with SQLiteStore(path) as store:
        for agent, other in (("agent-a", "agent-b"), ("agent-b", "agent-a")):
            memory = MemoryManager(agent, store=store)
            logger = DecisionLogger(memory)
            root = logger.log_decision("tool_call", selected=[MARKUP], confidence=0.4)
            logger.log_outcome(
                logger.log_decision(MARKUP, parent_decision_id=root, confidence=0.9),
                success=True,
            )
            memory.store_pattern(MemoryPattern(agent_id=agent, description=MARKUP))
            store.save_state(AgentState(agent_id=agent, config={"k": MARKUP}))
            memory.publish_signal(MARKUP, {"m": MARKUP}, targets=[other])
    exports = []
    for agent in ("agent-a", "agent-b"):
        out = base / f"{agent}.jsonl"
        result = runner.invoke(
            app, ["--sqlite-path", str(path), "export", "--agent-id", agent, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        exports.append(out.read_text(encoding="utf-8").splitlines())
    return path, exports[0], exports[1]


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path_factory.mktemp("run")
    monkeypatch.chdir(work)
    monkeypatch.setenv("AGENTMEM_JOURNAL_DIR", str(work / "journal"))
    for name in ("AGENTMEM_STORE", "AGENTMEM_SQLITE_PATH", "AGENTMEM_DEBUG", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return work


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.iterdump())


def fresh_copy(template: Path, work: Path) -> Path:
    """A copy of the template store in a new directory, which becomes the working directory
    (the fixture restores the original one)."""
    example = Path(tempfile.mkdtemp(dir=work))
    os.chdir(example)
    db = example / "store.db"
    shutil.copy(template, db)
    return db


def check(result: Any) -> None:
    """The documented outcome of any invocation."""
    event(f"exit code {result.exit_code}")
    assert result.exit_code in EXIT_CODES, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert "error: unexpected" not in result.stderr, result.stderr  # a bug, named by its type
    if result.exit_code == 2 and result.stderr.startswith("error:"):
        assert result.stderr.count("\n") == 1, result.stderr


# -- hostile import files --------------------------------------------------------------------------


def _line(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, "data": data})


def _records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines[1:]]


@st.composite
def hostile_files(draw: st.DrawFn, own: list[str], other: list[str]) -> tuple[str, bytes]:
    """(what was done, an import file): agent-a's export with one hostile change, or none."""
    header, body = own[0], own[1:]
    choice = draw(
        st.sampled_from(
            [
                "valid", "other_agent", "forged_sender", "bad_last_line", "nested",
                "surrogate", "huge_line", "empty", "binary", "random_json", "header_only",
                "other_header",
            ]
        )
    )  # fmt: skip
    event(f"file: {choice}")
    if choice == "valid":
        lines = own
    elif choice == "other_agent":  # one of agent-b's records, under agent-a's header
        smuggled = draw(st.sampled_from(other[1:]))
        at = draw(st.integers(1, len(own)))
        lines = [*own[:at], smuggled, *own[at:]]
    elif choice == "forged_sender":
        signal = next(r for r in _records(own) if r["kind"] == "signal")
        signal["data"]["source_agent_id"] = draw(st.sampled_from(["agent-b", "agent-z", ""]))
        lines = [*own, json.dumps(signal)]
    elif choice == "bad_last_line":
        lines = [*own, draw(st.text(min_size=1, max_size=200).filter(str.strip))]
    elif choice == "nested":
        depth = draw(st.integers(500, 100_000))
        opener = draw(st.sampled_from(["[", '{"a":', '{"kind":"decision","data":{"x":[']))
        lines = [header, *body[:2], opener * depth]
    elif choice == "surrogate":
        record = draw(st.sampled_from(body))
        point = draw(st.integers(0xD800, 0xDFFF))
        lines = [header, record.replace(MARKUP, f"\\u{point:04x}", 1), *body]
    elif choice == "huge_line":
        lines = [header, "x" * draw(st.integers(100_000, 2_000_000))]
    elif choice == "empty":
        return choice, draw(st.sampled_from([b"", b"\n\n", b"   \n"]))
    elif choice == "binary":
        return choice, draw(st.binary(min_size=1, max_size=2000))
    elif choice == "random_json":
        values = st.recursive(
            st.none() | st.booleans() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=20,
        )
        kind = draw(st.sampled_from(["decision", "signal", "state", "pattern_version", "x"]))
        lines = [header, _line(kind, {"agent_id": "agent-a", "v": draw(values)})]
    elif choice == "header_only":
        lines = [header]
    else:  # agent-b's whole export, relabelled as agent-a's
        data = json.loads(other[0])
        data["data"]["agent_ids"] = ["agent-a"]
        lines = [json.dumps(data), *other[1:]]
    return choice, ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


@FUZZ
@given(data=st.data())
def test_an_import_file_either_imports_or_leaves_the_store_exactly_as_it_was(
    template: tuple[Path, list[str], list[str]], workdir: Path, data: st.DataObject
) -> None:
    path, own, other = template
    db = fresh_copy(path, workdir)
    choice, content = data.draw(hostile_files(own, other), label="file")
    source = db.parent / "in.jsonl"
    source.write_bytes(content)
    before = dump(db)

    result = runner.invoke(app, ["--sqlite-path", str(db), "import", str(source)])

    check(result)
    if result.exit_code != 0:
        assert result.exit_code == 2
        assert dump(db) == before
    else:
        assert choice in ("valid", "header_only"), f"a file with {choice} was imported"


# -- random arguments ----------------------------------------------------------------------------

_hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", "-", "--", "[/]", "[link=x]y", "not a url", "1e309", "-1", "0", "nan", "inf",
         "10" * 20, "agent-a", "agent-b", "a b", "x" * 300, "\x00", "\ud800"]
    ),
)  # fmt: skip
_numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    _hostile_text,
)
_COMMANDS: dict[str, list[tuple[str, st.SearchStrategy[str] | None]]] = {
    "stats": [("--agent-id", _hostile_text), ("--hours", _numbers), ("--json", None)],
    "decisions": [
        ("--agent-id", _hostile_text), ("--limit", _numbers), ("--type", _hostile_text),
        ("--json", None),
    ],
    "chain": [("", _hostile_text), ("--agent-id", _hostile_text), ("--json", None)],
    "patterns": [
        ("--agent-id", _hostile_text), ("--min-confidence", _numbers), ("--limit", _numbers),
        ("--shared", None), ("--include-retired", None), ("--json", None),
    ],
    "signals": [("--agent-id", _hostile_text), ("--limit", _numbers), ("--json", None)],
    "calibration": [
        ("--agent-id", _hostile_text), ("--hours", _numbers), ("--bins", _numbers),
        ("--plot", _hostile_text), ("--json", None),
    ],
    "consolidate": [("--agent-id", _hostile_text), ("--json", None)],
    "export": [
        ("--agent-id", _hostile_text), ("--out", _hostile_text), ("--format", _hostile_text),
        ("--force", None), ("--json", None),
    ],
    "import": [
        ("", _hostile_text), ("--agent-id", _hostile_text), ("--resume-from", _numbers),
        ("--json", None),
    ],
    "iam-policy": [
        ("--agent-id", _hostile_text), ("--table-prefix", _hostile_text),
        ("--region", _hostile_text), ("--account-id", _hostile_text),
    ],
    "dashboard": [("--agent-id", _hostile_text), ("--region", _hostile_text)],
    "replay": [("--json", None)],
}  # fmt: skip


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    args: list[str] = []
    if draw(st.booleans()):  # a store path that may not exist, or be a directory
        args += ["--sqlite-path", draw(st.sampled_from(["store.db", "missing.db", ".", "[/].db"]))]
    else:
        args += ["--sqlite-path", "store.db"]
    if draw(st.integers(0, 9)) == 0:
        args += ["--store", draw(_hostile_text.filter(lambda s: s.strip().lower() != "dynamodb"))]
    command = draw(st.sampled_from(sorted(_COMMANDS)))
    args.append(command)
    options = _COMMANDS[command]
    for name, values in draw(st.lists(st.sampled_from(options), max_size=5)):
        if name:
            args.append(name)
        if values is not None:
            args.append(draw(values))
    return [a for a in args if "\x00" not in a and not (a.startswith("/") or ".." in a)]


@FUZZ
@given(args=invocations())
def test_random_arguments_end_in_a_documented_exit_and_touch_nothing_on_failure(
    template: tuple[Path, list[str], list[str]], workdir: Path, args: list[str]
) -> None:
    path, _, _ = template
    db = fresh_copy(path, workdir)
    before = dump(db)

    result = runner.invoke(app, args)

    check(result)
    if result.exit_code != 0:
        assert dump(db) == before, args
    if result.exit_code != 0 or "import" not in args:  # only an import may create a store
        assert not (db.parent / "missing.db").exists(), args
