"""The DynamoDB connection: client, retries, timeouts, error translation and capacity usage.

>>> manager = get_client_manager(region="us-east-1")          # doctest: +SKIP
>>> manager.create_all_tables()                                # doctest: +SKIP

Every request asks for ``ReturnConsumedCapacity="INDEXES"`` and is counted in
:attr:`DynamoDBClientManager.usage`; every botocore error is translated in one place,
:func:`translated`. A request the server did not answer is not retried, and marks the
store down in :attr:`DynamoDBClientManager.health` (see :mod:`..health`). The counters are in
:mod:`.usage` (re-exported here). This module imports boto3, so import it only when
DynamoDB is used (``pip install 'agentmem-langchain[dynamodb]'``).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from ... import config
from ...errors import ConfigurationError, StateConflictError, StoreUnavailableError, ValidationError
from ..health import StoreHealth
from .schema import (
    Item,
    TableNames,
    TableSetupReport,
    TableSpec,
    create_all_tables,
    delete_all_tables,
)
from .usage import READS, Usage, UsageLine, UsageMeter

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        NoRegionError,
        ReadTimeoutError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "DynamoDB support needs boto3: pip install 'agentmem-langchain[dynamodb]'"
    ) from exc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DEFAULT_TABLE_PREFIX = config.DEFAULT_TABLE_PREFIX
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_METERED = READS | {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
_BATCH_WRITE_MAX = 25
_BATCH_GET_MAX = 100
DEFAULT_TIMEOUT = 5.0
# The server did not answer: connection refused, unreachable or timed out (ConnectionError
# covers connect timeouts, DNS, proxy and TLS failures), a read timed out, or the connection
# was dropped before a response.
_NO_ANSWER = (BotoConnectionError, ReadTimeoutError, ConnectionClosedError)
logger = logging.getLogger(__name__)


@contextmanager
def translated(
    operation: str, on_no_answer: Callable[[BaseException], None] | None = None
) -> Iterator[None]:
    """Map botocore errors to the library's: a failed condition is a ``StateConflictError``,
    an over-large item a ``ValidationError``, anything else ``StoreUnavailableError``.
    ``on_no_answer`` is told of an error meaning the server did not answer at all."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code == "ConditionalCheckFailedException":
            raise StateConflictError(
                f"{operation}: the stored item changed (another writer was first)"
            ) from exc
        if code == "ValidationException" and "size" in message.lower():
            raise ValidationError(f"{operation}: {message}", field=operation) from exc
        if code == "ResourceNotFoundException":
            raise StoreUnavailableError(
                f"{operation}: {message} (create the tables: agentmem init --store dynamodb)"
            ) from exc
        raise StoreUnavailableError(f"{operation}: DynamoDB {code}: {message}") from exc
    except BotoCoreError as exc:  # connection refused, timeouts, missing credentials, ...
        if on_no_answer is not None and isinstance(exc, _NO_ANSWER):
            on_no_answer(exc)
        raise StoreUnavailableError(f"{operation}: {exc}") from exc


def _no_retry_without_answer(caught_exception: Exception | None = None, **_: Any) -> None:
    """A ``needs-retry`` handler, registered before botocore's own: re-raises an error that
    means the server did not answer, so botocore neither retries it nor sleeps first.

    Retrying a timeout makes the caller wait the whole timeout again, and a refused
    connection is refused again; the store's health probe finds out when the server is back.
    (Returning False would stop the retry too, but botocore's handler would still run and
    take retry quota for a retry that never happens.)
    """
    if isinstance(caught_exception, _NO_ANSWER):
        raise caught_exception


# -- the manager ------------------------------------------------------------------------------


