"""``DynamoDBStore``: the ``MemoryStore`` protocol on four DynamoDB tables.

>>> store = DynamoDBStore(region="us-east-1")                 # doctest: +SKIP
>>> store.create_all_tables()                                  # once; idempotent
>>> MemoryManager("btc-agent-001", store=store)                # doctest: +SKIP

Reads by key are strongly consistent (``get_decision``, ``load_state``, ``get_pattern``,
history, checkpoints, signal claims, ``get_agent``); queries over an index (time ranges,
types, traces, patterns by confidence, pending signals, ``list_agents``) are eventually
consistent, as every DynamoDB GSI is. Decision index queries return keys; documents are then
fetched with a consistent BatchGetItem, so a page never shows a stale document.
``docs/dynamodb.md`` has the whole design. The methods live in one mixin per access
pattern (:mod:`.decisions`, :mod:`.patterns`, :mod:`.state`, :mod:`.signals`,
:mod:`.registry`); this class holds the client, the clock and housekeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...models import utcnow
from .._common import epoch_seconds, store_key, to_micros
from . import schema
from .client import DEFAULT_TABLE_PREFIX, DynamoDBClientManager, TableSetupReport, Usage
from .decisions import DecisionsMixin
from .evidence import EvidenceMixin
from .namespaces import NamespacesMixin
from .patterns import PatternsMixin
from .registry import RegistryMixin
from .schema import DECISIONS, SIGNALS, Item, n, s
from .signals import ProcessedSignals, SignalsMixin, signal_id_of
from .state import StateMixin
from .threads import ThreadsMixin


class DynamoDBStore(
    DecisionsMixin,
    PatternsMixin,
    StateMixin,
    SignalsMixin,
    RegistryMixin,
    EvidenceMixin,
    ThreadsMixin,
    NamespacesMixin,
):
    """Decisions, patterns, state and signals in DynamoDB (``pip install '...[dynamodb]'``).

    ``region``/``endpoint_url``/``boto3_session`` select the server (boto3's usual
    resolution when None; a loopback ``endpoint_url`` such as dynalite's works without
    credentials). Tables are ``table_prefix`` + the four tables' names. ``clock`` is "now" for
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
        self._processed = ProcessedSignals()
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
        expired_signals = {signal_id_of(i) for i in signals if "doc" in i}
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


def _key_of(item: Item, spec: schema.TableSpec) -> Item:
    return {spec.partition_key: item[spec.partition_key], spec.sort_key: item[spec.sort_key]}


__all__ = ["DynamoDBStore"]
