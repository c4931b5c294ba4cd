"""The A/B page and the model registry: default arms from the registry's roles, and the live mode that
sends the test sentences as real HTTP requests to a running API (a BackgroundServer here).

Each test has its own workspace (``empty_workspace``) and records there the one tiny run this module
trains, under new ids; no test reads what another left behind.
"""

from __future__ import annotations

import time

import pytest

from ner_core.serving import registry
from ner_core.serving.config import Fault, ServeConfig
from ner_core.serving.server import BackgroundServer
from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.store.tables import LiveTrafficRun, PredictionLog
from ner_core.traffic import live_results
from tests.helpers import page_app

KEY = "ab_traffic"


@pytest.fixture
def store(empty_workspace):
    return Store(Settings.from_env().database_url)


def add_run(store, tiny_run, run_id, model="baseline"):
    """The tiny run recorded in this test's database as another completed run (same folder, read only)."""
    store.create_run(run_id, model, config=tiny_run.config, dataset_path=tiny_run.dataset_path,
                     dataset_sha256=tiny_run.dataset_sha256, status="completed")  # fmt: skip
    store.update_run(run_id, metrics=tiny_run.metrics, run_dir=tiny_run.run_dir)
    return run_id


def test_default_arms_are_the_registrys_serving_roles_with_the_designs_split(store, tiny_run):
    for run_id in ("base-1", "base-2", "base-3"):
        registry.register(store, add_run(store, tiny_run, run_id))
    registry.promote(store, "baseline", 2, "primary")
    registry.promote(store, "baseline", 3, "speed")
    registry.promote(store, "baseline", 1, "staging")  # not a serving role: no arm
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    plan = app.dataframe[0].value
    assert list(plan["arm"]) == ["primary", "speed"]
    assert list(plan["run"]) == ["base-2", "base-3"]
    assert list(plan["planned share"]) == pytest.approx([90 / 98, 8 / 98])
    assert app.selectbox(key=f"{KEY}_fallback").value == "speed"  # as the API falls back


def test_an_empty_registry_keeps_the_old_defaults(store, tiny_run):
    add_run(store, tiny_run, "m2-1", model="model2")
    add_run(store, tiny_run, "base-1")
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    assert list(app.dataframe[0].value["arm"]) == ["model2", "baseline"]


# ----------------------------------------------------------------- live mode


LIVE = f"{KEY}_live"


def live_page(url):
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    app.radio(key=f"{KEY}_mode").set_value("Live API").run()
    app.text_input(key=f"{LIVE}_url").input(url).run()
    assert not app.exception
    return app


