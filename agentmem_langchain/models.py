"""The data model: decisions (with context, reasoning, outcome), patterns, state, signals.

Every model validates on construction *and* on assignment, raises
:class:`agentmem_langchain.ValidationError` (never a half-built object), and round-trips
through JSON: ``Model.model_validate_json(m.model_dump_json()) == m``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from ulid import ULID

from .enums import OutcomeStatus, PatternStatus, PatternType, ProcessingStatus
from .errors import ValidationError
from .serialization import to_json_value


def new_id() -> str:
    """A new time-sortable id (a ULID, 26 characters, Crockford base32)."""
    return str(ULID())


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def aware_utc(value: datetime) -> datetime:
    """``value`` in UTC: a naive time is taken as UTC, an aware one converted (so every
    stored time compares)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _json_dict(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    converted = to_json_value(value, "$")
    if not isinstance(converted, dict):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    return converted


def _enum_text(value: Any) -> Any:
    # Enum(value) puts repr(value) in its error, which may raise: only text can be a member.
    if isinstance(value, (str, Enum)):
        return value
    raise ValueError(f"expected a str, got {type(value).__name__}")


def enum_value(value: Any) -> Any:
    """An enum member's value (``DecisionType.TOOL_CALL`` → ``"tool_call"``); else ``value``."""
    return getattr(value, "value", value)


# What ULID.from_str accepts (Crockford base32, any case, at most 128 bits), without decoding.
ULID_TEXT = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", re.IGNORECASE)
#: An agent id: letters, digits and ``_ . : @ / + = -``, starting with a letter or digit.
AGENT_ID_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]*$")
#: The most characters an agent id or a label (decision type, pattern type...) may have.
MAX_LABEL_CHARS = 128


def _check_ulid(value: str) -> str:
    if not ULID_TEXT.fullmatch(value):
        raise ValueError(f"{value!r} is not a ULID (26 characters of Crockford base32)")
    return value


UTCDateTime = Annotated[datetime, AfterValidator(aware_utc)]
JsonDict = Annotated[dict[str, Any], BeforeValidator(_json_dict)]
AgentId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LABEL_CHARS,
        pattern=AGENT_ID_TEXT.pattern,
        description="Letters, digits and _ . : @ / + = -, starting with a letter or digit.",
    ),
]
Id = Annotated[str, AfterValidator(_check_ulid)]
Label = Annotated[str, BeforeValidator(enum_value), Field(min_length=1, max_length=MAX_LABEL_CHARS)]
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]

M = TypeVar("M", bound="Model")


class Model(BaseModel):
    """Base of every model: strict about bad input, raising the library's ValidationError."""

    model_config = ConfigDict(
        validate_assignment=True,
        extra="forbid",
        use_enum_values=True,
        ser_json_inf_nan="strings",
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise ValidationError.from_pydantic(exc) from exc

    @model_validator(mode="wrap")
    @classmethod
    def _string_keys(cls, data: Any, handler: pydantic.ValidatorFunctionWrapHandler) -> Any:
        # A nested model given as a dict is built by calling __init__(**data): a non-str key
        # would be a TypeError there, so it is rejected as a validation error first.
        if isinstance(data, dict) and not all(isinstance(key, str) for key in data):
            bad = next(key for key in data if not isinstance(key, str))
            raise ValueError(f"field names must be strings, got a {type(bad).__name__} key")
        return handler(data)

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except pydantic.ValidationError as exc:
            raise ValidationError.from_pydantic(exc) from exc

    @classmethod
    def model_validate(cls: type[M], obj: Any, **kwargs: Any) -> M:
        try:
            return super().model_validate(obj, **kwargs)
        except pydantic.ValidationError as exc:
            raise ValidationError.from_pydantic(exc) from exc

    @classmethod
    def model_validate_json(cls: type[M], json_data: str | bytes, **kwargs: Any) -> M:  # type: ignore[override]
        try:
            return super().model_validate_json(json_data, **kwargs)
        except pydantic.ValidationError as exc:
            raise ValidationError.from_pydantic(exc) from exc


class DecisionContext(Model):
    """What the agent knew when it decided.

    Unknown keys given as a plain dict are kept under ``extra``:
    ``DecisionContext.model_validate({"market": {...}, "cycle": 1, "region": "eu"})``
    stores ``extra == {"region": "eu"}``.
    """

    _known: ClassVar[frozenset[str]] = frozenset({"market", "cycle", "inputs", "extra"})

    market: JsonDict = Field(default_factory=dict)
    cycle: int | None = None
    inputs: JsonDict = Field(default_factory=dict)
    extra: JsonDict = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fold_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and not set(data) <= cls._known:
            data = dict(data)
            extra = dict(data.pop("extra", None) or {})
            for key in [k for k in data if k not in cls._known]:
                extra[key] = data.pop(key)
            data["extra"] = extra
        return data


class DecisionReasoning(Model):
    """Why the agent chose what it chose. ``confidence`` is in [0, 1] (NaN/inf rejected)."""

    scores: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(default_factory=dict)
    selected: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)
    patterns_applied: list[str] = Field(default_factory=list)
    confidence: UnitFloat | None = None
    rationale: str | None = None


