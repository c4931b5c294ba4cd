"""A background training job's progress, drawn the same way on every page that starts one:
status, epoch and batch bars, elapsed time and ETA, live loss curves, and a cancel button;
once it ends, a toast where it was launched and a card that says how, until dismissed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas
import streamlit as st

from ner_core.errors import JobNotFoundError
from ner_core.store.tables import FINISHED_STATUSES, RunStatus
from ner_core.training import jobs, reporting
from ner_core.training.config import VALIDATION_F1
from ner_core.workbench import app_wording
from ner_core.workbench.render import markdown_escape
from ui import util

# Every script run, fragment reruns included, ends with Streamlit's gc.collect(2) and keras.backend.clear_session(),
# a few hundred ms holding the GIL once TensorFlow is loaded. When jobs trained on a thread of the server, polling
# each second made a model2 fit on the sample 4.7x slower (132 s vs 28 s); jobs now train in their own process
# (ner_core.training.jobs), and polling every two seconds keeps the server's own load low as well.
POLL_ACTIVE_S = 2.0
POLL_IDLE_S = 5.0  # still poll: a job may be started from another page or session


def visualize_live_jobs(
    select: Callable[[], list[jobs.JobState]],
    *,
    key: str,
    runner: jobs.JobRunner,
    title: str | None = None,
    idle_s: float | None = POLL_IDLE_S,
    **options,
) -> None:
    """The jobs ``select()`` returns, redrawn by a fragment every :data:`POLL_ACTIVE_S` while one is unfinished
    (every ``idle_s`` otherwise; None stops polling). When a job appears, ends or changes status, the whole page
    reruns, so lists of runs and buttons that depend on a job refresh. ``options`` go to :func:`visualize_job_progress`.
    """
    selected = select()
    announce_outcomes(selected, key=key, runner=runner, noun=options.get("noun", "Training"))
    statuses = _statuses(selected)
    interval = POLL_ACTIVE_S if any(status not in FINISHED_STATUSES for _, status in statuses) else idle_s
    util.start_polling(key)
    st.fragment(_poll, run_every=interval)(select, key=key, runner=runner, title=title, at_render=statuses, options=options)


def announce_outcomes(selected: list[jobs.JobState], *, key: str, runner: jobs.JobRunner, noun: str) -> None:
    """A toast for each job this session saw unfinished and that has ended since, where it was launched.

    Runs in the full script run that the fragment triggers when a status changes. Jobs the page no
    longer selects (a completed one leaves the Training jobs list) are looked up in the runner, so
    their ending is announced too. A failure's toast stays longer; its card stays until dismissed.
    """
    seen: dict[str, str] = st.session_state.setdefault(f"{key}_job_statuses", {})
    current = {job.job_id: job for job in selected}
    for job_id, status in list(seen.items()):
        if job_id not in current and status not in FINISHED_STATUSES:
            try:
                current[job_id] = runner.get(job_id)
            except JobNotFoundError:  # the runner was replaced (a new server process): nothing to announce
                del seen[job_id]
    for job in reporting.newly_finished(seen, list(current.values())):
        text, icon = reporting.outcome_notice(job, noun=noun)
        failed = job.status == RunStatus.FAILED
        st.toast(markdown_escape(app_wording.for_app(text)), icon=icon, duration="long" if failed else "short")
    seen.update({job.job_id: str(job.status) for job in current.values()})


def _statuses(selected: list[jobs.JobState]) -> tuple[tuple[str, str], ...]:
    return tuple((job.job_id, job.status) for job in selected)


def _poll(select, *, key: str, runner: jobs.JobRunner, title: str | None, at_render: tuple, options: dict) -> None:
    selected = select()
    if util.is_timed_rerun(key) and _statuses(selected) != at_render:
        st.rerun()
    if not selected:
        return
    if title:
        st.subheader(title)
    for job in selected:
        visualize_job_progress(job, key=key, runner=runner, **options)


def visualize_job_progress(
    job: jobs.JobState,
    *,
    key: str,
    runner: jobs.JobRunner,
    cancel_label: str = "Cancel",
    noun: str = "Training",
    ready_message: str = "Run {run_id} is ready.",
    curves: bool = True,
) -> None:
    """One job: a header with its status and a cancel button (``<key>_cancel_<job id>``) while it is unfinished,
    its progress, and once finished ``ready_message`` (``{run_id}`` filled in) or why it did not complete, with a
    dismiss button (``<key>_dismiss_<job id>``): the page keeps showing the card until the analyst has read it."""
    with st.container(border=True):
        header, button = st.columns([5, 1])
        header.markdown(f"**{markdown_escape(job.label or job.config.model)}** · `{job.run_id}` · {job.status}")
        if job.finished:
            if job.status == RunStatus.COMPLETED:
                st.success(ready_message.format(run_id=job.run_id))
            else:
                st.error(f"{noun} {job.status}: {markdown_escape(app_wording.for_app(job.error or 'no reason recorded'))}")
            button.button(
                "Dismiss",
                key=f"{key}_dismiss_{job.job_id}",
                on_click=runner.dismiss,
                args=(job.job_id,),
                help="Hide this card; the run and its error stay in the run history.",
            )
            return
        button.button(
            cancel_label,
            key=f"{key}_cancel_{job.job_id}",
            on_click=runner.cancel,
            args=(job.job_id,),
            help="A running job stops after its current batch; nothing is saved.",
        )
        progress = reporting.job_progress(job, time.time())
        if progress.note:
            st.caption(progress.note)
            return
        for bar in (progress.epoch, progress.batch):
            if bar is not None:
                st.progress(bar[0], text=bar[1])
        st.caption(progress.caption)
        if curves:
            visualize_live_curves(job)


def visualize_live_curves(job: jobs.JobState) -> None:
    """Live curves, redrawn on every poll of the fragment.

    Plain Vega-Lite specs, not ``st.line_chart``: line_chart builds and validates an
    Altair chart, about 0.1 s of GIL-holding Python per chart and poll; a plain spec takes ~2 ms.
    """
    left, right = st.columns(2)
    if job.batch_losses:
        batches = pandas.DataFrame(job.batch_losses, columns=["epoch", "batch", "loss"])
        batches["step"] = range(1, len(batches) + 1)
        left.caption("Training loss per batch")
        left.vega_lite_chart(batches, line_spec("step", ["loss"]), height=220, width="stretch")
    if job.epoch_logs:
        epochs = pandas.DataFrame(job.epoch_logs)
        right.caption("Loss per epoch (training and validation)")
        right.vega_lite_chart(
            epochs, line_spec("epoch", [c for c in ("loss", "val_loss") if c in epochs]), height=220, width="stretch"
        )
        if VALIDATION_F1 in epochs:
            right.caption("Validation entity F1 per epoch")
            right.vega_lite_chart(epochs, line_spec("epoch", [VALIDATION_F1]), height=160, width="stretch")


def line_spec(x: str, series: list[str]) -> dict:
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
