"""Decisions: writing, reading, outcomes, consolidation flags, parent/child links, agents."""

from __future__ import annotations

import pytest

from agentmem_langchain.errors import NotFoundError
from agentmem_langchain.models import DecisionContext, DecisionOutcome, new_id
from agentmem_langchain.stores import MemoryStore

from .builders import AGENT, OTHER, T0, at, decision, ids, outcome


def test_put_then_get_returns_an_equal_record(store: MemoryStore) -> None:
    record = decision(
        confidence=0.8,
        success=True,
        latency_ms=12.5,
        context=DecisionContext(market={"btc": 64000.5}, cycle=3, extra={"region": "eu"}),
        tags=["live", "btc"],
        metadata={"run": {"attempt": 2, "ok": [True, None]}},
    )
    store.put_decision(record)

    assert store.get_decision(AGENT, record.decision_id) == record


def test_put_same_id_twice_replaces_without_duplicating(store: MemoryStore) -> None:
    first = decision(decision_type="tool_call")
    second = first.model_copy(update={"decision_type": "llm_call"})
    store.put_decision(first)
    store.put_decision(second)

    page = store.query_decisions(AGENT)
    assert ids(page.items) == [first.decision_id]
    assert page.items[0].decision_type == "llm_call"


def test_put_decisions_stores_a_whole_batch(store: MemoryStore) -> None:
    records = [decision(seconds=-i) for i in range(120)]
    store.put_decisions(records)

    page = store.query_decisions(AGENT, limit=500)
    assert sorted(ids(page.items)) == sorted(ids(records))
    assert page.next_cursor is None


def test_put_decisions_with_no_records_stores_nothing(store: MemoryStore) -> None:
    store.put_decisions([])

    assert store.query_decisions(AGENT).items == []


def test_put_decisions_twice_is_idempotent(store: MemoryStore) -> None:
    records = [decision(seconds=-i) for i in range(30)]
    store.put_decisions(records)
    store.put_decisions(records)

    assert len(store.query_decisions(AGENT, limit=500).items) == 30


def test_get_unknown_decision_returns_none(store: MemoryStore) -> None:
    store.put_decision(decision())

    assert store.get_decision(AGENT, new_id()) is None


def test_stored_record_is_not_changed_by_mutating_the_callers_copy(store: MemoryStore) -> None:
    record = decision(tags=["a"])
    store.put_decision(record)
    record.tags.append("b")
    fetched = store.get_decision(AGENT, record.decision_id)
    assert fetched is not None
    fetched.tags.append("c")

    again = store.get_decision(AGENT, record.decision_id)
    assert again is not None
    assert again.tags == ["a"]


def test_set_outcome_attaches_the_outcome_and_returns_the_record(store: MemoryStore) -> None:
    record = decision()
    store.put_decision(record)
    result = outcome(True, latency_ms=40.0, quality_score=0.9)

    updated = store.set_outcome(AGENT, record.decision_id, result)

    assert updated.outcome == result
    assert updated == record.model_copy(update={"outcome": result})
    assert store.get_decision(AGENT, record.decision_id) == updated


def test_set_outcome_replaces_an_earlier_outcome(store: MemoryStore) -> None:
    record = decision(success=True)
    store.put_decision(record)
    failure = DecisionOutcome(
        success=False, error="timeout", error_type="TimeoutError", recorded_at=T0
    )

    store.set_outcome(AGENT, record.decision_id, failure)

    fetched = store.get_decision(AGENT, record.decision_id)
    assert fetched is not None
    assert fetched.outcome == failure


def test_set_outcome_on_unknown_decision_raises_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError):
        store.set_outcome(AGENT, new_id(), outcome(True))


def test_another_agent_cannot_read_a_decision(store: MemoryStore) -> None:
    record = decision(AGENT)
    store.put_decision(record)

    assert store.get_decision(OTHER, record.decision_id) is None


def test_another_agent_cannot_set_an_outcome(store: MemoryStore) -> None:
    record = decision(AGENT)
    store.put_decision(record)

    with pytest.raises(NotFoundError):
        store.set_outcome(OTHER, record.decision_id, outcome(True))
    fetched = store.get_decision(AGENT, record.decision_id)
    assert fetched is not None
    assert fetched.outcome is None


