"""The DynamoDB tables, their keys and how a domain object becomes an item and back.

Four tables (the seed's), each partitioned by ``agent_id``; ``docs/dynamodb.md`` explains
every access pattern. An item keeps the model's JSON in one string attribute ``doc`` (so
nested maps, empty strings and floats round-trip exactly) next to the scalar key and index
attributes. GSI keys must be scalar strings or numbers, so booleans and lists never appear in
a key: success becomes a sparse ``status_pk``, short-term memory a sparse ``stm_pk`` and
sharing one item per (pattern, grantee). The agent registry is one item per agent in its own
state partition, listed through the sparse AgentRegistryIndex (partition ``#agents``).

Only ``create_all_tables``/``delete_all_tables`` talk to a server (through the client they
are given); :mod:`agentmem_langchain.aws` owns the client and translates its errors.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..errors import ConfigurationError, ValidationError
from ..models import (
    AgentRegistration,
    AgentSignal,
    DecisionOutcome,
    DecisionRecord,
    MemoryPattern,
)
from ._common import to_micros

Item = dict[str, Any]
"""A DynamoDB item in the low-level client's form: ``{"name": {"S": "value"}}``."""

BROADCAST = "#broadcast"
"""TargetAgentIndex partition of broadcast signals ('#' cannot occur in an agent id)."""

REGISTRY = "#agents"
"""AgentRegistryIndex partition of every registration ('#' cannot occur in an agent id)."""

REGISTRATION_SK = "REGISTRATION"
"""Sort key of an agent's registration item in its own partition of the state table."""

MAX_ITEM_BYTES = 350 * 1024
"""Items are kept under this (DynamoDB's hard limit is 400 KB) by truncating captured fields."""

OUTCOME_BUDGET_BYTES = 40 * 1024
"""An outcome attached to a stored decision is kept under this (see ``outcome_attributes``)."""

TRUNCATED_KEY = "_agentmem_truncated"
_PREVIEW_CHARS = 1024


