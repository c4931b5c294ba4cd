"""A/B traffic: arm setup, a logged simulation, split analysis with the SRM test, faults and the log browser."""

from __future__ import annotations

import pytest

from ner_core.traffic import ab_statistics, experiment
from tests.helpers import page_app


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


@pytest.fixture
def registered_run(trained_run, store):
    return store.get_run(trained_run.run_id)


def test_ab_traffic_on_an_empty_store_says_to_train_first(empty_workspace):
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    assert any("Training runs page" in info.value for info in app.info)


def test_default_arms_come_from_registered_runs_with_their_measured_facts(registered_run, store):
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    count = app.number_input(key="ab_traffic_arm_count").value
    names = [app.text_input(key=f"ab_traffic_arm{i}_name").value for i in range(count)]
    plan = app.dataframe[0].value
    assert list(plan["arm"]) == names
    assert plan["planned share"].sum() == pytest.approx(1.0)
    completed = store.list_runs(status="completed")
    if len(completed) == 1:  # only trained_run: an A/A test of it
        assert names == ["A", "B"] and list(plan["planned share"]) == [0.5, 0.5]
    if registered_run.id in set(plan["run"]):
        row = plan[plan["run"] == registered_run.id].iloc[0]
        assert row["measured entity F1"] == pytest.approx(registered_run.metrics["entity_f1"])
        assert row["measured latency p50 (ms)"] == pytest.approx(registered_run.metrics["latency_p50_ms"])
    assert any("No simulation yet" in info.value for info in app.info) or store.simulation_summaries()


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


def test_a_200_request_simulation_is_logged_and_its_split_tested(registered_run, store):
    app = page_app("ab_traffic.py").run()
    set_arms(app, registered_run, [("A", 50.0, 0.0), ("B", 50.0, 0.0)])
    simulation_id = run_simulation(app, 200)

    rows = store.prediction_rows(simulation_id=simulation_id)
    assert len(rows) == 200
    assert {row["source"] for row in rows} == {"simulation"}
    counts = {arm: sum(row["arm"] == arm for row in rows) for arm in ("A", "B")}
    assert all(70 <= count <= 130 for count in counts.values()), counts
    assert counts["A"] + counts["B"] == 200

    split = next(d.value for d in app.dataframe if "router picks" in d.value.columns)
    assert dict(zip(split["arm"], split["served"])) == counts
    expected_p = ab_statistics.sample_ratio_mismatch(counts, {"A": 0.5, "B": 0.5})
    srm = next(m for m in app.metric if "Sample-ratio mismatch" in m.label)
    assert srm.value == f"{expected_p:.4f}"

    quality = next(d.value for d in app.dataframe if "ci_low" in d.value.columns)
    assert set(quality["arm"]) == {"A", "B"}
    assert (quality["ci_low"] <= quality["f1"]).all() and (quality["f1"] <= quality["ci_high"]).all()
    assert any("Difference test p-value" in m.label for m in app.metric)

    # Log browser: filters and row counts.
    assert any("200 of 200 logged requests" in c.value for c in app.caption)
    app.multiselect(key="ab_traffic_log_arms").set_value(["A"]).run()
    assert any(f"{counts['A']} of 200 logged requests" in c.value for c in app.caption)
    app.checkbox(key="ab_traffic_log_errors").check().run()
    assert any("0 of 200 logged requests" in c.value for c in app.caption)


def test_fault_injection_opens_the_breaker_and_falls_back(registered_run, store):
    app = page_app("ab_traffic.py").run()
    set_arms(app, registered_run, [("good", 50.0, 0.0), ("flaky", 50.0, 1.0)])
    app.selectbox(key="ab_traffic_fallback").set_value("good").run()
    simulation_id = run_simulation(app, 150)

    result = app.session_state["ab_traffic_results"][simulation_id]
    states = [state for _, state in result.breaker_timelines["flaky"]]
    assert states[:2] == ["closed", "open"]
    errors = next(d.value for d in app.dataframe if "injected faults" in d.value.columns).set_index("arm")
    assert errors.loc["flaky", "error rate"] == 1.0
    assert errors.loc["flaky", "injected faults"] == 5  # then the breaker opens and traffic falls back to "good"
    assert errors.loc["good", "error rate"] == 0.0
    rows = store.prediction_rows(simulation_id=simulation_id)
    assert sum(row["error"] == experiment.INJECTED_FAULT for row in rows) == 5
    assert sum((row["routing_reason"] or "").startswith("fallback: breaker open for flaky") for row in rows) > 40

    app.checkbox(key="ab_traffic_log_errors").check().run()
    assert any("5 of 150 logged requests" in c.value for c in app.caption)


def test_an_earlier_simulation_is_chosen_from_the_log(registered_run, store):
    earlier = store.simulation_summaries()
    if not earlier:
        app = set_arms(page_app("ab_traffic.py").run(), registered_run, [("A", 50.0, 0.0), ("B", 50.0, 0.0)])
        run_simulation(app, 60)
        earlier = store.simulation_summaries()
    target = earlier[-1]
    app = page_app("ab_traffic.py").run()  # a fresh session: nothing in session_state
    app.selectbox(key="ab_traffic_simulation").set_value(target["simulation_id"]).run()
    assert not app.exception
    assert any("rebuilt from the prediction log" in c.value for c in app.caption)
    split = next(d.value for d in app.dataframe if "router picks" in d.value.columns)
    assert split["served"].sum() == target["requests"]
    assert not [m for m in app.metric if "Sample-ratio mismatch" in m.label]  # the plan was not logged
    assert any(f"{target['requests']} of {target['requests']} logged requests" in c.value for c in app.caption)
