"""The async twins' one mechanism: a blocking memory call, run off the event loop.

>>> async def step(memory, decision_id):                     # doctest: +SKIP
...     return await off_loop(memory.get_decision, decision_id)

The call runs in a worker thread of the running loop's default executor, inside a copy of
the caller's context, so the context variables of the awaiting task (the current decision
that children link to, a suppressed capture, the enclosing run's memory) hold there too.
Stores are safe to call from any thread: the SQLite store opens one connection per thread,
so each worker has its own, and boto3 clients are thread-safe.

Cancelling the awaiting task never interrupts the call: once scheduled (even if still
waiting for a free worker), it runs to the end, so a write happens exactly as its sync
method would make it, never half of it, and only the result is lost; an error nobody is left
to receive is logged. ``asyncio.run`` shuts the default executor down waiting, so such a
call finishes before the loop closes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger("agentmem_langchain.aio")


async def off_loop(call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` in a worker thread, in a copy of the caller's context.

    Cancelling the awaiting task leaves the call running to completion (see the module's
    docstring); ``CancelledError`` still reaches the awaiting task at once.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    running = loop.run_in_executor(None, functools.partial(context.run, call, *args, **kwargs))
    try:
        # The shield keeps the executor's future from being cancelled with the awaiting
        # task: a call still queued would otherwise be dropped, one running would not.
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        running.add_done_callback(functools.partial(_report_unseen_error, call))
        raise


def _report_unseen_error(call: Callable[..., object], done: asyncio.Future[object]) -> None:
    if done.cancelled():
        return
    error = done.exception()
    if error is not None:
        name = getattr(call, "__qualname__", repr(call))
        logger.warning("%s failed after its caller was cancelled: %r", name, error, exc_info=error)


__all__ = ["off_loop"]
