"""What the Training page says about runs and jobs: the history table, a run's metrics and
learning curves, and one line of progress per live job. Plain data, no widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas

from ner_core.errors import ModelLoadError
from ner_core.evaluation import metric_registry, run_scoring
from ner_core.store.tables import RunStatus
from ner_core.training import jobs, run_folder

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


def runs_table(all_runs: list) -> pandas.DataFrame:
    """One row per run: id, status, model, dataset file, start, duration, headline metrics, first line of the error."""
    rows = []
    for run in all_runs:
        row = {
            "run": run.id,
            "status": run.status,
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
    eta = f", about {format_duration(event.eta_s)} left" if event.eta_s is not None and event.kind != "evaluating" else ""
    elapsed = now - job.started_at if job.started_at else event.elapsed_s
    stage = STAGES.get(event.kind, event.kind)
    if event.kind == "epoch_begin" and event.epoch == 1:
        stage += " (the first batch also compiles the model)"
    return JobProgress(
        epoch=(event.fraction, f"Epoch {event.epoch} of {event.epochs}"),
        batch=batch,
        caption=f"{stage}: {format_duration(elapsed)} elapsed{eta}",
    )
