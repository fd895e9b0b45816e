"""The DynamoDB backends of the contract suite: moto in process and dynalite on loopback.

Every store gets tables of its own (a unique ``table_prefix``), so no two tests, and no two
hypothesis examples, see each other's data. ``backends.py`` registers the two factories;
the ``dynalite_endpoint`` fixture is here for tests that want the server directly.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

try:
    from tests.dynalite import shared_server
except ImportError:  # the repository root is not on sys.path (pytest's default import mode)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.dynalite import shared_server

_counter = itertools.count()
_lock = threading.Lock()
_sessions: dict[str, Any] = {}


def _prefix() -> str:
    return f"c{os.getpid()}x{next(_counter)}_"


def _local_session() -> Any:
    """One boto3 session for every dynalite store: clients share its loaded API models."""
    import boto3

    with _lock:
        if "local" not in _sessions:
            _sessions["local"] = boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
            )
        return _sessions["local"]


def _moto_session() -> Any:
    """One boto3 session for every moto store, made after moto is imported: moto hooks into
    botocore when imported, and a session made before that (the dynalite one, when a dynalite
    test ran first) would send its requests to AWS itself."""
    import boto3
    import moto  # noqa: F401

    with _lock:
        if "moto" not in _sessions:
            _sessions["moto"] = boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
            )
        return _sessions["moto"]


def moto_store(tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest) -> MemoryStore:
    """A DynamoDBStore on moto's in-process DynamoDB (``mock_aws``), fresh tables."""
    from moto import mock_aws

    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    mock = mock_aws()
    mock.start()
    request.addfinalizer(mock.stop)
    store = DynamoDBStore(
        region="us-east-1", table_prefix=_prefix(), boto3_session=_moto_session(), clock=clock
    )
    _serialize_requests(store)
    store.create_all_tables()
    return store


_moto_lock = threading.RLock()


def _serialize_requests(store: Any) -> None:
    """Make moto apply one request at a time, as a DynamoDB server does.

    moto's in-process backend has no locks: two threads' conditional updates can both pass
    their checks before either writes, which no real server allows (dynalite and DynamoDB
    apply each request atomically; the dynalite run of the race tests proves the store
    relies on exactly that). Serializing whole requests restores that server property.
    """
    manager = store.client_manager
    call = manager.call

    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _moto_lock:
            return call(*args, **kwargs)

    manager.call = one_at_a_time


def dynalite_store(tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest) -> MemoryStore:
    """A DynamoDBStore on a dynalite server (started once per test run), fresh tables that
    are deleted when the test ends."""
    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    endpoint = shared_server().endpoint_url
    store = DynamoDBStore(
        endpoint_url=endpoint,
        table_prefix=_prefix(),
        boto3_session=_local_session(),
        clock=clock,
    )
    store.create_all_tables()
    request.addfinalizer(_dropper(endpoint, store.client_manager.names.prefix))
    return store


def _dropper(endpoint: str, prefix: str) -> Callable[[], None]:
    def drop() -> None:
        from agentmem_langchain.stores.dynamodb.schema import TableNames, delete_all_tables

        session = _local_session()  # takes _lock itself
        with _lock:
            if "cleaner" not in _sessions:
                _sessions["cleaner"] = session.client("dynamodb", endpoint_url=endpoint)
            client = _sessions["cleaner"]
        delete_all_tables(client, TableNames(prefix))

    return drop


@pytest.fixture(scope="session")
def dynalite_endpoint() -> str:
    """The URL of the test run's dynalite server."""
    return shared_server().endpoint_url
