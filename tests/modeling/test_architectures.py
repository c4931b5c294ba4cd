"""Each registered architecture: shape, masking and parameter count against its formula."""

from __future__ import annotations

import numpy as np
import pytest

from ner_core.errors import ConfigError
from ner_core.modeling import architectures

V, K = 500, 17


def lstm_params(units: int, inputs: int) -> int:
    # Keras LSTM: four gates, each with input kernel, recurrent kernel and one bias.
    return 4 * (units * (inputs + units) + units)


EXPECTED = {
    "baseline": V * 100 + (100 * 128 + 128) + (128 * 64 + 64) + (64 * K + K),
    "advanced": V * 200 + 2 * lstm_params(128, 200) + 2 * lstm_params(64, 256) + (128 * 128 + 128) + (128 * K + K),
    "model2": V * 100 + 2 * lstm_params(100, 100) + (200 * K + K),
}


@pytest.mark.parametrize("name", architectures.DEFAULT_MODELS)
def test_parameter_count_matches_formula(name):
    model = architectures.build_model(name, architectures.ModelDimensions(vocab_size=V, num_tags=K))
    assert model.count_params() == EXPECTED[name]


@pytest.mark.parametrize("name", architectures.DEFAULT_MODELS)
def test_output_shape_accepts_any_length(name):
    model = architectures.build_model(name, architectures.ModelDimensions(vocab_size=V, num_tags=K, embedding_dim=8))
    for length in (3, 11):
        out = np.asarray(model(np.ones((2, length), dtype="int32")))
        assert out.shape == (2, length, K)
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_baseline_has_no_context_between_words():
    model = architectures.build_model("baseline", architectures.ModelDimensions(vocab_size=V, num_tags=K))
    a = np.asarray(model(np.array([[5, 6, 7]], dtype="int32")))
    b = np.asarray(model(np.array([[9, 6, 3]], dtype="int32")))
    np.testing.assert_allclose(a[0, 1], b[0, 1], rtol=1e-6)


def test_bilstm_output_ignores_padding():
    model = architectures.build_model("model2", architectures.ModelDimensions(vocab_size=V, num_tags=K, embedding_dim=8))
    short = np.asarray(model(np.array([[5, 6, 7]], dtype="int32")))
    padded = np.asarray(model(np.array([[5, 6, 7, 0, 0, 0]], dtype="int32")))
    np.testing.assert_allclose(short[0], padded[0, :3], rtol=1e-5, atol=1e-6)


def test_registry_metadata_and_unknown_name():
    assert architectures.get_definition("model2").target_encoding == "categorical"
    assert architectures.get_definition("model2").default_max_len == 75
    assert architectures.get_definition("advanced").default_max_len == 128
    with pytest.raises(ConfigError, match="unknown model 'bert'"):
        architectures.get_definition("bert")


def test_char_crf_model_outputs_potentials_and_round_trips(tmp_path):
    import keras

    from ner_core.serving.model_file import load_keras_model

    dims = architectures.ModelDimensions(vocab_size=50, num_tags=5, embedding_dim=8, char_vocab_size=30, max_word_length=20)
    model = architectures.build_model("char_bilstm_crf", dims)
    inputs = {
        "word_ids": np.array([[3, 4, 5, 0]], dtype="int32"),
        "char_ids": np.random.default_rng(0).integers(1, 30, size=(1, 4, 20)).astype("int32"),
        "casing_ids": np.array([[1, 2, 1, 0]], dtype="int32"),
    }
    potentials = np.asarray(model(inputs))
    assert potentials.shape == (1, 4, 5)
    assert architectures.get_definition("char_bilstm_crf").output == "crf"
    model.compile(optimizer=keras.optimizers.Adam())
    path = tmp_path / "m.keras"
    model.save(path)
    np.testing.assert_allclose(np.asarray(load_keras_model(path)(inputs)), potentials, rtol=1e-5)
