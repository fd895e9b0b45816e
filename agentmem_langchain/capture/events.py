"""Stage 1, hook to event: a hook posts one event; the capture thread applies it later.

A hook appends an event, ``apply`` followed by exactly its arguments (the first is the
handler), to one process-wide queue and returns. The queue is flat, item by item, and
appending to it needs no lock (a deque's ``extend`` from a tuple is atomic).
The capture thread applies the events in the order they were posted, one at a time under one
lock: that is where runs are matched, decisions built and handed to the recorder. Whatever
reads what was captured (a flush, a read through a ``MemoryManager``, the handlers'
counters, a decorated function looking up its LangChain parent) first applies what is
pending on its own thread with :func:`drain`, so no result depends on the thread's timing.

If the capture thread falls :data:`MAX_PENDING` items behind (its CPU starved, or waiting on
a store), each hook that finds the backlog applies a share of it itself: memory stays
bounded and no event is lost. Applying is CPU work only; writing is the recorder's.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from types import FunctionType
from typing import Any, TypeVar

from . import thread
from .decision import report_problem

Event = tuple[Any, ...]  # (apply, *args): applied as apply(*args); apply is an event_kind
F = TypeVar("F", bound=Callable[..., None])

#: A backlog this long (in items: an event is its function and its arguments, 5 to 13) is
#: applied in part by the hook that finds it.
MAX_PENDING = 400_000
#: Events applied per hold of the lock, so a flush on another thread waits briefly.
_CHUNK = 256

_pending: deque[Any] = deque()  # events, flat: apply, its arguments, the next apply, ...
_arity: dict[Any, int] = {}  # each event kind's apply function -> how many arguments follow it
_lock = threading.RLock()  # held while events are applied: one at a time, in order


def event_kind(apply: F) -> F:
    """Register ``apply``, a plain function, as the first item of events: the ones that follow
    it in an event are exactly its positional arguments."""
    if type(apply) is not FunctionType:
        raise TypeError(f"an event kind is a plain function, not {apply!r}")
    _arity[apply] = apply.__code__.co_argcount
    return apply


def post(event: Event) -> None:
    """Queue a hook's event for the capture thread; never blocks on I/O, never raises.

    ``event[0]`` is an :func:`event_kind`, followed by exactly its arguments."""
    if len(_pending) >= MAX_PENDING:
        drain(_CHUNK)  # a share of the backlog, not all of it: no one call stalls for long
    _pending.extend(event)
    if not thread._woken:
        thread.wake()


def pending() -> int:
    """Items of events posted and not yet applied (0 when nothing is pending)."""
    return len(_pending)


def drain(most: int | None = None) -> None:
    """Apply every event posted so far (or the ``most`` oldest), in order, on this thread.

    Returns once an event being applied elsewhere has finished too: after a full drain,
    everything posted before the call has reached the recorder.
    """
    left, take = most, _pending.popleft
    while True:
        with _lock:
            for _ in range(_CHUNK):
                if not _pending or left == 0:
                    return
                if left is not None:
                    left -= 1
                apply = take()
                # Only a registered kind is called: should an interrupted drain leave an
                # event's arguments behind, they are skipped up to the next event.
                count = _arity.get(apply) if type(apply) is FunctionType else None
                if count is None:
                    report_problem("callbacks", "an item that is no event was skipped", None)
                    continue
                try:
                    apply(*[take() for _ in range(count)])
                except Exception as exc:  # apply functions are total; this is a bug guard
                    report_problem("callbacks", "a LangChain event could not be applied", exc)


class _EventStage:
    """The capture thread's first stage: apply what hooks posted."""

    rank = 0

    def step(self) -> bool:
        if not _pending:
            return False
        drain()
        return True

    def has_work(self) -> bool:
        return bool(_pending)

    def urgent(self) -> bool:
        return False

    def due(self) -> float | None:
        return None


_stage = _EventStage()
thread.register(_stage)


def _after_fork_in_child() -> None:
    # The parent's pending events are the parent's to apply.
    global _lock
    _pending.clear()
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
