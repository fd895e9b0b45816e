"""``IntegratedMarketHunterAgent``: the market hunter, with its five decision points captured.

Each cycle is one run of a LangChain 1.x agent (``create_agent``) with an
:class:`~agentmem_langchain.langchain.middleware.AgentMemoryMiddleware`. A scripted chat model
stands in for the LLM (no API key): it calls the ``hunt`` tool once, and the tool runs the five
decision points as ``@decision`` methods, each called from the one before. The query step
fetches its data through a second agent, whose model calls the ``fetch_market_data`` tool. So a
cycle is one chain::

    chain_step market_hunter_cycle                 (the agent run, by the middleware)
    └─ tool_call hunt                              (the model's tool call, by the middleware)
       └─ source_selection        which data source to trust in this regime
          └─ query_execution      which query to run
             ├─ chain_step market_data_fetch      (the fetching agent's run)
             │  └─ tool_call fetch_market_data
             └─ signal_generation long or short, from the reading
                └─ risk_assessment   how much risk the position may take
                   └─ strategy_selection   momentum or mean reversion

The source and strategy choices follow a policy:

* ``"memory"`` (the default): :meth:`MemoryManager.recommend` says which option to take in this
  regime, from every outcome logged so far (it explores options it is unsure of, and
  follows a change of the best one); the decision records its expected success as confidence,
  the patterns it drew on and its one-line reason;
* ``"uniform"``: a coin flip (an agent without memory);
* ``"thompson"``: a plain Thompson-sampling bandit kept by the example itself
  (:mod:`.bandit`), the yardstick memory is measured by.

Outcomes come from the simulator once the cycle's candle has closed
(:meth:`IntegratedMarketHunterAgent.settle`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.graph.state import CompiledStateGraph

from agentmem_langchain import AgentMemoryMiddleware, DecisionLogger, DecisionType, MemoryManager
from agentmem_langchain.decorators import current_decision, decision
from agentmem_langchain.langchain.retriever import PatternRetriever
from agentmem_langchain.langchain.testing import ScriptedChatModel
from agentmem_langchain.learning import ContextFeatures, PatternLearner

from .bandit import ThompsonSampler
from .market import MarketSimulator, Outcome

POLICIES = ("memory", "uniform", "thompson")
SOURCES = ("coinglass", "cryptoquant")
QUERIES = ("funding_rates", "open_interest")
STRATEGIES = ("momentum", "mean_reversion")
#: The market fields decisions are grouped by; the price is context, not a condition.
CONDITIONS = ("trend", "volatility")
#: The learner consolidation uses: conditions are the regime labels (price left out).
LEARNER = PatternLearner(extractors=[ContextFeatures(exclude=frozenset({"btc_price"}))])
MODEL_NAME = "scripted-fake-llm"
TOOL_NAME = "fetch_market_data"
HUNT_TOOL = "hunt"
CYCLE_AGENT = "market_hunter_cycle"
FETCH_AGENT = "market_data_fetch"
_SYSTEM_PROMPT = "You are a market data assistant. Fetch exactly the data you are asked for."


@dataclass
class CyclePlan:
    """What one cycle decided: its market, the choices and the decisions' ids, by type."""

    cycle: int
    market: dict[str, Any]
    decision_ids: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)

    def note(self, decision_type: str, choice: str, decision_id: str | None) -> None:
        self.choices[decision_type] = choice
        if decision_id is not None:
            self.decision_ids[decision_type] = decision_id

    def summary(self) -> dict[str, Any]:
        """The chain's output (stored with its ``chain_step`` decision)."""
        return {"cycle": self.cycle, "choices": dict(self.choices)}


@dataclass(frozen=True)
class Recall:
    """What memory says about one choice in one situation."""

    choice: str | None = None  # the recommendation followed, if any
    avoid: tuple[str, ...] = ()  # options an "avoid" pattern rules out
    pattern_ids: tuple[str, ...] = ()
    confidence: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    rationale: str | None = None


def conditions_of(market: Mapping[str, Any]) -> dict[str, str]:
    """The conditions a pattern about ``market`` has (what the learner groups by)."""
    return {key: str(market[key]) for key in CONDITIONS if key in market}