# -- table definitions ----------------------------------------------------------------------


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: keys (strings) and projection (None = ALL)."""

    name: str
    partition_key: str
    sort_key: str
    projection: tuple[str, ...] | None = None

    def projection_param(self) -> dict[str, Any]:
        if self.projection is None:
            return {"ProjectionType": "ALL"}
        if not self.projection:
            return {"ProjectionType": "KEYS_ONLY"}
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projection)}


@dataclass(frozen=True)
class TableSpec:
    """One table: its seed name, keys, GSIs and TTL attribute."""

    name: str
    partition_key: str
    sort_key: str
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None

    def index(self, name: str) -> IndexSpec:
        return next(i for i in self.indexes if i.name == name)

    def create_params(self, table_name: str) -> dict[str, Any]:
        """CreateTable arguments: on-demand billing, every key attribute a string."""
        names = {self.partition_key, self.sort_key}
        for index in self.indexes:
            names |= {index.partition_key, index.sort_key}
        params: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": n, "AttributeType": "S"} for n in sorted(names)
            ],
            "KeySchema": _key_schema(self.partition_key, self.sort_key),
        }
        if self.indexes:
            params["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": i.name,
                    "KeySchema": _key_schema(i.partition_key, i.sort_key),
                    "Projection": i.projection_param(),
                }
                for i in self.indexes
            ]
        return params


def _key_schema(partition: str, sort: str) -> list[dict[str, str]]:
    return [
        {"AttributeName": partition, "KeyType": "HASH"},
        {"AttributeName": sort, "KeyType": "RANGE"},
    ]


_STAT_ATTRS = ("decision_type", "status", "confidence", "latency_ms", "ttl")

DECISIONS = TableSpec(
    name="agent_decisions",
    partition_key="agent_id",
    sort_key="decision_id",
    indexes=(
        IndexSpec("TimeIndex", "agent_id", "ts", _STAT_ATTRS),
        IndexSpec("DecisionTypeIndex", "type_pk", "ts", ("ttl",)),
        IndexSpec("SuccessIndex", "status_pk", "ts", ("ttl", "decision_type")),
        IndexSpec("STMIndex", "stm_pk", "ts", ("ttl",)),
        IndexSpec("TraceIndex", "trace_pk", "ts", ("ttl",)),
        IndexSpec("ParentIndex", "parent_pk", "ts", ("ttl",)),
    ),
    ttl_attribute="ttl",
)
PATTERNS = TableSpec(
    name="agent_memory_ltm",
    partition_key="agent_id",
    sort_key="sk",
    indexes=(
        IndexSpec("ConfidenceIndex", "conf_pk", "conf"),
        IndexSpec("SharedPatternIndex", "grantee", "conf"),
    ),
)
STATE = TableSpec(
    name="agent_state",
    partition_key="agent_id",
    sort_key="sk",
    # Sparse: only registration items carry ``registry_pk``. Projected whole, so listing
    # agents never reads their partitions (which an agent's IAM policy does not allow).
    indexes=(IndexSpec("AgentRegistryIndex", "registry_pk", "agent_id"),),
)
SIGNALS = TableSpec(
    name="agent_signals",
    partition_key="agent_id",
    sort_key="sk",
    indexes=(IndexSpec("TargetAgentIndex", "target_pk", "order"),),
    ttl_attribute="ttl",
)
TABLES: tuple[TableSpec, ...] = (DECISIONS, PATTERNS, STATE, SIGNALS)


@dataclass(frozen=True)
class TableNames:
    """Physical table names: ``prefix`` + the seed's name (``prefix=""`` gives the seed's)."""

    prefix: str = "agentmem_"

    @property
    def decisions(self) -> str:
        return self.prefix + DECISIONS.name

    @property
    def patterns(self) -> str:
        return self.prefix + PATTERNS.name

    @property
    def state(self) -> str:
        return self.prefix + STATE.name

    @property
    def signals(self) -> str:
        return self.prefix + SIGNALS.name

    def physical(self, spec: TableSpec) -> str:
        return self.prefix + spec.name

    def spec_of(self, table_name: str) -> TableSpec | None:
        return next((t for t in TABLES if self.physical(t) == table_name), None)


# -- attribute values -----------------------------------------------------------------------


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    """A number attribute. Floats go through ``Decimal(repr(x))``: exact, never 'Float types
    are not supported'. NaN/inf are rejected; magnitudes outside DynamoDB's range (1e-130 to
    1e126) are clamped, which only ever affects index copies (the ``doc`` keeps the value)."""
    if isinstance(value, (bool, int)):
        return {"N": str(int(value))}
    if not math.isfinite(value):
        raise ValidationError(f"{value!r} cannot be stored as a number", value=value)
    magnitude = abs(value)
    if magnitude and magnitude < 1e-130:
        value = 0.0
    elif magnitude >= 1e126:
        value = math.copysign(9.99e125, value)
    return {"N": str(Decimal(repr(value)))}


def num(attribute: Mapping[str, str] | None) -> float | None:
    """The float behind a number attribute (None when absent)."""
    return None if attribute is None else float(Decimal(attribute["N"]))


def integer(attribute: Mapping[str, str] | None, default: int = 0) -> int:
    return default if attribute is None else int(Decimal(attribute["N"]))


def text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def _signed_key(value: int) -> str:
    # Fixed width, and '-' sorts before '0': string order equals numeric order.
    return f"{value:018d}" if value >= 0 else f"-{10**18 + value:018d}"


def time_key(moment: datetime) -> str:
    """Zero-padded microseconds since the epoch, sortable as a string (pre-1970 too)."""
    return _signed_key(to_micros(moment))


def conf_key(confidence: float, pattern_id: str = "") -> str:
    """Sort key of ConfidenceIndex/SharedPatternIndex: confidence then id, as a string."""
    key = f"{min(max(confidence, 0.0), 1.0):.17f}"
    return f"{key}#{pattern_id}" if pattern_id else key


def order_key(signal: AgentSignal) -> str:
    """TargetAgentIndex sort key: ascending order = highest priority first, then oldest."""
    inverted = max(-(10**17) + 1, min(10**17 - 1, -signal.priority))
    return f"{_signed_key(inverted)}#{time_key(signal.created_at)}#{signal.signal_id}"


# -- decisions --------------------------------------------------------------------------------


def decision_item(record: DecisionRecord) -> Item:
    """The item for a decision: ``doc`` (the record without outcome), ``outcome`` (JSON) and
    the scalar attributes the indexes need. Over-large captured fields are truncated."""
    agent = record.agent_id
    item: Item = {
        "agent_id": s(agent),
        "decision_id": s(record.decision_id),
        "ts": s(time_key(record.timestamp) + "#" + record.decision_id),
        "decision_type": s(record.decision_type),
        "type_pk": s(f"{agent}#{record.decision_type}"),
        "status": s(str(record.status)),
    }
    if record.reasoning.confidence is not None:
        item["confidence"] = n(record.reasoning.confidence)
    if record.ttl is not None:
        item["ttl"] = n(record.ttl)
    if record.is_stm and not record.consolidated:
        item["stm_pk"] = s(agent)
    if record.consolidated:
        item["consolidated"] = {"BOOL": True}
    if record.trace_id is not None:
        item["trace_pk"] = s(f"{agent}#{record.trace_id}")
    if record.parent_decision_id is not None:
        item["parent_pk"] = s(f"{agent}#{record.parent_decision_id}")
    if record.outcome is not None:
        item.update(outcome_attributes(agent, record.outcome))
    body = _doc(record)
    item["doc"] = s(json.dumps(body, separators=(",", ":"), ensure_ascii=False))
    if item_size(item) > MAX_ITEM_BYTES:
        return _shrunk_decision_item(item, body)
    return item


def outcome_attributes(agent_id: str, outcome: DecisionOutcome) -> Item:
    """The attributes an outcome sets: its JSON, the status and the sparse SuccessIndex key.

    Decision items are written under ``MAX_ITEM_BYTES``, which leaves DynamoDB's 400 KB room
    for an outcome of ``OUTCOME_BUDGET_BYTES`` attached later; larger ``details`` and
    ``error`` values are truncated with the same visible marker."""
    status = "success" if outcome.success else "failure"
    attrs: Item = {
        "outcome": s(_outcome_json(outcome)),
        "status": s(status),
        "status_pk": s(f"{agent_id}#{status}"),
    }
    if outcome.latency_ms is not None:
        attrs["latency_ms"] = n(outcome.latency_ms)
    return attrs


def _outcome_json(outcome: DecisionOutcome) -> str:
    text = outcome.model_dump_json()
    if len(text.encode()) <= OUTCOME_BUDGET_BYTES:
        return text
    data = json.loads(text)
    for field in ("details", "error"):
        size = len(_dumps(data.get(field)))
        if data.get(field) and size > _PREVIEW_CHARS * 2:
            data[field] = _marker(data[field], size)
            text = _dumps(data)
            if len(text.encode()) <= OUTCOME_BUDGET_BYTES:
                break
    return text


def _doc(record: DecisionRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"outcome", "consolidated"})


def decision_from_item(item: Mapping[str, Any]) -> DecisionRecord:
    """The record stored in ``item`` (outcome and consolidation flag merged back in)."""
    data = json.loads(item["doc"]["S"])
    outcome = item.get("outcome")
    data["outcome"] = json.loads(outcome["S"]) if outcome else None
    data["consolidated"] = bool(item.get("consolidated", {}).get("BOOL", False))
    return DecisionRecord.model_validate(data)


def decision_key(agent_id: str, decision_id: str) -> Item:
    return {"agent_id": s(agent_id), "decision_id": s(decision_id)}


# -- size and truncation ----------------------------------------------------------------------


def item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's size of an item: names plus values (UTF-8), as the 400 KB limit counts it."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "BOOL" or kind == "NULL":
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in raw.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    return len(str(raw).encode())


_DICT_FIELDS = (
    ("context", "market"),
    ("context", "inputs"),
    ("context", "extra"),
    ("metadata",),
    ("reasoning", "scores"),
)
_TEXT_FIELDS = (("reasoning", "rationale"),)


def _shrunk_decision_item(item: Item, body: dict[str, Any]) -> Item:
    """Replace the largest captured fields (context, metadata, outcome details) with a
    visible marker until the item fits; a record that still cannot fit is refused."""
    outcome = json.loads(item["outcome"]["S"]) if "outcome" in item else None
    candidates = [(body, path) for path in _DICT_FIELDS + _TEXT_FIELDS]
    if outcome is not None:
        candidates += [(outcome, ("details",)), (outcome, ("error",))]
    while item_size(item) > MAX_ITEM_BYTES:
        sized = [(len(_dumps(_get(root, p))), root, p) for root, p in candidates]
        size, root, path = max(sized, key=lambda entry: entry[0])
        if size <= _PREVIEW_CHARS * 2:
            raise ValidationError(
                f"decision {item['decision_id']['S']} is larger than {MAX_ITEM_BYTES} bytes "
                "even with its captured fields truncated",
                field="decision",
            )
        _set(root, path, _marker(_get(root, path), size))
        item["doc"] = s(_dumps(body))
        if outcome is not None:
            item["outcome"] = s(_dumps(outcome))
    return item


def _marker(value: Any, size: int) -> Any:
    preview = value if isinstance(value, str) else _dumps(value)
    note = f"truncated by agentmem: {size} bytes did not fit a DynamoDB item"
    if isinstance(value, str):
        return f"{preview[:_PREVIEW_CHARS]}... [{note}]"
    return {TRUNCATED_KEY: {"note": note, "bytes": size, "preview": preview[:_PREVIEW_CHARS]}}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _get(root: Mapping[str, Any], path: Iterable[str]) -> Any:
    value: Any = root
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(root: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = root
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


# -- patterns ---------------------------------------------------------------------------------


def pattern_latest_key(agent_id: str, pattern_id: str) -> Item:
    return {"agent_id": s(agent_id), "sk": s(f"P#{pattern_id}")}


def pattern_doc(pattern: MemoryPattern) -> str:
    return pattern.model_dump_json()


def pattern_latest_item(pattern: MemoryPattern) -> Item:
    """The pattern's latest version: ConfidenceIndex partition ``agent#active|retired``."""
    return {
        **pattern_latest_key(pattern.agent_id, pattern.pattern_id),
        "doc": s(pattern_doc(pattern)),
        "version": n(pattern.version),
        "confidence": n(pattern.confidence),
        "conf_pk": s(f"{pattern.agent_id}#{pattern.status}"),
        "conf": s(conf_key(pattern.confidence, pattern.pattern_id)),
    }


