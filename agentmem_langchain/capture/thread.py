"""The capture thread: the one background thread of the pipeline.

Stages (the event queue, then each recorder) register here; the thread gives each a
:meth:`Stage.step` in turn, in the order of their ``rank``, so events become records,
records become batches, and batches reach the store or the journal in one order. A hook or
``submit`` that finds the thread asleep wakes it (:func:`wake`); once awake it steps every
:data:`LINGER` seconds while there is work (sooner when a stage is :meth:`Stage.urgent`:
a full batch, a spill backlog, someone waiting in ``flush``), and goes back to sleep
after :data:`IDLE` seconds without any. Asleep, it still wakes when a stage's
:meth:`Stage.due` says so (a journal to replay, a write-ahead segment to fsync).

The thread starts on first use, is a daemon, and is started afresh in a forked child. A
stage that raises is reported and skipped for the round: the thread never ends.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Protocol

from .decision import report_problem
from .hook import suppress_capture

#: While there is work, how often the thread steps the stages (seconds).
LINGER = 0.05
#: How long the thread goes on stepping after the last work before it sleeps (seconds).
IDLE = 1.0


class Stage(Protocol):
    """What the capture thread drives."""

    rank: int  # lower ranks step first in each round

    def step(self) -> bool:
        """Do one bounded share of the pending work; True if there was any."""
        ...

    def has_work(self) -> bool:
        """True while work is pending (cheap; read without the stage's lock)."""
        ...

    def urgent(self) -> bool:
        """True when the next step should not wait :data:`LINGER` seconds."""
        ...

    def due(self) -> float | None:
        """Seconds until the stage needs a step although nothing woke the thread (None: never)."""
        ...


_stages: list[weakref.ref[Stage]] = []
_stepping: set[int] = set()  # the stages being stepped (a waiting stage may step the others)
_stages_lock = threading.Lock()
_wake_event = threading.Event()
_woken = False  # the thread is awake or being woken (a plain bool: cheap for a hook to read)
_start_lock = threading.Lock()
_thread: threading.Thread | None = None
_stopped = False  # set at exit: the thread ends after its current step and is not restarted


def register(stage: Stage) -> None:
    """Have the capture thread step ``stage`` (held weakly: a forgotten stage drops out)."""
    with _stages_lock:
        _stages.append(weakref.ref(stage))
        _stages.sort(key=lambda ref: getattr(ref(), "rank", 1 << 30))


def unregister(stage: Stage) -> None:
    """Stop stepping ``stage``."""
    with _stages_lock:
        _stages[:] = [ref for ref in _stages if ref() not in (None, stage)]


def wake() -> None:
    """Make sure the capture thread runs a round soon; never raises, never blocks."""
    global _woken
    try:
        if _thread is None and not _stopped:
            _start()
        _woken = True
        _wake_event.set()
    except Exception as exc:  # no thread to be had: flushes and exit still do the work
        report_problem("capture", "the capture thread could not start", exc)


def awake() -> bool:
    """True while the thread is awake or being woken (a hook need not wake it then)."""
    return _woken


def is_capture_thread() -> bool:
    """True on the capture thread itself (which must never wait for its own work)."""
    return _thread is not None and threading.current_thread() is _thread


def _start() -> None:
    global _thread
    with _start_lock:
        if _thread is None:
            thread = threading.Thread(target=_run, name="agentmem-capture", daemon=True)
            thread.start()
            _thread = thread


def _live_stages() -> list[Stage]:
    with _stages_lock:
        found = [ref() for ref in _stages]
    return [stage for stage in found if stage is not None]


def _run() -> None:
    global _woken
    with suppress_capture():  # the library's own work is never captured
        while not _stopped:
            try:
                _wake_event.wait(_due())
                _wake_event.clear()
                _woken = True
                _poll()
                # In this order: work posted while _woken is still True is seen below.
                _woken = False
                if any(stage.has_work() for stage in _live_stages()):
                    _woken = True
                    _wake_event.set()
            except Exception as exc:  # a bug in a stage must not end the thread
                report_problem("capture", f"the capture thread's loop failed: {exc!r}", exc)
                time.sleep(0.05)


def _poll() -> None:
    """Step the stages until :data:`IDLE` seconds pass with nothing to do."""
    quiet_since = time.monotonic()
    while not _stopped:
        did, urgent = _round()
        now = time.monotonic()
        if did:
            quiet_since = now
        elif now - quiet_since >= IDLE:
            return
        if not (did and urgent):  # more to do at once only after a round that did some
            _wake_event.wait(LINGER)
            _wake_event.clear()


def _round() -> tuple[bool, bool]:
    """One step of every stage: whether any did work, and whether any is urgent. (Its own
    function: between rounds the thread holds no stage, so a stage let go of can be freed.)"""
    did = False
    urgent = False
    for stage in _live_stages():
        did = _step(stage) or did
        try:
            urgent = urgent or stage.urgent()
        except Exception as exc:  # pragma: no cover - urgent() reads counters
            report_problem("capture", f"a capture stage failed: {exc!r}", exc)
    return did, urgent


def step_others() -> bool:
    """On the capture thread, while a stage waits for its store: a step for every stage not
    being stepped already, so one slow store does not hold up the others. True if any did
    work. Elsewhere it does nothing."""
    if _stopped or not is_capture_thread():
        return False
    did = False
    for stage in _live_stages():
        if id(stage) not in _stepping:
            did = _step(stage) or did
    return did


def _step(stage: Stage) -> bool:
    _stepping.add(id(stage))
    try:
        return stage.step()
    except Exception as exc:  # a bug in a stage must not end the thread
        report_problem("capture", f"a capture step failed: {exc!r}", exc)
        time.sleep(0.05)
        return False
    finally:
        _stepping.discard(id(stage))


def _due() -> float | None:
    """Seconds until a stage needs a step with nothing posted (None: no such stage)."""
    waits = [wait for stage in _live_stages() if (wait := stage.due()) is not None]
    return max(0.0, min(waits)) if waits else None


def stop(timeout: float) -> bool:
    """End the capture thread (at exit, once the recorders have written or journaled what
    they hold): it finishes the step it is in and is not started again. True if it ended
    within ``timeout`` seconds. A daemon thread still running Python when the interpreter
    finalizes can abort the process, so exit does not leave it running."""
    global _stopped
    _stopped = True
    running = _thread
    if running is None or running is threading.current_thread():
        return True
    _wake_event.set()
    running.join(timeout)
    return not running.is_alive()


def _after_fork_in_child() -> None:
    # The parent's thread is not in the child; stages reset their own state.
    global _stages_lock, _wake_event, _woken, _start_lock, _thread
    _stepping.clear()
    _stages_lock, _wake_event, _woken, _start_lock, _thread = (
        threading.Lock(),
        threading.Event(),
        False,
        threading.Lock(),
        None,
    )


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


__all__ = [
    "IDLE",
    "LINGER",
    "Stage",
    "awake",
    "is_capture_thread",
    "register",
    "step_others",
    "stop",
    "unregister",
    "wake",
]
