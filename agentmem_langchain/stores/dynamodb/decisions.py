"""Decisions: writes, outcomes, index queries (time, type, success, STM, trace, parent)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ...errors import NotFoundError, StateConflictError, ValidationError
from ...models import DecisionOutcome, DecisionRecord, DecisionStats, Page, enum_value
from .._common import decode_cursor, encode_cursor, stats_from_rows
from ..rules import check_limit
from . import schema
from ._core import LIVE, StoreCore
from .schema import DECISIONS, Item, n, s


class DecisionsMixin(StoreCore):
    """The decision methods of ``DynamoDBStore`` (table ``agent_decisions``)."""

    def put_decision(self, record: DecisionRecord) -> None:
        item = schema.decision_item(record)
        self._put(self._decisions, "put_decision", item, DECISIONS)

    def put_decisions(self, records: Sequence[DecisionRecord]) -> None:
        # One batch may not name a key twice; the last version of a record wins.
        latest = {r.decision_id: r for r in records}
        items = [schema.decision_item(r) for r in latest.values()]
        estimates = [schema.index_write_units(DECISIONS, None, i) for i in items]
        requests = [{"PutRequest": {"Item": i}} for i in items]
        self._io.batch_write(self._decisions, requests, "put_decisions", estimates)

    def get_decision(self, agent_id: str, decision_id: str) -> DecisionRecord | None:
        response = self._io.call(
            "GetItem",
            "get_decision",
            TableName=self._decisions,
            Key=schema.decision_key(agent_id, decision_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None or self._expired(item):
            return None
        return schema.decision_from_item(item)

    def set_outcome(
        self, agent_id: str, decision_id: str, outcome: DecisionOutcome
    ) -> DecisionRecord:
        attrs = schema.outcome_attributes(agent_id, outcome)
        names = {f"#a{i}": k for i, k in enumerate(attrs)}
        values = {f":a{i}": v for i, v in enumerate(attrs.values())}
        update = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs)))
        if outcome.latency_ms is None:
            update += " REMOVE #lat"
            names["#lat"] = "latency_ms"
        old: dict[str, Item] = {}

        def estimate(response: dict[str, Any]) -> float:
            old.update(response.get("Attributes", {}))
            return schema.index_write_units(DECISIONS, old, _merged(old, attrs, outcome))

        try:
            self._io.call(
                "UpdateItem",
                "set_outcome",
                estimate,
                TableName=self._decisions,
                Key=schema.decision_key(agent_id, decision_id),
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(#id) AND ({LIVE})",
                ExpressionAttributeNames={**names, "#id": "decision_id", "#ttl": "ttl"},
                ExpressionAttributeValues={**values, ":now": n(self._now_s())},
                ReturnValues="ALL_OLD",
            )
        except StateConflictError:
            raise NotFoundError(f"decision {decision_id} of agent {agent_id} not found") from None
        return schema.decision_from_item(_merged(old, attrs, outcome))

    def query_decisions(
        self,
        agent_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        decision_type: str | None = None,
        success: bool | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        if success is not None:
            status = "success" if success else "failure"
            index, pk = "SuccessIndex", f"{agent_id}#{status}"
        elif decision_type is not None:
            index, pk = "DecisionTypeIndex", f"{agent_id}#{enum_value(decision_type)}"
        else:
            index, pk = "TimeIndex", agent_id

        def keep(item: Item) -> bool:
            # SuccessIndex projects decision_type, so both filters cost one query.
            if success is None or decision_type is None:
                return True
            return schema.text(item, "decision_type") == decision_type

        def accept(r: DecisionRecord) -> bool:
            return (
                (decision_type is None or r.decision_type == decision_type)
                and (success is None or (r.outcome is not None and r.outcome.success is success))
                and _within(r.timestamp, start, end)
            )

        keys, next_cursor = self._index_page(
            "query_decisions", DECISIONS, index, pk, (start, end), False, limit, cursor, keep
        )
        return Page(items=self._fetch(agent_id, keys, accept), next_cursor=next_cursor)

    def list_unconsolidated(
        self,
        agent_id: str,
        *,
        before: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> Page[DecisionRecord]:
        def accept(r: DecisionRecord) -> bool:
            return r.is_stm and not r.consolidated and _within(r.timestamp, None, before)

        keys, next_cursor = self._index_page(
            "list_unconsolidated",
            DECISIONS,
            "STMIndex",
            agent_id,
            (None, before),
            True,
            limit,
            cursor,
            None,
        )
        return Page(items=self._fetch(agent_id, keys, accept), next_cursor=next_cursor)

    def mark_consolidated(self, agent_id: str, decision_ids: Sequence[str]) -> None:
        for decision_id in dict.fromkeys(decision_ids):
            try:
                self._io.call(
                    "UpdateItem",
                    "mark_consolidated",
                    lambda r: 1.0 if "stm_pk" in r.get("Attributes", {}) else 0.0,
                    TableName=self._decisions,
                    Key=schema.decision_key(agent_id, decision_id),
                    UpdateExpression="SET #c = :true REMOVE #stm",
                    ConditionExpression="attribute_exists(#id)",
                    ExpressionAttributeNames={
                        "#c": "consolidated",
                        "#stm": "stm_pk",
                        "#id": "decision_id",
                    },
                    ExpressionAttributeValues={":true": {"BOOL": True}},
                    ReturnValues="ALL_OLD",
                )
            except StateConflictError:
                continue  # unknown ids are ignored, as a retried call must be harmless

    def get_children(self, agent_id: str, decision_id: str) -> list[DecisionRecord]:
        keys = self._index_all("get_children", "ParentIndex", f"{agent_id}#{decision_id}")
        return self._fetch(agent_id, keys, lambda r: r.parent_decision_id == decision_id)

    def get_trace(self, agent_id: str, trace_id: str) -> list[DecisionRecord]:
        keys = self._index_all("get_trace", "TraceIndex", f"{agent_id}#{trace_id}")
        return self._fetch(agent_id, keys, lambda r: r.trace_id == trace_id)

    def decision_stats(self, agent_id: str, *, start: datetime, end: datetime) -> DecisionStats:
        rows = []
        if start < end:
            pages = self._io.query_pages(
                "decision_stats",
                TableName=self._decisions,
                IndexName="TimeIndex",
                KeyConditionExpression="#pk = :pk AND #ts BETWEEN :lo AND :hi",
                FilterExpression=LIVE,
                ProjectionExpression="#dt, #st, #cf, #lat",
                ExpressionAttributeNames={
                    "#pk": "agent_id",
                    "#ts": "ts",
                    "#ttl": "ttl",
                    "#dt": "decision_type",
                    "#st": "status",
                    "#cf": "confidence",
                    "#lat": "latency_ms",
                },
                ExpressionAttributeValues={
                    ":pk": s(agent_id),
                    ":now": n(self._now_s()),
                    ":lo": s(schema.time_key(start)),
                    ":hi": s(schema.time_key(end)),
                },
            )
            rows = [_stat_row(item) for page in pages for item in page.get("Items", [])]
        return stats_from_rows(agent_id, start, end, rows)

    # -- decision helpers -----------------------------------------------------------------

    def _index_page(
        self,
        op: str,
        table: schema.TableSpec,
        index_name: str,
        pk: str,
        window: tuple[datetime | None, datetime | None],
        forward: bool,
        limit: int,
        cursor: str | None,
        keep: Callable[[Item], bool] | None,
    ) -> tuple[list[Item], str | None]:
        """Up to ``limit`` live index entries (newest or oldest first) and the next cursor."""
        check_limit(limit)
        index = table.index(index_name)
        params = self._range_query(index, pk, *window, forward)
        if cursor is not None:
            params["ExclusiveStartKey"] = _start_key(cursor, index, table, pk)
        found: list[Item] = []
        while len(found) <= limit:
            params["Limit"] = min(1000, max(limit + 1 - len(found), 25))
            page = self._io.call("Query", op, **params)
            found.extend(i for i in page.get("Items", []) if keep is None or keep(i))
            if not page.get("LastEvaluatedKey"):
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if len(found) <= limit:
            return found, None
        return found[:limit], _cursor_of(found[limit - 1], index, table)

    def _range_query(
        self,
        index: schema.IndexSpec,
        pk: str,
        start: datetime | None,
        end: datetime | None,
        forward: bool,
    ) -> dict[str, Any]:
        names = {"#pk": index.partition_key, "#ttl": "ttl"}
        values: dict[str, Any] = {":pk": s(pk), ":now": n(self._now_s())}
        condition = "#pk = :pk"
        if start is not None:
            values[":lo"] = s(schema.time_key(start))
        if end is not None:
            values[":hi"] = s(schema.time_key(end))
        if start is not None and end is not None:
            condition += " AND #ts BETWEEN :lo AND :hi"
        elif start is not None:
            condition += " AND #ts >= :lo"
        elif end is not None:
            condition += " AND #ts < :hi"
        if start is not None or end is not None:
            names["#ts"] = index.sort_key  # DynamoDB refuses names an expression does not use
        return {
            "TableName": self._decisions,
            "IndexName": index.name,
            "KeyConditionExpression": condition,
            "FilterExpression": LIVE,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }

    def _index_all(self, op: str, index_name: str, pk: str) -> list[Item]:
        params = self._range_query(DECISIONS.index(index_name), pk, None, None, True)
        return [i for page in self._io.query_pages(op, **params) for i in page.get("Items", [])]

    def _fetch(
        self, agent_id: str, entries: list[Item], accept: Callable[[DecisionRecord], bool]
    ) -> list[DecisionRecord]:
        """Documents for index entries, in the entries' order, re-checked against the filter
        (an index may lag its table for a moment)."""
        if not entries:
            return []
        keys = [schema.decision_key(agent_id, e["decision_id"]["S"]) for e in entries]
        items = self._io.batch_get(self._decisions, keys, "fetch_decisions")
        by_id = {i["decision_id"]["S"]: i for i in items if not self._expired(i)}
        records = (by_id.get(e["decision_id"]["S"]) for e in entries)
        out = [schema.decision_from_item(i) for i in records if i is not None]
        return [r for r in out if accept(r)]


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment < end)


def _merged(old: Item, attrs: Item, outcome: DecisionOutcome) -> Item:
    new = {**old, **attrs}
    if outcome.latency_ms is None:
        new.pop("latency_ms", None)
    return new


def _stat_row(item: Item) -> tuple[str, bool | None, float | None, float | None]:
    status = schema.text(item, "status")
    success = True if status == "success" else False if status == "failure" else None
    return (
        schema.text(item, "decision_type") or "",
        success,
        schema.num(item.get("confidence")),
        schema.num(item.get("latency_ms")),
    )


def _cursor_of(item: Item, index: schema.IndexSpec, table: schema.TableSpec) -> str:
    names = dict.fromkeys(
        [index.partition_key, index.sort_key, table.partition_key, table.sort_key]
    )
    return encode_cursor({"i": index.name, "k": {k: item[k]["S"] for k in names}})


def _start_key(cursor: str, index: schema.IndexSpec, table: schema.TableSpec, pk: str) -> Item:
    position = decode_cursor(cursor)
    keys = position.get("k") if isinstance(position, dict) else None
    expected = {index.partition_key, index.sort_key, table.partition_key, table.sort_key}
    if (
        position.get("i") != index.name
        or not isinstance(keys, dict)
        or set(keys) != expected
        or keys.get(index.partition_key) != pk
    ):
        raise ValidationError(f"cursor: {cursor!r} belongs to another query", field="cursor")
    return {k: s(str(v)) for k, v in keys.items()}
