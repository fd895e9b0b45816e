"""``PatternLearner``: the rules that turn groups of decided decisions into patterns.

The learner is pure: it reads decisions and patterns and returns new patterns; storing them
(and doing so safely when consolidators race) is :mod:`.consolidation`'s job.

A group (:class:`~.features.GroupKey`) becomes a served pattern once it has counted
``min_samples`` real outcomes (five outcomes are five, however they decayed since) and its
evidence is conclusive — in whichever consolidation run that happens:

* **avoid** when the lower 95% Wilson bound of its *failure* rate is at least
  ``avoid_above`` (default 0.5: "fails more often than not, at 95%"); ``confidence`` is that
  bound;
* **success** otherwise, when the lower bound of its success rate is at least
  ``retire_below`` (default 0.2); ``confidence`` is that bound.

Smaller or inconclusive groups are kept as ``candidate`` patterns with status ``retired``
(never served) so their counts carry over to the next run. A served pattern whose confidence
decays below ``retire_below`` is retired (kept with its history); new evidence can make it
active again.

**Change**: when the new evidence of a run contradicts the pattern (both have at least
``min_samples`` outcomes and the 95% Wilson interval of the run's outcomes and that of the
pattern's decayed tally do not overlap), the pattern
starts a new epoch: its tally restarts from the new evidence instead of averaging the old
truth with the new one (``epoch`` counts them; earlier versions stay in its ``history``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import _checks as check
from ..config import STM_WINDOW
from ..enums import PatternStatus, PatternType
from ..models import DecisionRecord, MemoryPattern
from .features import ContextFeatures, FeatureExtractor, GroupKey, group_key, recommendation_of
from .stats import Z_95, LearnerState, Tally, wilson_lower_bound, wilson_upper_bound

if TYPE_CHECKING:  # langchain-core loads only when a summarizer is used
    from langchain_core.language_models import BaseChatModel

logger = logging.getLogger(__name__)

#: ``pattern_type`` of groups still gathering evidence (stored retired, never served).
CANDIDATE = "candidate"
#: Where the learner keeps its running tally inside a pattern (see ``learner_state``).
STATE_KEY = "_learner"

_SERVED_TYPES = (PatternType.SUCCESS.value, PatternType.AVOID.value)
_SUMMARY_PROMPT = (
    "You turn statistics about an AI agent's past decisions into one short, practical "
    "insight the agent can act on. Answer with the insight only, in one sentence, and do "
    "not invent numbers."
)


def learner_state(pattern: MemoryPattern) -> LearnerState | None:
    """The learner's state in ``pattern``, or None for patterns it did not learn."""
    return LearnerState.from_json(pattern.recommendation.get(STATE_KEY))


def public_recommendation(pattern: MemoryPattern) -> dict[str, Any]:
    """``pattern.recommendation`` without the learner's bookkeeping."""
    return {k: v for k, v in pattern.recommendation.items() if k != STATE_KEY}


@dataclass
class Batch:
    """New evidence for one group: its tally and the decision ids, oldest first."""

    tally: Tally = field(default_factory=Tally)
    decision_ids: list[str] = field(default_factory=list)

    def add(self, record: DecisionRecord) -> None:
        assert record.outcome is not None
        self.tally = self.tally.add(record.outcome)
        self.decision_ids.append(record.decision_id)


class Verdict(NamedTuple):
    pattern_type: str
    confidence: float
    status: PatternStatus


