"""NER Workbench: navigation and the shared frame; each page lives in pages/."""

from __future__ import annotations

import threading

import streamlit as st

st.set_page_config(page_title="NER Workbench", page_icon=":material/label:", layout="wide")


@st.cache_resource(show_spinner=False)
def _warm_up_tensorflow() -> threading.Thread:
    """Import TensorFlow once, in the background, when the server starts.

    The first import takes many seconds of mostly-GIL-holding work; paying it at
    start-up keeps the first training job or prediction from stalling the UI.
    """
    thread = threading.Thread(target=lambda: __import__("keras"), name="tensorflow-warm-up", daemon=True)
    thread.start()
    return thread


_warm_up_tensorflow()

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data_explorer.py", title="Data explorer", icon=":material/table_view:"),
    st.Page("pages/training_runs.py", title="Training runs", icon=":material/model_training:"),
    st.Page("pages/model_comparison.py", title="Model comparison", icon=":material/compare:"),
    st.Page("pages/entity_highlighter.py", title="Entity highlighter", icon=":material/format_color_text:"),
    st.Page("pages/annotate.py", title="Annotate", icon=":material/edit_note:"),
    st.Page("pages/retrain.py", title="Retrain and compare", icon=":material/published_with_changes:"),
    st.Page("pages/ab_traffic.py", title="A/B traffic", icon=":material/call_split:"),
]

navigation = st.navigation(PAGES)
navigation.run()
