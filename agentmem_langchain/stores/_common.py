"""Rules shared by every backend: cursors, time keys, expiry, the statistics arithmetic and
what a transfer reads and writes (signal statuses, state snapshots)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ..enums import ProcessingStatus
from ..errors import ValidationError
from ..models import AgentSignal, AgentState, DecisionStats


def encode_cursor(position: Any) -> str:
    """An opaque, URL-safe cursor for any JSON-able position."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The position behind ``cursor``; a cursor that was not made here is a ValidationError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"cursor: {cursor!r} is not a valid cursor", field="cursor") from exc


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch (UTC), the sortable form every backend stores times in."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, the unit of a record's ``ttl``."""
    return math.floor(moment.timestamp())


def nearest_rank(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0 < q <= 1) of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def nearest_rank_index(count: int, q: float) -> int:
    """Zero-based index of the nearest-rank percentile ``q`` among ``count`` sorted values."""
    return max(1, math.ceil(q * count)) - 1


def stats_from_totals(
    agent_id: str,
    start: datetime,
    end: datetime,
    *,
    total: int,
    successes: int,
    failures: int,
    confidence_sum: float,
    confidence_count: int,
    latency_percentiles: tuple[float | None, float | None],
    by_type: dict[str, int],
) -> DecisionStats:
    """``DecisionStats`` from a window's totals: the one place their arithmetic (pending,
    success rate, mean confidence) is done. ``latency_percentiles`` is (p50, p95)."""
    decided = successes + failures
    return DecisionStats(
        agent_id=agent_id,
        start=start,
        end=end,
        total=total,
        successes=successes,
        failures=failures,
        pending=total - decided,
        success_rate=successes / decided if decided else 0.0,
        avg_confidence=confidence_sum / confidence_count if confidence_count else None,
        latency_p50_ms=latency_percentiles[0],
        latency_p95_ms=latency_percentiles[1],
        by_type=by_type,
    )


def stats_from_rows(
    agent_id: str,
    start: datetime,
    end: datetime,
    rows: Iterable[tuple[str, bool | None, float | None, float | None]],
) -> DecisionStats:
    """``DecisionStats`` from (decision_type, success or None, confidence, latency_ms) rows."""
    by_type: Counter[str] = Counter()
    successes = failures = 0
    confidences: list[float] = []
    latencies: list[float] = []
    for decision_type, success, confidence, latency in rows:
        by_type[decision_type] += 1
        if success is True:
            successes += 1
        elif success is False:
            failures += 1
        if confidence is not None:
            confidences.append(confidence)
        if latency is not None:
            latencies.append(latency)
    latencies.sort()
    return stats_from_totals(
        agent_id,
        start,
        end,
        total=sum(by_type.values()),
        successes=successes,
        failures=failures,
        confidence_sum=sum(confidences),
        confidence_count=len(confidences),
        latency_percentiles=(nearest_rank(latencies, 0.50), nearest_rank(latencies, 0.95)),
        by_type=dict(by_type),
    )


def store_key(kind: str, identity: str) -> str:
    """A store's ``journal_key``: ``kind``, a dash and 12 hex digits of its ``identity``,
    the same in every process (``hash()`` is salted per process; SHA-256 is not)."""
    return f"{kind}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def check_snapshot(state: AgentState) -> None:
    """A state snapshot is one that was saved: version 0 is refused (``put_state_snapshot``)."""
    if state.version < 1:
        raise ValidationError(
            f"state.version: a snapshot of agent {state.agent_id!r} needs a saved version "
            f"(at least 1, got {state.version})",
            field="state.version",
            value=state.version,
        )


def status_holders(signal: AgentSignal, consumers: Sequence[str]) -> list[str]:
    """The agents whose stored status ``iter_published_signals`` reports: the named targets,
    and for a broadcast every consumer other than the publisher."""
    holders = dict.fromkeys(signal.target_agent_ids)
    if signal.broadcast:
        holders.update(dict.fromkeys(c for c in consumers if c != signal.source_agent_id))
    return list(holders)


def processing_view(
    signal: AgentSignal, stored: Mapping[str, str], consumers: Sequence[str]
) -> dict[str, ProcessingStatus]:
    """``processing`` of a published signal: each named target's status (pending when it has
    none), then broadcast consumers that claimed or processed it. ``stored`` maps agents to
    their status as it stands now (a claim whose lease ran out is already pending)."""
    pending = ProcessingStatus.PENDING
    view = {t: ProcessingStatus(stored.get(t, pending)) for t in signal.target_agent_ids}
    for agent in status_holders(signal, consumers):
        status = ProcessingStatus(stored.get(agent, pending))
        if agent not in view and status != pending:
            view[agent] = status
    return view


__all__ = [
    "check_snapshot",
    "decode_cursor",
    "encode_cursor",
    "epoch_seconds",
    "nearest_rank",
    "nearest_rank_index",
    "processing_view",
    "stats_from_rows",
    "stats_from_totals",
    "status_holders",
    "store_key",
    "to_micros",
]
