"""``DynamoDBStore``: the ``MemoryStore`` protocol on the seed's four DynamoDB tables.

>>> store = DynamoDBStore(region="us-east-1")                 # doctest: +SKIP
>>> store.create_all_tables()                                  # once; idempotent
>>> MemoryManager("btc-agent-001", store=store)                # doctest: +SKIP

Reads by key are strongly consistent (``get_decision``, ``load_state``, ``get_pattern``,
history, checkpoints, signal claims, ``get_agent``); queries over an index (time ranges,
types, traces, patterns by confidence, pending signals, ``list_agents``) are eventually
consistent, as every DynamoDB GSI is. Decision index queries return keys; documents are then
fetched with a consistent BatchGetItem, so a page never shows a stale document.
``docs/dynamodb.md`` has the whole design.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ..aws import DEFAULT_TABLE_PREFIX, DynamoDBClientManager, TableSetupReport, Usage
from ..errors import NotFoundError, StateConflictError, ValidationError
from ..models import (
    AgentRegistration,
    AgentSignal,
    AgentState,
    DecisionOutcome,
    DecisionRecord,
    DecisionStats,
    MemoryPattern,
    Page,
    StateCheckpoint,
    utcnow,
)
from . import dynamodb_schema as schema
from ._common import (
    check_snapshot,
    decode_cursor,
    encode_cursor,
    epoch_seconds,
    processing_view,
    stats_from_rows,
    status_holders,
    store_key,
    to_micros,
)
from .dynamodb_schema import DECISIONS, PATTERNS, SIGNALS, STATE, Item, n, s

_LIVE = "attribute_not_exists(#ttl) OR #ttl > :now"


class DynamoDBStore:
    """Decisions, patterns, state and signals in DynamoDB (``pip install '...[dynamodb]'``).

    ``region``/``endpoint_url``/``boto3_session`` select the server (boto3's usual
    resolution when None; a loopback ``endpoint_url`` such as dynalite's works without
    credentials). Tables are ``table_prefix`` + the seed's names. ``clock`` is "now" for
    TTL, leases and saves; ``client_options`` go to :class:`DynamoDBClientManager`
    (``timeout``, ``retry_mode``, ``max_attempts``, ``sleep``...). A call the server does
    not answer within ``timeout`` (default 5 s) is not retried; it marks the store down, and
    until a background probe gets an answer calls raise ``StoreUnavailableError`` at once.
    """

    def __init__(
        self,
        region: str | None = None,
        endpoint_url: str | None = None,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        boto3_session: Any = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        client_manager: DynamoDBClientManager | None = None,
        **client_options: Any,
    ) -> None:
        self._io = client_manager or DynamoDBClientManager(
            region,
            endpoint_url=endpoint_url,
            table_prefix=table_prefix,
            boto3_session=boto3_session,
            **client_options,
        )
        self._clock = clock
        self._processed = _ProcessedSignals()
        names = self._io.names
        self._decisions, self._patterns = names.decisions, names.patterns
        self._state, self._signals = names.state, names.signals
        self._closed = False

    @property
    def client_manager(self) -> DynamoDBClientManager:
        return self._io

    @property
    def identity(self) -> str:
        """Where the tables are, for messages: ``dynamodb://us-east-1/agentmem_``."""
        return self._io.identity

    @property
    def journal_key(self) -> str:
        """``dynamodb-`` and 12 hex digits of the endpoint (or region) and table prefix:
        the same for these tables in every process, so a recorder's journal is replayed."""
        return store_key("dynamodb", self.identity)

    @property
    def available(self) -> bool:
        """False while the store is closed, or known to be down and being probed."""
        return not self._closed and self._io.health.available

    def create_all_tables(self, *, wait: bool = True) -> TableSetupReport:
        """Create the tables if missing (see :meth:`DynamoDBClientManager.create_all_tables`)."""
        return self._io.create_all_tables(wait=wait)

    def usage(self) -> Usage:
        """Read/write units consumed so far, by table, operation and API call."""
        return self._io.usage.snapshot()

    def reset_usage(self) -> None:
        self._io.usage.reset()

    # -- decisions ------------------------------------------------------------------------

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
                ConditionExpression=f"attribute_exists(#id) AND ({_LIVE})",
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
            index, pk = "DecisionTypeIndex", f"{agent_id}#{decision_type}"
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
                FilterExpression=_LIVE,
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
        _check_limit(limit)
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
            "FilterExpression": _LIVE,
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

    def _expired(self, item: Item) -> bool:
        ttl = item.get("ttl")
        return ttl is not None and schema.integer(ttl) <= self._now_s()

    def _now_s(self) -> int:
        return epoch_seconds(self._clock())

    def _put(self, table: str, op: str, item: Item, spec: schema.TableSpec, **extra: Any) -> Any:
        return self._io.call(
            "PutItem",
            op,
            schema.index_write_units(spec, None, item),
            TableName=table,
            Item=item,
            **extra,
        )

    # -- patterns -------------------------------------------------------------------------

    def put_pattern(self, pattern: MemoryPattern, *, expected_version: int | None) -> None:
        if expected_version is not None and pattern.version <= expected_version:
            raise StateConflictError(
                f"pattern {pattern.pattern_id}: the new version ({pattern.version}) must be "
                f"greater than {expected_version}"
            )
        if expected_version is None:
            condition, values = "attribute_not_exists(#sk)", {}
        else:
            condition, values = "#v = :v", {":v": n(expected_version)}
        response = self._put(
            self._patterns,
            "put_pattern",
            schema.pattern_latest_item(pattern),
            PATTERNS,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#sk": "sk"}
            if expected_version is None
            else {"#v": "version"},
            **({"ExpressionAttributeValues": values} if values else {}),
            ReturnValues="ALL_OLD",
        )
        # Not one transaction (dynalite has none): the conditional put above decides the
        # race; history and shares follow and are repaired by the next write or read.
        self._put(self._patterns, "put_pattern", schema.pattern_history_item(pattern), PATTERNS)
        old = response.get("Attributes")
        self._sync_grants(pattern, schema.pattern_from_item(old) if old else None)

    def _sync_grants(self, pattern: MemoryPattern, old: MemoryPattern | None) -> None:
        def grantees(p: MemoryPattern | None) -> set[str]:
            if p is None or p.status != "active":
                return set()
            return {g for g in p.shared_with if g != p.agent_id}

        current = grantees(pattern)
        items = [schema.pattern_grant_item(pattern, g) for g in sorted(current)]
        requests = [{"PutRequest": {"Item": i}} for i in items]
        requests += [
            {
                "DeleteRequest": {
                    "Key": {"agent_id": s(pattern.agent_id), "sk": s(f"G#{pattern.pattern_id}#{g}")}
                }
            }
            for g in sorted(grantees(old) - current)
        ]
        estimates = [schema.index_write_units(PATTERNS, None, i) for i in items]
        estimates += [1.0] * (len(requests) - len(items))
        if requests:
            self._io.batch_write(self._patterns, requests, "put_pattern", estimates)

    def get_pattern(self, agent_id: str, pattern_id: str) -> MemoryPattern | None:
        response = self._io.call(
            "GetItem",
            "get_pattern",
            TableName=self._patterns,
            Key=schema.pattern_latest_key(agent_id, pattern_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return schema.pattern_from_item(item) if item else None

    def list_patterns(
        self,
        agent_id: str,
        *,
        min_confidence: float = 0.0,
        include_retired: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[MemoryPattern]:
        _check_limit(limit)
        below = _decode_position(cursor, "conf") if cursor else None
        statuses = ["active", "retired"] if include_retired else ["active"]
        streams = [
            self._by_confidence(
                "list_patterns",
                "ConfidenceIndex",
                "conf_pk",
                f"{agent_id}#{st}",
                min_confidence,
                below,
                limit + 1,
            )
            for st in statuses
        ]
        merged = heapq.merge(*streams, key=lambda i: i["conf"]["S"], reverse=True)
        found = []
        for item in merged:
            pattern = schema.pattern_from_item(item)
            if pattern.confidence >= min_confidence and (
                include_retired or pattern.status == "active"
            ):
                found.append((item["conf"]["S"], pattern))
            if len(found) > limit:
                break
        next_cursor = None
        if len(found) > limit:
            found = found[:limit]
            next_cursor = encode_cursor({"conf": found[-1][0]})
        return Page(items=[p for _, p in found], next_cursor=next_cursor)

    def _by_confidence(
        self,
        op: str,
        index: str,
        pk_name: str,
        pk: str,
        minimum: float,
        below: str | None,
        page_size: int,
    ) -> Iterator[Item]:
        """Index entries of one partition, highest ``conf`` first, strictly under ``below``."""
        values: dict[str, Any] = {":pk": s(pk), ":lo": s(schema.conf_key(minimum))}
        condition = "#pk = :pk AND #conf >= :lo"
        if below is not None:
            condition = "#pk = :pk AND #conf BETWEEN :lo AND :hi"
            values[":hi"] = s(below)
        pages = self._io.query_pages(
            op,
            TableName=self._patterns,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#pk": pk_name, "#conf": "conf"},
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=min(max(page_size, 25), 1000),
        )
        for page in pages:
            yield from (i for i in page.get("Items", []) if i["conf"]["S"] != below)

    def list_shared_patterns(
        self, grantee_agent_id: str, *, limit: int = 100
    ) -> list[MemoryPattern]:
        _check_limit(limit)
        found: dict[tuple[str, str], MemoryPattern] = {}
        stream = self._by_confidence(
            "list_shared_patterns",
            "SharedPatternIndex",
            "grantee",
            grantee_agent_id,
            0.0,
            None,
            limit + 1,
        )
        for item in stream:
            p = schema.pattern_from_item(item)
            if (
                p.status == "active"
                and grantee_agent_id in p.shared_with
                and p.agent_id != grantee_agent_id
            ):
                found.setdefault((p.agent_id, p.pattern_id), p)
            if len(found) >= limit:
                break
        return list(found.values())

    def get_pattern_history(self, agent_id: str, pattern_id: str) -> list[MemoryPattern]:
        pages = self._io.query_pages(
            "get_pattern_history",
            TableName=self._patterns,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": "agent_id", "#sk": "sk"},
            ExpressionAttributeValues={":pk": s(agent_id), ":prefix": s(f"H#{pattern_id}#")},
            ConsistentRead=True,
        )
        history = [schema.pattern_from_item(i) for page in pages for i in page.get("Items", [])]
        latest = self.get_pattern(agent_id, pattern_id)
        if latest is not None and latest.version not in {p.version for p in history}:
            history.append(latest)  # the history write after a winning put did not happen
        return history

    # -- state ----------------------------------------------------------------------------

    def save_state(self, state: AgentState) -> AgentState:
        stored = state.model_copy(update={"version": state.version + 1})
        if state.version == 0:
            condition, names, values = "attribute_not_exists(#sk)", {"#sk": "sk"}, None
        else:
            condition, names = "#v = :v", {"#v": "version"}
            values = {":v": n(state.version)}
        self._put(
            self._state,
            "save_state",
            _state_item(stored, "STATE"),
            schema.STATE,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
        return stored

    def load_state(self, agent_id: str) -> AgentState | None:
        response = self._io.call(
            "GetItem",
            "load_state",
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s("STATE")},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return AgentState.model_validate_json(item["doc"]["S"]) if item else None

    def create_checkpoint(self, agent_id: str, name: str | None = None) -> StateCheckpoint:
        state = self.load_state(agent_id)
        if state is None:
            raise NotFoundError(f"agent {agent_id} has no saved state to checkpoint")
        checkpoint = StateCheckpoint(
            agent_id=agent_id, name=name, created_at=self._clock(), state=state
        )
        self._append_checkpoint("create_checkpoint", checkpoint)
        return checkpoint

    def _append_checkpoint(self, op: str, checkpoint: StateCheckpoint) -> None:
        # A counter orders checkpoints even when the clock does not move between them.
        agent_id = checkpoint.agent_id
        response = self._io.call(
            "UpdateItem",
            op,
            TableName=self._state,
            Key={"agent_id": s(agent_id), "sk": s("CPSEQ")},
            UpdateExpression="ADD #n :one",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": n(1)},
            ReturnValues="UPDATED_NEW",
        )
        seq = schema.integer(response["Attributes"]["n"])
        item = {
            "agent_id": s(agent_id),
            "sk": s(f"CP#{seq:012d}"),
            "doc": s(checkpoint.model_dump_json()),
        }
        self._put(
            self._state,
            op,
            item,
            schema.STATE,
            ConditionExpression="attribute_not_exists(#sk)",  # never over another checkpoint
            ExpressionAttributeNames={"#sk": "sk"},
        )

    def list_checkpoints(self, agent_id: str) -> list[StateCheckpoint]:
        pages = self._io.query_pages(
            "list_checkpoints",
            TableName=self._state,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :cp)",
            ExpressionAttributeNames={"#pk": "agent_id", "#sk": "sk"},
            ExpressionAttributeValues={":pk": s(agent_id), ":cp": s("CP#")},
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        return [
            StateCheckpoint.model_validate_json(i["doc"]["S"])
            for page in pages
            for i in page.get("Items", [])
        ]

    def rollback(self, agent_id: str, to: str | None = None) -> AgentState:
        checkpoints = self.list_checkpoints(agent_id)
        chosen = next(
            (c for c in checkpoints if to is None or to in (c.checkpoint_id, c.name)), None
        )
        if chosen is None:
            raise NotFoundError(f"agent {agent_id} has no checkpoint {to or ''}".rstrip())
        current = self.load_state(agent_id)
        version = current.version if current else 0
        return self.save_state(
            chosen.state.model_copy(update={"version": version, "updated_at": self._clock()})
        )

    def put_state_snapshot(self, state: AgentState) -> bool:
        check_snapshot(state)
        try:
            self._put(
                self._state,
                "put_state_snapshot",
                _state_item(state, "STATE"),
                schema.STATE,
                ConditionExpression="attribute_not_exists(#sk) OR #v < :v",
                ExpressionAttributeNames={"#sk": "sk", "#v": "version"},
                ExpressionAttributeValues={":v": n(state.version)},
            )
        except StateConflictError:
            return False  # the stored state is at this version or a newer one
        return True

    def put_checkpoint(self, checkpoint: StateCheckpoint) -> bool:
        # Checkpoint items are keyed by a counter, not by id, so the id is looked up first
        # (a consistent read); two writers of one checkpoint at the same moment could both
        # append it, which an import, run once at a time, never does.
        existing = self.list_checkpoints(checkpoint.agent_id)
        if any(c.checkpoint_id == checkpoint.checkpoint_id for c in existing):
            return False
        self._append_checkpoint("put_checkpoint", checkpoint)
        return True

    # -- signals --------------------------------------------------------------------------

    def publish_signal(self, signal: AgentSignal) -> None:
        items = [schema.signal_delivery_item(signal, t) for t in schema.signal_audience(signal)]
        estimates = [schema.index_write_units(SIGNALS, None, i) for i in items]
        requests = [{"PutRequest": {"Item": i}} for i in items]
        self._io.batch_write(self._signals, requests, "publish_signal", estimates)

    def pending_signals(self, agent_id: str, *, limit: int = 10) -> list[AgentSignal]:
        _check_limit(limit)
        return [
            schema.signal_from_item(item, agent_id, "pending")
            for item in itertools.islice(self._pending(agent_id, "pending_signals", limit), limit)
        ]

    def claim_signals(
        self, agent_id: str, *, limit: int = 10, lease_seconds: float = 30.0
    ) -> list[AgentSignal]:
        _check_limit(limit)
        claimed: list[AgentSignal] = []
        now_us = to_micros(self._clock())
        for item in self._pending(agent_id, "claim_signals", limit):
            if self._claim(agent_id, item, now_us, now_us + round(lease_seconds * 1e6)):
                claimed.append(schema.signal_from_item(item, agent_id, "claimed"))
                if len(claimed) >= limit:
                    break
        return claimed

    def _claim(self, agent_id: str, item: Item, now_us: int, until_us: int) -> bool:
        """The conditional transition: only one consumer moves a signal to claimed."""
        signal_id = _signal_id(item)
        names = {"#st": "status", "#lease": "lease"}
        values = {":claimed": s("claimed"), ":until": n(until_us), ":now": n(now_us)}
        update = "SET #st = :claimed, #lease = :until"
        if "ttl" in item:
            update += ", #ttl = :ttl"
            names["#ttl"], values[":ttl"] = "ttl", item["ttl"]
        try:
            self._io.call(
                "UpdateItem",
                "claim_signals",
                TableName=self._signals,
                Key=schema.signal_status_key(agent_id, signal_id),
                UpdateExpression=update,
                ConditionExpression=(
                    "attribute_not_exists(#st) OR (#st = :claimed AND #lease <= :now)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except StateConflictError:
            return False
        return True

    def _pending(self, agent_id: str, op: str, limit: int) -> Iterator[Item]:
        """Deliveries for ``agent_id`` in delivery order that it has not processed and that
        no live claim holds (per-consumer status items are read consistently)."""
        now_us = to_micros(self._clock())
        streams = [
            self._deliveries(op, agent_id, None, now_us, limit),
            self._deliveries(op, schema.BROADCAST, agent_id, now_us, limit),
        ]
        merged = heapq.merge(*streams, key=lambda i: i["order"]["S"])
        unique = _unique_signals(merged)
        while chunk := list(itertools.islice(unique, max(limit, 25))):
            # "processed" is final, so deliveries this store saw processed need no status read.
            pairs = [(i, _signal_id(i)) for i in chunk]
            pairs = [(i, sid) for i, sid in pairs if not self._processed.seen(agent_id, sid)]
            ids = list(dict.fromkeys(sid for _, sid in pairs))
            keys = [schema.signal_status_key(agent_id, sid) for sid in ids]
            found = self._io.batch_get(self._signals, keys, op) if keys else []
            statuses = {i["sk"]["S"][2:]: i for i in found}
            for signal_id, held in statuses.items():
                if schema.text(held, "status") == "processed":
                    self._processed.add(agent_id, signal_id)
            for item, signal_id in pairs:
                status = statuses.get(signal_id)
                if status is None or _lease_over(status, now_us):
                    yield item

    def _deliveries(
        self, op: str, target: str, exclude_source: str | None, now_us: int, limit: int
    ) -> Iterator[Item]:
        names = {"#t": "target_pk", "#exp": "expires"}
        values: dict[str, Any] = {":t": s(target), ":now": n(now_us)}
        live = "(attribute_not_exists(#exp) OR #exp > :now)"
        if exclude_source is not None:
            live += " AND #src <> :me"
            names["#src"], values[":me"] = "source", s(exclude_source)
        pages = self._io.query_pages(
            op,
            TableName=self._signals,
            IndexName="TargetAgentIndex",
            KeyConditionExpression="#t = :t",
            FilterExpression=live,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            Limit=min(max(limit * 2, 25), 1000),
        )
        for page in pages:
            yield from page.get("Items", [])

    def mark_signal_processed(self, agent_id: str, signal_id: str) -> bool:
        try:
            self._io.call(
                "UpdateItem",
                "mark_signal_processed",
                TableName=self._signals,
                Key=schema.signal_status_key(agent_id, signal_id),
                UpdateExpression="SET #st = :done REMOVE #lease",
                ConditionExpression="attribute_not_exists(#st) OR #st <> :done",
                ExpressionAttributeNames={"#st": "status", "#lease": "lease"},
                ExpressionAttributeValues={":done": s("processed")},
            )
        except StateConflictError:
            self._processed.add(agent_id, signal_id)
            return False
        self._processed.add(agent_id, signal_id)
        return True

    def release_signal(self, agent_id: str, signal_id: str) -> None:
        try:
            self._io.call(
                "DeleteItem",
                "release_signal",
                TableName=self._signals,
                Key=schema.signal_status_key(agent_id, signal_id),
                ConditionExpression="#st = :claimed",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":claimed": s("claimed")},
            )
        except StateConflictError:
            return  # not claimed (or already processed): nothing to give up

    def iter_published_signals(
        self, agent_id: str, *, consumers: Sequence[str] = ()
    ) -> Iterator[AgentSignal]:
        # The publisher's delivery items, in sort-key (= signal id) order, one per audience
        # member; each signal's statuses are then read from the holders' own partitions.
        now_us = to_micros(self._clock())
        pages = self._io.query_pages(
            "iter_published_signals",
            TableName=self._signals,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :deliveries)",
            FilterExpression="attribute_not_exists(#exp) OR #exp > :now",
            ExpressionAttributeNames={"#pk": "agent_id", "#sk": "sk", "#exp": "expires"},
            ExpressionAttributeValues={
                ":pk": s(agent_id),
                ":deliveries": s("S#"),
                ":now": n(now_us),
            },
            ConsistentRead=True,
        )
        unique = _unique_signals(item for page in pages for item in page.get("Items", []))
        while chunk := list(itertools.islice(unique, 25)):
            signals = [AgentSignal.model_validate_json(item["doc"]["S"]) for item in chunk]
            statuses = self._stored_statuses(signals, consumers, now_us)
            for signal in signals:
                stored = statuses.get(signal.signal_id, {})
                signal.processing = processing_view(signal, stored, consumers)
                yield signal

    def _stored_statuses(
        self, signals: list[AgentSignal], consumers: Sequence[str], now_us: int
    ) -> dict[str, dict[str, str]]:
        """signal id -> agent -> status from the holders' ``C#`` items (consistent reads)."""
        pairs = {(a, sig.signal_id) for sig in signals for a in status_holders(sig, consumers)}
        keys = [schema.signal_status_key(a, sid) for a, sid in sorted(pairs)]
        found: dict[str, dict[str, str]] = {}
        for item in self._io.batch_get(self._signals, keys, "iter_published_signals"):
            status = "pending" if _lease_over(item, now_us) else schema.text(item, "status")
            found.setdefault(item["sk"]["S"][2:], {})[item["agent_id"]["S"]] = status or "pending"
        return found

    # -- agent registry -------------------------------------------------------------------
    #
    # A registration is the item (agent_id, "REGISTRATION") of the agent's own state
    # partition, so the agent's least-privilege credentials register, heartbeat and
    # deregister it, and cannot write anyone else's. Every registration also carries
    # ``registry_pk = "#agents"``: AgentRegistryIndex (projected whole, sorted by agent id)
    # lists them with one paginated Query, the only read of the registry that crosses agents.

    def register_agent(self, registration: AgentRegistration) -> None:
        item = schema.registration_item(registration)
        self._io.call(
            "PutItem",
            "register_agent",
            lambda r: schema.index_write_units(STATE, r.get("Attributes"), item),
            TableName=self._state,
            Item=item,
            ReturnValues="ALL_OLD",
        )

    def heartbeat(self, agent_id: str, at: datetime) -> bool:
        beat = n(to_micros(at))

        def estimate(response: dict[str, Any]) -> float:
            old = response.get("Attributes", {})
            return schema.index_write_units(STATE, old, {**old, "last_heartbeat": beat})

        try:
            self._io.call(
                "UpdateItem",
                "heartbeat",
                estimate,
                TableName=self._state,
                Key=schema.registration_key(agent_id),
                UpdateExpression="SET #hb = :hb",
                ConditionExpression="attribute_exists(#reg)",
                ExpressionAttributeNames={"#hb": "last_heartbeat", "#reg": "registry_pk"},
                ExpressionAttributeValues={":hb": beat},
                ReturnValues="ALL_OLD",
            )
        except StateConflictError:
            return False  # not registered: the condition keeps the update from creating it
        return True

    def get_agent(self, agent_id: str) -> AgentRegistration | None:
        response = self._io.call(
            "GetItem",
            "get_agent",
            TableName=self._state,
            Key=schema.registration_key(agent_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return schema.registration_from_item(item) if item else None

    def list_agents(
        self, *, seen_since: datetime | None = None, capability: str | None = None
    ) -> list[AgentRegistration]:
        names = {"#pk": "registry_pk"}
        values: dict[str, Any] = {":pk": s(schema.REGISTRY)}
        filters = []
        if seen_since is not None:
            filters.append("#hb >= :since")
            names["#hb"], values[":since"] = "last_heartbeat", n(to_micros(seen_since))
        if capability is not None:
            filters.append("contains(#caps, :cap)")
            names["#caps"], values[":cap"] = "capabilities", s(capability)
        params: dict[str, Any] = {
            "TableName": self._state,
            "IndexName": "AgentRegistryIndex",
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": True,
        }
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        since_us = to_micros(seen_since) if seen_since is not None else None
        found: list[AgentRegistration] = []
        for page in self._io.query_pages("list_agents", **params):
            for item in page.get("Items", []):
                registration = schema.registration_from_item(item)
                if registration is None:
                    continue  # an item of the agent's partition that is not its registration
                if since_us is not None and to_micros(registration.last_heartbeat) < since_us:
                    continue
                if capability is not None and capability not in registration.capabilities:
                    continue
                found.append(registration)
        return found

    def deregister_agent(self, agent_id: str) -> bool:
        response = self._io.call(
            "DeleteItem",
            "deregister_agent",
            lambda r: schema.index_write_units(STATE, r.get("Attributes"), None),
            TableName=self._state,
            Key=schema.registration_key(agent_id),
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))

    # -- housekeeping ---------------------------------------------------------------------

    def purge_expired(self) -> int:
        """The one Scan: housekeeping across all agents. On AWS, TTL deletes expired items
        by itself and this is optional; reads never return expired items either way.
        Counts decisions and signals (a signal is counted once however many targets)."""
        now = self._clock()
        decisions = self._scan(
            self._decisions, "#ttl <= :s", {"#ttl": "ttl"}, {":s": n(epoch_seconds(now))}
        )
        signals = self._scan(
            self._signals,
            "#exp <= :us OR (begins_with(#sk, :c) AND #ttl <= :s)",
            {"#exp": "expires", "#sk": "sk", "#ttl": "ttl"},
            {":us": n(to_micros(now)), ":s": n(epoch_seconds(now)), ":c": s("C#")},
        )
        for table, spec, items in (
            (self._decisions, DECISIONS, decisions),
            (self._signals, SIGNALS, signals),
        ):
            requests = [{"DeleteRequest": {"Key": _key_of(i, spec)}} for i in items]
            estimates = [schema.index_write_units(spec, i, None) for i in items]
            self._io.batch_write(table, requests, "purge_expired", estimates)
        expired_signals = {_signal_id(i) for i in signals if "doc" in i}
        return len(decisions) + len(expired_signals)

    def _scan(
        self, table: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> list[Item]:
        params: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        found: list[Item] = []
        while True:
            page = self._io.call("Scan", "purge_expired", **params)
            found.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._io.close()


# -- module helpers -------------------------------------------------------------------------


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValidationError(
            f"limit: must be at least 1 (got {limit})", field="limit", value=limit
        )


class _ProcessedSignals:
    """(agent, signal id) pairs this store has seen processed: the newest ``limit``.

    Without it every claim would re-read the status of each processed delivery still in the
    agent's TargetAgentIndex partition (until the signals expire), a cost growing with the
    agent's history. Processed is a final status, so a remembered pair is never stale.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._pairs: OrderedDict[tuple[str, str], None] = OrderedDict()

    def seen(self, agent_id: str, signal_id: str) -> bool:
        return (agent_id, signal_id) in self._pairs

    def add(self, agent_id: str, signal_id: str) -> None:
        with self._lock:
            self._pairs[(agent_id, signal_id)] = None
            while len(self._pairs) > self._limit:
                self._pairs.popitem(last=False)


def _unique_signals(items: Iterable[Item]) -> Iterator[Item]:
    # A broadcast that also names targets is delivered to a target twice; show it once.
    seen: set[str] = set()
    for item in items:
        signal_id = _signal_id(item)
        if signal_id not in seen:
            seen.add(signal_id)
            yield item


def _signal_id(item: Item) -> str:
    return str(json.loads(item["doc"]["S"])["signal_id"])


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


def _lease_over(status: Item, now_us: int) -> bool:
    return (
        schema.text(status, "status") == "claimed" and schema.integer(status.get("lease")) <= now_us
    )


def _key_of(item: Item, spec: schema.TableSpec) -> Item:
    return {spec.partition_key: item[spec.partition_key], spec.sort_key: item[spec.sort_key]}


def _state_item(state: AgentState, sk: str) -> Item:
    return {
        "agent_id": s(state.agent_id),
        "sk": s(sk),
        "doc": s(state.model_dump_json()),
        "version": n(state.version),
    }


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


def _decode_position(cursor: str, name: str) -> str:
    position = decode_cursor(cursor)
    if not isinstance(position, dict) or not isinstance(position.get(name), str):
        raise ValidationError(f"cursor: {cursor!r} belongs to another query", field="cursor")
    return str(position[name])


__all__ = ["DynamoDBStore"]
