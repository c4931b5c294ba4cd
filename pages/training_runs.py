"""Training runs: launch a training job, follow it live, browse every run's config, curves and metrics."""

from __future__ import annotations

import time
from pathlib import Path

import pandas
import streamlit as st

from ner_core.errors import NerError
from ner_core.evaluation import metric_registry, run_scoring
from ner_core.modeling import architectures
from ner_core.training import jobs, run_folder
from ner_core.training.config import VALIDATION_F1, TrainConfig, suggested_config, uses_small_data_settings
from ui import config_form, util

KEY = "training_runs"
# Every script run, fragment reruns included, ends with Streamlit's gc.collect(2) and keras.backend.clear_session(),
# a few hundred ms holding the GIL once TensorFlow is loaded. When jobs trained on a thread of the server, polling
# each second made a model2 fit on the sample 4.7x slower (132 s vs 28 s); jobs now train in their own process
# (ner_core.training.jobs), and polling every two seconds keeps the server's own load low as well.
POLL_ACTIVE_S = 2.0
POLL_IDLE_S = 5.0  # still poll: a job may be started from another page or session
STAGES = {
    "started": "Building the model",
    "epoch_begin": "Training",
    "batch": "Training",
    "epoch_end": "Epoch done",
    "evaluating": "Scoring on the test split",
    "finished": "Saved",
}
HEADLINE_METRICS = ("entity_f1", "token_accuracy", "latency_p50_ms")


# --------------------------------------------------------------------------- launch form


def visualize_launch_form(*, key: str) -> None:
    try:
        choices = util.dataset_choices()
    except NerError as exc:
        util.show_error(exc)
        return
    names = architectures.model_names()
    left, right = st.columns(2)
    model = left.selectbox("Model", names, index=names.index("model2") if "model2" in names else 0, key=f"{key}_model")
    default_path = str(util.settings().default_dataset)
    paths = list(choices.values())
    dataset_label = right.selectbox(
        "Dataset", list(choices), key=f"{key}_dataset", index=paths.index(default_path) if default_path in paths else 0
    )
    st.caption(architectures.get_definition(model).description)
    sentences = util.known_sentence_count(choices[dataset_label])
    defaults = suggested_config(model, choices[dataset_label], sentences)
    sample = uses_small_data_settings(choices[dataset_label], sentences)
    if sample:
        st.caption(
            "Settings for a small dataset: small batches and a higher learning rate; "
            "the model's own defaults take a few steps an epoch here and never get past tagging everything O."
        )
    # Widget keys include the model and the kind of dataset, so each keeps its own defaults and edits.
    prefix = f"{key}_{model}" + ("_sample" if sample else "")
    with st.form(f"{key}_form"):
        values = config_form.config_inputs(TrainConfig, key=prefix, defaults=defaults, exclude=("model", "dataset"))
        submitted = st.form_submit_button("Start training", type="primary", key=f"{key}_submit")
    if submitted:
        launch(model, choices[dataset_label], dataset_label, values)


def launch(model: str, dataset_path: str, dataset_label: str, values: dict) -> None:
    try:
        config = TrainConfig(model=model, dataset=dataset_path, **values)
        job = util.get_runner().submit(config, label=f"{model} on {dataset_label}")
    except NerError as exc:
        util.show_error(exc)
        return
    st.success(f"Queued run `{job.run_id}`; it trains in the background, even if you leave this page.")


# --------------------------------------------------------------------------- live jobs


def visualize_jobs(*, key: str) -> None:
    runner = util.get_runner()
    statuses = _statuses([job for job in runner.jobs() if not job.finished])
    interval = POLL_ACTIVE_S if statuses else POLL_IDLE_S
    st.fragment(_live_jobs, run_every=interval)(key=key, statuses_at_render=statuses)


def _statuses(unfinished: list[jobs.JobState]) -> tuple[tuple[str, str], ...]:
    return tuple((job.job_id, job.status) for job in unfinished)


