"""Recording every run without passing a handler: ``AGENTMEM_TRACING`` and :func:`instrument`,
both through langchain-core's configure hooks."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any

from langchain_core.tracers.context import _configure_hooks, register_configure_hook

from .. import _checks as check
from .. import config
from ..memory import MemoryManager
from .callbacks import AgentMemoryCallbackHandler, check_handler_options
from .runs import HandlerBase

# -- AGENTMEM_TRACING: langchain-core makes a handler for each run -----------------------------

#: Never set: with ``AGENTMEM_TRACING`` on, langchain-core's ``_configure`` finds it empty and
#: adds ``AgentMemoryCallbackHandler()`` (inheritable) to each run that has no such handler.
_tracing_var: ContextVar[AgentMemoryCallbackHandler | None] = ContextVar(
    "agentmem_langchain_tracing", default=None
)
register_configure_hook(
    _tracing_var,
    inheritable=True,
    handle_class=AgentMemoryCallbackHandler,
    env_var=config.TRACING_ENV,
)


# -- instrument(): one handler on every run -----------------------------------------------------

_instrument_lock = threading.Lock()
_instrumented: AgentMemoryCallbackHandler | None = None
_instrumented_hook: object = None  # the entry instrument() added to langchain-core's hooks


def instrument(
    memory: MemoryManager | None = None, **handler_kwargs: Any
) -> AgentMemoryCallbackHandler:
    """Record every LangChain run of this process, in every thread and task.

    >>> handler = instrument(MemoryManager("research-agent"))   # doctest: +SKIP

    Installs one :class:`AgentMemoryCallbackHandler` through langchain-core's
    ``register_configure_hook`` (a run that already has an agentmem handler keeps its own;
    with ``AGENTMEM_TRACING`` on too, this handler is the one runs get). Without ``memory``
    it uses :func:`default_memory`. Calling it again returns the same handler, with any new
    settings applied; :func:`uninstrument` takes it out. Bad settings (``instrument("id")``
    instead of a ``MemoryManager``) raise ``ValidationError`` and change nothing.
    """
    global _instrumented, _instrumented_hook
    check_handler_options(memory, **handler_kwargs)
    with _instrument_lock:
        handler = _instrumented
        if handler is None:
            handler = AgentMemoryCallbackHandler(memory, **handler_kwargs)
            # A ContextVar whose *default* is the handler: every thread and task sees it
            # (new threads start with an empty context, so a set() would not reach them).
            var: ContextVar[HandlerBase | None] = ContextVar(
                "agentmem_langchain_handler", default=handler
            )
            register_configure_hook(var, inheritable=True, handle_class=HandlerBase)
            _instrumented_hook = _before_tracing_hook(var)
            _instrumented = handler
        elif memory is not None or handler_kwargs:
            handler._configure(memory or handler.memory, **handler_kwargs)
        handler.enabled = True
        return handler


def uninstrument(timeout: float = 5.0) -> bool:
    """Undo :func:`instrument`: its hook leaves langchain-core's configure hooks, which are
    then as they were, what its handler captured is written, and the handler stops (runs
    still going end unrecorded). Harmless when nothing is instrumented.

    >>> uninstrument()                                           # doctest: +SKIP
    True

    Writing waits at most ``timeout`` seconds (a store that is down keeps the rest in the
    recorder, which journals it at exit); returns True when everything the handler captured
    is stored.
    """
    global _instrumented, _instrumented_hook
    check.real(timeout, "timeout", low=0)
    with _instrument_lock:
        handler, entry = _instrumented, _instrumented_hook
        _instrumented = _instrumented_hook = None
        for index, hook in enumerate(_configure_hooks):
            if hook is entry:
                del _configure_hooks[index]
                break
    if handler is None:
        return True
    try:
        # Runs that ended are applied and written before the handler stops applying events.
        return handler._recorder.flush_agent(handler.agent_id, timeout, journal=False)
    finally:
        handler.enabled = False


def _before_tracing_hook(var: ContextVar[HandlerBase | None]) -> object:
    """Move the configure hook of ``var`` (just registered, so last) before the
    ``AGENTMEM_TRACING`` one, so that an instrumented handler takes precedence; its entry."""
    entry = next(hook for hook in reversed(_configure_hooks) if hook[0] is var)
    tracing = next((i for i, hook in enumerate(_configure_hooks) if hook[0] is _tracing_var), None)
    if tracing is not None:
        _configure_hooks.remove(entry)
        _configure_hooks.insert(tracing, entry)
    return entry


__all__ = ["instrument", "uninstrument"]
