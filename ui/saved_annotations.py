"""The saved annotations of the review page: the list, its export (CoNLL, GMB CSV or span JSONL; every version or
the ones retraining uses), an import of span JSONL, and editing or deleting one annotation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import annotation, annotation_formats, saved_annotations
from ner_core.workbench.render import markdown_escape
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
    visualize_export(saved, store=store, key=key)
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


EXPORT_SCOPES = {
    "training": "One per sentence, as retraining uses them (adjudicated or agreed)",
    "all": "Every saved version (each analyst's, and final versions)",
}


def visualize_export(saved, *, store, key: str) -> None:
    """The annotations as CoNLL, GMB CSV or span JSONL: a download and a preview."""
    left, right = st.columns(2)
    fmt = left.radio("Export format", list(saved_annotations.EXPORT_FORMATS), horizontal=True, key=f"{key}_export_format")
    scope = right.radio("Export", list(EXPORT_SCOPES), format_func=EXPORT_SCOPES.get, key=f"{key}_export_scope")
    chosen = saved_annotations.training_annotations(store) if scope == "training" else saved
    if not chosen:
        st.caption("Nothing to export in this scope: every sentence several analysts annotated is still unresolved.")
        return
    content, name, mime = saved_annotations.export(chosen, fmt)
    st.download_button(
        f"Download {len(chosen)} annotations ({fmt})",
        content.encode("utf-8"),
        file_name=name,
        mime=mime,
        key=f"{key}_export",
        on_click="ignore",
    )
    with st.expander("Preview of the export"):
        st.code(content[:20_000], language=None)


def visualize_import(*, store, analyst: str, known_types: list[str] | None, key: str, notice_state: str) -> None:
    """Bring in span-format JSONL annotated elsewhere (Prodigy, spaCy, another workbench), checked whole first."""
    st.caption(
        "One JSON object per line with `text`, `tokens` (`text`, `start`, `end`) and `spans` (`start`, `end`, `label`), "
        "as Prodigy and this page's JSONL export write it. Lines answered reject or ignore are skipped; a bad line stops "
        "the import with its line number and nothing is stored."
        + (
            f" Labels must be the model's types ({', '.join(map(markdown_escape, known_types))}), in any case."
            if known_types
            else ""
        )
    )
    uploaded = st.file_uploader("JSONL file", type=["jsonl"], key=f"{key}_import_file")
    who = st.text_input("The analyst these annotations belong to", value=analyst, key=f"{key}_import_analyst")
    if st.button("Import", key=f"{key}_import", disabled=uploaded is None):
        try:
            result = annotation_formats.import_jsonl(
                store, uploaded.getvalue(), analyst=who, name=uploaded.name, known_types=known_types
            )
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[notice_state] = (
                f"Imported {result.added} annotations from {markdown_escape(uploaded.name)} "
                f"({result.unchanged} already stored as they are, {result.skipped} rejected or ignored lines skipped)."
            )
            st.rerun()
