"""Patterns: versioned puts, shares, confidence-ordered listings and history."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from ...errors import StateConflictError, ValidationError
from ...models import MemoryPattern, Page
from .._common import decode_cursor, encode_cursor
from ..rules import check_limit, check_pattern_version, pattern_version_conflict
from . import schema
from ._core import StoreCore
from .schema import PATTERNS, Item, n, s


class PatternsMixin(StoreCore):
    """The pattern methods of ``DynamoDBStore`` (table ``agent_memory_ltm``)."""

    def put_pattern(self, pattern: MemoryPattern, *, expected_version: int | None) -> None:
        check_pattern_version(pattern, expected_version)
        if expected_version is None:
            condition, values = "attribute_not_exists(#sk)", {}
        else:
            condition, values = "#v = :v", {":v": n(expected_version)}
        try:
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
        except StateConflictError as exc:
            # The condition failed: read what is stored now, for the message every backend gives.
            stored = self.get_pattern(pattern.agent_id, pattern.pattern_id)
            version = None if stored is None else stored.version
            raise pattern_version_conflict(pattern, version, expected_version) from (
                exc.__cause__ or exc
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
        check_limit(limit)
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
        check_limit(limit)
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


def _decode_position(cursor: str, name: str) -> str:
    position = decode_cursor(cursor)
    if not isinstance(position, dict) or not isinstance(position.get(name), str):
        raise ValidationError(f"cursor: {cursor!r} belongs to another query", field="cursor")
    return str(position[name])
