"""Transfer: every record of some agents survives export to JSONL and import into any store,
and the protocol methods it relies on (state snapshots, verbatim checkpoints, published
signals with their statuses) behave alike on every backend."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentmem_langchain.enums import PatternStatus, ProcessingStatus
from agentmem_langchain.errors import ValidationError
from agentmem_langchain.models import (
    AgentRegistration,
    AgentState,
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    MemoryPattern,
    PatternVersion,
    StateCheckpoint,
    new_id,
)
from agentmem_langchain.stores import MemoryStore
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import FakeClock, InMemoryStore
from agentmem_langchain.transfer import export_records, import_records

from .backends import BACKENDS
from .builders import AGENT, OTHER, T0, THIRD, at, decision, pattern, signal, ttl_in

EXPORTED = [AGENT, OTHER]
EVERYONE = [AGENT, OTHER, THIRD]
Snapshot = dict[str, Any]


# -- the fixture: a bit of everything ----------------------------------------------------------


def bump(stored: MemoryPattern, version: int, **changes: Any) -> MemoryPattern:
    """Version ``version`` of ``stored``, with its statistics kept in ``history``."""
    earlier = PatternVersion(
        version=stored.version,
        confidence=stored.confidence,
        success_rate=stored.success_rate,
        sample_size=stored.sample_size,
        success_count=stored.success_count,
        updated_at=stored.updated_at,
    )
    return MemoryPattern.model_validate(
        {
            **stored.model_dump(),
            "version": version,
            "history": [*stored.history, earlier],
            "updated_at": at(version),
            **changes,
        }
    )


def put_versions(store: MemoryStore, versions: list[MemoryPattern]) -> None:
    expected: int | None = None
    for version in versions:
        store.put_pattern(version, expected_version=expected)
        expected = version.version


def populate(store: MemoryStore, clock: FakeClock) -> dict[str, str]:
    """Registrations, decision chains with outcomes, patterns with histories (one retired
    after three versions), a state with two checkpoints, and signals in every status."""
    store.register_agent(
        AgentRegistration(
            agent_id=AGENT,
            capabilities=["pricing", "alerts"],
            metadata={"host": "worker-3", "limits": {"rps": 5, "burst": None}},
            registered_at=at(-7200),
            last_heartbeat=at(-5),
        )
    )
    for agent in (OTHER, THIRD):
        store.register_agent(
            AgentRegistration(agent_id=agent, registered_at=at(-3600), last_heartbeat=at(-60))
        )
    populate_decisions(store)
    populate_patterns(store)
    populate_state(store, clock)
    return populate_signals(store, clock)


def populate_decisions(store: MemoryStore) -> None:
    root = DecisionRecord(
        agent_id=AGENT,
        decision_type="strategy_selection",
        timestamp=at(-600),
        context=DecisionContext(
            market={"pair": "BTC/USD", "price": 64000.5}, cycle=7, inputs={"q": "é ✓"}
        ),
        reasoning=DecisionReasoning(
            scores={"momentum": 0.7, "mean_revert": -0.25},
            selected=["momentum"],
            alternatives=["mean_revert"],
            patterns_applied=[new_id()],
            confidence=0.82,
            rationale="trend is up\nvolume confirms",
        ),
        outcome=DecisionOutcome(
            success=True,
            quality_score=0.9,
            latency_ms=125.5,
            recorded_at=at(-590),
            details={"pnl": 12.5, "fills": [1, 2]},
        ),
        ttl=ttl_in(86_400),
        tags=["btc", "live"],
        metadata={"run": {"id": 3, "nested": [True, None, "x"]}},
    )
    child = decision(
        seconds=-580,
        decision_type="tool_call",
        parent_decision_id=root.decision_id,
        trace_id=root.trace_id,
        confidence=0.4,
        ttl=ttl_in(86_400),
    )
    grandchild = decision(
        seconds=-570,
        parent_decision_id=child.decision_id,
        trace_id=root.trace_id,
        tags=["pending"],
    )
    consolidated = decision(seconds=-500, success=False, latency_ms=40.0)
    long_term = decision(seconds=-400, decision_type="risk_assessment", is_stm=False)
    expired = decision(seconds=-300, ttl=ttl_in(-1))
    store.put_decision(root)
    store.put_decisions([child, grandchild, consolidated, long_term, expired])
    store.set_outcome(
        AGENT,
        child.decision_id,
        DecisionOutcome(success=False, error="timeout", error_type="TimeoutError", recorded_at=T0),
    )
    store.mark_consolidated(AGENT, [consolidated.decision_id])
    store.put_decisions([decision(OTHER, seconds=-i * 10, success=i % 2 == 0) for i in range(3)])


def populate_patterns(store: MemoryStore) -> None:
    shared = pattern(
        confidence=0.7,
        shared_with=[OTHER],
        user_metadata={"owner": "team-x"},
        evidence=[new_id(), new_id()],
        sample_size=10,
        success_count=7,
        success_rate=0.7,
    )
    store.put_pattern(shared, expected_version=None)
    first = pattern(confidence=0.3, decision_type="tool_call", sample_size=4, success_count=1)
    second = bump(first, 2, confidence=0.6, sample_size=8, success_count=5)
    put_versions(store, [first, second, bump(second, 3, status=PatternStatus.RETIRED)])
    gappy = pattern(OTHER, confidence=0.5, pattern_type="avoid")
    put_versions(store, [gappy, bump(gappy, 4, confidence=0.55)])


def populate_state(store: MemoryStore, clock: FakeClock) -> None:
    def state(step: int, version: int) -> AgentState:
        return AgentState(
            agent_id=AGENT,
            config={"step": step, "model": "gpt"},
            metrics={"decisions": step * 10},
            status="active" if step < 3 else "paused",
            version=version,
            updated_at=at(step),
        )

    version = store.save_state(state(1, 0)).version
    clock.advance(seconds=1)
    store.create_checkpoint(AGENT, name="first")
    version = store.save_state(state(2, version)).version
    clock.advance(seconds=1)
    store.create_checkpoint(AGENT)
    store.save_state(state(3, version))
    store.save_state(AgentState(agent_id=OTHER, config={"solo": True}, updated_at=T0))


def populate_signals(store: MemoryStore, clock: FakeClock) -> dict[str, str]:
    """AGENT sends one signal to OTHER (processed) and THIRD (claimed, then released), one to
    THIRD that it claimed until the lease ran out, one that expires, and a broadcast that
    THIRD processed and OTHER holds a live claim on; OTHER sends one to AGENT, which
    processed it. Returns the signal ids by those names."""
    sent = {
        "targeted": signal(targets=(OTHER, THIRD), priority=5, payload={"price": 64000.5}),
        "lapsed": signal(targets=(THIRD,), seconds=-50, priority=9),
        "expiring": signal(targets=(OTHER,), seconds=-40, expires_at=at(30)),
        "broadcast": signal(targets=(), broadcast=True, seconds=-30, expires_at=at(86_400)),
        "answer": signal(OTHER, targets=(AGENT,), seconds=-20, payload={"ok": True}),
    }
    ids = {name: s.signal_id for name, s in sent.items()}
    for s in sent.values():
        store.publish_signal(s)

    def claim(agent: str, lease_seconds: float) -> str:
        [claimed] = store.claim_signals(agent, limit=1, lease_seconds=lease_seconds)
        return claimed.signal_id

    assert claim(THIRD, 1) == ids["lapsed"]  # priority 9 comes first
    assert claim(THIRD, 600) == ids["targeted"]
    store.release_signal(THIRD, ids["targeted"])
    assert store.mark_signal_processed(OTHER, ids["targeted"])
    assert store.mark_signal_processed(OTHER, ids["expiring"])
    assert store.mark_signal_processed(THIRD, ids["broadcast"])
    assert store.mark_signal_processed(AGENT, ids["answer"])
    assert claim(OTHER, 3600) == ids["broadcast"]
    clock.advance(seconds=60)  # past the lapsed lease and ``expiring``, inside the live claim
    assert store.claim_signals(OTHER) == []
    return ids


# -- what a store holds, read back through the protocol ---------------------------------------


def dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


def every_page(read: Callable[[str | None], Any]) -> Iterator[Any]:
    cursor: str | None = None
    while True:
        page = read(cursor)
        yield from page.items
        if (cursor := page.next_cursor) is None:
            return


def snapshot(store: MemoryStore, agents: list[str] = EXPORTED) -> Snapshot:
    """Everything the protocol shows about ``agents``, as plain data for a readable diff."""
    found: Snapshot = {}
    for agent in agents:
        decisions = list(every_page(lambda c, a=agent: store.query_decisions(a, cursor=c)))
        patterns = list(
            every_page(lambda c, a=agent: store.list_patterns(a, include_retired=True, cursor=c))
        )
        found[agent] = {
            "registration": dump(store.get_agent(agent)),
            "decisions": sorted((dump(d) for d in decisions), key=lambda d: d["decision_id"]),
            "unconsolidated": [d.decision_id for d in store.list_unconsolidated(agent).items],
            "children": {d.decision_id: dump_all(store.get_children(agent, d.decision_id))
                         for d in decisions},
            "traces": {d.trace_id: dump_all(store.get_trace(agent, d.trace_id or ""))
                       for d in decisions},
            "stats": dump(store.decision_stats(agent, start=at(-86_400), end=at(86_400))),
            "patterns": dump_all(patterns),
            "active_patterns": dump_all(store.list_patterns(agent).items),
            "history": {p.pattern_id: dump_all(store.get_pattern_history(agent, p.pattern_id))
                        for p in patterns},
            "shared_with_me": dump_all(store.list_shared_patterns(agent)),
            "state": dump(store.load_state(agent)),
            "checkpoints": dump_all(store.list_checkpoints(agent)),
            "signals": dump_all(list(store.iter_published_signals(agent, consumers=EVERYONE))),
        }  # fmt: skip
    return found


def dump_all(models: list[Any]) -> list[Any]:
    return [dump(m) for m in models]


def without_claims(source: Snapshot) -> Snapshot:
    """``source`` as an import shows it: a live claim is pending again (an untouched
    broadcast shows no status at all)."""
    expected: Snapshot = {}
    for agent, data in source.items():
        signals = []
        for sent in data["signals"]:
            processing = {
                who: ("pending" if status == "claimed" else status)
                for who, status in sent["processing"].items()
                if status != "claimed" or who in sent["target_agent_ids"]
            }
            signals.append({**sent, "processing": processing})
        expected[agent] = {**data, "signals": signals}
    return expected


def exported(store: MemoryStore, agents: list[str] = EXPORTED) -> io.StringIO:
    out = io.StringIO()
    export_records(store, agents, out)
    out.seek(0)
    return out


TARGETS: dict[str, Callable[[Path, FakeClock], MemoryStore]] = {
    "into-memory": lambda tmp, clock: InMemoryStore(clock=clock),
    "into-sqlite": lambda tmp, clock: SQLiteStore(tmp / "target.db", clock=clock),
}


@pytest.fixture(params=list(TARGETS))
def target(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    made = TARGETS[request.param](tmp_path, clock)
    try:
        yield made
    finally:
        made.close()


# -- round trips ------------------------------------------------------------------------------


def test_import_of_an_export_shows_every_record_as_the_source_does(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)
    source = snapshot(store)

    import_records(target, exported(store))

    assert snapshot(target) == without_claims(source)


def test_the_fixture_has_what_the_round_trip_must_carry(
    store: MemoryStore, clock: FakeClock
) -> None:
    ids = populate(store, clock)

    mine, theirs = (snapshot(store)[a] for a in EXPORTED)

    assert len(mine["decisions"]) == 5  # the expired one is gone
    assert sorted(len(h) for h in mine["history"].values()) == [1, 3]
    assert [p["status"] for p in mine["patterns"]] == ["active", "retired"]
    assert [[p["version"] for p in h] for h in theirs["history"].values()] == [[1, 4]]
    assert [c["name"] for c in mine["checkpoints"]] == [None, "first"]
    assert mine["state"]["version"] == 3
    assert {s["signal_id"]: s["processing"] for s in mine["signals"]} == {
        ids["targeted"]: {OTHER: "processed", THIRD: "pending"},
        ids["lapsed"]: {THIRD: "pending"},
        ids["broadcast"]: {OTHER: "claimed", THIRD: "processed"},
    }
    assert [s["processing"] for s in theirs["signals"]] == [{AGENT: "processed"}]


def test_a_claimed_broadcast_is_pending_again_after_import(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    broadcast = populate(store, clock)["broadcast"]

    import_records(target, exported(store))

    assert broadcast not in {s.signal_id for s in store.pending_signals(OTHER)}
    assert broadcast in {s.signal_id for s in target.pending_signals(OTHER)}
    assert broadcast not in {s.signal_id for s in target.pending_signals(THIRD)}


def test_only_the_named_agents_are_exported(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    populate(store, clock)

    summary = import_records(target, exported(store, [OTHER]))

    assert target.get_agent(AGENT) is None
    assert target.query_decisions(AGENT).items == []
    assert target.load_state(AGENT) is None
    assert summary.agent_ids == (OTHER,)
    copied = snapshot(target, [OTHER])[OTHER]
    source = without_claims(snapshot(store, [OTHER]))[OTHER]
    assert copied.pop("shared_with_me") == []  # AGENT's shared pattern was not exported
    source.pop("shared_with_me")
    assert copied == source


def test_importing_into_each_backend_then_again_changes_nothing(
    store: MemoryStore, clock: FakeClock
) -> None:
    source = InMemoryStore(clock=clock)
    populate(source, clock)
    expected = without_claims(snapshot(source))

    import_records(store, exported(source))
    first = snapshot(store)
    again = import_records(store, exported(source))

    assert first == expected
    assert snapshot(store) == first
    assert again.written["pattern_version"] == 0
    assert again.written["state"] == again.written["checkpoint"] == 0
    assert again.written["registration"] == 0


# -- put_state_snapshot -----------------------------------------------------------------------


def saved_state(version: int, **fields: Any) -> AgentState:
    return AgentState(
        agent_id=AGENT, config={"v": version}, version=version, updated_at=at(-version), **fields
    )


def test_state_snapshot_is_stored_with_its_version_and_time(store: MemoryStore) -> None:
    snapshot_state = saved_state(7, status="paused")

    assert store.put_state_snapshot(snapshot_state) is True
    assert store.load_state(AGENT) == snapshot_state


def test_state_snapshot_replaces_an_older_version(store: MemoryStore) -> None:
    store.save_state(AgentState(agent_id=AGENT))

    assert store.put_state_snapshot(saved_state(4)) is True
    assert store.load_state(AGENT) == saved_state(4)
    assert store.save_state(saved_state(4)).version == 5


def test_state_snapshot_never_replaces_the_same_or_a_newer_version(store: MemoryStore) -> None:
    store.put_state_snapshot(saved_state(5))

    assert store.put_state_snapshot(saved_state(5, status="other")) is False
    assert store.put_state_snapshot(saved_state(3)) is False
    assert store.load_state(AGENT) == saved_state(5)


def test_state_snapshot_of_version_zero_is_refused(store: MemoryStore) -> None:
    with pytest.raises(ValidationError, match="version"):
        store.put_state_snapshot(saved_state(0))
    assert store.load_state(AGENT) is None


# -- put_checkpoint ---------------------------------------------------------------------------


def checkpoint(seconds: float, name: str | None = None) -> StateCheckpoint:
    return StateCheckpoint(
        agent_id=AGENT, name=name, created_at=at(seconds), state=saved_state(int(seconds) + 100)
    )


def test_checkpoint_is_stored_as_given(store: MemoryStore) -> None:
    made = checkpoint(-30, "before")

    assert store.put_checkpoint(made) is True
    assert store.list_checkpoints(AGENT) == [made]


def test_checkpoint_with_a_known_id_is_not_stored_twice(store: MemoryStore) -> None:
    made = checkpoint(-30, "before")
    store.put_checkpoint(made)

    assert store.put_checkpoint(made.model_copy(update={"name": "renamed"})) is False
    assert store.list_checkpoints(AGENT) == [made]


def test_checkpoints_written_oldest_first_are_listed_newest_first(store: MemoryStore) -> None:
    made = [checkpoint(-30, "a"), checkpoint(-20), checkpoint(-10, "c")]
    for c in made:
        store.put_checkpoint(c)

    assert store.list_checkpoints(AGENT) == made[::-1]


def test_rollback_to_a_written_checkpoint_restores_its_state(store: MemoryStore) -> None:
    made = checkpoint(-30, "before")
    store.put_checkpoint(made)
    store.put_checkpoint(checkpoint(-10, "after"))

    restored = store.rollback(AGENT, to="before")

    assert restored.config == made.state.config
    assert restored.version == 1


def test_written_checkpoint_follows_created_ones(store: MemoryStore, clock: FakeClock) -> None:
    store.save_state(AgentState(agent_id=AGENT))
    created = store.create_checkpoint(AGENT, "made-here")
    clock.advance(seconds=1)
    written = StateCheckpoint(
        agent_id=AGENT, name="imported", created_at=clock(), state=saved_state(9)
    )
    store.put_checkpoint(written)

    assert [c.checkpoint_id for c in store.list_checkpoints(AGENT)] == [
        written.checkpoint_id,
        created.checkpoint_id,
    ]


# -- iter_published_signals -------------------------------------------------------------------


def published(store: MemoryStore, agent: str = AGENT, **kwargs: Any) -> list[Any]:
    return list(store.iter_published_signals(agent, **kwargs))


def test_published_signals_come_by_signal_id_with_their_content(store: MemoryStore) -> None:
    sent = sorted(
        [signal(seconds=-i, priority=i, payload={"i": i}) for i in range(5)],
        key=lambda s: s.signal_id,
    )
    for s in reversed(sent):
        store.publish_signal(s)

    found = published(store)

    assert [s.model_copy(update={"processing": {}}) for s in found] == sent
    assert [s.processing for s in found] == [{OTHER: ProcessingStatus.PENDING}] * 5


def test_published_signals_leave_out_other_publishers_and_expired_ones(
    store: MemoryStore, clock: FakeClock
) -> None:
    mine = signal(expires_at=at(3600))
    store.publish_signal(mine)
    store.publish_signal(signal(OTHER, targets=(AGENT,)))
    store.publish_signal(signal(expires_at=at(10)))
    clock.advance(seconds=10)

    assert [s.signal_id for s in published(store)] == [mine.signal_id]
    assert published(store, THIRD) == []


def test_published_signals_are_read_in_pages(store: MemoryStore) -> None:
    sent = [signal(seconds=-i) for i in range(230)]
    for s in sent:
        store.publish_signal(s)

    assert [s.signal_id for s in published(store)] == sorted(s.signal_id for s in sent)


def test_published_signal_shows_each_targets_status_as_it_is_now(
    store: MemoryStore, clock: FakeClock
) -> None:
    fourth = "agent-d"
    sent = signal(targets=(OTHER, THIRD, fourth, "agent-e"))
    store.publish_signal(sent)
    store.mark_signal_processed(OTHER, sent.signal_id)
    store.claim_signals(THIRD, lease_seconds=600)
    store.claim_signals(fourth, lease_seconds=5)
    clock.advance(seconds=6)

    [found] = published(store)

    assert found.processing == {
        OTHER: "processed",
        THIRD: "claimed",
        fourth: "pending",
        "agent-e": "pending",
    }


def test_broadcast_statuses_are_those_of_the_named_consumers_who_touched_it(
    store: MemoryStore, clock: FakeClock
) -> None:
    sent = signal(targets=(), broadcast=True)
    store.publish_signal(sent)
    store.mark_signal_processed(OTHER, sent.signal_id)
    store.claim_signals(THIRD, lease_seconds=600)
    store.claim_signals("agent-d", lease_seconds=600)
    store.release_signal("agent-d", sent.signal_id)

    everyone = [AGENT, OTHER, THIRD, "agent-d", "agent-e"]
    assert published(store, consumers=everyone)[0].processing == {
        OTHER: "processed",
        THIRD: "claimed",
    }
    assert published(store, consumers=[OTHER])[0].processing == {OTHER: "processed"}
    assert published(store)[0].processing == {}


def test_a_broadcast_with_named_targets_shows_them_all(store: MemoryStore) -> None:
    sent = signal(targets=(OTHER,), broadcast=True)
    store.publish_signal(sent)
    store.mark_signal_processed(THIRD, sent.signal_id)

    [found] = published(store, consumers=EVERYONE)

    assert found.processing == {OTHER: "pending", THIRD: "processed"}


def test_publishing_a_signal_again_keeps_every_targets_status(store: MemoryStore) -> None:
    sent = signal(targets=(OTHER, THIRD))
    store.publish_signal(sent)
    store.mark_signal_processed(OTHER, sent.signal_id)
    store.claim_signals(THIRD, lease_seconds=600)

    store.publish_signal(sent)

    assert store.pending_signals(OTHER) == []
    assert store.pending_signals(THIRD) == []
    assert published(store)[0].processing == {OTHER: "processed", THIRD: "claimed"}


# -- across stores ----------------------------------------------------------------------------


def test_sqlite_to_dynamodb_to_sqlite_keeps_every_record_and_never_scans(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> None:
    first = SQLiteStore(tmp_path / "first.db", clock=clock)
    dynamo = BACKENDS["moto"](tmp_path, clock, request)
    last = SQLiteStore(tmp_path / "last.db", clock=clock)
    calls: list[str] = []
    client = dynamo.client_manager.client
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    try:
        populate(first, clock)
        # Every consumer of the broadcast is exported, so it stays known at every hop.
        expected = without_claims(snapshot(first, EVERYONE))
        export_records(first, EVERYONE, tmp_path / "first.jsonl")
        import_records(dynamo, tmp_path / "first.jsonl")
        export_records(dynamo, EVERYONE, tmp_path / "dynamo.jsonl")
        import_records(last, tmp_path / "dynamo.jsonl")

        assert snapshot(dynamo, EVERYONE) == expected
        assert snapshot(last, EVERYONE) == expected
        assert "Scan" not in calls
        assert {"Query", "BatchWriteItem", "PutItem"} <= set(calls)
    finally:
        for store in (first, dynamo, last):
            store.close()


def test_broadcast_statuses_of_registered_agents_are_exported_and_no_others(
    store: MemoryStore, target: MemoryStore, clock: FakeClock
) -> None:
    sent = signal(targets=(), broadcast=True)
    store.publish_signal(sent)
    store.mark_signal_processed(THIRD, sent.signal_id)
    store.mark_signal_processed("agent-d", sent.signal_id)  # neither registered nor exported
    store.register_agent(AgentRegistration(agent_id=THIRD, last_heartbeat=T0))

    import_records(target, exported(store, [AGENT]))

    [copied] = published(target, consumers=[THIRD, "agent-d"])
    assert copied.processing == {THIRD: "processed"}
    assert [s.signal_id for s in target.pending_signals("agent-d")] == [sent.signal_id]


def test_a_broadcast_status_of_an_agent_left_out_of_the_export_lasts_one_hop(
    store: MemoryStore, clock: FakeClock, tmp_path: Path
) -> None:
    sent = signal(targets=(), broadcast=True)
    store.publish_signal(sent)
    store.mark_signal_processed(THIRD, sent.signal_id)
    store.register_agent(AgentRegistration(agent_id=THIRD, last_heartbeat=T0))
    middle, last = InMemoryStore(clock=clock), InMemoryStore(clock=clock)

    import_records(middle, exported(store, [AGENT]))  # THIRD is registered at the source
    import_records(last, exported(middle, [AGENT]))  # but neither registered nor exported here

    assert published(middle, consumers=[THIRD])[0].processing == {THIRD: "processed"}
    assert published(last, consumers=[THIRD])[0].processing == {}


def test_export_reads_time_from_the_given_clock(store: MemoryStore) -> None:
    out = io.StringIO()

    summary = export_records(store, [AGENT], out, clock=lambda: T0 + timedelta(hours=1))

    assert summary.exported_at == T0 + timedelta(hours=1)
    assert summary.total == 0