def _live_jobs(*, key: str, statuses_at_render: tuple[tuple[str, str], ...]) -> None:
    """Reruns on its own every second or so; when a job starts or ends, a full rerun refreshes the history."""
    runner = util.get_runner()
    active = [job for job in runner.jobs() if not job.finished]
    if _statuses(active) != statuses_at_render:
        st.rerun()
    if not active:
        return
    st.subheader("Running and queued")
    for job in reversed(active):  # oldest first: the order they train in
        visualize_job(job, runner=runner, key=key)


def visualize_job(job: jobs.JobState, *, runner: jobs.JobRunner, key: str) -> None:
    with st.container(border=True):
        header, button = st.columns([5, 1])
        header.markdown(f"**{job.label or job.config.model}** · `{job.run_id}` · {job.status}")
        button.button(
            "Cancel",
            key=f"{key}_cancel_{job.job_id}",
            on_click=runner.cancel,
            args=(job.job_id,),
            help="A running job stops after its current batch; nothing is saved.",
        )
        if job.status == jobs.QUEUED:
            st.caption("Queued: starts when the jobs before it are done (one job trains at a time).")
            return
        event = job.last_event
        if event is None:
            st.caption("Loading the dataset...")
            return
        st.progress(event.fraction, text=f"Epoch {event.epoch} of {event.epochs}")
        if event.batches:
            st.progress(min(1.0, event.batch / event.batches), text=f"Batch {event.batch} of {event.batches}")
        eta = f", about {_duration(event.eta_s)} left" if event.eta_s is not None and event.kind != "evaluating" else ""
        elapsed = time.time() - job.started_at if job.started_at else event.elapsed_s
        stage = STAGES.get(event.kind, event.kind)
        if event.kind == "epoch_begin" and event.epoch == 1:
            stage += " (the first batch also compiles the model)"
        st.caption(f"{stage}: {_duration(elapsed)} elapsed{eta}")
        visualize_live_curves(job)


def visualize_live_curves(job: jobs.JobState) -> None:
    """Live curves, redrawn on every poll of the fragment.

    Plain Vega-Lite specs, not ``st.line_chart``: line_chart builds and validates an
    Altair chart, about 0.1 s of GIL-holding Python per chart and poll that the
    training thread in the same process waits for; a plain spec takes ~2 ms.
    """
    left, right = st.columns(2)
    if job.batch_losses:
        batches = pandas.DataFrame(job.batch_losses, columns=["epoch", "batch", "loss"])
        batches["step"] = range(1, len(batches) + 1)
        left.caption("Training loss per batch")
        left.vega_lite_chart(batches, _line_spec("step", ["loss"]), height=220, width="stretch")
    if job.epoch_logs:
        epochs = pandas.DataFrame(job.epoch_logs)
        right.caption("Loss per epoch (training and validation)")
        right.vega_lite_chart(
            epochs, _line_spec("epoch", [c for c in ("loss", "val_loss") if c in epochs]), height=220, width="stretch"
        )
        if VALIDATION_F1 in epochs:
            right.caption("Validation entity F1 per epoch")
            right.vega_lite_chart(epochs, _line_spec("epoch", [VALIDATION_F1]), height=160, width="stretch")


def _line_spec(x: str, series: list[str]) -> dict:
    """A Vega-Lite line chart of ``series`` columns over ``x``, one colour per series (legend only for several)."""
    return {
        "transform": [{"fold": series, "as": ["series", "value"]}],
        "mark": {"type": "line", "point": x == "epoch"},
        "encoding": {
            "x": {"field": x, "type": "quantitative", "title": None, "axis": {"tickMinStep": 1, "format": "d"}},
            "y": {"field": "value", "type": "quantitative", "title": None, "axis": {"format": "~g"}},
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "legend": {"orient": "right"} if len(series) > 1 else None,
            },
        },
    }


# --------------------------------------------------------------------------- history


