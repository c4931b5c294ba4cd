"""The entity highlighter: empty store, escaping, prediction logging, too-long and empty text."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from ner_core.serving.predictor import MAX_TEXT_CHARS
from ner_core.settings import Settings
from ner_core.store.database import Store
from tests.helpers import page_app, register_run_copy

PAGE = "entity_highlighter.py"
HOSTILE = "Anna Berg met <script>alert(1)</script> officials in Oslo <img src=x onerror=alert(1)> on Monday ."


def test_highlighter_on_an_empty_store_says_what_to_do(empty_workspace):
    app = page_app(PAGE).run()
    assert not app.exception
    assert "Training runs page" in app.info[0].value
    assert not app.text_area


@pytest.fixture
def highlighter(trained_run):
    app = page_app(PAGE).run()
    assert not app.exception
    app.multiselect(key="entity_highlighter_runs").set_value([trained_run.run_id])
    return app


def find(app, text: str):
    app.text_area(key="entity_highlighter_text").set_value(text)
    app.button(key="entity_highlighter_find").click().run()
    assert not app.exception
    return app


def token_table(app):
    return next(frame.value for frame in app.dataframe if "low_confidence" in frame.value.columns)


def test_user_text_is_escaped_in_the_rendered_markdown(highlighter):
    app = find(highlighter, HOSTILE)
    assert not app.error
    values = [m.value for m in app.html]
    rendered = [v for v in values if "ner-highlight" in v]
    assert len(rendered) == 1
    for raw in ("<script>", "</script>", "<img src=x onerror=alert(1)>", "<img"):
        assert not any(raw in v for v in values)
    # The model may tag pieces of the markup as entities, so compare the visible text with the
    # entity labels and scores taken out: it must be the user's text, angle brackets included.
    import html
    import re

    visible = re.sub(r'<span style="font-size:0\.7[^>]*>[^<]*</span>', "", rendered[0])
    visible = html.unescape(re.sub(r"<[^>]+>", "", visible))
    assert "<script>" in visible.replace(" ", "") and "<imgsrc=xonerror=alert(1)>" in visible.replace(" ", "")
    assert "&lt;" in rendered[0]


def test_a_prediction_logs_one_row_per_chosen_model_and_shows_tokens(highlighter, store, trained_run):
    before = store.count_predictions(source="highlighter")
    app = find(highlighter, "Anna Berg visited Oslo on Monday .")
    assert store.count_predictions(source="highlighter") == before + 1
    row = store.prediction_rows(source="highlighter")[-1]
    assert row["run_id"] == trained_run.run_id and row["text"] == "Anna Berg visited Oslo on Monday ."
    tokens = token_table(app)
    assert tokens["token"].tolist() == ["Anna", "Berg", "visited", "Oslo", "on", "Monday", "."]
    assert tokens["low_confidence"].tolist() == (tokens["confidence"] < 0.6).tolist()

    # Moving the threshold re-flags tokens from the stored result; it predicts and logs nothing.
    app.slider(key="entity_highlighter_threshold").set_value(1.0).run()
    assert token_table(app)["low_confidence"].all()
    assert store.count_predictions(source="highlighter") == before + 1


def test_too_long_text_is_an_error_and_logs_nothing(highlighter, store):
    before = store.count_predictions(source="highlighter")
    app = find(highlighter, "a" * (MAX_TEXT_CHARS + 1))
    assert len(app.error) == 1 and f"{MAX_TEXT_CHARS:,}" in app.error[0].value
    assert store.count_predictions(source="highlighter") == before
    assert not [m for m in app.html if "ner-highlight" in m.value]


def test_empty_text_shows_a_hint_not_an_error(highlighter):
    highlighter.text_area(key="entity_highlighter_text").set_value("   ").run()
    assert not highlighter.exception and not highlighter.error
    assert "Type or paste some text" in highlighter.info[0].value
    assert not highlighter.button


def test_two_models_side_by_side_log_two_rows_and_compare_their_entities(trained_run, empty_workspace):
    models_dir, store = Settings.from_env().models_dir, Store(Settings.from_env().database_url)
    ids = ["model2-copy-a", "model2-copy-b"]
    for run_id in ids:
        shutil.copytree(trained_run.run_dir, models_dir / run_id)
        store.create_run(run_id, "model2", config=trained_run.config.to_dict(), status="completed")
        store.update_run(run_id, run_dir=str(models_dir / run_id), metrics=trained_run.metrics)
    app = page_app(PAGE).run()
    app.multiselect(key="entity_highlighter_runs").set_value(ids)
    app.radio(key="entity_highlighter_decoding").set_value("constrained")
    find(app, "Anna Berg visited Oslo on Monday .")
    assert store.count_predictions(source="highlighter") == 2
    assert sorted(row["run_id"] for row in store.prediction_rows(source="highlighter")) == ids
    assert len([m for m in app.html if "ner-highlight" in m.value]) == 2
    # Copies of one model agree on every entity.
    assert any("exactly the same entities" in s.value for s in app.success)


@pytest.fixture
def four_runs(trained_run, empty_workspace):
    """Four copies of the trained run, newest first: run-4 ... run-1."""
    ids = [f"run-{i}" for i in range(4, 0, -1)]
    for minute, run_id in enumerate(reversed(ids)):
        register_run_copy(trained_run, run_id, created_at=dt.datetime(2025, 1, 1, 12, minute))
    return ids


def url_runs(app) -> list[str]:
    value = app.query_params.get("run", [])
    return [value] if isinstance(value, str) else list(value)


def test_the_chosen_models_are_in_the_url_and_a_link_opens_them(four_runs):
    app = page_app(PAGE).run()
    assert not app.exception
    assert app.multiselect(key="entity_highlighter_runs").value == ["run-4"] and url_runs(app) == ["run-4"]
    app.multiselect(key="entity_highlighter_runs").set_value(["run-2", "run-3"]).run()
    assert url_runs(app) == ["run-2", "run-3"]

    shared = page_app(PAGE)  # a new tab opened from that address
    shared.query_params["run"] = ["run-2", "run-3"]
    shared.run()
    assert not shared.exception and shared.multiselect(key="entity_highlighter_runs").value == ["run-2", "run-3"]
    # Labels tell the copies apart even though they share model, dataset, minute and F1.
    assert len(set(shared.multiselect(key="entity_highlighter_runs").options)) == 4


def test_a_link_with_stale_ids_or_too_many_models_gives_a_notice_and_falls_back(four_runs):
    app = page_app(PAGE)
    app.query_params["run"] = ["gone", "<img src=x>"]
    app.run()
    assert not app.exception and not app.error
    [notice] = [w.value for w in app.warning if "does not have" in w.value]
    assert "gone" in notice and "\\<img src=x\\>" in notice  # escaped: Markdown shows it as typed
    assert app.multiselect(key="entity_highlighter_runs").value == ["run-4"] and url_runs(app) == ["run-4"]

    crowded = page_app(PAGE)
    crowded.query_params["run"] = ["run-1", "run-2", "run-3", "run-4"]
    crowded.run()
    assert not crowded.exception
    assert crowded.multiselect(key="entity_highlighter_runs").value == ["run-1", "run-2", "run-3"]  # at most three


def test_each_run_decodes_as_it_was_trained_by_default(trained_run, empty_workspace):
    """The highlighter's default is each run's own decoding (its training and every metric used it), not argmax."""
    models_dir, store = Settings.from_env().models_dir, Store(Settings.from_env().database_url)
    decodings = {"model2-constrained": "constrained", "model2-argmax": "argmax"}
    for run_id, decoding in decodings.items():
        shutil.copytree(trained_run.run_dir, models_dir / run_id)
        store.create_run(run_id, "model2", config={**trained_run.config.to_dict(), "decoding": decoding}, status="completed")
        store.update_run(run_id, run_dir=str(models_dir / run_id), metrics=trained_run.metrics)
    app = page_app(PAGE).run()
    assert app.radio(key="entity_highlighter_decoding").value == "each run's own"
    app.multiselect(key="entity_highlighter_runs").set_value(list(decodings))
    find(app, "Anna Berg visited Oslo on Monday .")
    shown = [c.value for c in app.caption if " decoding, " in c.value]
    assert len(shown) == 2
    assert "constrained decoding" in shown[0] and "argmax decoding" in shown[1]
    # A chosen method applies to every run.
    app.radio(key="entity_highlighter_decoding").set_value("argmax")
    find(app, "Anna Berg visited Oslo on Monday .")
    assert all("argmax decoding" in c.value for c in app.caption if " decoding, " in c.value)