def run_until(app, predicate, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while not predicate(app):
        assert time.monotonic() < deadline, "the page did not get there in time"
        time.sleep(0.5)
        app.run()
        assert not app.exception
    return app


def table_with(app, column):
    return next(d.value for d in app.dataframe if column in d.value.columns)


@pytest.fixture
def serving(store, tiny_run):
    """The tiny model registered as baseline v1 (primary) and v2 (speed) in this test's database."""
    for run_id, role in (("base-1", "primary"), ("base-2", "speed")):
        info = registry.register(store, add_run(store, tiny_run, run_id))
        registry.promote(store, info.model_name, info.version, role)
    return store


def api(store, **settings):
    """A real API server on a free port, writing its log to the page's database."""
    return BackgroundServer(ServeConfig(port=0, open_access=True, log_flush_interval_s=0.05, **settings), store=store)


def test_live_mode_with_no_api_running_says_how_to_start_one(serving):
    app = live_page("http://127.0.0.1:9")
    app.button(key=f"{LIVE}_check").click().run()
    assert any("cannot reach the API at http://127.0.0.1:9" in e.value and "make serve" in e.value for e in app.error)
    app.button(key=f"{LIVE}_start").click().run()
    assert not app.exception and any("E060" in e.value for e in app.error)
    assert any("No live run yet" in i.value for i in app.info)
    assert live_results.live_runs(serving) == []
    app.text_input(key=f"{LIVE}_url").input("localhost:8000").run()
    assert any("not an http(s) address" in e.value for e in app.error)


def test_a_live_run_from_the_page_is_sent_logged_and_analysed(serving):
    with api(serving) as server:
        app = live_page(server.url)
        app.button(key=f"{LIVE}_check").click().run()
        served = table_with(app, "breaker").set_index("role")
        assert served.loc["primary", "serves"] == "baseline v1" and served.loc["speed", "breaker"] == "closed"
        app.number_input(key=f"{LIVE}_requests").set_value(30)
        app.number_input(key=f"{LIVE}_rate").set_value(100.0)
        app.number_input(key=f"{LIVE}_concurrency").set_value(4).run()
        app.button(key=f"{LIVE}_start").click().run()
        assert not app.exception and not app.error
        run_until(
            app,
            lambda a: any(
                "30 of 30 requests" in c.value and "30 are in the log, 0 served by a fallback, 0 failed" in c.value
                for c in a.caption
            ),
        )
        app.button(key=f"{LIVE}_fault_apply").click().run()  # the server runs without --fault-api
        assert any("E063" in e.value and "--fault-api" in e.value for e in app.error)
    (summary,) = live_results.live_runs(serving)
    assert (summary.status, summary.requests, summary.settings["concurrency"]) == ("completed", 30, 4)
    assert app.selectbox(key=f"{LIVE}_chosen").value == summary.id
    with serving.session() as session:
        logged = session.query(PredictionLog).filter(PredictionLog.request_id.startswith(summary.id)).count()
    assert logged == 30
    split = table_with(app, "router picks").set_index("arm")
    assert split["router picks"].sum() == 30 and split.loc["primary", "planned share"] == pytest.approx(90 / 98)
    assert table_with(app, "in the log").set_index("status").loc["200", "requests"] == 30
    log = table_with(app, "round_trip_ms")
    assert len(log) == 30 and log["request_id"].str.startswith(summary.id).all()
    assert set(table_with(app, "ci_low")["arm"]) <= {"primary", "speed"}  # the page's entity-F1 view on live rows


def test_faults_switched_from_the_page_reach_the_running_api_and_cancel_stops_a_run(serving):
    with api(serving, fault_api=True) as server:
        app = live_page(server.url)
        app.selectbox(key=f"{LIVE}_fault_role").set_value("primary")
        app.number_input(key=f"{LIVE}_fault_error").set_value(0.5)
        app.number_input(key=f"{LIVE}_fault_latency").set_value(20.0).run()
        app.button(key=f"{LIVE}_fault_apply").click().run()
        assert any("faults error p=0.5, +20 ms" in s.value for s in app.success)
        assert server.gateway.faults["primary"] == Fault(0.5, 20.0)
        assert table_with(app, "fault").set_index("role").loc["primary", "fault"] == "error p=0.5, +20 ms"
        app.button(key=f"{LIVE}_fault_off").click().run()
        assert "primary" not in server.gateway.faults

        app.number_input(key=f"{LIVE}_requests").set_value(2000)
        app.number_input(key=f"{LIVE}_rate").set_value(10.0).run()
        app.button(key=f"{LIVE}_start").click().run()
        run_until(app, lambda a: any(m.label == "HTTP 200" and m.value != "0" for m in a.metric))
        assert app.button(key=f"{LIVE}_start").disabled  # one live run at a time
        app.button(key=f"{LIVE}_cancel").click().run()
        run_until(app, lambda a: any(c.value.startswith("Cancelled:") for c in a.caption))
    (summary,) = live_results.live_runs(serving)
    assert summary.status == "cancelled" and 1 <= summary.requests < 2000
    assert any("cancelled after" in w.value for w in app.warning)


def test_a_run_the_app_never_finished_is_shown_as_interrupted(serving):
    # What a crash of the app mid-run leaves: the run row still "running", nobody sending.
    serving.write(
        lambda session: session.add(LiveTrafficRun(id="live-0000deadbeef", api_url="http://127.0.0.1:8000", status="running"))
    )
    app = live_page("http://127.0.0.1:9")
    assert app.selectbox(key=f"{LIVE}_chosen").value == "live-0000deadbeef"
    assert any("never finished" in w.value for w in app.warning)
    assert not app.button(key=f"{LIVE}_start").disabled  # nothing is really sending
