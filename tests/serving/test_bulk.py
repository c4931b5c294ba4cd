"""Bulk tagging's reading, tagging and writing: the same entities as the predictor, whole files or none."""

from __future__ import annotations

import json

import pytest

from ner_core.corpus import documents as document_sets
from ner_core.serving import bulk
from ner_core.serving.predictor import Predictor

DOCUMENTS = [
    "President Anna Berg met Kenyan officials in Nairobi on Tuesday. The United Nations said 8,500 people fled.",
    "Rain fell in Lima .",
    "<img src=x onerror=alert(1)> Peter visited Oslo in March 2009.",
    "\u200b",  # a document of invisible characters only: no sentence, no token
]


@pytest.fixture(scope="module")
def predictor(trained_run):
    return Predictor.load(trained_run.run_dir)


def documents(texts=DOCUMENTS):
    return [document_sets.Document(number, text, number) for number, text in enumerate(texts, start=1)]


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- tag and write


def test_results_hold_one_line_per_document_with_the_predictors_own_entities(predictor, tmp_path):
    events = []
    path = tmp_path / "out.jsonl"
    summary = bulk.tag_to_file(predictor, documents(), path, on_progress=events.append, chunk_tokens=10)
    records = read_lines(path)
    assert [r["id"] for r in records] == [1, 2, 3, 4] and summary.documents == 4
    for record, text in zip(records, DOCUMENTS):
        assert record["text"] == text
        for token in record["tokens"]:
            assert text[token["start"] : token["end"]] == token["text"]
        prediction = predictor.predict(text)
        assert [t["text"] for t in record["tokens"]] == [t.text for t in prediction.tokens]
        assert [(s["start"], s["end"], s["label"]) for s in record["spans"]] == [
            (e.start, e.end, e.type) for e in prediction.entities
        ]
        for span in record["spans"]:
            assert record["tokens"][span["token_start"]]["start"] == span["start"]
            assert record["tokens"][span["token_end"]]["end"] == span["end"]
        assert len(record["sentences"]) == len(prediction.sentences)
        lowest = min((t.confidence for t in prediction.tokens), default=1.0)
        assert record["confidence"] == pytest.approx(lowest, abs=1e-4)
    assert records[3]["tokens"] == [] and records[3]["confidence"] == 1.0
    assert summary.tokens == sum(len(r["tokens"]) for r in records)
    assert summary.sentences == sum(len(r["sentences"]) for r in records)
    assert summary.entities == sum(len(r["spans"]) for r in records)
    # Offsets point at each document's line; confidences are each document's.
    raw = path.read_bytes()
    assert [json.loads(raw[offset:].split(b"\n", 1)[0])["id"] for offset in summary.offsets] == [1, 2, 3, 4]
    assert summary.confidences == [r["confidence"] for r in records]
    # With 10-token chunks: the first document alone (19 tokens), the next two (5 + 19), the invisible one (0).
    assert [len(r["tokens"]) for r in records] == [19, 5, 19, 0]
    assert [(e.documents_done, e.tokens_done) for e in events] == [(1, 19), (3, 43), (4, 43)]
    assert events[-1].chars_done == events[-1].chars == sum(map(len, DOCUMENTS))
    # The least confident sentences, ascending, each the sentence's own text.
    low = summary.least_confident
    assert [s.confidence for s in low] == sorted(s.confidence for s in low) and len(low) == 4
    for sentence in low:
        record = records[sentence.document - 1]
        row = record["sentences"][sentence.sentence]
        assert sentence.text == record["text"][row["start"] : row["end"]] and sentence.confidence == row["confidence"]


def test_the_least_confident_kept_are_the_lowest_across_chunks(predictor, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "LEAST_CONFIDENT_KEPT", 2)
    texts = [f"Anna Berg visited Oslo number {i} ." for i in range(5)] + DOCUMENTS[:3]
    path = tmp_path / "out.jsonl"
    summary = bulk.tag_to_file(predictor, documents(texts), path, chunk_tokens=8)
    everything = sorted(
        (row["confidence"], record["id"], index) for record in read_lines(path) for index, row in enumerate(record["sentences"])
    )
    assert [(s.confidence, s.document, s.sentence) for s in summary.least_confident] == everything[:2]


def test_a_cancel_stops_between_chunks_and_leaves_no_file(predictor, tmp_path):
    events = []
    path = tmp_path / "out.jsonl"
    with pytest.raises(bulk.TaggingCancelled):
        bulk.tag_to_file(
            predictor,
            documents(DOCUMENTS * 5),
            path,
            on_progress=events.append,
            should_stop=lambda: bool(events),
            chunk_tokens=10,
        )
    assert len(events) == 1
    assert list(tmp_path.iterdir()) == []  # neither the results nor a temporary file


def test_a_failing_model_leaves_no_file_and_the_previous_result_stands(predictor, tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("previous\n")

    class Broken:
        def tag_sentences(self, batch):
            raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="model exploded"):
        bulk.tag_to_file(Broken(), documents(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"] and path.read_text() == "previous\n"
