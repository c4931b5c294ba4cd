"""What the Training page says about runs and jobs: durations, tables, curves, per-type scores, progress lines."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from ner_core.errors import ModelLoadError
from ner_core.evaluation import metric_registry
from ner_core.store.tables import RunStatus
from ner_core.training import callbacks, jobs, reporting, run_folder
from ner_core.training.config import TrainConfig


@pytest.mark.parametrize(
    "seconds, text", [(None, ""), (-3, "0s"), (42.4, "42s"), (187, "3m 07s"), (3_900, "1h 05m"), (59.6, "1m 00s")]
)
def test_format_duration(seconds, text):
    assert reporting.format_duration(seconds) == text


def run_row(**overrides):
    values = dict(
        id="model2-1",
        status="completed",
        model_name="model2",
        dataset_path="/data/ner_dataset.csv",
        created_at=dt.datetime(2026, 1, 2, 3, 4),
        duration_s=75.0,
        metrics={"entity_f1": 0.81234, "token_accuracy": 0.95, "latency_p50_ms": 3.2},
        error_message=None,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


def test_runs_table_shows_headline_metrics_of_completed_runs_and_the_first_error_line():
    failed = run_row(id="model2-2", status="failed", metrics={"entity_f1": 0.5}, error_message="[E001] bad file\ntraceback")
    table = reporting.runs_table([run_row(), failed]).set_index("run")
    f1 = metric_registry.metric_spec("entity_f1").name
    assert table.loc["model2-1", f1] == metric_registry.format_metric("entity_f1", 0.81234)
    assert table.loc["model2-2", f1] == ""  # a failed run's partial metrics are not headlined
    assert table.loc["model2-2", "error"] == "[E001] bad file"
    assert (table.loc["model2-1", "dataset"], table.loc["model2-1", "duration"]) == ("ner_dataset.csv", "1m 15s")
    assert table.loc["model2-1", "created (UTC)"] == "2026-01-02 03:04"


def test_metrics_table_lists_every_registered_metric_in_order():
    table = reporting.metrics_table({"entity_f1": 0.8})
    assert table["metric"].tolist() == [spec.name for spec in metric_registry.METRICS]
    assert set(table["better"]) == {"higher", "lower"}


def test_learning_curves_and_per_type_scores_of_a_folder_without_them(tmp_path):
    folder = run_folder.RunFolder(tmp_path)
    assert reporting.learning_curves(None) is None and reporting.learning_curves(folder) is None
    assert reporting.per_type_scores(None) is None and reporting.per_type_scores(folder) is None
    folder.file(run_folder.HISTORY_FILE).write_text(json.dumps({"history": {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}}))
    curves = reporting.learning_curves(folder)
    assert curves.index.tolist() == [1, 2] and curves.index.name == "epoch"
    assert curves["val_loss"].tolist() == [1.0, 0.7]


def test_a_corrupt_evaluation_is_a_model_load_error_not_a_crash(tmp_path):
    folder = run_folder.RunFolder(tmp_path)
    folder.file(run_folder.EVALUATION_FILE).write_text(json.dumps({"metrics": {}, "evaluation": {"values": {}}}))
    with pytest.raises(ModelLoadError, match="evaluation.json is corrupt"):
        reporting.per_type_scores(folder)


def job(**overrides) -> jobs.JobState:
    return jobs.JobState(job_id="j1", run_id="baseline-1", config=TrainConfig(model="baseline"), **overrides)


def test_job_progress_of_queued_and_loading_jobs_is_a_note():
    assert reporting.job_progress(job(status=RunStatus.QUEUED), now=0).note.startswith("Queued")
    loading = reporting.job_progress(job(status=RunStatus.RUNNING), now=0)
    assert loading.note == "Loading the dataset..." and loading.epoch is None


def test_job_progress_of_a_running_job_has_bars_elapsed_time_and_eta():
    event = callbacks.ProgressEvent("batch", epoch=2, epochs=4, batch=5, batches=10, elapsed_s=1.0, eta_s=90)
    progress = reporting.job_progress(job(status=RunStatus.RUNNING, started_at=100.0, last_event=event), now=165.0)
    assert progress.epoch == (pytest.approx(0.375), "Epoch 2 of 4")
    assert progress.batch == (0.5, "Batch 5 of 10")
    assert progress.caption == "Training: 1m 05s elapsed, about 1m 30s left" and not progress.note
    first = callbacks.ProgressEvent("epoch_begin", epoch=1, epochs=4, elapsed_s=3.0)
    compiling = reporting.job_progress(job(status=RunStatus.RUNNING, last_event=first), now=0)
    assert compiling.batch is None
    assert compiling.caption == "Training (the first batch also compiles the model): 3s elapsed"
    scoring = callbacks.ProgressEvent("evaluating", epoch=4, epochs=4, elapsed_s=9.0, eta_s=5)
    assert reporting.job_progress(job(status=RunStatus.RUNNING, last_event=scoring), now=0).caption == (
        "Scoring on the test split: 9s elapsed"
    )
