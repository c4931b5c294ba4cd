"""Entity highlighter: tag free text with one to three runs side by side, see where they
disagree, inspect token confidences and download the result. Every prediction is logged."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.serving import predictor
from ner_core.workbench import comparison, metric_table, render
from ui import run_picker, util

KEY = "entity_highlighter"
MAX_MODELS = 3
# The default: each run decodes as it was trained and scored (TrainConfig.decoding), not a fixed method.
RUN_DECODING = "each run's own"
SAMPLE_TEXT = (
    "Prime Minister Gordon Brown met officials of the World Bank in London on Tuesday to discuss aid for Africa.\n"
    "Thousands of protesters marched through Baghdad on Friday, police said, a week after the "
    "United Nations called for new elections in Iraq."
)


# ------------------------------------------------------------------ work


def decoding_for(run, choice: str) -> str:
    """The decoding a run tags with: its own (the one its training and metrics used) unless one is chosen."""
    return metric_table.run_decoding(run.config) if choice == RUN_DECODING else choice


def predict_and_log(*, text: str, chosen: list, decoding: str) -> dict | None:
    """Predict with every chosen run, then log all of them; nothing is logged when any fails."""
    try:
        predictions = {
            run.id: util.get_predictor(run.run_dir).predict(text, decoding=decoding_for(run, decoding)) for run in chosen
        }
    except NerError as exc:
        util.show_error(exc)
        return None
    try:
        util.get_store().log_predictions([comparison.prediction_log_row(p) for p in predictions.values()])
    except NerError as exc:
        st.warning(f"The predictions are shown but could not be logged: {render.markdown_escape(exc)}")
    return {"text": text, "run_ids": [run.id for run in chosen], "decoding": decoding, "predictions": predictions}


# ------------------------------------------------------------------ views


def visualize_entities(*, predictions: dict, runs_by_id: dict, key: str) -> None:
    entities_by_run = {run_id: p.entities for run_id, p in predictions.items()}
    flagged = comparison.disagreeing_keys(entities_by_run)
    types = comparison.entity_types(list(predictions.values()))
    colours = render.entity_palette(types)  # one palette for the legend and every column
    if types:
        st.html(render.legend(types, colours))
    fmt = st.selectbox("Download format", predictor.OUTPUT_FORMATS, key=f"{key}_format")
    for column, (run_id, prediction) in zip(st.columns(len(predictions)), predictions.items()):
        with column:
            st.markdown(f"**{render.markdown_escape(util.run_label(runs_by_id[run_id]) if run_id in runs_by_id else run_id)}**")
            st.html(render.highlight_text(prediction.text, prediction.entities, flagged=flagged[run_id], colours=colours))
            st.caption(f"{len(prediction.entities)} entities, {prediction.decoding} decoding, {prediction.latency_ms:,.1f} ms")
            st.download_button(
                f"Download ({fmt})",
                prediction.render(fmt),
                file_name=comparison.download_name(prediction, fmt),
                mime=comparison.download_mime(fmt),
                key=f"{key}_download_{run_id}",
                on_click="ignore",
            )
    if len(predictions) > 1:
        visualize_disagreements(entities_by_run=entities_by_run, key=key)


def visualize_disagreements(*, entities_by_run: dict, key: str) -> None:
    st.subheader("Disagreements")
    table = comparison.disagreement_frame(entities_by_run)
    if table.empty:
        st.success("All chosen models found exactly the same entities.")
        return
    st.caption(
        "Entities not output identically (same start, end and type) by every model; they are outlined in each model's column."
    )
    st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_disagreements")


def visualize_tokens(*, predictions: dict, threshold: float, key: str) -> None:
    st.subheader("Tokens")
    for tab, (run_id, prediction) in zip(st.tabs(list(predictions)), predictions.items()):
        with tab:
            table = comparison.token_table(prediction, threshold=threshold)
            low = int(table["low_confidence"].sum())
            st.caption(f"{low} of {len(table)} tokens below confidence {threshold:.2f}.")
            st.dataframe(
                table,
                hide_index=True,
                width="stretch",
                key=f"{key}_tokens_{run_id}",
                column_config={
                    "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f"),
                    "low_confidence": st.column_config.CheckboxColumn("low confidence"),
                },
            )
            st.markdown("**Entities**")
            st.dataframe(
                comparison.entity_frame(prediction),
                hide_index=True,
                width="stretch",
                key=f"{key}_entities_{run_id}",
                column_config={"confidence": st.column_config.NumberColumn("confidence", format="%.3f")},
            )


# ------------------------------------------------------------------ page

st.title("Entity highlighter")
st.caption("Type or paste text; the chosen models mark people, places, organisations, times and more.")

available = util.completed_runs_or_stop(then="highlight entities here")

runs_by_id = {run.id: run for run in available}
text = st.text_area("Text", value=SAMPLE_TEXT, height=140, key=f"{KEY}_text")
models_column, decoding_column, threshold_column = st.columns([3, 1, 1])
labels = util.run_labels(available)
with models_column:  # the chosen runs live in the URL (?run=...), so a link opens the same models
    chosen_ids = run_picker.pick_runs(
        f"Models (up to {MAX_MODELS}, side by side)",
        labels,
        default=list(labels)[:1],
        key=f"{KEY}_runs",
        max_selections=MAX_MODELS,
    )
decoding = decoding_column.radio(
    "Decoding",
    [RUN_DECODING, *predictor.DECODING_METHODS],
    key=f"{KEY}_decoding",
    help="Each run's own: the decoding it was trained and scored with (shown under each model). argmax takes each "
    "token's best tag (stray I- repaired to B-); constrained finds the best valid IOB2 sequence.",
)
threshold = threshold_column.slider(
    "Low-confidence below", 0.0, 1.0, value=predictor.LOW_CONFIDENCE, step=0.05, key=f"{KEY}_threshold"
)

if not text.strip():
    st.info("Type or paste some text above to find its entities.")
elif not chosen_ids:
    st.info("Choose at least one model.")
elif st.button("Find entities", type="primary", key=f"{KEY}_find"):
    result = predict_and_log(text=text, chosen=[runs_by_id[i] for i in chosen_ids], decoding=decoding)
    st.session_state[f"{KEY}_result"] = result

result = st.session_state.get(f"{KEY}_result")
if result and text.strip():
    if (result["text"], result["run_ids"], result["decoding"]) != (text, chosen_ids, decoding):
        st.caption("The text, models or decoding changed; press Find entities to update.")
    visualize_entities(predictions=result["predictions"], runs_by_id=runs_by_id, key=KEY)
    visualize_tokens(predictions=result["predictions"], threshold=threshold, key=KEY)
