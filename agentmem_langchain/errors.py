"""The exceptions agentmem-langchain raises, all rooted at :class:`AgentMemError`.

::

    AgentMemError
    ├── ValidationError        bad input; nothing was changed (also a ValueError)
    ├── NotFoundError          no such decision, pattern, state or checkpoint (also a KeyError)
    ├── StateConflictError     an optimistic-locking check failed: someone else wrote first
    ├── StoreUnavailableError  the store could not be reached or failed; retrying may help
    └── ConfigurationError     settings that cannot work together (also a ValueError)

Capture code (decorators, callback handlers, the recorder) never raises any of these into
user code; they come only from explicit calls such as ``MemoryManager.log_decision``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pydantic


class AgentMemError(Exception):
    """Root of every error the library raises on purpose."""


class ValidationError(AgentMemError, ValueError):
    """Input that cannot be stored; the message names the field and the offending value."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value

    @classmethod
    def from_pydantic(cls, exc: pydantic.ValidationError) -> ValidationError:
        """One readable error from pydantic's list: ``DecisionRecord.reasoning.confidence: ...``"""
        problems = list(_problems(exc))
        message = "; ".join(
            f"{exc.title if field == exc.title else exc.title + '.' + field}: {msg} "
            f"(got {_short(v)})"
            for field, msg, v in problems
        )
        field, _, value = problems[0] if problems else (None, "", None)
        return cls(message, field=field, value=value)


def _problems(exc: pydantic.ValidationError) -> Iterator[tuple[str, str, Any]]:
    """(field path, message, offending value) for each error, nested models flattened."""
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, ValidationError) and cause.__cause__ is not None:
            inner = cause.__cause__
            if isinstance(inner, pydantic.ValidationError):
                for field, msg, value in _problems(inner):
                    yield (f"{loc}.{field}" if loc else field), msg, value
                continue
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith("$"):  # a JSON conversion error: "$.key.sub: ..." names the sub-path
            sub, _, msg = msg.partition(": ")
            loc += sub[1:]
            yield (
                loc,
                msg,
                (cause.value if isinstance(cause, ValidationError) else err.get("input")),
            )
            continue
        yield loc or exc.title, msg, err.get("input")


class NotFoundError(AgentMemError, KeyError):
    """The thing asked for does not exist (or has expired)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "not found"


class StateConflictError(AgentMemError):
    """A conditional write lost a race: the stored version is not the one the caller read."""


class StoreUnavailableError(AgentMemError):
    """The backing store failed or could not be reached."""


class ConfigurationError(AgentMemError, ValueError):
    """Settings that cannot work (an unknown store name, a missing extra, ...)."""


def _repr(value: Any) -> str:
    """``repr(value)``, or a placeholder when its ``__repr__`` raises (for error messages)."""
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not replace the error being reported
        return f"<{type(value).__name__} object>"


def _short(value: Any, limit: int = 80) -> str:
    text = _repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "AgentMemError",
    "ConfigurationError",
    "NotFoundError",
    "StateConflictError",
    "StoreUnavailableError",
    "ValidationError",
]
