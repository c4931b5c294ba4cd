"""The annotate page's editing area: the analyst's next sentence in the span editor or, for fine edits,
in the token table, and every decision recorded as it arrives.

The area is a fragment: accepting a sentence reruns only this area, never the pool's ranking. The
span editor already shows the next sentence by the time the server has stored the last one (it is
sent a few sentences ahead); the server records what the browser sends before it draws the area
again, and tells the browser which decisions are stored.
"""

from __future__ import annotations

import uuid
from functools import partial

import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import annotation, annotation_queue, render, span_editing
from ner_core.workbench.annotation_queue import Decision
from ui import span_editor, tag_editor, util
from ui.annotation_queue import ITEM_PARAM, QueueChoice

VIEWS = ("Span editor", "Token table")
SENT_STATE = "annotation_sent_items"  # item id -> QueueItem: the sentences this session was sent
ACK_STATE, REJECTED_STATE = "annotation_acknowledged", "annotation_rejected"
SEED_STATE = "annotation_seed"  # (item id, tags): edits carried from one view to the other
ERROR_STATE, NOTICE_STATE = "annotation_error", "annotation_notice"
MAX_SENT = 500


def _remember(items) -> dict:
    sent = st.session_state.setdefault(SENT_STATE, {})
    for item in items:
        sent.pop(item.item_id, None)
        sent[item.item_id] = item
    while len(sent) > MAX_SENT:
        sent.pop(next(iter(sent)))
    return sent


def _record(decisions, items, *, analyst: str, run_id: str, tag_set) -> annotation_queue.Recorded:
    outcome = annotation_queue.record_decisions(
        util.get_store(), decisions, items, analyst=analyst, model_run_id=run_id, tag_set=tag_set
    )
    st.session_state.setdefault(ACK_STATE, []).extend(outcome.acknowledged)
    st.session_state.setdefault(REJECTED_STATE, []).extend(outcome.rejected)
    return outcome


def _on_message(*, key: str, analyst: str, run_id: str, tag_set: tuple[str, ...]) -> None:
    """Runs before the area is drawn again: store the decisions the span editor sent, then any token-table request."""
    message = (st.session_state.get(f"{key}_span_editor") or {}).get("message")
    if message is None:
        return
    sent = st.session_state.get(SENT_STATE, {})
    try:
        decisions = span_editing.parse_decisions(message, sent)
        table = span_editing.parse_table_request(message["table"], sent) if message.get("table") else None
    except NerError as exc:
        st.session_state[ERROR_STATE] = str(exc)
        return
    _record(decisions, sent, analyst=analyst, run_id=run_id, tag_set=tag_set)
    if table is not None:
        st.session_state[SEED_STATE] = table
        st.session_state[f"{key}_view"] = VIEWS[1]


@st.fragment
def visualize_queue_editor(*, ranked: list, choice: QueueChoice, analyst: str, tag_set: list[str], key: str) -> None:
    """The analyst's queue of ``ranked``: what is left for them (read again on every run, as other analysts
    annotate too), the sentence a deep link names first, in the span editor or the token table."""
    store = util.get_store()
    view = annotation_queue.analyst_view(store, analyst, needed=annotation_queue.analysts_per_sentence(store))
    queue = annotation_queue.first_at(annotation_queue.remaining(ranked, view, pool=choice.pool), st.query_params.get(ITEM_PARAM))
    if ERROR_STATE in st.session_state:
        st.error(render.markdown_escape(st.session_state.pop(ERROR_STATE)))
    if NOTICE_STATE in st.session_state:
        st.success(render.markdown_escape(st.session_state.pop(NOTICE_STATE)))
    gone = annotation_queue.gone_counts(ranked, view, pool=choice.pool)
    st.caption(
        f"{len(queue):,} of {len(ranked):,} sentences of this pool are left in your queue, "
        f"{annotation_queue.ORDERS[choice.order]}"
        + (" (" + "; ".join(f"{count:,} {reason}" for reason, count in gone.items()) + ")." if gone else ".")
    )
    if not queue:
        st.success("Your queue of this pool is done: every sentence is annotated, skipped or flagged.")
        st.query_params.pop(ITEM_PARAM, None)
        return
    mode = st.segmented_control("View", VIEWS, key=f"{key}_view", default=VIEWS[0], label_visibility="collapsed") or VIEWS[0]
    _remember(queue[: span_editing.PREFETCH])
    st.query_params[ITEM_PARAM] = queue[0].item_id
    # A flagged sentence starts from what the flagging analyst left, not from the model's tags.
    proposed = annotation_queue.flagged_tags(store) if choice.pool == "flagged" else {}
    seed = st.session_state.get(SEED_STATE)
    seed_tags = seed[1] if seed and seed[0] == queue[0].item_id else proposed.get(queue[0].item_id)
    if mode == VIEWS[0]:
        ranks = {item.item_id: rank for rank, item in enumerate(ranked, start=1)}
        data = span_editing.editor_data(
            queue,
            labels=span_editing.editor_labels(tag_set),
            epoch=choice.epoch,
            remaining=len(queue),
            analyst=analyst,
            order=choice.order,
            acknowledged=st.session_state.pop(ACK_STATE, []),
            rejected=st.session_state.pop(REJECTED_STATE, []),
            first_tags=seed_tags,
            ranks=ranks,
            proposed=proposed,
        )
        st.session_state.pop(SEED_STATE, None)
        on_message = partial(_on_message, key=key, analyst=analyst, run_id=choice.run.id, tag_set=tuple(tag_set))
        span_editor.visualize_span_editor(data=data, on_message=on_message, key=f"{key}_span_editor")
    else:
        visualize_token_table(item=queue[0], seed_tags=seed_tags, choice=choice, analyst=analyst, tag_set=tag_set, key=key)


