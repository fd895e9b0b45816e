"""Stage 0, the hook: what a decorated function or a LangChain hook knows of its context.

The current decision (children name it as their parent), parent resolvers (the LangChain
layer registers one, so a decorated function called inside a chain links to its run), and
:func:`suppress_capture` (the library's own threads record nothing) live in context
variables: each thread and asyncio task sees its own.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from .. import _checks as check
from .decision import CapturedDecision, ParentResolver, report_problem

T = TypeVar("T")

# -- the current decision (contextvars) ---------------------------------------------------

_current: contextvars.ContextVar[CapturedDecision | None] = contextvars.ContextVar(
    "agentmem_current_decision", default=None
)
_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "agentmem_capture_suppressed", default=False
)
_resolvers: list[ParentResolver] = []


def current_decision() -> CapturedDecision | None:
    """The innermost decision being captured in this context (thread or task), or None."""
    return _current.get()


def current_parent() -> tuple[str | None, str | None]:
    """``(parent_decision_id, trace_id)`` for a decision starting here; ``(None, None)`` at a root.

    The innermost decorated decision wins; otherwise each registered resolver is asked (a
    resolver that raises is logged and skipped).
    """
    parent = _current.get()
    if parent is not None:
        return parent.decision_id, parent.trace_id or parent.decision_id
    for resolver in _resolvers:
        try:
            found = resolver()
        except Exception as exc:
            report_problem("resolver", "a parent resolver raised", exc)
            continue
        if found is not None and found[0] is not None:
            return found[0], found[1] or found[0]
    return None, None


def current_parent_id() -> str | None:
    """The id a decision starting here should name as its parent, or None."""
    return current_parent()[0]


def register_parent_resolver(resolver: ParentResolver) -> ParentResolver:
    """Ask ``resolver`` for a parent when no decorated decision is active (idempotent)."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)
    return resolver


def unregister_parent_resolver(resolver: ParentResolver) -> None:
    """Stop asking ``resolver``; unknown resolvers are ignored."""
    if resolver in _resolvers:
        _resolvers.remove(resolver)


@contextmanager
def use_decision(captured: CapturedDecision | None) -> Iterator[CapturedDecision | None]:
    """Make ``captured`` the current decision inside the block (children link to it)."""
    token = _current.set(captured)
    try:
        yield captured
    finally:
        _current.reset(token)


@contextmanager
def suppress_capture() -> Iterator[None]:
    """Inside the block, decorated functions run without recording anything."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def capture_suppressed() -> bool:
    """True inside :func:`suppress_capture` (and on the capture pipeline's own threads)."""
    return _suppressed.get()


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in a copy of the submitter's context.

    Decorated functions submitted here become children of the decision that submitted them
    (a plain executor starts each task in an empty context).
    """

    def __init__(self, max_workers: int | None = None, *args: Any, **kwargs: Any) -> None:
        if max_workers is not None:
            check.integer(max_workers, "max_workers", low=1)
        super().__init__(max_workers, *args, **kwargs)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)


__all__ = [
    "ContextThreadPoolExecutor",
    "capture_suppressed",
    "current_decision",
    "current_parent",
    "current_parent_id",
    "register_parent_resolver",
    "suppress_capture",
    "unregister_parent_resolver",
    "use_decision",
]
