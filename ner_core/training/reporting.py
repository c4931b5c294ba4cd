"""What the Training page says about runs and jobs: the history table, a run's metrics and
learning curves, and one line of progress per live job. Plain data, no widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas

from ner_core.errors import ConfigError, DataFormatError, ModelLoadError
from ner_core.evaluation import metric_registry, run_scoring
from ner_core.store.tables import FINISHED_STATUSES, RunStatus
from ner_core.training import jobs, run_folder
from ner_core.training.config import TrainConfig

# The metrics the run history shows as columns; the run detail shows all of them.
HEADLINE_METRICS = ("entity_f1", "token_accuracy", "latency_p50_ms")
STAGES = {
    "started": "Building the model",
    "epoch_begin": "Training",
    "batch": "Training",
    "epoch_end": "Epoch done",
    "evaluating": "Scoring on the test split",
    "finished": "Saved",
}


def format_duration(seconds: float | None) -> str:
    """``"42s"``, ``"3m 07s"``, ``"1h 05m"``; empty for an unknown duration."""
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


def live_statuses(jobs_of_runner: list[jobs.JobState]) -> dict[str, RunStatus]:
    """Run id -> status of every unfinished job of the app's runner: the one source of a live run's status.

    The runner marks a job ``running`` the moment it hands it to a training process; the store row
    only follows once that process has read the dataset (seconds on a large corpus), and a page's
    history table is drawn when the job card last changed. Reading both from the runner keeps the
    table and the card from disagreeing ("queued" in one, "running" in the other). A finished job's
    row is settled before the runner marks it finished, so the store is right for those.
    """
    return {job.run_id: job.status for job in jobs_of_runner if not job.finished}


def run_status(run, live: dict[str, RunStatus] | None = None) -> RunStatus:
    """The run's status: its live job's while it has one, else the store's."""
    return (live or {}).get(run.id, run.status)


def run_choice_label(run, live: dict[str, RunStatus] | None = None) -> str:
    """How the run-detail picker names a run: its id and its current status."""
    return f"{run.id} ({run_status(run, live)})"


def runs_table(all_runs: list, live: dict[str, RunStatus] | None = None) -> pandas.DataFrame:
    """One row per run: id, status, model, dataset file, start, duration, headline metrics, first line of the error.

    ``live`` (:func:`live_statuses`) gives the status of runs whose job is still unfinished.
    """
    rows = []
    for run in all_runs:
        row = {
            "run": run.id,
            "status": run_status(run, live),
            "model": run.model_name,
            "dataset": Path(run.dataset_path).name if run.dataset_path else "",
            "created (UTC)": run.created_at.strftime("%Y-%m-%d %H:%M"),
            "duration": format_duration(run.duration_s),
        }
        for metric_key in HEADLINE_METRICS:
            value = run.metrics.get(metric_key) if run.status == "completed" else None
            row[metric_registry.metric_spec(metric_key).name] = (
                metric_registry.format_metric(metric_key, value) if value is not None else ""
            )
        row["error"] = first_line(run.error_message)
        rows.append(row)
    return pandas.DataFrame(rows)


def metrics_table(values: dict) -> pandas.DataFrame:
    """Every registered metric with its group, formatted value, direction and definition."""
    return pandas.DataFrame(
        [
            {
                "metric": spec.name,
                "group": spec.group,
                "value": metric_registry.format_metric(spec.key, values.get(spec.key)),
                "better": "higher" if spec.higher_is_better else "lower",
                "definition": spec.definition,
            }
            for spec in metric_registry.METRICS
        ]
    )


def existing_folder(run) -> run_folder.RunFolder | None:
    """The run's folder, or None when the run has none (it did not complete) or it was deleted."""
    return run_folder.RunFolder(Path(run.run_dir)) if run.run_dir and Path(run.run_dir).is_dir() else None


def learning_curves(folder: run_folder.RunFolder | None) -> pandas.DataFrame | None:
    """The Keras history per epoch (index ``epoch`` from 1); None when the run saved none."""
    if folder is None or not folder.file(run_folder.HISTORY_FILE).exists():
        return None
    history = pandas.DataFrame(folder.read_json(run_folder.HISTORY_FILE).get("history", {}))
    history.index = pandas.RangeIndex(1, len(history) + 1, name="epoch")
    return history


