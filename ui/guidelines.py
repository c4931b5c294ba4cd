"""Annotation guidelines: shown beside the review queue, edited on the review page.

The Markdown is the team's own content, rendered as they wrote it (headings, lists, emphasis), but never
with ``unsafe_allow_html``: raw HTML in it shows as text. Who saved it and when is shown with it.
"""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import guidelines
from ner_core.workbench.render import markdown_escape
from ui import util


def _stamp(version) -> str:
    return f"Version of {version.saved_at:%Y-%m-%d %H:%M} UTC by {markdown_escape(version.editor)}"


def visualize_guidelines(*, dataset_sha256: str, key: str, expanded: bool = False) -> None:
    """The current guidelines of the dataset in an expander keyed ``<key>_guidelines`` (it remembers whether the
    analyst opened it); a hint on where to write them when there are none."""
    try:
        current = guidelines.current_guidelines(util.get_store(), dataset_sha256 or "")
    except NerError as exc:
        util.show_error(exc)
        return
    with st.expander("Annotation guidelines", expanded=expanded, icon=":material/menu_book:", key=f"{key}_guidelines"):
        if current is None or not current.markdown.strip():
            st.caption("No guidelines for this dataset yet; the team writes them on the Review and agreement page.")
            return
        st.markdown(guidelines.demote_headings(current.markdown))
        st.caption(_stamp(current))


def visualize_guidelines_editor(*, store, editor: str, default_sha256: str | None, key: str, notice_state: str) -> None:
    """Pick a dataset, edit its guidelines with a preview, save a new version; earlier versions below."""
    datasets = guidelines.known_datasets(store)
    if not datasets:
        st.info("No dataset known yet: upload one or train a model, then write its annotation guidelines here.")
        return
    shas = list(datasets)
    index = shas.index(default_sha256) if default_sha256 in shas else 0
    sha = st.selectbox("Dataset", shas, index=index, format_func=datasets.get, key=f"{key}_guidelines_dataset")
    current = guidelines.current_guidelines(store, sha)
    if current is not None:
        st.caption(_stamp(current))
    text = st.text_area(
        "Guidelines (Markdown)",
        value=current.markdown if current else "",
        height=260,
        max_chars=guidelines.MAX_GUIDELINES_CHARS,
        key=f"{key}_guidelines_text_{sha[:12]}_{current.id if current else 0}",
        placeholder="# Persons (per)\nFull names with titles: *President Anna Berg* ...",
    )
    with st.expander("Preview", expanded=False):
        st.markdown(text or "_(empty)_")
    if st.button("Save guidelines", type="primary", key=f"{key}_guidelines_save"):
        try:
            guidelines.save_guidelines(store, dataset_sha256=sha, markdown=text, editor=editor)
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[notice_state] = f"Saved the guidelines of {markdown_escape(datasets[sha])}."
            st.rerun()
    history = guidelines.guideline_history(store, sha)
    if len(history) > 1:
        with st.expander(f"Earlier versions ({len(history) - 1})"):
            for version in history[1:]:
                st.caption(_stamp(version))
                st.code(version.markdown, language="markdown")
