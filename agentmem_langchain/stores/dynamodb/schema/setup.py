"""Creating and deleting the four tables: the only schema code that talks to a server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ....errors import ConfigurationError
from .tables import TABLES, TableNames, TableSpec


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


__all__ = ["TableSetupReport", "create_all_tables", "delete_all_tables"]
