"""The model comparison page: empty store, the metric table, confusion examples, two runs."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from ner_core.evaluation import held_out, metric_registry, run_scoring
from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.training import run_folder
from ner_core.workbench import comparison, metric_table, render
from tests.helpers import page_app, register_run_copy

PAGE = "model_comparison.py"


def stored_evaluation(run_dir):
    return run_scoring.load_evaluation(run_folder.RunFolder(run_dir))[1]


def test_comparison_on_an_empty_store_says_what_to_do(empty_workspace):
    app = page_app(PAGE).run()
    assert not app.exception
    assert "Training runs page" in app.info[0].value
    assert not app.multiselect


def open_tab(app, label: str) -> None:
    """Open one of the page's tabs (only the open tab is built) and rerun."""
    app.session_state["model_comparison_tab"] = label
    app.run()
    assert not app.exception


@pytest.fixture
def comparison_app(trained_run):
    """The page with only the trained run chosen, rendered afresh for each test (tests change its widgets);
    the trained run itself is shared by the session."""
    app = page_app(PAGE).run()
    app.multiselect(key="model_comparison_runs").set_value([trained_run.run_id]).run()
    assert not app.exception
    return app


def test_the_metric_table_has_the_23_registry_metrics_for_the_chosen_run(trained_run, comparison_app):
    table = comparison_app.dataframe[0].value
    column = f"{trained_run.run_id} [{trained_run.config.decoding}]"
    assert len(table) == 23
    assert list(table["metric"]) == [spec.name for spec in metric_registry.METRICS]
    assert set(table["direction"]) == {"higher is better", "lower is better"}
    row = table.set_index("metric").loc["Entity F1"]
    assert row[column] == metric_registry.format_metric("entity_f1", trained_run.metrics["entity_f1"])
    assert row["definition"] == metric_registry.metric_spec("entity_f1").definition
    assert not comparison_app.error


def test_the_table_offers_the_other_decoding_by_re_evaluating(trained_run, comparison_app):
    app = comparison_app
    app.toggle(key="model_comparison_other_decoding").set_value(True).run()
    assert not app.exception and not app.error
    table = app.dataframe[0].value.set_index("metric")
    own = trained_run.config.decoding
    other_decoding = "argmax" if own == "constrained" else "constrained"
    stored, other = f"{trained_run.run_id} [{own}]", f"{trained_run.run_id} [{other_decoding}]"
    assert len(table) == 23 and {stored, other} <= set(table.columns)
    assert table.loc["Latency p50", other] == "n/a"  # speed is not re-measured
    assert table.loc["Entity F1", other] != "n/a"
    app.toggle(key="model_comparison_other_decoding").set_value(False).run()
    assert other not in app.dataframe[0].value.columns


def test_choosing_a_confusion_cell_lists_its_test_sentences(trained_run, comparison_app):
    app = comparison_app
    open_tab(app, "Confusion")
    cells = comparison.confusion_cells(stored_evaluation(trained_run.run_dir))
    gold, predicted, _ = cells[-1]  # not the default (largest) cell
    prefix = f"model_comparison_{trained_run.run_id}"
    app.selectbox(key=f"{prefix}_gold").set_value(gold)
    app.selectbox(key=f"{prefix}_predicted").set_value(predicted).run()
    assert not app.exception and not app.error
    sentences = held_out.test_split_for_run(trained_run.run_dir)
    from ner_core.serving.predictor import Predictor

    expected = comparison.confusion_examples(
        sentences, comparison.predict_tags(Predictor.load(trained_run.run_dir), sentences), gold, predicted
    )
    assert expected
    highlighted = [m.value for m in app.html if "ner-highlight" in m.value]
    assert len(highlighted) == min(len(expected), 10)
    first = expected[0]
    assert all(word in highlighted[0] for word in first.words if word.isalpha())
    shown = f"gold **{render.markdown_escape(gold)}** predicted as **{render.markdown_escape(predicted)}**"
    assert any(shown in m.value for m in app.markdown)