def runs_table(all_runs: list) -> pandas.DataFrame:
    rows = []
    for run in all_runs:
        row = {
            "run": run.id,
            "status": run.status,
            "model": run.model_name,
            "dataset": Path(run.dataset_path).name if run.dataset_path else "",
            "created (UTC)": run.created_at.strftime("%Y-%m-%d %H:%M"),
            "duration": _duration(run.duration_s),
        }
        for metric_key in HEADLINE_METRICS:
            value = run.metrics.get(metric_key) if run.status == "completed" else None
            row[metric_registry.metric_spec(metric_key).name] = (
                metric_registry.format_metric(metric_key, value) if value is not None else ""
            )
        row["error"] = (run.error_message or "").strip().split("\n")[0]
        rows.append(row)
    return pandas.DataFrame(rows)


def visualize_history(all_runs: list, *, key: str) -> None:
    st.subheader("Run history")
    if not all_runs:
        st.info(
            "No training runs yet: choose a model and a dataset above and press **Start training** "
            "(the defaults on the bundled sample take about a minute)."
        )
        return
    st.dataframe(runs_table(all_runs), hide_index=True, width="stretch", key=f"{key}_history")
    labels = {f"{run.id} ({run.status})": run for run in all_runs}
    chosen = st.selectbox("Run details", list(labels), key=f"{key}_detail")
    visualize_run_detail(labels[chosen], key=key)


def visualize_run_detail(run, *, key: str) -> None:
    if run.error_message:
        st.error(run.error_message.strip().split("\n")[0])
        with st.expander("Full error message"):
            st.code(run.error_message)
    config_tab, curves_tab, metrics_tab, types_tab = st.tabs(["Config", "Learning curves", "Metrics", "Per entity type"])
    with config_tab:
        st.json(run.config, expanded=True)
    folder = run_folder.RunFolder(Path(run.run_dir)) if run.run_dir and Path(run.run_dir).is_dir() else None
    with curves_tab:
        visualize_history_curves(folder)
    with metrics_tab:
        if run.metrics:
            st.dataframe(metrics_table(run.metrics), hide_index=True, width="stretch", key=f"{key}_metrics")
        else:
            st.info("No metrics: only completed runs are evaluated on the test split.")
    with types_tab:
        visualize_per_type(folder, key=key)


def metrics_table(values: dict) -> pandas.DataFrame:
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


def visualize_history_curves(folder: run_folder.RunFolder | None) -> None:
    if folder is None or not folder.file(run_folder.HISTORY_FILE).exists():
        st.info("No learning curves: the run has no saved history (it did not complete).")
        return
    try:
        history = pandas.DataFrame(folder.read_json(run_folder.HISTORY_FILE).get("history", {}))
    except NerError as exc:
        util.show_error(exc)
        return
    history.index = pandas.RangeIndex(1, len(history) + 1, name="epoch")
    left, right = st.columns(2)
    left.caption("Loss")
    left.line_chart(history[[c for c in ("loss", "val_loss") if c in history]])
    accuracy = [c for c in ("accuracy", "val_accuracy") if c in history]
    if accuracy:
        right.caption("Accuracy (real tokens)")
        right.line_chart(history[accuracy])
    if VALIDATION_F1 in history:
        right.caption("Validation entity F1")
        right.line_chart(history[[VALIDATION_F1]])


def visualize_per_type(folder: run_folder.RunFolder | None, *, key: str) -> None:
    try:
        _, detail = run_scoring.load_evaluation(folder) if folder is not None else ({}, None)
    except (NerError, ValueError) as exc:
        util.show_error(exc)
        return
    if detail is None:
        st.info("No per-type scores: the run was not evaluated.")
        return
    st.dataframe(
        detail.per_type,
        width="stretch",
        key=f"{key}_per_type",
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("precision", "recall", "f1")},
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


# --------------------------------------------------------------------------- page


st.title("Training runs")
st.caption("Training runs in the background: it keeps going when you switch pages or close the tab.")

try:
    store = util.get_store()
    util.get_runner()
except Exception as exc:  # noqa: BLE001 - shown to the user as an actionable error
    util.show_error(exc)
    st.stop()

with st.expander("Train a model", expanded=True):
    visualize_launch_form(key=KEY)
visualize_jobs(key=KEY)
try:
    visualize_history(store.list_runs(), key=KEY)
except NerError as exc:
    util.show_error(exc)
