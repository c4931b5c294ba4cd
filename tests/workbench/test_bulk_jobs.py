"""Bulk-tagging jobs: run in the background with progress, cancel without leftovers, results paged and sent to review."""

from __future__ import annotations

import json

import pytest

from ner_core.corpus import documents as document_sets
from ner_core.errors import BulkJobNotFoundError, ConfigError
from ner_core.store.database import Store
from ner_core.workbench import bulk_jobs, review_requests
from tests.helpers import wait_until

LINES = [
    "President Anna Berg met Kenyan officials in Nairobi on Tuesday. The United Nations said 8,500 people fled.",
    "Rain fell in Lima .",
    "Peter visited Oslo in March 2009.",
    "Acme Group hired Anna in 2004 .",
    "The protest in Baghdad ended on Friday.",
]


@pytest.fixture
def tagger(tmp_path):
    tagger = bulk_jobs.BulkTagger(tmp_path / "models", chunk_tokens=10)
    yield tagger
    tagger.shutdown()


def submit(tagger, trained_run, lines=LINES, name="news.txt"):
    documents = document_sets.read_documents("\n".join(lines).encode(), name)
    return tagger.submit(
        run_id=trained_run.run_id, run_dir=str(trained_run.run_dir), model="model2", documents=documents, source_name=name
    )


def files_in(tagger):
    return sorted(p.name for p in tagger.folder.iterdir()) if tagger.folder.exists() else []


def test_a_job_completes_with_one_result_per_document_progress_pages_conll_and_review(tagger, trained_run, tmp_path):
    job_id = submit(tagger, trained_run)
    job = tagger.wait(job_id)
    assert job.status == "completed", job.error
    assert (job.documents, job.documents_done, job.fraction) == (5, 5, 1.0)
    assert job.progress_events >= 3  # 10-token chunks over 5 documents: several progress events, the last at the end
    assert files_in(tagger) == sorted(f"{job_id}{suffix}" for suffix in (".json", ".index.json", ".jsonl"))

    [result] = bulk_jobs.list_results(tmp_path / "models")
    assert (result.job_id, result.run_id, result.documents, result.source_name) == (job_id, trained_run.run_id, 5, "news.txt")
    records = list(bulk_jobs.iter_records(result))
    assert [r["text"] for r in records] == LINES
    assert result.tokens == sum(len(r["tokens"]) for r in records) == job.tokens_done
    assert bulk_jobs.load_result(tmp_path / "models", job_id) == result
    entities = [e for r in records for e in bulk_jobs.record_entities(r)]
    assert len(entities) == result.entities
    for record in records:
        for entity, span in zip(bulk_jobs.record_entities(record), record["spans"]):
            assert (entity.start, entity.end, entity.type, entity.text) == (
                span["start"],
                span["end"],
                span["label"],
                record["text"][span["start"] : span["end"]],
            )
            assert (entity.token_start, entity.token_end) == (span["token_start"], span["token_end"] + 1)  # exclusive, as Entity

    # Pages: file order, or least confident first.
    assert [r["id"] for r in bulk_jobs.read_page(result, page=1, page_size=2)] == [1, 2]
    assert [r["id"] for r in bulk_jobs.read_page(result, page=3, page_size=2)] == [5]
    ranked = [r["confidence"] for r in bulk_jobs.read_page(result, page=1, page_size=5, order="least confident")]
    assert ranked == sorted(r["confidence"] for r in records)
    assert bulk_jobs.page_count(result, 2) == 3
    with pytest.raises(ConfigError, match="unknown order"):
        bulk_jobs.read_page(result, page=1, order="random")

    # CoNLL: one block per sentence, each token with the tag its spans give.
    blocks = bulk_jobs.to_conll(result).strip("\n").split("\n\n")
    assert len(blocks) == result.sentences
    assert blocks[0].split("\n")[0] == f"President\t{bulk_jobs.record_tags(records[0])[0]}"

    # The least confident sentences go to the review queue, once.
    store = Store(f"sqlite:///{tmp_path / 'review.db'}")
    assert bulk_jobs.send_least_confident(store, result, 2) == 2
    pending = review_requests.pending_review_requests(store)
    lowest = bulk_jobs.least_confident(result, 2)
    assert [(r.text, r.source) for r in pending] == [(s.text, f"bulk:{job_id}") for s in lowest]
    assert pending[0].note.startswith(f"confidence {lowest[0].confidence:.3f}; document {lowest[0].document} of news.txt")
    all_sentences = sorted(row["confidence"] for r in records for row in r["sentences"])
    assert [s.confidence for s in lowest] == all_sentences[:2]
    assert bulk_jobs.send_least_confident(store, result, 2) == 0  # already pending
    with pytest.raises(ConfigError, match="send between 1 and 1,000"):
        bulk_jobs.send_least_confident(store, result, 0)

    bulk_jobs.delete_result(result)
    assert files_in(tagger) == [] and bulk_jobs.list_results(tmp_path / "models") == []