class DecisionOutcome(Model):
    """What happened. ``quality_score`` is in [0, 1]; ``latency_ms`` is finite and >= 0."""

    success: bool
    quality_score: UnitFloat | None = None
    latency_ms: NonNegativeFloat | None = None
    error: str | None = None
    error_type: str | None = None
    recorded_at: UTCDateTime = Field(default_factory=utcnow)
    details: JsonDict = Field(default_factory=dict)


class DecisionRecord(Model):
    """One decision of one agent: context, reasoning and (now or later) outcome.

    >>> r = DecisionRecord(agent_id="btc-agent-001", decision_type="source_selection")
    >>> r.trace_id == r.decision_id and r.is_stm and r.status == "pending"
    True
    """

    decision_id: Id = Field(default_factory=new_id)
    agent_id: AgentId
    decision_type: Label
    timestamp: UTCDateTime = Field(default_factory=utcnow)
    parent_decision_id: Id | None = None
    trace_id: Id | None = None
    context: DecisionContext = Field(default_factory=DecisionContext)
    reasoning: DecisionReasoning = Field(default_factory=DecisionReasoning)
    outcome: DecisionOutcome | None = None
    is_stm: bool = True
    consolidated: bool = False
    ttl: int | None = Field(default=None, ge=0, description="Expiry, epoch seconds; None keeps it.")
    tags: list[str] = Field(default_factory=list)
    metadata: JsonDict = Field(default_factory=dict)

    @model_validator(mode="after")
    def _root_is_own_trace(self) -> DecisionRecord:
        if self.trace_id is None and self.parent_decision_id is None:
            object.__setattr__(self, "trace_id", self.decision_id)
        return self

    @property
    def status(self) -> OutcomeStatus:
        """``pending`` until an outcome is attached, then ``success`` or ``failure``."""
        if self.outcome is None:
            return OutcomeStatus.PENDING
        return OutcomeStatus.SUCCESS if self.outcome.success else OutcomeStatus.FAILURE

    def is_expired(self, now: datetime) -> bool:
        """True once ``ttl`` has passed (stores never return expired records)."""
        return self.ttl is not None and self.ttl <= math.floor(now.timestamp())


class PatternVersion(Model):
    """The statistics a pattern had at one version, kept in its bounded ``history``."""

    version: int
    confidence: float
    success_rate: float
    sample_size: int
    success_count: int
    updated_at: UTCDateTime


class MemoryPattern(Model):
    """A long-term memory: "in these conditions, this recommendation succeeded k of n times".

    ``confidence`` is in [0, 1]; ``success_count <= sample_size``. ``user_metadata`` is the
    user's own and is never changed by the library. ``version`` starts at 1 and each stored
    change increments it; ``history`` keeps earlier statistics.
    """

    MAX_EVIDENCE: ClassVar[int] = 50

    pattern_id: Id = Field(default_factory=new_id)
    agent_id: AgentId
    pattern_type: Label = PatternType.SUCCESS.value
    decision_type: Label | None = None
    description: str = ""
    conditions: JsonDict = Field(default_factory=dict)
    recommendation: JsonDict = Field(default_factory=dict)
    confidence: UnitFloat = 0.0
    success_rate: UnitFloat = 0.0
    sample_size: int = Field(default=0, ge=0)
    success_count: int = Field(default=0, ge=0)
    mean_quality: UnitFloat | None = None
    mean_latency_ms: NonNegativeFloat | None = None
    version: int = Field(default=1, ge=1)
    history: list[PatternVersion] = Field(default_factory=list)
    shared_with: list[AgentId] = Field(default_factory=list)
    user_metadata: JsonDict = Field(default_factory=dict)
    evidence: list[Id] = Field(default_factory=list, max_length=MAX_EVIDENCE)
    status: Annotated[PatternStatus, BeforeValidator(_enum_text)] = PatternStatus.ACTIVE
    created_at: UTCDateTime = Field(default_factory=utcnow)
    updated_at: UTCDateTime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _counts_agree(self) -> MemoryPattern:
        if self.success_count > self.sample_size:
            raise ValueError(
                f"success_count ({self.success_count}) exceeds sample_size ({self.sample_size})"
            )
        return self


class AgentState(Model):
    """An agent's current configuration and metrics.

    ``version`` is the optimistic-locking counter: 0 for a state never saved; every save
    stores ``version + 1`` and fails with ``StateConflictError`` if someone saved first.
    """

    agent_id: AgentId
    config: JsonDict = Field(default_factory=dict)
    metrics: JsonDict = Field(default_factory=dict)
    status: str = "active"
    version: int = Field(default=0, ge=0)
    updated_at: UTCDateTime = Field(default_factory=utcnow)


class StateCheckpoint(Model):
    """A point-in-time copy of an agent's state that ``rollback`` can restore."""

    checkpoint_id: Id = Field(default_factory=new_id)
    agent_id: AgentId
    name: str | None = None
    created_at: UTCDateTime = Field(default_factory=utcnow)
    state: AgentState


