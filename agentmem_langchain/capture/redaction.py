"""Secrets masked in what is stored without going through capture: records and outcomes
given to ``MemoryManager`` (``DecisionLogger``'s contexts, rationales and outcome details),
and signal payloads.

The rules are capture's (:class:`~agentmem_langchain.capture.CaptureSettings` of
:func:`~agentmem_langchain.capture.default_settings`): values of keys named like secrets
become ``***``, and so do secrets of known formats inside strings (:mod:`.secrets`).

>>> from agentmem_langchain.models import DecisionOutcome
>>> masked_outcome(DecisionOutcome(success=False, details={"client_secret": "x"})).details
{'client_secret': '***'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import DecisionOutcome, DecisionRecord
from .batch import default_settings
from .secrets import mask_data
from .values import CaptureSettings, _secret_keys, snapshotter


def masked(value: Any, settings: CaptureSettings | None = None) -> Any:
    """JSON-like ``value`` with secrets masked by capture's rules (the same object when
    nothing is masked)."""
    settings = settings or default_settings()
    keys = _secret_keys(settings.secret_keys) if settings.secret_keys else None
    return mask_data(value, snapshotter(settings).mask, keys)


def masked_record(
    record: DecisionRecord, settings: CaptureSettings | None = None
) -> DecisionRecord:
    """``record`` with secrets masked in its context, rationale, metadata and outcome; changed
    in place (and returned)."""
    context = record.context
    for name in ("market", "inputs", "extra"):
        value = getattr(context, name)
        if value and (new := masked(value, settings)) is not value:
            setattr(context, name, new)
    rationale = record.reasoning.rationale
    if rationale and (text := masked(rationale, settings)) is not rationale:
        record.reasoning.rationale = text
    if record.metadata and (metadata := masked(record.metadata, settings)) is not record.metadata:
        record.metadata = metadata
    if record.outcome is not None:
        masked_outcome(record.outcome, settings)
    return record


def masked_outcome(
    outcome: DecisionOutcome, settings: CaptureSettings | None = None
) -> DecisionOutcome:
    """``outcome`` with secrets masked in its error message and details; changed in place."""
    if outcome.error and (error := masked(outcome.error, settings)) is not outcome.error:
        outcome.error = error
    if outcome.details and (details := masked(outcome.details, settings)) is not outcome.details:
        outcome.details = details
    return outcome


def masked_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A signal's payload as a new dict, secrets masked."""
    out = masked(dict(payload))
    return out if isinstance(out, dict) else dict(payload)


__all__ = ["masked", "masked_outcome", "masked_payload", "masked_record"]
