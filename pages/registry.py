"""Model registry: registered versions and their roles (what the REST API serves), lineage, role changes, history."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.serving import registry
from ner_core.workbench import registry_view
from ui import registry_views, util

KEY = "registry"

st.title("Model registry")
st.caption(
    "Completed runs registered as numbered versions of their model, and the roles that decide what the REST API "
    "serves: primary, speed and backup (the router's 90/8/2 split and fallback), staging (reachable by name) and "
    "archived. A running API picks up every change at its next registry poll, without a restart."
)
store = util.get_store()
who = st.text_input(
    "Your name (recorded with every change)", key=f"{KEY}_who", max_chars=registry_view.NAME_MAX_CHARS, placeholder="e.g. ana"
)
registry_views.visualize_notice(key=KEY)

try:
    versions = registry.list_versions(store)
    st.subheader("What the API serves")
    registry_views.visualize_serving(store, key=KEY)
except NerError as exc:
    util.show_error(exc)
    st.stop()

tabs = st.tabs(["Versions", "Register a run", "Change roles", "History"])
with tabs[0]:
    registry_views.visualize_versions(versions, key=KEY)
with tabs[1]:
    registry_views.visualize_register(store, who=who, key=KEY)
with tabs[2]:
    registry_views.visualize_role_changes(store, versions, who=who, key=KEY)
with tabs[3]:
    registry_views.visualize_history(store, key=KEY)

registry_views.visualize_pending_change(store, who=who, key=KEY)