def test_the_page_compares_two_runs_and_explains_a_missing_dataset(trained_run, empty_workspace):
    models_dir = Settings.from_env().models_dir
    store = Store(Settings.from_env().database_url)
    ids = ["model2-copy-a", "model2-copy-b"]
    for run_id in ids:
        shutil.copytree(trained_run.run_dir, models_dir / run_id)
        store.create_run(run_id, "model2", config=trained_run.config.to_dict(), status="completed")
        store.update_run(
            run_id,
            run_dir=str(models_dir / run_id),
            metrics={**trained_run.metrics, "latency_p50_ms": 1.0 if run_id.endswith("a") else 2.0},
        )
    # The second copy's dataset is gone: its confusion examples must say so, not crash.
    config_path = models_dir / ids[1] / run_folder.CONFIG_FILE
    config_path.write_text(config_path.read_text().replace(str(trained_run.config.dataset), "/nonexistent/data.csv"))

    app = page_app(PAGE).run()
    assert not app.exception
    assert sorted(app.multiselect(key="model_comparison_runs").value) == sorted(ids)
    table = app.dataframe[0].value.set_index("metric")
    decoding = trained_run.config.decoding
    assert table.loc["Latency p50", f"model2-copy-a [{decoding}]"] == "1.00 ms" + metric_table.BEST_MARK
    assert table.loc["Latency p50", f"model2-copy-b [{decoding}]"] == "2.00 ms"
    open_tab(app, "Confusion")
    assert app.selectbox(key="model_comparison_difference_b").value == app.multiselect(key="model_comparison_runs").value[1]

    app.selectbox(key="model_comparison_confusion_run").set_value(ids[1]).run()
    assert not app.exception
    assert any("no longer exists" in e.value for e in app.error)


def test_a_corrupt_evaluation_file_is_a_warning_and_the_other_runs_still_compare(trained_run, empty_workspace):
    models_dir = Settings.from_env().models_dir
    store = Store(Settings.from_env().database_url)
    ids = ["model2-fine", "model2-old-layout"]
    for run_id in ids:
        shutil.copytree(trained_run.run_dir, models_dir / run_id)
        store.create_run(run_id, "model2", config=trained_run.config.to_dict(), status="completed")
        store.update_run(run_id, run_dir=str(models_dir / run_id), metrics=trained_run.metrics)
    (models_dir / ids[1] / run_folder.EVALUATION_FILE).write_text('{"metrics": {}, "evaluation": {"values": {}}}')

    app = page_app(PAGE).run()
    assert not app.exception
    [warning] = [w.value for w in app.warning if "evaluation file cannot be read" in w.value]
    assert warning.startswith(f"Run {ids[1]}:") and "[E009]" in warning
    assert len(app.dataframe[0].value) == 23  # the metric table still has both runs
    assert {f"{run_id} [{trained_run.config.decoding}]" for run_id in ids} <= set(app.dataframe[0].value.columns)
    open_tab(app, "Confusion")
    confusion_run = app.selectbox(key="model_comparison_confusion_run")
    assert confusion_run.value == ids[0] and len(confusion_run.options) == 1


SAMPLE_SHA, OTHER_SHA = "5" * 64, "0" * 64


def url_values(app, name: str) -> list[str]:
    """A query parameter as a list (AppTest gives a single value as a string)."""
    value = app.query_params.get(name, [])
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture
def runs_of_two_datasets(trained_run, empty_workspace):
    """Newest first: other-new (another dataset), sample-new, other-old, sample-old; F1 differs per run."""
    created = {"other-new": 4, "sample-new": 3, "other-old": 2, "sample-old": 1}
    f1 = {"other-new": 0.95, "sample-new": 0.70, "other-old": 0.60, "sample-old": 0.80}
    for run_id, minute in created.items():
        register_run_copy(
            trained_run,
            run_id,
            dataset_sha256=OTHER_SHA if run_id.startswith("other") else SAMPLE_SHA,
            created_at=dt.datetime(2025, 1, 1, 12, minute),
            metrics={**trained_run.metrics, "entity_f1": f1[run_id]},
        )
    return list(created)


def test_the_comparison_starts_with_runs_of_the_newest_runs_test_split(runs_of_two_datasets):
    app = page_app(PAGE).run()
    assert not app.exception
    picker = app.multiselect(key="model_comparison_runs")
    assert picker.value == ["other-new", "other-old"]  # not the two newest runs, which span two datasets
    assert not [w for w in app.warning if "different test splits" in w.value]
    assert url_values(app, "run") == ["other-new", "other-old"]  # the comparison is in the URL from the start


