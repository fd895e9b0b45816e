"""Pattern, signal and agent-registration items, and the keys that find them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ....models import AgentRegistration, AgentSignal, MemoryPattern, enum_value
from ..._common import to_micros
from .values import Item, _signed_key, conf_key, from_micros, integer, n, s, text, time_key

BROADCAST = "#broadcast"
"""TargetAgentIndex partition of broadcast signals ('#' cannot occur in an agent id)."""

REGISTRY = "#agents"
"""AgentRegistryIndex partition of every registration ('#' cannot occur in an agent id)."""

REGISTRATION_SK = "REGISTRATION"
"""Sort key of an agent's registration item in its own partition of the state table."""


# -- patterns ---------------------------------------------------------------------------------


def pattern_latest_key(agent_id: str, pattern_id: str) -> Item:
    return {"agent_id": s(agent_id), "sk": s(f"P#{pattern_id}")}


def pattern_doc(pattern: MemoryPattern) -> str:
    return pattern.model_dump_json()


def pattern_latest_item(pattern: MemoryPattern) -> Item:
    """The pattern's latest version: ConfidenceIndex partition ``agent#active|retired``."""
    return {
        **pattern_latest_key(pattern.agent_id, pattern.pattern_id),
        "doc": s(pattern_doc(pattern)),
        "version": n(pattern.version),
        "confidence": n(pattern.confidence),
        "conf_pk": s(f"{pattern.agent_id}#{enum_value(pattern.status)}"),
        "conf": s(conf_key(pattern.confidence, pattern.pattern_id)),
    }


def pattern_history_item(pattern: MemoryPattern) -> Item:
    return {
        "agent_id": s(pattern.agent_id),
        "sk": s(f"H#{pattern.pattern_id}#{pattern.version:010d}"),
        "doc": s(pattern_doc(pattern)),
        "version": n(pattern.version),
    }


def pattern_grant_item(pattern: MemoryPattern, grantee: str) -> Item:
    """One (pattern, grantee) share: SharedPatternIndex is queried by ``grantee``."""
    return {
        "agent_id": s(pattern.agent_id),
        "sk": s(f"G#{pattern.pattern_id}#{grantee}"),
        "grantee": s(grantee),
        "conf": s(conf_key(pattern.confidence, pattern.pattern_id)),
        "confidence": n(pattern.confidence),
        "doc": s(pattern_doc(pattern)),
    }


def pattern_from_item(item: Mapping[str, Any]) -> MemoryPattern:
    return MemoryPattern.model_validate_json(item["doc"]["S"])


# -- signals ----------------------------------------------------------------------------------


def order_key(signal: AgentSignal) -> str:
    """TargetAgentIndex sort key: ascending order = highest priority first, then oldest."""
    inverted = max(-(10**17) + 1, min(10**17 - 1, -signal.priority))
    return f"{_signed_key(inverted)}#{time_key(signal.created_at)}#{signal.signal_id}"


def signal_audience(signal: AgentSignal) -> list[str]:
    """TargetAgentIndex partitions a signal is delivered to (one item each): every named
    target, plus the ``#broadcast`` partition that every other agent reads."""
    audience = list(dict.fromkeys(signal.target_agent_ids))
    return [*audience, BROADCAST] if signal.broadcast else audience


def signal_delivery_item(signal: AgentSignal, target: str) -> Item:
    """One delivery, kept in the publisher's partition, found by the target through
    TargetAgentIndex (``target_pk`` = target agent id, or ``#broadcast``)."""
    item: Item = {
        "agent_id": s(signal.source_agent_id),
        "sk": s(f"S#{signal.signal_id}#{target}"),
        "target_pk": s(target),
        "order": s(order_key(signal)),
        "source": s(signal.source_agent_id),
        "doc": s(signal.model_dump_json(exclude={"processing"})),
    }
    if signal.expires_at is not None:
        item["expires"] = n(to_micros(signal.expires_at))
        item["ttl"] = n(math.ceil(signal.expires_at.timestamp()))
    return item


def signal_from_item(item: Mapping[str, Any], agent_id: str, status: str) -> AgentSignal:
    data = json.loads(item["doc"]["S"])
    data["processing"] = {agent_id: status}
    return AgentSignal.model_validate(data)


def signal_status_key(agent_id: str, signal_id: str) -> Item:
    """A consumer's own claim/processed record for one signal, in its own partition."""
    return {"agent_id": s(agent_id), "sk": s(f"C#{signal_id}")}


# -- agent registry ---------------------------------------------------------------------------


def registration_key(agent_id: str) -> Item:
    """An agent's registration: an item of its own partition, so its credentials suffice."""
    return {"agent_id": s(agent_id), "sk": s(REGISTRATION_SK)}


def registration_item(registration: AgentRegistration) -> Item:
    """The registration item: ``doc`` (the registration without ``last_heartbeat``), the
    heartbeat as microseconds (a heartbeat updates it alone), the capabilities as a list
    (for ``contains``) and ``registry_pk``, which puts it into AgentRegistryIndex."""
    item: Item = {
        **registration_key(registration.agent_id),
        "registry_pk": s(REGISTRY),
        "last_heartbeat": n(to_micros(registration.last_heartbeat)),
        "doc": s(registration.model_dump_json(exclude={"last_heartbeat"})),
    }
    if registration.capabilities:
        item["capabilities"] = {"L": [s(c) for c in dict.fromkeys(registration.capabilities)]}
    return item


def registration_from_item(item: Mapping[str, Any]) -> AgentRegistration | None:
    """The registration stored in ``item``; None unless it is the registration item of the
    partition it is in. The partition key is the one attribute IAM lets nobody but the
    agent itself write, so an agent cannot make the index show a registration of another."""
    if text(item, "sk") != REGISTRATION_SK:
        return None
    data = json.loads(item["doc"]["S"])
    if data.get("agent_id") != text(item, "agent_id"):
        return None
    data["last_heartbeat"] = from_micros(integer(item["last_heartbeat"]))
    return AgentRegistration.model_validate(data)


__all__ = [
    "BROADCAST",
    "REGISTRATION_SK",
    "REGISTRY",
    "order_key",
    "pattern_doc",
    "pattern_from_item",
    "pattern_grant_item",
    "pattern_history_item",
    "pattern_latest_item",
    "pattern_latest_key",
    "registration_from_item",
    "registration_item",
    "registration_key",
    "signal_audience",
    "signal_delivery_item",
    "signal_from_item",
    "signal_status_key",
]
