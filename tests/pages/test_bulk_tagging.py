"""Bulk tagging page: empty states, a job launched and its result shown, bad uploads refused, least confident to review."""

from __future__ import annotations

import pytest

from ner_core.corpus import documents as document_sets
from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.workbench import bulk_jobs, review_requests
from tests.helpers import page_app

LINES = [
    "President Anna Berg met Kenyan officials in Nairobi on Tuesday.",
    "<img src=x onerror=alert(1)> Peter visited Oslo in March 2009.",
    "Rain fell in Lima .",
]


@pytest.fixture
def workspace(empty_workspace, trained_run, store):
    """A fresh database and models folder that know one completed run: the session's trained model2."""
    fresh = Store(Settings.from_env().database_url)
    source = store.get_run(trained_run.run_id)
    fresh.create_run(
        source.id, source.model_name, config=source.config, dataset_sha256=source.dataset_sha256, status=RunStatus.COMPLETED
    )
    fresh.update_run(source.id, run_dir=str(trained_run.run_dir), metrics=source.metrics)
    return fresh


def tagger():
    return bulk_jobs.get_bulk_tagger(Settings.from_env().models_dir)


def upload(app, name, raw):
    app.file_uploader(key="bulk_upload").set_value((name, raw, "text/plain")).run()
    app.button(key="bulk_start").click().run()
    return app


def html_of(app):
    return "\n".join(element.proto.body for element in app.get("html"))


def test_without_a_model_the_page_says_to_train_one_and_lists_no_result(empty_workspace):
    app = page_app("bulk_tagging.py").run()
    assert not app.exception
    infos = " ".join(info.value for info in app.info)
    assert "Training runs page" in infos and "No finished bulk-tagging result yet" in infos


def test_a_job_is_launched_shown_and_its_least_confident_sentences_sent_to_review(workspace, trained_run):
    app = page_app("bulk_tagging.py").run()
    assert not app.exception and app.selectbox(key="bulk_run").value.id == trained_run.run_id
    assert app.button(key="bulk_start").disabled  # nothing uploaded yet
    upload(app, "news.txt", "\n".join(LINES).encode())
    assert not app.exception and not app.error
    job = tagger().wait(app.session_state["bulk_job"])
    assert job.status == "completed", job.error
    assert (job.documents, job.source_name) == (3, "news.txt")

    app.run()
    assert not app.exception
    assert app.query_params["result"] == job.job_id
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Documents"] == "3" and metrics["Tokens"] == f"{job.tokens_done:,}"
    page = html_of(app)
    assert "<img" not in page and "&lt;" in page and "onerror" in page  # escaped text (a tiny model may tag "<")
    assert page.count('class="ner-highlight"') == 3  # one highlighted block per document on the first page
    captions = [c.value for c in app.caption if c.value.startswith("document ")]
    assert [c.split(" · ")[0] for c in captions] == ["document 1", "document 2", "document 3"]

    app.radio(key="bulk_order").set_value("least confident").run()
    confidences = [float(c.value.split("confidence ")[1].split(" ·")[0]) for c in app.caption if c.value.startswith("document ")]
    assert confidences == sorted(confidences)

    app.number_input(key="bulk_review_count").set_value(2).run()
    app.button(key="bulk_send_review").click().run()
    assert any("Sent 2 sentences to the review queue" in s.value for s in app.success)
    pending = review_requests.pending_review_requests(workspace)
    assert [r.source for r in pending] == [f"bulk:{job.job_id}"] * 2
    result = bulk_jobs.load_result(Settings.from_env().models_dir, job.job_id)
    assert [r.text for r in pending] == [s.text for s in bulk_jobs.least_confident(result, 2)]


def test_a_result_is_chosen_from_the_url(workspace, trained_run):
    documents = document_sets.read_documents(b"Rain fell in Lima .\nPeter left Oslo .", "two.txt")
    first = tagger().submit(
        run_id=trained_run.run_id, run_dir=str(trained_run.run_dir), model="model2", documents=documents, source_name="a.txt"
    )
    second = tagger().submit(
        run_id=trained_run.run_id, run_dir=str(trained_run.run_dir), model="model2", documents=documents, source_name="b.txt"
    )
    assert tagger().wait(first).status == tagger().wait(second).status == "completed"
    app = page_app("bulk_tagging.py")
    app.query_params["result"] = first
    app.run()
    assert not app.exception and app.selectbox(key="bulk_result").value.job_id == first


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("big.txt", b"word\n" * (document_sets.MAX_DOCUMENT_SET_BYTES // 5 + 1), "a document set may be at most 20 MB"),
        ("latin.txt", "caf\u00e9 in Paris".encode("latin-1"), "not UTF-8 text"),
        ("set.jsonl", b'{"text": "fine"}\n{oops}\n', "set.jsonl line 2: not valid JSON"),
    ],
)
def test_a_bad_upload_is_refused_with_one_line_and_no_job_starts(workspace, name, raw, message):
    app = page_app("bulk_tagging.py").run()
    before = len(tagger().jobs())
    upload(app, name, raw)
    assert not app.exception
    assert message in app.error[0].value
    assert len(tagger().jobs()) == before and "bulk_job" not in app.session_state
