"""Every Python example in the README runs, in order, as a user would paste it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert len(python_blocks()) >= 8


def test_readme_python_examples_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("AGENTMEM_STORE", "AGENTMEM_SQLITE_PATH", "AGENTMEM_AGENT_ID"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, object] = {}
    for index, block in enumerate(python_blocks()):
        exec(compile(block, f"README.md block {index}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Success rate: 100.00%" in out
    assert "source_selection -> risk_assessment" in out
    assert "[1, 2]" in out  # pattern versions
    assert "{'risk': 'low'}" in out
    assert "{'asset': 'BTC', 'side': 'long'}" in out
    assert "confidence" in out
    assert "agentmem_agent_decisions: created" in out  # DynamoDB tables, on moto
    assert "'agent_decisions': {'read_units'" in out
