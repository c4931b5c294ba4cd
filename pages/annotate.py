"""Annotate and retrain: correct the sentences the model is least sure of, keep the corrections, retrain with them."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from ner_core.errors import NerError
from ner_core.evaluation import metric_registry
from ner_core.training import jobs
from ner_core.workbench import annotation, render
from ui import util

KEY = "annotate"
POOL_SOURCES = {
    "test split": "Test sentences of the model's dataset (labels hidden)",
    "typed": "Typed or pasted text",
    "upload": "Uploaded plain-text file",
}
JOB_STATE = f"{KEY}_job_id"
NOTICE_STATE = f"{KEY}_notice"


@st.cache_data(show_spinner="Reading the model's test split...", max_entries=8)
def held_out_words(run_id: str, run_dir: str) -> tuple[tuple[str, ...], ...]:
    """Token lists of the run's test split, rebuilt from its folder (``run_dir`` is part of the cache key)."""
    run = util.get_store().get_run(run_id)
    return tuple(tuple(sentence.words) for sentence in annotation.held_out_sentences(run))


@st.cache_data(show_spinner="Ranking the pool by model confidence...", max_entries=16)
def ranked_pool(run_dir: str, pool: tuple, measure: str, source: str) -> list[annotation.ReviewItem]:
    return annotation.review_queue(util.get_predictor(run_dir), pool, limit=None, measure=measure, source=source)


def editor_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def show_problems(problems: list[annotation.Problem]) -> None:
    st.warning("This correction cannot be saved yet:\n" + "\n".join(f"- {p.message}" for p in problems))


def tag_editor(frame: pd.DataFrame, *, tag_set: list[str], key: str) -> list[str | None]:
    """The token table with an editable tag column restricted to the model's tag set."""
    edited = st.data_editor(
        frame,
        key=key,
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        height=min(720, 40 + 35 * len(frame)),
        disabled=[column for column in frame.columns if column != "tag"],
        column_config={
            "#": st.column_config.NumberColumn("#", width="small"),
            "confidence": st.column_config.NumberColumn("confidence", format="%.3f"),
            "tag": st.column_config.SelectboxColumn("corrected tag", options=tag_set, required=True),
        },
    )
    return [tag if isinstance(tag, str) and tag else None for tag in edited["tag"]]


def highlight(tokens, tags, problems) -> None:
    marked = [p.position for p in problems if p.position is not None]
    st.markdown(render.highlight_tokens(list(tokens), [t or "O" for t in tags], marked_tokens=marked), unsafe_allow_html=True)


# --------------------------------------------------------------------------- review queue


def pool_input(source: str, run) -> tuple:
    """The pool of the chosen source: token lists for the test split, raw sentences otherwise."""
    if source == "test split":
        return held_out_words(run.id, run.run_dir)
    if source == "typed":
        text = st.text_area(
            "Text to annotate",
            key=f"{KEY}_text",
            height=120,
            placeholder="Paste or type text; it is split into sentences and ranked by the model's confidence.",
        )
        return tuple(annotation.pool_from_text(text)) if text.strip() else ()
    uploaded = st.file_uploader("Plain-text file", type=["txt"], key=f"{KEY}_upload")
    if uploaded is None:
        return ()
    return tuple(annotation.pool_from_text(annotation.text_from_upload(uploaded.getvalue(), uploaded.name)))


