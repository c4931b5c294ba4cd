"""Custom layers: word dropout hides only real words, only while training, and survives save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ner_core.modeling.layers import WordDropout


def word_ids(rows=64, steps=50, pad_from=40):
    ids = np.random.default_rng(0).integers(2, 500, size=(rows, steps)).astype("int32")
    ids[:, pad_from:] = 0  # padding
    ids[:, 0] = 1  # already unknown
    return ids


def test_word_dropout_is_the_identity_at_inference():
    ids = word_ids()
    layer = WordDropout(0.5, seed=1)
    np.testing.assert_array_equal(np.asarray(layer(ids, training=False)), ids)
    np.testing.assert_array_equal(np.asarray(layer(ids)), ids)


def test_word_dropout_hides_about_rate_of_real_words_and_never_padding():
    ids = word_ids()
    out = np.asarray(WordDropout(0.2, seed=3)(ids, training=True))
    changed = out != ids
    assert not changed[:, 40:].any(), "padding must stay 0 so masks do not change"
    assert set(np.unique(out[changed])) == {1}, "hidden words become the unknown id"
    real = ids > 1
    share = changed[real].mean()
    assert 0.17 < share < 0.23, share


def test_word_dropout_round_trips_through_a_saved_model(tmp_path):
    inputs = keras.Input(shape=(None,), dtype="int32")
    outputs = keras.layers.Embedding(10, 2)(WordDropout(0.3, seed=2, name="word_dropout")(inputs))
    path = tmp_path / "m.keras"
    keras.Model(inputs, outputs).save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("word_dropout").rate == 0.3


def test_word_dropout_rejects_a_rate_of_one():
    with pytest.raises(ValueError, match="rate"):
        WordDropout(1.0)
