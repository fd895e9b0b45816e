"""Capture: from a hook in the user's code to a record in the store, or in the journal.

A record passes through these stages, one module each:

0. **hook** (:mod:`.hook`) — a ``@decision`` function or a LangChain callback runs in the
   user's thread or task. It knows its parent through context variables and builds a
   :class:`CapturedDecision` (the decorator) or posts an event (the handlers).
1. **event** (:mod:`.events`) — a LangChain hook appends one event to a flat process-wide
   queue and returns; applying events (matching runs, building decisions) happens later.
2. **record** (:mod:`.decision`, :mod:`.values`, :mod:`.reasoning`, :mod:`.record`) — the
   decision's values are snapshotted on the caller's thread (:meth:`CapturedDecision.freeze`:
   JSON-safe copies cut to size, secrets masked), and converted to a ``DecisionRecord`` off
   it (:meth:`CapturedDecision.to_record`).
3. **batch** (:mod:`.batch`) — a :class:`Recorder` per store queues items (bounded in count
   and bytes) and hands them on in batches; it owns ``flush``, ``stats`` and the lifecycle.
4. **store or journal** (:mod:`.store`, :mod:`.deadline`, :mod:`.journal`,
   :mod:`.journal_ahead`, :mod:`.journal_entries`) — a batch is written with retries; what
   the store refuses alone goes to the dead-letter file; what it cannot take (down, hung)
   goes to the store's journal, replayed in order by this or any later process.

Threads. The user's threads run stage 0 and post to stages 1 and 3; they never block on
I/O and never raise. Everything else runs on **one capture thread** (:mod:`.thread`), in one
order: each round it applies pending events, then gives every recorder one step (spill, replay
when due, one batch written or journaled). The only other threads are one per store that
runs its calls with a deadline (:mod:`.deadline`): while a call runs the capture thread goes
on applying events, stepping the other recorders (:func:`.thread.step_others`) and
journaling the spill buffer, so a slow store holds up no other; a call that outlives
``write_timeout`` marks the store hung instead of stopping the pipeline. Whatever reads what
was captured (a flush, a ``MemoryManager`` read) first applies pending events on its own
thread, so no result depends on the capture thread's timing. In a forked child the queues
start empty and the thread starts afresh; at exit, recorders write for up to
``exit_timeout`` and journal the rest.

:mod:`.batch` shows a recorder used on its own.
"""

from __future__ import annotations

from .batch import (
    Recorder,
    default_recorder,
    default_settings,
    flush_all,
    recorder_for,
    replay_pending,
    set_default_settings,
    wait_for_agent,
)
from .decision import (
    REASONING_KEYS,
    CapturedDecision,
    ParentResolver,
    capture_error_count,
    fast_id,
    report_problem,
)
from .hook import (
    ContextThreadPoolExecutor,
    capture_suppressed,
    current_decision,
    current_parent,
    current_parent_id,
    register_parent_resolver,
    suppress_capture,
    unregister_parent_resolver,
    use_decision,
)
from .settings import (
    DEFAULT_JOURNAL_DIR,
    OnFull,
    OutcomeUpdate,
    RecorderSettings,
    RecorderStats,
    journal_key,
)
from .values import DEFAULT_SECRET_KEYS, CaptureSettings, Redactor

__all__ = [
    "DEFAULT_JOURNAL_DIR",
    "DEFAULT_SECRET_KEYS",
    "REASONING_KEYS",
    "CaptureSettings",
    "CapturedDecision",
    "ContextThreadPoolExecutor",
    "OnFull",
    "OutcomeUpdate",
    "ParentResolver",
    "Recorder",
    "RecorderSettings",
    "RecorderStats",
    "Redactor",
    "capture_error_count",
    "capture_suppressed",
    "current_decision",
    "current_parent",
    "current_parent_id",
    "default_recorder",
    "default_settings",
    "fast_id",
    "flush_all",
    "journal_key",
    "recorder_for",
    "register_parent_resolver",
    "replay_pending",
    "report_problem",
    "set_default_settings",
    "suppress_capture",
    "unregister_parent_resolver",
    "use_decision",
    "wait_for_agent",
]
