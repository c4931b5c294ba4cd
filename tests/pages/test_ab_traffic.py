"""A/B traffic: arm setup, a logged simulation, split analysis with the SRM test, faults and the log browser.

Every test has its own workspace (``empty_workspace``: a fresh models folder and database) and
registers in it the one tiny run this module trains, then runs the simulations it checks itself;
no test reads what another one left behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ner_core.settings import SAMPLE_DATA_PATH, Settings
from ner_core.store.database import Store
from ner_core.traffic import ab_statistics, experiment
from ner_core.training import loop
from tests.helpers import page_app, tiny_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One baseline run (1 epoch, tiny dimensions) on the bundled sample, trained into this module's own
    models folder and database; tests register it in theirs (see ``registered_run``)."""
    root = tmp_path_factory.mktemp("ab_traffic_models")
    training_store = Store(f"sqlite:///{root / 'training.db'}")
    result = loop.train(tiny_config(SAMPLE_DATA_PATH), models_dir=root / "models", store=training_store)
    return training_store.get_run(result.run_id)


@pytest.fixture
def fresh_store(empty_workspace):
    """This test's own database, the one the page opens (empty_workspace points the settings at it)."""
    return Store(Settings.from_env().database_url)


def register(store, run, *, run_id=None, model_name=None, run_dir=None):
    """Record ``run`` (a completed run of another database) in ``store``, optionally as another id, model or folder."""
    run_id = run_id or run.id
    store.create_run(
        run_id,
        model_name or run.model_name,
        config=run.config,
        dataset_path=run.dataset_path,
        dataset_sha256=run.dataset_sha256,
        status="completed",
    )
    store.update_run(
        run_id, metrics=run.metrics, run_dir=str(run_dir or run.run_dir), started_at=run.started_at, finished_at=run.finished_at
    )
    return store.get_run(run_id)


@pytest.fixture
def registered_run(fresh_store, tiny_run):
    """The module's tiny run, the only run of this test's fresh database."""
    return register(fresh_store, tiny_run)


def set_arms(app, run, arms):
    """``arms``: [(name, weight %, error probability)] all serving ``run``."""
    app.number_input(key="ab_traffic_arm_count").set_value(len(arms)).run()
    for i, (name, weight, error) in enumerate(arms):
        app.text_input(key=f"ab_traffic_arm{i}_name").input(name)
        app.selectbox(key=f"ab_traffic_arm{i}_run").set_value(run)
        app.number_input(key=f"ab_traffic_arm{i}_weight").set_value(weight)
        app.number_input(key=f"ab_traffic_arm{i}_error").set_value(error)
    return app.run()


def run_simulation(app, requests):
    app.number_input(key="ab_traffic_requests").set_value(requests).run()
    app.button(key="ab_traffic_run").click().run()
    assert not app.exception and not app.error
    return app.session_state["ab_traffic_last_simulation"]


