"""Learning: STM decisions → versioned, statistically honest LTM patterns.

>>> from agentmem_langchain.learning import PatternLearner, consolidate
>>> learner = PatternLearner(min_samples=5)

* :mod:`.features` — what decisions are grouped by (conditions, recommendation, bins);
* :mod:`.stats` — the Wilson lower bound (``confidence``), decay, running tallies;
* :mod:`.learner` — :class:`PatternLearner`, the rules from a group's tally to a pattern;
* :mod:`.consolidation` — :func:`consolidate`, :class:`ConsolidationScheduler`, ``handler``.
"""

from __future__ import annotations

from .consolidation import (
    LEASE_TYPE,
    ConsolidationResult,
    ConsolidationScheduler,
    consolidate,
    handler,
)
from .features import Bins, ContextFeatures, FeatureExtractor, GroupKey, recommendation_of
from .learner import CANDIDATE, PatternLearner, learner_state, public_recommendation
from .stats import Z_95, decay_factor, wilson_lower_bound

__all__ = [
    "CANDIDATE",
    "LEASE_TYPE",
    "Z_95",
    "Bins",
    "ConsolidationResult",
    "ConsolidationScheduler",
    "ContextFeatures",
    "FeatureExtractor",
    "GroupKey",
    "PatternLearner",
    "consolidate",
    "decay_factor",
    "handler",
    "learner_state",
    "public_recommendation",
    "recommendation_of",
    "wilson_lower_bound",
]
