"""Consumed capacity: per-call counters (:class:`UsageMeter`) and their snapshots."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .schema import TableNames

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
"""The read APIs: their units are read units and cost no index writes."""


@dataclass(frozen=True)
class UsageLine:
    """Capacity one kind of call consumed: ``table`` (unprefixed), store ``operation``, API."""

    table: str
    operation: str
    api: str
    calls: int
    read_units: float
    write_units: float
    estimated_index_write_units: float

    @property
    def billed_write_units(self) -> float:
        """Write units as DynamoDB bills them: reported units plus index writes the server
        did not report (local servers report only the base table)."""
        return self.write_units + self.estimated_index_write_units


@dataclass(frozen=True)
class Usage:
    """A snapshot of consumed capacity, by table, store operation and API call."""

    lines: tuple[UsageLine, ...]

    @property
    def read_units(self) -> float:
        return sum(line.read_units for line in self.lines)

    @property
    def write_units(self) -> float:
        return sum(line.billed_write_units for line in self.lines)

    def by_table(self) -> dict[str, dict[str, float]]:
        """``{table: {"read_units": r, "write_units": w}}`` (write units as billed)."""
        out: dict[str, dict[str, float]] = {}
        for line in self.lines:
            entry = out.setdefault(line.table, {"read_units": 0.0, "write_units": 0.0})
            entry["read_units"] += line.read_units
            entry["write_units"] += line.billed_write_units
        return out

    def as_dict(self) -> list[dict[str, Any]]:
        return [
            {**line.__dict__, "billed_write_units": line.billed_write_units} for line in self.lines
        ]


class UsageMeter:
    """Thread-safe counters of consumed read/write units."""

    def __init__(self, names: TableNames) -> None:
        self._names = names
        self._lock = threading.Lock()
        self._lines: dict[tuple[str, str, str], list[float]] = {}

    def record(self, operation: str, api: str, response: dict[str, Any], estimate: float) -> None:
        consumed = response.get("ConsumedCapacity") or []
        if isinstance(consumed, dict):
            consumed = [consumed]
        reported_index = any(c.get("GlobalSecondaryIndexes") for c in consumed)
        for entry in consumed or [{"TableName": "?", "CapacityUnits": 0.0}]:
            spec = self._names.spec_of(entry.get("TableName", ""))
            table = spec.name if spec else entry.get("TableName", "?")
            units = float(entry.get("CapacityUnits", 0.0))
            extra = 0.0 if reported_index or api in READS else estimate
            estimate = 0.0  # one response may list several tables; count the estimate once
            self._add((table, operation, api), units, api in READS, extra)

    def _add(self, key: tuple[str, str, str], units: float, read: bool, extra: float) -> None:
        with self._lock:
            line = self._lines.setdefault(key, [0, 0.0, 0.0, 0.0])
            line[0] += 1
            line[1 if read else 2] += units
            line[3] += extra

    def snapshot(self) -> Usage:
        with self._lock:
            items = sorted(self._lines.items())
        return Usage(tuple(UsageLine(*key, int(v[0]), v[1], v[2], v[3]) for key, v in items))

    def reset(self) -> None:
        with self._lock:
            self._lines.clear()


__all__ = ["READS", "Usage", "UsageLine", "UsageMeter"]
