"""Training runs: launch a training job, follow it live, browse every run's config, curves, metrics and log."""

from __future__ import annotations

import dataclasses

import streamlit as st

from ner_core.corpus import uploads
from ner_core.errors import JobNotFoundError, NerError
from ner_core.modeling import architectures
from ner_core.store.tables import RunStatus
from ner_core.training import reporting, run_folder
from ner_core.training.config import VALIDATION_F1, TrainConfig, suggested_config, uses_small_data_settings
from ner_core.workbench import app_wording
from ner_core.workbench.render import markdown_escape
from ui import config_form, job_progress, run_name_form, util

KEY = "training_runs"

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
    # The repair choice travels with an upload: a file accepted only with IOB2 repair trains with it.
    repaired = uploads.needs_repair(util.get_store(), choices[dataset_label])
    if repaired:
        defaults = dataclasses.replace(defaults, repair_iob=True)
        st.caption(f'This upload was accepted with IOB2 repair, so "{app_wording.REPAIR_TOGGLE}" is on for it.')
    # Widget keys include the model and the kind of dataset, so each keeps its own defaults and edits.
    prefix = f"{key}_{model}" + ("_sample" if sample else "") + ("_repaired" if repaired else "")
    with st.form(f"{key}_form"):
        values = config_form.config_inputs(TrainConfig, key=prefix, defaults=defaults, exclude=("model", "dataset"))
        submitted = st.form_submit_button("Start training", type="primary", key=f"{key}_submit")
    if submitted:
        launch(model, choices[dataset_label], dataset_label, values, key=key)
    visualize_launch_notice(key=key)


def launch(model: str, dataset_path: str, dataset_label: str, values: dict, *, key: str) -> None:
    try:
        config = TrainConfig(model=model, dataset=dataset_path, **values)
        job = util.get_runner().submit(config, label=f"{model} on {dataset_label}")
    except NerError as exc:
        util.show_error(exc)
        return
    st.session_state[f"{key}_detail"] = job.run_id  # the run detail follows the run just launched
    st.session_state[f"{key}_launched"] = job.job_id


def visualize_launch_notice(*, key: str) -> None:
    """The "Queued run ..." notice under the form until the run this session launched last finishes (its outcome is then a
    toast and a history row): the page reruns when the job starts, and a one-off message would vanish with it."""
    job_id = st.session_state.get(f"{key}_launched")
    if job_id is None:
        return
    try:
        job = util.get_runner().get(job_id)
    except JobNotFoundError:  # a new server process: its runner never had the job
        job = None
    if job is None or job.finished:
        del st.session_state[f"{key}_launched"]
        return
    st.success(f"Queued run `{job.run_id}`; it trains in the background, even if you leave this page.")


def requeue(run, *, key: str) -> None:
    """on_click of "Train again": the run's own settings through the same runner.submit as the form."""
    try:
        config = reporting.requeue_config(run)
        job = util.get_runner().submit(config, label=reporting.requeue_label(run, config))
    except NerError as exc:
        st.session_state[f"{key}_requeue_error"] = exc
        return
    st.session_state[f"{key}_detail"] = job.run_id
    st.toast(markdown_escape(f"Queued run {job.run_id} with the settings of {run.id}."), icon="🔁")


# --------------------------------------------------------------------------- live jobs


def shown_jobs(runner) -> list:
    """Unfinished jobs, oldest first (the order they train in), and failed ones until their card is dismissed."""
    return [job for job in reversed(runner.jobs()) if not job.finished or job.status == RunStatus.FAILED and not job.dismissed]


def visualize_jobs(*, key: str) -> None:
    runner = util.get_runner()
    job_progress.visualize_live_jobs(lambda: shown_jobs(runner), key=key, runner=runner, title="Training jobs")


# --------------------------------------------------------------------------- history


