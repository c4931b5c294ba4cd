"""Review queue ordering, correction checks, saving, export and the test split as a pool."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ner_core.corpus import annotated, reading, splitting
from ner_core.errors import ConfigError, DataFormatError, InputTextError, ModelLoadError, TagSchemeError
from ner_core.store.database import Store
from ner_core.training import run_folder
from ner_core.workbench import annotation, annotation_formats, saved_annotations

TAG_SET = ["O", "B-geo", "I-geo", "B-per", "I-per"]


class FakePredictor:
    """Tags every token O; a token's confidence is read from the table (default 0.9)."""

    def __init__(self, confidences: dict[str, float]):
        self.confidences = confidences
        self.calls = 0

    def tag_sentences(self, batch, decoding=None):
        self.calls += 1
        return [(["O"] * len(words), [self.confidences.get(w, 0.9) for w in words]) for words in batch]


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'a.db'}")


def save(db, tags, *, analyst="Ada", tokens=("Anna", "Berg", "ran")):
    return annotation.save_correction(
        db,
        analyst=analyst,
        text=" ".join(tokens),
        tokens=list(tokens),
        tags=tags,
        original_tags=["O"] * len(tokens),
        model_run_id="run-1",
        source="typed",
        tag_set=TAG_SET,
    )


def test_pool_from_text_splits_sentences_with_the_tokenizer():
    pool = annotation.pool_from_text("Mr. Smith went to Oslo. He met Anna Berg.\n\nRain fell")
    assert pool == ["Mr. Smith went to Oslo.", "He met Anna Berg.", "Rain fell"]
    assert annotation.pool_from_text("  \n ") == []


def test_pool_and_upload_refuse_unusable_text():
    with pytest.raises(InputTextError, match="limit"):
        annotation.pool_from_text("a" * (annotation.MAX_POOL_CHARS + 1))
    with pytest.raises(InputTextError, match="binary"):
        annotation.text_from_upload(b"\x00\x01abc", "x.bin")
    assert annotation.text_from_upload("Café in Oslo.".encode("latin-1"), "x.txt") == "Café in Oslo."


def test_review_queue_puts_least_confident_first_by_minimum_or_mean():
    predictor = FakePredictor({"doubt": 0.2, "unsure": 0.5, "meh": 0.6})
    pool = ["all fine here .", "one doubt here but fine", "unsure meh meh"]
    by_min = annotation.review_queue(predictor, pool, limit=None, measure="min")
    assert [item.text for item in by_min] == ["one doubt here but fine", "unsure meh meh", "all fine here ."]
    assert by_min[0].confidence == pytest.approx(0.2)
    assert by_min[0].uncertainty == pytest.approx(0.8)
    by_mean = annotation.review_queue(predictor, pool, limit=None, measure="mean")
    # mean: unsure meh meh = 0.567, one doubt here but fine = (0.2 + 4 * 0.9) / 5 = 0.76
    assert [item.text for item in by_mean][:2] == ["unsure meh meh", "one doubt here but fine"]
    assert by_mean[0].confidence == pytest.approx((0.5 + 0.6 + 0.6) / 3)
    assert predictor.calls == 2  # one batched call per queue


def test_review_queue_limits_skips_annotated_and_hides_gold_of_sentences():
    predictor = FakePredictor({"Oslo": 0.3})
    sentences = [annotated.Sentence(["Rain", "in", "Oslo"], ["O", "O", "B-geo"]), annotated.Sentence(["Sun", "."], ["O", "O"])]
    queue = annotation.review_queue(predictor, sentences, limit=1, source="test split")
    assert len(queue) == 1
    assert queue[0].tokens == ("Rain", "in", "Oslo")
    assert queue[0].predicted_tags == ("O", "O", "O")  # the model's tags, never the gold ones
    assert queue[0].source == "test split"
    skipped = annotation.review_queue(predictor, sentences, limit=5, skip_texts={"Rain in Oslo"})
    assert [item.text for item in skipped] == ["Sun ."]
    with pytest.raises(ConfigError):
        annotation.review_queue(predictor, sentences, measure="median")


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


def test_save_refuses_invalid_iob2_and_a_missing_analyst(db):
    with pytest.raises(TagSchemeError, match="not saved"):
        save(db, ["I-per", "I-per", "O"])
    with pytest.raises(ConfigError, match="analyst"):
        save(db, ["B-per", "I-per", "O"], analyst="  ")
    assert db.list_annotations() == []


def test_save_edit_and_delete_keep_original_and_corrected_tags(db):
    annotation_id = save(db, ["B-per", "I-per", "O"], analyst=" Ada ")
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


def run_folder_for(tmp_path, run_id: str, dataset, seed: int):
    """A run folder whose config.json records the dataset and seed, as training writes it."""
    corpus = reading.load_corpus(dataset)
    test = splitting.split_corpus(corpus.sentences, seed=seed).test
    folder = tmp_path / run_id
    folder.mkdir()
    payload = {
        "run_id": run_id,
        "train_config": {"dataset": str(dataset), "seed": seed},
        "dataset": {"source": str(dataset), "sha256": corpus.sha256, "test": len(test)},
    }
    (folder / run_folder.CONFIG_FILE).write_text(json.dumps(payload), encoding="utf-8")
    return folder


