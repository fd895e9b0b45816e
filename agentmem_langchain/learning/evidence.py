"""Outcome counters per (decision type, context): what :func:`~.recommend.recommend` reads.

Every decided outcome logged through a :class:`~agentmem_langchain.memory.MemoryManager`
(``log_decision`` with an outcome, ``log_outcome``, ``update_outcome`` and the
``DecisionLogger`` methods) is counted at once into its group's counters, so a
recommendation sees it without waiting for a consolidation. A group is one decision type in
one context (the conditions :class:`~.features.ContextFeatures` extracts); inside it each
option (what was chosen, :func:`~.features.recommendation_of`) keeps:

* ``n``, ``s``: outcomes and successes, **discounted by evidence**: each decided decision of
  the group multiplies the weight of everything counted before it by ``0.5 ** (1 / H)``
  (``H``: :func:`~agentmem_langchain.config.evidence_half_life`, 100 decisions by default),
  and by time: ``0.5 ** (age / 30 days)``;
* ``window``: its last :data:`WINDOW` outcomes, for **change detection**: when the Wilson
  interval of the last ``w`` outcomes (``w`` in :data:`SPLITS`) and the interval of the
  evidence before them (at least :data:`MIN_OLD` of it) do not overlap, the option starts a
  new epoch: its counts restart from those ``w`` outcomes instead of averaging the old
  truth with the new one;
* ``seen``: real outcomes counted in the current epoch (not discounted), ``epoch``.

Counters are one record per group (:meth:`MemoryStore.get_evidence`), read in one request
and updated by a version-conditional write (retried on a conflict). Each decision is counted
once: a second outcome for a decision already counted (a correction) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..config import evidence_half_life
from ..errors import StateConflictError
from ..models import DecisionRecord
from ..stores.base import Evidence, MemoryStore
from .features import ContextFeatures, canonical, normalise_mapping, recommendation_of
from .stats import Z_95, decay_factor, wilson_lower_bound, wilson_upper_bound

logger = logging.getLogger(__name__)

#: How many of an option's last outcomes are kept for change detection.
WINDOW = 32
#: The recent windows compared with the older evidence.
SPLITS = (12, 20, 32)
#: The (discounted) older evidence needed before a window can contradict it.
MIN_OLD = 12.0
#: The normal quantile of the intervals compared (95%).
CHANGE_Z = Z_95
#: Time decay of the counters, as the learner's default.
TIME_HALF_LIFE = timedelta(days=30)
#: Decision ids remembered per group, so a corrected outcome is not counted twice.
_RECENT_IDS = 64
_ATTEMPTS = 8


def group_key(decision_type: str, conditions: Mapping[str, str]) -> str:
    """The counters' key of a decision type in a context (32 hex digits)."""
    text = f"{decision_type}\x1f{canonical(dict(conditions))}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def option_key(option: str) -> str:
    """The key of an option offered to ``recommend``: what choosing it alone records."""
    return canonical({"selected": [option]})


def context_conditions(context: Mapping[str, Any] | None) -> dict[str, str]:
    """The conditions of a ``recommend`` context: the rules of :class:`ContextFeatures`
    applied to the mapping (what a decision logged with it in ``market`` or ``extra`` gets).
    """
    return normalise_mapping(context or {})


@dataclass
class OptionCounts:
    """One option's discounted evidence at the group's current clock."""

    n: float = 0.0
    s: float = 0.0
    seen: int = 0
    epoch: int = 0

    @property
    def mean(self) -> float:
        """Expected success: the mean of the Beta(1 + s, 1 + n - s) posterior."""
        return (self.s + 1.0) / (self.n + 2.0)


@dataclass
class GroupCounts:
    """What recommend reads: each option's counts and how many outcomes the group has had."""

    clock: int
    options: dict[str, OptionCounts]


