"""``query_decisions``: order, time bounds, filters and pagination."""

from __future__ import annotations

from typing import Any

import pytest

from agentmem_langchain.errors import ValidationError
from agentmem_langchain.models import DecisionRecord
from agentmem_langchain.stores import MemoryStore

from .builders import AGENT, at, decision, ids, outcome


def walk(store: MemoryStore, limit: int, **filters: Any) -> list[DecisionRecord]:
    """Every page of a query, concatenated; fails if a page is too long or pages never end."""
    found: list[DecisionRecord] = []
    cursor: str | None = None
    for _ in range(200):
        page = store.query_decisions(AGENT, limit=limit, cursor=cursor, **filters)
        assert len(page.items) <= limit
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            return found
    pytest.fail("pagination did not end after 200 pages")


def newest_first(records: list[DecisionRecord]) -> list[str]:
    return ids(sorted(records, key=lambda r: r.timestamp, reverse=True))


@pytest.fixture
def fifty(store: MemoryStore) -> list[DecisionRecord]:
    """50 decisions a second apart: types alternate, outcomes cycle success/failure/pending."""
    outcomes = (True, False, None)
    records = [
        decision(
            seconds=-1000 + i,
            decision_type="llm_call" if i % 2 else "tool_call",
            success=outcomes[i % 3],
        )
        for i in range(50)
    ]
    store.put_decisions(records[::-1])
    return records


def test_query_returns_newest_first(store: MemoryStore) -> None:
    records = [decision(seconds=-s) for s in (30, 10, 50, 20, 40)]
    store.put_decisions(records)

    assert ids(store.query_decisions(AGENT).items) == newest_first(records)


def test_query_start_is_inclusive_and_end_exclusive(store: MemoryStore) -> None:
    records = {s: decision(seconds=s) for s in (-40, -30, -20, -10)}
    store.put_decisions(list(records.values()))

    page = store.query_decisions(AGENT, start=at(-30), end=at(-10))

    assert ids(page.items) == [records[-20].decision_id, records[-30].decision_id]


def test_query_bounds_respect_microseconds(store: MemoryStore) -> None:
    early = decision(seconds=-0.000002)
    late = decision(seconds=-0.000001)
    store.put_decisions([early, late])

    assert ids(store.query_decisions(AGENT, start=at(-0.000001)).items) == [late.decision_id]
    assert ids(store.query_decisions(AGENT, end=at(-0.000001)).items) == [early.decision_id]


def test_query_with_only_start_returns_everything_after_it(store: MemoryStore) -> None:
    old, new = decision(seconds=-100), decision(seconds=-10)
    store.put_decisions([old, new])

    assert ids(store.query_decisions(AGENT, start=at(-50)).items) == [new.decision_id]


def test_query_filters_by_decision_type(store: MemoryStore) -> None:
    tool = decision(seconds=-30, decision_type="tool_call")
    llm = decision(seconds=-20, decision_type="llm_call")
    store.put_decisions([tool, llm])

    assert ids(store.query_decisions(AGENT, decision_type="tool_call").items) == [tool.decision_id]


def test_query_success_true_keeps_only_successes(store: MemoryStore) -> None:
    won = decision(seconds=-30, success=True)
    lost = decision(seconds=-20, success=False)
    pending = decision(seconds=-10)
    store.put_decisions([won, lost, pending])

    assert ids(store.query_decisions(AGENT, success=True).items) == [won.decision_id]


def test_query_success_false_keeps_only_failures(store: MemoryStore) -> None:
    won = decision(seconds=-30, success=True)
    lost = decision(seconds=-20, success=False)
    pending = decision(seconds=-10)
    store.put_decisions([won, lost, pending])

    assert ids(store.query_decisions(AGENT, success=False).items) == [lost.decision_id]


def test_query_success_filter_sees_outcomes_set_later(store: MemoryStore) -> None:
    record = decision()
    store.put_decision(record)
    store.set_outcome(AGENT, record.decision_id, outcome(False))

    assert ids(store.query_decisions(AGENT, success=False).items) == [record.decision_id]
    assert store.query_decisions(AGENT, success=True).items == []


def test_query_combines_type_success_and_time_filters(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    window = (at(-990), at(-960))
    expected = [
        r
        for r in fifty
        if window[0] <= r.timestamp < window[1]
        and r.decision_type == "llm_call"
        and r.outcome is not None
        and r.outcome.success
    ]

    page = store.query_decisions(
        AGENT, start=window[0], end=window[1], decision_type="llm_call", success=True
    )

    assert expected
    assert ids(page.items) == newest_first(expected)


def test_query_never_returns_more_than_limit(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    page = store.query_decisions(AGENT, limit=7)

    assert ids(page.items) == newest_first(fifty)[:7]
    assert page.next_cursor is not None


def test_query_without_more_results_has_no_next_cursor(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    assert store.query_decisions(AGENT, limit=100).next_cursor is None


def test_pages_of_seven_return_each_decision_once_in_order(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    assert ids(walk(store, 7)) == newest_first(fifty)


def test_pages_of_seven_with_filters_return_each_match_once_in_order(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    expected = [
        r for r in fifty if r.decision_type == "tool_call" and r.outcome and not r.outcome.success
    ]

    found = walk(store, 7, decision_type="tool_call", success=False)

    assert ids(found) == newest_first(expected)


def test_pages_of_seven_within_a_window_return_each_match_once_in_order(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    expected = [r for r in fifty if at(-995) <= r.timestamp < at(-960)]

    assert ids(walk(store, 7, start=at(-995), end=at(-960))) == newest_first(expected)


def test_pages_return_each_of_many_same_timestamp_decisions_once(store: MemoryStore) -> None:
    records = [decision(seconds=-10) for _ in range(12)]
    store.put_decisions(records)

    found = walk(store, 5)

    assert sorted(ids(found)) == sorted(ids(records))
    assert len(found) == 12


def test_query_with_a_malformed_cursor_raises_validation_error(
    store: MemoryStore, fifty: list[DecisionRecord]
) -> None:
    with pytest.raises(ValidationError):
        store.query_decisions(AGENT, cursor="not a cursor!")