def visualize_queue(*, run, tag_set: list[str], analyst: str, store) -> None:
    columns = st.columns([3, 2, 1])
    source = columns[0].radio("Pool", list(POOL_SOURCES), format_func=POOL_SOURCES.get, key=f"{KEY}_source")
    measure = columns[1].radio(
        "Rank by",
        list(annotation.UNCERTAINTY_MEASURES),
        key=f"{KEY}_measure",
        format_func=lambda m: f"lowest {annotation.UNCERTAINTY_MEASURES[m]} first",
    )
    limit = columns[2].number_input("Queue length", min_value=1, max_value=500, value=25, key=f"{KEY}_limit")
    pool = pool_input(source, run)
    if not pool:
        st.info("The pool is empty: type or paste text, upload a .txt file, or use the model's test sentences.")
        return
    items = ranked_pool(run.run_dir, pool, measure, source)
    done = {saved.text for saved in store.list_annotations()}
    queue = [item for item in items if item.text not in done][: int(limit)]
    annotated = sum(item.text in done for item in items)
    st.caption(
        f"{len(items)} sentences in the pool, {annotated} already "
        f"annotated. A sentence's confidence is its {annotation.UNCERTAINTY_MEASURES[measure]} "
        "(probability of the predicted tag); the least confident come first."
    )
    if not queue:
        st.success("Every sentence of this pool is annotated.")
        return
    confidence = st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f")
    st.dataframe(
        pd.DataFrame(
            {
                "rank": range(1, len(queue) + 1),
                "confidence": [i.confidence for i in queue],
                "tokens": [len(i.tokens) for i in queue],
                "sentence": [i.text for i in queue],
            }
        ),
        hide_index=True,
        width="stretch",
        height=min(300, 38 + 35 * len(queue)),
        column_config={"confidence": confidence},
    )
    # The options are the sentences, not their positions: after a save the queue moves up by one, and a
    # position-valued selectbox kept showing the saved sentence's label over the next sentence's editor.
    ranks, by_text = {}, {}
    for rank, item in enumerate(queue, start=1):  # a sentence can occur twice in a pool: keep its first place
        ranks.setdefault(item.text, rank)
        by_text.setdefault(item.text, item)
    text = st.selectbox(
        "Sentence to correct",
        list(ranks),
        key=f"{KEY}_item",
        format_func=lambda t: f"#{ranks[t]} - {by_text[t].confidence:.3f} - {t[:90]}",
    )
    visualize_correction(by_text.get(text, queue[0]), run=run, tag_set=tag_set, analyst=analyst, store=store)


def visualize_correction(item: annotation.ReviewItem, *, run, tag_set: list[str], analyst: str, store) -> None:
    """Token-level correction of one queued sentence: edit, check IOB2, repair, save."""
    item_key = editor_key(item.text)
    base_state, version_state = f"{KEY}_base_{item_key}", f"{KEY}_version_{item_key}"
    base_tags = st.session_state.get(base_state, list(item.predicted_tags))
    frame = pd.DataFrame(
        {
            "#": range(1, len(item.tokens) + 1),
            "token": item.tokens,
            "predicted": item.predicted_tags,
            "confidence": item.confidences,
            "tag": base_tags,
        }
    )
    st.markdown("**Correct the tags** (the `corrected tag` column; IOB2: an entity starts with B-type, continues with I-type)")
    tags = tag_editor(frame, tag_set=tag_set, key=f"{KEY}_editor_{item_key}_{st.session_state.get(version_state, 0)}")
    problems = annotation.validate_correction(item.tokens, tags, tag_set)
    highlight(item.tokens, tags, problems)
    left, right = st.columns(2)
    if problems:
        show_problems(problems)
        if left.button("Repair IOB2 (stray I-X becomes B-X)", key=f"{KEY}_repair"):
            st.session_state[base_state] = annotation.repair([t or "O" for t in tags])
            st.session_state[version_state] = st.session_state.get(version_state, 0) + 1
            st.rerun()
    if right.button("Save correction", type="primary", key=f"{KEY}_save"):
        try:
            saved_id = annotation.save_correction(
                store,
                analyst=analyst,
                text=item.text,
                tokens=list(item.tokens),
                tags=tags,
                original_tags=list(item.predicted_tags),
                model_run_id=run.id,
                source=item.source,
                tag_set=tag_set,
            )
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state.pop(base_state, None)
            st.session_state[NOTICE_STATE] = f"Saved annotation #{saved_id}; the next sentence of the queue is shown."
            st.rerun()


