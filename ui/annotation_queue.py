"""The annotate page's queue views: who annotates, which model, pool and order (kept in the URL so a
reload finds the same queue), the pool's own inputs, and the cached loaders behind them."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ner_core.corpus import documents
from ner_core.errors import NerError
from ner_core.workbench import annotation_pools, annotation_queue, render
from ui import util

ANALYST_STATE = "annotation_analyst"
# Query parameters of a queue's deep link; ``item`` (the sentence shown) is written by the editor.
RUN_PARAM, POOL_PARAM, ORDER_PARAM, OTHER_PARAM, BATCH_PARAM, ITEM_PARAM = "run", "pool", "order", "other", "batch", "item"
TEST_SPLIT_WARNING = (
    "Sentences you annotate from the test split leave the scored test set: a retrained model's comparison "
    "with its parent leaves every annotated sentence out, so each one you annotate here makes the test set smaller."
)


@dataclass(frozen=True)
class QueueChoice:
    run: object
    pool: str
    order: str
    other_run: object | None
    batch_id: str | None

    @property
    def epoch(self) -> str:
        """Names the queue for the browser: when it changes, the editor forgets its local decisions."""
        other = self.other_run.id if self.other_run is not None else ""
        return "|".join((self.run.id, self.pool, self.order, other, self.batch_id or ""))


# --------------------------------------------------------------------------- the analyst, once per session


@st.dialog("Who is annotating?")
def _analyst_dialog(key: str) -> None:
    st.write("Every annotation records who made it; you are asked once per session.")
    name = st.text_input("Your name", key=f"{key}_analyst_input", max_chars=128)
    if st.button("Start annotating", type="primary", key=f"{key}_analyst_start"):
        try:
            st.session_state[ANALYST_STATE] = annotation_queue.analyst_name(name)
        except NerError as exc:
            util.show_error(exc)
        else:
            st.rerun()


def require_analyst(*, key: str) -> str:
    """The session's analyst; the first time, a dialog asks for the name and the page waits for it."""
    if not st.session_state.get(ANALYST_STATE):
        _analyst_dialog(key)
        st.info("Enter your name to start annotating.")
        st.stop()
    return st.session_state[ANALYST_STATE]


def visualize_analyst(*, analyst: str, key: str) -> None:
    columns = st.columns([4, 1])
    columns[0].caption(f"Annotating as **{render.markdown_escape(analyst)}**.")
    if columns[1].button("Change analyst", key=f"{key}_analyst_change"):
        st.session_state.pop(ANALYST_STATE, None)
        st.rerun()


# --------------------------------------------------------------------------- model, pool and order


def _seed_from_url(key: str, param: str, valid) -> None:
    """A widget's first value from the URL (only when the session has none yet and the value is valid)."""
    value = st.query_params.get(param)
    if key not in st.session_state and value is not None and value in valid:
        st.session_state[key] = value


def visualize_queue_choice(*, runs: list, key: str) -> QueueChoice:
    """Model, pool and order (plus a second model for disagreement), read from and written to the URL."""
    by_id = {run.id: run for run in runs}
    _seed_from_url(f"{key}_run", RUN_PARAM, by_id)
    _seed_from_url(f"{key}_pool", POOL_PARAM, annotation_pools.POOLS)
    _seed_from_url(f"{key}_order", ORDER_PARAM, annotation_queue.ORDERS)
    if st.query_params.get(POOL_PARAM) == "test" and f"{key}_test_opt_in" not in st.session_state:
        st.session_state[f"{key}_test_opt_in"] = True  # a link to a test-split queue was made by someone who opted in
    top = st.columns([2, 2, 2])
    run_id = top[0].selectbox("Model", list(by_id), format_func=lambda r: util.run_label(by_id[r]), key=f"{key}_run")
    opt_in = top[1].checkbox(
        "Offer the test split",
        key=f"{key}_test_opt_in",
        help="Off by default: annotated test sentences leave the scored test set.",
    )
    pools = [pool for pool in annotation_pools.POOLS if pool != "test" or opt_in]
    if st.session_state.get(f"{key}_pool") not in pools:
        st.session_state[f"{key}_pool"] = annotation_pools.DEFAULT_POOL
    pool = top[1].selectbox("Pool", pools, format_func=annotation_pools.POOLS.get, key=f"{key}_pool")
    order = top[2].selectbox("Order", list(annotation_queue.ORDERS), format_func=annotation_queue.ORDERS.get, key=f"{key}_order")
    other_run = None
    if order == "disagreement":
        others = [run_id_ for run_id_ in by_id if run_id_ != run_id]
        _seed_from_url(f"{key}_other", OTHER_PARAM, others)
        if not others:
            st.warning("Disagreement needs a second trained model; train one, or choose another order.")
            st.stop()
        other_id = top[2].selectbox("Second model", others, format_func=lambda r: util.run_label(by_id[r]), key=f"{key}_other")
        other_run = by_id[other_id]
    if pool == "test":
        st.warning(TEST_SPLIT_WARNING)
    st.query_params.update({RUN_PARAM: run_id, POOL_PARAM: pool, ORDER_PARAM: order})
    if other_run is not None:
        st.query_params[OTHER_PARAM] = other_run.id
    else:
        st.query_params.pop(OTHER_PARAM, None)
    batch_id = visualize_batches(key=key) if pool == "uploaded" else None
    if pool != "uploaded":
        st.query_params.pop(BATCH_PARAM, None)
    return QueueChoice(by_id[run_id], pool, order, other_run, batch_id)


