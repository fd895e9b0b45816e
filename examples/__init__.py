"""Runnable examples of agentmem-langchain (``python -m examples.market_hunter``)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def cli_command() -> str:
    """How to call the ``agentmem`` command from the current folder, as it can be typed there:
    ``agentmem`` when that is the one on the PATH, else the path of the one installed beside
    this interpreter (``.venv/bin/agentmem`` after ``make demo``)."""
    script = Path(sys.executable).parent / ("agentmem.exe" if os.name == "nt" else "agentmem")
    on_path = shutil.which("agentmem")
    if not script.exists():
        return "agentmem"
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "agentmem"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
