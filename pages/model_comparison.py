"""Model comparison: the 23-metric table, per-type scores, confusion matrices and the
test sentences behind a cell, error breakdowns and learning curves of chosen runs."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.serving import predictor
from ner_core.workbench import charts, comparison, metric_table, render, run_labels, run_selection
from ui import confusion_view, run_picker, util

KEY = "model_comparison"
TAB_KEY = f"{KEY}_tab"


# ------------------------------------------------------------------ cached work


@st.cache_data(show_spinner="Re-evaluating on the test split...", max_entries=16)
def cached_reevaluation(run_dir: str, decoding: str):
    return comparison.reevaluate(run_dir, decoding)


def load_evaluations(chosen: list) -> dict:
    """Run id -> stored Evaluation; runs without one are named in a caption, broken ones in a warning."""
    stored = comparison.load_evaluations(chosen)
    for run_id, exc in stored.broken.items():
        st.warning(f"Run {run_id}: its evaluation file cannot be read ({render.markdown_escape(exc)}).")
    if stored.missing:
        st.caption(f"No stored evaluation for {', '.join(stored.missing)}; these runs have metrics only.")
    return stored.found


# ------------------------------------------------------------------ views


def visualize_metric_table(*, chosen: list, labels: dict, key: str) -> None:
    add_other = st.toggle(
        "Also evaluate with the other decoding (argmax vs IOB2-constrained)",
        key=f"{key}_other_decoding",
        help="Stored metrics use each run's configured decoding. This re-scores the rebuilt test "
        "split with the other one; nothing is written, speed is not re-measured.",
    )
    columns, splits, headers = {}, {}, {}
    for run in chosen:
        own = metric_table.run_decoding(run.config)
        for decoding in [own, metric_table.other_decoding(own)] if add_other else [own]:
            name = metric_table.column_name(run.id, decoding)
            try:
                columns[name] = run.metrics if decoding == own else cached_reevaluation(run.run_dir, decoding)
            except NerError as exc:
                util.show_error(exc)
                continue
            splits[name] = run_selection.test_split(run)
            header = run_labels.short_label(run) + (f" [{decoding}]" if add_other else "")
            full = render.markdown_escape(f"{labels[run.id]} ({decoding} decoding)")  # a tooltip renders Markdown
            headers[name] = st.column_config.TextColumn(header, help=full, width="medium")
    # The star marks the best value within one test split; the CSV keeps the "best" column for machines.
    st.dataframe(
        metric_table.formatted_metric_table(columns, splits).drop(columns=["key", "best"]),
        hide_index=True,
        width="stretch",
        height="content",
        key=f"{key}_table",
        column_config={
            "metric": st.column_config.TextColumn("metric", pinned=True),
            **headers,
            "definition": st.column_config.TextColumn("definition", width="large", help="What the metric measures and how"),
        },
    )
    if metric_table.ranked_groups(columns, splits):
        st.caption(f"{metric_table.BEST_MARK.strip()} best value of the metric in its direction, among runs of one test split.")
    st.download_button(
        "Download the table as CSV",
        metric_table.metric_table_csv(columns, splits),
        file_name="model_comparison.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
    )


def visualize_per_type(*, evaluations: dict, key: str) -> None:
    frame = comparison.per_type_frame(evaluations)
    if frame.empty:
        st.info("No per-type scores: the chosen runs have no stored evaluation with entities.")
        return
    st.plotly_chart(charts.per_type_bars(frame), key=f"{key}_per_type_chart")


def visualize_errors(*, evaluations: dict, key: str) -> None:
    frame = comparison.error_breakdown_frame(evaluations)
    if frame.empty:
        st.info("No error breakdown: the chosen runs have no stored evaluation.")
        return
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_errors_table")
    st.plotly_chart(charts.error_bars(frame), key=f"{key}_errors_chart")


def visualize_learning_curves(*, chosen: list, key: str) -> None:
    histories = {}
    for run in chosen:
        try:
            histories[run.id] = comparison.load_history(run.run_dir)
        except NerError as exc:
            util.show_error(exc)
    frame = comparison.learning_curve_frame(histories)
    if frame.empty:
        st.info("No training history stored for the chosen runs.")
        return
    st.plotly_chart(charts.loss_curves(frame), key=f"{key}_curves_chart")
    scores = comparison.learning_curve_frame(histories, series=comparison.SCORE_SERIES)
    if not scores.empty:
        st.caption("Validation entity F1 per epoch (what early stopping watches in newer runs)")
        st.plotly_chart(charts.score_curves(scores), key=f"{key}_score_curves_chart")


# ------------------------------------------------------------------ page

st.title("Model comparison")
st.caption(
    "Compare trained runs on the test split: every metric with its definition, per-type scores, "
    "where tags get confused and on which sentences, error kinds and learning curves."
)

available = util.completed_runs_or_stop(then="compare runs here")
runs_by_id = {run.id: run for run in available}
labels = util.run_labels(available)
chosen_ids = run_picker.pick_runs(
    "Runs to compare",
    labels,
    default=run_selection.default_comparison(available),
    key=f"{KEY}_runs",
    help="Starts with the newest run and the newest others scored on its test split (same dataset, seed and IOB repair).",
)
if not chosen_ids:
    st.info("Pick at least one run to compare.")
    st.stop()
chosen = [runs_by_id[i] for i in chosen_ids]
st.caption(
    "The address bar keeps the chosen runs: copy it to share this comparison. Decoding of the stored metrics: "
    + ", ".join(f"{render.markdown_escape(run_labels.short_label(r))}: {metric_table.run_decoding(r.config)}" for r in chosen)
    + f" (choices: {', '.join(predictor.DECODING_METHODS)})."
)
mixed = run_selection.mixed_splits_warning(chosen, util.dataset_names())
if mixed:
    st.warning(render.markdown_escape(mixed))
evaluations = load_evaluations(chosen)


def visualize_confusions() -> None:
    if not evaluations:
        st.info("No stored evaluation for the chosen runs, so no confusion matrix.")
        return
    confusion_view.visualize_confusion(evaluations=evaluations, runs_by_id=runs_by_id, labels=labels, key=KEY)
    st.subheader("Difference between two runs")
    confusion_view.visualize_confusion_difference(evaluations=evaluations, labels=labels, key=KEY)


VIEWS = {
    "Metrics": lambda: visualize_metric_table(chosen=chosen, labels=labels, key=KEY),
    "Per type": lambda: visualize_per_type(evaluations=evaluations, key=KEY),
    "Confusion": visualize_confusions,
    "Errors": lambda: visualize_errors(evaluations=evaluations, key=KEY),
    "Learning curves": lambda: visualize_learning_curves(chosen=chosen, key=KEY),
}
# Only the open tab is built and drawn (eight Plotly figures on every load kept this page 4-5 s from
# interactive); the open tab is in the URL with the runs, so a shared link opens the same view.
for tab, view in zip(st.tabs(list(VIEWS), key=TAB_KEY, bind="query-params"), VIEWS.values()):
    if tab.open:
        with tab:
            view()
