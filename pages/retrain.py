"""Retrain and compare: retrain a model with the saved annotations (a fast warm start or in full), follow the
job, compare the child with its parent on test sentences neither trained on, and read any run's lineage."""

from __future__ import annotations

import streamlit as st

from ner_core.configuration import settings_of
from ner_core.errors import NerError
from ner_core.training.config import TrainConfig
from ner_core.workbench import render, retraining, saved_annotations
from ui import retrain_views, util

KEY = "retrain"
JOB_STATE = f"{KEY}_job_id"
MODE_CAPTIONS = {
    retraining.WARM_START: "Continues from the parent's weights for a few epochs, the annotations weighted up: "
    "minutes instead of a full training.",
    retraining.FULL_RETRAIN: "Trains from random weights with the parent's settings on the training split plus the "
    "annotations: as long as the parent took.",
}


def pick_run(label: str, runs: list, *, param: str, key: str):
    """A run chosen by id; the choice is kept in the URL (``?<param>=<run id>``) so a view can be linked."""
    by_id = {run.id: run for run in runs}
    wanted = st.query_params.get(param)
    if st.session_state.get(key) not in by_id:
        st.session_state.pop(key, None)
        if wanted in by_id:
            st.session_state[key] = wanted
    chosen = st.selectbox(label, list(by_id), format_func=lambda run_id: util.run_label(by_id[run_id]), key=key)
    st.query_params[param] = chosen
    return by_id[chosen]


def follow_link_to_parent(runs: list) -> None:
    """A link naming only a retrained run (``?child=`` or ``?lineage=``) opens the page on that run's parent."""
    by_id = {run.id: run for run in runs}
    for param in ("child", "lineage"):
        linked = by_id.get(st.query_params.get(param))
        if "parent" not in st.query_params and linked is not None and linked.parent_run_id in by_id:
            st.query_params["parent"] = linked.parent_run_id


# --------------------------------------------------------------------------- launch


def visualize_launch(*, parent, store, runner, key: str) -> None:
    annotations = retraining.current_annotations(store)
    if not len(annotations):
        st.info("No saved annotations yet: correct some sentences of the model first; a retrain learns from them.")
        retrain_views.link_to_page("pages/annotate.py", label="Annotate", icon=":material/edit_note:")
        return
    st.write(
        f"{len(annotations)} saved annotation(s), one version per sentence (checksum `{annotations.checksum[:16]}`). "
        f"The child keeps the parent's dataset and seed, hence its test split; the exact annotations are recorded "
        "with it."
    )
    unresolved = saved_annotations.unresolved_disagreements(store)
    if unresolved:
        st.warning(f"{len(unresolved)} sentence(s) are left out: their analysts disagree and no reviewer has decided yet.")
        retrain_views.link_to_page("pages/review.py", label="Resolve them on Review and agreement", icon=":material/rule:")
    mode = st.radio(
        "How to retrain",
        list(retraining.RETRAIN_MODES),
        format_func=retraining.RETRAIN_MODES.get,
        captions=list(MODE_CAPTIONS.values()),
        horizontal=True,
        key=f"{key}_mode",
    )
    defaults = retraining.retrain_config(parent, mode)
    specs = settings_of(TrainConfig)
    left, right = st.columns(2)
    epochs, weight = (
        column.number_input(
            specs[name].label,
            min_value=int(specs[name].min),
            max_value=int(specs[name].max),
            value=int(getattr(defaults, name)),
            help=specs[name].help,
            key=f"{key}_{mode}_{name}",
        )
        for column, name in ((left, "epochs"), (right, "annotation_weight"))
    )
    busy = job_running(runner, st.session_state.get(JOB_STATE))
    label = f"{retraining.RETRAIN_MODES[mode]}: retrain with {len(annotations)} annotation(s)"
    help_text = "One retrain at a time from this page; wait for the current one or cancel it." if busy else None
    if st.button(label, type="primary", key=f"{key}_launch", disabled=busy, help=help_text):
        try:
            job = retraining.submit_retrain(runner, parent, mode, annotations, epochs=int(epochs), annotation_weight=int(weight))
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[JOB_STATE] = job.job_id
            st.rerun()  # so the button shows as busy while the job runs
    if st.session_state.get(JOB_STATE):
        visualize_job(runner, st.session_state[JOB_STATE], key=key)


