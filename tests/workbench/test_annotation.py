"""Review queue ordering, correction checks, saving, export and the test split as a pool."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ner_core.corpus import reading
from ner_core.errors import ConfigError, TagSchemeError
from ner_core.store.database import Store
from ner_core.workbench import annotation, annotation_formats, saved_annotations

TAG_SET = ["O", "B-geo", "I-geo", "B-per", "I-per"]


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'a.db'}")


def test_model_tag_set_drops_padding_and_orders_by_type():
    assert annotation.model_tag_set(["<PAD>", "I-per", "B-geo", "O", "B-per", "I-geo"]) == TAG_SET


def test_validate_correction_names_each_wrong_token():
    tokens = ["Anna", "Berg", "visited", "Oslo"]
    assert annotation.validate_correction(tokens, ["B-per", "I-per", "O", "B-geo"], TAG_SET) == []
    problems = annotation.validate_correction(tokens, ["I-per", "I-per", "O", "I-geo"], TAG_SET)
    assert [p.position for p in problems] == [0, 3]
    assert "'Anna'" in problems[0].message and "B-per" in problems[0].message
    assert annotation.validate_correction(tokens, ["O", "O"], TAG_SET)[0].position is None
    unknown = annotation.validate_correction(tokens, ["B-org", "O", None, "O"], TAG_SET)
    assert [p.position for p in unknown] == [0, 2]
    assert "not in the model's tag set" in unknown[0].message
    assert annotation.repair(["I-per", "I-per", "O", "I-geo"]) == ["B-per", "I-per", "O", "B-geo"]


def save(db, tags, *, analyst="Ada", tokens=("Anna", "Berg", "ran")):
    """A saved annotation as the queue stores an accepted sentence (the queue's own tests check its refusals)."""
    return db.add_annotation(
        analyst=analyst,
        text=" ".join(tokens),
        tokens=list(tokens),
        tags=list(tags),
        original_tags=["O"] * len(tokens),
        model_run_id="run-1",
    )


def test_save_edit_and_delete_keep_original_and_corrected_tags(db):
    annotation_id = save(db, ["B-per", "I-per", "O"])
    [saved] = db.list_annotations()
    assert (saved.id, saved.analyst) == (annotation_id, "Ada")
    assert (saved.tags, saved.original_tags) == (["B-per", "I-per", "O"], ["O", "O", "O"])
    assert saved_annotations.changed_positions(saved) == [0, 1]
    with pytest.raises(TagSchemeError):
        annotation.update_correction(db, saved, tags=["O", "I-per", "O"], analyst="Bob", tag_set=TAG_SET)
    annotation.update_correction(db, saved, tags=["B-per", "O", "O"], analyst="Bob", tag_set=TAG_SET)
    [edited] = db.list_annotations()
    assert (edited.tags, edited.analyst, edited.original_tags) == (["B-per", "O", "O"], "Bob", ["O", "O", "O"])
    records = saved_annotations.annotation_records([edited])
    assert records[0]["corrected tokens"] == 1 and records[0]["model run"] == "run-1"
    db.delete_annotation(annotation_id)
    assert db.list_annotations() == []


def test_exports_are_conll_and_gmb_csv_that_read_back(db, tmp_path):
    save(db, ["B-per", "I-per", "O"])
    save(db, ["B-geo", "O"], tokens=("Oslo", "."))
    saved = db.list_annotations()
    assert saved_annotations.annotations_to_conll(saved) == "Anna\tB-per\nBerg\tI-per\nran\tO\n\nOslo\tB-geo\n.\tO\n"
    path = tmp_path / "export.csv"
    path.write_text(saved_annotations.annotations_to_csv(saved), encoding="utf-8")
    corpus = reading.load_corpus(path)
    assert [s.words for s in corpus.sentences] == [["Anna", "Berg", "ran"], ["Oslo", "."]]
    assert [s.tags for s in corpus.sentences] == [["B-per", "I-per", "O"], ["B-geo", "O"]]
    sentences = saved_annotations.annotations_to_sentences(saved)
    assert sentences[1].tags == ["B-geo", "O"] and sentences[1].number == saved[1].id
    assert saved_annotations.annotations_to_conll([]) == ""


# --------------------------------------------------------------------------- what the annotate page shows


def test_editor_key_is_short_stable_and_differs_per_sentence():
    key = annotation.editor_key("Anna Berg ran")
    assert key == annotation.editor_key("Anna Berg ran") and len(key) == 12 and int(key, 16) >= 0
    assert key != annotation.editor_key("Anna Berg ran .")


def test_edited_tags_turn_empty_cells_into_none():
    assert annotation.edited_tags(["B-per", "", None, float("nan"), "O"]) == ["B-per", None, None, None, "O"]
    assert annotation.edited_tags([]) == []


def test_saved_frame_and_version_of_a_saved_annotation(db):
    save(db, ["B-per", "I-per", "O"])
    [saved] = db.list_annotations()
    assert annotation.saved_frame(saved).to_dict("list") == {
        "#": [1, 2, 3],
        "token": ["Anna", "Berg", "ran"],
        "predicted": ["O", "O", "O"],
        "tag": ["B-per", "I-per", "O"],
    }
    before = annotation.annotation_version(saved)
    annotation.update_correction(db, saved, tags=["B-per", "O", "O"], analyst="Bo", tag_set=TAG_SET)
    [edited] = db.list_annotations()
    assert annotation.annotation_version(edited) != before
    assert annotation.annotation_version(SimpleNamespace(updated_at=None)) == "0"  # never saved


def test_export_gives_content_file_name_and_mime_per_format(db):
    save(db, ["B-per", "I-per", "O"])
    saved = db.list_annotations()
    assert saved_annotations.export(saved, "CoNLL") == (
        saved_annotations.annotations_to_conll(saved),
        "annotations.conll",
        "text/plain",
    )
    assert saved_annotations.export(saved, "GMB CSV") == (
        saved_annotations.annotations_to_csv(saved),
        "annotations.csv",
        "text/csv",
    )
    assert saved_annotations.export(saved, "JSONL") == (
        annotation_formats.annotations_to_jsonl(saved),
        "annotations.jsonl",
        "application/jsonl",
    )
    assert list(saved_annotations.EXPORT_FORMATS) == ["CoNLL", "GMB CSV", "JSONL"]
    with pytest.raises(ConfigError, match="unknown export format"):
        saved_annotations.export(saved, "xlsx")


def test_training_annotations_keep_one_version_per_sentence_the_latest(tmp_path):
    from ner_core.store.database import Store
    from ner_core.workbench.saved_annotations import training_annotations, unresolved_disagreements

    fresh = Store(f"sqlite:///{tmp_path / 'versions.db'}")
    common = dict(tokens=["Anna", "left"], original_tags=["O", "O"], model_run_id=None)
    first = fresh.add_annotation(analyst="ann", text="Anna left", tags=["B-per", "O"], **common)
    other = fresh.add_annotation(analyst="ann", text="Bo left", tags=["B-per", "O"], **{**common, "tokens": ["Bo", "left"]})
    second = fresh.add_annotation(analyst="bob", text="Anna left", tags=["B-geo", "O"], **common)
    # Two analysts with different versions of one text: unresolved, so left out (it used to keep bob's, the latest).
    kept = training_annotations(fresh)
    assert [(a.id, a.tags) for a in kept] == [(other, ["B-per", "O"])]
    assert [s.text for s in unresolved_disagreements(fresh)] == ["Anna left"]
    fresh.update_annotation(first, tags=["B-geo", "O"])  # ann re-edits and now agrees with bob: her copy, saved last, counts
    assert [(a.id, a.tags) for a in training_annotations(fresh)] == [(first, ["B-geo", "O"]), (other, ["B-per", "O"])]
    assert unresolved_disagreements(fresh) == []
    assert second not in [a.id for a in training_annotations(fresh)]
    # One analyst re-annotating a sentence alone: their latest version counts.
    again = fresh.add_annotation(analyst="ann", text="Bo left", tags=["B-org", "O"], **{**common, "tokens": ["Bo", "left"]})
    assert [(a.id, a.tags) for a in training_annotations(fresh)] == [(first, ["B-geo", "O"]), (again, ["B-org", "O"])]
