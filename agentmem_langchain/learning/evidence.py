"""Outcome counters per (decision type, context): what :func:`~.recommend.recommend` reads.

Every decided outcome of a choice (a decision with ``selected`` and a success or failure)
is counted at once into its group's counters, so a recommendation sees it without waiting
for a consolidation: those logged through a :class:`~agentmem_langchain.memory.MemoryManager`
(``log_decision`` with an outcome, ``log_outcome``, ``update_outcome`` and the
``DecisionLogger`` methods) as they are stored, and those captured by ``@decision``, the
callback handler and the middleware as the recorder writes them. A group is one decision type in
one context (the conditions :class:`~.features.ContextFeatures` extracts); inside it each
option (what was chosen, :func:`~.features.recommendation_of`) keeps:

* ``n``, ``s``: outcomes and successes, **discounted by evidence**: each decided decision of
  the group multiplies the weight of everything counted before it by ``0.5 ** (1 / H)``
  (``H``: :func:`~agentmem_langchain.config.evidence_half_life`, 100 decisions by default),
  and by time: ``0.5 ** (age / 30 days)``;
* ``window``: its last :data:`WINDOW` outcomes, for **change detection**: when the Wilson
  interval of the last ``w`` outcomes (``w`` in :data:`SPLITS`) and the interval of the
  evidence before them (at least :data:`MIN_OLD` of it) do not overlap, on :data:`CONFIRM`
  consecutive outcomes of the option, the option starts a new epoch: its counts restart
  from those ``w`` outcomes instead of averaging the old truth with the new one;
* ``seen``: real outcomes counted in the current epoch (not discounted), ``epoch``.

Counters are one record per group (:meth:`MemoryStore.get_evidence`), read in one request
and updated by a version-conditional write (retried on a conflict). Each decision is counted
once: a later outcome for one of the group's last :data:`RECENT` decisions (a decorated
function's provisional success, then the real outcome) replaces the one counted; for an
older decision it is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

from ..config import evidence_half_life
from ..errors import StateConflictError
from ..models import DecisionRecord
from ..stores.base import EncodedDecision, Evidence, MemoryStore
from .features import ContextFeatures, canonical, normalise_mapping, recommendation_of
from .stats import Z_95, decay_factor, wilson_lower_bound, wilson_upper_bound

logger = logging.getLogger(__name__)

#: How many of an option's last outcomes are kept for change detection.
WINDOW = 32
#: The recent windows compared with the older evidence.
SPLITS = (12, 16, 24, 32)
#: Consecutive outcomes of an option that must each show the change before it is acted on
#: (one unlucky streak is not a change).
CONFIRM = 2
#: The (discounted) older evidence needed before a window can contradict it.
MIN_OLD = 12.0
#: The normal quantile of the intervals compared (95%).
CHANGE_Z = Z_95
#: Time decay of the counters, as the learner's default.
TIME_HALF_LIFE = timedelta(days=30)
#: Decisions remembered per group, so a corrected outcome replaces the one counted.
RECENT = 64
#: Options kept per group: a new one evicts the option with the least (discounted) evidence.
MAX_OPTIONS = 64
#: An option whose key is longer than this is kept under a digest of it (tool arguments).
MAX_KEY_CHARS = 200
_ATTEMPTS = 8


def group_key(decision_type: str, conditions: Mapping[str, str]) -> str:
    """The counters' key of a decision type in a context (32 hex digits)."""
    text = f"{decision_type}\x1f{canonical(dict(conditions))}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def option_key(option: str) -> str:
    """The key of an option offered to ``recommend``: what choosing it alone records."""
    return canonical({"selected": [option]})


