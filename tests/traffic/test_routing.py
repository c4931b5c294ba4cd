"""routing.plan_table: what the router will aim for, per arm, before anything runs
(the router itself is tested in test_simulator.py)."""

from __future__ import annotations

import pytest

from ner_core.traffic import experiment, routing

COLUMNS = [
    "arm",
    "run",
    "model",
    "planned share",
    "measured latency p50 (ms)",
    "measured entity F1",
    "error probability",
    "added latency (ms)",
]


def arm(name, weight, **facts):
    return experiment.Arm(name=name, run_id=f"run-{name}", weight=weight, **facts)


def test_plan_table_of_a_weighted_split():
    config = experiment.SimulationConfig(
        arms=[
            arm("a", 90.0, latency_p50_ms=2.0, entity_f1=0.8, model_name="model2"),
            arm("b", 10.0, error_probability=0.2, added_latency_ms=30.0),
        ]
    )
    table = routing.plan_table(config)
    assert list(table.columns) == COLUMNS
    first, second = table.to_dict("records")
    assert first == {
        "arm": "a",
        "run": "run-a",
        "model": "model2",
        "planned share": pytest.approx(0.9),
        "measured latency p50 (ms)": 2.0,
        "measured entity F1": 0.8,
        "error probability": 0.0,
        "added latency (ms)": 0.0,
    }
    assert second["planned share"] == pytest.approx(0.1)
    assert (second["error probability"], second["added latency (ms)"]) == (0.2, 30.0)
    assert table["planned share"].sum() == pytest.approx(1.0)


def test_plan_table_follows_the_rules():
    arms = [arm("fast", 70.0, latency_p50_ms=2.0, entity_f1=0.6), arm("good", 30.0, latency_p50_ms=9.0, entity_f1=0.9)]
    rules = experiment.SimulationConfig(arms=arms, strategy="rules", min_entity_f1=0.8)
    assert list(routing.plan_table(rules)["planned share"]) == [0.0, 1.0]
    nobody = experiment.SimulationConfig(arms=arms, strategy="rules", min_entity_f1=0.95, fallback_arm="fast")
    assert list(routing.plan_table(nobody)["planned share"]) == [1.0, 0.0]  # all to the fallback


def test_plan_table_keeps_unmeasured_facts_unknown():
    table = routing.plan_table(experiment.SimulationConfig(arms=[arm("x", 1.0)]))
    row = table.iloc[0]
    assert row["measured latency p50 (ms)"] is None and row["measured entity F1"] is None
    assert row["planned share"] == 1.0


# ----------------------------------------------------------------- the clock, route() and the API's strategies


def test_breaker_and_router_read_the_clock_they_are_given():
    from ner_core.traffic.circuit_breaker import CircuitBreaker, SimulatedClock

    clock = SimulatedClock(100.0)
    config = experiment.SimulationConfig(arms=[arm("main", 1.0), arm("spare", 0.0)], fallback_arm="spare")
    router = routing.Router(config, clock=clock)
    breakers = {name: CircuitBreaker(2, 30.0, clock=clock) for name in ("main", "spare")}
    assert breakers["main"].timeline == [(100.0, "closed")]
    breakers["main"].record_failure()
    breakers["main"].record_failure()
    decision = router.route(breakers)
    assert (decision.chosen.name, decision.served.name, decision.breaker_state) == ("main", "spare", "open")
    assert decision.reason == "fallback: breaker open for main"
    clock.set(130.0)
    decision = router.route(breakers)
    assert (decision.served.name, decision.breaker_state, decision.reason) == ("main", "half_open", "weighted draw")
    assert breakers["main"].timeline[-1] == (130.0, "half_open")


def test_route_rejects_when_the_fallback_is_open_too():
    from ner_core.traffic.circuit_breaker import CircuitBreaker, SimulatedClock

    clock = SimulatedClock()
    config = experiment.SimulationConfig(arms=[arm("main", 1.0), arm("spare", 0.0)], fallback_arm="spare")
    breakers = {name: CircuitBreaker(1, 30.0, clock=clock) for name in ("main", "spare")}
    for breaker in breakers.values():
        breaker.record_failure()
    decision = routing.Router(config, clock=clock).route(breakers)
    assert decision.served is None and decision.reason.startswith("rejected: breaker open for main")


CANDIDATES = [
    routing.Candidate("primary", latency_ms=4.0, entity_f1=0.80),
    routing.Candidate("speed", latency_ms=1.0, entity_f1=0.40),
    routing.Candidate("backup", latency_ms=9.0, entity_f1=0.85),
]


@pytest.mark.parametrize(
    "strategy, limits, context, selected, sla_met",
    [
        ("speed", {}, None, "speed", True),
        ("speed", {"min_entity_f1": 0.5}, None, "primary", True),
        ("accuracy", {}, None, "backup", True),
        ("performance", {"max_latency_ms": 5}, None, "primary", True),
        ("intelligent", {}, None, "primary", True),
        ("intelligent", {"max_latency_ms": 2}, None, "speed", True),
        ("intelligent", {"min_entity_f1": 0.82}, None, "backup", True),
        ("intelligent", {"min_entity_f1": 0.82}, {"priority": "high"}, "primary", False),
        ("intelligent", {"max_latency_ms": 2, "min_entity_f1": 0.82}, {"user_type": "premium"}, "speed", False),
        ("accuracy", {"min_entity_f1": 0.9}, None, "backup", False),
        ("speed", {"max_latency_ms": 0.5}, None, "speed", False),
    ],
)
def test_choose_by_strategy(strategy, limits, context, selected, sla_met):
    decision = routing.choose_by_strategy(CANDIDATES, strategy, primary="primary", context=context, **limits)
    assert (decision.selected, decision.sla_met) == (selected, sla_met), decision.reason
    assert decision.considered == tuple(CANDIDATES)


def test_strategies_skip_open_breakers_and_unknown_facts_never_qualify():
    candidates = [
        routing.Candidate("primary", 4.0, 0.80, available=False),
        routing.Candidate("speed", None, 0.40),
        routing.Candidate("backup", 9.0, None),
    ]
    assert routing.choose_by_strategy(candidates, "accuracy", primary="primary").selected == "speed"
    decision = routing.choose_by_strategy(candidates, "speed", max_latency_ms=20, primary="primary")
    assert (decision.selected, decision.sla_met) == ("backup", True)
    with pytest.raises(LookupError):
        routing.choose_by_strategy([routing.Candidate("x", 1.0, 0.5, available=False)], "speed")
