"""Run pickers whose choice lives in the page's URL, so a comparison opens the same from a shared link.

The URL holds run ids (``?run=<id>&run=<id>``, one parameter per picker). On a page's first run
in a session the picker starts from the URL; ids the app does not have are named in a short
notice and left out (the page's defaults stand in when none is left); from then on the widget
leads and every rerun writes its choice back to the URL. Streamlit's own ``bind="query-params"``
is not used: it drops unknown values silently and leaves a default choice out of the URL, so a
link would change meaning as soon as a newer run changes the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ner_core.workbench import run_selection
from ner_core.workbench.render import markdown_escape


def _start_from_url(*, param: str, options: Sequence[str], default: list[str], key: str, limit: int | None) -> None:
    """Set the widget's first value from the URL (or ``default``), with a notice for ids that are not here."""
    asked = run_selection.requested_runs(st.query_params.get_all(param), options)
    known = asked.known[:limit] if limit else asked.known
    if asked.unknown:
        fallback = "The other runs it names are shown." if known else "The default runs are shown instead."
        st.warning(markdown_escape(run_selection.unknown_runs_notice(asked.unknown, fallback=fallback)))
    st.session_state[key] = known or default


def _write_to_url(param: str, chosen: Sequence[str]) -> None:
    if chosen:
        if st.query_params.get_all(param) != list(chosen):
            st.query_params[param] = list(chosen)
    elif param in st.query_params:
        del st.query_params[param]


def pick_runs(
    label: str,
    labels: dict[str, str],
    *,
    default: list[str],
    key: str,
    param: str = "run",
    max_selections: int | None = None,
    help: str | None = None,
) -> list[str]:
    """A multiselect of the runs in ``labels`` (id -> label, :func:`util.run_labels`) kept in the URL as ``param``."""
    options = list(labels)
    if key not in st.session_state:
        _start_from_url(param=param, options=options, default=default, key=key, limit=max_selections)
    else:  # a run deleted since the last rerun is no longer an option
        st.session_state[key] = [run_id for run_id in st.session_state[key] if run_id in labels]
    chosen = st.multiselect(label, options, format_func=labels.get, key=key, max_selections=max_selections, help=help)
    _write_to_url(param, chosen)
    return chosen


def pick_run(label: str, run_ids: Sequence[str], *, labels: dict[str, str], key: str, param: str) -> str:
    """A selectbox of one of ``run_ids`` kept in the URL as ``param`` (the first id when the URL names none of them)."""
    if st.session_state.get(key) not in run_ids:
        asked = run_selection.requested_runs(st.query_params.get_all(param), run_ids)
        st.session_state[key] = asked.known[0] if asked.known else run_ids[0]
    chosen = st.selectbox(label, list(run_ids), format_func=lambda run_id: labels.get(run_id, run_id), key=key)
    _write_to_url(param, [chosen])
    return chosen
