"""The DynamoDB tables, their keys and how a domain object becomes an item and back.

Four tables, each partitioned by ``agent_id``; ``docs/dynamodb.md`` explains
every access pattern. An item keeps the model's JSON in one string attribute ``doc`` (so
nested maps, empty strings and floats round-trip exactly) next to the scalar key and index
attributes. GSI keys must be scalar strings or numbers, so booleans and lists never appear in
a key: success becomes a sparse ``status_pk``, short-term memory a sparse ``stm_pk`` and
sharing one item per (pattern, grantee). The agent registry is one item per agent in its own
state partition, listed through the sparse AgentRegistryIndex (partition ``#agents``).

* :mod:`.values` - attribute values, sortable keys, item sizes;
* :mod:`.tables` - table and index definitions, physical names, estimated index writes;
* :mod:`.setup` - ``create_all_tables``/``delete_all_tables`` (the only server calls here;
  :mod:`..client` owns the client and translates its errors);
* :mod:`.decisions` - decision items and truncation;
* :mod:`.items` - pattern, signal and registration items.
"""

from __future__ import annotations

from .decisions import (
    MAX_ITEM_BYTES,
    OUTCOME_BUDGET_BYTES,
    TRUNCATED_KEY,
    decision_from_item,
    decision_item,
    decision_key,
    outcome_attributes,
)
from .items import (
    BROADCAST,
    REGISTRATION_SK,
    REGISTRY,
    order_key,
    pattern_doc,
    pattern_from_item,
    pattern_grant_item,
    pattern_history_item,
    pattern_latest_item,
    pattern_latest_key,
    registration_from_item,
    registration_item,
    registration_key,
    signal_audience,
    signal_delivery_item,
    signal_from_item,
    signal_status_key,
)
from .setup import TableSetupReport, create_all_tables, delete_all_tables
from .tables import (
    DECISIONS,
    PATTERNS,
    SIGNALS,
    STATE,
    TABLES,
    IndexSpec,
    TableNames,
    TableSpec,
    index_write_units,
)
from .values import (
    Item,
    conf_key,
    from_micros,
    integer,
    item_size,
    n,
    num,
    s,
    text,
    time_key,
)

__all__ = [
    "BROADCAST",
    "DECISIONS",
    "MAX_ITEM_BYTES",
    "OUTCOME_BUDGET_BYTES",
    "PATTERNS",
    "REGISTRATION_SK",
    "REGISTRY",
    "SIGNALS",
    "STATE",
    "TABLES",
    "TRUNCATED_KEY",
    "IndexSpec",
    "Item",
    "TableNames",
    "TableSetupReport",
    "TableSpec",
    "conf_key",
    "create_all_tables",
    "decision_from_item",
    "decision_item",
    "decision_key",
    "delete_all_tables",
    "from_micros",
    "index_write_units",
    "integer",
    "item_size",
    "n",
    "num",
    "order_key",
    "outcome_attributes",
    "pattern_doc",
    "pattern_from_item",
    "pattern_grant_item",
    "pattern_history_item",
    "pattern_latest_item",
    "pattern_latest_key",
    "registration_from_item",
    "registration_item",
    "registration_key",
    "s",
    "signal_audience",
    "signal_delivery_item",
    "signal_from_item",
    "signal_status_key",
    "text",
    "time_key",
]
