"""The Registry page (pages/registry.py) under AppTest: the empty registry, registering, promoting and
rolling back through the confirmation dialog, and refused changes; values are asserted in the store
and on the page. (Not test_registry.py: tests/serving/ has one, and test basenames must differ.)

Each test has its own workspace (``empty_workspace``) and records there, under new ids, the one tiny
run this module trains (the registry reads its folder and stored metrics; nothing is served here).
"""

from __future__ import annotations

import shutil

import pytest

from ner_core.serving import registry
from ner_core.settings import Settings
from ner_core.store.database import Store
from tests.helpers import page_app

KEY = "registry"


@pytest.fixture
def store(empty_workspace):
    return Store(Settings.from_env().database_url)


@pytest.fixture
def add_run(store, tiny_run, empty_workspace):
    """``add_run(run_id, model=...)``: the tiny run recorded in this test's database as a completed run
    with its own copy of the folder (a test may delete it)."""

    def add(run_id, model="baseline"):
        folder = empty_workspace / "models" / run_id
        shutil.copytree(tiny_run.run_dir, folder)
        store.create_run(run_id, model, config=tiny_run.config, dataset_path=tiny_run.dataset_path,
                         dataset_sha256=tiny_run.dataset_sha256, status="completed")  # fmt: skip
        store.update_run(run_id, metrics=tiny_run.metrics, run_dir=str(folder))
        return run_id

    return add


def open_page(who="ana"):
    app = page_app("registry.py").run()
    assert not app.exception
    if who:
        app.text_input(key=f"{KEY}_who").input(who).run()
    return app


def confirm(app, note=""):
    """Confirm the open dialog (after checking it is open); returns its summary text."""
    summary = dialog_text(app)
    if note:
        app.text_input(key=f"{KEY}_note").input(note)
    app.button(key=f"{KEY}_confirm").click().run()
    assert not app.exception
    return summary


def dialog_text(app) -> str:
    assert app.button(key=f"{KEY}_confirm") is not None  # the dialog is drawn
    return next(m.value for m in app.markdown if "becomes" in m.value or "leaves" in m.value)


TABLE_COLUMNS = {"roles_table": "served", "versions_table": "registered by", "history_table": "previous holder"}


def table(app, name):
    """The page's roles, versions or history table (found by a column only it has)."""
    return next(d.value for d in app.dataframe if TABLE_COLUMNS[name] in d.value.columns)


def promote(app, label, role, note=""):
    app.selectbox(key=f"{KEY}_version").select_index(labels(app).index(label)).run()
    app.selectbox(key=f"{KEY}_role").set_value(role).run()
    app.button(key=f"{KEY}_promote").click().run()
    return confirm(app, note)


def labels(app):
    return [option.split(" (")[0] for option in app.selectbox(key=f"{KEY}_version").options]


def test_an_empty_registry_says_what_to_do_and_what_the_api_serves_by_default(store, add_run):
    app = open_page(who="")
    assert any("nothing to serve" in info.value for info in app.info)
    add_run("base-1")
    app = open_page(who="")
    note = next(info.value for info in app.info if "No version holds a serving role" in info.value)
    assert "speed = baseline (run base-1)" in note and "Register a completed run" in note
    assert table(app, "roles_table").set_index("role").loc["speed", "note"] == "default: latest run (registry empty)"
    assert any("No registered version yet" in c.value for c in app.caption)
    assert app.button(key=f"{KEY}_register").disabled  # no name yet: no change can be recorded
    assert registry.list_versions(store) == []


def test_registering_a_run_after_confirming_it(store, add_run):
    add_run("base-1")
    app = open_page()
    app.button(key=f"{KEY}_register").click().run()
    assert confirm(app, note="first try") == "Run base-1 becomes baseline v1, with no role (the API does not serve it yet)."
    (info,) = registry.list_versions(store)
    assert (info.label, info.run_id, info.registered_by, info.notes, info.role) == (
        "baseline v1",
        "base-1",
        "ana",
        "first try",
        None,
    )
    assert any("Done: Run base-1 becomes baseline v1" in s.value for s in app.success)
    versions = table(app, "versions_table")
    assert versions[["model", "version", "run", "registered by"]].values.tolist() == [["baseline", 1, "base-1", "ana"]]
    assert versions.iloc[0]["entity F1"] == pytest.approx(store.get_run("base-1").metrics["entity_f1"])
    assert any("Every completed run is registered" in c.value for c in app.caption)


