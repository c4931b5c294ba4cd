"""Review and agreement: the saved annotations (list, edit, export, import), how far analysts agree, the
disagreements a reviewer resolves into the final versions retraining uses, and the guidelines per dataset."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ner_core.corpus import tags as tagging
from ner_core.workbench import annotation
from ui import agreement, guidelines, saved_annotations, util

KEY = "review"
NOTICE_STATE = f"{KEY}_notice"
TABS = ["Saved annotations", "Agreement", "Disagreements", "Guidelines"]


@st.cache_data(show_spinner=False, max_entries=16)
def model_tags(run_dir: str) -> list[str]:
    """The run's tag vocabulary, read from its folder (no model load)."""
    from ner_core.modeling import encoding
    from ner_core.training import run_folder

    return list(encoding.Vocabulary.load(run_folder.RunFolder(Path(run_dir)).file(run_folder.TAG_VOCAB_FILE)).tokens)


st.title("Review and agreement")
st.caption(
    "Everything analysts saved, how far they agree when several annotate the same sentence, the final versions a "
    "reviewer decides (retraining learns from those), and the team's annotation guidelines per dataset."
)
if NOTICE_STATE in st.session_state:
    st.success(st.session_state.pop(NOTICE_STATE))

store = util.or_stop(util.get_store)
runs = util.or_stop(util.completed_runs)
top = st.columns([2, 1])
run = top[0].selectbox(
    "Model (its tags for edits and imports)",
    runs,
    format_func=util.run_label,
    key=f"{KEY}_run",
    placeholder="No trained model: edits use the tags already saved",
)
name = top[1].text_input("Your name (analyst or reviewer)", key=f"{KEY}_name", max_chars=annotation.MAX_ANALYST_CHARS)
saved_tags = {tag for saved in store.list_annotations() for tag in saved.tags}
model_tag_names = util.or_stop(lambda: model_tags(run.run_dir)) if run is not None else []
tag_set = annotation.model_tag_set([*model_tag_names, *saved_tags])
known_types = tagging.entity_types(model_tag_names) if run is not None else None

saved_tab, agreement_tab, disagreement_tab, guidelines_tab = st.tabs(TABS, key=f"{KEY}_tab", bind="query-params")
with saved_tab:
    saved_annotations.visualize_saved_annotations(store=store, tag_set=tag_set, analyst=name, key=KEY, notice_state=NOTICE_STATE)
    with st.expander("Import annotations (span JSONL from Prodigy, spaCy or another workbench)"):
        saved_annotations.visualize_import(store=store, analyst=name, known_types=known_types, key=KEY, notice_state=NOTICE_STATE)
with agreement_tab:
    agreement.visualize_agreement(store=store, key=KEY)
with disagreement_tab:
    agreement.visualize_disagreements(store=store, reviewer=name, tag_set=tag_set, key=KEY, notice_state=NOTICE_STATE)
with guidelines_tab:
    guidelines.visualize_guidelines_editor(
        store=store,
        editor=name,
        default_sha256=run.dataset_sha256 if run is not None else None,
        key=KEY,
        notice_state=NOTICE_STATE,
    )
