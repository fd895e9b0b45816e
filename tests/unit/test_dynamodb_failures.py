"""How the DynamoDB backend behaves when the server pushes back or is not there.

Faults are injected below the store, in botocore's own event hooks on the store's client
(never by mocking the store): a server that leaves part of a batch unprocessed, a server
that throttles, two writers racing on one state item, and a server that is down or hangs.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
import types
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from agentmem_langchain.errors import StateConflictError, StoreUnavailableError
from agentmem_langchain.models import AgentState, DecisionRecord
from agentmem_langchain.stores.dynamodb import DynamoDBStore
from agentmem_langchain.testing import FakeClock
from tests.dynalite import shared_server

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "agent-a"

_counter = itertools.count()
_session: list[Any] = []


def _prefix() -> str:
    return f"tf{os.getpid()}x{next(_counter)}_"


def _local_session() -> Any:
    if not _session:
        _session.append(
            boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
            )
        )
    return _session[0]


@pytest.fixture
def make_store() -> Iterator[Callable[..., DynamoDBStore]]:
    """DynamoDBStores on moto (in process) with fresh tables; options go to the manager."""
    from moto import mock_aws

    made: list[DynamoDBStore] = []

    def make(**client_options: Any) -> DynamoDBStore:
        store = DynamoDBStore(
            region="us-east-1",
            table_prefix=_prefix(),
            boto3_session=_local_session(),
            clock=FakeClock(T0),
            **client_options,
        )
        store.create_all_tables()
        made.append(store)
        return store

    with mock_aws():
        yield make
        for store in made:
            store.close()


@pytest.fixture
def make_dynalite_store() -> Iterator[Callable[..., DynamoDBStore]]:
    """DynamoDBStores on dynalite: requests really go over HTTP, so a response injected in
    ``before-send`` replaces the server's (moto would still apply the request)."""
    made: list[DynamoDBStore] = []

    def make(**client_options: Any) -> DynamoDBStore:
        store = DynamoDBStore(
            endpoint_url=shared_server().endpoint_url,
            table_prefix=_prefix(),
            boto3_session=_local_session(),
            clock=FakeClock(T0),
            **client_options,
        )
        store.create_all_tables()
        made.append(store)
        return store

    yield make
    for store in made:
        store.client_manager.delete_all_tables()
        store.close()


