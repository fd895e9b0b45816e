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


# -- every block says what to install, and that install covers what the block uses --------

PYPROJECT = README.parent / "pyproject.toml"
#: Import names whose distribution is named differently.
DISTRIBUTIONS = {"langchain_core": "langchain-core", "ulid": "python-ulid", "yaml": "pyyaml"}
#: Library features that need an extra although the block imports nothing of it directly.
FEATURES = {
    "AgentMemoryMiddleware": "langchain",
    "DynamoDBStore": "boto3",
    "CloudWatchExporter": "boto3",
    ".plot_": "matplotlib",
    "to_dataframe(": "pandas",
}
INSTALL = re.compile(r"^# pip install (.+)$")


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _installed_by(line: str) -> set[str]:
    """The distributions ``pip install <line>`` brings (this package's extras resolved)."""
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    names: set[str] = set()

    def add_self(chosen: list[str]) -> None:
        names.update(_requirement_name(r) for r in project["dependencies"])
        for extra in chosen:
            for requirement in extras[extra]:
                if requirement.startswith("agentmem-langchain["):
                    add_self(requirement.split("[", 1)[1].rstrip("]").split(","))
                else:
                    names.add(_requirement_name(requirement))

    for word in line.replace("'", " ").replace('"', " ").split():
        if word.startswith("agentmem-langchain"):
            chosen = word.split("[", 1)[1].rstrip("]").split(",") if "[" in word else []
            for extra in chosen:
                assert extra in extras, f"no extra [{extra}] in pyproject.toml"
            add_self(chosen)
        else:
            names.add(_requirement_name(word))
    return names


def _needed_by(block: str) -> set[str]:
    import ast

    needed: set[str] = set()
    for node in ast.walk(ast.parse(block)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        for module in modules:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "agentmem_langchain":
                continue
            needed.add(DISTRIBUTIONS.get(top, top).lower())
    needed.update(dist for feature, dist in FEATURES.items() if feature in block)
    return needed


def test_every_python_block_says_what_to_install_and_that_is_enough():
    for block in python_blocks():
        first = block.splitlines()[0]
        found = INSTALL.match(first)
        assert found, f"a README block does not start with '# pip install ...': {first!r}"
        missing = _needed_by(block) - _installed_by(found.group(1))
        assert not missing, f"block starting {first!r} also needs {sorted(missing)}"
