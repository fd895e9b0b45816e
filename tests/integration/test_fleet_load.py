"""The fleet load test, short: 5 agents x 20 cycles on dynalite, as threads and as processes.

The full run (50 agents x 144 cycles) is ``make bench``; this one checks the run itself:
no errors, every decision stored and learned, signals delivered, TTL expiry observed."""

from __future__ import annotations

import pytest

from benchmarks.fleet_load import DECISIONS_PER_CYCLE, run_fleet

AGENTS, CYCLES = 5, 20


@pytest.fixture(scope="module")
def endpoint_url() -> str:
    from tests.dynalite import DynaliteUnavailable, shared_server

    try:
        return shared_server().endpoint_url
    except DynaliteUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2], ids=["threads", "processes"])
def test_a_short_fleet_run_has_no_errors_and_expires_by_ttl(endpoint_url, processes):
    figures = run_fleet(
        endpoint_url, agents=AGENTS, cycles=CYCLES, processes=processes, label="short"
    )
    assert figures["errors"] == 0, figures["first_errors"]
    assert figures["decisions"] == AGENTS * CYCLES * DECISIONS_PER_CYCLE
    assert figures["decisions_learned"] == figures["decisions"]
    assert figures["latency_ms"]["consolidate"]["calls"] == AGENTS
    # signals flow between agents; none is acknowledged twice (a sender may finish early, so
    # some arrive after their target's last claim)
    assert 0 < figures["latency_ms"]["ack_signal"]["calls"] <= AGENTS * CYCLES
    assert figures["latency_ms"]["claim_signals"]["calls"] == AGENTS * CYCLES
    assert figures["ttl"] == {
        "decision_readable_now": True,
        "signal_pending_now": True,
        "decision_gone_after_31_days": True,
        "signal_gone_after_31_days": True,
    }
    assert figures["write_units_per_agent_day"] > 0