class PatternLearner:
    """Groups decided decisions and turns each group's statistics into a ``MemoryPattern``.

    >>> learner = PatternLearner(min_samples=5, half_life=timedelta(days=30))
    >>> learner.stm_window
    datetime.timedelta(days=1)

    ``extractors`` (default ``[ContextFeatures()]``) give the conditions, ``recommend`` what
    was chosen. ``summarizer`` (any LangChain chat model, off by default) phrases each newly
    served pattern as an insight that is added to its ``description``.
    """

    def __init__(
        self,
        *,
        min_samples: int = 5,
        extractors: Sequence[FeatureExtractor] | None = None,
        recommend: Callable[[DecisionRecord], Mapping[str, Any]] = recommendation_of,
        half_life: timedelta | None = timedelta(days=30),
        stm_window: timedelta = STM_WINDOW,
        retire_below: float = 0.2,
        avoid_above: float = 0.5,
        evidence_limit: int = MemoryPattern.MAX_EVIDENCE,
        decay_tolerance: float = 0.01,
        z: float = Z_95,
        summarizer: BaseChatModel | None = None,
    ) -> None:
        check.integer(min_samples, "min_samples", low=1)
        check.integer(evidence_limit, "evidence_limit", low=1, high=MemoryPattern.MAX_EVIDENCE)
        for name, value in [("retire_below", retire_below), ("avoid_above", avoid_above)]:
            check.real(value, name, low=0.0, high=1.0)
        check.real(decay_tolerance, "decay_tolerance", low=0.0)
        check.real(z, "z", low=0.0)
        check.duration(stm_window, "stm_window")
        check.duration(half_life, "half_life", optional=True)
        check.function(recommend, "recommend", optional=False)
        self.min_samples = min_samples
        self.extractors: list[FeatureExtractor] = list(extractors or [ContextFeatures()])
        self.recommend = recommend
        self.half_life = half_life
        self.stm_window = stm_window
        self.retire_below = retire_below
        self.avoid_above = avoid_above
        self.evidence_limit = evidence_limit
        self.decay_tolerance = decay_tolerance
        self.z = z
        self.summarizer = summarizer

    # -- grouping -------------------------------------------------------------------------

    def group_of(self, record: DecisionRecord) -> GroupKey | None:
        """The record's group, or None if it chose nothing."""
        return group_key(record, self.extractors, self.recommend)

    def learn(self, records: Iterable[DecisionRecord]) -> dict[GroupKey, Batch]:
        """Group the records that have an outcome (others are ignored)."""
        batches: dict[GroupKey, Batch] = {}
        for record in records:
            key = self.group_of(record) if record.outcome is not None else None
            if key is not None:
                batches.setdefault(key, Batch()).add(record)
        return batches

    # -- patterns -------------------------------------------------------------------------

    def classify(
        self, tally: Tally, previous_type: str | None = None, outcomes: int | None = None
    ) -> Verdict:
        """Type, confidence and status of a group with this tally (see the module doc).

        ``outcomes`` is the real number of outcomes counted (default: the tally's ``n``).
        """
        success_lb = wilson_lower_bound(tally.successes, tally.n, self.z)
        failure_lb = wilson_lower_bound(tally.n - tally.successes, tally.n, self.z)
        promoted = previous_type in _SERVED_TYPES
        counted = tally.n if outcomes is None else max(outcomes, tally.n)
        if counted >= self.min_samples or promoted:
            if failure_lb >= self.avoid_above:
                return Verdict(PatternType.AVOID.value, failure_lb, PatternStatus.ACTIVE)
            if success_lb >= self.retire_below:
                return Verdict(PatternType.SUCCESS.value, success_lb, PatternStatus.ACTIVE)
        if promoted:
            assert previous_type is not None
            bound = failure_lb if previous_type == PatternType.AVOID.value else success_lb
            return Verdict(previous_type, bound, PatternStatus.RETIRED)
        return Verdict(CANDIDATE, success_lb, PatternStatus.RETIRED)

    def update(
        self,
        agent_id: str,
        current: MemoryPattern | None,
        key: GroupKey,
        batch: Batch,
        now: datetime,
    ) -> MemoryPattern:
        """The group's pattern with ``batch`` added (``current`` decayed to ``now`` first).

        Keeps ``current``'s id, version, ``user_metadata``, ``shared_with`` and
        ``created_at``; the caller stores it conditionally on ``current.version``.
        """
        state = learner_state(current) if current is not None else None
        if state is None:
            state = LearnerState(tally=Tally(), as_of=now)
        state = state.decayed(now, self.half_life)
        added = len(batch.decision_ids)
        if self.contradicts(batch.tally, state.tally):
            state = LearnerState(
                tally=batch.tally,
                as_of=state.as_of,
                observed=state.observed + added,
                insight=None,
                epoch=state.epoch + 1,
                epoch_observed=added,
            )
        else:
            state = replace(
                state,
                tally=state.tally + batch.tally,
                observed=state.observed + added,
                epoch_observed=None if state.epoch_observed is None else state.outcomes + added,
            )
        old_evidence = current.evidence if current is not None else []
        evidence = [*old_evidence, *batch.decision_ids][-self.evidence_limit :]
        base = current or MemoryPattern(
            pattern_id=key.pattern_id(agent_id),
            agent_id=agent_id,
            decision_type=key.decision_type,
            conditions=key.conditions_dict(),
            created_at=now,
        )
        previous = current.pattern_type if current is not None else None
        return self._restate(base, key.recommendation_dict(), state, evidence, now, previous)

    def contradicts(self, new: Tally, old: Tally) -> bool:
        """Whether ``new`` evidence contradicts ``old``: each has at least ``min_samples``
        outcomes and their 95% Wilson intervals of the success rate do not overlap."""
        if new.n < self.min_samples or old.n < self.min_samples:
            return False
        new_lb = wilson_lower_bound(new.successes, new.n, self.z)
        new_ub = wilson_upper_bound(new.successes, new.n, self.z)
        old_lb = wilson_lower_bound(old.successes, old.n, self.z)
        old_ub = wilson_upper_bound(old.successes, old.n, self.z)
        return new_ub < old_lb or old_ub < new_lb

    def decay(self, pattern: MemoryPattern, now: datetime) -> MemoryPattern | None:
        """``pattern`` decayed to ``now`` if that moves its confidence by at least
        ``decay_tolerance`` or changes its status; None otherwise (or if not learned)."""
        state = learner_state(pattern)
        if state is None or self.half_life is None:
            return None
        decayed = state.decayed(now, self.half_life)
        verdict = self.classify(decayed.tally, pattern.pattern_type, decayed.outcomes)
        moved = abs(verdict.confidence - pattern.confidence) >= self.decay_tolerance
        if not moved and verdict.status == pattern.status:
            return None
        return self._restate(
            pattern,
            public_recommendation(pattern),
            decayed,
            pattern.evidence,
            now,
            pattern.pattern_type,
        )

    def _restate(
        self,
        base: MemoryPattern,
        recommendation: dict[str, Any],
        state: LearnerState,
        evidence: list[str],
        now: datetime,
        previous_type: str | None,
    ) -> MemoryPattern:
        tally = state.tally
        verdict = self.classify(tally, previous_type, state.outcomes)
        if verdict.pattern_type != previous_type:  # an insight about another verdict is stale
            state = replace(state, insight=None)
        if state.insight is None:
            state = self._with_insight(base, recommendation, verdict, state)
        sentence = self.describe(base.decision_type, base.conditions, recommendation, tally)
        description = f"{sentence} Insight: {state.insight}" if state.insight else sentence
        return base.model_copy(
            update={
                "pattern_type": verdict.pattern_type,
                "status": verdict.status,
                "confidence": verdict.confidence,
                "success_rate": tally.success_rate,
                "sample_size": round(tally.n),
                "success_count": min(round(tally.successes), round(tally.n)),
                "mean_quality": tally.mean_quality,
                "mean_latency_ms": tally.mean_latency_ms,
                "description": description,
                "recommendation": {**recommendation, STATE_KEY: state.to_json()},
                "evidence": evidence,
                "updated_at": now,
            }
        )

    def describe(
        self,
        decision_type: str | None,
        conditions: Mapping[str, Any],
        recommendation: Mapping[str, Any],
        tally: Tally,
    ) -> str:
        """The retrieval text: "For source selection when volatility is high, choosing
        coinglass + cryptoquant succeeded 42 of 50 times (84%, 95% lower bound 71%)"."""
        subject = (decision_type or "decisions").replace("_", " ")
        when = " and ".join(f"{k.replace('_', ' ')} is {v}" for k, v in conditions.items())
        choice = describe_choice(recommendation)
        n = round(tally.n)
        wins = min(round(tally.successes), n)
        rate = tally.success_rate
        head = f"For {subject}{' when ' + when if when else ''}, choosing {choice}"
        verdict = self.classify(tally)
        if verdict.pattern_type == PatternType.AVOID.value:
            return (
                f"{head} failed {n - wins} of {n} times ({1 - rate:.0%}, 95% lower bound "
                f"{verdict.confidence:.0%}); avoid it."
            )
        bound = wilson_lower_bound(tally.successes, tally.n, self.z)
        return f"{head} succeeded {wins} of {n} times ({rate:.0%}, 95% lower bound {bound:.0%})."

    def _with_insight(
        self,
        base: MemoryPattern,
        recommendation: Mapping[str, Any],
        verdict: Verdict,
        state: LearnerState,
    ) -> LearnerState:
        if self.summarizer is None or verdict.status != PatternStatus.ACTIVE:
            return state
        from langchain_core.messages import HumanMessage, SystemMessage

        facts = self.describe(base.decision_type, base.conditions, recommendation, state.tally)
        try:
            reply = self.summarizer.invoke(
                [SystemMessage(content=_SUMMARY_PROMPT), HumanMessage(content=facts)]
            )
        except Exception:  # a summary is optional; the statistics are stored regardless
            logger.warning("pattern summarizer failed; description kept plain", exc_info=True)
            return state
        return replace(state, insight=message_text(reply.content).strip() or None)


def message_text(content: str | list[str | dict[str, Any]]) -> str:
    """The text of a chat message's content (a string or a list of content blocks)."""
    if isinstance(content, str):
        return content
    parts = [b if isinstance(b, str) else str(b.get("text", "")) for b in content]
    return "".join(parts)


def describe_choice(recommendation: Mapping[str, Any]) -> str:
    """``coinglass + cryptoquant`` or ``search (top_k=1-10)`` for a recommendation."""
    selected = recommendation.get("selected") or []
    text = " + ".join(str(s) for s in selected) or "this option"
    arguments = recommendation.get("arguments") or {}
    if arguments:
        text += " (" + ", ".join(f"{k}={v}" for k, v in arguments.items()) + ")"
    return text


__all__ = [
    "CANDIDATE",
    "STATE_KEY",
    "Batch",
    "PatternLearner",
    "Verdict",
    "describe_choice",
    "learner_state",
    "message_text",
    "public_recommendation",
]