def table_with(app, column):
    """The first dataframe on the page that has ``column``."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def test_ab_traffic_on_an_empty_store_says_to_train_first(empty_workspace):
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    assert any("Training runs page" in info.value for info in app.info)


def test_default_arms_come_from_registered_runs_with_their_measured_facts(registered_run, fresh_store):
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    count = app.number_input(key="ab_traffic_arm_count").value
    names = [app.text_input(key=f"ab_traffic_arm{i}_name").value for i in range(count)]
    plan = app.dataframe[0].value
    assert list(plan["arm"]) == names
    assert plan["planned share"].sum() == pytest.approx(1.0)
    assert [run.id for run in fresh_store.list_runs(status="completed")] == [registered_run.id]
    # only one run: an A/A test of it
    assert names == ["A", "B"] and list(plan["planned share"]) == [0.5, 0.5]
    assert set(plan["run"]) == {registered_run.id}
    row = plan[plan["run"] == registered_run.id].iloc[0]
    assert row["measured entity F1"] == pytest.approx(registered_run.metrics["entity_f1"])
    assert row["measured latency p50 (ms)"] == pytest.approx(registered_run.metrics["latency_p50_ms"])
    assert any("No simulation yet" in info.value for info in app.info)
    assert fresh_store.simulation_summaries() == []


def test_default_arms_are_the_product_split_over_each_models_latest_run(registered_run, fresh_store, tiny_run):
    # The same trained folder registered once more as a "model2" run: the defaults only read the registry.
    model2 = register(fresh_store, tiny_run, run_id=f"{tiny_run.id}-as-model2", model_name="model2")
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    plan = app.dataframe[0].value
    assert list(plan["arm"]) == ["model2", "baseline"]
    assert list(plan["run"]) == [model2.id, registered_run.id]
    assert list(plan["planned share"]) == pytest.approx([0.90 / 0.98, 0.08 / 0.98])
    assert app.selectbox(key="ab_traffic_fallback").value == "baseline"


def test_rules_use_the_runs_measured_f1_against_the_users_threshold(registered_run):
    app = page_app("ab_traffic.py").run()
    set_arms(app, registered_run, [("A", 70.0, 0.0), ("B", 30.0, 0.0)])
    app.radio(key="ab_traffic_strategy").set_value("rules").run()
    app.checkbox(key="ab_traffic_use_min_f1").check().run()
    measured = registered_run.metrics["entity_f1"]
    app.number_input(key="ab_traffic_min_f1").set_value(round(max(0.0, measured - 0.01), 4)).run()
    assert list(app.dataframe[0].value["planned share"]) == pytest.approx([0.7, 0.3])  # both qualify
    app.number_input(key="ab_traffic_min_f1").set_value(round(min(1.0, measured + 0.01), 4)).run()
    app.selectbox(key="ab_traffic_fallback").set_value("B").run()
    assert list(app.dataframe[0].value["planned share"]) == [0.0, 1.0]  # nobody qualifies: all to the fallback
    assert not app.exception


def test_a_200_request_simulation_is_logged_and_its_split_tested(registered_run, fresh_store):
    app = page_app("ab_traffic.py").run()
    set_arms(app, registered_run, [("A", 50.0, 0.0), ("B", 50.0, 0.0)])
    simulation_id = run_simulation(app, 200)

    rows = fresh_store.prediction_rows(simulation_id=simulation_id)
    assert len(rows) == 200
    assert {row["source"] for row in rows} == {"simulation"}
    assert {row["error_kind"] for row in rows} == {experiment.ERROR_NONE}
    counts = {arm: sum(row["arm"] == arm for row in rows) for arm in ("A", "B")}
    assert all(70 <= count <= 130 for count in counts.values()), counts
    assert counts["A"] + counts["B"] == 200

    split = table_with(app, "router picks")
    assert dict(zip(split["arm"], split["served"])) == counts
    expected_p = ab_statistics.sample_ratio_mismatch(counts, {"A": 0.5, "B": 0.5})
    srm = next(m for m in app.metric if "Sample-ratio mismatch" in m.label)
    assert srm.value == f"{expected_p:.4f}"

    quality = table_with(app, "ci_low")
    assert set(quality["arm"]) == {"A", "B"}
    assert (quality["ci_low"] <= quality["f1"]).all() and (quality["f1"] <= quality["ci_high"]).all()
    assert any("Difference test p-value" in m.label for m in app.metric)

    # Log browser: filters and row counts.
    assert any("200 of 200 logged requests" in c.value for c in app.caption)
    app.multiselect(key="ab_traffic_log_arms").set_value(["A"]).run()
    assert any(f"{counts['A']} of 200 logged requests" in c.value for c in app.caption)
    app.checkbox(key="ab_traffic_log_errors").check().run()
    assert any("0 of 200 logged requests" in c.value for c in app.caption)


def test_fault_injection_opens_the_breaker_and_falls_back(registered_run, fresh_store):
    app = page_app("ab_traffic.py").run()
    set_arms(app, registered_run, [("good", 50.0, 0.0), ("flaky", 50.0, 1.0)])
    app.selectbox(key="ab_traffic_fallback").set_value("good").run()
    simulation_id = run_simulation(app, 150)

    result = app.session_state["ab_traffic_results"][simulation_id]
    states = [state for _, state in result.breaker_timelines["flaky"]]
    assert states[:2] == ["closed", "open"]
    errors = table_with(app, "injected faults").set_index("arm")
    assert errors.loc["flaky", "error rate"] == 1.0
    assert errors.loc["flaky", "injected faults"] == 5  # then the breaker opens and traffic falls back to "good"
    assert errors.loc["flaky", "rejected (breaker open)"] == 0  # the fallback took every request
    assert errors.loc["good", "error rate"] == 0.0
    rows = fresh_store.prediction_rows(simulation_id=simulation_id)
    assert sum(row["error"] == experiment.INJECTED_FAULT for row in rows) == 5
    assert sum(row["error_kind"] == experiment.ERROR_INJECTED_FAULT for row in rows) == 5
    assert sum((row["routing_reason"] or "").startswith("fallback: breaker open for flaky") for row in rows) > 40

    breakers = table_with(app, "times opened").set_index("arm")
    assert (breakers.loc["flaky", "times opened"], breakers.loc["flaky", "final state"]) == (1, "open")
    assert (breakers.loc["good", "times opened"], breakers.loc["good", "final state"]) == (0, "closed")

    app.checkbox(key="ab_traffic_log_errors").check().run()
    assert any("5 of 150 logged requests" in c.value for c in app.caption)


def test_an_earlier_simulation_is_chosen_from_the_log(registered_run, fresh_store):
    app = set_arms(page_app("ab_traffic.py").run(), registered_run, [("A", 50.0, 0.0), ("B", 50.0, 0.0)])
    simulation_id = run_simulation(app, 60)
    earlier = fresh_store.simulation_summaries()
    assert [summary["simulation_id"] for summary in earlier] == [simulation_id]
    target = earlier[-1]
    assert target["requests"] == 60

    app = page_app("ab_traffic.py").run()  # a fresh session: nothing in session_state
    app.selectbox(key="ab_traffic_simulation").set_value(target["simulation_id"]).run()
    assert not app.exception
    assert any("rebuilt from the prediction log" in c.value for c in app.caption)
    split = table_with(app, "router picks")
    assert split["served"].sum() == target["requests"]
    assert not [m for m in app.metric if "Sample-ratio mismatch" in m.label]  # the plan was not logged
    assert any(f"{target['requests']} of {target['requests']} logged requests" in c.value for c in app.caption)


def test_a_simulation_logged_before_error_kinds_shows_its_errors_by_kind(registered_run, fresh_store):
    app = set_arms(page_app("ab_traffic.py").run(), registered_run, [("good", 50.0, 0.0), ("flaky", 50.0, 1.0)])
    app.selectbox(key="ab_traffic_fallback").set_value("good").run()
    simulation_id = run_simulation(app, 150)
    # The same rows as an older version logged them: no error_kind, only the error message.
    old_rows = [
        {**{k: v for k, v in row.items() if k not in ("id", "error_kind")}, "simulation_id": "sim-before-kinds"}
        for row in fresh_store.prediction_rows(simulation_id=simulation_id)
    ]
    assert fresh_store.log_predictions(old_rows) == 150
    assert {row["error_kind"] for row in fresh_store.prediction_rows(simulation_id="sim-before-kinds")} == {None}

    app = page_app("ab_traffic.py").run()
    app.selectbox(key="ab_traffic_simulation").set_value("sim-before-kinds").run()
    assert not app.exception and not app.error
    errors = table_with(app, "injected faults").set_index("arm")
    assert errors.loc["flaky", "injected faults"] == 5 and errors.loc["flaky", "error rate"] == 1.0
    assert errors.loc["good", "injected faults"] == 0
    log = table_with(app, "routing_reason")
    assert sorted(set(log["error_kind"])) == [experiment.ERROR_INJECTED_FAULT, experiment.ERROR_NONE]


def test_a_run_whose_dataset_changed_is_refused_before_simulating(registered_run, fresh_store, empty_workspace):
    # A copy of the run folder whose config.json records another dataset checksum, as if the file had changed.
    copy = Path(empty_workspace) / "models" / f"{registered_run.id}-changed"
    shutil.copytree(registered_run.run_dir, copy)
    config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    config["dataset"]["sha256"] = "0" * 64
    (copy / "config.json").write_text(json.dumps(config), encoding="utf-8")
    changed = register(fresh_store, registered_run, run_id=copy.name, run_dir=copy)

    app = set_arms(page_app("ab_traffic.py").run(), changed, [("A", 50.0, 0.0), ("B", 50.0, 0.0)])
    app.button(key="ab_traffic_run").click().run()
    assert not app.exception
    assert any("has changed since run" in error.value for error in app.error)
    assert fresh_store.simulation_summaries() == []


def test_f1_intervals_rest_on_distinct_sentences_and_the_primary_arm_faces_each_other_arm(registered_run, fresh_store):
    app = page_app("ab_traffic.py").run()
    set_arms(app, registered_run, [("small", 20.0, 0.0), ("main", 50.0, 0.0), ("other", 30.0, 0.0)])
    simulation_id = run_simulation(app, 300)
    rows = fresh_store.prediction_rows(simulation_id=simulation_id)
    distinct = {arm: len({row["text"] for row in rows if row["arm"] == arm}) for arm in ("small", "main", "other")}

    quality = table_with(app, "ci_low").set_index("arm")
    assert {arm: quality.loc[arm, "sentences"] for arm in distinct} == distinct
    assert all(quality.loc[arm, "sentences"] < quality.loc[arm, "requests"] for arm in ("main", "other"))  # replays
    all_sentences = len({row["text"] for row in rows})
    assert any(f"replay {all_sentences:,} distinct test sentences" in c.value for c in app.caption)

    assert any(m.value.startswith("**main** (the primary arm: the highest planned weight)") for m in app.markdown)
    versus = table_with(app, "versus")
    assert list(versus["versus"]) == ["other", "small"]
    requests = app.session_state["ab_traffic_results"][simulation_id].requests
    expected = ab_statistics.differences_from_primary(requests, "main", n_boot=1000)
    assert versus.reset_index(drop=True).equals(expected)
    # The pair picker starts on the primary arm too.
    assert app.selectbox(key="ab_traffic_diff_a").value == "main"