def pattern_history_item(pattern: MemoryPattern) -> Item:
    return {
        "agent_id": s(pattern.agent_id),
        "sk": s(f"H#{pattern.pattern_id}#{pattern.version:010d}"),
        "doc": s(pattern_doc(pattern)),
        "version": n(pattern.version),
    }


def pattern_grant_item(pattern: MemoryPattern, grantee: str) -> Item:
    """One (pattern, grantee) share: SharedPatternIndex is queried by ``grantee``."""
    return {
        "agent_id": s(pattern.agent_id),
        "sk": s(f"G#{pattern.pattern_id}#{grantee}"),
        "grantee": s(grantee),
        "conf": s(conf_key(pattern.confidence, pattern.pattern_id)),
        "confidence": n(pattern.confidence),
        "doc": s(pattern_doc(pattern)),
    }


def pattern_from_item(item: Mapping[str, Any]) -> MemoryPattern:
    return MemoryPattern.model_validate_json(item["doc"]["S"])


# -- signals ----------------------------------------------------------------------------------


def signal_audience(signal: AgentSignal) -> list[str]:
    """TargetAgentIndex partitions a signal is delivered to (one item each): every named
    target, plus the ``#broadcast`` partition that every other agent reads."""
    audience = list(dict.fromkeys(signal.target_agent_ids))
    return [*audience, BROADCAST] if signal.broadcast else audience