def test_held_out_sentences_are_the_runs_test_split(db, tiny_csv, tmp_path):
    config = {"model": "model2", "dataset": str(tiny_csv), "seed": 7, "epochs": 2}
    db.create_run("parent", "model2", config=config, dataset_sha256="abc", status="completed")
    db.update_run("parent", run_dir=str(run_folder_for(tmp_path, "parent", tiny_csv, seed=7)))
    parent = db.get_run("parent")
    held_out = annotation.held_out_sentences(parent)
    expected = splitting.split_corpus(reading.load_corpus(tiny_csv).sentences, seed=7).test
    assert [s.words for s in held_out] == [s.words for s in expected]


def test_held_out_sentences_refuse_a_changed_dataset_and_a_run_without_folder(db, tiny_csv, tmp_path):
    config = {"model": "model2", "dataset": str(tiny_csv), "seed": 7}
    db.create_run("parent", "model2", config=config, status="completed")
    db.update_run("parent", run_dir=str(run_folder_for(tmp_path, "parent", tiny_csv, seed=7)))
    db.create_run("folderless", "model2", config=config, status="completed")
    with pytest.raises(ModelLoadError, match="no run folder"):
        annotation.held_out_sentences(db.get_run("folderless"))
    tiny_csv.write_text(tiny_csv.read_text(encoding="utf-8").replace("Oslo", "Bergen"), encoding="utf-8")
    with pytest.raises(DataFormatError, match="has changed since run parent"):
        annotation.held_out_sentences(db.get_run("parent"))


# --------------------------------------------------------------------------- what the annotate page shows


def test_pending_and_annotated_sentences_add_up_to_the_pool():
    predictor = FakePredictor({"Oslo": 0.3})
    pool = ["Rain in Oslo", "Sun here", "", "Rain in Oslo", "Snow fell"]
    done = {"Rain in Oslo", "not in the pool"}
    pending = annotation.review_queue(predictor, pool, limit=None, skip_texts=done)
    assert [item.text for item in pending] == ["Sun here", "Snow fell"]
    assert annotation.annotated_in_pool(pool, done) == 2  # both copies; the empty sentence never counts
    assert annotation.annotated_in_pool([["Sun", "here"]], {"Sun here"}) == 1  # token lists join with spaces
    assert annotation.annotated_in_pool(pool, ()) == 0


def test_queue_frame_and_choices_keep_queue_order_and_first_places():
    predictor = FakePredictor({"doubt": 0.2, "meh": 0.6})
    queue = annotation.review_queue(predictor, ["fine .", "one doubt", "meh meh", "one doubt"], limit=None)
    frame = annotation.queue_frame(queue)
    assert list(frame.columns) == ["rank", "confidence", "tokens", "sentence"]
    assert frame.to_dict("records")[:2] == [
        {"rank": 1, "confidence": pytest.approx(0.2), "tokens": 2, "sentence": "one doubt"},
        {"rank": 2, "confidence": pytest.approx(0.2), "tokens": 2, "sentence": "one doubt"},
    ]
    choices = annotation.queue_choices(queue)
    assert list(choices) == ["one doubt", "meh meh", "fine ."]
    assert choices["one doubt"] == (1, queue[0]) and choices["meh meh"][0] == 3
    assert annotation.queue_frame([]).empty and annotation.queue_choices([]) == {}


def test_editor_key_is_short_stable_and_differs_per_sentence():
    key = annotation.editor_key("Anna Berg ran")
    assert key == annotation.editor_key("Anna Berg ran") and len(key) == 12 and int(key, 16) >= 0
    assert key != annotation.editor_key("Anna Berg ran .")


def test_correction_frame_holds_the_prediction_and_the_tags_being_edited():
    [item] = annotation.review_queue(FakePredictor({"Oslo": 0.3}), ["Rain in Oslo"])
    frame = annotation.correction_frame(item, ["O", "O", "B-geo"])
    assert frame.to_dict("list") == {
        "#": [1, 2, 3],
        "token": ["Rain", "in", "Oslo"],
        "predicted": ["O", "O", "O"],
        "confidence": [0.9, 0.9, 0.3],
        "tag": ["O", "O", "B-geo"],
    }
    with pytest.raises(ConfigError, match="3 tokens but 2 tags"):
        annotation.correction_frame(item, ["O", "O"])


def test_edited_tags_turn_empty_cells_into_none():
    assert annotation.edited_tags(["B-per", "", None, float("nan"), "O"]) == ["B-per", None, None, None, "O"]
    assert annotation.edited_tags([]) == []


def test_saving_a_review_item_keeps_its_text_prediction_and_source(db):
    [item] = annotation.review_queue(FakePredictor({}), ["Anna Berg ran"], source="upload")
    saved_id = annotation.save_review_item(
        db, item, tags=["B-per", "I-per", "O"], analyst="Ada", model_run_id="r1", tag_set=TAG_SET
    )
    [saved] = db.list_annotations()
    assert (saved.id, saved.text, saved.tokens) == (saved_id, "Anna Berg ran", ["Anna", "Berg", "ran"])
    assert (saved.tags, saved.original_tags) == (["B-per", "I-per", "O"], ["O", "O", "O"])
    assert (saved.source, saved.model_run_id, saved.analyst) == ("upload", "r1", "Ada")
    with pytest.raises(TagSchemeError):
        annotation.save_review_item(db, item, tags=["I-per", "I-per", "O"], analyst="Ada", model_run_id="r1", tag_set=TAG_SET)
    assert len(db.list_annotations()) == 1


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
