"""The annotations a retrain used: checksums, the run folder's annotations.json, the store's record, edits detected."""

from __future__ import annotations

import json

import pytest

from ner_core.errors import LineageError
from ner_core.store.database import Store
from ner_core.training import lineage, run_folder

SENTENCES = [
    ("Anna Berg visited Oslo .", ["B-per", "I-per", "O", "B-geo", "O"]),
    ("Acme hired Peter .", ["B-org", "O", "B-per", "O"]),
    ("Rain fell in Lima .", ["O", "O", "O", "B-geo", "O"]),
]


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'lineage.db'}")


@pytest.fixture
def saved(db):
    for text, tags in SENTENCES:
        db.add_annotation(
            analyst="Ada", text=text, tokens=text.split(), tags=tags, original_tags=["O"] * len(tags), model_run_id=None
        )
    return db.list_annotations()


def test_a_content_checksum_follows_tokens_and_tags_only():
    first = lineage.content_checksum(["Anna", "Berg"], ["B-per", "I-per"])
    assert first == lineage.content_checksum(("Anna", "Berg"), ("B-per", "I-per"))
    assert len(first) == 64 and first != lineage.content_checksum(["Anna", "Berg"], ["B-per", "O"])
    assert first != lineage.content_checksum(["Anna", "Berg."], ["B-per", "I-per"])


def test_the_lineage_of_saved_annotations_holds_ids_checksums_and_training_sentences(saved):
    used = lineage.AnnotationLineage.of(reversed(saved))
    assert used.ids == tuple(annotation.id for annotation in saved)  # id order, whatever order they came in
    assert [item.checksum for item in used.annotations] == [lineage.content_checksum(a.tokens, a.tags) for a in saved]
    assert used.checksum == lineage.combined_checksum((a.id, lineage.content_checksum(a.tokens, a.tags)) for a in saved)
    sentences = used.sentences()
    assert [s.words for s in sentences] == [a.tokens for a in saved] and [s.tags for s in sentences] == [a.tags for a in saved]
    assert [s.number for s in sentences] == [a.id for a in saved]
    assert used.annotations[0].analyst == "Ada" and used.annotations[0].updated_at.startswith("20")


def test_lineage_written_with_a_run_reads_back_and_an_edited_file_is_refused(saved, tmp_path):
    folder = run_folder.RunFolder(tmp_path / "run-1")
    folder.path.mkdir()
    assert lineage.read_lineage(folder.path) is None  # trained without annotations
    used = lineage.AnnotationLineage.of(saved)
    path = lineage.write_lineage(folder, used)
    assert path.name == "annotations.json"
    assert lineage.read_lineage(folder.path) == used
    payload = json.loads(path.read_text())
    assert payload["count"] == 3 and payload["checksum"] == used.checksum

    payload["annotations"][1]["tags"][0] = "B-geo"  # someone edits the record by hand
    path.write_text(json.dumps(payload))
    with pytest.raises(LineageError, match=f"annotation {saved[1].id} does not match its checksum"):
        lineage.read_lineage(folder.path)
    payload["annotations"][1]["tags"][0] = "B-org"
    payload["checksum"] = "0" * 64
    path.write_text(json.dumps(payload))
    with pytest.raises(LineageError, match="checksum over all"):
        lineage.read_lineage(folder.path)
    path.write_text("{not json")
    with pytest.raises(LineageError, match="corrupt"):
        lineage.read_lineage(folder.path)
    path.write_text(json.dumps({"annotations": [{"id": "x"}]}))
    with pytest.raises(LineageError, match="not a list of annotations"):
        lineage.read_lineage(folder.path)


def test_the_store_records_the_lineage_and_says_which_runs_used_an_annotation(saved, db):
    used = lineage.AnnotationLineage.of(saved)
    assert lineage.stored_lineage(db, "child-1") is None
    lineage.record_lineage(db, "child-1", used)
    lineage.record_lineage(db, "child-2", lineage.AnnotationLineage.of(saved[:1]))
    stored = lineage.stored_lineage(db, "child-1")
    assert stored.checksum == used.checksum
    assert stored.checksums_by_id == {item.id: item.checksum for item in used.annotations}
    assert lineage.runs_trained_on(db, saved[0].id) == ["child-1", "child-2"]
    assert lineage.runs_trained_on(db, saved[2].id) == ["child-1"]
    lineage.record_lineage(db, "child-1", lineage.AnnotationLineage.of(saved[1:]))  # recorded again: replaced
    assert set(lineage.stored_lineage(db, "child-1").checksums_by_id) == {saved[1].id, saved[2].id}


def test_a_store_record_missing_a_row_is_refused(saved, db):
    import sqlalchemy as sa

    from ner_core.store.tables import RunAnnotation

    lineage.record_lineage(db, "child-1", lineage.AnnotationLineage.of(saved))
    db.write(lambda s: s.execute(sa.delete(RunAnnotation).where(RunAnnotation.annotation_id == saved[0].id)))
    with pytest.raises(LineageError, match="incomplete or altered"):
        lineage.stored_lineage(db, "child-1")


def test_an_edited_or_deleted_annotation_is_detected(saved, db):
    used = lineage.AnnotationLineage.of(saved)
    lineage.record_lineage(db, "child-1", used)
    check = lineage.check_lineage(used, db.list_annotations())
    assert check.matches and check.unchanged == used.ids and "All 3" in check.summary()

    db.update_annotation(saved[0].id, tags=["B-per", "I-per", "O", "O", "O"], analyst="Bo")
    db.delete_annotation(saved[2].id)
    for record in (used, lineage.stored_lineage(db, "child-1")):  # from the folder and from the store alike
        check = lineage.check_lineage(record, db.list_annotations())
        assert not check.matches
        assert (check.unchanged, check.edited, check.deleted) == ((saved[1].id,), (saved[0].id,), (saved[2].id,))
        assert f"1 edited since (#{saved[0].id})" in check.summary() and f"1 deleted (#{saved[2].id})" in check.summary()
    # Saving the same tags again (a new time stamp) is no change of content.
    db.update_annotation(saved[0].id, tags=SENTENCES[0][1])
    assert lineage.check_lineage(used, db.list_annotations()).edited == ()


def test_one_annotation_twice_is_refused(saved):
    with pytest.raises(LineageError, match="twice"):
        lineage.AnnotationLineage.of([saved[0], saved[0]])
