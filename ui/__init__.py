"""Streamlit-only helpers shared by the pages (cached loaders, error display).

Kept apart from ``ner_core``, which never imports streamlit. Importing it makes sure the page
runs inside app.py's navigation (:mod:`ui.entry_point`).
"""

from ui.entry_point import run_through_app_navigation

run_through_app_navigation()
