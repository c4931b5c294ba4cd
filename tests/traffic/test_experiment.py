"""The defaults an A/B experiment starts from: its arms over registered runs (newest first), its fallback
arm, and whether the arms share their training data."""

from __future__ import annotations

import json

import pytest

from ner_core.errors import ConfigError
from ner_core.store.tables import Run
from ner_core.traffic import experiment


def run(run_id, model, f1=0.5, latency=2.0):
    metrics = {"entity_f1": f1, "latency_p50_ms": latency}
    return Run(id=run_id, model_name=model, status="completed", metrics_json=json.dumps(metrics))


def summary(arms):
    return [(arm.name, arm.run_id, arm.weight) for arm in arms]


def test_the_product_split_over_each_models_latest_run():
    runs = [run("m2-new", "model2"), run("adv", "advanced"), run("m2-old", "model2"), run("base", "baseline")]
    arms = experiment.default_arms(runs)
    assert summary(arms) == [("model2", "m2-new", 90.0), ("baseline", "base", 8.0), ("advanced", "adv", 2.0)]
    assert sum(arm.weight for arm in arms) == pytest.approx(100.0)


def test_two_of_the_product_models_make_a_partial_product_split():
    arms = experiment.default_arms([run("base", "baseline"), run("other", "bilstm_crf"), run("m2", "model2")])
    assert summary(arms) == [("model2", "m2", 90.0), ("baseline", "base", 8.0)]


def test_arms_carry_the_runs_measured_facts_and_no_faults():
    arms = experiment.default_arms([run("m2", "model2", f1=0.81, latency=3.5), run("base", "baseline", f1=0.6)])
    first = arms[0]
    assert (first.entity_f1, first.latency_p50_ms, first.model_name) == (0.81, 3.5, "model2")
    assert all(arm.error_probability == 0.0 and arm.added_latency_ms == 0.0 for arm in arms)
    experiment.SimulationConfig(arms=arms)  # a valid experiment as it is


def test_otherwise_the_two_newest_runs_half_and_half():
    arms = experiment.default_arms([run("c", "char_cnn"), run("m2", "model2"), run("old", "bilstm")])
    assert summary(arms) == [("char_cnn", "c", 50.0), ("model2", "m2", 50.0)]


def test_two_newest_runs_of_one_model_are_told_apart_by_age():
    arms = experiment.default_arms([run("new", "model2"), run("old", "model2")])
    assert summary(arms) == [("model2 (newest)", "new", 50.0), ("model2 (previous)", "old", 50.0)]
    experiment.SimulationConfig(arms=arms)  # unique names


def test_a_single_run_is_an_a_a_test_of_itself():
    arms = experiment.default_arms([run("only", "model2")])
    assert summary(arms) == [("A", "only", 50.0), ("B", "only", 50.0)]


def test_no_runs_is_a_config_error():
    with pytest.raises(ConfigError, match="at least one completed run"):
        experiment.default_arms([])


# ----------------------------------------------------------------- fallback and training data


def arm(name, model=""):
    return experiment.Arm(name=name, run_id=f"run-{name}", weight=1.0, model_name=model)


def test_default_fallback_is_the_first_baseline_arm_else_the_first_arm():
    assert experiment.default_fallback_arm([arm("a", "model2"), arm("b", "baseline"), arm("c", "baseline")]) == "b"
    assert experiment.default_fallback_arm([arm("a", "model2"), arm("b", "advanced")]) == "a"
    assert experiment.default_fallback_arm([arm("a"), arm("b")], {"b": "baseline"}) == "b"  # model from the predictors
    # an arm's own model wins over the predictors' one: neither arm is a baseline, so the first arm
    assert experiment.default_fallback_arm([arm("a", "model2"), arm("b")], {"a": "baseline"}) == "a"


def test_the_configs_resolved_fallback_is_the_default_one_unless_set():
    arms = [arm("a", "model2"), arm("b", "baseline")]
    assert experiment.SimulationConfig(arms=arms).resolved_fallback_arm() == experiment.default_fallback_arm(arms) == "b"
    assert experiment.SimulationConfig(arms=arms, fallback_arm="a").resolved_fallback_arm() == "a"


def test_default_fallback_of_no_arms_is_a_config_error():
    with pytest.raises(ConfigError, match="at least one arm"):
        experiment.default_fallback_arm([])


def trained(run_id, sha, seed):
    return Run(id=run_id, model_name="model2", dataset_sha256=sha, config_json=json.dumps({"seed": seed}))


def test_same_training_data_needs_one_dataset_and_one_seed():
    assert experiment.same_training_data([trained("a", "f00", 42), trained("b", "f00", 42)])
    assert experiment.same_training_data([trained("a", "f00", 42)])
    assert experiment.same_training_data([])
    assert not experiment.same_training_data([trained("a", "f00", 42), trained("b", "ba4", 42)])
    assert not experiment.same_training_data([trained("a", "f00", 42), trained("b", "f00", 7)])


def test_registry_roles_give_the_arms_with_the_designs_split():
    runs = [run("m2-v2", "model2"), run("base-v1", "baseline"), run("m2-v1", "model2"), run("adv", "advanced")]
    roles = {"backup": "adv", "primary": "m2-v1", "speed": "base-v1"}
    arms = experiment.default_arms(runs, roles)
    assert summary(arms) == [("primary", "m2-v1", 90.0), ("speed", "base-v1", 8.0), ("backup", "adv", 2.0)]
    assert experiment.default_fallback_arm(arms) == "speed"
    assert arms[0].entity_f1 == 0.5 and arms[0].model_name == "model2"  # the run's measured facts


def test_registry_roles_whose_runs_are_not_available_are_left_out_else_the_old_defaults():
    runs = [run("m2", "model2"), run("base", "baseline")]
    assert summary(experiment.default_arms(runs, {"primary": "m2", "speed": "deleted-run"})) == [("primary", "m2", 90.0)]
    fallback = experiment.default_arms(runs, {"primary": "deleted-run", "staging": "m2"})
    assert summary(fallback) == summary(experiment.default_arms(runs)) == [("model2", "m2", 90.0), ("baseline", "base", 8.0)]
    assert summary(experiment.default_arms(runs, {})) == summary(experiment.default_arms(runs))


def test_an_arm_named_speed_is_the_default_fallback():
    assert experiment.default_fallback_arm([arm("primary", "model2"), arm("speed", "advanced"), arm("b", "baseline")]) == "speed"