# --------------------------------------------------------------------------- saved annotations


def visualize_saved(*, store, tag_set: list[str] | None, analyst: str) -> None:
    saved = store.list_annotations()
    if not saved:
        st.info("No annotations saved yet. Correct a sentence of the review queue and save it.")
        return
    st.dataframe(pd.DataFrame(annotation.annotation_records(saved)), hide_index=True, width="stretch")
    visualize_export(saved)
    if tag_set is None:
        return
    st.markdown("**Edit or delete an annotation**")
    chosen = st.selectbox(
        "Annotation", saved, key=f"{KEY}_saved_pick", format_func=lambda a: f"#{a.id} - {a.analyst} - {a.text[:80]}"
    )
    allowed = annotation.model_tag_set([*tag_set, *chosen.tags])
    frame = pd.DataFrame(
        {"#": range(1, len(chosen.tokens) + 1), "token": chosen.tokens, "predicted": chosen.original_tags, "tag": chosen.tags}
    )
    version = chosen.updated_at.strftime("%Y%m%d%H%M%S%f") if chosen.updated_at else "0"
    tags = tag_editor(frame, tag_set=allowed, key=f"{KEY}_saved_editor_{chosen.id}_{version}")
    problems = annotation.validate_correction(chosen.tokens, tags, allowed)
    highlight(chosen.tokens, tags, problems)
    if problems:
        show_problems(problems)
    left, middle, right = st.columns(3)
    if left.button("Save changes", key=f"{KEY}_saved_update"):
        try:
            annotation.update_correction(store, chosen, tags=tags, analyst=analyst, tag_set=allowed)
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[NOTICE_STATE] = f"Updated annotation #{chosen.id}."
            st.rerun()
    confirm = middle.checkbox(f"Yes, delete #{chosen.id}", key=f"{KEY}_saved_confirm")
    if right.button("Delete annotation", key=f"{KEY}_saved_delete", disabled=not confirm):
        store.delete_annotation(chosen.id)
        st.session_state[NOTICE_STATE] = f"Deleted annotation #{chosen.id}."
        st.rerun()


def visualize_export(saved) -> None:
    fmt = st.radio("Export format", ["CoNLL", "GMB CSV"], horizontal=True, key=f"{KEY}_export_format")
    if fmt == "CoNLL":
        content, name, mime = annotation.annotations_to_conll(saved), "annotations.conll", "text/plain"
    else:
        content, name, mime = annotation.annotations_to_csv(saved), "annotations.csv", "text/csv"
    st.download_button(
        f"Download {len(saved)} annotations ({fmt})", content.encode("utf-8"), file_name=name, mime=mime, key=f"{KEY}_export"
    )
    with st.expander("Preview of the export"):
        st.code(content[:20_000], language=None)


# --------------------------------------------------------------------------- retraining


def visualize_retrain(*, run, runs, store, runner) -> None:
    saved = store.list_annotations()
    st.write(
        f"The new run trains `{run.model_name}` with the parent's configuration (same dataset and seed, so the "
        f"same test split) on the training split plus {len(saved)} saved annotation(s), then is scored on that "
        "test split."
    )
    busy = job_running(runner, st.session_state.get(JOB_STATE))
    if not saved:
        st.info("Save at least one annotation first.")
    elif st.button(
        f"Retrain with my annotations ({len(saved)})",
        type="primary",
        key=f"{KEY}_retrain",
        disabled=busy,
        help="One retraining at a time from this page; wait for the current one or cancel it." if busy else None,
    ):
        try:
            job = runner.submit(
                annotation.retrain_config(run),
                parent_run_id=run.id,
                extra_train_sentences=annotation.annotations_to_sentences(saved),
                label=f"{run.model_name} + {len(saved)} annotations",
            )
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[JOB_STATE] = job.job_id
            st.rerun()  # so the button shows as busy while the job runs
    if st.session_state.get(JOB_STATE):
        visualize_job(runner, st.session_state[JOB_STATE])
    children = [child for child in runs if child.parent_run_id == run.id]
    if children:
        child = st.selectbox("Retrained run", children, format_func=util.run_label, key=f"{KEY}_child")
        visualize_comparison(run, child)


