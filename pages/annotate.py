"""Annotate: correct the sentences the model is least sure of and keep the corrections (the Retrain and compare
page retrains with them)."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import annotation
from ui import saved_annotations, tag_editor, util

KEY = "annotate"
POOL_SOURCES = {
    "test split": "Test sentences of the model's dataset (labels hidden)",
    "typed": "Typed or pasted text",
    "upload": "Uploaded plain-text file",
}
NOTICE_STATE = f"{KEY}_notice"


@st.cache_data(show_spinner="Reading the model's test split...", max_entries=8)
def held_out_words(run_id: str, run_dir: str) -> tuple[tuple[str, ...], ...]:
    """Token lists of the run's test split, rebuilt from its folder (``run_dir`` is part of the cache key)."""
    run = util.get_store().get_run(run_id)
    return tuple(tuple(sentence.words) for sentence in annotation.held_out_sentences(run))


@st.cache_data(show_spinner="Ranking the pool by model confidence...", max_entries=16)
def ranked_pool(run_dir: str, pool: tuple, measure: str, source: str, done: tuple[str, ...]) -> list[annotation.ReviewItem]:
    """The pool's sentences not yet annotated, least confident first."""
    predictor = util.get_predictor(run_dir)
    return annotation.review_queue(predictor, pool, limit=None, measure=measure, source=source, skip_texts=done)


# --------------------------------------------------------------------------- review queue


def pool_input(source: str, run, *, key: str) -> tuple:
    """The pool of the chosen source: token lists for the test split, raw sentences otherwise."""
    if source == "test split":
        return held_out_words(run.id, run.run_dir)
    if source == "typed":
        text = st.text_area(
            "Text to annotate",
            key=f"{key}_text",
            height=120,
            placeholder="Paste or type text; it is split into sentences and ranked by the model's confidence.",
        )
        return tuple(annotation.pool_from_text(text)) if text.strip() else ()
    uploaded = st.file_uploader("Plain-text file", type=["txt"], key=f"{key}_upload")
    if uploaded is None:
        return ()
    return tuple(annotation.pool_from_text(annotation.text_from_upload(uploaded.getvalue(), uploaded.name)))


def visualize_queue(*, run, tag_set: list[str], analyst: str, store, key: str) -> None:
    columns = st.columns([3, 2, 1])
    source = columns[0].radio("Pool", list(POOL_SOURCES), format_func=POOL_SOURCES.get, key=f"{key}_source")
    measure = columns[1].radio(
        "Rank by",
        list(annotation.UNCERTAINTY_MEASURES),
        key=f"{key}_measure",
        format_func=lambda m: f"lowest {annotation.UNCERTAINTY_MEASURES[m]} first",
    )
    limit = columns[2].number_input("Queue length", min_value=1, max_value=500, value=25, key=f"{key}_limit")
    pool = pool_input(source, run, key=key)
    if not pool:
        st.info("The pool is empty: type or paste text, upload a .txt file, or use the model's test sentences.")
        return
    done = tuple(sorted({saved.text for saved in store.list_annotations()}))
    pending = ranked_pool(run.run_dir, pool, measure, source, done)
    annotated = annotation.annotated_in_pool(pool, done)
    st.caption(
        f"{len(pending) + annotated} sentences in the pool, {annotated} already "
        f"annotated. A sentence's confidence is its {annotation.UNCERTAINTY_MEASURES[measure]} "
        "(probability of the predicted tag); the least confident come first."
    )
    queue = pending[: int(limit)]
    if not queue:
        st.success("Every sentence of this pool is annotated.")
        return
    confidence = st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f")
    st.dataframe(
        annotation.queue_frame(queue),
        hide_index=True,
        width="stretch",
        height=min(300, 38 + 35 * len(queue)),
        column_config={"confidence": confidence},
        key=f"{key}_queue",
    )
    choices = annotation.queue_choices(queue)
    text = st.selectbox(
        "Sentence to correct",
        list(choices),
        key=f"{key}_item",
        format_func=lambda t: f"#{choices[t][0]} - {choices[t][1].confidence:.3f} - {t[:90]}",
    )
    item = choices[text][1] if text in choices else queue[0]
    visualize_correction(item, run=run, tag_set=tag_set, analyst=analyst, store=store, key=key)


def visualize_correction(item: annotation.ReviewItem, *, run, tag_set: list[str], analyst: str, store, key: str) -> None:
    """Token-level correction of one queued sentence: edit, check IOB2, repair, save."""
    item_key = annotation.editor_key(item.text)
    base_state, version_state = f"{key}_base_{item_key}", f"{key}_version_{item_key}"
    frame = annotation.correction_frame(item, st.session_state.get(base_state, list(item.predicted_tags)))
    st.markdown("**Correct the tags** (the `corrected tag` column; IOB2: an entity starts with B-type, continues with I-type)")
    editor = f"{key}_editor_{item_key}_{st.session_state.get(version_state, 0)}"
    tags, problems = tag_editor.visualize_tag_editor(frame, tokens=item.tokens, tag_set=tag_set, key=editor)
    left, right = st.columns(2)
    if problems:
        tag_editor.show_problems(problems)
        if left.button("Repair IOB2 (stray I-X becomes B-X)", key=f"{key}_repair"):
            st.session_state[base_state] = annotation.repair([t or "O" for t in tags])
            st.session_state[version_state] = st.session_state.get(version_state, 0) + 1
            st.rerun()
    if right.button("Save correction", type="primary", key=f"{key}_save"):
        try:
            saved_id = annotation.save_review_item(store, item, tags=tags, analyst=analyst, model_run_id=run.id, tag_set=tag_set)
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state.pop(base_state, None)
            st.session_state[NOTICE_STATE] = f"Saved annotation #{saved_id}; the next sentence of the queue is shown."
            st.rerun()


# --------------------------------------------------------------------------- page

st.title("Annotate")
st.caption(
    "Correct the model's least confident sentences token by token and keep the corrections; "
    "the Retrain and compare page retrains the model with them."
)

if NOTICE_STATE in st.session_state:
    st.success(st.session_state.pop(NOTICE_STATE))

runs = util.completed_runs_or_stop(
    then="correct its predictions here",
    on_empty=lambda: saved_annotations.visualize_saved_annotations(
        store=util.get_store(), tag_set=None, analyst="", key=KEY, notice_state=NOTICE_STATE
    ),
)
store = util.get_store()

top = st.columns([2, 1])
run = top[0].selectbox("Model", runs, format_func=util.run_label, key=f"{KEY}_run")
analyst = top[1].text_input("Analyst name (required to save)", key=f"{KEY}_analyst", max_chars=annotation.MAX_ANALYST_CHARS)
try:
    predictor = util.get_predictor(run.run_dir)
except NerError as exc:
    util.show_error(exc)
    st.stop()
tag_set = annotation.model_tag_set(predictor.tag_names)

queue_tab, saved_tab = st.tabs(["Review queue", "Saved annotations"])
with queue_tab:
    try:
        visualize_queue(run=run, tag_set=tag_set, analyst=analyst, store=store, key=KEY)
    except NerError as exc:
        util.show_error(exc)
with saved_tab:
    saved_annotations.visualize_saved_annotations(
        store=store, tag_set=tag_set, analyst=analyst, key=KEY, notice_state=NOTICE_STATE
    )