def signal_delivery_item(signal: AgentSignal, target: str) -> Item:
    """One delivery, kept in the publisher's partition, found by the target through
    TargetAgentIndex (``target_pk`` = target agent id, or ``#broadcast``)."""
    item: Item = {
        "agent_id": s(signal.source_agent_id),
        "sk": s(f"S#{signal.signal_id}#{target}"),
        "target_pk": s(target),
        "order": s(order_key(signal)),
        "source": s(signal.source_agent_id),
        "doc": s(signal.model_dump_json(exclude={"processing"})),
    }
    if signal.expires_at is not None:
        item["expires"] = n(to_micros(signal.expires_at))
        item["ttl"] = n(math.ceil(signal.expires_at.timestamp()))
    return item


def signal_from_item(item: Mapping[str, Any], agent_id: str, status: str) -> AgentSignal:
    data = json.loads(item["doc"]["S"])
    data["processing"] = {agent_id: status}
    return AgentSignal.model_validate(data)


def signal_status_key(agent_id: str, signal_id: str) -> Item:
    """A consumer's own claim/processed record for one signal, in its own partition."""
    return {"agent_id": s(agent_id), "sk": s(f"C#{signal_id}")}


# -- agent registry ---------------------------------------------------------------------------


def registration_key(agent_id: str) -> Item:
    """An agent's registration: an item of its own partition, so its credentials suffice."""
    return {"agent_id": s(agent_id), "sk": s(REGISTRATION_SK)}


