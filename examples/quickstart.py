"""A first look at agentmem-langchain: log decisions and outcomes, then read the statistics.

Run it with ``make demo`` (or ``python -m examples.quickstart`` from the project folder). It
writes to ``agentmem-demo/quickstart.db``; inspect it afterwards with the command it prints
(``.venv/bin/agentmem --sqlite-path agentmem-demo/quickstart.db stats --agent-id
btc-agent-001`` after ``make demo``).
"""

from __future__ import annotations

import random
from pathlib import Path

from rich.console import Console

from agentmem_langchain import DecisionLogger, DecisionType, MemoryManager
from agentmem_langchain.cli import decisions_table, stats_table
from agentmem_langchain.stores.sqlite import SQLiteStore
from examples import cli_command

DB = Path("agentmem-demo") / "quickstart.db"
SOURCES = ["coinglass", "cryptoquant", "glassnode"]


def main(cycles: int = 12, seed: int = 7) -> None:
    console = Console()
    rng = random.Random(seed)
    for leftover in DB.parent.glob(DB.name + "*"):
        leftover.unlink()
    memory = MemoryManager(agent_id="btc-agent-001", store=SQLiteStore(DB))
    logger = DecisionLogger(memory)

    for cycle in range(1, cycles + 1):
        scores = {source: round(rng.uniform(0.5, 1.0), 2) for source in SOURCES}
        chosen = sorted(scores, key=scores.__getitem__, reverse=True)[:2]
        volatility = rng.choice(["low", "high"])
        decision_id = logger.log_source_selection(
            sources=SOURCES,
            scores=scores,
            selected=chosen,
            context={
                "market": {"btc_price": 45000 + rng.gauss(0, 800), "volatility": volatility},
                "cycle": cycle,
            },
            confidence=round(sum(scores[s] for s in chosen) / 2, 2),
        )
        query_id = logger.log_query_execution(
            query="funding rates, last 1h",
            source=chosen[0],
            parent_decision_id=decision_id,
            confidence=0.8,
        )
        # Coinglass data is better when volatility is high: the hidden truth a learner finds.
        works = rng.random() < (0.85 if ("coinglass" in chosen) == (volatility == "high") else 0.4)
        latency = rng.uniform(80, 400)
        logger.log_outcome(
            decision_id,
            DecisionType.SOURCE_SELECTION,
            success=works,
            quality_score=round(rng.uniform(0.6, 1.0) if works else 0.3, 2),
            latency_ms=latency,
        )
        logger.log_outcome(
            query_id, DecisionType.QUERY_EXECUTION, success=True, latency_ms=latency / 2
        )

    console.print(stats_table(logger.get_decision_stats(time_window_hours=24), 24))
    console.print(decisions_table(memory.query_decisions(limit=6).items))
    chain = logger.get_decision_chain(decision_id)
    console.print(f"last decision chain: {' -> '.join(r.decision_type for r in chain)}")
    console.print(
        f"\nStored in [bold]{DB}[/bold]. Try: "
        f"{cli_command()} --sqlite-path {DB} stats --agent-id btc-agent-001",
        soft_wrap=True,
    )
    memory.store.close()


if __name__ == "__main__":
    main()
