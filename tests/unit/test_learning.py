"""Pattern statistics, feature extraction and the learner's rules (no store involved)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from agentmem_langchain import DecisionOutcome, DecisionRecord
from agentmem_langchain.learning import (
    Bins,
    ContextFeatures,
    PatternLearner,
    decay_factor,
    learner_state,
    public_recommendation,
    recommendation_of,
    wilson_lower_bound,
)
from agentmem_langchain.learning.features import numeric_bin
from agentmem_langchain.learning.stats import Z_95, Tally

NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)
TRUTH = {("high", "A"): 0.8, ("high", "B"): 0.4, ("low", "A"): 0.4, ("low", "B"): 0.8}


def decision(volatility: str, source: str, success: bool | None, **extra: object) -> DecisionRecord:
    outcome = None if success is None else DecisionOutcome(success=success, **extra)  # type: ignore[arg-type]
    return DecisionRecord(
        agent_id="agent-1",
        decision_type="source_selection",
        timestamp=NOW - timedelta(hours=1),
        context={"market": {"volatility": volatility}},
        reasoning={"selected": [source]},
        outcome=outcome,
    )


def synthetic(n_per_group: int, seed: int = 7) -> list[DecisionRecord]:
    rng = random.Random(seed)
    return [
        decision(vol, src, rng.random() < p)
        for (vol, src), p in TRUTH.items()
        for _ in range(n_per_group)
    ]


def reference_wilson(k: float, n: float, z: float = Z_95) -> float:
    p = k / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (
        1 + z * z / n
    )


@pytest.mark.parametrize(("k", "n"), [(42, 50), (5, 5), (0, 5), (1, 3), (500, 1000), (7.5, 12.25)])
def test_wilson_lower_bound_matches_the_formula(k, n):
    assert wilson_lower_bound(k, n) == pytest.approx(max(0.0, reference_wilson(k, n)), abs=1e-9)


def test_wilson_lower_bound_is_zero_without_samples():
    assert wilson_lower_bound(0, 0) == 0.0


def test_decay_halves_evidence_every_half_life():
    assert decay_factor(timedelta(days=60), timedelta(days=30)) == pytest.approx(0.25)
    assert decay_factor(timedelta(days=60), None) == 1.0
    assert decay_factor(timedelta(days=-1), timedelta(days=30)) == 1.0


def test_tally_means_ignore_missing_values():
    tally = Tally().add(DecisionOutcome(success=True, quality_score=0.5, latency_ms=100.0))
    tally = tally.add(DecisionOutcome(success=False))
    assert (tally.n, tally.successes, tally.mean_quality, tally.mean_latency_ms) == (
        2,
        1,
        0.5,
        100.0,
    )


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0.1, "low"),
        (0.5, "medium"),
        (0.9, "high"),
        (1.0, "high"),
        (45000.0, "10k-100k"),
        (-3, "<0"),
        (7, "1-10"),
    ],
)
def test_numbers_fall_into_documented_bins(value, label):
    assert numeric_bin(value) == label


def test_context_features_keep_categories_and_bin_numbers():
    record = DecisionRecord(
        agent_id="a",
        decision_type="custom",
        context={
            "market": {"volatility": 0.03, "regime": "bull", "news": "x" * 200, "up": True},
            "region": "eu",
        },
    )
    features = ContextFeatures(bins={"volatility": Bins((0.02, 0.05), ("low", "mid", "high"))})
    assert features(record) == {
        "region": "eu",
        "regime": "bull",
        "up": "true",
        "volatility": "mid",
    }


def test_tool_calls_recommend_the_tool_and_normalised_arguments():
    record = DecisionRecord(
        agent_id="a",
        decision_type="tool_call",
        context={"inputs": {"symbol": "BTC", "limit": 50, "prompt": "y" * 100}},
        reasoning={"selected": ["get_price"]},
    )
    assert recommendation_of(record) == {
        "selected": ["get_price"],
        "arguments": {"limit": "10-100", "symbol": "BTC"},
    }


def test_learned_groups_recover_the_known_truth():
    learner = PatternLearner()
    batches = learner.learn(synthetic(400))
    rates = {
        (k.conditions_dict()["volatility"], k.recommendation_dict()["selected"][0]): b.tally
        for k, b in batches.items()
    }
    assert set(rates) == set(TRUTH)
    for group, tally in rates.items():
        assert tally.n == 400
        assert tally.success_rate == pytest.approx(TRUTH[group], abs=0.06)


def test_decisions_without_outcome_or_choice_are_not_learned():
    undecided = decision("high", "A", None)
    no_choice = decision("high", "A", True)
    no_choice.reasoning.selected = []
    assert PatternLearner().learn([undecided, no_choice]) == {}


def test_pattern_statistics_and_description():
    learner = PatternLearner()
    records = [decision("high", "A", i < 42, quality_score=0.8, latency_ms=10.0) for i in range(50)]
    ((key, batch),) = learner.learn(records).items()
    pattern = learner.update("agent-1", None, key, batch, NOW)
    assert (pattern.pattern_type, pattern.status) == ("success", "active")
    assert (pattern.sample_size, pattern.success_count, pattern.success_rate) == (50, 42, 0.84)
    assert pattern.confidence == pytest.approx(reference_wilson(42, 50), abs=1e-9)
    assert (pattern.mean_quality, pattern.mean_latency_ms) == (pytest.approx(0.8), 10.0)
    assert pattern.description == (
        "For source selection when volatility is high, choosing A succeeded 42 of 50 times "
        "(84%, 95% lower bound 71%)."
    )
    assert pattern.conditions == {"volatility": "high"}
    assert public_recommendation(pattern) == {"selected": ["A"]}
    assert pattern.evidence == [r.decision_id for r in records]
    assert pattern.pattern_id == key.pattern_id("agent-1")


def test_mostly_failing_group_becomes_an_avoid_pattern():
    learner = PatternLearner()
    ((key, batch),) = learner.learn([decision("low", "A", i < 5) for i in range(40)]).items()
    pattern = learner.update("agent-1", None, key, batch, NOW)
    assert pattern.pattern_type == "avoid"
    assert pattern.confidence == pytest.approx(reference_wilson(35, 40), abs=1e-9)
    assert "failed 35 of 40 times" in pattern.description


def test_small_group_is_a_retired_candidate_until_min_samples():
    learner = PatternLearner(min_samples=5)
    ((key, batch),) = learner.learn([decision("high", "A", True) for _ in range(4)]).items()
    pattern = learner.update("agent-1", None, key, batch, NOW)
    assert (pattern.pattern_type, pattern.status) == ("candidate", "retired")
    ((_, more),) = learner.learn([decision("high", "A", True)]).items()
    promoted = learner.update("agent-1", pattern, key, more, NOW)
    assert (promoted.pattern_type, promoted.status, promoted.sample_size) == (
        "success",
        "active",
        5,
    )


def test_update_keeps_user_metadata_and_sharing():
    learner = PatternLearner()
    ((key, batch),) = learner.learn([decision("high", "A", True) for _ in range(6)]).items()
    first = learner.update("agent-1", None, key, batch, NOW)
    first.user_metadata = {"owner": "quant-team"}
    first.shared_with = ["agent-2"]
    second = learner.update("agent-1", first, key, batch, NOW)
    assert second.user_metadata == {"owner": "quant-team"}
    assert second.shared_with == ["agent-2"]
    assert second.sample_size == 12


def test_evidence_is_bounded_to_the_most_recent():
    learner = PatternLearner(evidence_limit=10)
    records = [decision("high", "A", True) for _ in range(30)]
    ((key, batch),) = learner.learn(records).items()
    pattern = learner.update("agent-1", None, key, batch, NOW)
    assert pattern.evidence == [r.decision_id for r in records[-10:]]


def test_old_evidence_decays_before_new_evidence_is_added():
    learner = PatternLearner(half_life=timedelta(days=10))
    ((key, batch),) = learner.learn([decision("high", "A", True) for _ in range(20)]).items()
    first = learner.update("agent-1", None, key, batch, NOW)
    later = learner.update("agent-1", first, key, batch, NOW + timedelta(days=10))
    state = learner_state(later)
    assert state is not None
    assert state.tally.n == pytest.approx(30)  # 20 halved to 10, plus 20 new
    assert later.sample_size == 30
    assert state.observed == 40


def test_summarizer_phrases_served_patterns_as_insights():
    model = FakeListChatModel(responses=["Prefer A when markets are volatile."])
    learner = PatternLearner(summarizer=model)
    ((key, batch),) = learner.learn([decision("high", "A", True) for _ in range(10)]).items()
    pattern = learner.update("agent-1", None, key, batch, NOW)
    assert pattern.description.endswith("Insight: Prefer A when markets are volatile.")
    assert pattern.description.startswith("For source selection when volatility is high")


def test_summarizer_failure_keeps_the_plain_description():
    model = FakeListChatModel(responses=[])  # raises on call
    learner = PatternLearner(summarizer=model)
    ((key, batch),) = learner.learn([decision("high", "A", True) for _ in range(10)]).items()
    pattern = learner.update("agent-1", None, key, batch, NOW)
    assert "Insight" not in pattern.description
    assert pattern.sample_size == 10
