"""Agreement between analysts (pairwise entity F1, per type, Cohen's kappa) and the disagreements a reviewer
resolves by picking one analyst's version or editing a final one."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import adjudication, agreement, annotation, render
from ui import util
from ui.tag_editor import show_problems, visualize_tag_editor

SHOW = {"unresolved": "Unresolved", "resolved": "Resolved", "all": "All"}
SCORE = st.column_config.NumberColumn(format="%.3f")


def visualize_agreement(*, store, key: str) -> None:
    """How many shared sentences agree, then entity F1 and kappa per pair of analysts and F1 per type."""
    versions = agreement.latest_versions(store.list_annotations())
    shared = agreement.shared_sentences(versions)
    if not shared:
        st.info(
            "No sentence has been annotated by two or more analysts yet. Agreement appears here once several analysts "
            "annotate the same sentences (the queue's setting for how many analysts see each sentence)."
        )
        return
    disagreeing = [sentence for sentence in shared if not sentence.agree]
    decided = adjudication.decisions(store)
    left, middle, right, last = st.columns(4)
    left.metric("Sentences with 2+ analysts", len(shared))
    middle.metric("Identical", len(shared) - len(disagreeing))
    right.metric("Disagreements", len(disagreeing))
    last.metric("Resolved", sum(sentence.text in decided for sentence in disagreeing))
    pairs = agreement.pairwise_agreement(versions)
    st.markdown("**Per pair of analysts**")
    st.dataframe(
        pd.DataFrame(agreement.agreement_records(pairs)),
        hide_index=True,
        width="stretch",
        column_config={"entity F1": SCORE, "Cohen's kappa": SCORE},
        key=f"{key}_pairs",
    )
    st.caption(
        "Entity F1: seqeval strict IOB2 with analyst A as reference (F1 is symmetric). Cohen's kappa: agreement on every "
        "token's tag, corrected for chance. Empty when undefined: neither marked an entity, or one tag throughout. "
        "Each analyst counts with their latest version; sentences whose tokens differ are not compared."
    )
    per_type = pd.DataFrame(agreement.per_type_records(pairs))
    if not per_type.empty:
        per_type["pair"] = per_type["analyst A"] + " / " + per_type["analyst B"]
        table = per_type.pivot(index="pair", columns="type", values="entity F1").reset_index()
        st.markdown("**Entity F1 per type**")
        types = [column for column in table.columns if column != "pair"]
        st.dataframe(table, hide_index=True, width="stretch", column_config=dict.fromkeys(types, SCORE), key=f"{key}_per_type")


def visualize_disagreements(*, store, reviewer: str, tag_set: list[str], key: str, notice_state: str) -> None:
    """The sentences analysts disagree on, each version highlighted, and the reviewer's decision."""
    versions = agreement.latest_versions(store.list_annotations())
    disagreeing = agreement.disagreements(versions)
    if not disagreeing:
        st.info("No disagreements: every sentence several analysts annotated has identical versions.")
        return
    decided = adjudication.decisions(store)
    show = st.radio("Show", list(SHOW), format_func=SHOW.get, horizontal=True, key=f"{key}_show")
    listed = [s for s in disagreeing if show == "all" or (s.text in decided) == (show == "resolved")]
    if not listed:
        st.success("Every disagreement is resolved." if show == "unresolved" else "No disagreement is resolved yet.")
        return
    chosen = st.selectbox(
        f"Sentence ({len(listed)})",
        [s.text for s in listed],
        key=f"{key}_sentence",
        format_func=lambda text: ("[resolved] " if text in decided else "") + text[:100],
    )
    sentence = next((s for s in listed if s.text == chosen), listed[0])
    visualize_versions(sentence, store=store, reviewer=reviewer, key=key, notice_state=notice_state)
    decision = decided.get(sentence.text)
    if decision is not None:
        visualize_decision(decision, store=store, key=key, notice_state=notice_state)
    visualize_final_editor(
        sentence, decision, store=store, reviewer=reviewer, tag_set=tag_set, key=key, notice_state=notice_state
    )


def visualize_versions(sentence, *, store, reviewer: str, key: str, notice_state: str) -> None:
    """Each analyst's version with the tokens they disagree on marked, and a button to make it final."""
    marked = agreement.differing_positions(sentence)
    if not sentence.same_tokens:
        st.warning("These versions tokenize the sentence differently, so their tokens are not lined up.")
    for version in sentence.versions:
        name, text, action = st.columns([1, 6, 1.4], vertical_alignment="center")
        name.markdown(f"**{render.markdown_escape(version.analyst)}**")
        text.html(render.highlight_tokens(list(version.tokens), list(version.tags), marked_tokens=marked))
        if action.button("Use this version", key=f"{key}_pick_{version.annotation_id}"):
            notice = f"The version of {render.markdown_escape(version.analyst)} is now final."
            _decide(
                partial(adjudication.pick_version, store, annotation_id=version.annotation_id, reviewer=reviewer),
                notice_state,
                notice,
            )


def visualize_decision(decision: adjudication.Decision, *, store, key: str, notice_state: str) -> None:
    how = "picked" if decision.picked_annotation_id is not None else "edited"
    st.markdown(
        f"**Final version** ({how} by {render.markdown_escape(decision.reviewer)}, {decision.decided_at:%Y-%m-%d %H:%M} UTC); "
        "retraining uses it."
    )
    st.html(render.highlight_tokens(decision.final.tokens, decision.final.tags))
    if st.button("Reopen (withdraw the decision)", key=f"{key}_reopen"):
        adjudication.reopen(store, decision.text)
        st.session_state[notice_state] = "Decision withdrawn; the sentence is unresolved again."
        st.rerun()


def visualize_final_editor(sentence, decision, *, store, reviewer: str, tag_set: list[str], key: str, notice_state: str) -> None:
    """Edit a final version token by token, starting from one analyst's version."""
    with st.expander("Edit a final version", expanded=False):
        by_id = {version.annotation_id: version for version in sentence.versions}
        base_id = st.radio(
            "Start from",
            list(by_id),
            format_func=lambda i: f"{by_id[i].analyst}'s version",
            horizontal=True,
            key=f"{key}_base_{annotation.editor_key(sentence.text)}",
        )
        base = by_id[base_id]
        allowed = annotation.model_tag_set([*tag_set, *(tag for v in sentence.versions for tag in v.tags)])
        frame = agreement.adjudication_frame(sentence, base, list(base.tags))
        version = decision.final.id if decision else 0
        editor = f"{key}_final_editor_{annotation.editor_key(sentence.text)}_{base_id}_{version}"
        tags, problems = visualize_tag_editor(frame, tokens=base.tokens, tag_set=allowed, key=editor)
        if problems:
            show_problems(problems)
        if st.button("Save as final version", type="primary", key=f"{key}_final_save"):
            _decide(
                lambda: adjudication.adjudicate(
                    store, text=sentence.text, tokens=base.tokens, tags=tags, reviewer=reviewer, tag_set=allowed
                ),
                notice_state,
                "Saved the edited final version.",
            )


def _decide(work, notice_state: str, notice: str) -> None:
    try:
        work()
    except NerError as exc:
        util.show_error(exc)
    else:
        st.session_state[notice_state] = notice
        st.rerun()