def per_type_scores(folder: run_folder.RunFolder | None) -> pandas.DataFrame | None:
    """Precision, recall, F1 and support per entity type; None when the run was not evaluated."""
    if folder is None:
        return None
    try:
        _, detail = run_scoring.load_evaluation(folder)
    except (KeyError, ValueError) as exc:
        raise ModelLoadError(f"run {folder.run_id}: {run_folder.EVALUATION_FILE} is corrupt ({exc}).") from None
    return detail.per_type if detail is not None else None


@dataclass(frozen=True)
class JobProgress:
    """What a live unfinished job's panel shows: either a ``note`` alone, or bars and a ``caption``."""

    note: str = ""
    epoch: tuple[float, str] | None = None  # (fraction done, text)
    batch: tuple[float, str] | None = None
    caption: str = ""


def job_progress(job: jobs.JobState, now: float) -> JobProgress:
    """The progress of a queued or running job at time ``now`` (``time.time()``)."""
    if job.status == RunStatus.QUEUED:
        return JobProgress(note="Queued: starts when the jobs before it are done (one job trains at a time).")
    event = job.last_event
    if event is None:
        return JobProgress(note="Loading the dataset...")
    batch = (min(1.0, event.batch / event.batches), f"Batch {event.batch} of {event.batches}") if event.batches else None
    eta = ""
    if event.eta_s is not None and event.kind != "evaluating":
        basis = f" ({event.eta_basis})" if event.eta_basis else ""
        eta = f", about {format_duration(event.eta_s)} left{basis}"
    elapsed = now - job.started_at if job.started_at else event.elapsed_s
    stage = STAGES.get(event.kind, event.kind)
    if event.kind == "epoch_begin" and event.epoch == 1:
        stage += " (the first batch also compiles the model)"
    return JobProgress(
        epoch=(event.fraction, f"Epoch {event.epoch} of {event.epochs}"),
        batch=batch,
        caption=f"{stage}: {format_duration(elapsed)} elapsed{eta}",
    )


# --------------------------------------------------------------------------- how a job ended, and again


def newly_finished(last_seen: dict[str, str], current: list[jobs.JobState]) -> list[jobs.JobState]:
    """The jobs of ``current`` that were unfinished when last seen (``last_seen``: job id -> status) and are finished now.

    A job first seen already finished is old news (its card says how it ended); it is not announced.
    """
    return [
        job
        for job in current
        if job.finished and job.job_id in last_seen and RunStatus(last_seen[job.job_id]) not in FINISHED_STATUSES
    ]


def outcome_notice(job: jobs.JobState, *, noun: str = "Training") -> tuple[str, str]:
    """The toast for a job that just ended: (text, icon); plain text in the CLI's words (the page rewords and escapes it)."""
    name = job.label or job.config.model
    if job.status == RunStatus.COMPLETED:
        return f"{noun} {name} finished: run {job.run_id} is ready.", "✅"
    if job.status == RunStatus.CANCELLED:
        return f"{noun} {name} was cancelled.", "⏹️"
    return f"{noun} {name} failed: {job.error or 'no reason recorded'}", "⚠️"


REQUEUE_STATUSES = (RunStatus.FAILED, RunStatus.CANCELLED)


def requeue_config(run) -> TrainConfig:
    """The settings of a failed or cancelled run, to train again exactly as it was launched.

    Refused (ConfigError) for a run that did not end that way and for a retrained run, whose
    extra training sentences (the annotations of the time) are not part of its config; refused
    (DataFormatError) when its dataset file is gone, rather than queue a job that can only fail.
    """
    if run.status not in REQUEUE_STATUSES:
        raise ConfigError(f"run {run.id} is {run.status}; only a failed or cancelled run is trained again.")
    if run.parent_run_id:
        raise ConfigError(
            f"run {run.id} retrained {run.parent_run_id} with the annotations of its time; retrain from the "
            "Annotate and retrain page instead."
        )
    config = TrainConfig.from_dict(run.config or {"model": run.model_name})
    dataset = config.dataset or run.dataset_path
    if dataset and not Path(dataset).is_file():
        raise DataFormatError(f"run {run.id} trained on {dataset}, which no longer exists; choose a dataset in the form.")
    return config


def requeue_label(run, config: TrainConfig) -> str:
    """The job label of a run trained again: model, dataset file, and that it is a repeat."""
    dataset = Path(config.dataset).name if config.dataset else "the default dataset"
    return f"{config.model} on {dataset} (again, after {run.id})"
