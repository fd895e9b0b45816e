"""What a decision is grouped by: its context *conditions* and its *recommendation*.

A :class:`FeatureExtractor` turns a decision into conditions, a flat ``{name: label}``
mapping of strings. The default, :class:`ContextFeatures`, reads ``context.market`` and
``context.extra`` and keeps:

* strings of at most 64 characters, unchanged (longer text is not a condition);
* booleans as ``"true"`` / ``"false"``;
* numbers bucketed into bins (:func:`numeric_bin`), so 0.71 and 0.74 fall together:

  ==================  ===================================================================
  value               label
  ==================  ===================================================================
  in [0, 1]           ``low`` below 1/3, ``medium`` below 2/3, ``high`` from 2/3 up
  greater than 1      its power of ten: ``1-10``, ``10-100``, ``100-1k``, ``1k-10k``, ...
  negative            ``<0``
  ==================  ===================================================================

  ``ContextFeatures(bins={"volatility": Bins((0.02, 0.05), ("low", "medium", "high"))})``
  replaces the default for one key.

Nested mappings are flattened with dots (``{"btc": {"trend": "up"}}`` → ``"btc.trend"``);
lists and other values are left out. The *recommendation* (:func:`recommendation_of`) is
what was chosen: the sorted ``reasoning.selected`` and, for tool calls, the normalised tool
arguments (``context.inputs`` with the same value rules).

>>> from agentmem_langchain.models import DecisionRecord
>>> r = DecisionRecord(agent_id="a", decision_type="source_selection",
...                    context={"market": {"volatility": 0.8, "regime": "bull"}},
...                    reasoning={"selected": ["cryptoquant", "coinglass"]})
>>> ContextFeatures()(r)
{'regime': 'bull', 'volatility': 'high'}
>>> recommendation_of(r)
{'selected': ['coinglass', 'cryptoquant']}
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ulid import ULID

from ..models import DecisionRecord

#: Strings longer than this are free text, not a condition.
MAX_LABEL_LENGTH = 64

_MAGNITUDES = ["1", "10", "100", "1k", "10k", "100k", "1M", "10M", "100M", "1B"]


class FeatureExtractor(Protocol):
    """Anything that maps a decision to conditions (``{name: label}``, strings only)."""

    def __call__(self, record: DecisionRecord) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Bins:
    """Custom bins: ``edges`` ascending, ``labels`` one more than the edges.

    A value ``v`` gets ``labels[i]`` where ``i`` is the number of edges ``<= v``:
    ``Bins((0.02, 0.05), ("low", "medium", "high"))`` labels 0.03 ``"medium"``.
    """

    edges: tuple[float, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.edges) + 1:
            raise ValueError(f"Bins: {len(self.edges)} edges need {len(self.edges) + 1} labels")
        if list(self.edges) != sorted(self.edges):
            raise ValueError(f"Bins: edges must be ascending (got {self.edges})")

    def label(self, value: float) -> str:
        """The label of ``value``."""
        return self.labels[bisect.bisect_right(self.edges, value)]


UNIT_BINS = Bins((1 / 3, 2 / 3), ("low", "medium", "high"))


def numeric_bin(value: float) -> str:
    """The default bin of a number (see the module's table)."""
    if value < 0:
        return "<0"
    if value <= 1:
        return UNIT_BINS.label(value)
    power = min(int(math.log10(value)), len(_MAGNITUDES) - 2)
    return f"{_MAGNITUDES[power]}-{_MAGNITUDES[power + 1]}"


def normalise_value(value: Any, bins: Bins | None = None) -> str | None:
    """A condition label for one value, or None when the value is not a condition."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        return bins.label(float(value)) if bins is not None else numeric_bin(float(value))
    if isinstance(value, str) and 0 < len(value) <= MAX_LABEL_LENGTH:
        return value
    return None


def normalise_mapping(
    values: Mapping[str, Any], bins: Mapping[str, Bins] | None = None, prefix: str = ""
) -> dict[str, str]:
    """Flatten ``values`` (dotted names) into labels, leaving out what is not a condition."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(normalise_mapping(value, bins, prefix=f"{name}."))
            continue
        label = normalise_value(value, (bins or {}).get(name))
        if label is not None:
            out[name] = label
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class ContextFeatures:
    """The default extractor: categorical and binned numeric values of the context.

    ``fields`` names the parts of ``DecisionContext`` read (default ``market`` and
    ``extra``); ``bins`` overrides the default bins per (dotted) key; ``exclude`` drops keys.
    """

    fields: tuple[str, ...] = ("market", "extra")
    bins: Mapping[str, Bins] = field(default_factory=dict)
    exclude: frozenset[str] = frozenset()

    def __call__(self, record: DecisionRecord) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self.fields:
            part = getattr(record.context, name, None)
            if isinstance(part, Mapping):
                out.update(normalise_mapping(part, self.bins))
        return {k: v for k, v in sorted(out.items()) if k not in self.exclude}


def recommendation_of(record: DecisionRecord) -> dict[str, Any]:
    """What the decision chose: sorted ``selected`` and, for tool calls, normalised arguments.

    Empty when nothing was chosen (such decisions teach no recommendation).
    """
    out: dict[str, Any] = {}
    if record.reasoning.selected:
        out["selected"] = sorted(set(record.reasoning.selected))
    if record.decision_type == "tool_call" and record.context.inputs:
        arguments = normalise_mapping(record.context.inputs)
        if arguments:
            out["arguments"] = arguments
    return out


@dataclass(frozen=True)
class GroupKey:
    """One group of decisions: same type, same recommendation, same conditions."""

    decision_type: str
    recommendation: str  # canonical JSON
    conditions: str  # canonical JSON

    def pattern_id(self, agent_id: str) -> str:
        """A ULID derived from the agent and the key (BLAKE2b, 128 bits).

        Deterministic, so consolidators on different machines converge on the same pattern
        and its version check decides which write wins.
        """
        text = "\x1f".join((agent_id, self.decision_type, self.recommendation, self.conditions))
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        return str(ULID.from_bytes(digest))

    def recommendation_dict(self) -> dict[str, Any]:
        return dict(json.loads(self.recommendation))

    def conditions_dict(self) -> dict[str, str]:
        return dict(json.loads(self.conditions))


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) used in group keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def group_key(
    record: DecisionRecord,
    extractors: Sequence[FeatureExtractor],
    recommend: Callable[[DecisionRecord], Mapping[str, Any]] = recommendation_of,
) -> GroupKey | None:
    """The record's group, or None when it chose nothing to learn from."""
    recommendation = dict(recommend(record))
    if not recommendation:
        return None
    conditions: dict[str, str] = {}
    for extract in extractors:
        conditions.update(extract(record))
    return GroupKey(record.decision_type, canonical(recommendation), canonical(conditions))


__all__ = [
    "MAX_LABEL_LENGTH",
    "UNIT_BINS",
    "Bins",
    "ContextFeatures",
    "FeatureExtractor",
    "GroupKey",
    "canonical",
    "group_key",
    "normalise_mapping",
    "normalise_value",
    "numeric_bin",
    "recommendation_of",
]
