"""What ``make demo`` runs works from a fresh folder, and the commands it suggests at the end
work exactly as printed, from the folder it ran in."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def suggested(output: str, marker: str) -> list[str]:
    line = next(line for line in output.splitlines() if marker in line)
    return shlex.split(line.split(marker, 1)[1].split(" (or")[0])


def run_printed(command: list[str], cwd: Path) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout


def test_the_quickstart_suggests_a_command_that_works_as_printed(tmp_path: Path) -> None:
    output = run_module("examples.quickstart", cwd=tmp_path)
    command = suggested(output, "Try: ")
    assert command[0].endswith("agentmem")
    stats = run_printed(command, tmp_path)
    assert "btc-agent-001" in stats or "decisions" in stats.lower()
    assert (tmp_path / "agentmem-demo" / "quickstart.db").is_file()


def test_the_market_hunter_writes_its_plots_and_its_command_works(tmp_path: Path) -> None:
    output = run_module("examples.market_hunter", "--cycles", "12", cwd=tmp_path)
    assert "plots skipped" not in output
    for name in ("reliability", "source_success", "patterns"):
        assert (tmp_path / "agentmem-demo" / f"market_hunter_{name}.png").stat().st_size > 0
    command = suggested(output, "Inspect it: ")
    listing = run_printed(command, tmp_path)
    found = re.search(r"(\d+) decisions", listing)
    assert found is not None and int(found.group(1)) > 0, listing
