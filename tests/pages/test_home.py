"""The home page on an empty store and after a run exists."""

from __future__ import annotations

from tests.helpers import page_app


def test_home_on_an_empty_store_offers_first_start_training(empty_workspace):
    app = page_app("home.py").run()
    assert not app.exception
    assert app.title[0].value == "NER Workbench"
    assert any("Train baseline, advanced and model2" in b.label for b in app.button)


def test_home_lists_runs_with_headline_metrics(trained_run):
    app = page_app("home.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    row = table[table["model"] == "model2"].iloc[0]
    assert row["latest run"] == trained_run.run_id
    assert row["entity F1"] == f"{trained_run.metrics['entity_f1']:.4f}"


def test_home_shows_why_the_database_cannot_be_opened(empty_workspace, monkeypatch):
    blocker = empty_workspace / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    monkeypatch.setenv("NER_DATABASE_URL", f"sqlite:///{blocker / 'workbench.db'}")
    app = page_app("home.py").run()
    assert not app.exception
    assert "[E007]" in app.error[0].value and "cannot open the database" in app.error[0].value
    assert not app.dataframe  # the page stopped at the error
