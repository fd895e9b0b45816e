"""Many consumers of one agent's signals at once: every signal is acknowledged exactly once.

A producer thread publishes ``SIGNALS`` signals to one agent while four threads and four
spawned processes consume that agent's signals, each through a store and a coordinator of
its own, on SQLite (one file) and on dynalite (one set of tables). Every consumer records
what it claimed and what it acknowledged; together they must have acknowledged every signal
(none lost), none twice (exactly once), and, since the lease (30 s) outlives the test's every
claim-to-ack gap and nobody nacks, claimed every signal exactly once (no second claim while
a lease held).

A last test has a consumer process claim and die without acknowledging: once the lease has
run out on an injected clock, another consumer gets the same signals and acknowledges them
once.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.coordination import MultiAgentCoordinator
from agentmem_langchain.enums import ProcessingStatus
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.testing import FakeClock

AGENT = "consumer-agent"
PRODUCER = "producer-agent"
SIGNALS = 2000
THREADS = 4
PROCESSES = 4
LEASE = timedelta(seconds=30)
QUIET_S = 1.0  # a consumer stops after finding nothing this long once the producer is done
CONSUMER_DEADLINE_S = 240.0  # a consumer gives up after this long, whatever happens
START_TIMEOUT_S = 90.0  # every consumer has its store open within this (spawn imports a lot)

# Signals asked for per claim, and the pause after a claim that got fewer: the first value,
# doubled after each claim that got none, up to the second. A DynamoDBStore claim re-reads the
# agent's whole delivery history, processed signals included (see benchmarks/signals_bench.py),
# so on dynalite consumers claim more at a time, less often: with SQLite's settings (10 a claim,
# 20 ms pauses) 2,000 signals took 140 s there, the producer starved by consumers' reads; with
# these, 40-60 s.
CLAIM_LIMIT = {"sqlite": 10, "dynalite": 100}
POLL_PAUSE_S = {"sqlite": (0.02, 0.02), "dynalite": (1.0, 2.0)}

_spawn = multiprocessing.get_context("spawn")


# -- stores ---------------------------------------------------------------------------------


def open_store(kind: str, location: str, prefix: str, clock: Any = None) -> MemoryStore:
    """A store of its own on the shared file (``sqlite``) or tables (``dynalite``)."""
    options = {} if clock is None else {"clock": clock}
    if kind == "sqlite":
        from agentmem_langchain.stores.sqlite import SQLiteStore

        return SQLiteStore(location, **options)
    import boto3

    from agentmem_langchain.stores.dynamodb import DynamoDBStore

    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return DynamoDBStore(
        endpoint_url=location, table_prefix=prefix, boto3_session=session, **options
    )


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.timeout(120)),
        pytest.param("dynalite", marks=pytest.mark.timeout(300)),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(kind, location, table prefix): an SQLite file in tmp_path, or fresh tables with a
    unique prefix on the test run's dynalite server (dropped afterwards)."""
    if request.param == "sqlite":
        path = tmp_path / "signals.db"
        open_store("sqlite", str(path), "").close()  # create the schema before anyone races
        yield "sqlite", str(path), ""
        return
    from agentmem_langchain.stores.dynamodb.schema import TableNames, delete_all_tables
    from tests.dynalite import shared_server

    endpoint = shared_server().endpoint_url
    prefix = f"sig{os.getpid()}x{uuid.uuid4().hex[:8]}_"
    store = open_store("dynalite", endpoint, prefix)
    store.create_all_tables()  # type: ignore[attr-defined]
    try:
        yield "dynalite", endpoint, prefix
    finally:
        delete_all_tables(store.client_manager.client, TableNames(prefix))  # type: ignore[attr-defined]
        store.close()


# -- one consumer (a thread, or the whole of a spawned process) -----------------------------


