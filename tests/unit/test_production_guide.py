"""docs/production.md: its ``agentmem`` commands run as printed, and its figures are the ones
``agentmem cost`` measures."""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentmem_langchain.analytics.cloudwatch import JOURNAL_METRIC, journal_datum
from agentmem_langchain.cli import app
from agentmem_langchain.errors import ValidationError

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "production.md"
cfnlint_api = pytest.importorskip("cfnlint.api")
runner = CliRunner()


def guide_commands(prefix: str) -> list[list[str]]:
    """Arguments of every ``agentmem ...`` line of the guide's bash blocks starting ``prefix``
    (redirections and comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    found = []
    for line in "\n".join(blocks).splitlines():
        if line.startswith(prefix):
            words = shlex.split(line.split(" #", 1)[0].split(" > ", 1)[0])
            found.append(words[1:])
    return found


def test_the_guide_has_deploy_commands():
    assert len(guide_commands("agentmem deploy template")) >= 4


@pytest.mark.parametrize("args", guide_commands("agentmem deploy template"), ids=" ".join)
def test_every_deploy_command_of_the_guide_prints_a_cfn_lint_clean_template(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    matches = cfnlint_api.lint(result.output, config=cfnlint_api.ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_the_guide_quotes_what_agentmem_cost_measures(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    (args,) = guide_commands("agentmem cost")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    measured = json.loads(result.output)
    text = GUIDE.read_text()
    quoted = (
        f"measures {measured['write_units_per_cycle']:.1f} write and "
        f"{measured['read_units_per_cycle']:.1f} read units per cycle"
    )
    assert quoted in text
    assert f"**${measured['total_usd']:.3f} per agent per month**" in text
    assert f"| 1,000 | {measured['write_units_per_cycle'] * 144 * 1000:,.0f} |" in text


def test_journal_datum_is_the_metric_the_alarm_watches():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    datum = journal_datum(42, "prod_", at)
    assert (datum.name, datum.value, datum.unit) == (JOURNAL_METRIC, 42.0, "Count")
    assert datum.dimensions == (("TablePrefix", "prod_"),)


@pytest.mark.parametrize("pending", [-1, 1.5, True, "3"])
def test_journal_datum_refuses_what_is_not_a_count(pending):
    with pytest.raises(ValidationError) as raised:
        journal_datum(pending, "prod_", datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert raised.value.field == "pending"
