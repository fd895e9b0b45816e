"""Runs of one LangGraph thread: a run stopped by ``interrupt()``, and the run that resumes it.

An interrupted run is not a failure and not yet a success: its decision keeps no outcome
(learning counts only decisions with one), carries the :data:`INTERRUPTED` tag and
``context.extra["interrupted"] = True``. The next run of the same agent on the same
``thread_id`` in this process names it as its parent (:func:`resumed_from`), so a resumed
run continues the interrupted one's trace instead of starting an unlinked root. Both carry
``thread_id`` in ``context.extra`` for queries across processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..capture.decision import CapturedDecision

#: The tag of a decision whose run was stopped by a LangGraph interrupt.
INTERRUPTED = "interrupted"
#: At most this many interrupted runs are remembered (the oldest are forgotten first).
MAX_REMEMBERED = 10_000

Link = tuple[str, str | None]  # (decision_id, trace_id)

_lock = threading.Lock()
_interrupted: OrderedDict[tuple[str, str, str], Link] = OrderedDict()


def is_interrupt(error: BaseException | None) -> bool:
    """True for LangGraph's interrupt signals (``GraphInterrupt`` and other ``GraphBubbleUp``
    exceptions, such as ``GraphDrained``; not ``ParentCommand``, which hands a ``Command``
    to the parent graph)."""
    if error is None:
        return False
    names = {klass.__name__ for klass in type(error).__mro__}
    return "GraphBubbleUp" in names and "ParentCommand" not in names


def is_parent_command(error: BaseException | None) -> bool:
    """True for LangGraph's ``ParentCommand`` (a ``Command`` for the parent graph: not a
    failure)."""
    return error is not None and any(
        klass.__name__ == "ParentCommand" for klass in type(error).__mro__
    )


def mark_decision_interrupted(decision: CapturedDecision) -> None:
    """Give ``decision`` the marks of a run an interrupt stopped: the :data:`INTERRUPTED`
    tag (once) and ``context.extra["interrupted"] = True``."""
    decision.context_extra["interrupted"] = True
    if INTERRUPTED not in decision.tags:
        decision.tags.append(INTERRUPTED)


def mark_interrupted(
    agent_id: str, thread_id: str | None, link: Link, *, recorder: str = ""
) -> None:
    """Remember that ``agent_id``'s run on ``thread_id`` (decision ``link``) was interrupted.

    ``recorder`` names what recorded it (the callback handlers say ``"callbacks"``): a
    handler and ``AgentMemoryMiddleware`` on one agent each find their own run again."""
    if not thread_id:
        return
    key = (agent_id, thread_id, recorder)
    with _lock:
        _interrupted[key] = link
        _interrupted.move_to_end(key)
        while len(_interrupted) > MAX_REMEMBERED:
            _interrupted.popitem(last=False)


def resumed_from(agent_id: str, thread_id: str | None, *, recorder: str = "") -> Link | None:
    """The interrupted run a new run of ``agent_id`` on ``thread_id`` resumes (forgotten once
    asked for), as ``recorder`` marked it; or None."""
    if not thread_id:
        return None
    with _lock:
        return _interrupted.pop((agent_id, thread_id, recorder), None)


__all__ = [
    "INTERRUPTED",
    "MAX_REMEMBERED",
    "is_interrupt",
    "is_parent_command",
    "mark_decision_interrupted",
    "mark_interrupted",
    "resumed_from",
]