def consume(
    kind: str,
    location: str,
    prefix: str,
    name: str,
    limit: int,
    ready: Any,
    producer_done: Any,
    out_path: str,
) -> None:
    """Claim and ack ``AGENT``'s signals until the producer is done and nothing has been
    pending for ``QUIET_S``; write what happened to ``out_path`` (JSON)."""
    claims: list[tuple[str, float]] = []  # (signal id, wall time just before the claim call)
    acked: list[tuple[str, float]] = []  # ack returned True: (signal id, wall time after)
    refused: list[str] = []  # ack returned False
    not_claimed_status: list[str] = []  # claimed signals not reported as claimed
    error = None
    store = None
    try:
        store = open_store(kind, location, prefix)
        coordinator = MultiAgentCoordinator(store)
        ready.wait(timeout=START_TIMEOUT_S)
        stop_at = time.monotonic() + CONSUMER_DEADLINE_S
        idle_since: float | None = None
        first_pause, max_pause = POLL_PAUSE_S[kind]
        pause = first_pause
        while time.monotonic() < stop_at:
            before = time.time()
            batch = coordinator.consume_signals(AGENT, limit=limit, lease=LEASE)
            if batch:
                idle_since, pause = None, first_pause
                for signal in batch:
                    claims.append((signal.signal_id, before))
                    if signal.processing.get(AGENT) != ProcessingStatus.CLAIMED:
                        not_claimed_status.append(signal.signal_id)
                    if coordinator.ack(AGENT, signal.signal_id):
                        acked.append((signal.signal_id, time.time()))
                    else:
                        refused.append(signal.signal_id)
                if len(batch) < limit:
                    time.sleep(pause)
                continue
            if producer_done.is_set():
                idle_since = idle_since if idle_since is not None else time.monotonic()
                if time.monotonic() - idle_since >= QUIET_S:
                    break
            time.sleep(pause)
            pause = min(max_pause, pause * 2)
        else:
            error = (
                f"{name}: still consuming after {CONSUMER_DEADLINE_S} s ({len(acked)} acked, "
                f"producer {'done' if producer_done.is_set() else 'still publishing'})"
            )
    except BaseException:  # reported to the test, which fails on it
        error = f"{name}: {traceback.format_exc()}"
    finally:
        if store is not None:
            store.close()
        report = {
            "name": name,
            "claims": claims,
            "acked": acked,
            "refused": refused,
            "not_claimed_status": not_claimed_status,
            "error": error,
        }
        partial = out_path + ".partial"
        Path(partial).write_text(json.dumps(report))
        os.replace(partial, out_path)  # a report is either whole or absent


def produce(
    kind: str, location: str, prefix: str, ready: Any, done: Any, published: dict[str, Any]
) -> None:
    """Wait for every consumer, then publish ``SIGNALS`` signals one by one."""
    store = None
    try:
        store = open_store(kind, location, prefix)
        coordinator = MultiAgentCoordinator(store)
        ready.wait(timeout=START_TIMEOUT_S)
        published["started"] = time.time()
        for i in range(SIGNALS):
            signal = coordinator.publish_signal(
                PRODUCER, "market_signal", {"seq": i}, targets=[AGENT], ttl=timedelta(hours=1)
            )
            published["ids"].append(signal.signal_id)
        published["ended"] = time.time()
    except BaseException:
        published["error"] = traceback.format_exc()
    finally:
        done.set()
        if store is not None:
            store.close()


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.slow
def test_threads_and_processes_ack_every_signal_exactly_once(
    backend: tuple[str, str, str], tmp_path: Path
) -> None:
    kind, location, prefix = backend
    limit = CLAIM_LIMIT[kind]
    ready = _spawn.Barrier(THREADS + PROCESSES + 1)  # consumers and the producer
    producer_done = _spawn.Event()
    published: dict[str, Any] = {"ids": []}
    names = [f"thread-{i}" for i in range(THREADS)] + [f"process-{i}" for i in range(PROCESSES)]
    outputs = {name: tmp_path / f"{name}.json" for name in names}

    def args(name: str) -> tuple[Any, ...]:
        return (kind, location, prefix, name, limit, ready, producer_done, str(outputs[name]))

    processes = [_spawn.Process(target=consume, args=args(n), daemon=True) for n in names[THREADS:]]
    threads = [threading.Thread(target=consume, args=args(n), daemon=True) for n in names[:THREADS]]
    producer = threading.Thread(
        target=produce,
        args=(kind, location, prefix, ready, producer_done, published),
        daemon=True,
    )
    started = time.monotonic()
    try:
        for worker in [*processes, *threads, producer]:
            worker.start()
        producer.join(START_TIMEOUT_S + CONSUMER_DEADLINE_S)
        for thread in threads:
            thread.join(CONSUMER_DEADLINE_S + 30)
        for process in processes:
            process.join(CONSUMER_DEADLINE_S + 30)
    finally:
        producer_done.set()
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(10)
    elapsed = time.monotonic() - started

    assert "error" not in published, published.get("error")
    assert not producer.is_alive() and not any(t.is_alive() for t in threads)
    assert [p.exitcode for p in processes] == [0] * PROCESSES
    reports = [json.loads(outputs[name].read_text()) for name in names]
    errors = [r["error"] for r in reports if r["error"]]
    assert not errors, "\n".join(errors)

    published_ids = published["ids"]
    assert len(set(published_ids)) == len(published_ids) == SIGNALS
    acked = [(sid, at) for r in reports for sid, at in r["acked"]]
    claims = [(sid, at) for r in reports for sid, at in r["claims"]]
    acked_ids = Counter(sid for sid, _ in acked)
    claimed_ids = Counter(sid for sid, _ in claims)

    lost = set(published_ids) - set(acked_ids)
    assert not lost, f"{len(lost)} signals never acknowledged, e.g. {sorted(lost)[:5]}"
    assert set(acked_ids) == set(published_ids)
    twice = {sid: n for sid, n in acked_ids.items() if n > 1}
    assert not twice, f"{len(twice)} signals acknowledged more than once: {list(twice)[:5]}"
    reclaimed = {sid: n for sid, n in claimed_ids.items() if n > 1}
    assert not reclaimed, f"{len(reclaimed)} signals claimed twice under a live lease"
    assert set(claimed_ids) == set(published_ids)
    assert [sid for r in reports for sid in r["refused"]] == []  # only ever ack'ed own claims
    assert [sid for r in reports for sid in r["not_claimed_status"]] == []

    # The premise of "claimed once": no lease could have run out between claim and ack.
    claimed_at = dict(claims)
    slowest = max(at - claimed_at[sid] for sid, at in acked)
    assert slowest < LEASE.total_seconds(), slowest
    # Consumption really overlapped production, and both kinds of consumer took part.
    assert min(at for _, at in acked) < published["ended"]
    by_kind = Counter(r["name"].split("-")[0] for r in reports for _ in r["acked"])
    assert by_kind["thread"] > 0 and by_kind["process"] > 0, by_kind
    print(
        f"\n{kind}: {SIGNALS} signals, {elapsed:.1f} s, publishing took "
        f"{published['ended'] - published['started']:.1f} s; acks by consumer: "
        + ", ".join(f"{r['name']}={len(r['acked'])}" for r in reports)
    )


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def claim_and_crash(kind: str, location: str, prefix: str, limit: int, out_path: str) -> None:
    """In a spawned process whose clock reads ``T0``: claim, report the claim, then die
    without acknowledging anything or closing the store."""
    store = open_store(kind, location, prefix, clock=FakeClock(T0))
    coordinator = MultiAgentCoordinator(store, clock=FakeClock(T0))
    claimed = coordinator.consume_signals(AGENT, limit=limit, lease=LEASE)
    Path(out_path).write_text(json.dumps([signal.signal_id for signal in claimed]))
    os._exit(3)  # the crash: no ack, no nack, no cleanup