class DynamoDBClientManager:
    """One boto3 client with retries and timeouts configured, plus the table names.

    ``timeout`` (seconds) bounds one call against a server that does not answer: it is the
    connect and the read timeout (``connect_timeout``/``read_timeout`` override either), and
    a call the server did not answer is not retried. Such a call marks the store down in
    :attr:`health`: later calls raise ``StoreUnavailableError`` at once until a background
    probe (``DescribeTable`` of the decisions table, timeout at most 1 s, backoff
    ``probe_backoff``) gets an answer. ``retry_mode`` is botocore's ("standard" or
    "adaptive"): it retries throttling and transient server errors ``max_attempts`` times in
    total. ``BatchWriteItem``/``BatchGetItem`` leftovers (``UnprocessedItems``/
    ``UnprocessedKeys``) are retried here, with exponential backoff and jitter,
    ``batch_attempts`` times before ``StoreUnavailableError``.
    """

    def __init__(
        self,
        region: str | None = None,
        *,
        endpoint_url: str | None = None,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        boto3_session: Any = None,
        retry_mode: Literal["standard", "adaptive"] = "standard",
        max_attempts: int = 3,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        probe_backoff: tuple[float, float] = (0.25, 5.0),
        batch_attempts: int = 8,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        read_client: Any = None,
    ) -> None:
        self.names = TableNames(table_prefix)
        #: Reads (GetItem, BatchGetItem, Query, Scan) go here when given: a DAX client
        #: (``amazondax.AmazonDaxClient``) or any client with boto3's DynamoDB methods.
        self.read_client = read_client
        #: Reads the read client failed (each then read from DynamoDB).
        self.read_client_failures = 0
        self.endpoint_url = endpoint_url
        self.usage = UsageMeter(self.names)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._batch_attempts = batch_attempts
        self._backoff = (backoff_base, backoff_cap)
        config = Config(
            # botocore's "max_attempts" counts retries only; "total_max_attempts" counts the
            # first request too, which is what ``max_attempts`` here promises.
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            connect_timeout=timeout if connect_timeout is None else connect_timeout,
            read_timeout=timeout if read_timeout is None else read_timeout,
        )
        short = min(timeout, 1.0)
        probe_config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=short,
            read_timeout=short,
        )
        session = boto3_session or _default_session(region, endpoint_url)
        try:
            self.client: DynamoDBClient = session.client(
                "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
            )
            # Made now, not when the store goes down: a boto3 session is not thread-safe.
            self._probe_client: DynamoDBClient = session.client(
                "dynamodb", region_name=region, endpoint_url=endpoint_url, config=probe_config
            )
        except NoRegionError as exc:
            raise ConfigurationError(
                "DynamoDB needs a region: pass region=... or set AWS_REGION"
            ) from exc
        self.client.meta.events.register_first(
            "needs-retry.dynamodb",
            _no_retry_without_answer,
            unique_id="agentmem-no-retry-without-answer",
        )
        self.region: str = self.client.meta.region_name
        self.identity = _identity(endpoint_url, self.region, table_prefix)
        self.health = StoreHealth(
            self.identity,
            self._probe,
            backoff_initial=probe_backoff[0],
            backoff_max=probe_backoff[1],
        )

    # -- calls --------------------------------------------------------------------------------

    def call(
        self,
        api: str,
        operation: str,
        estimate: float | Callable[[dict[str, Any]], float] = 0.0,
        **params: Any,
    ) -> dict[str, Any]:
        """Run one DynamoDB API call (``api`` as in "PutItem"), metered and translated.

        ``estimate`` is the index write units the call costs if the server does not report
        them (a number, or a function of the response, e.g. of its old attributes).
        """
        if api in _METERED:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")
        response: dict[str, Any] | None = None
        if api in READS and self.read_client is not None:
            response = self._read_through_cache(api, operation, params)
        if response is None:
            with self._guarded(operation):
                response = getattr(self.client, _snake(api))(**params)
        units = estimate(response) if callable(estimate) else estimate
        self.usage.record(operation, api, response, units)
        return response

    def _read_through_cache(
        self, api: str, operation: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The read from :attr:`read_client`, or None when it failed in any way (DAX's own
        errors included): the read then goes to DynamoDB, which answers or fails as usual."""
        try:
            response: dict[str, Any] = getattr(self.read_client, _snake(api))(**params)
        except Exception as exc:
            self.read_client_failures += 1
            if self.read_client_failures in (1, 10, 100) or self.read_client_failures % 1000 == 0:
                logger.warning(
                    "%s: the read client failed (%s: %s); read from DynamoDB instead "
                    "(%d failure(s) so far)",
                    operation,
                    type(exc).__name__,
                    exc,
                    self.read_client_failures,
                )
            return None
        return response

    def query_pages(self, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of a Query (``LastEvaluatedKey`` followed)."""
        while True:
            page = self.call("Query", operation, **params)
            yield page
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def batch_write(
        self,
        table: str,
        requests: Sequence[Item],
        operation: str,
        estimates: Sequence[float] | None = None,
    ) -> None:
        """BatchWriteItem in chunks of 25; unprocessed requests retried with backoff."""
        for start in range(0, len(requests), _BATCH_WRITE_MAX):
            chunk = list(requests[start : start + _BATCH_WRITE_MAX])
            estimate = sum((estimates or [])[start : start + _BATCH_WRITE_MAX])
            for attempt in range(self._batch_attempts):
                if attempt:
                    self._pause(attempt - 1)  # between attempts, never after the last one
                response = self.call(
                    "BatchWriteItem", operation, estimate, RequestItems={table: chunk}
                )
                estimate = 0.0
                chunk = list(response.get("UnprocessedItems", {}).get(table, []))
                if not chunk:
                    break
            else:
                raise StoreUnavailableError(
                    f"{operation}: {len(chunk)} writes still unprocessed after "
                    f"{self._batch_attempts} attempts (throttled)"
                )

    def batch_get(
        self, table: str, keys: Sequence[Item], operation: str, *, consistent: bool = True
    ) -> list[Item]:
        """BatchGetItem in chunks of 100 (unordered); unprocessed keys retried with backoff."""
        found: list[Item] = []
        for start in range(0, len(keys), _BATCH_GET_MAX):
            request: dict[str, Any] = {
                "Keys": list(keys[start : start + _BATCH_GET_MAX]),
                "ConsistentRead": consistent,
            }
            for attempt in range(self._batch_attempts):
                if attempt:
                    self._pause(attempt - 1)  # between attempts, never after the last one
                response = self.call("BatchGetItem", operation, RequestItems={table: request})
                found.extend(response.get("Responses", {}).get(table, []))
                left = response.get("UnprocessedKeys", {}).get(table)
                if not left or not left.get("Keys"):
                    break
                request = left
            else:
                raise StoreUnavailableError(
                    f"{operation}: keys still unprocessed after {self._batch_attempts} attempts"
                )
        return found

    @contextmanager
    def _guarded(self, operation: str) -> Iterator[None]:
        """Refuse at once while the store is known to be down; translate errors, and mark
        the store down when the server did not answer."""
        self.health.check(operation)
        with translated(operation, self.health.mark_down):
            yield

    def _probe(self) -> bool:
        """True once DynamoDB answers a DescribeTable (a missing table is an answer too)."""
        try:
            self._probe_client.describe_table(TableName=self.names.decisions)
        except ClientError:
            return True
        except BotoCoreError:
            return False
        return True

    def _pause(self, attempt: int) -> None:
        # Exponential backoff with "equal jitter": between half and all of base * 2^attempt.
        base, cap = self._backoff
        ceiling = min(cap, base * 2**attempt)
        self._sleep(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    # -- tables -------------------------------------------------------------------------------

    def create_all_tables(self, *, wait: bool = True, timeout: float = 300.0) -> TableSetupReport:
        """Create the four tables (idempotent), wait until ACTIVE, enable TTL where supported."""
        with self._guarded("create_all_tables"):
            return create_all_tables(
                self.client, self.names, wait=wait, timeout=timeout, sleep=self._sleep
            )

    def delete_all_tables(self) -> list[str]:
        """Delete the four tables of this prefix (for tests and teardown); returns the names."""
        with self._guarded("delete_all_tables"):
            return delete_all_tables(self.client, self.names)

    def spec_table(self, spec: TableSpec) -> str:
        return self.names.physical(spec)

    def close(self) -> None:
        """Stop the health probe and close both clients' connections."""
        self.health.close()
        self.client.close()
        self._probe_client.close()


def _identity(endpoint_url: str | None, region: str, table_prefix: str) -> str:
    """``dynamodb://REGION/PREFIX``, or ``dynamodb+ENDPOINT/PREFIX`` for an endpoint URL."""
    if endpoint_url:
        return f"dynamodb+{endpoint_url.rstrip('/')}/{table_prefix}"
    return f"dynamodb://{region}/{table_prefix}"


def _snake(api: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in api).lstrip("_")


def _default_session(region: str | None, endpoint_url: str | None) -> Any:
    """boto3's usual session. For a loopback endpoint (moto server, dynalite, DynamoDB Local)
    with no credentials in the environment or ~/.aws, dummy ones are used: a local server
    accepts any signature and boto3 refuses to send an unsigned request. (The check reads
    only the environment and config files, never the instance metadata service.)"""
    session = boto3.Session(region_name=region)
    if not endpoint_url or (urlparse(endpoint_url).hostname or "") not in _LOOPBACK:
        return session
    fallback_region = region or session.region_name or "us-east-1"
    if os.environ.get("AWS_ACCESS_KEY_ID") or session.available_profiles:
        return boto3.Session(region_name=fallback_region)
    return boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=fallback_region
    )


def get_client_manager(
    region: str | None = None,
    *,
    endpoint_url: str | None = None,
    table_prefix: str = DEFAULT_TABLE_PREFIX,
    boto3_session: Any = None,
    **options: Any,
) -> DynamoDBClientManager:
    """The usual entry point: a client manager whose ``create_all_tables()`` sets up DynamoDB.

    >>> get_client_manager(region="us-east-1").create_all_tables()   # doctest: +SKIP
    """
    return DynamoDBClientManager(
        region,
        endpoint_url=endpoint_url,
        table_prefix=table_prefix,
        boto3_session=boto3_session,
        **options,
    )


__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "DEFAULT_TIMEOUT",
    "DynamoDBClientManager",
    "TableSetupReport",
    "Usage",
    "UsageLine",
    "UsageMeter",
    "get_client_manager",
    "translated",
]
