"""``MemoryManager.recommend``: policies, learning at once, forgetting and change, avoid."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import datetime, timezone

import pytest

from agentmem_langchain import DecisionLogger, MemoryManager
from agentmem_langchain.errors import ValidationError
from agentmem_langchain.learning import consolidate
from agentmem_langchain.learning.evidence import read_group
from agentmem_langchain.testing import FakeClock, InMemoryStore

AGENT = "rec-agent"
KIND = "source_selection"
OPTIONS = ["coinglass", "kaiko", "glassnode"]
BULL = {"regime": "bull"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))


@pytest.fixture
def memory(clock: FakeClock) -> MemoryManager:
    return MemoryManager(AGENT, store=InMemoryStore(clock=clock), clock=clock)


def log(memory: MemoryManager, option: str, success: bool, context=BULL, kind=KIND) -> str:
    decision = DecisionLogger(memory).log_decision(
        kind, context={"market": dict(context)}, selected=[option]
    )
    memory.log_outcome(decision, success=success)
    return decision


def history(memory: MemoryManager, rates: dict[str, float], each: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    for _ in range(each):
        for option, rate in rates.items():
            log(memory, option, rng.random() < rate)


def exact(memory: MemoryManager, option: str, wins: int, losses: int) -> None:
    total = wins + losses  # successes spread evenly, so no change is detected
    for i in range(total):
        log(memory, option, (i + 1) * wins // total > i * wins // total)


def test_options_never_tried_are_tried_first(memory):
    log(memory, "coinglass", True)
    log(memory, "kaiko", True)
    for policy in ("thompson", "ucb", "greedy"):
        rec = memory.recommend(KIND, OPTIONS, BULL, policy=policy, seed=1)
        assert rec.choice == "glassnode"
        assert "never tried" in rec.reason


def test_outcomes_count_at_once_without_a_consolidation(memory):
    for _ in range(6):
        log(memory, "kaiko", True)
        log(memory, "coinglass", False)
    log(memory, "glassnode", False)
    rec = memory.recommend(KIND, OPTIONS, BULL, policy="greedy")
    assert rec.choice == rec.best == "kaiko"
    assert rec.samples["kaiko"] == pytest.approx(6.0, abs=0.3)
    assert rec.expected_success > 0.8
    assert memory.store.list_unconsolidated(AGENT).items  # nothing was consolidated


def test_greedy_takes_the_highest_expected_success(memory):
    history(memory, {"coinglass": 0.3, "kaiko": 0.8, "glassnode": 0.5}, 40)
    rec = memory.recommend(KIND, OPTIONS, BULL, policy="greedy", seed=3)
    assert rec.choice == rec.best == "kaiko"
    assert not rec.explored
    assert rec.expected_success == max(rec.expected.values())
    assert 0 < rec.lower_bound < rec.expected_success


def test_thompson_mostly_exploits_and_sometimes_explores(memory):
    exact(memory, "coinglass", 3, 5)
    exact(memory, "kaiko", 6, 2)
    exact(memory, "glassnode", 4, 4)
    choices = [memory.recommend(KIND, OPTIONS, BULL, seed=s).choice for s in range(200)]
    assert choices.count("kaiko") > 100
    assert len(set(choices)) == 3  # with 8 outcomes each, every option still gets draws


def test_ucb_explores_the_option_with_little_evidence(memory):
    exact(memory, "coinglass", 36, 24)
    exact(memory, "kaiko", 30, 30)
    log(memory, "glassnode", False)
    rec = memory.recommend(KIND, OPTIONS, BULL, policy="ucb")
    assert rec.choice == "glassnode"
    assert rec.explored and rec.best == "coinglass"


def test_a_seed_makes_the_recommendation_reproducible(memory):
    history(memory, {"coinglass": 0.5, "kaiko": 0.55, "glassnode": 0.5}, 5)
    first = [memory.recommend(KIND, OPTIONS, BULL, seed=s) for s in range(20)]
    again = [memory.recommend(KIND, OPTIONS, BULL, seed=s) for s in range(20)]
    assert first == again
    assert len({r.choice for r in first}) > 1


def test_avoided_options_are_not_chosen_unless_all_are(memory):
    for _ in range(10):
        log(memory, "coinglass", False)
    log(memory, "kaiko", False)
    log(memory, "glassnode", False)
    for seed in range(30):
        rec = memory.recommend(KIND, OPTIONS, BULL, seed=seed)
        assert rec.choice != "coinglass"
        assert "avoiding coinglass" in rec.reason
    only = memory.recommend(KIND, ["coinglass"], BULL, seed=1)
    assert only.choice == "coinglass"


def test_options_outside_the_list_are_never_recommended(memory):
    history(memory, {"messari": 0.95, "kaiko": 0.5}, 20)
    rec = memory.recommend(KIND, ["kaiko", "glassnode"], BULL, seed=2)
    assert rec.choice in {"kaiko", "glassnode"}
    assert set(rec.samples) == {"kaiko", "glassnode"}


def test_contexts_and_types_keep_their_own_evidence(memory):
    history(memory, {"coinglass": 0.9, "kaiko": 0.1, "glassnode": 0.1}, 20)
    bear = memory.recommend(KIND, OPTIONS, {"regime": "bear"}, seed=1)
    other = memory.recommend("strategy_selection", OPTIONS, BULL, seed=1)
    assert bear.samples == other.samples == dict.fromkeys(OPTIONS, 0.0)


def test_a_flipped_truth_is_followed_within_fifty_decisions(memory):
    rng = random.Random(5)
    truth = {"coinglass": 0.8, "kaiko": 0.45, "glassnode": 0.35}
    for step in range(300):
        rec = memory.recommend(KIND, OPTIONS, BULL, seed=step)
        log(memory, rec.choice, rng.random() < truth[rec.choice])
    assert memory.recommend(KIND, OPTIONS, BULL, policy="greedy").best == "coinglass"
    truth = {"coinglass": 0.4, "kaiko": 0.85, "glassnode": 0.35}
    named = []
    for step in range(300, 400):
        rec = memory.recommend(KIND, OPTIONS, BULL, seed=step)
        named.append(rec.best)
        log(memory, rec.choice, rng.random() < truth[rec.choice])
    first = next(i for i in range(len(named)) if all(b == "kaiko" for b in named[i : i + 10]))
    assert first <= 50
    counts = read_group(memory.store, AGENT, KIND, BULL, memory.now())
    assert counts.options['{"selected":["coinglass"]}'].epoch >= 1  # a change was detected


def test_old_evidence_weighs_half_after_the_half_life(memory):
    for _ in range(10):
        log(memory, "coinglass", True)
    for _ in range(100):  # the default half-life: 100 decisions of the group
        log(memory, "kaiko", True)
    rec = memory.recommend(KIND, OPTIONS, BULL, seed=0)
    # ten outcomes aged 100..109 decisions: 0.5 * (1 + 0.5**0.01 + ... + 0.5**0.09)
    expected = 0.5 * sum(0.5 ** (k / 100) for k in range(10))
    assert rec.samples["coinglass"] == pytest.approx(expected, rel=1e-4)
    assert rec.samples["kaiko"] < 100


def test_a_corrected_outcome_replaces_the_one_counted(memory):
    decision = log(memory, "kaiko", True)
    memory.log_outcome(decision, success=False)
    rec = memory.recommend(KIND, OPTIONS, BULL, seed=0)
    assert rec.samples["kaiko"] == 1.0
    assert rec.expected["kaiko"] == pytest.approx(1 / 3)  # Beta(1, 2): one failure
    memory.log_outcome(decision, success=False)  # the same outcome again changes nothing
    assert memory.recommend(KIND, OPTIONS, BULL, seed=0).expected == rec.expected


def test_a_correction_after_newer_outcomes_weighs_what_its_count_weighs_now(memory):
    first = log(memory, "kaiko", True)
    for _ in range(9):
        log(memory, "kaiko", True)
    memory.log_outcome(first, success=False)
    counts = read_group(memory.store, AGENT, KIND, BULL, memory.now()).options
    kaiko = counts['{"selected":["kaiko"]}']
    gamma = 0.5 ** (1 / 100)
    assert kaiko.n == pytest.approx(sum(gamma**k for k in range(10)))
    assert kaiko.s == pytest.approx(sum(gamma**k for k in range(9)))  # the oldest: a failure


def test_decorated_choices_count_and_their_real_outcome_replaces_the_provisional_one(clock):
    from agentmem_langchain import current_decision, decision

    memory = MemoryManager(AGENT, store=InMemoryStore(clock=clock), clock=clock)

    @decision(KIND, memory=memory)
    def choose(option: str) -> str:
        current_decision().selected = [option]
        current_decision().context_extra.update(BULL)
        return option

    for _ in range(4):
        choose("kaiko")
    choose("glassnode")
    memory.flush()
    decisions = memory.query_decisions(limit=100).items
    ids = [d.decision_id for d in decisions if d.reasoning.selected == ["kaiko"]]
    assert len(ids) == 4
    rec = memory.recommend(KIND, OPTIONS, BULL, policy="greedy")
    # the functions returned: four provisional successes of kaiko, one of glassnode
    assert rec.samples["kaiko"] == pytest.approx(4.0, rel=0.05)
    assert rec.samples["glassnode"] == pytest.approx(1.0, rel=0.05)
    for decision_id in ids:  # the real outcomes, once known
        memory.log_outcome(decision_id, success=False)
    rec = memory.recommend(KIND, OPTIONS, BULL, policy="greedy")
    assert rec.samples["kaiko"] == pytest.approx(4.0, rel=0.05)  # replaced, not added
    assert rec.expected["kaiko"] < 0.2
    assert rec.best == "glassnode"


def test_outcomes_the_handler_captures_count_on_sqlite(tmp_path, clock):
    from langchain_core.tools import tool

    from agentmem_langchain import AgentMemoryCallbackHandler
    from agentmem_langchain.stores.sqlite import SQLiteStore

    memory = MemoryManager(AGENT, store=SQLiteStore(tmp_path / "h.db", clock=clock), clock=clock)

    @tool
    def get_price(symbol: str) -> str:
        """The price of a symbol."""
        return "42"

    handler = AgentMemoryCallbackHandler(memory)
    for _ in range(3):
        get_price.invoke({"symbol": "BTC"}, config={"callbacks": [handler]})
    memory.flush()
    [record] = {d.decision_type: d for d in memory.query_decisions().items}.values()
    assert record.decision_type == "tool_call" and record.reasoning.selected == ["get_price"]
    counts = read_group(memory.store, AGENT, "tool_call", features_of(record), clock())
    [(option, counted)] = counts.options.items()
    assert '"get_price"' in option
    assert counted.seen == 3 and counted.s == pytest.approx(counted.n)


def features_of(record):
    from agentmem_langchain.learning import ContextFeatures

    return ContextFeatures()(record)


def test_shared_patterns_inform_the_recommendation(clock):
    store = InMemoryStore(clock=clock)
    owner = MemoryManager("teacher", store=store, clock=clock)
    for _ in range(12):
        log(owner, "glassnode", True)
    clock.advance(seconds=1)
    consolidate(owner)
    (pattern,) = owner.get_patterns()
    owner.share_pattern(pattern.pattern_id, [AGENT])
    learner = MemoryManager(AGENT, store=store, clock=clock)
    log(learner, "coinglass", True)
    log(learner, "kaiko", True)
    rec = learner.recommend(KIND, OPTIONS, BULL, policy="greedy")
    assert rec.best == "glassnode"
    assert pattern.pattern_id in rec.pattern_ids
    assert rec.samples["glassnode"] == 10.0


def test_decision_logger_records_what_it_followed(memory):
    log(memory, "coinglass", True)
    rec = memory.recommend(KIND, OPTIONS, BULL, seed=4)
    decision = DecisionLogger(memory).log_decision(
        KIND, context={"market": BULL}, recommendation=rec
    )
    record = memory.get_decision(decision)
    assert record.reasoning.selected == [rec.choice]
    assert record.reasoning.confidence == pytest.approx(rec.expected_success)
    assert record.reasoning.patterns_applied == rec.pattern_ids
    assert record.metadata["recommendation"]["explored"] is rec.explored
    assert ("explored" in record.tags) is rec.explored


def test_the_specific_logger_methods_take_a_recommendation(memory):
    rec = memory.recommend(KIND, OPTIONS, BULL, seed=1)
    decision = DecisionLogger(memory).log_source_selection(
        OPTIONS, {}, [rec.choice], {"market": BULL}, recommendation=rec
    )
    assert memory.get_decision(decision).reasoning.confidence == rec.expected_success


def test_a_recommendation_must_be_one(memory):
    with pytest.raises(ValidationError) as caught:
        DecisionLogger(memory).log_decision(KIND, recommendation="kaiko")  # type: ignore[arg-type]
    assert caught.value.field == "recommendation"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"options": []}, "options"),
        ({"options": ["a", "a"]}, "options"),
        ({"options": "abc"}, "options"),
        ({"options": ["a", ""]}, "options"),
        ({"policy": "softmax"}, "policy"),
        ({"seed": 1.5}, "seed"),
        ({"context": ["bull"]}, "context"),
        ({"decision_type": ""}, "decision_type"),
    ],
)
def test_bad_input_names_the_argument(memory, kwargs, field):
    call = {"decision_type": KIND, "options": OPTIONS, **kwargs}
    with pytest.raises(ValidationError) as caught:
        memory.recommend(**call)
    assert caught.value.field == field


def test_arecommend_gives_the_same_answer(memory):
    history(memory, {"coinglass": 0.5, "kaiko": 0.7, "glassnode": 0.4}, 6)
    expected = memory.recommend(KIND, OPTIONS, BULL, seed=9)
    assert asyncio.run(memory.arecommend(KIND, OPTIONS, BULL, seed=9)) == expected


def test_arecommend_rejects_bad_input_before_scheduling(memory):
    with pytest.raises(ValidationError):
        asyncio.run(memory.arecommend(KIND, [], BULL))


def test_outcomes_logged_by_racing_processes_are_all_counted(tmp_path, clock):
    from agentmem_langchain.stores.sqlite import SQLiteStore

    stores = [SQLiteStore(tmp_path / "race.db", clock=clock) for _ in range(2)]
    managers = [MemoryManager(AGENT, store=s, clock=clock) for s in stores]
    decisions = [
        [
            DecisionLogger(m).log_decision(KIND, context={"market": BULL}, selected=["kaiko"])
            for _ in range(25)
        ]
        for m in managers
    ]
    workers = [
        threading.Thread(target=lambda m=m, ids=ids: [m.log_outcome(d, success=True) for d in ids])
        for m, ids in zip(managers, decisions, strict=True)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    counts = read_group(stores[0], AGENT, KIND, BULL, clock())
    assert counts.clock == 50
    assert counts.options['{"selected":["kaiko"]}'].seen == 50
    for store in stores:
        store.close()


def test_a_group_keeps_a_bounded_number_of_options_and_short_keys(memory):
    from agentmem_langchain.learning.evidence import MAX_KEY_CHARS, MAX_OPTIONS

    for _ in range(5):  # an option with evidence enough to be kept
        log(memory, "kaiko", True)
    for i in range(MAX_OPTIONS + 36):  # a tool called with ever new arguments, say
        log(memory, f"query-{i:03d}-" + "x" * 300, i % 2 == 0)
    found = memory.store.get_evidence(AGENT, group_key(KIND, BULL))
    counts = read_group(memory.store, AGENT, KIND, BULL, memory.now())
    assert len(counts.options) == MAX_OPTIONS
    assert '{"selected":["kaiko"]}' in counts.options  # the best-evidenced one is kept
    assert all(len(key) <= MAX_KEY_CHARS for key in counts.options)
    assert len(found.data) < 64_000  # far below a DynamoDB item's 400 KB
    long = f"query-{MAX_OPTIONS + 35:03d}-" + "x" * 300  # the newest long option
    rec = memory.recommend(KIND, ["kaiko", long], BULL, policy="greedy")
    assert rec.samples[long] == pytest.approx(1.0) and rec.samples["kaiko"] > 0


def group_key(kind, context):
    from agentmem_langchain.learning.evidence import group_key as key

    return key(kind, context)
