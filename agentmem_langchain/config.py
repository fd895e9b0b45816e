"""Settings in one place: explicit arguments first, ``AGENTMEM_*`` environment variables second.

Each variable is read here, by one function, with one default; the rest of the package calls
these functions, at each use (a change to the environment applies from then on).

* ``AGENTMEM_AGENT_ID`` (:func:`agent_id`, default ``default``): the agent of records made
  without one (``@decision`` with no agent, the ``AGENTMEM_TRACING`` and :func:`instrument`
  handlers without a memory, the consolidation Lambda, which takes a comma-separated list).
* ``AGENTMEM_STORE`` (:func:`store_kind`, default ``sqlite``): ``sqlite`` or ``dynamodb``.
* ``AGENTMEM_SQLITE_PATH`` (:func:`resolve_sqlite_path`, default ``.agentmem/memory.db``).
* ``AGENTMEM_DYNAMODB_ENDPOINT`` (:func:`dynamodb_endpoint`, default AWS): a DynamoDB endpoint
  URL (a local server, for instance).
* ``AGENTMEM_TABLE_PREFIX`` (:func:`table_prefix`, default ``agentmem_``): DynamoDB table names.
* ``AWS_REGION`` (:func:`aws_region`, else ``AWS_DEFAULT_REGION``, else boto3's).
* ``AGENTMEM_JOURNAL_DIR`` (:func:`journal_dir`, default ``.agentmem/journal``): where the
  capture journal keeps what a store has not taken yet.
* ``AGENTMEM_HALF_LIFE_DECISIONS`` (:func:`evidence_half_life`, default 100): after how
  many decided decisions of the same type in the same context an outcome counts half as
  much in ``MemoryManager.recommend`` (forgetting by evidence; time decay applies as well).
* ``AGENTMEM_TRACING`` (:func:`tracing_enabled`, default off): when on, langchain-core adds an
  :class:`~agentmem_langchain.langchain.AgentMemoryCallbackHandler` on the default memory to
  each run (a configure hook, as LangSmith's ``LANGCHAIN_TRACING_V2``; importing the package
  installs nothing). On means set to anything but ``""``, ``0``, ``false`` or ``False``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from .errors import ValidationError

#: The agent of records made without one, when ``AGENTMEM_AGENT_ID`` is not set.
DEFAULT_AGENT_ID = "default"
DEFAULT_STORE_KIND = "sqlite"
DEFAULT_SQLITE_PATH = Path(".agentmem") / "memory.db"
DEFAULT_TABLE_PREFIX = "agentmem_"
DEFAULT_JOURNAL_DIR = Path(".agentmem") / "journal"
#: How long a decision is kept before its TTL expires it (consolidation keeps what it learnt).
DEFAULT_DECISION_TTL = timedelta(days=30)
#: Decisions of a group after which an outcome weighs half in ``recommend`` (see
#: :func:`evidence_half_life`).
DEFAULT_HALF_LIFE_DECISIONS = 100.0
#: Decisions younger than this are short-term memory.
STM_WINDOW = timedelta(days=1)
STORE_KINDS = ("sqlite", "dynamodb")
#: The variable that switches LangChain tracing on (langchain-core reads it too, for its
#: configure hook, with the rule of :func:`tracing_enabled`).
TRACING_ENV = "AGENTMEM_TRACING"
_TRACING_OFF = frozenset({"", "0", "false", "False"})  # langchain_core.utils.env.env_var_is_set


def _env(name: str) -> str | None:
    """The variable's value, stripped; None when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def _env_path(name: str, default: Path) -> Path:
    """The variable's value as a path (not stripped: a path may end in a space), else
    ``default``."""
    return Path(os.environ.get(name) or default)


def agent_id() -> str:
    """``AGENTMEM_AGENT_ID``, else :data:`DEFAULT_AGENT_ID` (``"default"``).

    The agent of records whose caller names none; an explicit ``agent_id=`` or memory wins.
    """
    return _env("AGENTMEM_AGENT_ID") or DEFAULT_AGENT_ID


