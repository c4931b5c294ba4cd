"""Annotate: a queue of the sentences the model is least sure of, corrected in the span editor (select a span
with the mouse, label it with a number key, Enter to accept and go on) or in the token table for fine edits.

Each decision is saved as it is made. Retraining with the annotations, and reviewing or exporting them,
live on their own pages.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import annotation, annotation_queue
from ui import annotation_queue as queue_views
from ui import guidelines, queue_editor, util

KEY = "annotate"
EMPTY_POOL = {
    "uploaded": "Paste or upload text above to fill this pool.",
    "log": "No text has been tagged in the highlighter or through the API yet.",
    "requests": "No text is waiting for review.",
    "flagged": "No sentence is flagged for review.",
    "validation": "The model's validation split is empty.",
    "test": "The model's test split is empty.",
}


def visualize_flagged(*, key: str) -> None:
    """The sentences flagged for review, and a link to the queue that resolves them."""
    flags = annotation_queue.flagged_decisions(util.get_store())
    if not flags:
        return
    st.markdown(f"**{len(flags)} flagged for review**")
    rows = [{"sentence": flag.text, "flagged by": flag.analyst, "when": flag.created_at} for flag in flags]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(240, 38 + 35 * len(rows)), key=f"{key}_flags")
    if st.session_state.get(f"{key}_pool") != "flagged":
        st.page_link(
            "pages/annotate.py",
            label="Review the flagged sentences",
            icon=":material/flag:",
            query_params={queue_views.POOL_PARAM: "flagged", queue_views.RUN_PARAM: st.session_state.get(f"{key}_run", "")},
        )


st.title("Annotate")
st.caption(
    "Correct the sentences the model is least sure of: drag over tokens (or click, then shift-click) to select a "
    "span, press its number to label it, Enter to accept and go on. `?` shows every key."
)

runs = util.completed_runs_or_stop(then="annotate its predictions here")
analyst = queue_views.require_analyst(key=KEY)
queue_views.visualize_analyst(analyst=analyst, key=KEY)
choice = queue_views.visualize_queue_choice(runs=runs, key=KEY)
try:
    predictor = util.get_predictor(choice.run.run_dir)
    items = queue_views.pool_items(choice)
    ranked = queue_views.ranked_queue(choice, items) if items else []
except NerError as exc:
    util.show_error(exc)
    st.stop()
tag_set = annotation.model_tag_set(predictor.tag_names)

editor_column, side_column = st.columns([3, 1])
with editor_column:
    if items:
        queue_editor.visualize_queue_editor(ranked=ranked, choice=choice, analyst=analyst, tag_set=tag_set, key=KEY)
    else:
        st.info(EMPTY_POOL[choice.pool])
with side_column:
    queue_views.visualize_settings(analyst=analyst, key=KEY)
    visualize_flagged(key=KEY)
    guidelines.visualize_guidelines(dataset_sha256=choice.run.dataset_sha256, key=KEY)