class AgentRegistration(Model):
    """An agent in the registry: what it can do, and when it last said it was alive.

    ``capabilities`` route signals (``publish_signal(capability="pricing")``); ``metadata``
    is the agent's own JSON (host, version, owner...).
    """

    agent_id: AgentId
    capabilities: list[Label] = Field(default_factory=list)
    metadata: JsonDict = Field(default_factory=dict)
    registered_at: UTCDateTime = Field(default_factory=utcnow)
    last_heartbeat: UTCDateTime = Field(default_factory=utcnow)

    def is_active(self, since: datetime) -> bool:
        """True if the last heartbeat is at or after ``since``."""
        return self.last_heartbeat >= since


class AgentSignal(Model):
    """A message from one agent to some targets, or to every agent (``broadcast``).

    Higher ``priority`` is delivered first. ``processing`` holds each target's status
    (pending, claimed, processed) as last read from the store. ``payload`` must be JSON
    (see :mod:`agentmem_langchain.serialization`) and at most ``MAX_PAYLOAD_BYTES``.
    """

    MAX_PAYLOAD_BYTES: ClassVar[int] = 256 * 1024

    signal_id: Id = Field(default_factory=new_id)
    source_agent_id: AgentId
    signal_type: Label
    payload: JsonDict = Field(default_factory=dict)
    target_agent_ids: list[AgentId] = Field(default_factory=list)
    broadcast: bool = False
    priority: int = 0
    created_at: UTCDateTime = Field(default_factory=utcnow)
    expires_at: UTCDateTime | None = None
    processing: dict[str, Annotated[ProcessingStatus, BeforeValidator(_enum_text)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _has_audience(self) -> AgentSignal:
        if not self.broadcast and not self.target_agent_ids:
            raise ValueError("a signal needs target_agent_ids or broadcast=True")
        size = len(pydantic.TypeAdapter(dict[str, Any]).dump_json(self.payload))
        if size > self.MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload is {size} bytes; the limit is {self.MAX_PAYLOAD_BYTES}")
        return self

    def is_expired(self, now: datetime) -> bool:
        """True once ``expires_at`` has passed (expired signals are never delivered)."""
        return self.expires_at is not None and self.expires_at <= now


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a query: ``items`` and the opaque ``next_cursor`` (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None


class _StatsFields(BaseModel):
    """The typed fields of a ``DecisionStats`` (what its attributes return)."""

    agent_id: str
    start: datetime
    end: datetime
    total: int = 0
    successes: int = 0
    failures: int = 0
    pending: int = 0
    success_rate: float = 0.0
    avg_confidence: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    by_type: dict[str, int] = Field(default_factory=dict)


class DecisionStats(dict[str, Any]):
    """An agent's decisions in a time window, summed up (``DecisionLogger.get_decision_stats``).

    A read-only mapping of plain JSON values, as a dict: ``stats["success_rate"]``,
    ``stats.get("pending")``, ``dict(stats)`` and ``json.dumps(stats)`` work, with ``start``
    and ``end`` as ISO-8601 text. The attributes are typed (``stats.start`` is a
    ``datetime``). Changing it raises ``TypeError``.

    >>> stats = DecisionStats(agent_id="a", start=utcnow(), end=utcnow(), total=2)
    >>> stats.total == stats["total"] == 2
    True
    """

    agent_id: str
    start: datetime
    end: datetime
    total: int
    successes: int
    failures: int
    pending: int
    success_rate: float
    avg_confidence: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    by_type: dict[str, int]

    def __init__(self, **fields: Any) -> None:
        try:
            typed = _StatsFields(**fields)
        except pydantic.ValidationError as exc:
            raise ValidationError.from_pydantic(exc) from None
        super().__init__(typed.model_dump(mode="json"))
        object.__setattr__(self, "_typed", typed)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_typed":
            raise AttributeError(name)
        return getattr(self._typed, name)

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """The fields as a new dict: typed (``mode="python"``) or as JSON values (``"json"``)."""
        fields: dict[str, Any] = self._typed.model_dump(mode=mode)
        return fields

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """The fields as JSON text."""
        text: str = self._typed.model_dump_json(indent=indent)
        return text

    def __repr__(self) -> str:
        return f"DecisionStats({self._typed!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_stats, (self._typed.model_dump(),))

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("DecisionStats is read-only")

    __setitem__ = __delitem__ = __setattr__ = __delattr__ = _read_only
    clear = pop = popitem = setdefault = update = __ior__ = _read_only


def _stats(fields: dict[str, Any]) -> DecisionStats:
    return DecisionStats(**fields)


__all__ = [
    "AgentRegistration",
    "AgentSignal",
    "AgentState",
    "DecisionContext",
    "DecisionOutcome",
    "DecisionReasoning",
    "DecisionRecord",
    "DecisionStats",
    "MemoryPattern",
    "Page",
    "PatternVersion",
    "StateCheckpoint",
    "aware_utc",
    "enum_value",
    "new_id",
    "utcnow",
]