def visualize_token_table(*, item, seed_tags, choice: QueueChoice, analyst: str, tag_set: list[str], key: str) -> None:
    """The same sentence as a token table (``st.data_editor``) for fine edits; saving moves to the next sentence.

    The buttons act in callbacks, before the area is drawn again: they may switch the view (a widget's
    state) and the redrawn area shows the next sentence without a second rerun.
    """
    tags = list(seed_tags if seed_tags is not None else item.tags)
    version = st.session_state.get(f"{key}_table_version", 0)
    frame = span_editing.token_table(item, tags)
    st.markdown("**Correct the tags** (the `corrected tag` column; IOB2: an entity starts with B-type, continues with I-type)")
    edited, problems = tag_editor.visualize_tag_editor(
        frame, tokens=item.tokens, tag_set=tag_set, key=f"{key}_table_{item.item_id}_{version}"
    )
    if problems:
        tag_editor.show_problems(problems)
    filled = [tag or "O" for tag in edited]
    context = {"item": item, "analyst": analyst, "run_id": choice.run.id, "tag_set": tuple(tag_set)}
    row = st.container(horizontal=True)  # buttons as wide as their labels: five columns cut "Back to the span editor"
    row.button(
        "Save and next",
        type="primary",
        key=f"{key}_table_save",
        on_click=_table_decision,
        args=("accept", tuple(edited)),
        kwargs=context,
    )
    row.button("Skip", key=f"{key}_table_skip", on_click=_table_decision, args=("skip", None), kwargs=context)
    row.button("Flag for review", key=f"{key}_table_flag", on_click=_table_decision, args=("flag", tuple(edited)), kwargs=context)
    if problems:
        row.button(
            "Repair IOB2",
            key=f"{key}_table_repair",
            help="A stray I-X becomes B-X",
            on_click=_seed,
            args=(key, item.item_id, annotation.repair(filled), VIEWS[1]),
        )
    row.button("Back to the span editor", key=f"{key}_table_back", on_click=_seed, args=(key, item.item_id, filled, VIEWS[0]))


def _seed(key: str, item_id: str, tags: list[str], view: str) -> None:
    """Carry ``tags`` of the sentence into ``view`` (the table is drawn afresh from them)."""
    st.session_state[SEED_STATE] = (item_id, tags)
    st.session_state[f"{key}_table_version"] = st.session_state.get(f"{key}_table_version", 0) + 1
    st.session_state[f"{key}_view"] = view


def _table_decision(action: str, tags, *, item, analyst: str, run_id: str, tag_set: tuple[str, ...]) -> None:
    decision = Decision(uuid.uuid4().hex, item.item_id, action, tags)
    outcome = annotation_queue.record_decisions(
        util.get_store(), [decision], {item.item_id: item}, analyst=analyst, model_run_id=run_id, tag_set=tag_set
    )
    if outcome.rejected:
        st.session_state[ERROR_STATE] = outcome.rejected[0]["message"]
        return
    st.session_state.pop(SEED_STATE, None)
    done = {"skip": "Skipped", "flag": "Flagged for review"}
    saved = f"Saved annotation #{outcome.annotation_ids[0]}" if outcome.annotation_ids else done[action]
    st.session_state[NOTICE_STATE] = f"{saved}; the next sentence of your queue is shown."
