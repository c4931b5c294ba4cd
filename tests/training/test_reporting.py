"""What the Training page says about runs and jobs: durations, tables, curves, per-type scores, progress lines."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from ner_core.errors import ConfigError, DataFormatError, ModelLoadError
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


# --------------------------------------------------------------------------- one status, the ETA's basis


def test_the_history_reads_a_live_jobs_status_from_the_runner_like_the_job_card():
    """The runner marks a job running when a process takes it; the row says queued until that process has
    read the dataset. The table and the card both read the runner's status while the job is unfinished."""
    running = job(status=RunStatus.RUNNING)
    queued = jobs.JobState(job_id="j2", run_id="baseline-2", config=TrainConfig(model="baseline"))
    done = jobs.JobState(job_id="j3", run_id="model2-1", config=TrainConfig(model="model2"), status=RunStatus.COMPLETED)
    live = reporting.live_statuses([running, queued, done])
    assert live == {"baseline-1": RunStatus.RUNNING, "baseline-2": RunStatus.QUEUED}  # a finished job's row is settled
    rows = [run_row(id="baseline-1", status="queued"), run_row(id="model2-1", status="completed")]
    table = reporting.runs_table(rows, live).set_index("run")
    assert table.loc["baseline-1", "status"] == running.status == "running"
    assert table.loc["model2-1", "status"] == "completed"
    assert reporting.runs_table(rows).set_index("run").loc["baseline-1", "status"] == "queued"  # the store alone
    assert reporting.run_choice_label(rows[0], live) == "baseline-1 (running)"
    assert reporting.run_choice_label(rows[0]) == "baseline-1 (queued)"


def test_the_eta_is_shown_with_what_it_assumes():
    basis = callbacks.eta_basis(30, 9, [0.4, 0.6, 0.55], patience=4)
    event = callbacks.ProgressEvent(
        "batch", epoch=3, epochs=30, batch=5, batches=10, eta_s=130, expected_epochs=9, eta_basis=basis
    )
    progress = reporting.job_progress(job(status=RunStatus.RUNNING, started_at=100.0, last_event=event), now=160.0)
    assert progress.caption == (
        "Training: 1m 00s elapsed, about 2m 10s left (assumes early stopping ends about epoch 9 of at most 30, "
        "4 after the best (best so far: epoch 2))"
    )


# --------------------------------------------------------------------------- how a job ended, and again


def test_newly_finished_jobs_are_those_last_seen_unfinished():
    failed = job(status=RunStatus.FAILED, error="[E002] x.train: ... (repair with --repair-iob)")
    old = jobs.JobState(job_id="j0", run_id="baseline-0", config=TrainConfig(model="baseline"), status=RunStatus.FAILED)
    still = jobs.JobState(job_id="j2", run_id="baseline-2", config=TrainConfig(model="baseline"), status=RunStatus.RUNNING)
    seen = {"j1": "running", "j0": "failed", "j2": "queued"}
    assert reporting.newly_finished(seen, [failed, old, still]) == [failed]
    assert reporting.newly_finished({}, [failed]) == []  # first seen already finished: old news


def test_outcome_notices_say_how_the_job_ended():
    failed = job(status=RunStatus.FAILED, error="[E001] gone.csv: no such file.", label="baseline on gone.csv")
    assert reporting.outcome_notice(failed) == ("Training baseline on gone.csv failed: [E001] gone.csv: no such file.", "⚠️")
    done = job(status=RunStatus.COMPLETED)
    assert reporting.outcome_notice(done, noun="Retraining") == (
        "Retraining baseline finished: run baseline-1 is ready.",
        "✅",
    )
    assert reporting.outcome_notice(job(status=RunStatus.CANCELLED))[0] == "Training baseline was cancelled."


def test_a_failed_or_cancelled_run_is_trained_again_with_its_own_settings(tmp_path):
    dataset = tmp_path / "x.train"
    dataset.write_text("EU B-ORG\n", encoding="utf-8")
    config = TrainConfig(model="baseline", dataset=str(dataset), epochs=3, repair_iob=True, seed=7).resolved()
    failed = run_row(id="baseline-9", status="failed", model_name="baseline", config=config.to_dict(), parent_run_id=None)
    again = reporting.requeue_config(failed)
    assert again == config
    assert reporting.requeue_label(failed, again) == "baseline on x.train (again, after baseline-9)"


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        ({"status": "completed"}, ConfigError, "only a failed or cancelled run is trained again"),
        ({"status": "running"}, ConfigError, "only a failed or cancelled run"),
        ({"parent_run_id": "model2-0"}, ConfigError, "retrain from the Annotate and retrain page"),
        ({"config": {"model": "baseline", "dataset": "/gone/x.train"}}, DataFormatError, "/gone/x.train, which no longer"),
        ({"config": {"model": "no-such-model"}}, ConfigError, "no-such-model"),
    ],
)
def test_a_run_that_cannot_be_trained_again_says_why(overrides, error, message, sample_path):
    values = dict(status="failed", parent_run_id=None, config={"model": "baseline", "dataset": str(sample_path)})
    values.update(overrides)
    with pytest.raises(error, match=message):
        reporting.requeue_config(run_row(**values))
