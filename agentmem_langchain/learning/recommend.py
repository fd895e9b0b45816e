"""``recommend()``: which option to take now, the way a contextual bandit would choose.

>>> rec = memory.recommend("source_selection", ["coinglass", "kaiko"],   # doctest: +SKIP
...                        context={"regime": "bull"}, seed=7)
>>> rec.choice, rec.best, rec.explored                                    # doctest: +SKIP
('kaiko', 'coinglass', True)

The evidence of an option ``o`` is its counters in this decision type and context
(:mod:`.evidence`: outcomes counted as they are logged, discounted by evidence and time, with
change detection), plus, for patterns other agents shared with this agent that match the
type, the option and conditions the context has, ``min(sample_size, 10)`` pseudo-outcomes at
the pattern's success rate. With ``n_o`` outcomes and ``s_o`` successes, the posterior of its
success rate is ``Beta(1 + s_o, 1 + n_o - s_o)``; its mean ``(s_o + 1) / (n_o + 2)`` is the
**expected success**, and ``best`` is the option with the highest one.

Policies (each first tries the options never tried, in the order given):

* ``"thompson"`` (default): draw ``θ_o ~ Beta(1 + s_o, 1 + n_o - s_o)`` for every option and
  take the highest draw. It explores in proportion to the chance an option is the best.
* ``"ucb"``: take the highest upper quantile ``mean_o + z_N · sd_o`` of the posteriors,
  ``sd_o`` the posterior's standard deviation, ``z_N = Φ⁻¹(1 - 1 / (N + 1))`` and
  ``N = max(Σ n_o, 1)`` (Bayes-UCB with a normal approximation; deterministic). It explores
  less than Thompson sampling, so it earns more on short runs and names the best option a
  little less often.
* ``"greedy"``: take ``best`` (exploit only).

**Avoid**: an option whose failure rate's 95% Wilson lower bound is at least 0.5 on at
least 5 (discounted) outcomes — the learner's avoid rule — or that a matching shared avoid
pattern names is not chosen, unless every option is avoided. As its evidence fades with
newer decisions of the group, it is tried again.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..enums import PatternType
from ..errors import ValidationError, _repr
from ..models import MemoryPattern, enum_value
from ..stores.base import MemoryStore
from .evidence import GroupCounts, context_conditions, option_key, read_group, stored_key
from .features import GroupKey, canonical
from .stats import beta_mean_sd, wilson_lower_bound

POLICIES = ("thompson", "ucb", "greedy")
#: How many pseudo-outcomes a shared pattern contributes at most.
SHARED_PRIOR_CAP = 10.0
#: The learner's avoid rule: failure lower bound and (discounted) outcomes.
AVOID_ABOVE = 0.5
AVOID_MIN_SAMPLES = 5.0
_SHARED_LIMIT = 100
_NORMAL = NormalDist()


class Recommendation(BaseModel):
    """What to do now, and why.

    ``choice`` is the option to take now; ``best`` the one with the highest expected success
    on the evidence; ``explored`` is ``choice != best``. ``expected_success`` and
    ``lower_bound`` (95% Wilson) are the choice's; ``samples`` is the effective (discounted)
    evidence of each option; ``pattern_ids`` the patterns whose evidence it drew on (this
    agent's pattern of each option it has outcomes for, as consolidation names it, and the
    shared patterns used); ``reason`` one line for a prompt or a log.
    """

    model_config = ConfigDict(frozen=True)

    choice: str
    best: str
    explored: bool
    expected_success: float
    lower_bound: float
    samples: dict[str, float]
    pattern_ids: list[str]
    reason: str
    policy: str
    decision_type: str
    conditions: dict[str, str] = Field(default_factory=dict)
    expected: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class RecommendRequest:
    """A checked ``recommend`` call (bad input raises ``ValidationError`` in :meth:`checked`)."""

    decision_type: str
    options: tuple[str, ...]
    conditions: dict[str, str]
    policy: str
    seed: int | None

    @classmethod
    def checked(
        cls,
        decision_type: Any,
        options: Any,
        context: Any = None,
        policy: Any = "thompson",
        seed: Any = None,
    ) -> RecommendRequest:
        """The request, or ``ValidationError`` naming the bad argument."""
        kind = enum_value(decision_type) if decision_type is not None else None
        if not isinstance(kind, str) or not kind.strip():
            raise ValidationError(
                f"decision_type: must be a non-empty string (got {_repr(decision_type)})",
                field="decision_type",
                value=decision_type,
            )
        return cls(kind, _options(options), _conditions(context), _policy(policy), _seed(seed))

    def run(
        self,
        store: MemoryStore,
        agent_id: str,
        now: datetime,
        half_life: float | None = None,
    ) -> Recommendation:
        """Read the evidence (two store requests) and choose."""
        counts = read_group(store, agent_id, self.decision_type, self.conditions, now, half_life)
        shared = [
            p for p in store.list_shared_patterns(agent_id, limit=_SHARED_LIMIT) if self._matches(p)
        ]
        return self.choose(agent_id, counts, shared)

    def _matches(self, pattern: MemoryPattern) -> bool:
        if pattern.decision_type != self.decision_type:
            return False
        if any(self.conditions.get(k) != v for k, v in pattern.conditions.items()):
            return False
        return _shared_option(pattern) in self.options

    def choose(
        self, agent_id: str, counts: GroupCounts, shared: Sequence[MemoryPattern]
    ) -> Recommendation:
        """The recommendation from this evidence (pure; the seed makes it reproducible)."""
        rng = random.Random(self.seed)
        n: dict[str, float] = {}
        s: dict[str, float] = {}
        avoided: set[str] = set()
        ids: list[str] = []
        conditions = canonical(self.conditions)
        for option in self.options:
            own = counts.options.get(stored_key(option_key(option)))
            n[option], s[option] = (own.n, own.s) if own is not None else (0.0, 0.0)
            if own is not None:
                key = GroupKey(self.decision_type, option_key(option), conditions)
                ids.append(key.pattern_id(agent_id))
                if own.n >= AVOID_MIN_SAMPLES and (
                    wilson_lower_bound(own.n - own.s, own.n) >= AVOID_ABOVE
                ):
                    avoided.add(option)
        for pattern in shared:
            named = _shared_option(pattern)
            if named is None:
                continue
            option = named
            ids.append(pattern.pattern_id)
            if pattern.pattern_type == PatternType.AVOID.value:
                avoided.add(option)
                continue
            weight = min(float(pattern.sample_size), SHARED_PRIOR_CAP)
            n[option] += weight
            s[option] += weight * pattern.success_rate
        candidates = [o for o in self.options if o not in avoided] or list(self.options)
        expected = {o: beta_mean_sd(s[o], n[o])[0] for o in self.options}
        best = max(candidates, key=lambda o: expected[o])  # first of equals, in given order
        untried = [o for o in candidates if n[o] <= 0.0]
        if untried:
            choice, why = untried[0], "never tried"
        else:
            choice, why = self._pick(rng, candidates, n, s, expected)
        return Recommendation(
            choice=choice,
            best=best,
            explored=choice != best,
            expected_success=expected[choice],
            lower_bound=wilson_lower_bound(s[choice], n[choice]),
            samples={o: round(n[o], 6) for o in self.options},
            pattern_ids=ids,
            reason=self._reason(choice, best, why, n, expected, avoided),
            policy=self.policy,
            decision_type=self.decision_type,
            conditions=dict(self.conditions),
            expected=expected,
        )

    def _pick(
        self,
        rng: random.Random,
        candidates: list[str],
        n: Mapping[str, float],
        s: Mapping[str, float],
        expected: Mapping[str, float],
    ) -> tuple[str, str]:
        if self.policy == "thompson":
            draws = {
                o: rng.betavariate(1.0 + s[o], 1.0 + max(n[o] - s[o], 0.0)) for o in candidates
            }
            return max(candidates, key=lambda o: draws[o]), "highest Thompson draw"
        if self.policy == "ucb":
            total = max(sum(n[o] for o in candidates), 1.0)
            z = _NORMAL.inv_cdf(1.0 - 1.0 / (total + 1.0))
            scores = {o: expected[o] + z * beta_mean_sd(s[o], n[o])[1] for o in candidates}
            return max(candidates, key=lambda o: scores[o]), "highest upper confidence bound"
        return max(candidates, key=lambda o: expected[o]), "highest expected success"

    def _reason(
        self,
        choice: str,
        best: str,
        why: str,
        n: Mapping[str, float],
        expected: Mapping[str, float],
        avoided: set[str],
    ) -> str:
        def about(o: str) -> str:
            return f"{o} ({expected[o]:.0%} expected on {n[o]:.1f} outcomes)"

        text = f"{self.policy}: {about(choice)}, {why}"
        if choice != best:
            text += f"; exploring instead of the best, {about(best)}"
        if avoided:
            text += f"; avoiding {', '.join(sorted(avoided))}"
        return text


def _shared_option(pattern: MemoryPattern) -> str | None:
    selected = pattern.recommendation.get("selected")
    if isinstance(selected, list) and len(selected) == 1 and isinstance(selected[0], str):
        return selected[0]
    return None


def _options(options: Any) -> tuple[str, ...]:
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
        raise ValidationError(
            f"options: expected a sequence of option names (got {_repr(options)})",
            field="options",
            value=options,
        )
    found = tuple(options)
    if not found or any(not isinstance(o, str) or not o for o in found):
        raise ValidationError(
            f"options: expected at least one non-empty string (got {_repr(options)})",
            field="options",
            value=options,
        )
    if len(set(found)) != len(found):
        raise ValidationError(
            f"options: each option once (got {_repr(options)})", field="options", value=options
        )
    return found


def _conditions(context: Any) -> dict[str, str]:
    if context is not None and not isinstance(context, Mapping):
        raise ValidationError(
            f"context: expected a mapping (got {type(context).__name__})",
            field="context",
            value=context,
        )
    return context_conditions(context)


def _policy(policy: Any) -> str:
    if policy not in POLICIES:
        raise ValidationError(
            f"policy: expected one of {', '.join(POLICIES)} (got {_repr(policy)})",
            field="policy",
            value=policy,
        )
    return str(policy)


def _seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValidationError(
            f"seed: expected an integer or None (got {_repr(seed)})", field="seed", value=seed
        )
    return seed


def recommend(
    store: MemoryStore,
    agent_id: str,
    decision_type: str,
    options: Sequence[str],
    context: Mapping[str, Any] | None = None,
    *,
    policy: str = "thompson",
    seed: int | None = None,
    now: datetime,
    half_life: float | None = None,
) -> Recommendation:
    """Which of ``options`` ``agent_id`` should take now (see the module doc).

    ``ValidationError`` (naming the argument) for an empty or repeated option, an unknown
    policy, a context that is not a mapping or a seed that is not an integer.
    """
    request = RecommendRequest.checked(decision_type, options, context, policy, seed)
    return request.run(store, agent_id, now, half_life)


__all__ = ["POLICIES", "RecommendRequest", "Recommendation", "recommend"]
