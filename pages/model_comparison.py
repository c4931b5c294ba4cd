"""Model comparison: the 23-metric table, per-type scores, confusion matrices and the
test sentences behind a cell, error breakdowns and learning curves of chosen runs."""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from ner_core.errors import ModelLoadError, NerError
from ner_core.evaluation import held_out, run_scoring
from ner_core.serving import predictor
from ner_core.training import run_folder
from ner_core.workbench import comparison, render
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


def run_decoding(run) -> str:
    return run.config.get("decoding", "argmax")


def column_name(run, decoding: str) -> str:
    return f"{run.id} [{decoding}]"


def load_evaluations(chosen: list) -> dict:
    """Run id -> stored Evaluation; runs without one are named in a caption, broken ones in a warning."""
    found, missing = {}, []
    for run in chosen:
        try:
            _, stored = run_scoring.load_evaluation(run_folder.RunFolder(Path(run.run_dir)))
        except NerError as exc:
            st.warning(f"Run {run.id}: its evaluation file cannot be read ({exc}).")
            continue
        if stored is None:
            missing.append(run.id)
        else:
            found[run.id] = stored
    if missing:
        st.caption(f"No stored evaluation for {', '.join(missing)}; these runs have metrics only.")
    return found


# ------------------------------------------------------------------ views


