"""The LangChain handlers' hot path: a hook posts one event; it is applied off the caller.

A hook appends an event, ``apply`` followed by exactly its arguments (the first is the
handler), to one process-wide queue and returns. The queue is flat, item by item: a deque's
``extend`` from a tuple is atomic under the GIL, and no container per event outlives the hook
(each would count towards the garbage collector's next collection, and be walked by it).
The capture thread wakes when events arrive and applies them every :data:`LINGER` seconds,
in the order they were posted, one at a time under one lock: that is where runs are matched,
decisions built and handed to the recorder. It goes back to waiting only after :data:`IDLE`
seconds without events, so a busy caller wakes it once, not batch after batch (a wake-up
costs the caller a hand-over of the GIL). Whatever reads what was captured (a flush, a read
through a ``MemoryManager``, the handlers' counters, a decorated function looking up its
LangChain parent) first applies what is pending on its own thread with :func:`drain`, so no
result depends on the thread's timing.

If the capture thread falls :data:`MAX_PENDING` items behind (its CPU starved), each hook
that finds the backlog applies a share of it itself: memory stays bounded and no event is
lost. Applying is CPU work only; writing stays with the recorder.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from types import FunctionType
from typing import Any, TypeVar

from .capture import report_problem, suppress_capture

Event = tuple[Any, ...]  # (apply, *args): applied as apply(*args); apply is an event_kind
F = TypeVar("F", bound=Callable[..., None])

#: How often the capture thread applies what is pending while events come (seconds).
LINGER = 0.05
#: How long the capture thread goes on polling after the last event before it waits to be
#: woken again (seconds).
IDLE = 1.0
#: A backlog this long (in items: an event is its function and its arguments, 5 to 13) is
#: applied in part by the hook that finds it.
MAX_PENDING = 400_000
#: Events applied per hold of the lock, so a flush on another thread waits briefly.
_CHUNK = 256

_pending: deque[Any] = deque()  # events, flat: apply, its arguments, the next apply, ...
_arity: dict[Any, int] = {}  # each event kind's apply function -> how many arguments follow it
_lock = threading.RLock()  # held while events are applied: one at a time, in order
_wake = threading.Event()
_woken = False  # the thread is awake or being woken (a plain bool: cheap for a hook to read)
_start_lock = threading.Lock()
_thread: threading.Thread | None = None


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
    if not _woken:
        _wake_capture_thread()


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


def _wake_capture_thread() -> None:
    global _thread, _woken
    try:
        if _thread is None:
            with _start_lock:
                if _thread is None:
                    thread = threading.Thread(target=_run, name="agentmem-capture", daemon=True)
                    thread.start()
                    _thread = thread
        _woken = True
        _wake.set()
    except Exception as exc:  # no thread to be had: flushes and exit still drain
        report_problem("callbacks", "the capture thread could not start", exc)


def _run() -> None:
    global _woken
    with suppress_capture():  # the library's own work is never captured
        while True:
            _wake.wait()
            while True:
                _poll()
                # In this order: an event posted while _woken is still True is seen below.
                _wake.clear()
                _woken = False  # from here on, a hook that posts wakes the thread
                if not _pending:
                    break
                _woken = True


def _poll() -> None:
    """Apply what is pending every :data:`LINGER` seconds until :data:`IDLE` seconds pass
    with nothing posted: a busy caller does not wake the thread batch after batch."""
    quiet_since = time.monotonic()
    while True:
        time.sleep(LINGER)
        if _pending:
            try:
                drain()
            except Exception as exc:  # pragma: no cover - drain is total
                report_problem("callbacks", "applying LangChain events failed", exc)
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= IDLE:
            return


def _after_fork_in_child() -> None:
    # The parent's pending events are the parent's to apply; its thread is not in the child.
    global _lock, _wake, _woken, _start_lock, _thread
    _pending.clear()
    _lock, _wake, _woken, _start_lock, _thread = (
        threading.RLock(),
        threading.Event(),
        False,
        threading.Lock(),
        None,
    )


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