def agent_ids() -> list[str]:
    """:func:`agent_id` as a list (the variable may hold several ids, comma-separated)."""
    return [a.strip() for a in agent_id().split(",") if a.strip()] or [DEFAULT_AGENT_ID]


def store_kind(kind: str | None = None) -> str:
    """``kind``, else ``AGENTMEM_STORE``, else ``sqlite``; lower case, not checked."""
    return (kind or _env("AGENTMEM_STORE") or DEFAULT_STORE_KIND).strip().lower()


def resolve_sqlite_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite file to use: ``path``, else ``AGENTMEM_SQLITE_PATH``, else the default."""
    if path is not None:
        return Path(path)
    return _env_path("AGENTMEM_SQLITE_PATH", DEFAULT_SQLITE_PATH)


def dynamodb_endpoint(endpoint_url: str | None = None) -> str | None:
    """``endpoint_url``, else ``AGENTMEM_DYNAMODB_ENDPOINT``, else None (AWS itself)."""
    return endpoint_url or _env("AGENTMEM_DYNAMODB_ENDPOINT")


def table_prefix(prefix: str | None = None) -> str:
    """``prefix``, else ``AGENTMEM_TABLE_PREFIX``, else ``agentmem_``."""
    return prefix or _env("AGENTMEM_TABLE_PREFIX") or DEFAULT_TABLE_PREFIX


def aws_region(region: str | None = None) -> str | None:
    """``region``, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else None (boto3's)."""
    return region or _env("AWS_REGION") or _env("AWS_DEFAULT_REGION")


def journal_dir() -> Path:
    """``AGENTMEM_JOURNAL_DIR``, else ``.agentmem/journal`` (a recorder's ``journal_dir``
    setting wins)."""
    return _env_path("AGENTMEM_JOURNAL_DIR", DEFAULT_JOURNAL_DIR)


def evidence_half_life(decisions: float | None = None) -> float:
    """``decisions``, else ``AGENTMEM_HALF_LIFE_DECISIONS``, else 100: the half-life, in
    decided decisions of the same group, of the evidence ``recommend`` weighs.

    ``ValidationError`` (field ``AGENTMEM_HALF_LIFE_DECISIONS``) for a value that is not a
    positive number.
    """
    raw: object = decisions if decisions is not None else _env("AGENTMEM_HALF_LIFE_DECISIONS")
    if raw is None:
        return DEFAULT_HALF_LIFE_DECISIONS
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValidationError(
            f"AGENTMEM_HALF_LIFE_DECISIONS: must be a positive number of decisions (got {raw!r})",
            field="AGENTMEM_HALF_LIFE_DECISIONS",
            value=raw,
        )
    return value


def cli_debug() -> bool:
    """True when ``AGENTMEM_DEBUG`` is set: the CLI lets an unexpected error's traceback
    through instead of printing one line."""
    return _env("AGENTMEM_DEBUG") is not None


def tracing_enabled() -> bool:
    """Whether ``AGENTMEM_TRACING`` is on: set to anything but ``""``, ``0``, ``false`` or
    ``False`` (langchain-core's rule for the variables of its configure hooks, which it
    applies itself at each run)."""
    return os.environ.get(TRACING_ENV, "") not in _TRACING_OFF


__all__ = [
    "DEFAULT_AGENT_ID",
    "DEFAULT_DECISION_TTL",
    "DEFAULT_HALF_LIFE_DECISIONS",
    "DEFAULT_JOURNAL_DIR",
    "DEFAULT_SQLITE_PATH",
    "DEFAULT_STORE_KIND",
    "DEFAULT_TABLE_PREFIX",
    "STM_WINDOW",
    "STORE_KINDS",
    "TRACING_ENV",
    "agent_id",
    "agent_ids",
    "aws_region",
    "cli_debug",
    "dynamodb_endpoint",
    "evidence_half_life",
    "journal_dir",
    "resolve_sqlite_path",
    "store_kind",
    "table_prefix",
    "tracing_enabled",
]
