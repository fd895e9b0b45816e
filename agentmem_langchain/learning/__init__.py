"""Learning: STM decisions → versioned, statistically honest LTM patterns.

>>> from agentmem_langchain.learning import PatternLearner, consolidate
>>> learner = PatternLearner(min_samples=5)

* :mod:`.features` — what decisions are grouped by (conditions, recommendation, bins);
* :mod:`.stats` — the Wilson lower bound (``confidence``), decay, running tallies;
* :mod:`.learner` — :class:`PatternLearner`, the rules from a group's tally to a pattern;
* :mod:`.consolidation` — :func:`consolidate`, :class:`ConsolidationScheduler`, ``handler``;
* :mod:`.evidence` — outcome counters per decision type and context, updated as outcomes
  are logged (forgetting by evidence, change detection);
* :mod:`.recommend` — :class:`Recommendation` and the policies of ``MemoryManager.recommend``.
"""

from __future__ import annotations

from .consolidation import (
    LEASE_TYPE,
    ConsolidationResult,
    ConsolidationScheduler,
    consolidate,
    handler,
)
from .evidence import count_outcome, read_group
from .features import Bins, ContextFeatures, FeatureExtractor, GroupKey, recommendation_of
from .learner import CANDIDATE, PatternLearner, learner_state, public_recommendation
from .recommend import POLICIES, Recommendation, recommend
from .stats import Z_95, decay_factor, rank_score, wilson_lower_bound, wilson_upper_bound

__all__ = [
    "CANDIDATE",
    "LEASE_TYPE",
    "POLICIES",
    "Z_95",
    "Bins",
    "ConsolidationResult",
    "ConsolidationScheduler",
    "ContextFeatures",
    "FeatureExtractor",
    "GroupKey",
    "PatternLearner",
    "Recommendation",
    "consolidate",
    "count_outcome",
    "decay_factor",
    "handler",
    "learner_state",
    "public_recommendation",
    "rank_score",
    "read_group",
    "recommend",
    "recommendation_of",
    "wilson_lower_bound",
    "wilson_upper_bound",
]