def test_cancel_stops_a_running_job_and_leaves_no_result_file(tagger, trained_run):
    job_id = submit(tagger, trained_run, LINES * 200)
    wait_until(lambda: tagger.get(job_id).progress_events > 0 or tagger.get(job_id).finished)
    tagger.cancel(job_id)
    job = tagger.wait(job_id)
    assert job.status == "cancelled" and job.documents_done < job.documents
    assert files_in(tagger) == []
    assert bulk_jobs.list_results(tagger.folder.parent) == []


def test_a_queued_job_cancelled_never_runs(tagger, trained_run):
    first = submit(tagger, trained_run, LINES * 200)
    second = submit(tagger, trained_run)
    tagger.cancel(second)
    tagger.cancel(first)
    assert tagger.wait(second).status == "cancelled" and tagger.get(second).started_at is None
    assert tagger.wait(first).status == "cancelled"
    assert [job.job_id for job in tagger.jobs()] == [second, first]  # newest first
    assert files_in(tagger) == []


def test_a_run_that_cannot_load_fails_the_job_with_its_reason(tagger, tmp_path):
    documents = document_sets.read_documents(b"Rain fell .", "x.txt")
    job_id = tagger.submit(
        run_id="gone", run_dir=str(tmp_path / "no-such-run"), model="model2", documents=documents, source_name="x.txt"
    )
    job = tagger.wait(job_id)
    assert job.status == "failed" and "E004" in job.error
    assert files_in(tagger) == []


def test_unknown_jobs_and_results_are_a_clear_error(tagger, tmp_path):
    with pytest.raises(BulkJobNotFoundError, match="no bulk-tagging job 'nope'"):
        tagger.get("nope")
    with pytest.raises(BulkJobNotFoundError, match="no finished bulk-tagging result 'nope'"):
        bulk_jobs.load_result(tmp_path / "models", "nope")
    with pytest.raises(ConfigError, match="empty"):
        tagger.submit(run_id="r", run_dir="r", model="m", documents=[], source_name="x")


def test_a_summary_without_its_results_file_is_not_listed(tmp_path):
    folder = tmp_path / "models" / bulk_jobs.RESULTS_FOLDER
    folder.mkdir(parents=True)
    (folder / "bulk-x.json").write_text(json.dumps({"job_id": "bulk-x"}))
    (folder / "bulk-y.json").write_text("{not json")
    assert bulk_jobs.list_results(tmp_path / "models") == []


def test_a_page_polls_a_young_job_quickly_then_slowly_and_stops_when_all_are_finished():
    job = bulk_jobs.BulkJob("j", "r", "model2", "x.txt", documents=1, chars=1, submitted_at=100.0)
    assert bulk_jobs.poll_interval([job], now=101.0) == bulk_jobs.FAST_POLL_S  # queued just now
    job.status, job.started_at = "running", 150.0
    assert bulk_jobs.poll_interval([job], now=152.0) == bulk_jobs.FAST_POLL_S
    assert bulk_jobs.poll_interval([job], now=150.0 + bulk_jobs.FAST_POLL_WINDOW_S) == bulk_jobs.SLOW_POLL_S
    job.status = "completed"
    assert bulk_jobs.poll_interval([job], now=200.0) is None and bulk_jobs.poll_interval([], now=0.0) is None