class _Counters:
    """The JSON document of one group, with the update and read rules."""

    def __init__(self, data: dict[str, Any], half_life: float) -> None:
        self.clock: int = int(data.get("clock", 0))
        self.options: dict[str, dict[str, Any]] = dict(data.get("options", {}))
        self.ids: list[str] = list(data.get("ids", []))
        self.gamma = 0.5 ** (1.0 / half_life)

    def dump(self) -> str:
        return json.dumps(
            {"clock": self.clock, "options": self.options, "ids": self.ids},
            separators=(",", ":"),
        )

    def factor(self, entry: Mapping[str, Any], now: datetime) -> float:
        age = self.clock - int(entry["t"])
        at = datetime.fromisoformat(str(entry["at"]))
        return float(self.gamma**age) * decay_factor(now - at, TIME_HALF_LIFE)

    def counts(self, entry: Mapping[str, Any], now: datetime) -> OptionCounts:
        f = self.factor(entry, now)
        return OptionCounts(
            n=float(entry["n"]) * f,
            s=float(entry["s"]) * f,
            seen=int(entry["seen"]),
            epoch=int(entry["epoch"]),
        )

    def add(self, option: str, success: bool, now: datetime) -> None:
        self.clock += 1
        entry = self.options.get(option) or {
            "n": 0.0,
            "s": 0.0,
            "t": self.clock,
            "at": now.isoformat(),
            "seen": 0,
            "epoch": 0,
            "window": [],
        }
        f = self.factor(entry, now)
        window = [*entry["window"], [self.clock, int(success)]][-WINDOW:]
        entry = {
            **entry,
            "n": float(entry["n"]) * f + 1.0,
            "s": float(entry["s"]) * f + (1.0 if success else 0.0),
            "t": self.clock,
            "at": max(now, datetime.fromisoformat(str(entry["at"]))).isoformat(),
            "seen": int(entry["seen"]) + 1,
            "window": window,
        }
        self.options[option] = self._detect_change(entry)

    def _detect_change(self, entry: dict[str, Any]) -> dict[str, Any]:
        window = entry["window"]
        for w in SPLITS:
            if len(window) < w:
                return entry
            recent = window[-w:]
            wins = sum(x for _, x in recent)
            weight = sum(self.gamma ** (self.clock - t) for t, _ in recent)
            weighted_wins = sum(self.gamma ** (self.clock - t) * x for t, x in recent)
            old_n = float(entry["n"]) - weight
            old_s = min(max(float(entry["s"]) - weighted_wins, 0.0), max(old_n, 0.0))
            if old_n < MIN_OLD:
                continue
            if _disjoint(wins, w, old_s, old_n):
                return {
                    **entry,
                    "n": weight,
                    "s": weighted_wins,
                    "seen": w,
                    "epoch": int(entry["epoch"]) + 1,
                    "window": recent,
                }
        return entry


def _disjoint(k1: float, n1: float, k2: float, n2: float) -> bool:
    """Whether the Wilson intervals of k1/n1 and k2/n2 do not overlap."""
    z = CHANGE_Z
    return wilson_upper_bound(k1, n1, z) < wilson_lower_bound(k2, n2, z) or wilson_upper_bound(
        k2, n2, z
    ) < wilson_lower_bound(k1, n1, z)


def read_group(
    store: MemoryStore,
    agent_id: str,
    decision_type: str,
    conditions: Mapping[str, str],
    now: datetime,
    half_life: float | None = None,
) -> GroupCounts:
    """The group's counters brought to ``now`` (one store read)."""
    found = store.get_evidence(agent_id, group_key(decision_type, conditions))
    if found is None:
        return GroupCounts(clock=0, options={})
    counters = _Counters(json.loads(found.data), half_life or evidence_half_life())
    options = {key: counters.counts(entry, now) for key, entry in counters.options.items()}
    return GroupCounts(clock=counters.clock, options=options)


def count_outcome(
    store: MemoryStore,
    record: DecisionRecord,
    now: datetime,
    half_life: float | None = None,
) -> bool:
    """Count ``record``'s outcome into its group's counters; False when there is nothing to
    count (no outcome or no success/failure, nothing chosen, already counted).

    ``StateConflictError`` only if the counters kept changing under it ``8`` times.
    """
    outcome = record.outcome
    option = canonical(recommendation_of(record)) if record.reasoning.selected else None
    if outcome is None or outcome.success is None or option is None:
        return False
    key = group_key(record.decision_type, ContextFeatures()(record))
    for _ in range(_ATTEMPTS):
        found = store.get_evidence(record.agent_id, key)
        data = json.loads(found.data) if found is not None else {}
        counters = _Counters(data, half_life or evidence_half_life())
        if record.decision_id in counters.ids:
            return False
        counters.add(option, bool(outcome.success), now)
        counters.ids = [*counters.ids, record.decision_id][-_RECENT_IDS:]
        version = found.version if found is not None else None
        evidence = Evidence(record.agent_id, key, (version or 0) + 1, counters.dump())
        try:
            store.put_evidence(evidence, expected_version=version)
        except StateConflictError:
            continue
        return True
    raise StateConflictError(f"evidence {key!r}: still conflicting after {_ATTEMPTS} attempts")


def count_quietly(store: MemoryStore, record: DecisionRecord, now: datetime) -> None:
    """:func:`count_outcome`, logging instead of raising: the outcome itself is stored
    already, and the counters are derived from it."""
    try:
        count_outcome(store, record, now)
    except Exception:
        logger.warning(
            "outcome of decision %r not counted for recommend()",
            record.decision_id,
            exc_info=True,
        )


__all__ = [
    "MIN_OLD",
    "SPLITS",
    "WINDOW",
    "GroupCounts",
    "OptionCounts",
    "context_conditions",
    "count_outcome",
    "count_quietly",
    "group_key",
    "option_key",
    "read_group",
]
