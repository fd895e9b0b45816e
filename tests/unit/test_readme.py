"""Every Python example in the README runs, in order, as a user would paste it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert len(python_blocks()) >= 8


def test_readme_python_examples_run_in_order(tmp_path):
    """In a fresh interpreter, as a user's session would be (no other test's recorders)."""
    script = tmp_path / "readme_examples.py"
    script.write_text("\n\n".join(python_blocks()))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AGENTMEM_STORE", "AGENTMEM_SQLITE_PATH", "AGENTMEM_AGENT_ID")
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Success rate: 100.00%" in out
    assert "source_selection -> risk_assessment" in out
    assert "[1, 2]" in out  # pattern versions
    assert "{'risk': 'low'}" in out
    assert "{'asset': 'BTC', 'side': 'long'}" in out
    assert "confidence" in out
    assert "eth got price_request {'asset': 'BTC'}" in out
    assert "['When funding turns negative, cryptoquant leads coinglass']" in out
    assert "agentmem_agent_decisions: created" in out  # DynamoDB tables, on moto
    assert "True " in out and "copied " in out  # export, then import into another store
    assert "ECE " in out and "'DecisionCount'" in out and "agentmem\n" in out
    assert "'agent_decisions': {'read_units'" in out