def registration_item(registration: AgentRegistration) -> Item:
    """The registration item: ``doc`` (the registration without ``last_heartbeat``), the
    heartbeat as microseconds (a heartbeat updates it alone), the capabilities as a list
    (for ``contains``) and ``registry_pk``, which puts it into AgentRegistryIndex."""
    item: Item = {
        **registration_key(registration.agent_id),
        "registry_pk": s(REGISTRY),
        "last_heartbeat": n(to_micros(registration.last_heartbeat)),
        "doc": s(registration.model_dump_json(exclude={"last_heartbeat"})),
    }
    if registration.capabilities:
        item["capabilities"] = {"L": [s(c) for c in dict.fromkeys(registration.capabilities)]}
    return item


def registration_from_item(item: Mapping[str, Any]) -> AgentRegistration | None:
    """The registration stored in ``item``; None unless it is the registration item of the
    partition it is in. The partition key is the one attribute IAM lets nobody but the
    agent itself write, so an agent cannot make the index show a registration of another."""
    if text(item, "sk") != REGISTRATION_SK:
        return None
    data = json.loads(item["doc"]["S"])
    if data.get("agent_id") != text(item, "agent_id"):
        return None
    data["last_heartbeat"] = from_micros(integer(item["last_heartbeat"]))
    return AgentRegistration.model_validate(data)


def from_micros(micros: int) -> datetime:
    """The UTC datetime ``micros`` microseconds after the epoch (exact, unlike floats)."""
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)


# -- estimated index writes -------------------------------------------------------------------


