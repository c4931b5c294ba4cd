"""The ONNX Runtime forward pass must compute what the Keras model computes, or not be used at all."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ner_core.corpus import reading
from ner_core.modeling.architectures import ModelDimensions, build_model
from ner_core.serving import onnx_backend
from ner_core.serving.predictor import Predictor

DIMS = ModelDimensions(vocab_size=60, num_tags=7, embedding_dim=12, char_vocab_size=30, max_word_length=12)


def word_id_batch(lengths, vocab=DIMS.vocab_size, seed=0):
    """Right-padded word ids (0 = padding) with the given real lengths."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(len(lengths), max(lengths))).astype("int32")
    for row, length in enumerate(lengths):
        ids[row, length:] = 0
    return ids


def randomised(model, seed=1):
    """Fresh models have zero biases and tiny outputs; random weights make a mismatch show."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("name", ["baseline", "advanced", "model2"])
def test_exported_models_give_the_keras_outputs_on_every_real_position(name):
    keras.utils.set_random_seed(0)
    model = randomised(build_model(name, DIMS))
    exported = onnx_backend.export(model)
    assert exported is not None
    lengths = [9, 1, 5, 9, 3]
    ids = word_id_batch(lengths)
    expected = model(ids, training=False).numpy()
    actual = onnx_backend.OnnxForward(exported)(ids, lengths)
    assert actual.shape == expected.shape
    for row, length in enumerate(lengths):  # padded positions are never read, and Keras' values there are arbitrary
        np.testing.assert_allclose(actual[row, :length], expected[row, :length], atol=2e-5)
        assert (actual[row, :length].argmax(-1) == expected[row, :length].argmax(-1)).all()


def test_a_backward_direction_starts_at_the_last_real_word_not_at_the_padding():
    """The same sentence alone and padded next to a long one must give the same outputs (Keras' mask semantics)."""
    keras.utils.set_random_seed(0)
    forward = onnx_backend.OnnxForward(onnx_backend.export(randomised(build_model("model2", DIMS))))
    ids = word_id_batch([4, 12])
    alone = forward(ids[:1, :4], [4])
    padded = forward(ids, [4, 12])
    np.testing.assert_allclose(padded[0, :4], alone[0], atol=1e-6)


def test_models_with_layers_it_does_not_know_are_not_exported():
    keras.utils.set_random_seed(0)
    assert onnx_backend.export(build_model("char_bilstm_crf", DIMS)) is None  # char CNN, CRF: TensorFlow path

    word_ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True)(word_ids)
    summed = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode="sum")(x)
    assert onnx_backend.export(keras.Model(word_ids, keras.layers.Dense(5, activation="softmax")(summed))) is None
    gelu = keras.layers.Dense(5, activation="gelu")(x)
    assert onnx_backend.export(keras.Model(word_ids, gelu)) is None
    gru = keras.layers.GRU(3, return_sequences=True)(x)
    assert onnx_backend.export(keras.Model(word_ids, keras.layers.Dense(5)(gru))) is None


def test_a_saved_run_is_served_by_onnx_runtime_with_the_tensorflow_tags(trained_run, sample_path):

    fast = Predictor.load(trained_run.run_dir)
    reference = Predictor.load(trained_run.run_dir, onnx=False, compiled=False)
    assert fast.backend == "onnxruntime" and reference.backend == "tensorflow"
    corpus = reading.load_corpus(sample_path)
    sentences = [s.words for s in corpus.sentences[:300]] + [[], ["Oslo"], ["Lima"] * 300]  # empty, one word, windowed
    for decoding in ("argmax", "constrained"):
        got, want = fast.tag_sentences(sentences, decoding), reference.tag_sentences(sentences, decoding)
        assert [tags for tags, _ in got] == [tags for tags, _ in want]
        for (_, fast_conf), (_, ref_conf) in zip(got, want):
            assert fast_conf == pytest.approx(ref_conf, abs=1e-4)


def test_onnx_can_be_switched_off_with_the_environment(trained_run, monkeypatch):
    monkeypatch.setenv(onnx_backend.ONNX_ENV, "0")
    assert not onnx_backend.enabled()
    assert Predictor.load(trained_run.run_dir).backend in ("xla", "tensorflow")