def test_promoting_names_what_changes_and_moves_the_role(store, add_run):
    for run_id in ("base-1", "base-2"):
        registry.register(store, add_run(run_id), by="setup")
    app = open_page()
    first = promote(app, "baseline v1", "primary")
    assert first.startswith("baseline v1 becomes primary; primary had no holder.")
    second = promote(app, "baseline v2", "primary", note="better F1")
    assert second == "baseline v2 becomes primary; baseline v1 leaves primary."
    assert registry.role_holders(store)["primary"].label == "baseline v2"
    assert registry.get_version(store, "baseline", 1).role is None
    assert table(app, "roles_table").set_index("role").loc["primary", "served"] == "baseline v2"
    history = table(app, "history_table")
    assert history.iloc[0][["by", "action", "version", "role", "previous holder", "note"]].tolist() == [
        "ana", "promoted", "baseline v2", "primary", "baseline v1", "better F1"
    ]  # fmt: skip
    assert any("Done: baseline v2 becomes primary" in s.value for s in app.success)


def test_rolling_back_restores_the_previous_holder(store, add_run):
    for run_id in ("base-1", "base-2"):
        registry.register(store, add_run(run_id))
    registry.promote(store, "baseline", 1, "primary")
    registry.promote(store, "baseline", 2, "primary")
    app = open_page()
    app.selectbox(key=f"{KEY}_rollback_role").set_value("primary").run()
    app.button(key=f"{KEY}_rollback").click().run()
    assert confirm(app, note="v2 misses entities") == "baseline v1 becomes primary again; baseline v2 leaves primary."
    assert registry.role_holders(store)["primary"].label == "baseline v1"
    latest = registry.history(store, limit=1)[0]
    assert (latest.action, latest.changed_by, latest.note) == ("rolled_back", "ana", "v2 misses entities")
    assert table(app, "history_table").iloc[0]["action"] == "rolled back"
    assert table(app, "roles_table").set_index("role").loc["primary", "served"] == "baseline v1"


def test_cancelling_the_dialog_changes_nothing(store, add_run):
    registry.register(store, add_run("base-1"))
    app = open_page()
    app.selectbox(key=f"{KEY}_role").set_value("speed").run()
    app.button(key=f"{KEY}_promote").click().run()
    assert dialog_text(app).startswith("baseline v1 becomes speed")
    app.button(key=f"{KEY}_cancel").click().run()
    assert not app.exception and registry.role_holders(store) == {}
    assert not any(b.key == f"{KEY}_confirm" for b in app.button)  # the dialog is gone


def test_promoting_a_version_whose_run_is_gone_is_a_clear_error_and_changes_nothing(store, add_run, empty_workspace):
    registry.register(store, add_run("base-1"))
    registry.register(store, add_run("base-2"))
    registry.promote(store, "baseline", 1, "primary")
    shutil.rmtree(empty_workspace / "models" / "base-2")
    app = open_page()
    app.selectbox(key=f"{KEY}_version").select_index(labels(app).index("baseline v2")).run()
    app.selectbox(key=f"{KEY}_role").set_value("primary").run()
    app.button(key=f"{KEY}_promote").click().run()
    app.button(key=f"{KEY}_confirm").click().run()
    assert not app.exception
    error = next(e.value for e in app.error)
    assert "E064" in error and "baseline v2's run folder" in error and "cannot be served" in error
    assert registry.role_holders(store)["primary"].label == "baseline v1"  # nothing moved
    store.delete_run("base-2")
    app.button(key=f"{KEY}_confirm").click().run()  # the dialog stays open until cancelled
    assert any("base-2 was deleted" in e.value for e in app.error)
    app.selectbox(key=f"{KEY}_version").select_index(labels(app).index("baseline v1")).run()
    app.button(key=f"{KEY}_cancel").click().run()
    app.button(key=f"{KEY}_promote").click().run()
    assert any("baseline v1 already holds primary" in e.value for e in app.error)  # refused before any dialog
    app.button(key=f"{KEY}_rollback").click().run()
    assert any("never changed holder" in e.value or "had no holder before" in e.value for e in app.error)
    assert registry.role_holders(store)["primary"].label == "baseline v1"


def test_a_model_link_preselects_its_versions(store, add_run):
    registry.register(store, add_run("base-1"))
    registry.register(store, add_run("m2-1", model="model2"))
    app = page_app("registry.py")
    app.query_params["model"] = "model2"
    app.run()
    assert not app.exception
    assert app.selectbox(key=f"{KEY}_model_filter").value == "model2"
    assert table(app, "versions_table")["model"].tolist() == ["model2"]
    app.selectbox(key=f"{KEY}_model_filter").set_value("all models").run()
    assert sorted(table(app, "versions_table")["model"]) == ["baseline", "model2"]