def situation_query(decision_type: str, market: Mapping[str, Any]) -> str:
    """A retrieval query worded like the learner's pattern descriptions."""
    when = " and ".join(f"{k} is {v}" for k, v in conditions_of(market).items())
    return f"For {decision_type.replace('_', ' ')} when {when}, which choice succeeded?"


def _reason(decision_type: DecisionType, **reasoning: Any) -> str | None:
    """Set reasoning fields on the decision being captured; return its id.

    (``@decision`` stamps it with the memory's clock, here the simulated market's time, so
    STM windows, TTLs, stats and plots all see simulated time.)

    None when nothing of that type is being captured (capture is off or failed), so a
    parent's reasoning is never overwritten by mistake.
    """
    now = current_decision()
    if now is None or now.decision_type != decision_type.value:
        return None
    for name, value in reasoning.items():
        setattr(now, name, value)
    return now.decision_id


class IntegratedMarketHunterAgent:
    """The market hunter: five captured decision points per 10-minute cycle.

    >>> agent = IntegratedMarketHunterAgent(memory, MarketSimulator(seed=7))  # doctest: +SKIP
    >>> plan = agent.decide(cycle=1)     # the agent run: five decisions and two tool calls
    >>> agent.settle(plan)               # outcomes, once the candle has closed

    ``memory`` is where decisions go (``@decision`` finds it as ``self.memory``). ``seed``
    drives the baseline policy's coin flips; agents with the same seed flip the same coins,
    whether or not memory then overrides them.
    """

    def __init__(
        self,
        memory: MemoryManager,
        market: MarketSimulator,
        *,
        policy: str = "memory",
        seed: int = 7,
        min_pattern_confidence: float = 0.3,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        self.memory = memory
        self.agent_id = memory.agent_id
        self.market = market
        self.policy = policy
        self.min_pattern_confidence = min_pattern_confidence
        self.logger = DecisionLogger(memory)
        self.retriever = PatternRetriever(memory=memory, k=8)
        self._rng = random.Random(f"{seed}:policy")
        self.bandit = ThompsonSampler(random.Random(f"{seed}:thompson"))
        self._plan = CyclePlan(cycle=0, market={})
        # The decision points read their patterns themselves (``recall``), so the middleware
        # only records: a scripted model would not read patterns put in its prompt.
        self.cycle_agent: CompiledStateGraph[Any, Any, Any, Any] = create_agent(
            ScriptedChatModel(respond=_cycle_turn),
            tools=[self._hunt_tool()],
            middleware=[AgentMemoryMiddleware(memory, inject_patterns=False)],
            name=CYCLE_AGENT,
        )
        self.fetch_agent: CompiledStateGraph[Any, Any, Any, Any] = create_agent(
            ScriptedChatModel(respond=_fetch_turn),
            tools=[self._market_data_tool()],
            system_prompt=_SYSTEM_PROMPT,
            middleware=[AgentMemoryMiddleware(memory, inject_patterns=False)],
            name=FETCH_AGENT,
        )

    # -- one cycle --------------------------------------------------------------------------

    def decide(self, cycle: int) -> CyclePlan:
        """Run the cycle's agent; every decision is captured on the way."""
        self.cycle_agent.invoke({"messages": [HumanMessage(f"Run market cycle {cycle}.")]})
        return self._plan

    def settle(self, plan: CyclePlan) -> dict[str, Outcome]:
        """Log the simulator's outcome of each of the cycle's five decisions."""
        market, cycle, chosen = self.market, plan.cycle, plan.choices
        outcomes = {
            DecisionType.SOURCE_SELECTION: market.source_outcome(cycle, chosen["source_selection"]),
            DecisionType.QUERY_EXECUTION: market.query_outcome(
                cycle, chosen["source_selection"], chosen["query_execution"]
            ),
            DecisionType.SIGNAL_GENERATION: market.signal_outcome(
                cycle, chosen["signal_generation"]
            ),
            DecisionType.RISK_ASSESSMENT: market.risk_outcome(cycle, chosen["risk_assessment"]),
            DecisionType.STRATEGY_SELECTION: market.strategy_outcome(
                cycle, chosen["strategy_selection"]
            ),
        }
        if self.policy == "thompson":  # the bandit keeps its own counts
            for learned in (DecisionType.SOURCE_SELECTION, DecisionType.STRATEGY_SELECTION):
                self.bandit.update(
                    learned.value,
                    conditions_of(plan.market),
                    chosen[learned.value],
                    bool(outcomes[learned].success),
                )
        for decision_type, outcome in outcomes.items():
            decision_id = plan.decision_ids.get(decision_type.value)
            if decision_id is None:  # not captured: nothing to attach the outcome to
                continue
            self.logger.log_outcome(
                decision_id,
                decision_type,
                success=outcome.success,
                quality_score=outcome.quality_score,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                **outcome.details,
            )
        return {t.value: o for t, o in outcomes.items()}

    def hunt(self, cycle: int) -> dict[str, Any]:
        """Observe the market and make the cycle's five decisions (the ``hunt`` tool)."""
        market = self.market.observe(cycle)
        self._plan = CyclePlan(cycle=cycle, market=market)
        self.select_sources(market, cycle, list(SOURCES))
        return self._plan.summary()

    # -- the five decision points -----------------------------------------------------------

    @decision(DecisionType.SOURCE_SELECTION)
    def select_sources(
        self, market: dict[str, Any], cycle: int, sources: list[str]
    ) -> dict[str, Any]:
        """Pick the data source to trust this cycle, then run the rest of the cycle."""
        chosen, recall = self._choose(DecisionType.SOURCE_SELECTION, market, sources)
        decision_id = _reason(
            DecisionType.SOURCE_SELECTION,
            scores=recall.scores or dict.fromkeys(sources, 0.5),
            selected=[chosen],
            alternatives=[s for s in sources if s != chosen],
            confidence=recall.confidence if recall.choice else 1 / len(sources),
            rationale=recall.rationale,
            patterns_applied=list(recall.pattern_ids),
        )
        self._plan.note(DecisionType.SOURCE_SELECTION.value, chosen, decision_id)
        self.execute_query(market, cycle, chosen)
        return {"source": chosen}

    @decision(DecisionType.QUERY_EXECUTION)
    def execute_query(self, market: dict[str, Any], cycle: int, source: str) -> dict[str, Any]:
        """Query the chosen source (through the model's tool call), then make the signal."""
        query = "open_interest" if market["trend"] == "trending" else "funding_rates"
        reading = self._fetch_through_model(source, query, cycle)
        decision_id = _reason(
            DecisionType.QUERY_EXECUTION,
            selected=[query],
            alternatives=[q for q in QUERIES if q != query],
            confidence=0.8,
            rationale=f"{query} leads price in {market['trend']} markets",
        )
        self._plan.note(DecisionType.QUERY_EXECUTION.value, query, decision_id)
        self.generate_signal(market, cycle, reading)
        return {"query": query, "rows": reading["rows"], "latency_ms": reading["latency_ms"]}

    @decision(DecisionType.SIGNAL_GENERATION)
    def generate_signal(
        self, market: dict[str, Any], cycle: int, reading: dict[str, Any]
    ) -> dict[str, Any]:
        """Turn the reading into a side, then assess its risk."""
        signal = "long" if reading["bias"] == "up" else "short"
        strength = float(reading["strength"])
        decision_id = _reason(
            DecisionType.SIGNAL_GENERATION,
            scores={signal: strength, "short" if signal == "long" else "long": 1 - strength},
            selected=[signal],
            alternatives=["short" if signal == "long" else "long"],
            confidence=strength,
            rationale=f"{reading['source']} {reading['query']} points {reading['bias']}",
        )
        self._plan.note(DecisionType.SIGNAL_GENERATION.value, signal, decision_id)
        self.assess_risk(market, cycle, signal, strength)
        return {"signal": signal, "strength": strength}

    @decision(DecisionType.RISK_ASSESSMENT)
    def assess_risk(
        self, market: dict[str, Any], cycle: int, signal: str, strength: float
    ) -> dict[str, Any]:
        """Size the risk for the regime, then pick the strategy."""
        if market["volatility"] == "high":
            level, score = "high", 0.75
        else:
            level, score = ("low", 0.2) if strength >= 0.6 else ("medium", 0.45)
        decision_id = _reason(
            DecisionType.RISK_ASSESSMENT,
            scores={"risk_score": score},
            selected=[level],
            confidence=0.7,
            rationale=f"{market['volatility']} volatility, signal strength {strength:.2f}",
        )
        self._plan.note(DecisionType.RISK_ASSESSMENT.value, level, decision_id)
        self.select_strategy(market, cycle, list(STRATEGIES), signal, level)
        return {"risk_level": level, "risk_score": score}

    @decision(DecisionType.STRATEGY_SELECTION)
    def select_strategy(
        self,
        market: dict[str, Any],
        cycle: int,
        strategies: list[str],
        signal: str,
        risk_level: str,
    ) -> dict[str, Any]:
        """Pick how to trade the signal."""
        chosen, recall = self._choose(DecisionType.STRATEGY_SELECTION, market, strategies)
        decision_id = _reason(
            DecisionType.STRATEGY_SELECTION,
            scores=recall.scores or dict.fromkeys(strategies, 0.5),
            selected=[chosen],
            alternatives=[s for s in strategies if s != chosen],
            confidence=recall.confidence if recall.choice else 1 / len(strategies),
            rationale=recall.rationale,
            patterns_applied=list(recall.pattern_ids),
        )
        self._plan.note(DecisionType.STRATEGY_SELECTION.value, chosen, decision_id)
        return {"strategy": chosen, "side": signal, "risk_level": risk_level}

    # -- memory -----------------------------------------------------------------------------

    def _choose(
        self, decision_type: DecisionType, market: dict[str, Any], options: Sequence[str]
    ) -> tuple[str, Recall]:
        # The coin is flipped and a seed drawn whatever the policy, so agents that share a
        # seed see the same random stream and differ only in how they decide.
        coin = self._rng.choice(list(options))
        draw = self._rng.randrange(1 << 32)
        if self.policy == "uniform":
            return coin, Recall(rationale="no memory: uniform pick")
        if self.policy == "thompson":
            chosen = self.bandit.choose(decision_type.value, conditions_of(market), options)
            return chosen, Recall(rationale="Thompson sampling, outside the memory")
        rec = self.memory.recommend(decision_type.value, list(options), market, seed=draw)
        return rec.choice, Recall(
            choice=rec.choice,
            pattern_ids=tuple(rec.pattern_ids),
            confidence=rec.expected_success,
            scores={o: round(p, 3) for o, p in rec.expected.items()},
            rationale=rec.reason,
        )

    def recall(
        self, decision_type: str, market: Mapping[str, Any], options: Sequence[str]
    ) -> Recall:
        """What memory recommends for ``decision_type`` in ``market``'s regime.

        Retrieves patterns with a query describing the regime, keeps those of this decision
        type whose conditions match, and follows the most confident success pattern when
        its confidence reaches ``min_pattern_confidence``; confident avoid patterns rule
        their option out. (What consolidation learned, as a reader of the patterns sees it;
        the agent itself decides with ``recommend``.)
        """
        labels = conditions_of(market)
        # Out of the callbacks on purpose: the handler would list every retrieved candidate
        # in patterns_applied of the run's chain step and tool call; the decision itself
        # records the one pattern it followed.
        documents = self.retriever.invoke(
            situation_query(decision_type, market), config={"callbacks": []}
        )
        matching = [
            (option, d)
            for d in documents
            if (option := _option_of(d, decision_type, labels, options)) is not None
        ]
        scores = {
            option: round(float(d.metadata["success_rate"]), 3)
            for option, d in sorted(matching, key=lambda pair: _confidence(pair[1]))
            if d.metadata["pattern_type"] == "success"
        }
        confident = [
            (option, d) for option, d in matching if _confidence(d) >= self.min_pattern_confidence
        ]
        success = [(o, d) for o, d in confident if d.metadata["pattern_type"] == "success"]
        if success:
            choice, best = max(success, key=lambda pair: _confidence(pair[1]))
            return Recall(
                choice=choice,
                pattern_ids=(best.metadata["pattern_id"],),
                confidence=_confidence(best),
                scores=scores,
                rationale="memory: " + best.page_content.splitlines()[0],
            )
        avoid = [(o, d) for o, d in confident if d.metadata["pattern_type"] == "avoid"]
        return Recall(
            avoid=tuple(o for o, _ in avoid),
            pattern_ids=tuple(d.metadata["pattern_id"] for _, d in avoid),
            scores=scores,
            rationale="memory: " + avoid[0][1].page_content.splitlines()[0] if avoid else None,
        )

    # -- the LangChain part: scripted models call the tools -----------------------------------

    def _hunt_tool(self) -> BaseTool:
        agent = self

        @tool(HUNT_TOOL)
        def hunt(cycle: int) -> str:
            """Observe the market and decide this cycle's source, query, signal, risk and
            strategy."""
            return json.dumps(agent.hunt(cycle)["choices"], sort_keys=True)

        return hunt

    def _market_data_tool(self) -> BaseTool:
        agent = self

        @tool(TOOL_NAME, response_format="content_and_artifact")
        def fetch_market_data(source: str, query: str) -> tuple[str, dict[str, Any]]:
            """Fetch the latest reading of a market data query from a data source."""
            reading = agent.market.fetch(source, query, agent._plan.cycle)
            summary = f"{source} {query}: bias {reading['bias']}, strength {reading['strength']}"
            return summary, reading

        return fetch_market_data

    def _fetch_through_model(self, source: str, query: str, cycle: int) -> dict[str, Any]:
        """The fetching agent's run: its model asks for the tool, the tool runs, the model
        concludes. The reading is the tool's artifact."""
        state = self.fetch_agent.invoke(
            {"messages": [HumanMessage(f"Cycle {cycle}: fetch {query} from {source}.")]}
        )
        for message in state["messages"]:
            if isinstance(message, ToolMessage) and message.name == TOOL_NAME:
                return dict(message.artifact)
        raise RuntimeError(f"cycle {cycle}: the model never called {TOOL_NAME}")


_USAGE = {"input_tokens": 42, "output_tokens": 18, "total_tokens": 60}
_FETCH_REQUEST = re.compile(r"Cycle (\d+): fetch (\w+) from (\w+)\.")
_CYCLE_REQUEST = re.compile(r"Run market cycle (\d+)\.")


def _last_human(messages: Sequence[BaseMessage]) -> str:
    return next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")


def _answered(messages: Sequence[BaseMessage]) -> bool:
    return bool(messages) and isinstance(messages[-1], ToolMessage)


def _turn(content: str, call: dict[str, Any] | None = None) -> AIMessage:
    return AIMessage(
        content=content,
        tool_calls=[call] if call else [],
        usage_metadata=dict(_USAGE),
        response_metadata={"model_name": MODEL_NAME},
    )


def _cycle_turn(messages: list[BaseMessage]) -> AIMessage:
    """The cycle agent's model: call ``hunt`` for the cycle asked for, then conclude."""
    if _answered(messages):
        return _turn(f"Cycle decided: {messages[-1].content}")
    match = _CYCLE_REQUEST.search(_last_human(messages))
    if match is None:
        return _turn("I run market cycles; name one.")
    cycle = int(match.group(1))
    call = {"name": HUNT_TOOL, "args": {"cycle": cycle}, "id": f"hunt-{cycle}"}
    return _turn(f"Running cycle {cycle}.", call)


def _fetch_turn(messages: list[BaseMessage]) -> AIMessage:
    """The fetching agent's model: call the tool for the query asked for, then conclude."""
    if _answered(messages):
        return _turn("Reading received; handing it to signal generation.")
    match = _FETCH_REQUEST.search(_last_human(messages))
    if match is None:
        return _turn("Which query, from which source?")
    cycle, query, source = match.groups()
    call = {"name": TOOL_NAME, "args": {"source": source, "query": query}, "id": f"call-{cycle}"}
    return _turn(f"{query} from {source} shows who is crowded; fetching it.", call)


def _option_of(
    document: Document, decision_type: str, labels: Mapping[str, str], options: Sequence[str]
) -> str | None:
    """The option a retrieved pattern recommends, if it is about this decision in this
    regime (its conditions all hold) and recommends one of ``options``; else None."""
    meta = document.metadata
    conditions = meta.get("conditions") or {}
    selected = (meta.get("recommendation") or {}).get("selected") or []
    if meta.get("decision_type") != decision_type or len(selected) != 1:
        return None
    if any(labels.get(k) != v for k, v in conditions.items()):
        return None
    return str(selected[0]) if selected[0] in options else None


def _confidence(document: Document) -> float:
    return float(document.metadata["confidence"])