def test_runs_of_two_test_splits_get_a_warning_and_stars_only_within_a_split(runs_of_two_datasets, trained_run):
    app = page_app(PAGE).run()
    app.multiselect(key="model_comparison_runs").set_value(["other-new", "sample-new", "sample-old"]).run()
    assert not app.exception
    [warning] = [w.value for w in app.warning if "different test splits" in w.value]
    assert "1 run on bundled sample (sha256 00000000), seed 42; 2 runs on bundled sample (sha256 55555555)" in warning
    table = app.dataframe[0].value.set_index("metric")
    decoding = trained_run.config.decoding
    row = table.loc["Entity F1"]
    assert row[f"other-new [{decoding}]"] == "0.9500"  # the highest F1, but alone on its split: no star
    assert row[f"sample-old [{decoding}]"] == "0.8000" + metric_table.BEST_MARK
    assert row[f"sample-new [{decoding}]"] == "0.7000"
    runs = [f"{run_id} [{decoding}]" for run_id in ("other-new", "sample-new", "sample-old")]
    assert list(app.dataframe[0].value.columns[:4]) == ["metric", *runs]  # right after the metric: never cut off


def test_runs_are_labelled_with_model_dataset_date_f1_and_name(runs_of_two_datasets, trained_run):
    Store(Settings.from_env().database_url).set_run_name_and_tags("sample-new", name="my best", tags=["gmb"])
    app = page_app(PAGE).run()
    assert not app.exception
    options = app.multiselect(key="model_comparison_runs").options
    assert "model2 · bundled sample · 2025-01-01 12:04 · F1 0.950" in options
    assert "my best · model2 · bundled sample · 2025-01-01 12:03 · F1 0.700 · #gmb" in options


def test_a_shared_link_opens_the_same_comparison_and_confusion_run(runs_of_two_datasets):
    app = page_app(PAGE)
    app.query_params["run"] = ["sample-old", "other-new"]
    app.query_params["confusion"] = "other-new"
    app.query_params["model_comparison_tab"] = "Confusion"
    app.run()
    assert not app.exception and not [w for w in app.warning if "does not have" in w.value]
    assert app.multiselect(key="model_comparison_runs").value == ["sample-old", "other-new"]
    assert app.selectbox(key="model_comparison_confusion_run").value == "other-new"
    app.multiselect(key="model_comparison_runs").set_value(["sample-new", "sample-old"]).run()
    assert url_values(app, "run") == ["sample-new", "sample-old"]  # what the address bar shares now
    assert url_values(app, "confusion") == ["sample-new"]  # the old confusion run is no longer compared


@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        (["deleted-run"], ["other-new", "other-old"]),  # nothing known: the defaults
        (["sample-new,deleted-run", "**bold** <b>x</b>"], ["sample-new"]),  # the known ones stay
    ],
)
def test_stale_or_bad_run_ids_in_the_link_give_a_notice_and_fall_back(runs_of_two_datasets, asked, shown):
    app = page_app(PAGE)
    app.query_params["run"] = asked
    app.query_params["confusion"] = "also-gone"
    app.query_params["model_comparison_tab"] = "Confusion"
    app.run()
    assert not app.exception and not app.error
    [notice] = [w.value for w in app.warning if "does not have" in w.value]
    assert "deleted-run" in notice and "<b>" not in notice and "**bold**" not in notice
    assert app.multiselect(key="model_comparison_runs").value == shown
    assert url_values(app, "run") == shown
    assert app.selectbox(key="model_comparison_confusion_run").value == shown[0]
    app.run()  # the notice is about the link, said once
    assert not [w for w in app.warning if "does not have" in w.value]


def test_only_the_open_tab_is_built_and_the_link_names_it(trained_run, comparison_app):
    app = comparison_app
    assert [tab.label for tab in app.tabs] == ["Metrics", "Per type", "Confusion", "Errors", "Learning curves"]
    assert not app.get("plotly_chart")  # the metric table only: no figure of the hidden tabs was built
    open_tab(app, "Confusion")
    assert [chart.key for chart in app.get("plotly_chart")] == [f"model_comparison_confusion_chart_{trained_run.run_id}"]