def visualize_history(all_runs: list, *, key: str) -> None:
    st.subheader("Run history")
    if not all_runs:
        st.info(
            "No training runs yet: choose a model and a dataset above and press **Start training** "
            "(the defaults on the bundled sample take about a minute)."
        )
        return
    live = reporting.live_statuses(util.get_runner().jobs())  # the job cards' source, so both say the same
    table = reporting.runs_table(all_runs, live)
    table["error"] = table["error"].map(app_wording.for_app)
    st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_history")
    # Options are run ids, so a status change keeps the choice; a run launched here becomes the choice.
    runs_by_id = {run.id: run for run in all_runs}
    if st.session_state.get(f"{key}_detail") not in runs_by_id:
        st.session_state.pop(f"{key}_detail", None)
    names = util.run_labels(all_runs)  # the id first, as in the table above, then what the run is
    label = lambda run_id: f"{reporting.run_choice_label(runs_by_id[run_id], live)} · {names[run_id]}"  # noqa: E731
    chosen = st.selectbox("Run details", list(runs_by_id), format_func=label, key=f"{key}_detail")
    visualize_run_detail(runs_by_id[chosen], key=key)


def visualize_run_detail(run, *, key: str) -> None:
    if run.error_message:  # this run's own error: the picker's choice, never the one of an older run
        message = app_wording.for_app(run.error_message)
        st.error(markdown_escape(reporting.first_line(message)))
        with st.expander("Full error message"):
            st.code(message)
    if run.status in reporting.REQUEUE_STATUSES:
        st.button(
            "Train again with these settings",
            key=f"{key}_requeue_{run.id}",
            on_click=requeue,
            args=(run,),
            kwargs={"key": key},
            help="Queues a new run with this run's model, dataset and settings.",
        )
        if f"{key}_requeue_error" in st.session_state:
            util.show_error(st.session_state.pop(f"{key}_requeue_error"))
    run_name_form.visualize_run_name_form(run, key=key)
    config_tab, curves_tab, metrics_tab, types_tab = st.tabs(["Config", "Learning curves", "Metrics", "Per entity type"])
    with config_tab:
        st.json(run.config, expanded=True)
    folder = reporting.existing_folder(run)
    with curves_tab:
        visualize_history_curves(folder)
    with metrics_tab:
        if run.metrics:
            st.dataframe(reporting.metrics_table(run.metrics), hide_index=True, width="stretch", key=f"{key}_metrics")
        else:
            st.info("No metrics: only completed runs are evaluated on the test split.")
    with types_tab:
        visualize_per_type(folder, key=key)
    visualize_log(run)


def visualize_history_curves(folder: run_folder.RunFolder | None) -> None:
    try:
        history = reporting.learning_curves(folder)
    except NerError as exc:
        util.show_error(exc)
        return
    if history is None:
        st.info("No learning curves: the run has no saved history (it did not complete).")
        return
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
        per_type = reporting.per_type_scores(folder)
    except NerError as exc:
        util.show_error(exc)
        return
    if per_type is None:
        st.info("No per-type scores: the run was not evaluated.")
        return
    st.dataframe(
        per_type,
        width="stretch",
        key=f"{key}_per_type",
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("precision", "recall", "f1")},
    )


def visualize_log(run) -> None:
    """The training process's full stderr, as the run kept it."""
    log = run_folder.read_log(util.settings().models_dir, run.id)
    if log is None:
        st.caption("No log kept for this run.")
        return
    with st.expander("Training log"):
        st.code(log, language=None)


# --------------------------------------------------------------------------- page


st.title("Training runs")
st.caption("Training runs in the background: it keeps going when you switch pages or close the tab.")

try:
    store = util.get_store()
    util.get_runner()
except NerError as exc:
    util.show_error(exc)
    st.stop()

with st.expander("Train a model", expanded=True):
    visualize_launch_form(key=KEY)
visualize_jobs(key=KEY)
try:
    visualize_history(store.list_runs(), key=KEY)
except NerError as exc:
    util.show_error(exc)
