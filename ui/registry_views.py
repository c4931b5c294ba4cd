"""Views of the Registry page: what the API serves, the versions with their lineage, registering a
run, role changes confirmed in a dialog that names what will change, and the history.

A change is two steps: a button stores the described change (``<key>_pending``), and while one is
pending the confirmation dialog is drawn (closing it drops the change). Confirming applies it
through ``registry_view.apply``; the page then shows what was done (``<key>_notice``).
"""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.serving import registry
from ner_core.store.tables import REGISTRY_ROLES, SERVING_ROLES
from ner_core.workbench import registry_view
from ner_core.workbench.render import markdown_escape
from ui import util

VERSION_COLUMNS = {
    "entity F1": st.column_config.NumberColumn(format="%.4f", help="Stored test-split entity F1 (seqeval, strict IOB2)"),
    "latency p50 (ms)": st.column_config.NumberColumn(format="%.2f", help="Measured single-sentence latency, median"),
    "registered at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", help="UTC"),
    "annotations used": st.column_config.NumberColumn(help="Corrected sentences added to training (empty: not recorded)"),
}  # fmt: skip


def _pend(change: registry_view.Change, *, key: str) -> None:
    st.session_state[f"{key}_pending"] = change


def _drop_pending(key: str) -> None:
    st.session_state.pop(f"{key}_pending", None)
    st.session_state.pop(f"{key}_note", None)


def visualize_notice(*, key: str) -> None:
    """The outcome of the last confirmed change, once."""
    notice = st.session_state.pop(f"{key}_notice", None)
    if notice:
        st.success(markdown_escape(notice))


def visualize_serving(store, *, key: str) -> None:
    """Each serving role and what the API serves there now; the defaults while no version holds one."""
    st.dataframe(registry_view.role_table(store), hide_index=True, width="stretch", key=f"{key}_roles_table")
    if not registry.role_holders(store):
        st.info(markdown_escape(registry_view.empty_registry_note(store)))


def visualize_versions(versions: list[registry.VersionInfo], *, key: str) -> None:
    """Registered versions per model name with role, stored metrics and lineage; ``?model=`` preselects one."""
    if not versions:
        st.caption("No registered version yet.")
        return
    names = sorted({info.model_name for info in versions})
    wanted = st.query_params.get("model")
    index = names.index(wanted) + 1 if wanted in names else 0
    chosen = st.selectbox("Model", ["all models", *names], index=index, key=f"{key}_model_filter")
    if chosen == "all models":
        st.query_params.pop("model", None)
    else:
        st.query_params["model"] = chosen
    shown = [info for info in versions if chosen in ("all models", info.model_name)]
    table = registry_view.versions_table(shown)
    st.dataframe(table, hide_index=True, width="stretch", column_config=VERSION_COLUMNS, key=f"{key}_versions_table")
    st.caption(
        "Parent: the run a retrain started from (its version when registered). Dataset: the file and the first 12 "
        "characters of its sha256 checksum. Metrics are the run's stored test-split figures."
    )


def visualize_register(store, *, who: str, key: str) -> None:
    """Register a completed, unregistered run as the next version of its model name."""
    runs = registry_view.registrable_runs(store)
    if not runs:
        st.caption("Every completed run is registered. Train a model on the Training runs page to register another.")
        return
    run = st.selectbox("Completed run", runs, format_func=util.run_label, key=f"{key}_register_run")
    if st.button("Register as the next version", key=f"{key}_register", disabled=not who.strip()):
        try:
            _pend(registry_view.describe_registration(store, run.id), key=key)
        except NerError as exc:
            util.show_error(exc)


def _version_label(info: registry.VersionInfo) -> str:
    return info.label + (f" ({info.role})" if info.role else "")


def visualize_role_changes(store, versions: list[registry.VersionInfo], *, who: str, key: str) -> None:
    """Promote a version to a role, demote it, or roll a serving role back; each asks for confirmation."""
    if not who.strip():
        st.caption("Enter your name above: every change records who made it.")
    disabled = not who.strip()
    if versions:
        cells = st.columns([3, 2])
        info = cells[0].selectbox("Version", versions, format_func=_version_label, key=f"{key}_version")
        role = cells[1].selectbox("Role", REGISTRY_ROLES, key=f"{key}_role")
        buttons = st.columns(2)
        try:
            if buttons[0].button("Promote", type="primary", key=f"{key}_promote", disabled=disabled):
                _pend(registry_view.describe_promotion(store, info.model_name, info.version, role), key=key)
            if buttons[1].button("Demote (take its role away)", key=f"{key}_demote", disabled=disabled):
                _pend(registry_view.describe_demotion(store, info.model_name, info.version), key=key)
        except NerError as exc:
            util.show_error(exc)
    st.markdown("**Roll back** a serving role to the version that held it before its latest change")
    cells = st.columns([3, 2])
    role = cells[0].selectbox("Serving role", SERVING_ROLES, key=f"{key}_rollback_role", label_visibility="collapsed")
    if cells[1].button("Roll back", key=f"{key}_rollback", disabled=disabled):
        try:
            _pend(registry_view.describe_rollback(store, role), key=key)
        except NerError as exc:
            util.show_error(exc)


def visualize_history(store, *, key: str) -> None:
    """Every registration and role change, newest first, filtered to one role when asked."""
    role = st.selectbox("Role", ["all roles", *REGISTRY_ROLES], key=f"{key}_history_role")
    changes = registry.history(store, role=None if role == "all roles" else role, limit=500)
    if not changes:
        st.caption("No change recorded yet.")
        return
    st.dataframe(registry_view.history_table(changes), hide_index=True, width="stretch", key=f"{key}_history_table")


def visualize_pending_change(store, *, who: str, key: str) -> None:
    """The confirmation dialog of the pending change, if any."""
    change = st.session_state.get(f"{key}_pending")
    if change is None:
        return

    @st.dialog("Confirm the registry change", on_dismiss=lambda: _drop_pending(key))
    def confirm() -> None:
        st.markdown(markdown_escape(change.summary))
        if change.action != "register" and (change.role in SERVING_ROLES or change.action == "rollback"):
            st.caption("A running API picks this up at its next registry poll; requests in flight finish on the old version.")
        note = st.text_input("Note (why; kept in the history)", key=f"{key}_note", max_chars=500)
        cells = st.columns(2)
        if cells[0].button("Confirm", type="primary", key=f"{key}_confirm"):
            try:
                registry_view.apply(store, change, by=who, note=note)
            except NerError as exc:
                util.show_error(exc)
                return
            _drop_pending(key)
            st.session_state[f"{key}_notice"] = "Done: " + change.summary
            st.rerun()
        if cells[1].button("Cancel", key=f"{key}_cancel"):
            _drop_pending(key)
            st.rerun()

    confirm()
