"""Bulk tagging views: upload a document set, follow its background job, browse and download a finished result."""

from __future__ import annotations

import time

import streamlit as st

from ner_core.corpus import documents as document_sets
from ner_core.errors import NerError
from ner_core.workbench import bulk_jobs, render
from ui import util

PAGE_SIZE = 20


def visualize_upload(*, run, tagger: bulk_jobs.BulkTagger, key: str) -> None:
    """The uploader, how a .txt file splits into documents, and the button that starts a job."""
    uploaded = st.file_uploader(
        "Document set (.txt or .jsonl with a `text` field, up to 20 MB)",
        type=list(document_sets.FILE_TYPES),
        max_upload_size=document_sets.MAX_DOCUMENT_SET_BYTES // 1_000_000,
        key=f"{key}_upload",
    )
    split = st.radio(
        "A .txt file holds",
        list(document_sets.SPLIT_MODES),
        format_func=document_sets.SPLIT_MODES.get,
        horizontal=True,
        key=f"{key}_split",
    )
    if st.button("Tag the document set", type="primary", key=f"{key}_start", disabled=uploaded is None):
        try:
            documents = document_sets.read_documents(uploaded.getvalue(), uploaded.name, split=split)
            job_id = tagger.submit(
                run_id=run.id, run_dir=run.run_dir, model=run.model_name, documents=documents, source_name=uploaded.name
            )
        except NerError as exc:
            util.show_error(exc)
        else:
            st.session_state[f"{key}_job"] = job_id
            st.rerun()


def visualize_jobs(*, tagger: bulk_jobs.BulkTagger, key: str) -> None:
    """This server's jobs, redrawn by a fragment while one runs (:func:`bulk_jobs.poll_interval`: every second
    while a job is young, then every few seconds); the whole page reruns when a job starts or ends."""
    jobs = tagger.jobs()
    if not jobs:
        return
    interval = bulk_jobs.poll_interval(jobs, time.time())
    statuses = tuple((job.job_id, job.status) for job in jobs)
    util.start_polling(key)
    st.fragment(_poll, run_every=interval)(tagger, key=key, at_render=(statuses, interval))


def _poll(tagger: bulk_jobs.BulkTagger, *, key: str, at_render: tuple) -> None:
    jobs = tagger.jobs()
    now = (tuple((job.job_id, job.status) for job in jobs), bulk_jobs.poll_interval(jobs, time.time()))
    if util.is_timed_rerun(key) and now != at_render:
        st.rerun()  # a job started or ended (the results and buttons change), or the polling pace changes
    for job in jobs:
        visualize_job(job, tagger=tagger, key=key)


def visualize_job(job: bulk_jobs.BulkJob, *, tagger: bulk_jobs.BulkTagger, key: str) -> None:
    with st.container(border=True):
        header, button = st.columns([5, 1])
        header.markdown(f"**{render.markdown_escape(job.source_name)}** · {job.model} · `{job.job_id}` · {job.status}")
        if job.status == "failed":
            st.error(f"Bulk tagging failed: {render.markdown_escape(job.error)}")
        if job.finished:
            return
        button.button("Cancel", key=f"{key}_cancel_{job.job_id}", on_click=tagger.cancel, args=(job.job_id,))
        elapsed = time.time() - job.started_at if job.started_at else 0.0
        speed = f", {job.tokens_done / elapsed:,.0f} tokens/s" if elapsed > 0 and job.tokens_done else ""
        st.progress(
            job.fraction,
            text=f"{job.documents_done:,} of {job.documents:,} documents, {job.tokens_done:,} tokens{speed}"
            if job.status == "running"
            else "queued behind another document set",
        )


def visualize_result(result: bulk_jobs.BulkResult, *, store, key: str) -> None:
    """A finished result: its figures, downloads, the least confident sent to review, and the documents page by page."""
    cells = st.columns(5)
    figures = (("Documents", result.documents), ("Sentences", result.sentences), ("Tokens", result.tokens))
    for cell, (label, value) in zip(cells, figures):
        cell.metric(label, f"{value:,}")
    cells[3].metric("Entities", f"{result.entities:,}")
    cells[4].metric("Tokens/s", f"{result.tokens / result.seconds:,.0f}" if result.seconds else "n/a")
    st.caption(f"Tagged with {result.model} `{result.run_id}`, finished {result.finished_at}.")
    left, right = st.columns(2)
    left.download_button(
        "Download JSONL",
        lambda: result.path.read_bytes(),
        file_name=f"{result.job_id}.jsonl",
        mime="application/jsonl",
        key=f"{key}_download_jsonl",
        on_click="ignore",
    )
    right.download_button(
        "Download CoNLL",
        lambda: bulk_jobs.to_conll(result),
        file_name=f"{result.job_id}.conll",
        mime="text/plain",
        key=f"{key}_download_conll",
        on_click="ignore",
    )
    visualize_send_to_review(result, store=store, key=key)
    visualize_documents(result, key=key)


def visualize_send_to_review(result: bulk_jobs.BulkResult, *, store, key: str) -> None:
    most = max(1, min(bulk_jobs.MAX_REVIEW_SEND, result.sentences))
    with st.container(border=True):
        count_column, button_column = st.columns([2, 3], vertical_alignment="bottom")
        count = count_column.number_input(
            "Least confident sentences", min_value=1, max_value=most, value=min(25, most), key=f"{key}_review_count"
        )
        if button_column.button("Send to the review queue", key=f"{key}_send_review"):
            try:
                added = bulk_jobs.send_least_confident(store, result, int(count))
            except NerError as exc:
                util.show_error(exc)
            else:
                st.success(f"Sent {added} sentences to the review queue ({int(count) - added} were already waiting there).")
                st.page_link("pages/annotate.py", label="Open the review queue", icon=":material/edit_note:")


def visualize_documents(result: bulk_jobs.BulkResult, *, key: str) -> None:
    order_column, page_column = st.columns([3, 1])
    order = order_column.radio(
        "Order", list(bulk_jobs.ORDERS), format_func=bulk_jobs.ORDERS.get, horizontal=True, key=f"{key}_order"
    )
    pages = bulk_jobs.page_count(result, PAGE_SIZE)
    page = page_column.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, key=f"{key}_page")
    records = bulk_jobs.read_page(result, page=int(page), page_size=PAGE_SIZE, order=order)
    types = {span["label"] for record in records for span in record["spans"]}
    if types:
        st.html(render.legend(types))
    for record in records:
        st.caption(f"document {record['id']} · confidence {record['confidence']:.3f} · {len(record['spans'])} entities")
        st.html(render.highlight_text(record["text"], bulk_jobs.record_entities(record)))


@st.dialog("Delete this result?")
def confirm_delete(result: bulk_jobs.BulkResult, *, key: str) -> None:
    st.write(
        f"The results of {render.markdown_escape(result.source_name)} ({result.documents:,} documents) are removed for good."
    )
    if st.button("Delete", type="primary", key=f"{key}_confirm_delete"):
        bulk_jobs.delete_result(result)
        st.rerun()