def visualize_metric_table(*, chosen: list, key: str) -> None:
    other = {run.id: "constrained" if run_decoding(run) == "argmax" else "argmax" for run in chosen}
    add_other = st.toggle(
        "Also evaluate with the other decoding (argmax vs IOB2-constrained)",
        key=f"{key}_other_decoding",
        help="Stored metrics use each run's configured decoding. This re-scores the rebuilt test "
        "split with the other one; nothing is written, speed is not re-measured.",
    )
    columns = {}
    for run in chosen:
        columns[column_name(run, run_decoding(run))] = run.metrics
        if add_other:
            try:
                columns[column_name(run, other[run.id])] = cached_reevaluation(run.run_dir, other[run.id])
            except NerError as exc:
                util.show_error(exc)
    # The star marks the best value; the CSV keeps the "best" column for machines.
    st.dataframe(
        comparison.formatted_metric_table(columns).drop(columns=["key", "best"]),
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
        st.caption(f"{comparison.BEST_MARK.strip()} best value of the metric in its direction.")
    st.download_button(
        "Download the table as CSV",
        comparison.metric_table_csv(columns),
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
    figure = px.bar(
        frame, x="type", y="value", color="run", barmode="group", facet_col="measure", hover_data=["support"], range_y=[0, 1]
    )
    figure.for_each_annotation(lambda annotation: annotation.update(text=annotation.text.split("=")[-1]))
    st.plotly_chart(figure, key=f"{key}_per_type_chart")


def heatmap_height(labels: list[str]) -> int:
    return max(400, 32 * len(labels) + 150)


def make_cells_clickable(figure, frame) -> None:
    """Streamlit selects points, not heatmap cells: an invisible marker on each cell takes the click."""
    gold = [row for row in frame.index for _ in frame.columns]
    predicted = [column for _ in frame.index for column in frame.columns]
    figure.update_traces(hoverinfo="skip", selector={"type": "heatmap"})
    figure.add_trace(
        go.Scatter(
            x=predicted,
            y=gold,
            customdata=frame.to_numpy().ravel(),
            mode="markers",
            showlegend=False,
            marker={"size": 22, "opacity": 0, "symbol": "square"},
            hovertemplate="gold %{y}<br>predicted %{x}<br>%{customdata} tokens<extra></extra>",
        )
    )
    # Markers would pad the axes; keep them tight around the cells.
    figure.update_xaxes(range=[-0.5, len(frame.columns) - 0.5])
    figure.update_yaxes(range=[len(frame.index) - 0.5, -0.5])


def visualize_confusion(*, evaluations: dict, runs_by_id: dict, key: str) -> None:
    run_id = st.selectbox(
        "Run", list(evaluations), format_func=lambda i: util.run_label(runs_by_id[i]), key=f"{key}_confusion_run"
    )
    stored = evaluations[run_id]
    raw_column, normalised_column = st.columns(2)
    with raw_column:
        st.markdown("**Tokens** (click a cell to list its sentences)")
        frame = stored.confusion_frame()
        figure = px.imshow(
            frame,
            text_auto=True,
            aspect="auto",
            color_continuous_scale="Blues",
            labels={"x": "predicted", "y": "gold", "color": "tokens"},
            height=heatmap_height(stored.confusion_labels),
        )
        make_cells_clickable(figure, frame)
        event = st.plotly_chart(figure, key=f"{key}_confusion_chart_{run_id}", on_select="rerun", selection_mode="points")
    with normalised_column:
        st.markdown("**Share of each gold tag** (rows sum to 1)")
        figure = px.imshow(
            stored.confusion_frame(normalize=True).round(3),
            text_auto=True,
            aspect="auto",
            color_continuous_scale="Blues",
            zmin=0,
            zmax=1,
            labels={"x": "predicted", "y": "gold", "color": "share"},
            height=heatmap_height(stored.confusion_labels),
        )
        st.plotly_chart(figure, key=f"{key}_confusion_normalised_{run_id}")
    apply_clicked_cell(event, stored.confusion_labels, key=f"{key}_{run_id}")
    visualize_confusion_examples(run=runs_by_id[run_id], stored=stored, key=f"{key}_{run_id}")


def apply_clicked_cell(event, labels: list[str], *, key: str) -> None:
    """A clicked heatmap cell sets the two selectboxes, once per new click."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return
    if not points:
        return
    cell = (str(points[0].get("y")), str(points[0].get("x")))
    if cell != st.session_state.get(f"{key}_last_click") and cell[0] in labels and cell[1] in labels:
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
    if not examples:
        st.info(f"No test token with gold {gold} was predicted as {predicted}.")
        return
    st.write(
        f"{len(examples)} test sentence(s) have a token with gold **{gold}** predicted as **{predicted}**"
        f"{f'; the first {EXAMPLES_SHOWN} are shown' if len(examples) > EXAMPLES_SHOWN else ''}. "
        "Confused tokens are underlined or outlined."
    )
    for example in examples[:EXAMPLES_SHOWN]:
        gold_html = render.highlight_tokens(example.words, example.gold_tags, marked_tokens=example.positions)
        predicted_html = render.highlight_tokens(example.words, example.predicted_tags, marked_tokens=example.positions)
        # Only fixed labels are added here; every piece of sentence text went through render.
        st.markdown(
            f'<div style="display:grid;grid-template-columns:6em 1fr;align-items:center;margin-bottom:0.8em">'
            f"<b>sentence {example.number}</b><span></span><span>gold</span>{gold_html}"
            f"<span>predicted</span>{predicted_html}</div>",
            unsafe_allow_html=True,
        )


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
    limit = float(difference.abs().to_numpy().max()) or 1.0
    figure = px.imshow(
        difference.round(3),
        text_auto=True,
        aspect="auto",
        color_continuous_scale="RdBu_r",
        zmin=-limit,
        zmax=limit,
        labels={"x": "predicted", "y": "gold", "color": "B - A"},
        height=heatmap_height(list(difference.index)),
    )
    st.plotly_chart(figure, key=f"{key}_difference_chart")
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
    kinds = ["missed", "spurious", "wrong_type", "wrong_boundary"]
    figure = px.bar(
        frame.melt(id_vars="run", value_vars=kinds, var_name="error", value_name="entities"),
        x="error",
        y="entities",
        color="run",
        barmode="group",
    )
    st.plotly_chart(figure, key=f"{key}_errors_chart")


def visualize_learning_curves(*, chosen: list, key: str) -> None:
    histories = {}
    for run in chosen:
        try:
            histories[run.id] = comparison.load_history(run.run_dir)
        except ModelLoadError as exc:
            util.show_error(exc)
    frame = comparison.learning_curve_frame(histories)
    if frame.empty:
        st.info("No training history stored for the chosen runs.")
        return
    figure = px.line(frame, x="epoch", y="value", color="run", line_dash="series", markers=True, labels={"value": "loss"})
    st.plotly_chart(figure, key=f"{key}_curves_chart")
    scores = comparison.learning_curve_frame(histories, series=comparison.SCORE_SERIES)
    if not scores.empty:
        st.caption("Validation entity F1 per epoch (what early stopping watches in newer runs)")
        st.plotly_chart(
            px.line(scores, x="epoch", y="value", color="run", markers=True, labels={"value": "entity F1"}),
            key=f"{key}_score_curves_chart",
        )


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
    + ", ".join(f"{run.id}: {run_decoding(run)}" for run in chosen)
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