def job_running(runner, job_id: str | None) -> bool:
    try:
        return job_id is not None and not runner.get(job_id).finished
    except KeyError:
        return False


def visualize_job(runner, job_id: str) -> None:
    try:
        job = runner.get(job_id)
    except KeyError:
        st.session_state.pop(JOB_STATE, None)
        return

    @st.fragment(run_every=None if job.finished else 2.0)
    def poll() -> None:
        current = runner.get(job_id)
        if current.status in (jobs.QUEUED, jobs.RUNNING):
            event = current.last_event
            fraction = event.fraction if event is not None else 0.0
            detail = f" - epoch {event.epoch}/{event.epochs}" if event is not None and event.epochs else ""
            st.progress(fraction, text=f"Retraining run {current.run_id}: {current.status}{detail}")
            if st.button("Cancel retraining", key=f"{KEY}_cancel_job"):
                runner.cancel(job_id)
        elif current.status == jobs.COMPLETED:
            st.success(f"Retrained run {current.run_id} is ready; it is compared with its parent below.")
        else:
            st.error(f"Retraining {current.status}: {current.error or 'no reason recorded'}")
        if current.finished and not job.finished:
            st.rerun()  # the whole page, so the new run appears in the lists

    poll()


def visualize_comparison(parent, child) -> None:
    if not annotation.same_test_split(parent, child):
        st.warning("These runs were not split from the same dataset with the same seed; their test sets differ.")
    rows = annotation.compare_metrics(parent.metrics, child.metrics)
    table = pd.DataFrame(
        {
            "metric": [row["metric"] for row in rows],
            f"parent ({parent.id})": [metric_registry.format_metric(row["key"], row["parent"]) for row in rows],
            f"retrained ({child.id})": [metric_registry.format_metric(row["key"], row["child"]) for row in rows],
            "delta": ["n/a" if row["delta"] is None else f"{row['delta']:+.4f}" for row in rows],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(f"Both scored on the test split of `{child.config.get('dataset')}` with seed {child.config.get('seed')}.")


# --------------------------------------------------------------------------- page

st.title("Annotate and retrain")
st.caption("Correct the model's least confident sentences token by token, keep the corrections, and retrain the model with them.")

try:
    store = util.get_store()
    runs = util.completed_runs()
    runner = util.get_runner()
except Exception as exc:  # noqa: BLE001 - shown to the user as an actionable error
    util.show_error(exc)
    st.stop()

if NOTICE_STATE in st.session_state:
    st.success(st.session_state.pop(NOTICE_STATE))

if not runs:
    st.info(
        "No trained model yet. Train one on the Training runs page (or from Home); its predictions are what you correct here."
    )
    visualize_saved(store=store, tag_set=None, analyst="")
    st.stop()

top = st.columns([2, 1])
run = top[0].selectbox("Model", runs, format_func=util.run_label, key=f"{KEY}_run")
analyst = top[1].text_input("Analyst name (required to save)", key=f"{KEY}_analyst", max_chars=annotation.MAX_ANALYST_CHARS)
try:
    predictor = util.get_predictor(run.run_dir)
except NerError as exc:
    util.show_error(exc)
    st.stop()
tag_set = annotation.model_tag_set(predictor.tag_names)

queue_tab, saved_tab, retrain_tab = st.tabs(["Review queue", "Saved annotations", "Retrain"])
with queue_tab:
    try:
        visualize_queue(run=run, tag_set=tag_set, analyst=analyst, store=store)
    except NerError as exc:
        util.show_error(exc)
with saved_tab:
    visualize_saved(store=store, tag_set=tag_set, analyst=analyst)
with retrain_tab:
    visualize_retrain(run=run, runs=runs, store=store, runner=runner)
