"""The confusion views of the model comparison: one run's confusion matrix, full width and readable
at 17 tags, the test sentences behind a clicked cell, and the difference between two runs' matrices."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.evaluation import held_out
from ner_core.workbench import charts, comparison, render
from ui import run_picker, util

EXAMPLES_SHOWN = 10


@st.cache_data(show_spinner="Rebuilding the run's test split...", max_entries=16)
def cached_test_split(run_dir: str):
    return held_out.test_split_for_run(run_dir)


@st.cache_data(show_spinner="Tagging the test split...", max_entries=16)
def cached_test_predictions(run_dir: str):
    return comparison.predict_tags(util.get_predictor(run_dir), cached_test_split(run_dir))


def visualize_confusion(*, evaluations: dict, runs_by_id: dict, labels: dict, key: str) -> None:
    run_id = run_picker.pick_run("Run", list(evaluations), labels=labels, key=f"{key}_confusion_run", param="confusion")
    stored = evaluations[run_id]
    left, right = st.columns(2)
    shown = left.radio("Cells show", ["tokens", "share of the gold row"], horizontal=True, key=f"{key}_confusion_shares")
    errors_only = right.toggle("Errors only (hide O and the diagonal)", key=f"{key}_confusion_errors_only")
    st.caption(
        "Colours run over the errors (off-diagonal cells) only; correct tokens are grey with their count. "
        "Hover a cell for its tokens and share of the gold row; click it to list its sentences below."
    )
    figure = charts.confusion_heatmap(stored.confusion_frame(), shares=shown != "tokens", errors_only=errors_only)
    event = st.plotly_chart(figure, key=f"{key}_confusion_chart_{run_id}", on_select="rerun", selection_mode="points")
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


def visualize_confusion_difference(*, evaluations: dict, labels: dict, key: str) -> None:
    if len(evaluations) < 2:
        st.info("Choose two runs with stored evaluations to see how their confusions differ.")
        return
    ids = list(evaluations)
    first_column, second_column, normalize_column = st.columns(3)
    first = first_column.selectbox("Run A", ids, index=0, format_func=labels.get, key=f"{key}_difference_a")
    second = second_column.selectbox("Run B", ids, index=1, format_func=labels.get, key=f"{key}_difference_b")
    normalize = normalize_column.toggle("Row-normalised", value=True, key=f"{key}_difference_normalised")
    difference = comparison.confusion_difference(evaluations[first], evaluations[second], normalize=normalize)
    st.plotly_chart(charts.confusion_difference_heatmap(difference), key=f"{key}_difference_chart")
    st.caption(
        "B minus A: red cells are where B puts more tokens than A, blue where it puts fewer. "
        "Labels are aligned; a tag only one run knows counts as zero for the other."
    )
