"""The notebooks under ``notebooks/`` run top to bottom, each in a fresh kernel, quickly.

Every notebook runs in a kernel of *this* interpreter (the venv the tests run in), so it
imports the package under test whatever other ``python3`` kernels the machine has
installed: the kernelspec is written by the test, not looked up in the Jupyter paths.
The kernel starts in a temporary directory (also its ``TMPDIR``) with a temporary IPython
profile, so neither the checkout nor the user's IPython startup files are involved.
Committed notebooks carry no outputs; the second test keeps it so.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPECTED = {
    "01_decorators.ipynb",
    "02_callbacks.ipynb",
    "03_patterns_retriever.ipynb",
    "04_multi_agent.ipynb",
    "05_agent_middleware.ipynb",
}
#: A whole notebook, kernel start included, must finish within this many seconds.
MAX_SECONDS = 30.0
KERNEL = "python3"
#: Appended (in memory only) to every notebook: which interpreter the kernel runs.
WHICH_PYTHON = "import sys\nprint(sys.executable, end='')"


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A kernels directory holding one ``python3`` spec whose argv is ``sys.executable``."""
    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    spec = kernels / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    body = {"argv": argv, "display_name": "Python 3 (agentmem tests)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(body), encoding="utf-8")
    return [str(kernels)]


def _seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.status.busy"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors_within_30_seconds(
    path: Path,
    kernel_dirs: list[str],
    tmp_path: Path,
    record_property: pytest.RecordProperty,
) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(new_code_cell(WHICH_PYTHON))
    specs = KernelSpecManager(kernel_dirs=kernel_dirs, ensure_native_kernel=False)
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(
        notebook,
        km=manager,
        kernel_name=KERNEL,
        timeout=int(MAX_SECONDS),  # per cell
        startup_timeout=60,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    # The notebooks' temporary directories land in tmp_path too, and are cleaned with it.
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / ".ipython"), "TMPDIR": str(tmp_path)}

    started = time.perf_counter()
    client.execute(env=env)  # raises CellExecutionError, with the traceback, on an error
    elapsed = time.perf_counter() - started

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    slowest = max(_seconds(cell) for cell in code)
    record_property("seconds", round(elapsed, 2))
    record_property("slowest_cell_seconds", round(slowest, 2))
    errors = [
        f"code cell {index}: {output.ename}: {output.evalue}"
        for index, cell in enumerate(code)
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    kernel_python = "".join(output.get("text", "") for output in code[-1].outputs)
    assert kernel_python == sys.executable
    assert not (tmp_path / ".agentmem").exists()  # nothing went to the default store
    assert elapsed < MAX_SECONDS, f"{path.name} took {elapsed:.1f} s (slowest cell {slowest:.1f} s)"


def test_committed_notebooks_have_their_outputs_stripped() -> None:
    assert {path.name for path in NOTEBOOKS} >= EXPECTED
    dirty = [
        f"{path.name} cell {index}"
        for path in NOTEBOOKS
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "code"
        and (cell.outputs or cell.execution_count is not None or "execution" in cell.metadata)
    ]
    assert dirty == []
