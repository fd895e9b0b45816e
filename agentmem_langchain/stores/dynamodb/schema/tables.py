"""The four tables and their indexes, physical table names, and estimated index writes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .... import config
from .values import Item, item_size

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
    """One table: its name (before the prefix), keys, GSIs and TTL attribute."""

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
    """Physical table names: ``prefix`` + the table's name (``prefix=""`` gives the bare names)."""

    prefix: str = config.DEFAULT_TABLE_PREFIX

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


__all__ = [
    "DECISIONS",
    "PATTERNS",
    "SIGNALS",
    "STATE",
    "TABLES",
    "IndexSpec",
    "TableNames",
    "TableSpec",
    "index_write_units",
]
