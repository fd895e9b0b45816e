"""LangGraph runs as the callback handlers see them: nodes, routing functions, interrupts.

What LangGraph (1.x) shows a LangChain callback handler:

* the graph is a chain run; each node step is a child chain run named after the node and
  tagged ``graph:step:<n>``; the node's own function runs in it (a Runnable node is a child
  tagged ``seq:step:1``);
* a routing function (the ``path`` of ``add_conditional_edges``, a ``Send`` fan-out, the
  prebuilt ``tools_condition``) is a child chain run of the node it leaves, tagged
  ``seq:step:<k>`` with ``k >= 2``, named after the function (``RunnableCallable`` for a
  lambda); the writes after a node and ``create_agent``'s own routers make no run at all;
* the ``__start__`` node's runs, and all under them, carry ``langsmith:hidden``;
* ``interrupt()`` raises ``GraphInterrupt`` through the run that called it (a tool run gets
  ``on_tool_error``, then its node ``on_chain_error``); the top-level graph catches it and
  ends *normally* (``on_chain_end`` with the state so far, without ``__interrupt__``), so a
  graph is known to be interrupted only through its children; a subgraph run re-raises it;
* the run that resumes it (``Command(resume=...)`` on the same ``thread_id``) is a new root
  run; ``thread_id`` reaches every run's metadata (langchain-core copies the
  ``configurable`` values there);
* breakpoints set at compile time (``interrupt_before`` / ``interrupt_after``) stop the graph
  without any event: the graph run just ends.

The handlers record no routing and no hidden run (their children hang under the node), and
record an interrupted run as interrupted (:mod:`.threads`), never as a success or a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runs import Run

#: The tag LangGraph puts on runs that tracers should not show.
HIDDEN_TAG = "langsmith:hidden"
#: The metadata key of a LangGraph thread (a ``configurable`` value copied into metadata).
THREAD_KEY = "thread_id"
#: What :func:`graph_role` says of a chain run.
NODE, HIDDEN = "node", "hidden"

_NODE_STEP = "graph:step:"
_SEQ_STEP = "seq:step:"
_FIRST_SEQ_STEP = "seq:step:1"


def graph_role(tags: Any, under_node: bool) -> str | None:
    """:data:`NODE` for a LangGraph node's run, :data:`HIDDEN` for a routing function's run
    (``under_node``: its parent is a node's run) or a run LangGraph hides, else None.

    >>> graph_role(["graph:step:2"], False), graph_role(["seq:step:3"], True)
    ('node', 'hidden')
    >>> graph_role(["seq:step:3"], False) is None   # a step of a plain RunnableSequence
    True
    """
    if HIDDEN_TAG in tags:
        return HIDDEN
    if under_node:
        for tag in tags:
            if type(tag) is str and tag.startswith(_SEQ_STEP) and tag != _FIRST_SEQ_STEP:
                return HIDDEN
        return None
    for tag in tags:
        if type(tag) is str and tag.startswith(_NODE_STEP):
            return NODE
    return None


def thread_of(metadata: Mapping[str, Any] | None) -> str | None:
    """The LangGraph ``thread_id`` in a run's metadata, as text, or None."""
    value = metadata.get(THREAD_KEY) if metadata else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value) or None


def interrupt_through(run: Run, depth: int) -> Run:
    """Mark ``run`` and its ancestors (at most ``depth`` of them) as holding an interrupt;
    the topmost one reached."""
    node = run
    for _ in range(depth):
        node.interrupted = True
        if node.parent is None:
            break
        node = node.parent
    return node


__all__ = [
    "HIDDEN",
    "HIDDEN_TAG",
    "NODE",
    "THREAD_KEY",
    "graph_role",
    "interrupt_through",
    "thread_of",
]
