"""The ``agentmem`` command: look at an agent's memory from the terminal.

Examples::

    agentmem init                                   # create the store (SQLite by default)
    agentmem stats --agent-id btc-agent-001         # last 24 h as a table
    agentmem decisions --agent-id btc-agent-001 --limit 5 --json
    agentmem --store dynamodb --endpoint-url http://127.0.0.1:8000 init

Every command maps to one library call; ``--json`` prints machine-readable output. Bad
arguments or an unreachable store exit with code 2 and a one-line message.

Package map (``__init__`` imports the command modules to register their commands on ``app``;
they import only from ``app``, never from each other or from here):

- ``app``: the typer app, global store options, store opening, output and error helpers, ``main``
- ``inspect_commands``: init, stats, decisions, chain, patterns, signals; the rich tables/tree
- ``learning_commands``: calibration, consolidate
- ``aws_commands``: cost, iam-policy, dashboard
- ``transfer_commands``: export, import
- ``journal_commands``: replay
- ``deploy_commands``: deploy template (the ``deploy`` group)
"""

from __future__ import annotations

# isort: off
# Importing a command module registers its commands; this order is the order of ``--help``.
from . import inspect_commands as inspect_commands
from . import learning_commands as learning_commands
from . import aws_commands as aws_commands
from . import transfer_commands as transfer_commands
from . import journal_commands as journal_commands
from . import deploy_commands as deploy_commands
from . import thread_commands as thread_commands

# isort: on
from .app import MAX_HOURS as MAX_HOURS
from .app import StoreOptions as StoreOptions
from .app import app, main
from .aws_commands import cost_table as cost_table
from .inspect_commands import chain_tree as chain_tree
from .inspect_commands import decisions_table, stats_table

__all__ = ["app", "decisions_table", "main", "stats_table"]
