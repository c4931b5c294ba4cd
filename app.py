"""NER Workbench: navigation and the shared frame; each page lives in pages/."""

from __future__ import annotations

import gc
import threading

import streamlit as st

# An emoji, not ":material/...:": Streamlit draws a Material favicon from fonts.gstatic.com (the icons in the
# page's body use the font bundled with Streamlit), which fails offline and leaks each page view to Google.
# An emoji favicon is an inline SVG data URL. It is set before st.navigation, so no page's icon replaces it.
st.set_page_config(page_title="NER Workbench", page_icon="🏷️", layout="wide")


def _import_then_freeze() -> None:
    """Import what the pages need, then move everything alive into the garbage collector's permanent generation.

    Once keras is imported, Streamlit calls ``keras.backend.clear_session()`` after every script run (page
    loads and every fragment poll), and that runs ``gc.collect()``: a full collection over TensorFlow's ~400,000
    objects, ~0.1 s of GIL-holding work each time (py-spy: GC held the GIL in 84% of the samples while a job
    trained and pages loaded). Frozen objects are never scanned again, so each collection covers only what
    the app made since.
    """
    import keras  # noqa: F401
    import plotly.express  # noqa: F401

    import ner_core.serving.predictor  # noqa: F401
    import ner_core.workbench.charts  # noqa: F401

    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def _warm_up_tensorflow() -> threading.Thread:
    """Import TensorFlow once, in the background, when the server starts.

    The first import takes many seconds of mostly-GIL-holding work; paying it at
    start-up keeps the first training job or prediction from stalling the UI.
    """
    thread = threading.Thread(target=_import_then_freeze, name="tensorflow-warm-up", daemon=True)
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
    st.Page("pages/review.py", title="Review and agreement", icon=":material/rule:"),
    st.Page("pages/bulk_tagging.py", title="Bulk tagging", icon=":material/library_books:"),
    st.Page("pages/ab_traffic.py", title="A/B traffic", icon=":material/call_split:"),
    st.Page("pages/registry.py", title="Model registry", icon=":material/inventory_2:"),
]

navigation = st.navigation(PAGES)
navigation.run()
