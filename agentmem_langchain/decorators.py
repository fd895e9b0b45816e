"""``@decision``: record every call of a function as a decision, without changing the call.

>>> from agentmem_langchain import MemoryManager
>>> from agentmem_langchain.testing import InMemoryStore
>>> memory = MemoryManager("agent-1", store=InMemoryStore())
>>> @decision("source_selection", memory=memory)
... def choose(sources, budget=2):
...     current_decision().confidence = 0.9
...     return {"selected": sources[:budget]}
>>> choose(["a", "b", "c"])
{'selected': ['a', 'b']}
>>> record = memory.query_decisions().items[0]          # reads wait for captured records
>>> record.context.inputs, record.reasoning.selected, record.reasoning.confidence
({'sources': ['a', 'b', 'c'], 'budget': 2}, ['a', 'b'], 0.9)

Works on sync and async functions, generators and async generators, instance methods,
classmethods and staticmethods. The agent is ``agent_id=``, else ``self.agent_id``, else
the memory's agent, else the enclosing decision's, else ``config.agent_id()``
(``$AGENTMEM_AGENT_ID`` or ``"default"``). The memory is ``memory=``, else ``self.memory`` /
``self.memory_manager``, else the memory of the recorded run the call is made in (a
LangChain handler's or ``AgentMemoryMiddleware``'s, so that the parent link points into the
same store), else :func:`set_default_memory`'s, else the store of ``open_store()``.
Nested decorated calls become parent and child, also across asyncio tasks and in threads
started through
:class:`~agentmem_langchain.capture.ContextThreadPoolExecutor`. The user's exceptions pass
through unchanged; the library's own problems are logged and counted, never raised.

What is recorded is what the values were: the arguments as the call starts, the result,
reasoning, tags and metadata as it ends, copied then (JSON-safe, cut to ``max_value_chars``
per value) on the caller's thread; a later change to those objects changes no record.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any, TypeVar, cast, overload

import wrapt

from . import _checks as check
from . import config
from .capture.batch import Recorder, default_recorder, recorder_for
from .capture.decision import CapturedDecision, report_problem
from .capture.hook import (
    ContextThreadPoolExecutor,
    _current,
    _suppressed,
    current_decision,
    current_parent,
)
from .capture.values import Redactor, clean_text, snapshotter
from .config import DEFAULT_DECISION_TTL
from .memory import MemoryManager, validate_agent_id
from .models import MAX_LABEL_CHARS, enum_value, utcnow

F = TypeVar("F", bound=Callable[..., Any])
Confidence = float | Callable[[Any], float] | None

_default_memory: list[MemoryManager] = []
_enclosing_memory: contextvars.ContextVar[MemoryManager | None] = contextvars.ContextVar(
    "agentmem_enclosing_memory", default=None
)
_memory_resolvers: list[Callable[[], MemoryManager | None]] = []


def set_default_memory(memory: MemoryManager | None) -> None:
    """Set the memory decorated functions record into when nothing nearer names one; None
    forgets it. Handlers made without a memory (``instrument()``, ``AGENTMEM_TRACING``) use
    it too.

    >>> set_default_memory(MemoryManager("research-agent"))      # doctest: +SKIP

    A decorated call records into, first found: its ``memory=``; ``self.memory`` (or
    ``self.memory_manager``) of the instance a method is called on; the memory of the
    recorded run it is called in (a LangChain handler's, ``AgentMemoryMiddleware``'s); this
    one; the store of ``open_store()`` (``AGENTMEM_STORE``, by default SQLite at
    ``.agentmem/memory.db``).
    """
    _default_memory[:] = [memory] if memory is not None else []


@contextmanager
def recording_into(memory: MemoryManager | None) -> Iterator[None]:
    """Inside the block, decorated functions given no memory record into ``memory`` (the
    memory of the run that encloses them, so that their parent link points into the same
    store)."""
    token = _enclosing_memory.set(memory)
    try:
        yield
    finally:
        _enclosing_memory.reset(token)


def register_memory_resolver(resolver: Callable[[], MemoryManager | None]) -> None:
    """Ask ``resolver`` for the enclosing run's memory when no :func:`recording_into` block
    says (the LangChain handlers register one); idempotent."""
    if resolver not in _memory_resolvers:
        _memory_resolvers.append(resolver)


def enclosing_memory() -> MemoryManager | None:
    """The memory of the recorded run this code runs in, or None."""
    memory = _enclosing_memory.get()
    if memory is not None:
        return memory
    for resolver in _memory_resolvers:
        try:
            memory = resolver()
        except Exception as exc:
            report_problem("resolver", "a memory resolver raised", exc)
            continue
        if memory is not None:
            return memory
    return None


def default_memory() -> MemoryManager | None:
    """What :func:`set_default_memory` set, or None."""
    return _default_memory[0] if _default_memory else None


class _Options:
    """What one ``@decision(...)`` was given, and the function's signature, read once."""

    __slots__ = (
        "agent_id",
        "capture_args",
        "capture_result",
        "confidence",
        "decision_type",
        "defaults",
        "function",
        "memory",
        "names",
        "recorder",
        "redact",
        "tags",
        "var_positional",
    )

    def __init__(self, fn: Any, decision_type: str | None, **options: Any) -> None:
        target = getattr(fn, "__func__", fn)  # classmethod / staticmethod objects
        self.decision_type: str = decision_type or str(getattr(target, "__name__", "custom"))
        module, qualname = getattr(target, "__module__", "?"), getattr(target, "__qualname__", "?")
        self.function = clean_text(f"{module}.{qualname}")
        self.memory: MemoryManager | None = options["memory"]
        self.agent_id: str | None = options["agent_id"]
        self.capture_args: bool = options["capture_args"]
        self.capture_result: bool = options["capture_result"]
        self.confidence: Confidence = options["confidence"]
        self.redact: Redactor | None = options["redact"]
        self.tags: list[str] = [clean_text(str(tag)) for tag in options["tags"] or ()]
        self.recorder: Recorder | None = None
        self.names: tuple[str, ...] = ()
        self.var_positional: str | None = None
        self.defaults: dict[str, Any] = {}
        try:
            self._read_signature(inspect.signature(target))
        except (TypeError, ValueError):  # builtins without a signature: positional only
            self.var_positional = "args"

    def _read_signature(self, signature: inspect.Signature) -> None:
        names = []
        for p in signature.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                self.var_positional = p.name
            if p.default is not p.empty:
                self.defaults[p.name] = p.default
        self.names = tuple(names)

    def bind(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name (``self``/``cls`` left out, defaults filled in)."""
        names = self.names[1:] if instance is not None else self.names
        inputs = dict(zip(names, args, strict=False))
        if len(args) > len(names) and self.var_positional is not None:
            inputs[self.var_positional] = args[len(names) :]
        if kwargs:
            inputs.update(kwargs)
        for name, value in self.defaults.items():
            if name not in inputs:
                inputs[name] = value
        return inputs

    def memory_for(self, instance: Any) -> MemoryManager | None:
        if self.memory is not None:
            return self.memory
        if instance is not None:
            for name in ("memory", "memory_manager"):
                try:
                    found = getattr(instance, name, None)
                except Exception:
                    continue
                if isinstance(found, MemoryManager):
                    return found
        return enclosing_memory() or (_default_memory[0] if _default_memory else None)

    def recorder_for(self, memory: MemoryManager | None) -> Recorder:
        if memory is None:
            return default_recorder()
        if memory is self.memory:
            if self.recorder is None:
                self.recorder = recorder_for(memory.store)
            return self.recorder
        return recorder_for(memory.store)


def _agent_for(
    opts: _Options, instance: Any, memory: MemoryManager | None, parent: CapturedDecision | None
) -> str:
    if opts.agent_id:
        return opts.agent_id
    if instance is not None:
        try:
            own = getattr(instance, "agent_id", None)
        except Exception:  # a broken property must not cost the record
            own = None
        if isinstance(own, str) and own:
            return own
    if memory is not None:
        return memory.agent_id
    if parent is not None:
        return parent.agent_id
    return config.agent_id()


_Pending = tuple[CapturedDecision, Recorder]


def _begin(
    opts: _Options, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> _Pending | None:
    """The captured decision for this call and where it goes; None if capture failed."""
    try:
        memory = opts.memory_for(instance)
        recorder = opts.recorder_for(memory)
        parent = _current.get()
        parent_id: str | None
        trace_id: str | None
        if parent is not None:
            parent_id, trace_id = parent.decision_id, parent.trace_id or parent.decision_id
        else:
            parent_id, trace_id = current_parent()
        if memory is not None:  # the memory's clock (injected in simulations)
            ttl, started_at = memory.decision_ttl, memory.clock()
        else:
            ttl, started_at = DEFAULT_DECISION_TTL, utcnow()
        inputs: Any = None
        size = 0
        if opts.capture_args:  # the arguments as they are now: the function may change them
            snapshot = snapshotter(recorder.settings).snapshot_mapping
            inputs, size = snapshot(opts.bind(instance, args, kwargs))
        captured = CapturedDecision(
            agent_id=_agent_for(opts, instance, memory, parent),
            decision_type=opts.decision_type,
            started_at=started_at,
            parent_decision_id=parent_id,
            trace_id=trace_id,
            inputs=inputs,
            tags=list(opts.tags),
            metadata={"function": opts.function},
            redact=opts.redact,
            ttl=ttl,
            size=size,
        )
        return captured, recorder
    except Exception as exc:
        report_problem("decorator", f"could not capture a call of {opts.function}: {exc!r}", exc)
        return None


def _end(opts: _Options, pending: _Pending, result: Any, error: BaseException | None) -> None:
    """Finish and queue the decision; never raises."""
    captured, recorder = pending
    try:
        captured.finish(result, error)
        captured.has_result = captured.has_result and opts.capture_result
        if opts.confidence is not None and captured.reasoning.get("confidence") is None:
            if callable(opts.confidence):
                if error is None:
                    captured.reasoning["confidence"] = opts.confidence(result)
            else:
                captured.reasoning["confidence"] = opts.confidence
        # The result and the reasoning as they are now; the arguments were copied at the start.
        captured.freeze(recorder.settings, inputs=False)
        recorder.submit(captured)
    except Exception as exc:
        report_problem("decorator", f"could not record a call of {opts.function}: {exc!r}", exc)
        captured.freeze(recorder.settings, inputs=False)
        recorder.submit(captured)


def _sync(opts: _Options) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _suppressed.get():
            return wrapped(*args, **kwargs)
        pending = _begin(opts, instance, args, kwargs)
        if pending is None:
            return wrapped(*args, **kwargs)
        token = _current.set(pending[0])
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _end(opts, pending, None, exc)
            raise
        finally:
            _current.reset(token)
        _end(opts, pending, result, None)
        return result

    return wrapper


def _async(opts: _Options) -> Callable[..., Any]:
    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _suppressed.get():
            return await wrapped(*args, **kwargs)
        pending = _begin(opts, instance, args, kwargs)
        if pending is None:
            return await wrapped(*args, **kwargs)
        token = _current.set(pending[0])
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _end(opts, pending, None, exc)
            raise
        finally:
            _current.reset(token)
        _end(opts, pending, result, None)
        return result

    return wrapper


def _gen(opts: _Options) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _suppressed.get():
            return wrapped(*args, **kwargs)
        pending = _begin(opts, instance, args, kwargs)
        if pending is None:
            return wrapped(*args, **kwargs)
        return _drive(opts, pending, wrapped(*args, **kwargs))

    return wrapper


def _drive(opts: _Options, pending: _Pending, gen: Generator[Any, Any, Any]) -> Any:
    """Run ``gen`` step by step with its decision current only while its own code runs."""
    captured = pending[0]
    sent: Any = None
    thrown: BaseException | None = None
    count = 0
    while True:
        token = _current.set(captured)
        try:
            item = gen.throw(thrown) if thrown is not None else gen.send(sent)
        except StopIteration as stop:
            captured.metadata["yielded"] = count
            _end(opts, pending, stop.value, None)
            return stop.value
        except BaseException as exc:
            captured.metadata["yielded"] = count
            _end(opts, pending, None, exc)
            raise
        finally:
            _current.reset(token)
        count += 1
        thrown = None
        try:
            sent = yield item
        except GeneratorExit:  # the consumer stopped early: not a failure
            gen.close()
            captured.metadata.update(yielded=count, completed=False)
            _end(opts, pending, None, None)
            raise
        except BaseException as exc:
            thrown = exc


def _async_gen(opts: _Options) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _suppressed.get():
            return wrapped(*args, **kwargs)
        pending = _begin(opts, instance, args, kwargs)
        if pending is None:
            return wrapped(*args, **kwargs)
        return _adrive(opts, pending, wrapped(*args, **kwargs))

    return wrapper


async def _adrive(opts: _Options, pending: _Pending, gen: AsyncGenerator[Any, Any]) -> Any:
    """The async generator version of :func:`_drive`."""
    captured = pending[0]
    sent: Any = None
    thrown: BaseException | None = None
    count = 0
    while True:
        token = _current.set(captured)
        try:
            item = await (gen.athrow(thrown) if thrown is not None else gen.asend(sent))
        except StopAsyncIteration:
            captured.metadata["yielded"] = count
            _end(opts, pending, None, None)
            return
        except BaseException as exc:
            captured.metadata["yielded"] = count
            _end(opts, pending, None, exc)
            raise
        finally:
            _current.reset(token)
        count += 1
        thrown = None
        try:
            sent = yield item
        except GeneratorExit:
            await gen.aclose()
            captured.metadata.update(yielded=count, completed=False)
            _end(opts, pending, None, None)
            raise
        except BaseException as exc:
            thrown = exc


def _select(fn: Any) -> Callable[[_Options], Callable[..., Any]]:
    target = getattr(fn, "__func__", fn)
    if inspect.isasyncgenfunction(target):
        return _async_gen
    if inspect.isgeneratorfunction(target):
        return _gen
    if inspect.iscoroutinefunction(target):
        return _async
    return _sync


def _decorate(fn: F, decision_type: str | None, options: dict[str, Any]) -> F:
    opts = _Options(fn, decision_type, **options)
    wrapper = _select(fn)(opts)
    return cast(F, wrapt.decorator(wrapper)(fn))


@overload
def decision(decision_type: F, /) -> F: ...


@overload
def decision(
    decision_type: str | Enum | None = None,
    /,
    *,
    memory: MemoryManager | None = None,
    agent_id: str | None = None,
    capture_args: bool = True,
    capture_result: bool = True,
    confidence: Confidence = None,
    redact: Redactor | None = None,
    tags: Sequence[str] | None = None,
) -> Callable[[F], F]: ...


def decision(
    decision_type: Any = None,
    /,
    *,
    memory: MemoryManager | None = None,
    agent_id: str | None = None,
    capture_args: bool = True,
    capture_result: bool = True,
    confidence: Confidence = None,
    redact: Redactor | None = None,
    tags: Sequence[str] | None = None,
) -> Any:
    """Record each call of the decorated function as a decision of ``decision_type``.

    ``@decision`` alone uses the function's name as the type. ``capture_args`` /
    ``capture_result`` turn off recording the arguments / the return value (reasoning
    fields of the result are still read). ``confidence`` is a number or a function of the
    result, used when the function does not set one itself. ``redact(data)`` sees
    ``{"inputs", "result", "context"}`` as JSON copies (the snapshot taken at the call, large
    values already cut) before they are stored.

    The options are checked here, once: a wrong type or value (``@decision(123)``, a
    ``confidence`` outside [0, 1], ``tags="weekly"`` instead of ``["weekly"]``) raises
    ``ValidationError`` naming it when the function is decorated; calls never raise.
    """
    _check_options(memory, agent_id, capture_args, capture_result, confidence, redact, tags)
    options = {
        "memory": memory,
        "agent_id": agent_id,
        "capture_args": capture_args,
        "capture_result": capture_result,
        "confidence": confidence,
        "redact": redact,
        "tags": tags,
    }
    if callable(decision_type) and not isinstance(decision_type, (str, Enum)):
        return _decorate(decision_type, None, options)  # bare @decision
    name = _decision_type(decision_type)

    def apply(fn: F) -> F:
        return _decorate(fn, name, options)

    return apply


def _decision_type(decision_type: Any) -> str | None:
    """The decision type ``@decision(...)`` was given, checked (None: the function's name)."""
    if decision_type is None:
        return None
    name = enum_value(decision_type)
    if not isinstance(name, str) or not 0 < len(name) <= MAX_LABEL_CHARS:
        raise check.fail(
            "decision_type",
            f"expected a decision type (1 to {MAX_LABEL_CHARS} characters) or a function",
            decision_type,
        )
    return name


def _check_options(
    memory: Any,
    agent_id: Any,
    capture_args: Any,
    capture_result: Any,
    confidence: Any,
    redact: Any,
    tags: Any,
) -> None:
    """``ValidationError`` for the first bad option of ``@decision(...)``."""
    if memory is not None:
        check.instance(memory, MemoryManager, "memory")
    if agent_id is not None:
        validate_agent_id(agent_id)
    check.flag(capture_args, "capture_args")
    check.flag(capture_result, "capture_result")
    if not callable(confidence):
        check.optional_real(confidence, "confidence", low=0.0, high=1.0)
    check.function(redact, "redact")
    check.names(tags, "tags", optional=True)


__all__ = ["ContextThreadPoolExecutor", "current_decision", "decision", "set_default_memory"]
