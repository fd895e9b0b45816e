"""The seed's integrated market hunter, with a memory of its own decisions.

``python -m examples.market_hunter`` (or ``make demo``) runs a simulated day of 10-minute
cycles in which the agent explores, consolidates what happened into patterns, checks them
against the simulator's hidden truth, then runs a second day twice from the same seed: once
following its patterns, once without memory. See :mod:`.run` for the steps and
:mod:`.market` for the truth.

>>> from examples.market_hunter import run
>>> result = run(cycles=96, seed=3, sqlite_path="/tmp/market_hunter.db")  # doctest: +SKIP
>>> result.truth_recovered, f"{result.memory_gain:+.0%}"                  # doctest: +SKIP
"""

from __future__ import annotations

from .agent import IntegratedMarketHunterAgent
from .market import MarketSimulator
from .run import DemoResult, run

__all__ = ["DemoResult", "IntegratedMarketHunterAgent", "MarketSimulator", "run"]
