"""The saved annotations of the annotate page: the list, its export (CoNLL or GMB CSV), and editing or deleting one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import annotation, saved_annotations
from ui import util
from ui.tag_editor import show_problems, visualize_tag_editor


def visualize_saved_annotations(*, store, tag_set: list[str] | None, analyst: str, key: str, notice_state: str) -> None:
    """Every saved annotation, its export, and (given the model's ``tag_set``) an editor to change or delete one.

    After a change the page reruns with a one-line notice in ``st.session_state[notice_state]``.
    """
    saved = store.list_annotations()
    if not saved:
        st.info("No annotations saved yet. Correct a sentence of the review queue and save it.")
        return
    st.dataframe(pd.DataFrame(saved_annotations.annotation_records(saved)), hide_index=True, width="stretch", key=f"{key}_saved")
    visualize_export(saved, key=key)
    if tag_set is None:
        return
    st.markdown("**Edit or delete an annotation**")
    chosen = st.selectbox(
        "Annotation", saved, key=f"{key}_saved_pick", format_func=lambda a: f"#{a.id} - {a.analyst} - {a.text[:80]}"
    )
    allowed = annotation.model_tag_set([*tag_set, *chosen.tags])
    frame, editor = annotation.saved_frame(chosen), f"{key}_saved_editor_{chosen.id}_{annotation.annotation_version(chosen)}"
    tags, problems = visualize_tag_editor(frame, tokens=chosen.tokens, tag_set=allowed, key=editor)
    if problems:
        show_problems(problems)
    left, middle, right = st.columns(3)
    if left.button("Save changes", key=f"{key}_saved_update"):
        try:
            annotation.update_correction(store, chosen, tags=tags, analyst=analyst, tag_set=allowed)
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[notice_state] = f"Updated annotation #{chosen.id}."
            st.rerun()
    confirm = middle.checkbox(f"Yes, delete #{chosen.id}", key=f"{key}_saved_confirm")
    if right.button("Delete annotation", key=f"{key}_saved_delete", disabled=not confirm):
        store.delete_annotation(chosen.id)
        st.session_state[notice_state] = f"Deleted annotation #{chosen.id}."
        st.rerun()


def visualize_export(saved, *, key: str) -> None:
    """The annotations as CoNLL or GMB CSV: a download and a preview."""
    fmt = st.radio("Export format", list(saved_annotations.EXPORT_FORMATS), horizontal=True, key=f"{key}_export_format")
    content, name, mime = saved_annotations.export(saved, fmt)
    st.download_button(
        f"Download {len(saved)} annotations ({fmt})", content.encode("utf-8"), file_name=name, mime=mime, key=f"{key}_export"
    )
    with st.expander("Preview of the export"):
        st.code(content[:20_000], language=None)
