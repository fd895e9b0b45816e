"""``DecisionLogger``: a high-level API with one ``log_*`` method per decision point.

>>> logger = DecisionLogger(MemoryManager(agent_id="btc-agent-001"))
>>> decision_id = logger.log_source_selection(
...     sources=["coinglass", "cryptoquant"],
...     scores={"coinglass": 0.95, "cryptoquant": 0.88},
...     selected=["coinglass"],
...     context={"market": {"btc_price": 45000.0}, "cycle": 1},
...     confidence=0.92,
... )
>>> logger.log_outcome(decision_id, DecisionType.SOURCE_SELECTION, success=True)

Every method has an async twin, ``a`` in front (``await logger.alog_outcome(...)``): bad input
raises at once, before anything is scheduled, and the store I/O runs in a worker thread
(see :class:`~agentmem_langchain.memory.MemoryManager`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import _checks as check
from ._aio import off_loop
from .enums import DecisionType
from .errors import ValidationError, _repr
from .memory import MemoryManager
from .models import (
    DecisionContext,
    DecisionOutcome,
    DecisionReasoning,
    DecisionRecord,
    DecisionStats,
    enum_value,
)

if TYPE_CHECKING:
    from .learning.recommend import Recommendation

ContextLike = DecisionContext | Mapping[str, Any] | None


class DecisionLogger:
    """Log decisions and their outcomes for the agent of ``memory_manager``.

    Every ``log_*`` method returns the new decision's id; the write is durable on return.
    Bad input (confidence outside [0, 1], NaN, values that are not JSON, ...) raises
    ``ValidationError`` and stores nothing. Every ``log_*`` method takes
    ``recommendation=rec`` (what ``MemoryManager.recommend`` returned) and records from it
    what is not given: its choice, expected success, pattern ids and whether it explored.

    Lists of names (``selected``, ``alternatives``, ``patterns_applied``, ``tags``,
    ``sources``, ``strategies``) must be lists: a single string is refused, never split into
    characters (``log_strategy_selection``'s ``selected`` alone also takes one name). Values
    are stored under capture's caps (:class:`~agentmem_langchain.capture.CaptureSettings`):
    each context and metadata value, the rationale, each tag, the error message and each
    outcome detail cut to ``max_value_chars`` characters of JSON and 32 levels of nesting,
    with a visible ``…[truncated N chars]`` marker.
    """

    def __init__(self, memory_manager: MemoryManager) -> None:
        self.memory = check.instance(memory_manager, MemoryManager, "memory_manager")

    @property
    def agent_id(self) -> str:
        return self.memory.agent_id

    def log_decision(
        self,
        decision_type: DecisionType | str,
        *,
        context: ContextLike = None,
        scores: Mapping[str, float] | None = None,
        selected: Sequence[str] | None = None,
        alternatives: Sequence[str] | None = None,
        patterns_applied: Sequence[str] | None = None,
        confidence: float | None = None,
        rationale: str | None = None,
        parent_decision_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        recommendation: Recommendation | None = None,
    ) -> str:
        """Log a decision of any type (a ``DecisionType`` or any non-empty string)."""
        return self.memory.log_decision(
            self._record(
                decision_type,
                context=context,
                scores=scores,
                selected=selected,
                alternatives=alternatives,
                patterns_applied=patterns_applied,
                confidence=confidence,
                rationale=rationale,
                parent_decision_id=parent_decision_id,
                tags=tags,
                metadata=metadata,
                recommendation=recommendation,
            )
        )

    async def alog_decision(
        self,
        decision_type: DecisionType | str,
        *,
        context: ContextLike = None,
        scores: Mapping[str, float] | None = None,
        selected: Sequence[str] | None = None,
        alternatives: Sequence[str] | None = None,
        patterns_applied: Sequence[str] | None = None,
        confidence: float | None = None,
        rationale: str | None = None,
        parent_decision_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        recommendation: Recommendation | None = None,
    ) -> str:
        """Async twin of :meth:`log_decision`: the store I/O runs off the event loop."""
        return await self.memory.alog_decision(
            self._record(
                decision_type,
                context=context,
                scores=scores,
                selected=selected,
                alternatives=alternatives,
                patterns_applied=patterns_applied,
                confidence=confidence,
                rationale=rationale,
                parent_decision_id=parent_decision_id,
                tags=tags,
                metadata=metadata,
                recommendation=recommendation,
            )
        )

    def _record(
        self,
        decision_type: DecisionType | str,
        *,
        context: ContextLike = None,
        scores: Mapping[str, float] | None = None,
        selected: Sequence[str] | None = None,
        alternatives: Sequence[str] | None = None,
        patterns_applied: Sequence[str] | None = None,
        confidence: float | None = None,
        rationale: str | None = None,
        parent_decision_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        recommendation: Recommendation | None = None,
    ) -> DecisionRecord:
        """The record :meth:`log_decision` stores (``ValidationError`` for bad input).

        With ``recommendation`` (what ``MemoryManager.recommend`` returned), what is not
        given is taken from it: ``selected`` = its choice, ``confidence`` = its expected
        success, ``patterns_applied`` = its pattern ids; ``metadata["recommendation"]``
        records its policy, best option and whether it explored (tag ``explored``).
        """
        if recommendation is not None:
            _check_recommendation(recommendation)
            selected = [recommendation.choice] if selected is None else selected
            confidence = recommendation.expected_success if confidence is None else confidence
            if patterns_applied is None:
                patterns_applied = recommendation.pattern_ids
            metadata = {**(metadata or {}), "recommendation": _followed(recommendation)}
            if recommendation.explored:
                tags = [*(check.names(tags, "tags", optional=True) or []), "explored"]
        reasoning = DecisionReasoning(
            scores=_copy(dict, scores, "scores"),
            selected=check.names(selected, "selected", optional=True) or [],
            alternatives=check.names(alternatives, "alternatives", optional=True) or [],
            patterns_applied=check.names(patterns_applied, "patterns_applied", optional=True) or [],
            confidence=confidence,
            rationale=rationale,
        )
        record = DecisionRecord(
            agent_id=self.agent_id,
            decision_type=decision_type,
            timestamp=self.memory.now(),
            parent_decision_id=parent_decision_id,
            context=_context(context),
            reasoning=reasoning,
            tags=check.names(tags, "tags", optional=True) or [],
            metadata=_copy(dict, metadata, "metadata"),
        )
        return _capped(record)

    def log_source_selection(
        self,
        sources: Sequence[str],
        scores: Mapping[str, float],
        selected: Sequence[str],
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Which data sources were chosen out of ``sources``, with each source's score."""
        return self.memory.log_decision(
            self._source_selection(sources, scores, selected, context, confidence, **kwargs)
        )

    async def alog_source_selection(
        self,
        sources: Sequence[str],
        scores: Mapping[str, float],
        selected: Sequence[str],
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Async twin of :meth:`log_source_selection`: the store I/O runs off the event loop."""
        return await self.memory.alog_decision(
            self._source_selection(sources, scores, selected, context, confidence, **kwargs)
        )

    def _source_selection(
        self,
        sources: Sequence[str],
        scores: Mapping[str, float],
        selected: Sequence[str],
        context: ContextLike,
        confidence: float | None,
        **kwargs: Any,
    ) -> DecisionRecord:
        selected, sources = _check_selected(selected, sources, "selected", "sources")
        return self._record(
            DecisionType.SOURCE_SELECTION,
            context=context,
            scores=scores,
            selected=selected,
            alternatives=[s for s in sources if s not in selected],
            confidence=confidence,
            **kwargs,
        )

    def log_query_execution(
        self,
        query: str,
        source: str,
        parameters: Mapping[str, Any] | None = None,
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """A query run against ``source`` (the query text and parameters go into the context)."""
        return self.memory.log_decision(
            self._query_execution(query, source, parameters, context, confidence, **kwargs)
        )

    async def alog_query_execution(
        self,
        query: str,
        source: str,
        parameters: Mapping[str, Any] | None = None,
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Async twin of :meth:`log_query_execution`: the store I/O runs off the event loop."""
        return await self.memory.alog_decision(
            self._query_execution(query, source, parameters, context, confidence, **kwargs)
        )

    def _query_execution(
        self,
        query: str,
        source: str,
        parameters: Mapping[str, Any] | None,
        context: ContextLike,
        confidence: float | None,
        **kwargs: Any,
    ) -> DecisionRecord:
        ctx = _context(context)
        ctx.inputs = {
            **ctx.inputs,
            "query": query,
            "source": source,
            "parameters": parameters or {},
        }
        return self._record(
            DecisionType.QUERY_EXECUTION,
            context=ctx,
            selected=[source],
            confidence=confidence,
            **kwargs,
        )

    def log_signal_generation(
        self,
        signal: str,
        indicators: Mapping[str, float] | None = None,
        strength: float | None = None,
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """A trading (or any) signal emitted, with the indicator values behind it."""
        return self.memory.log_decision(
            self._signal_generation(signal, indicators, strength, context, confidence, **kwargs)
        )

    async def alog_signal_generation(
        self,
        signal: str,
        indicators: Mapping[str, float] | None = None,
        strength: float | None = None,
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Async twin of :meth:`log_signal_generation`: the store I/O runs off the event loop."""
        return await self.memory.alog_decision(
            self._signal_generation(signal, indicators, strength, context, confidence, **kwargs)
        )

    def _signal_generation(
        self,
        signal: str,
        indicators: Mapping[str, float] | None,
        strength: float | None,
        context: ContextLike,
        confidence: float | None,
        **kwargs: Any,
    ) -> DecisionRecord:
        ctx = _context(context)
        if strength is not None:
            ctx.inputs = {**ctx.inputs, "strength": strength}
        return self._record(
            DecisionType.SIGNAL_GENERATION,
            context=ctx,
            scores=indicators,
            selected=[signal],
            confidence=confidence,
            **kwargs,
        )

    def log_risk_assessment(
        self,
        risk_level: str,
        risk_score: float | None = None,
        factors: Mapping[str, float] | None = None,
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """A risk verdict (``risk_level``) with its score and contributing factors."""
        return self.memory.log_decision(
            self._risk_assessment(risk_level, risk_score, factors, context, confidence, **kwargs)
        )

    async def alog_risk_assessment(
        self,
        risk_level: str,
        risk_score: float | None = None,
        factors: Mapping[str, float] | None = None,
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Async twin of :meth:`log_risk_assessment`: the store I/O runs off the event loop."""
        return await self.memory.alog_decision(
            self._risk_assessment(risk_level, risk_score, factors, context, confidence, **kwargs)
        )

    def _risk_assessment(
        self,
        risk_level: str,
        risk_score: float | None,
        factors: Mapping[str, float] | None,
        context: ContextLike,
        confidence: float | None,
        **kwargs: Any,
    ) -> DecisionRecord:
        ctx = _context(context)
        if risk_score is not None:
            ctx.inputs = {**ctx.inputs, "risk_score": risk_score}
        return self._record(
            DecisionType.RISK_ASSESSMENT,
            context=ctx,
            scores=factors,
            selected=[risk_level],
            confidence=confidence,
            **kwargs,
        )

    def log_strategy_selection(
        self,
        strategies: Sequence[str],
        scores: Mapping[str, float],
        selected: str | Sequence[str],
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Which strategy (or strategies) was chosen out of ``strategies``."""
        return self.memory.log_decision(
            self._strategy_selection(strategies, scores, selected, context, confidence, **kwargs)
        )

    async def alog_strategy_selection(
        self,
        strategies: Sequence[str],
        scores: Mapping[str, float],
        selected: str | Sequence[str],
        context: ContextLike = None,
        confidence: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Async twin of :meth:`log_strategy_selection`: the store I/O runs off the event loop."""
        return await self.memory.alog_decision(
            self._strategy_selection(strategies, scores, selected, context, confidence, **kwargs)
        )

    def _strategy_selection(
        self,
        strategies: Sequence[str],
        scores: Mapping[str, float],
        selected: str | Sequence[str],
        context: ContextLike,
        confidence: float | None,
        **kwargs: Any,
    ) -> DecisionRecord:
        chosen = [selected] if isinstance(selected, str) else selected
        chosen, strategies = _check_selected(chosen, strategies, "selected", "strategies")
        return self._record(
            DecisionType.STRATEGY_SELECTION,
            context=context,
            scores=scores,
            selected=chosen,
            alternatives=[s for s in strategies if s not in chosen],
            confidence=confidence,
            **kwargs,
        )

    def log_outcome(
        self,
        decision_id: str,
        decision_type: DecisionType | str | None = None,
        success: bool | None = None,
        quality_score: float | None = None,
        latency_ms: float | None = None,
        error: str | None = None,
        **details: Any,
    ) -> DecisionRecord:
        """Attach what happened to a logged decision and return the updated record.

        ``decision_type``, when given, must match the decision's type (a guard against
        attaching an outcome to the wrong decision). ``NotFoundError`` if there is no such
        decision.
        """
        check.text(decision_id, "decision_id")
        outcome = self._outcome(success, quality_score, latency_ms, error, details)
        return self._attach(decision_id, decision_type, outcome)

    async def alog_outcome(
        self,
        decision_id: str,
        decision_type: DecisionType | str | None = None,
        success: bool | None = None,
        quality_score: float | None = None,
        latency_ms: float | None = None,
        error: str | None = None,
        **details: Any,
    ) -> DecisionRecord:
        """Async twin of :meth:`log_outcome`: the store I/O runs off the event loop."""
        check.text(decision_id, "decision_id")
        outcome = self._outcome(success, quality_score, latency_ms, error, details)
        return await off_loop(self._attach, decision_id, decision_type, outcome)

    def _outcome(
        self,
        success: bool | None,
        quality_score: float | None,
        latency_ms: float | None,
        error: str | None,
        details: Mapping[str, Any],
    ) -> DecisionOutcome:
        outcome = DecisionOutcome(
            success=success,
            quality_score=quality_score,
            latency_ms=latency_ms,
            error=error,
            recorded_at=self.memory.now(),
            details=details,
        )
        from .capture.batch import default_settings
        from .capture.values import cut_text, snapshotter

        snap = snapshotter(default_settings())
        if outcome.error is not None:
            outcome.error = cut_text(outcome.error, snap.limit)
        outcome.details = _capped_values(snap, outcome.details)
        return outcome

    def _attach(
        self, decision_id: str, decision_type: DecisionType | str | None, outcome: DecisionOutcome
    ) -> DecisionRecord:
        """Store ``outcome`` on the decision, once its type is the one expected (if given)."""
        if decision_type is not None:
            record = self.memory.get_decision(decision_id)
            expected = enum_value(decision_type)
            if record is not None and record.decision_type != expected:
                raise ValidationError(
                    f"decision_type: decision {decision_id!r} is a {record.decision_type!r} "
                    f"decision, not {_repr(expected)}",
                    field="decision_type",
                    value=decision_type,
                )
        return self.memory.update_outcome(decision_id, outcome)

    def get_decision_chain(self, decision_id: str) -> list[DecisionRecord]:
        """Every decision in the chain of ``decision_id``, root first."""
        return self.memory.get_decision_chain(decision_id)

    async def aget_decision_chain(self, decision_id: str) -> list[DecisionRecord]:
        """Async twin of :meth:`get_decision_chain`: the store I/O runs off the event loop."""
        return await self.memory.aget_decision_chain(decision_id)

    def get_decision_stats(self, time_window_hours: float = 24) -> DecisionStats:
        """Statistics over the last ``time_window_hours`` (``stats["success_rate"]`` works too)."""
        return self.memory.decision_stats(*self._window(time_window_hours))

    async def aget_decision_stats(self, time_window_hours: float = 24) -> DecisionStats:
        """Async twin of :meth:`get_decision_stats`: the store I/O runs off the event loop."""
        return await self.memory.adecision_stats(*self._window(time_window_hours))

    def _window(self, time_window_hours: float) -> tuple[datetime, datetime]:
        """``(start, end)`` of the last ``time_window_hours``, up to now."""
        hours = check.real(time_window_hours, "time_window_hours")
        if not hours > 0:
            raise check.fail("time_window_hours", "must be positive", time_window_hours)
        now = self.memory.now()
        # The window includes decisions logged in this very microsecond.
        end = now + timedelta(microseconds=1)
        try:
            start = now - timedelta(hours=hours)
        except OverflowError:
            raise ValidationError(
                f"time_window_hours: too large (got {time_window_hours!r})",
                field="time_window_hours",
                value=time_window_hours,
            ) from None
        return start, end


def _context(context: ContextLike) -> DecisionContext:
    if context is None:
        return DecisionContext()
    if isinstance(context, DecisionContext):
        return context.model_copy(deep=True)
    if not isinstance(context, Mapping):
        raise ValidationError(
            f"context: expected a mapping or DecisionContext, got {type(context).__name__}",
            field="context",
            value=context,
        )
    return DecisionContext.model_validate(dict(context))


def _check_recommendation(recommendation: object) -> None:
    fields = ("choice", "best", "explored", "expected_success", "pattern_ids", "policy")
    if not all(hasattr(recommendation, name) for name in fields):
        raise ValidationError(
            "recommendation: expected what MemoryManager.recommend returns "
            f"(got {type(recommendation).__name__})",
            field="recommendation",
            value=recommendation,
        )


def _followed(recommendation: Recommendation) -> dict[str, Any]:
    """What a decision records of the recommendation it was made under."""
    return {
        "policy": recommendation.policy,
        "choice": recommendation.choice,
        "best": recommendation.best,
        "explored": recommendation.explored,
        "expected_success": recommendation.expected_success,
    }


def _copy(kind: type[Any], value: Any, field: str) -> Any:
    """``kind(value or ())``: a fresh list or dict, or ValidationError if it cannot be made."""
    try:
        return kind(value or ())
    except (TypeError, ValueError):
        raise ValidationError(
            f"{field}: expected a {'mapping' if kind is dict else 'sequence'}, "
            f"got {type(value).__name__}",
            field=field,
            value=value,
        ) from None


def _among(value: object, options: list[Any]) -> bool:
    """``value in options``, False when comparing raises (a signalling NaN, say)."""
    try:
        return value in options
    except Exception:
        return False


def _check_selected(
    selected: Sequence[str], options: Sequence[str], field: str, options_field: str
) -> tuple[list[str], list[str]]:
    """``selected`` and ``options`` as lists, once every selected item is an option."""
    chosen = check.names(selected, field) or []
    offered = check.names(options, options_field) or []
    unknown = [s for s in chosen if not _among(s, offered)]
    if unknown:
        raise ValidationError(
            f"{field}: {_repr(unknown)} not among the options {_repr(offered)}",
            field=field,
            value=unknown,
        )
    return chosen, offered


def _capped(record: DecisionRecord) -> DecisionRecord:
    """``record`` under capture's size and depth caps (changed in place, and returned)."""
    from .capture.batch import default_settings
    from .capture.values import cut_text, snapshotter

    snap = snapshotter(default_settings())
    context = record.context
    for name in ("market", "inputs", "extra"):
        values = getattr(context, name)
        if values and (capped := _capped_values(snap, values)) != values:
            setattr(context, name, capped)  # assigned (and validated again) only when cut
    if record.metadata and (capped := _capped_values(snap, record.metadata)) != record.metadata:
        record.metadata = capped
    rationale = record.reasoning.rationale
    if rationale is not None and len(rationale) > snap.limit:
        record.reasoning.rationale = cut_text(rationale, snap.limit)
    if any(len(tag) > snap.limit for tag in record.tags):
        record.tags = [cut_text(tag, snap.limit) for tag in record.tags]
    return record


def _capped_values(snap: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Each value of ``values`` as capture stores a top-level value (cut to size and depth)."""
    return {key: snap.snapshot(value)[0] for key, value in values.items()}


__all__ = ["DecisionLogger"]