# --------------------------------------------------------------------------- pasted and uploaded text


def visualize_batches(*, key: str) -> str | None:
    """The pasted or uploaded batch to annotate, and a form to add one; None when there is none yet."""
    store = util.get_store()
    with st.expander("Add text to annotate", expanded=not annotation_pools.text_batches(store)):
        with st.form(f"{key}_add_text", clear_on_submit=True, border=False):
            text = st.text_area("Paste text (one sentence or paragraph per line)", key=f"{key}_paste", height=120)
            upload = st.file_uploader(
                "or upload a .txt (a sentence or paragraph per line) or .jsonl (a text field per line)",
                type=list(documents.FILE_TYPES),
                key=f"{key}_upload",
            )
            added = st.form_submit_button("Add to the queue")
        if added:
            try:
                if upload is not None:
                    sentences, name = annotation_pools.sentences_from_upload(upload.getvalue(), upload.name), upload.name
                else:
                    sentences, name = annotation_pools.sentences_from_lines(text), "pasted text"
                batch_id = annotation_pools.add_text_batch(store, sentences, name=name)
            except NerError as exc:
                util.show_error(exc)
            else:
                st.session_state[f"{key}_batch"] = batch_id
                st.query_params[BATCH_PARAM] = batch_id
                st.success(f"Added {len(sentences)} sentences.")
    batches = {batch.batch_id: batch for batch in annotation_pools.text_batches(store)}
    if not batches:
        return None
    _seed_from_url(f"{key}_batch", BATCH_PARAM, batches)
    if st.session_state.get(f"{key}_batch") not in batches:
        st.session_state[f"{key}_batch"] = next(iter(batches))
    batch_id = st.selectbox(
        "Text",
        list(batches),
        format_func=lambda b: f"{batches[b].name} ({batches[b].sentences} sentences, {batches[b].created_at:%Y-%m-%d %H:%M})",
        key=f"{key}_batch",
    )
    st.query_params[BATCH_PARAM] = batch_id
    return batch_id


# --------------------------------------------------------------------------- cached pools and rankings


@st.cache_resource(show_spinner="Reading the model's dataset split...", max_entries=8)
def split_items(run_id: str, run_dir: str, part: str) -> list[annotation_pools.PoolItem]:
    """A run's validation or test split as pool items (``run_dir`` keys the cache; items are immutable)."""
    return annotation_pools.split_items(util.get_store().get_run(run_id), part)


def pool_items(choice: QueueChoice) -> list[annotation_pools.PoolItem]:
    store = util.get_store()
    if choice.pool in annotation_pools.SPLIT_POOLS:
        return split_items(choice.run.id, choice.run.run_dir, choice.pool)
    if choice.pool == "uploaded":
        return annotation_pools.batch_items(store, choice.batch_id) if choice.batch_id else []
    if choice.pool == "log":
        return annotation_pools.logged_items(store)
    if choice.pool == "requests":
        return annotation_pools.review_request_items(store)
    return annotation_pools.flagged_items(store)


# A ranked validation split of the real corpus holds ~10,000 items (tens of MB): few are kept.
@st.cache_resource(show_spinner=False, max_entries=4)
def _ranked(run_dir: str, other_dir: str | None, order: str, pool: str, key: str, _items: tuple) -> list:
    """The ranked pool, computed once per model(s), order and pool contents (``key`` is their checksum)."""
    predictor = util.get_predictor(run_dir)
    other = util.get_predictor(other_dir) if other_dir else None
    return annotation_queue.rank(predictor, list(_items), order=order, pool=pool, other=other)


def ranked_queue(choice: QueueChoice, items: list[annotation_pools.PoolItem]) -> list[annotation_queue.QueueItem]:
    other_dir = choice.other_run.run_dir if choice.other_run is not None else None
    models = "both models" if other_dir else "the model"
    # Once per model, order and pool contents (about 10 s for the real corpus' 9,561 validation sentences here).
    with st.spinner(f"Ranking {len(items):,} sentences with {models}..."):
        return _ranked(choice.run.run_dir, other_dir, choice.order, choice.pool, annotation_pools.pool_key(items), tuple(items))


def visualize_settings(*, analyst: str, key: str) -> None:
    """The team-wide queue setting: how many analysts should annotate each sentence (saved on submit only,
    so a page open elsewhere never writes back a value another analyst has changed since)."""
    store = util.get_store()
    current = annotation_queue.analysts_per_sentence(store)
    with st.expander(f"Queue settings: {current} analyst{'s' if current > 1 else ''} per sentence"):
        with st.form(f"{key}_settings", border=False):
            wanted = st.number_input(
                "Analysts per sentence",
                min_value=1,
                max_value=annotation_queue.MAX_ANALYSTS_PER_SENTENCE,
                value=current,
                step=1,
                key=f"{key}_analysts_{current}",
                help="A sentence leaves your queue once you annotated or skipped it, and everyone's once this many "
                "different analysts annotated it. The setting is shared by the whole team.",
            )
            saved = st.form_submit_button("Save setting")
        if saved and int(wanted) != current:
            try:
                annotation_queue.set_analysts_per_sentence(store, int(wanted), analyst=analyst)
            except NerError as exc:
                util.show_error(exc)
            else:
                st.rerun()
