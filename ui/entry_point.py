"""Every page runs inside app.py's navigation, even when the first visitor of a fresh server opens it by its address.

Streamlit starts every server in its old multipage mode when a ``pages/`` folder sits next to the
entry script, and leaves it only when ``st.navigation`` runs. Until someone opens the home page,
a page opened by its address (a bookmark, a reload, a shared link) runs on its own: app.py never
runs, so there is no page config, the sidebar lists the files (``app``, ``ab traffic``...), and
the start-up warm-up (TensorFlow imported, the heap frozen) never happens, which left every later
page load paying full garbage collections. The first page to import ``ui`` in that mode switches
the server to app.py's navigation and reruns, so the same address opens through app.py.
"""

from __future__ import annotations

import streamlit as st


def run_through_app_navigation() -> None:
    """Leave Streamlit's ``pages/`` folder mode and rerun (through app.py) if this server is still in it."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:  # None outside a server (tests, AppTest's own bookkeeping): no-op
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets
        st.rerun()