@pytest.mark.slow
def test_signals_of_a_consumer_that_crashed_are_delivered_again_after_the_lease(
    backend: tuple[str, str, str], tmp_path: Path
) -> None:
    kind, location, prefix = backend
    clock = FakeClock(T0)
    store = open_store(kind, location, prefix, clock=clock)
    coordinator = MultiAgentCoordinator(store, clock=clock)
    try:
        sent = [
            coordinator.publish_signal(PRODUCER, "market_signal", {"seq": i}, targets=[AGENT])
            for i in range(5)
        ]
        ids = [signal.signal_id for signal in sent]
        out = tmp_path / "crashed.json"
        crasher = _spawn.Process(
            target=claim_and_crash, args=(kind, location, prefix, 10, str(out)), daemon=True
        )
        crasher.start()
        crasher.join(90)
        if crasher.is_alive():
            crasher.kill()
        assert crasher.exitcode == 3
        assert sorted(json.loads(out.read_text())) == sorted(ids)  # it held all five

        clock.advance(seconds=29)  # the dead consumer's lease still holds
        assert coordinator.consume_signals(AGENT, lease=LEASE) == []
        assert coordinator.pending_signals(AGENT) == []

        clock.advance(seconds=2)  # and now it has run out
        again = coordinator.consume_signals(AGENT, limit=10, lease=LEASE)
        assert sorted(signal.signal_id for signal in again) == sorted(ids)
        assert all(s.processing[AGENT] == ProcessingStatus.CLAIMED for s in again)
        assert coordinator.consume_signals(AGENT, lease=LEASE) == []  # held by the new claim
        assert [coordinator.ack(AGENT, signal.signal_id) for signal in again] == [True] * 5
        assert [coordinator.ack(AGENT, signal_id) for signal_id in ids] == [False] * 5

        clock.advance(minutes=5)  # long after every lease: nothing comes back
        assert coordinator.consume_signals(AGENT, lease=LEASE) == []
    finally:
        store.close()
