"""Warm start: the parent's vocabulary grown without moving an id, its weights kept, a short run that learns
the analyst's correction, and every setting that cannot work refused before anything is recorded."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ner_core.errors import ConfigError, WarmStartError
from ner_core.modeling import encoding
from ner_core.modeling.architectures import get_definition
from ner_core.serving.predictor import Predictor
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import lineage, loop, run_folder, warm_start
from ner_core.training.config import TrainConfig
from tests import helpers
from tests.helpers import make_sentence

# The analyst's correction: "Zorblax" and "Quenton" are words no training sentence has.
CORRECTED = make_sentence("Zorblax/B-org hired/O Quenton/B-per in/O Oslo/B-geo ./O")


class Corrected:
    """An annotation as the store holds it (id, text, tokens, tags)."""

    def __init__(self, sentence, annotation_id=1):
        self.id, self.text, self.tokens, self.tags = annotation_id, sentence.text, list(sentence.words), list(sentence.tags)


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    """A model2 parent trained a few epochs on the tiny corpus (its run folder)."""
    from ner_core.corpus import writing
    from tests.conftest import TINY_SENTENCES

    root = tmp_path_factory.mktemp("warm")
    sentences = [
        make_sentence(spec.replace("./O", f"x{repeat}/O ./O"), number)
        for number, (repeat, spec) in enumerate(((r, s) for r in range(8) for s in TINY_SENTENCES), start=1)
    ]
    csv = root / "tiny.csv"
    csv.write_text(writing.corpus_to_gmb_csv(sentences), encoding="utf-8")
    config = helpers.tiny_config(csv, model="model2", epochs=3, learning_rate=1e-2)
    result = loop.train(config, models_dir=root / "models", evaluate=False)
    return result


def warm_config(parent_result, **overrides) -> TrainConfig:
    values = dict(
        parent_result.config.to_dict(),
        warm_start_from=str(parent_result.run_dir),
        epochs=4,
        annotation_weight=50,
        early_stopping=False,
        learning_rate=1e-2,
    )
    values.update(overrides)
    return TrainConfig(**values)


def test_a_vocabulary_grows_at_the_end_and_keeps_every_id():
    vocabulary = encoding.Vocabulary(["<PAD>", "<UNK>", "Oslo", "the"])
    grown, added = warm_start.extended_vocabulary(vocabulary, ["the", "Zorblax", "Oslo", "quent", "Zorblax"])
    assert added == ["Zorblax", "quent"]
    assert grown.tokens[:4] == vocabulary.tokens and grown.tokens[4:] == ["Zorblax", "quent"]
    assert all(grown.index(token) == vocabulary.index(token) for token in vocabulary.tokens)


def test_new_rows_start_from_the_lower_case_form_else_the_mean_known_row():
    vocabulary = encoding.Vocabulary(["<PAD>", "<UNK>", "oslo", "the"])
    matrix = np.array([[0.0, 0.0], [9.0, 9.0], [1.0, 2.0], [3.0, 6.0]], dtype="float32")
    grown, from_lower = warm_start.extended_rows(matrix, vocabulary, ["Oslo", "Zorblax"])
    assert grown.dtype == matrix.dtype and grown.shape == (6, 2)
    np.testing.assert_array_equal(grown[:4], matrix)  # old rows untouched
    np.testing.assert_array_equal(grown[4], matrix[2])  # Oslo <- oslo
    np.testing.assert_array_equal(grown[5], [2.0, 4.0])  # the mean of oslo and the; PAD and UNK take no part
    assert from_lower == 1


def test_prepare_keeps_the_parents_ids_and_weights_and_adds_rows_for_new_words(parent):
    loaded = warm_start.load_parent(str(parent.run_dir), parent.run_dir.parent, model_name="model2")
    start = warm_start.prepare(
        loaded, get_definition("model2"), new_sentences=[CORRECTED], tag_names=CORRECTED.tags, embedding_dim=8
    )
    old_vocab, new_vocab = loaded.features.word_vocab, start.features.word_vocab
    assert start.new_words == ["Zorblax", "Quenton"]
    assert new_vocab.tokens == [*old_vocab.tokens, "Zorblax", "Quenton"]
    assert start.features.tag_vocab.tokens == loaded.features.tag_vocab.tokens
    old_rows = loaded.model.get_layer("embedding").get_weights()[0]
    new_rows = start.model.get_layer("embedding").get_weights()[0]
    np.testing.assert_array_equal(new_rows[: len(old_vocab)], old_rows)
    np.testing.assert_allclose(new_rows[len(old_vocab)], old_rows[2:].mean(axis=0), rtol=1e-6)
    for name in ("bilstm", "tags"):
        for old, new in zip(loaded.model.get_layer(name).get_weights(), start.model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(old, new)
    assert start.describe()["new_words"] == 2 and start.describe()["parent_run_id"] == parent.run_id
    # The network starts where the parent stopped: same tags for a sentence of known words.
    words = ["Anna", "visited", "Oslo", "."]
    before = Predictor.load(parent.run_dir, onnx=False, compiled=False).tag_sentences([words])
    after = Predictor(start.model, start.features, max_len=16, output="softmax", compiled=False).tag_sentences([words])
    assert before[0][0] == after[0][0]
    np.testing.assert_allclose(before[0][1], after[0][1], rtol=1e-5)


@pytest.mark.slow  # trains a warm-start child
def test_a_warm_start_run_learns_the_correction_and_records_where_it_started(parent, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    used = lineage.AnnotationLineage.of([Corrected(CORRECTED, 7)])
    child = loop.train(
        warm_config(parent),
        models_dir=tmp_path / "models",
        store=store,
        annotations=used,
        parent_run_id=parent.run_id,
    )
    assert child.epochs_trained == 4
    config = json.loads((child.run_dir / run_folder.CONFIG_FILE).read_text())
    assert config["warm_start"]["parent_run_id"] == parent.run_id and config["warm_start"]["new_words"] == 2
    assert config["train_config"]["warm_start_from"] == str(parent.run_dir)
    assert config["dataset"]["extra_train"] == 1 and config["dataset"]["annotation_weight"] == 50
    words = encoding.Vocabulary.load(child.run_dir / run_folder.WORD_VOCAB_FILE).tokens
    assert words[-2:] == ["Zorblax", "Quenton"]
    assert lineage.read_lineage(child.run_dir) == used
    assert lineage.stored_lineage(store, child.run_id).checksum == used.checksum
    assert store.get_run(child.run_id).status == RunStatus.COMPLETED
    [(tags, _)] = Predictor.load(child.run_dir, onnx=False, compiled=False).tag_sentences([CORRECTED.words])
    assert tags == CORRECTED.tags


@pytest.mark.slow  # trains a char_bilstm_crf parent
def test_a_char_model_grows_its_character_vocabulary_too(tmp_path, tiny_csv):
    parent = loop.train(helpers.tiny_config(tiny_csv, model="char_bilstm_crf"), models_dir=tmp_path / "models", evaluate=False)
    loaded = warm_start.load_parent(parent.run_id, tmp_path / "models", model_name="char_bilstm_crf")
    sentence = make_sentence("Žorblax/B-org hired/O Anna/B-per ./O")
    start = warm_start.prepare(loaded, get_definition("char_bilstm_crf"), new_sentences=[sentence], tag_names=sentence.tags)
    assert start.new_words == ["žorblax"]  # the model's words are lower-cased
    assert start.new_chars[0] == "Ž"  # characters keep their case: the character CNN sees capitals
    assert start.new_chars == list(dict.fromkeys(ch for ch in "Žorblax" if ch not in loaded.features.char_vocab))
    old_chars = loaded.model.get_layer("char_encoder").get_weights()[0]
    new_chars = start.model.get_layer("char_encoder").get_weights()[0]
    assert new_chars.shape[0] == len(start.features.char_vocab) == old_chars.shape[0] + len(start.new_chars)
    np.testing.assert_array_equal(new_chars[: len(old_chars)], old_chars)
    np.testing.assert_allclose(new_chars[len(old_chars)], old_chars[2:].mean(axis=0), rtol=1e-6)
    crf_old, crf_new = loaded.model.get_layer("crf").get_weights(), start.model.get_layer("crf").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(crf_old, crf_new))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"annotation_weight": 0}, "annotation_weight"),
        ({"annotation_weight": 101}, "annotation_weight"),
        ({"warm_start_from": "  "}, "names no run"),
    ],
)
def test_bad_settings_are_refused_by_the_config(overrides, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(model="model2", **overrides)


def test_a_warm_start_that_cannot_work_fails_before_anything_is_recorded(parent, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    models_dir = tmp_path / "models"

    def refused(config, match, annotations=None):
        with pytest.raises(WarmStartError, match=match):
            loop.train(config, models_dir=models_dir, store=store, run_id="refused", annotations=annotations)

    refused(warm_config(parent, warm_start_from="no-such-run"), "cannot warm-start from 'no-such-run'")
    refused(warm_config(parent, model="baseline"), "is a model2 run; a warm start continues the same model, not baseline")
    refused(warm_config(parent, embedding_dim=12), "embedding size is 12 but run .* has 8")
    new_tag = lineage.AnnotationLineage.of([Corrected(make_sentence("Zorblax/B-eve hired/O Quenton/B-per"))])
    refused(warm_config(parent), "never learned the tag\\(s\\) B-eve; retrain in full", annotations=new_tag)
    assert store.list_runs() == [] and not models_dir.exists()


@pytest.mark.slow  # trains a warm-start child
def test_an_embedding_size_left_empty_becomes_the_parents(parent, tmp_path):
    config = dataclasses.replace(warm_config(parent, epochs=1), embedding_dim=None)
    child = loop.train(config, models_dir=tmp_path / "models", evaluate=False)
    assert child.config.embedding_dim == 8