def job_running(runner, job_id: str | None) -> bool:
    try:
        return job_id is not None and not runner.get(job_id).finished
    except NerError:  # JobNotFoundError
        return False


def visualize_job(runner, job_id: str, *, key: str) -> None:
    from ui import job_progress

    try:
        runner.get(job_id)
    except NerError:  # JobNotFoundError: the job ended in an earlier server process
        st.session_state.pop(JOB_STATE, None)
        return
    # Polls while the job is unfinished; when it ends the whole page reruns, so the child appears in the lists.
    job_progress.visualize_live_jobs(
        lambda: [job for job in runner.jobs() if job.job_id == job_id],
        key=key,
        runner=runner,
        idle_s=None,
        cancel_label="Cancel retraining",
        noun="Retraining",
        ready_message="Retrained run {run_id} is ready; see Parent vs child for how it compares with its parent.",
        curves=True,
    )


def focus_on_new_child(runner, runs: list, *, key: str) -> None:
    """When this page's retraining job has just completed, Parent vs child and Lineage open on its run: both
    pickers otherwise keep the run they showed before it existed (the parent, on the Lineage tab)."""
    job_id = st.session_state.get(JOB_STATE)
    if not job_id or st.session_state.get(f"{key}_focused_job") == job_id:
        return
    try:
        job = runner.get(job_id)
    except NerError:  # JobNotFoundError
        return
    if not job.finished or job.run_id not in {run.id for run in runs}:
        return
    st.session_state[f"{key}_focused_job"] = job_id
    for state, param in ((f"{key}_child", "child"), (f"{key}_lineage_run", "lineage")):
        st.session_state[state] = job.run_id
        st.query_params[param] = job.run_id


# --------------------------------------------------------------------------- comparison and lineage


def visualize_children(*, parent, runs, store, key: str) -> None:
    children = retraining.children_of(parent, runs)
    if not children:
        st.info("No retrained run of this model yet: retrain it on the Retrain tab, then compare the two here.")
        return
    child = pick_run("Retrained run", children, param="child", key=f"{key}_child")
    mode = retraining.RETRAIN_MODES[retraining.retrain_mode(child)].lower()
    st.caption(f"{render.markdown_escape(child.id)}: {mode} of {render.markdown_escape(parent.id)}.")
    retrain_views.visualize_retrain_comparison(parent=parent, child=child, store=store, key=key)


def visualize_lineages(*, parent, runs, store, key: str) -> None:
    family = [*retraining.children_of(parent, runs), parent]
    chosen_child = st.session_state.get(f"{key}_child")
    if "lineage" not in st.query_params and f"{key}_lineage_run" not in st.session_state and chosen_child:
        st.session_state[f"{key}_lineage_run"] = chosen_child  # start on the child the comparison shows
    run = pick_run("Run", family, param="lineage", key=f"{key}_lineage_run")
    retrain_views.visualize_lineage(run=run, store=store, key=key)


# --------------------------------------------------------------------------- page

st.title("Retrain and compare")
st.caption(
    "Retrain a model with the saved annotations, then compare the retrained run with its parent on test "
    "sentences neither of them trained on, with an interval for the gain."
)

runs = util.completed_runs_or_stop(then="retrain it with your annotations here")
store, runner = util.get_store(), util.or_stop(util.get_runner)
follow_link_to_parent(runs)
parent = pick_run("Parent model", runs, param="parent", key=f"{KEY}_parent")
focus_on_new_child(runner, runs, key=KEY)

retrain_tab, compare_tab, lineage_tab = st.tabs(["Retrain", "Parent vs child", "Lineage"])
with retrain_tab:
    visualize_launch(parent=parent, store=store, runner=runner, key=KEY)
with compare_tab:
    visualize_children(parent=parent, runs=runs, store=store, key=KEY)
with lineage_tab:
    visualize_lineages(parent=parent, runs=runs, store=store, key=KEY)
