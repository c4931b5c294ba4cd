"""Bulk tagging: tag a whole document set with a trained model in the background, browse the result with
highlighting, download it as JSONL or CoNLL, and send its least confident sentences to the review queue."""

from __future__ import annotations

import streamlit as st

from ner_core.errors import NerError
from ner_core.workbench import bulk_jobs
from ui import bulk_tagging as views
from ui import util

KEY = "bulk"
RESULT_PARAM = "result"


def visualize_results(*, store, models_dir) -> None:
    """Finished results, newest first; the chosen one is kept in the URL (``?result=<job id>``)."""
    results = bulk_jobs.list_results(models_dir)
    if not results:
        st.info("No finished bulk-tagging result yet. Upload a document set above and tag it.")
        return
    ids = [result.job_id for result in results]
    wanted = st.query_params.get(RESULT_PARAM)
    chosen = st.selectbox(
        "Result",
        results,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda r: f"{r.source_name} - {r.documents:,} documents - {r.model} - {r.finished_at}",
        key=f"{KEY}_result",
    )
    st.query_params[RESULT_PARAM] = chosen.job_id
    views.visualize_result(chosen, store=store, key=KEY)
    if st.button("Delete this result", key=f"{KEY}_delete"):
        views.confirm_delete(chosen, key=KEY)


st.title("Bulk tagging")
st.caption(
    "Tag a whole document set (.txt with one document per line or paragraph, or .jsonl with a text field; up to 20 MB) "
    "as a background job: leave the page and come back, it keeps running. Results are kept in the models folder."
)

settings = util.settings()
store = util.or_stop(util.get_store)
tagger = bulk_jobs.get_bulk_tagger(settings.models_dir)
runs = util.completed_runs_or_stop(
    then="tag document sets with it here", on_empty=lambda: visualize_results(store=store, models_dir=settings.models_dir)
)

run = st.selectbox("Model", runs, format_func=util.run_label, key=f"{KEY}_run")
try:
    views.visualize_upload(run=run, tagger=tagger, key=KEY)
except NerError as exc:
    util.show_error(exc)
views.visualize_jobs(tagger=tagger, key=KEY)
st.divider()
st.subheader("Results")
visualize_results(store=store, models_dir=settings.models_dir)
