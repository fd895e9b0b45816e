"""What a recorded run's decision says about the run, filled in when its record is made.

The handlers leave this off the caller's thread: a decision's ``deferred`` step
(:attr:`~agentmem_langchain.capture.CapturedDecision.deferred`) calls :func:`describe_run`
(or :func:`describe_interrupted`) with the hook's snapshots of the run's tags and metadata
when the capture thread converts the decision, so what it sets is JSON-safe already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..capture.values import clean_text, cut_text
from .runs import output_confidence
from .threads import mark_decision_interrupted

if TYPE_CHECKING:
    from ..capture.decision import CapturedDecision
    from .runs import Run

#: Tags LangChain and LangGraph add to runs for their own bookkeeping (never a user's).
LANGCHAIN_TAGS = ("seq:step:", "map:key:", "graph:step:", "langsmith:")
#: Metadata key prefixes of LangChain, LangGraph and this library (kept out of records).
PRIVATE_METADATA = ("ls_", "lc_", "langgraph_", "checkpoint_", "agentmem_")


def user_tags(tags: Sequence[str], limit: int) -> list[str]:
    """The run's own tags, without LangChain's bookkeeping ones, each cut to ``limit``."""
    return [
        cut_text(str.__str__(t), limit)
        for t in tags
        if isinstance(t, str) and not t.startswith(LANGCHAIN_TAGS)
    ]


def context_extra(kind: str, name: str, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's ``context.extra``: its public metadata, its run type and its name."""
    extra = {
        k: v
        for k, v in (metadata or {}).items()
        if not (isinstance(k, str) and k.startswith(PRIVATE_METADATA))
    }
    extra.update(run_type=kind, run_name=clean_text(name))
    return extra


def uuid_text(key: int) -> str:
    """``str(UUID(int=key))``, without building the UUID."""
    digits = f"{key:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def describe_run(
    decision: CapturedDecision,
    run: Run,
    key: int,
    kind: str,
    name: str,
    tags: Sequence[str],
    metadata: Mapping[str, Any] | None,
    limit: int,
) -> None:
    """Fill in a run's context, tags and run id, and its confidence (pinned, else the
    output's); a root's LangGraph ``thread_id`` is in its context."""
    decision.context_extra = context_extra(kind, name, metadata)
    if run.thread_id is not None:
        decision.context_extra.setdefault("thread_id", run.thread_id)
    decision.tags = user_tags(tags, limit)
    decision.metadata["langchain_run_id"] = uuid_text(key)
    confidence = run.pinned_confidence
    if confidence is None and decision.result is not None:
        confidence = output_confidence(decision.result)
    if confidence is not None:
        decision.reasoning["confidence"] = confidence


def describe_interrupted(decision: CapturedDecision, *details: Any) -> None:
    """:func:`describe_run`, and the marks of a run a LangGraph interrupt stopped: the
    :data:`~.threads.INTERRUPTED` tag and ``context.extra["interrupted"] = True``."""
    describe_run(decision, *details)
    mark_decision_interrupted(decision)


__all__ = [
    "LANGCHAIN_TAGS",
    "PRIVATE_METADATA",
    "context_extra",
    "describe_interrupted",
    "describe_run",
    "user_tags",
    "uuid_text",
]
