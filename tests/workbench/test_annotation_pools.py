"""The annotation queue's pools: pasted and uploaded text, the prediction log, review requests, flags, the splits."""

from __future__ import annotations

import json

import pytest

from ner_core.corpus import documents as document_sets
from ner_core.errors import AnnotationPoolError, ModelLoadError
from ner_core.evaluation import held_out
from ner_core.store.database import Store
from ner_core.workbench import annotation, annotation_pools, annotation_queue, review_requests
from ner_core.workbench.annotation_pools import PoolItem


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'pools.db'}")


def test_a_txt_upload_gives_one_item_per_sentence_of_each_line():
    raw = b"Anna Berg visited Oslo. Peter stayed home.\n\n   \nRain fell in Lima\nMr. Smith met U.S. officials.\n"
    assert annotation_pools.sentences_from_upload(raw, "news.txt") == [
        "Anna Berg visited Oslo.",
        "Peter stayed home.",
        "Rain fell in Lima",
        "Mr. Smith met U.S. officials.",
    ]
    latin1 = "Café Zürich opened.".encode("latin-1")
    assert annotation_pools.sentences_from_upload(latin1, "old.TXT") == ["Café Zürich opened."]


def test_a_jsonl_upload_reads_the_text_field_of_every_line():
    lines = [json.dumps({"text": "Anna flew to Oslo. She met Peter.", "meta": 1}), "", json.dumps({"text": "Acme hired Bo."})]
    assert annotation_pools.sentences_from_upload("\n".join(lines).encode(), "docs.jsonl") == [
        "Anna flew to Oslo.",
        "She met Peter.",
        "Acme hired Bo.",
    ]
    # A text holding line breaks stays one text (split into sentences, never into lines).
    wrapped = json.dumps({"text": "Anna flew\nto Oslo."}).encode()
    assert annotation_pools.sentences_from_upload(wrapped, "w.jsonl") == ["Anna flew to Oslo."]


@pytest.mark.parametrize(
    ("raw", "name", "message"),
    [
        (b"Anna went home.", "notes.csv", r"upload a \.txt or a \.jsonl file"),
        (b"Anna went home.", "README", r"upload a \.txt or a \.jsonl file"),
        (b"\x00\x01\x02", "blob.txt", "binary"),
        (b"   \n ", "empty.txt", "empty"),
        (b'{"text": "ok"}\n{"text": 3}\n', "bad.jsonl", "line 2: expected a JSON object with a string field 'text'"),
        (b'{"text": "ok"}\n["text"]\n', "bad.jsonl", "line 2"),
        (b'{"text": "ok"}\n{"text": "a",\n', "broken.jsonl", r"line 2: not valid JSON"),
        (b'{"text": "   "}\n', "blank.jsonl", "holds no document with text"),
    ],
)
def test_a_bad_upload_is_one_clear_error(raw, name, message):
    with pytest.raises(AnnotationPoolError, match=message) as caught:
        annotation_pools.sentences_from_upload(raw, name)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("[E020]")


def test_an_upload_over_the_limits_is_refused(monkeypatch):
    monkeypatch.setattr(document_sets, "MAX_DOCUMENT_SET_BYTES", 10)
    with pytest.raises(AnnotationPoolError, match="a document set may be at most"):
        annotation_pools.sentences_from_upload(b"Anna went home today.", "long.txt")
    with pytest.raises(AnnotationPoolError, match="limit for one pool"):
        annotation_pools.sentences_from_lines("a" * (annotation_pools.MAX_POOL_CHARS + 1))


def test_a_batch_is_stored_once_and_read_back_in_order(db):
    first = annotation_pools.add_text_batch(db, ["Anna flew to Oslo.", "Acme hired Bo.", "Anna flew to Oslo."], name="news.txt")
    again = annotation_pools.add_text_batch(db, ["Anna flew to Oslo.", "Acme hired Bo.", "Anna flew to Oslo."], name="copy.txt")
    other = annotation_pools.add_text_batch(db, ["Rain fell."], name="  pasted\n text ")
    assert first == again != other and len(first) == annotation_pools.ID_CHARS
    assert annotation_pools.batch_items(db, first) == [
        PoolItem("Anna flew to Oslo.", ("Anna", "flew", "to", "Oslo", ".")),
        PoolItem("Acme hired Bo.", ("Acme", "hired", "Bo", ".")),
    ]
    batches = annotation_pools.text_batches(db)
    assert [(b.batch_id, b.name, b.sentences) for b in batches] == [(other, "pasted text", 1), (first, "news.txt", 3)]
    with pytest.raises(AnnotationPoolError, match="no pasted or uploaded batch"):
        annotation_pools.batch_items(db, "0" * 16)
    with pytest.raises(AnnotationPoolError, match="no sentence"):
        annotation_pools.add_text_batch(db, ["  "], name="x")


