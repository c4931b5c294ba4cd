"""Streamlit-only helpers shared by the pages (cached loaders, error display).

Kept apart from ``ner_core``, which never imports streamlit.
"""