@pytest.fixture
def botocore_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry backoff, recorded instead of slept (only botocore's endpoint module
    sees the substitute; ``time.sleep`` elsewhere is untouched)."""
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=slept.append))
    return slept


def _decisions(count: int) -> list[DecisionRecord]:
    return [
        DecisionRecord(
            agent_id=AGENT, decision_type="tool_call", timestamp=T0 - timedelta(seconds=i + 1)
        )
        for i in range(count)
    ]


def _stored_ids(store: DynamoDBStore, records: list[DecisionRecord]) -> set[str]:
    """Ids of ``records`` that a consistent GetItem finds (not the batch path under test)."""
    return {r.decision_id for r in records if store.get_decision(AGENT, r.decision_id)}


# -- (a) UnprocessedItems / UnprocessedKeys -----------------------------------------------------


class PartialBatches:
    """A server that takes at most ``per_call`` requests of each batch and hands the rest
    back as ``UnprocessedItems`` (or ``UnprocessedKeys``), as DynamoDB does when throttled.

    The withheld requests are really not sent (removed in ``before-parameter-build``), so
    only a retry can write or read them; ``after-call`` reports them back.
    """

    def __init__(self, store: DynamoDBStore, api: str, per_call: int) -> None:
        self.per_call = per_call
        self.api = api
        self.sent: list[int] = []  # requests sent per call
        events = store.client_manager.client.meta.events
        events.register(f"before-parameter-build.dynamodb.{api}", self._withhold)
        events.register(f"after-call.dynamodb.{api}", self._report)

    def _withhold(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        ((table, batch),) = params["RequestItems"].items()
        if self.api == "BatchWriteItem":
            kept, withheld = batch[: self.per_call], batch[self.per_call :]
            params["RequestItems"] = {table: kept}
            left: Any = {table: withheld} if withheld else {}
        else:
            keys = batch["Keys"]
            kept, withheld = keys[: self.per_call], keys[self.per_call :]
            params["RequestItems"] = {table: {**batch, "Keys": kept}}
            left = {table: {**batch, "Keys": withheld}} if withheld else {}
        self.sent.append(len(kept))
        context["withheld"] = left

    def _report(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        key = "UnprocessedItems" if self.api == "BatchWriteItem" else "UnprocessedKeys"
        parsed[key] = context.get("withheld", {})


def _ceilings(base: float, cap: float, count: int) -> list[float]:
    return [min(cap, base * 2**attempt) for attempt in range(count)]


def test_unprocessed_items_are_retried_until_written(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    slept: list[float] = []
    store = make_store(sleep=slept.append, rng=random.Random(1))
    server = PartialBatches(store, "BatchWriteItem", per_call=7)
    records = _decisions(30)  # two chunks: 25 and 5

    store.put_decisions(records)

    assert server.sent == [7, 7, 7, 4, 5]  # the first chunk needed three retries
    assert _stored_ids(store, records) == {r.decision_id for r in records}
    assert len(slept) == 3  # one pause before each retry, none otherwise


def test_unprocessed_item_backoff_grows_and_stays_under_the_cap(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    slept: list[float] = []
    base, cap = 0.05, 0.3
    store = make_store(
        sleep=slept.append,
        rng=random.Random(2),
        batch_attempts=10,
        backoff_base=base,
        backoff_cap=cap,
    )
    PartialBatches(store, "BatchWriteItem", per_call=3)
    records = _decisions(25)

    store.put_decisions(records)  # 9 calls: 8 x 3 + 1

    assert _stored_ids(store, records) == {r.decision_id for r in records}
    assert len(slept) == 8
    for delay, ceiling in zip(slept, _ceilings(base, cap, len(slept)), strict=True):
        assert ceiling / 2 <= delay <= ceiling  # "equal jitter" under an exponential ceiling
    assert max(slept) <= cap
    assert sum(slept) <= 8 * cap


def test_unprocessed_items_past_the_attempt_bound_raise_store_unavailable(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    slept: list[float] = []
    store = make_store(sleep=slept.append, batch_attempts=4, backoff_base=0.05, backoff_cap=2.0)
    server = PartialBatches(store, "BatchWriteItem", per_call=1)
    records = _decisions(25)

    with pytest.raises(
        StoreUnavailableError, match=r"21 writes still unprocessed after 4 attempts"
    ):
        store.put_decisions(records)

    assert server.sent == [1, 1, 1, 1]  # exactly batch_attempts calls, then it gives up
    assert len(slept) == 3  # no pointless pause after the last attempt
    assert sum(slept) <= sum(_ceilings(0.05, 2.0, 3))
    assert len(_stored_ids(store, records)) == 4  # what was written stays written


def test_unprocessed_keys_are_retried_until_every_document_is_read(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    slept: list[float] = []
    store = make_store(sleep=slept.append)
    records = _decisions(12)
    store.put_decisions(records)
    server = PartialBatches(store, "BatchGetItem", per_call=5)

    page = store.query_decisions(AGENT, limit=50)

    assert sorted(r.decision_id for r in page.items) == sorted(r.decision_id for r in records)
    assert server.sent == [5, 5, 2]
    assert len(slept) == 2


def test_unprocessed_keys_past_the_attempt_bound_raise_store_unavailable(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    slept: list[float] = []
    store = make_store(sleep=slept.append, batch_attempts=3)
    store.put_decisions(_decisions(10))
    server = PartialBatches(store, "BatchGetItem", per_call=1)

    with pytest.raises(StoreUnavailableError, match=r"keys still unprocessed after 3 attempts"):
        store.query_decisions(AGENT, limit=50)

    assert server.sent == [1, 1, 1]
    assert len(slept) == 2


# -- (b) throttling -----------------------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Throttle:
    """A server that answers the first ``times`` sends of ``api`` with a throttling error
    (every send when ``times`` is None), in ``before-send``: the request never leaves."""

    def __init__(self, store: DynamoDBStore, api: str, code: str, times: int | None) -> None:
        self.code, self.times = code, times
        self.sends = 0
        self.throttled = 0
        store.client_manager.client.meta.events.register_first(
            f"before-send.dynamodb.{api}", self._answer
        )

    def _answer(self, request: Any, **_: Any) -> AWSResponse | None:
        self.sends += 1
        if self.times is not None and self.throttled >= self.times:
            return None
        self.throttled += 1
        body = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}", "message": "slow down"}
        ).encode()
        return AWSResponse(request.url, 400, {"x-amzn-requestid": "throttled"}, _Body(body))


THROTTLE_CODES = ["ProvisionedThroughputExceededException", "ThrottlingException"]


@pytest.mark.parametrize("code", THROTTLE_CODES)
def test_throttled_requests_are_retried_by_botocore_until_they_succeed(
    make_dynalite_store: Callable[..., DynamoDBStore], botocore_sleeps: list[float], code: str
) -> None:
    store = make_dynalite_store(max_attempts=3)
    throttle = Throttle(store, "PutItem", code, times=2)

    saved = store.save_state(AgentState(agent_id=AGENT, updated_at=T0))

    assert throttle.sends == 3
    assert len(botocore_sleeps) == 2  # botocore backed off before each retry
    loaded = store.load_state(AGENT)
    assert loaded is not None
    assert loaded.version == saved.version == 1


@pytest.mark.parametrize("code", THROTTLE_CODES)
def test_persistent_throttling_gives_up_after_max_attempts_in_total(
    make_dynalite_store: Callable[..., DynamoDBStore], botocore_sleeps: list[float], code: str
) -> None:
    store = make_dynalite_store(max_attempts=2)
    throttle = Throttle(store, "PutItem", code, times=None)

    with pytest.raises(StoreUnavailableError, match=code) as raised:
        store.save_state(AgentState(agent_id=AGENT, updated_at=T0))

    assert throttle.sends == 2  # max_attempts counts the first request
    assert isinstance(raised.value.__cause__, ClientError)
    assert store.load_state(AGENT) is None


# -- (c) conditional writes -------------------------------------------------------------------


def test_a_stale_state_save_raises_state_conflict(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    store = make_store()
    first = store.save_state(AgentState(agent_id=AGENT, updated_at=T0))
    mine = first.model_copy(update={"config": {"writer": "mine"}})
    theirs = first.model_copy(update={"config": {"writer": "theirs"}})

    store.save_state(theirs)
    with pytest.raises(StateConflictError) as raised:
        store.save_state(mine)

    cause = raised.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "ConditionalCheckFailedException"
    stored = store.load_state(AGENT)
    assert stored is not None
    assert (stored.version, stored.config) == (2, {"writer": "theirs"})


def test_two_first_saves_of_one_agent_conflict(
    make_store: Callable[..., DynamoDBStore],
) -> None:
    store = make_store()
    store.save_state(AgentState(agent_id=AGENT, status="first", updated_at=T0))

    with pytest.raises(StateConflictError):
        store.save_state(AgentState(agent_id=AGENT, status="second", updated_at=T0))

    stored = store.load_state(AGENT)
    assert stored is not None
    assert (stored.version, stored.status) == (1, "first")


# -- (d) a server that is down or hangs -------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there now


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _unreachable_store(port: int) -> DynamoDBStore:
    return DynamoDBStore(
        endpoint_url=f"http://127.0.0.1:{port}",
        table_prefix=_prefix(),
        boto3_session=_local_session(),
        clock=FakeClock(T0),
        max_attempts=2,
        connect_timeout=0.5,
        read_timeout=0.5,
    )


def _count_sends(store: DynamoDBStore) -> list[str]:
    sends: list[str] = []
    store.client_manager.client.meta.events.register(
        "before-send.dynamodb", lambda request, **_: sends.append(request.url)
    )
    return sends


OPERATIONS: dict[str, Callable[[DynamoDBStore], object]] = {
    "load_state": lambda store: store.load_state(AGENT),
    "put_decision": lambda store: store.put_decision(_decisions(1)[0]),
    "put_decisions": lambda store: store.put_decisions(_decisions(3)),
    "create_all_tables": lambda store: store.create_all_tables(),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_server_that_is_down_gives_store_unavailable_quickly(
    botocore_sleeps: list[float], operation: str
) -> None:
    store = _unreachable_store(_closed_port())
    sends = _count_sends(store)

    with pytest.raises(StoreUnavailableError, match="Could not connect"):
        OPERATIONS[operation](store)

    assert len(sends) == 1  # no retry when the server did not answer (max_attempts=2)
    assert botocore_sleeps == []
    store.close()


@pytest.mark.timeout(30)
def test_a_server_that_never_answers_times_out_as_store_unavailable(
    silent_server: int, botocore_sleeps: list[float]
) -> None:
    store = _unreachable_store(silent_server)
    sends = _count_sends(store)

    with pytest.raises(StoreUnavailableError, match="timeout"):
        store.load_state(AGENT)

    assert len(sends) == 1  # a retry would make the caller wait the timeout again
    assert botocore_sleeps == []
    store.close()