def test_another_agent_sees_none_of_an_agents_decisions(store: MemoryStore) -> None:
    root = decision(AGENT, seconds=-30, success=True, latency_ms=5.0)
    child = decision(
        AGENT, seconds=-20, parent_decision_id=root.decision_id, trace_id=root.decision_id
    )
    store.put_decisions([root, child])

    assert store.query_decisions(OTHER).items == []
    assert store.list_unconsolidated(OTHER).items == []
    assert store.get_children(OTHER, root.decision_id) == []
    assert store.get_trace(OTHER, root.decision_id) == []
    assert store.decision_stats(OTHER, start=at(-3600), end=at(3600)).total == 0


def test_list_unconsolidated_returns_stm_decisions_oldest_first(store: MemoryStore) -> None:
    records = [decision(seconds=-s) for s in (10, 50, 30)]
    store.put_decisions(records)

    page = store.list_unconsolidated(AGENT)

    assert ids(page.items) == [
        records[1].decision_id,
        records[2].decision_id,
        records[0].decision_id,
    ]


def test_list_unconsolidated_skips_long_term_decisions(store: MemoryStore) -> None:
    stm = decision(seconds=-20)
    ltm = decision(seconds=-10, is_stm=False)
    store.put_decisions([stm, ltm])

    assert ids(store.list_unconsolidated(AGENT).items) == [stm.decision_id]


def test_list_unconsolidated_keeps_only_decisions_before_the_bound(store: MemoryStore) -> None:
    old = decision(seconds=-100)
    on_bound = decision(seconds=-50)
    new = decision(seconds=-10)
    store.put_decisions([old, on_bound, new])

    page = store.list_unconsolidated(AGENT, before=at(-50))

    assert ids(page.items) == [old.decision_id]


def test_mark_consolidated_removes_decisions_from_unconsolidated(store: MemoryStore) -> None:
    records = [decision(seconds=-s) for s in (40, 30, 20, 10)]
    store.put_decisions(records)

    store.mark_consolidated(AGENT, [records[0].decision_id, records[2].decision_id])

    assert ids(store.list_unconsolidated(AGENT).items) == [
        records[1].decision_id,
        records[3].decision_id,
    ]


def test_mark_consolidated_sets_the_flag_and_keeps_the_record(store: MemoryStore) -> None:
    record = decision()
    store.put_decision(record)

    store.mark_consolidated(AGENT, [record.decision_id])

    assert store.get_decision(AGENT, record.decision_id) == record.model_copy(
        update={"consolidated": True}
    )


def test_mark_consolidated_ignores_unknown_ids(store: MemoryStore) -> None:
    unknown = new_id()

    store.mark_consolidated(AGENT, [unknown])

    assert store.get_decision(AGENT, unknown) is None


def test_mark_consolidated_by_another_agent_changes_nothing(store: MemoryStore) -> None:
    record = decision(AGENT)
    store.put_decision(record)

    store.mark_consolidated(OTHER, [record.decision_id])

    assert ids(store.list_unconsolidated(AGENT).items) == [record.decision_id]


def test_list_unconsolidated_pages_cover_every_decision_once(store: MemoryStore) -> None:
    records = [decision(seconds=-i) for i in range(1, 24)]
    store.put_decisions(records)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        page = store.list_unconsolidated(AGENT, limit=5, cursor=cursor)
        assert len(page.items) <= 5
        seen += ids(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == ids(sorted(records, key=lambda r: r.timestamp))


def test_get_children_returns_direct_children_oldest_first(store: MemoryStore) -> None:
    root = decision(seconds=-100)
    late = decision(seconds=-10, parent_decision_id=root.decision_id, trace_id=root.decision_id)
    early = decision(seconds=-90, parent_decision_id=root.decision_id, trace_id=root.decision_id)
    grandchild = decision(
        seconds=-80, parent_decision_id=early.decision_id, trace_id=root.decision_id
    )
    store.put_decisions([root, late, early, grandchild])

    assert ids(store.get_children(AGENT, root.decision_id)) == [early.decision_id, late.decision_id]


def test_get_children_of_a_leaf_is_empty(store: MemoryStore) -> None:
    leaf = decision()
    store.put_decision(leaf)

    assert store.get_children(AGENT, leaf.decision_id) == []


def test_get_trace_returns_the_whole_chain_oldest_first(store: MemoryStore) -> None:
    root = decision(seconds=-100)
    child = decision(seconds=-50, parent_decision_id=root.decision_id, trace_id=root.decision_id)
    grandchild = decision(
        seconds=-70, parent_decision_id=child.decision_id, trace_id=root.decision_id
    )
    unrelated = decision(seconds=-60)
    store.put_decisions([child, unrelated, grandchild, root])

    trace = store.get_trace(AGENT, root.decision_id)

    assert ids(trace) == [root.decision_id, grandchild.decision_id, child.decision_id]
    assert trace[0] == root
