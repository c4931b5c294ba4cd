"""The run detail's name-and-tags form: what an analyst calls a run, shown in every run picker."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import run_labels
from ner_core.workbench.render import markdown_escape
from ui import util


def visualize_run_name_form(run, *, key: str) -> None:
    """Edit a run's name and comma-separated tags; a refused value says why and changes nothing.

    The inputs keep one key whichever run is shown and are refilled when another run is chosen,
    so switching runs never leaves a widget behind that belonged to the previous one.
    """
    if st.session_state.get(f"{key}_named_run") != run.id:
        st.session_state[f"{key}_run_name"] = run_labels.run_name(run) or ""
        st.session_state[f"{key}_run_tags"] = ", ".join(run_labels.run_tags(run))
        st.session_state[f"{key}_named_run"] = run.id
    with st.form(f"{key}_name_form", border=False):
        name_column, tags_column = st.columns(2)
        name = name_column.text_input(
            "Name",
            max_chars=run_labels.MAX_NAME_CHARS,
            placeholder="e.g. lr sweep best",
            key=f"{key}_run_name",
            help="Shown first in every run picker, before the model, dataset, date and F1.",
        )
        tags = tags_column.text_input(
            "Tags (comma-separated)",
            placeholder="e.g. gmb, baseline",
            key=f"{key}_run_tags",
            help=f"At most {run_labels.MAX_TAGS} tags of {run_labels.MAX_TAG_CHARS} characters; shown as #tag in run pickers.",
        )
        submitted = st.form_submit_button("Save name and tags", key=f"{key}_run_name_save")
    if not submitted:
        return
    try:
        run_labels.rename_run(util.get_store(), run.id, name=name, tags_text=tags)
        saved = util.get_store().get_run(run.id)
    except NerError as exc:
        util.show_error(exc)
        return
    st.success(f"Saved. The run now reads: {markdown_escape(util.run_label(saved))}")