def test_the_log_pool_holds_highlighter_and_api_texts_but_no_simulated_traffic(db):
    db.log_predictions(
        [
            {"source": "highlighter", "text": "Anna flew to Oslo. Peter stayed."},
            {"source": "api", "text": "Acme hired Bo."},
            {"source": "simulation", "simulation_id": "s1", "text": "Simulated Lima request."},
            {"source": "api", "text": "Failed request.", "error": "timeout"},
            {"source": "highlighter", "text": "Anna flew to Oslo."},
        ]
    )
    items = annotation_pools.logged_items(db)
    assert [item.text for item in items] == ["Anna flew to Oslo.", "Acme hired Bo.", "Peter stayed."]  # newest first, once each
    assert [item.text for item in annotation_pools.logged_items(db, limit=1)] == ["Anna flew to Oslo."]


def test_review_requests_are_a_pool_until_done(db):
    review_requests.add_review_requests(db, ["Anna flew to Oslo. She stayed.", "Acme hired Bo."], source="bulk:job-1")
    items = annotation_pools.review_request_items(db)
    assert [item.text for item in items] == ["Anna flew to Oslo. She stayed.", "Acme hired Bo."]
    assert items[0].tokens == ("Anna", "flew", "to", "Oslo", ".", "She", "stayed", ".")
    review_requests.mark_review_requests_done(db, ["Acme hired Bo."])
    assert [item.text for item in annotation_pools.review_request_items(db)] == ["Anna flew to Oslo. She stayed."]


def test_flagged_sentences_are_a_pool_until_accepted_there(db):
    tokens = ("Anna", "met", "Bo", ".")
    item = annotation_queue.QueueItem(
        annotation_pools.item_id("Anna met Bo ."),
        "Anna met Bo .",
        tokens,
        ("B-per", "O", "O", "O"),
        (0.4,) * 4,
        (0.3,) * 4,
        0.4,
        "confidence",
        "validation",
        0,
    )
    tag_set = annotation.model_tag_set(["B-per", "I-per"])
    flag = annotation_queue.Decision("f1", item.item_id, "flag", ("B-per", "O", "B-per", "O"))
    annotation_queue.record_decision(db, flag, item, analyst="Ada", model_run_id="run-1", tag_set=tag_set)
    assert annotation_pools.flagged_items(db) == [PoolItem("Anna met Bo .", tokens)]
    flagged = annotation_queue.QueueItem(**{**item.__dict__, "pool": "flagged"})
    accept = annotation_queue.Decision("a1", item.item_id, "accept", ("B-per", "O", "B-per", "O"))
    annotation_queue.record_decision(db, accept, flagged, analyst="Bo", model_run_id="run-1", tag_set=tag_set)
    assert annotation_pools.flagged_items(db) == []


def test_the_split_pools_hold_the_runs_own_validation_and_test_sentences(trained_run):
    splits = held_out.splits_for_run(trained_run.run_dir)
    validation = annotation_pools.split_items(trained_run, "validation")
    test = annotation_pools.split_items(trained_run, "test")
    assert [item.tokens for item in validation] == [tuple(s.words) for s in splits.validation]
    assert [item.text for item in test] == [s.text for s in splits.test]
    assert not {item.text for item in validation} & {item.text for item in test}
    with pytest.raises(AnnotationPoolError, match="unknown split"):
        annotation_pools.split_items(trained_run, "train")


def test_a_run_without_a_folder_has_no_split_pool(db):
    db.create_run("folderless", "model2", config={}, status="completed")
    with pytest.raises(ModelLoadError, match="no run folder"):
        annotation_pools.split_items(db.get_run("folderless"), "validation")


def test_pool_names_and_ids():
    assert annotation_pools.require_pool("log") == "log"
    with pytest.raises(AnnotationPoolError, match="unknown pool"):
        annotation_pools.require_pool("train")
    assert set(annotation_pools.ANNOTATION_SOURCES) == set(annotation_pools.POOLS)
    assert set(annotation_pools.ANNOTATION_SOURCES.values()) <= set(annotation.SOURCES)
    assert annotation_pools.item_id("a") == annotation_pools.item_id("a") != annotation_pools.item_id("b")
    assert annotation_pools.pool_key([PoolItem("ab", ())]) != annotation_pools.pool_key([PoolItem("a", ()), PoolItem("b", ())])
