"""Signals: publishing, pending deliveries, claims with leases, processed status."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ...errors import StateConflictError
from ...models import AgentSignal
from .._common import processing_view, status_holders, to_micros
from ..rules import check_limit
from . import schema
from ._core import StoreCore
from .schema import SIGNALS, Item, n, s


class SignalsMixin(StoreCore):
    """The signal methods of ``DynamoDBStore`` (table ``agent_signals``)."""

    _processed: ProcessedSignals

    def publish_signal(self, signal: AgentSignal) -> None:
        items = [schema.signal_delivery_item(signal, t) for t in schema.signal_audience(signal)]
        estimates = [schema.index_write_units(SIGNALS, None, i) for i in items]
        requests = [{"PutRequest": {"Item": i}} for i in items]
        self._io.batch_write(self._signals, requests, "publish_signal", estimates)

    def pending_signals(self, agent_id: str, *, limit: int = 10) -> list[AgentSignal]:
        check_limit(limit)
        return [
            schema.signal_from_item(item, agent_id, "pending")
            for item in itertools.islice(self._pending(agent_id, "pending_signals", limit), limit)
        ]

    def claim_signals(
        self, agent_id: str, *, limit: int = 10, lease_seconds: float = 30.0
    ) -> list[AgentSignal]:
        check_limit(limit)
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
        signal_id = signal_id_of(item)
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
            pairs = [(i, signal_id_of(i)) for i in chunk]
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


class ProcessedSignals:
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
        signal_id = signal_id_of(item)
        if signal_id not in seen:
            seen.add(signal_id)
            yield item


def signal_id_of(item: Item) -> str:
    """The id of the signal a delivery item carries."""
    return str(json.loads(item["doc"]["S"])["signal_id"])


def _lease_over(status: Item, now_us: int) -> bool:
    return (
        schema.text(status, "status") == "claimed" and schema.integer(status.get("lease")) <= now_us
    )