def stored_key(key: str) -> str:
    """What an option's counts are kept under: its key, or a digest of a long one."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    return "#" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


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
        # [decision id, option, success (0/1), clock when counted], newest last
        self.recent: list[list[Any]] = [list(r) for r in data.get("recent", [])]
        self.gamma = 0.5 ** (1.0 / half_life)

    def dump(self) -> str:
        return json.dumps(
            {"clock": self.clock, "options": self.options, "recent": self.recent},
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
        if option not in self.options and len(self.options) >= MAX_OPTIONS:
            weakest = min(
                self.options,
                key=lambda o: float(self.options[o]["n"]) * self.factor(self.options[o], now),
            )
            del self.options[weakest]
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

    def count(self, decision_id: str, option: str, success: bool, now: datetime) -> bool:
        """Count a decision's outcome, or correct the one counted for it; False if the same
        outcome was counted already."""
        for item in self.recent:
            if item[0] == decision_id:
                return self._correct(item, success)
        self.add(option, success, now)
        self.recent = [*self.recent, [decision_id, option, int(success), self.clock]][-RECENT:]
        return True

    def _correct(self, item: list[Any], success: bool) -> bool:
        _, option, before, at_clock = item
        if int(success) == int(before):
            return False
        item[2] = int(success)
        entry = self.options.get(option)
        if entry is None or int(at_clock) < int(entry.get("since", 0)):
            return True  # counted in an epoch since closed: nothing of it is left to correct
        delta = (1.0 if success else -1.0) * self.gamma ** (int(entry["t"]) - int(at_clock))
        n = float(entry["n"])
        entry["s"] = min(max(float(entry["s"]) + delta, 0.0), n)
        entry["window"] = [
            [c, int(success)] if c == at_clock else [c, x] for c, x in entry["window"]
        ]
        return True

    def _detect_change(self, entry: dict[str, Any]) -> dict[str, Any]:
        changed = self._changed(entry)
        if changed is None:
            return {**entry, "pending": 0}
        pending = int(entry.get("pending", 0)) + 1
        return {**entry, "pending": pending} if pending < CONFIRM else changed

    def _changed(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The entry restarted from its recent window, if that contradicts the rest."""
        window = entry["window"]
        if len(window) < SPLITS[0]:
            return None
        wins = 0
        weight = weighted_wins = 0.0
        sizes = iter(SPLITS)
        w = next(sizes)
        for taken, (t, x) in enumerate(reversed(window), start=1):  # newest first, one pass
            factor = self.gamma ** (self.clock - t)
            wins += x
            weight += factor
            weighted_wins += factor * x
            if taken < w:
                continue
            old_n = float(entry["n"]) - weight
            old_s = min(max(float(entry["s"]) - weighted_wins, 0.0), max(old_n, 0.0))
            if old_n >= MIN_OLD and _disjoint(wins, w, old_s, old_n):
                recent = window[-w:]
                return {
                    **entry,
                    "n": weight,
                    "s": weighted_wins,
                    "seen": w,
                    "epoch": int(entry["epoch"]) + 1,
                    "since": recent[0][0],
                    "window": recent,
                    "pending": 0,
                }
            w = next(sizes, 0)
            if not w:
                return None
        return None


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


class Countable(NamedTuple):
    """A decided outcome of a choice, as the counters take it."""

    agent_id: str
    decision_id: str
    key: str  # the group's
    option: str  # the key its counts are kept under
    success: bool
    at: datetime  # the outcome's time


def may_count(record: DecisionRecord | EncodedDecision) -> bool:
    """Whether ``record`` may be a choice with a success or failure (cheap: no parsing)."""
    if isinstance(record, EncodedDecision):  # a chosen name is always written as '"selected":["'
        return record.success is not None and '"selected":["' in record.body
    outcome = record.outcome
    return outcome is not None and outcome.success is not None and bool(record.reasoning.selected)


def countable(record: DecisionRecord | EncodedDecision) -> Countable | None:
    """What ``record`` adds to the counters, or None (no success or failure, nothing chosen).

    A stored-form record is read as plain JSON, not validated again: it was built from a
    valid model.
    """
    if not may_count(record):
        return None
    if isinstance(record, EncodedDecision):
        data = json.loads(record.body)
        outcome = data.get("outcome") or {}
        view: Any = SimpleNamespace(
            decision_type=data["decision_type"],
            context=SimpleNamespace(**(data.get("context") or {})),
            reasoning=SimpleNamespace(selected=(data.get("reasoning") or {}).get("selected")),
        )
        at_text = outcome.get("recorded_at") or data["timestamp"]
        at = datetime.fromisoformat(str(at_text).replace("Z", "+00:00"))
        success = bool(record.success)
    else:
        if record.outcome is None or record.outcome.success is None:
            return None
        view, at, success = record, record.outcome.recorded_at, bool(record.outcome.success)
    if not view.reasoning.selected:
        return None
    return Countable(
        record.agent_id,
        record.decision_id,
        group_key(view.decision_type, _FEATURES(view)),
        stored_key(canonical(recommendation_of(view))),
        success,
        at,
    )


_FEATURES = ContextFeatures()