def index_write_units(
    spec: TableSpec, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> float:
    """Write units the table's GSIs consume when ``old`` becomes ``new`` (either may be None).

    Local servers (moto, dynalite) report only the base table's units; real DynamoDB also
    charges one write per touched index entry (per KB projected). This estimate fills the gap.
    """
    units = 0.0
    for index in spec.indexes:
        before = _index_entry(index, spec, old)
        after = _index_entry(index, spec, new)
        if before == after:
            continue
        keys = (index.partition_key, index.sort_key)
        moved = (
            before is not None
            and after is not None
            and any(before.get(k) != after.get(k) for k in keys)
        )
        if before is not None and (after is None or moved):
            units += _write_units(before)
        if after is not None:
            units += _write_units(after)
    return units


def _index_entry(index: IndexSpec, spec: TableSpec, item: Mapping[str, Any] | None) -> Item | None:
    if item is None or index.partition_key not in item or index.sort_key not in item:
        return None
    if index.projection is None:
        return dict(item)
    names = {index.partition_key, index.sort_key, spec.partition_key, spec.sort_key}
    names |= set(index.projection)
    return {k: v for k, v in item.items() if k in names}


def _write_units(entry: Mapping[str, Any]) -> float:
    return float(max(1, math.ceil(item_size(entry) / 1024)))


# -- creating the tables ----------------------------------------------------------------------


@dataclass
class TableSetupReport:
    """What ``create_all_tables`` did: per table "created" or "exists", and the TTL status
    ("enabled", "already enabled", "not used" or "unsupported by this server: ...")."""

    tables: dict[str, str]
    ttl: dict[str, str]

    def __str__(self) -> str:
        rows = [f"{name}: {state}; TTL {self.ttl[name]}" for name, state in self.tables.items()]
        return "\n".join(rows)


def create_all_tables(
    client: Any,
    names: TableNames,
    *,
    wait: bool = True,
    timeout: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> TableSetupReport:
    """Create the four tables on-demand (existing ones are checked, not changed), wait until
    they and their indexes are ACTIVE, and enable TTL on decisions and signals where the
    server supports UpdateTimeToLive (dynalite does not; it is reported, not fatal)."""
    report = TableSetupReport(tables={}, ttl={})
    for spec in TABLES:
        table = names.physical(spec)
        report.tables[table] = _create_table(client, spec, table)
    if wait:
        deadline = time.monotonic() + timeout
        for spec in TABLES:
            _wait_active(client, names.physical(spec), deadline, sleep)
    for spec in TABLES:
        table = names.physical(spec)
        report.ttl[table] = _enable_ttl(client, spec, table)
    return report


def _create_table(client: Any, spec: TableSpec, table: str) -> str:
    from botocore.exceptions import ClientError

    try:
        client.create_table(**spec.create_params(table))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        _check_existing(client, spec, table)
        return "exists"
    return "created"


def _check_existing(client: Any, spec: TableSpec, table: str) -> None:
    described = client.describe_table(TableName=table)["Table"]
    have = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
    missing = [i.name for i in spec.indexes if i.name not in have]
    keys = [k["AttributeName"] for k in described["KeySchema"]]
    if missing or keys != [spec.partition_key, spec.sort_key]:
        raise ConfigurationError(
            f"table {table} exists with another layout (keys {keys}, missing indexes "
            f"{missing}); use another table_prefix or migrate it (docs/dynamodb.md, "
            "'Upgrading existing tables')"
        )


def _wait_active(client: Any, table: str, deadline: float, sleep: Callable[[float], None]) -> None:
    while True:
        described = client.describe_table(TableName=table)["Table"]
        statuses = [described.get("TableStatus")] + [
            i.get("IndexStatus") for i in described.get("GlobalSecondaryIndexes", [])
        ]
        if all(status == "ACTIVE" for status in statuses):
            return
        if time.monotonic() > deadline:
            raise ConfigurationError(f"table {table} is not ACTIVE yet ({statuses})")
        sleep(0.1)


def _enable_ttl(client: Any, spec: TableSpec, table: str) -> str:
    from botocore.exceptions import ClientError

    if spec.ttl_attribute is None:
        return "not used"
    try:
        current = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return "already enabled"
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("UnknownOperationException", "UnrecognizedClientException"):
            return f"unsupported by this server ({code}); expired items are still never returned"
        raise
    return "enabled"


def delete_all_tables(client: Any, names: TableNames) -> list[str]:
    """Delete this prefix's four tables (missing ones are skipped); returns those deleted."""
    from botocore.exceptions import ClientError

    deleted = []
    for spec in TABLES:
        table = names.physical(spec)
        try:
            client.delete_table(TableName=table)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            continue
        deleted.append(table)
    return deleted


__all__ = [
    "BROADCAST",
    "DECISIONS",
    "MAX_ITEM_BYTES",
    "PATTERNS",
    "REGISTRATION_SK",
    "REGISTRY",
    "SIGNALS",
    "STATE",
    "TABLES",
    "IndexSpec",
    "Item",
    "TableNames",
    "TableSetupReport",
    "TableSpec",
    "conf_key",
    "create_all_tables",
    "decision_from_item",
    "decision_item",
    "delete_all_tables",
    "from_micros",
    "index_write_units",
    "item_size",
    "order_key",
    "registration_from_item",
    "registration_item",
    "registration_key",
    "time_key",
]
