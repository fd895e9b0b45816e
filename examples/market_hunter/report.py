"""The demo's output: a rich summary, or (``--quiet``) the two measured lines."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentmem_langchain import DecisionType, MemoryPattern
from agentmem_langchain.cli import chain_tree
from agentmem_langchain.learning import public_recommendation
from agentmem_langchain.models import DecisionStats
from examples import cli_command

from .run import AGENT_ID, DECISION_POINTS, DemoResult, TruthCheck

_SHOWN_TYPES = (DecisionType.SOURCE_SELECTION.value, DecisionType.STRATEGY_SELECTION.value)


def summary_lines(result: DemoResult) -> list[str]:
    """(a) the truth check and (b) the day-2 comparison, one line each."""

    def found(decision_type: str) -> str:
        checks = [t for t in result.truth if t.decision_type == decision_type]
        return ", ".join(
            f"{_regime({t.condition: t.value})} -> {t.learned or 'nothing yet'}" for t in checks
        )

    strategies = [t for t in result.truth if t.decision_type == _SHOWN_TYPES[1]]
    source = DecisionType.SOURCE_SELECTION.value
    with_rate, without_rate = result.with_memory.rate(source), result.without_memory.rate(source)
    return [
        f"(a) truth recovered: sources {'yes' if result.truth_recovered else 'NO'} "
        f"({found(_SHOWN_TYPES[0])}); strategies {sum(t.ok for t in strategies)} of "
        f"{len(strategies)} ({found(_SHOWN_TYPES[1])})",
        f"(b) day 2 source selection success: {with_rate:.1%} with memory vs "
        f"{without_rate:.1%} without ({100 * result.memory_gain:+.1f} points); all five "
        f"decision points: {result.with_memory.overall_rate:.1%} vs "
        f"{result.without_memory.overall_rate:.1%}; a Thompson-sampling bandit: "
        f"{result.thompson.rate(source):.1%} source selection, "
        f"{result.thompson.overall_rate:.1%} all five",
    ]


def print_report(result: DemoResult, console: Console) -> None:
    """The rich summary of a run."""
    console.rule(
        f"[bold]Market hunter[/bold]: seed {result.seed}, {result.cycles} cycles a day of 10 "
        "simulated minutes"
    )
    console.print(f"store: {escape(result.location)}")
    console.print(_success_table(result))
    learned, later = result.consolidation, result.day2_consolidation
    console.print(
        f"consolidate after day 1: {learned.learned} decisions learned into {learned.created} "
        f"patterns ({learned.skipped} decisions that chose nothing skipped); after day 2: "
        f"{later.learned} more learned, {later.created} patterns created, {later.updated} updated"
    )
    console.print(_patterns_table(result.day1_patterns))
    console.print(_truth_table(result))
    console.print(_recommendations_table(result))
    if result.last_chain:
        console.print("[bold]the last cycle's decision chain[/bold]")
        console.print(chain_tree(result.last_chain))
    console.print(_stored_line(result.stats))
    console.print(_stored_line(result.baseline_stats))
    console.print(result.cost)
    if result.plots:
        console.print("plots: " + ", ".join(str(p) for p in result.plots))
    if result.plot_note:
        console.print(escape(result.plot_note))
    if result.expired_after_ttl:
        console.print(
            "STM/LTM: 31 simulated days later every decision has passed its 30-day TTL "
            f"(short-term memory is empty) and the {result.patterns_after_ttl} learned "
            "patterns remain (long-term memory)"
        )
    for line in summary_lines(result):
        console.print(f"[bold]{line}[/bold]")
    console.print(f"finished in {result.seconds:.1f} s")
    if result.store == "sqlite":
        console.print(
            f"Inspect it: {cli_command()} --sqlite-path {result.location} decisions --agent-id "
            f"{AGENT_ID} --type source_selection (or patterns)",
            soft_wrap=True,
        )


def _success_table(result: DemoResult) -> Table:
    days = (result.day1, result.with_memory, result.without_memory, result.thompson)
    table = Table(
        title="success rate by decision point, read back from the store",
        caption=f"{result.day1.agent_id} decides with recommend() from an empty memory on day 1 "
        f"and goes on on day 2; {result.without_memory.agent_id} is the same agent without "
        f"memory; {result.thompson.agent_id} decides with its own Thompson-sampling bandit "
        "(both days). memory used: source / strategy choices that drew on stored evidence.",
    )
    table.add_column("decision point")
    for title in (
        "day 1\nlearning",
        "day 2\nwith memory",
        "day 2\nwithout memory",
        "day 2\nThompson sampling",
    ):
        table.add_column(title, justify="right")
    for decision_type in DECISION_POINTS:
        cells = [
            f"{d.rate(decision_type):.0%} ({d.successes.get(decision_type, 0)}/"
            f"{d.decided.get(decision_type, 0)})"
            for d in days
        ]
        table.add_row(decision_type, *cells)
    table.add_row("[bold]all five[/bold]", *(f"[bold]{d.overall_rate:.0%}[/bold]" for d in days))
    table.add_row(
        "memory used",
        *(" / ".join(str(d.followed_memory.get(t, 0)) for t in _SHOWN_TYPES) for d in days),
    )
    return table


def _patterns_table(patterns: list[MemoryPattern]) -> Table:
    shown = [p for p in patterns if p.decision_type in _SHOWN_TYPES]
    shown.sort(key=lambda p: (p.decision_type or "", _regime(p.conditions), -p.confidence))
    table = Table(
        title=f"learned on day 1: {len(shown)} source and strategy patterns "
        f"(and {len(patterns) - len(shown)} of the other decision points and tool calls)"
    )
    for column in ("decision", "regime", "choice"):
        table.add_column(column)
    for column in ("n", "success", "conf."):
        table.add_column(column, justify="right")
    for p in shown:
        choice = ", ".join(public_recommendation(p).get("selected") or []) or "-"
        table.add_row(
            _short(p.decision_type or ""),
            _regime(p.conditions),
            f"avoid {choice}" if p.pattern_type == "avoid" else choice,
            str(p.sample_size),
            f"{p.success_rate:.0%}",
            f"{p.confidence:.2f}",
        )
    return table


def _truth_table(result: DemoResult) -> Table:
    table = Table(title="(a) does each regime's most confident pattern name the hidden truth?")
    for column in ("decision", "regime", "truth", "top pattern", "conf. (n)", "ok"):
        table.add_column(column)
    for t in result.truth:
        table.add_row(
            _short(t.decision_type),
            _regime({t.condition: t.value}),
            t.expected,
            t.learned or "-",
            _confidence(t),
            "[green]yes[/green]" if t.ok else "[red]no[/red]",
        )
    return table


def _confidence(t: TruthCheck) -> str:
    return f"{t.confidence:.2f} ({t.sample_size})" if t.confidence is not None else "-"


def _recommendations_table(result: DemoResult) -> Table:
    table = Table(title="what PatternRetriever makes the agent choose on day 2")
    for column in ("volatility", "trend", "source (conf.)", "strategy (conf.)"):
        table.add_column(column)

    def cell(found: tuple[str | None, float | None]) -> str:
        choice, confidence = found
        return (
            f"{choice} ({confidence:.2f})" if choice and confidence is not None else "- (coin flip)"
        )

    for row in result.recommendations:
        table.add_row(
            row["volatility"],
            row["trend"],
            cell(row[DecisionType.SOURCE_SELECTION.value]),
            cell(row[DecisionType.STRATEGY_SELECTION.value]),
        )
    return table


def _stored_line(stats: DecisionStats) -> str:
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(stats.by_type.items()))
    return (
        f"stored for {stats.agent_id}: {stats.total} decisions ({kinds}); "
        f"{stats.success_rate:.1%} successful, {stats.pending} pending"
    )


def _regime(conditions: dict[str, str]) -> str:
    return ", ".join(
        f"{conditions[k]} vol" if k == "volatility" else str(conditions[k])
        for k in sorted(conditions, reverse=True)
    )


def _short(decision_type: str) -> str:
    return decision_type.removesuffix("_selection")
