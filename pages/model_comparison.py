"""Model comparison: the 23-metric table, per-type scores, confusion matrices and the
test sentences behind a cell, error breakdowns and learning curves of chosen runs."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.evaluation import held_out
from ner_core.serving import predictor
from ner_core.workbench import charts, comparison, metric_table, render
from ui import util

KEY = "model_comparison"
EXAMPLES_SHOWN = 10


# ------------------------------------------------------------------ cached work


@st.cache_data(show_spinner="Rebuilding the run's test split...", max_entries=16)
def cached_test_split(run_dir: str):
    return held_out.test_split_for_run(run_dir)


@st.cache_data(show_spinner="Tagging the test split...", max_entries=16)
def cached_test_predictions(run_dir: str):
    return comparison.predict_tags(util.get_predictor(run_dir), cached_test_split(run_dir))


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


def visualize_metric_table(*, chosen: list, key: str) -> None:
    other = {run.id: metric_table.other_decoding(metric_table.run_decoding(run.config)) for run in chosen}
    add_other = st.toggle(
        "Also evaluate with the other decoding (argmax vs IOB2-constrained)",
        key=f"{key}_other_decoding",
        help="Stored metrics use each run's configured decoding. This re-scores the rebuilt test "
        "split with the other one; nothing is written, speed is not re-measured.",
    )
    columns = {}
    for run in chosen:
        columns[metric_table.column_name(run.id, metric_table.run_decoding(run.config))] = run.metrics
        if add_other:
            try:
                columns[metric_table.column_name(run.id, other[run.id])] = cached_reevaluation(run.run_dir, other[run.id])
            except NerError as exc:
                util.show_error(exc)
    # The star marks the best value; the CSV keeps the "best" column for machines.
    st.dataframe(
        metric_table.formatted_metric_table(columns).drop(columns=["key", "best"]),
        hide_index=True,
        width="stretch",
        height="content",
        key=f"{key}_table",
        column_config={
            "metric": st.column_config.TextColumn("metric", pinned=True),
            "definition": st.column_config.TextColumn("definition", width="large", help="What the metric measures and how"),
        },
    )
    if len(columns) > 1:
        st.caption(f"{metric_table.BEST_MARK.strip()} best value of the metric in its direction.")
    st.download_button(
        "Download the table as CSV",
        metric_table.metric_table_csv(columns),
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


def visualize_confusion(*, evaluations: dict, runs_by_id: dict, key: str) -> None:
    run_id = st.selectbox(
        "Run", list(evaluations), format_func=lambda i: util.run_label(runs_by_id[i]), key=f"{key}_confusion_run"
    )
    stored = evaluations[run_id]
    raw_column, normalised_column = st.columns(2)
    raw_column.markdown("**Tokens** (click a cell to list its sentences)")
    event = raw_column.plotly_chart(
        charts.confusion_heatmap(stored.confusion_frame()),
        key=f"{key}_confusion_chart_{run_id}",
        on_select="rerun",
        selection_mode="points",
    )
    normalised_column.markdown("**Share of each gold tag** (rows sum to 1)")
    normalised_column.plotly_chart(
        charts.confusion_share_heatmap(stored.confusion_frame(normalize=True)), key=f"{key}_confusion_normalised_{run_id}"
    )
    apply_clicked_cell(event, stored.confusion_labels, key=f"{key}_{run_id}")
    visualize_confusion_examples(run=runs_by_id[run_id], stored=stored, key=f"{key}_{run_id}")


def apply_clicked_cell(event, labels: list[str], *, key: str) -> None:
    """A clicked heatmap cell sets the two selectboxes, once per new click."""
    cell = comparison.clicked_cell(event, labels)
    if cell is not None and cell != st.session_state.get(f"{key}_last_click"):
        st.session_state[f"{key}_gold"], st.session_state[f"{key}_predicted"] = cell
        st.session_state[f"{key}_last_click"] = cell


def visualize_confusion_examples(*, run, stored, key: str) -> None:
    labels = stored.confusion_labels
    cells = comparison.confusion_cells(stored)
    if not cells:
        st.success("No confusions: every test token got its gold tag.")
        return
    # Start on the largest confusion; set before the widgets exist so they take no default too.
    st.session_state.setdefault(f"{key}_gold", cells[0][0])
    st.session_state.setdefault(f"{key}_predicted", cells[0][1])
    gold_column, predicted_column = st.columns(2)
    gold = gold_column.selectbox("Gold tag", labels, key=f"{key}_gold")
    predicted = predicted_column.selectbox("Predicted tag", labels, key=f"{key}_predicted")
    try:
        sentences = cached_test_split(run.run_dir)
        predicted_tags = cached_test_predictions(run.run_dir)
    except NerError as exc:
        util.show_error(exc)
        return
    examples = comparison.confusion_examples(sentences, predicted_tags, gold, predicted)
    gold_text, predicted_text = render.markdown_escape(gold), render.markdown_escape(predicted)
    if not examples:
        st.info(f"No test token with gold {gold_text} was predicted as {predicted_text}.")
        return
    st.write(
        f"{len(examples)} test sentence(s) have a token with gold **{gold_text}** predicted as **{predicted_text}**"
        f"{f'; the first {EXAMPLES_SHOWN} are shown' if len(examples) > EXAMPLES_SHOWN else ''}. "
        "Confused tokens are underlined or outlined."
    )
    for example in examples[:EXAMPLES_SHOWN]:
        st.html(render.confusion_example(example))


def visualize_confusion_difference(*, evaluations: dict, key: str) -> None:
    if len(evaluations) < 2:
        st.info("Choose two runs with stored evaluations to see how their confusions differ.")
        return
    ids = list(evaluations)
    first_column, second_column, normalize_column = st.columns(3)
    first = first_column.selectbox("Run A", ids, index=0, key=f"{key}_difference_a")
    second = second_column.selectbox("Run B", ids, index=1, key=f"{key}_difference_b")
    normalize = normalize_column.toggle("Row-normalised", value=True, key=f"{key}_difference_normalised")
    difference = comparison.confusion_difference(evaluations[first], evaluations[second], normalize=normalize)
    st.plotly_chart(charts.confusion_difference_heatmap(difference), key=f"{key}_difference_chart")
    st.caption(
        "B minus A: red cells are where B puts more tokens than A, blue where it puts fewer. "
        "Labels are aligned; a tag only one run knows counts as zero for the other."
    )


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
chosen_ids = st.multiselect(
    "Runs to compare",
    list(runs_by_id),
    default=list(runs_by_id)[:2],
    format_func=lambda i: util.run_label(runs_by_id[i]),
    key=f"{KEY}_runs",
)
if not chosen_ids:
    st.info("Pick at least one run to compare.")
    st.stop()
chosen = [runs_by_id[i] for i in chosen_ids]
st.caption(
    "Decoding of the stored metrics: "
    + ", ".join(f"{run.id}: {metric_table.run_decoding(run.config)}" for run in chosen)
    + f" (choices: {', '.join(predictor.DECODING_METHODS)})."
)
evaluations = load_evaluations(chosen)

metrics_tab, per_type_tab, confusion_tab, errors_tab, curves_tab = st.tabs(
    ["Metrics", "Per type", "Confusion", "Errors", "Learning curves"]
)
with metrics_tab:
    visualize_metric_table(chosen=chosen, key=KEY)
with per_type_tab:
    visualize_per_type(evaluations=evaluations, key=KEY)
with confusion_tab:
    if evaluations:
        visualize_confusion(evaluations=evaluations, runs_by_id=runs_by_id, key=KEY)
        st.subheader("Difference between two runs")
        visualize_confusion_difference(evaluations=evaluations, key=KEY)
    else:
        st.info("No stored evaluation for the chosen runs, so no confusion matrix.")
with errors_tab:
    visualize_errors(evaluations=evaluations, key=KEY)
with curves_tab:
    visualize_learning_curves(chosen=chosen, key=KEY)