def count_outcomes(
    store: MemoryStore,
    records: Sequence[DecisionRecord | EncodedDecision],
    now: datetime | None = None,
    half_life: float | None = None,
) -> int:
    """Count the decided outcomes of ``records`` into their groups' counters, in order; the
    number counted or corrected (a record with no outcome, no success/failure or nothing
    chosen, or whose outcome is counted already, is skipped).

    One read and one conditional write per group touched. ``now`` is when the outcomes
    count from (default: each outcome's ``recorded_at``). ``StateConflictError`` only if a
    group's counters kept changing under it ``8`` times.
    """
    groups: dict[tuple[str, str], list[Countable]] = {}
    for record in records:
        found = countable(record)
        if found is not None:
            groups.setdefault((found.agent_id, found.key), []).append(found)
    counted = 0
    for (agent_id, key), items in groups.items():
        counted += _count_group(store, agent_id, key, items, now, half_life)
    return counted


def _count_group(
    store: MemoryStore,
    agent_id: str,
    key: str,
    items: list[Countable],
    now: datetime | None,
    half_life: float | None,
) -> int:
    counted = 0

    def counted_into(data: dict[str, Any]) -> _Counters | None:
        nonlocal counted
        counters = _Counters(data, half_life or evidence_half_life())
        counted = sum(
            counters.count(item.decision_id, item.option, item.success, now or item.at)
            for item in items
        )
        return counters if counted else None

    _update(store, agent_id, key, counted_into)
    return counted


def _update(
    store: MemoryStore,
    agent_id: str,
    key: str,
    change: Callable[[dict[str, Any]], _Counters | None],
) -> None:
    """Store ``change(stored counters' data)`` (nothing if it returns None) by a conditional
    write, reading and changing again after a conflict; ``StateConflictError`` after
    ``_ATTEMPTS`` conflicts."""
    for _ in range(_ATTEMPTS):
        found = store.get_evidence(agent_id, key)
        counters = change(json.loads(found.data) if found is not None else {})
        if counters is None:
            return
        version = found.version if found is not None else None
        evidence = Evidence(agent_id, key, (version or 0) + 1, counters.dump())
        try:
            store.put_evidence(evidence, expected_version=version)
        except StateConflictError:
            continue
        return
    raise StateConflictError(f"evidence {key!r}: still conflicting after {_ATTEMPTS} attempts")


def count_outcome(
    store: MemoryStore,
    record: DecisionRecord,
    now: datetime | None = None,
    half_life: float | None = None,
) -> bool:
    """Count ``record``'s outcome into its group's counters (:func:`count_outcomes` of one);
    False when there is nothing to count."""
    return count_outcomes(store, [record], now, half_life) == 1


def rebuild_evidence(
    store: MemoryStore,
    agent_id: str,
    *,
    half_life: float | None = None,
    page: int = 500,
) -> int:
    """Recount ``agent_id``'s counters from every decided choice stored for it, oldest
    outcome first, replacing what is stored; the number of outcomes counted.

    For history that was never counted (decisions imported, or logged before counters
    existed). Idempotent; an outcome counted by another process while it runs may be lost
    from the counters (not from the decisions), so run it when the agent is idle.
    """
    found: dict[str, list[Countable]] = {}
    cursor: str | None = None
    while True:
        batch = store.query_decisions(agent_id, success=None, limit=page, cursor=cursor)
        for record in batch.items:
            item = countable(record)
            if item is not None:
                found.setdefault(item.key, []).append(item)
        if (cursor := batch.next_cursor) is None:
            break
    counted = 0
    for key, items in found.items():
        counters = _Counters({}, half_life or evidence_half_life())
        for item in sorted(items, key=lambda i: (i.at, i.decision_id)):
            counted += counters.count(item.decision_id, item.option, item.success, item.at)

        def recounted(_stored: dict[str, Any], counters: _Counters = counters) -> _Counters:
            return counters  # replaces whatever is stored

        _update(store, agent_id, key, recounted)
    return counted


def count_quietly(
    store: MemoryStore,
    records: Sequence[DecisionRecord | EncodedDecision],
    now: datetime | None = None,
) -> int:
    """:func:`count_outcomes`, logging instead of raising: the outcomes themselves are
    stored already, and the counters are derived from them."""
    try:
        return count_outcomes(store, records, now)
    except Exception:
        logger.warning(
            "outcomes of %d decision(s) not counted for recommend()", len(records), exc_info=True
        )
        return 0


__all__ = [
    "CONFIRM",
    "MAX_KEY_CHARS",
    "MAX_OPTIONS",
    "MIN_OLD",
    "RECENT",
    "SPLITS",
    "WINDOW",
    "Countable",
    "GroupCounts",
    "OptionCounts",
    "context_conditions",
    "count_outcome",
    "count_outcomes",
    "count_quietly",
    "countable",
    "group_key",
    "may_count",
    "option_key",
    "read_group",
    "rebuild_evidence",
    "stored_key",
]
