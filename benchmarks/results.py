"""Write one benchmark's section of ``benchmarks/RESULTS.md`` (and a JSON copy of its figures).

Each benchmark owns the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; a rerun
replaces only its own section.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"


def machine() -> str:
    """One line describing where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    sqlite = subprocess.run(
        [sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite}, {platform.system()} {platform.release()}"
    )


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """Median and p95 of timings given in seconds, in milliseconds."""
    ordered = sorted(samples_s)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def write_section(name: str, markdown: str, figures: dict[str, Any]) -> None:
    """Replace section ``name`` of RESULTS.md and write ``results-NAME.json``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)
    (HERE / f"results-{name}.json").write_text(json.dumps(figures, indent=2) + "\n")


def run_child(command: list[str], what: str) -> dict[str, Any]:
    """Run a benchmark's child process; the JSON object its last line of output holds."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
