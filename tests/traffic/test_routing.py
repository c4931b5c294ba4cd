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
