import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from ner_core.modeling import crf

NUM_TAGS = 3
BATCH_LENGTHS = [(4, 2, 1), (3, 1, 0), (1, 1, 1)]


def random_crf(seed, batch_size=3, steps=4, num_tags=NUM_TAGS):
    rng = np.random.default_rng(seed)
    potentials = rng.normal(size=(batch_size, steps, num_tags)).astype(np.float32)
    transitions = rng.normal(size=(num_tags, num_tags)).astype(np.float32)
    start_transitions = rng.normal(size=num_tags).astype(np.float32)
    end_transitions = rng.normal(size=num_tags).astype(np.float32)
    return potentials, (transitions, start_transitions, end_transitions)


def path_score(potentials, path, weights):
    """Score of one real-length path, summed by hand in numpy."""
    transitions, start_transitions, end_transitions = weights
    if not path:
        return 0.0
    score = start_transitions[path[0]] + end_transitions[path[-1]]
    score += sum(potentials[step, tag] for step, tag in enumerate(path))
    score += sum(transitions[previous, tag] for previous, tag in zip(path, path[1:]))
    return float(score)


def all_path_scores(potentials, length, weights):
    paths = list(itertools.product(range(potentials.shape[-1]), repeat=length))
    return paths, np.array([path_score(potentials, list(path), weights) for path in paths])


def brute_force_log_norm(potentials, length, weights):
    if length == 0:
        return 0.0
    _, scores = all_path_scores(potentials, length, weights)
    return float(np.logaddexp.reduce(scores))


def brute_force_viterbi(potentials, length, weights):
    if length == 0:
        return [], 0.0
    paths, scores = all_path_scores(potentials, length, weights)
    best = int(np.argmax(scores))
    return list(paths[best]), float(scores[best])


@pytest.mark.parametrize("lengths", BATCH_LENGTHS)
def test_log_norm_matches_brute_force(lengths):
    potentials, weights = random_crf(seed=sum(lengths))
    log_norm = crf.crf_log_norm(potentials, lengths, *weights).numpy()
    expected = [brute_force_log_norm(potentials[row], length, weights) for row, length in enumerate(lengths)]
    np.testing.assert_allclose(log_norm, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lengths", BATCH_LENGTHS)
def test_sequence_score_matches_hand_sum(lengths):
    potentials, weights = random_crf(seed=10 + sum(lengths))
    rng = np.random.default_rng(1)
    tags = rng.integers(1, NUM_TAGS, size=potentials.shape[:2])
    for row, length in enumerate(lengths):
        tags[row, length:] = 0
    score = crf.crf_sequence_score(potentials, tags, lengths, *weights).numpy()
    expected = [path_score(potentials[row], tags[row, :length].tolist(), weights) for row, length in enumerate(lengths)]
    np.testing.assert_allclose(score, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lengths", BATCH_LENGTHS)
def test_viterbi_matches_brute_force_argmax(lengths):
    potentials, weights = random_crf(seed=20 + sum(lengths))
    tags, best_scores = crf.viterbi_decode(potentials, lengths, *weights)
    for row, length in enumerate(lengths):
        expected_path, expected_score = brute_force_viterbi(potentials[row], length, weights)
        assert tags.numpy()[row, :length].tolist() == expected_path
        assert tags.numpy()[row, length:].tolist() == [0] * (potentials.shape[1] - length)
        assert best_scores.numpy()[row] == pytest.approx(expected_score, abs=1e-5)


def test_padding_changes_nothing():
    potentials, weights = random_crf(seed=5)
    lengths = [4, 2, 0]
    tags = np.array([[1, 2, 0, 1], [2, 2, 0, 0], [0, 0, 0, 0]])
    rng = np.random.default_rng(2)
    # Padded steps with huge potentials and non-zero tags must be ignored.
    extra_potentials = rng.choice([1e6, -1e6, 3e4], size=(3, 3, NUM_TAGS)).astype(np.float32)
    padded_potentials = np.concatenate([potentials, extra_potentials], axis=1)
    padded_potentials[1, 2:] = 1e6
    padded_tags = np.concatenate([tags, np.full((3, 3), 2)], axis=1)
    padded_tags[1, 2:] = 1

    for compute in (
        lambda p, t: crf.crf_log_norm(p, lengths, *weights),
        lambda p, t: crf.crf_sequence_score(p, t, lengths, *weights),
        lambda p, t: crf.viterbi_decode(p, lengths, *weights)[1],
    ):
        np.testing.assert_allclose(
            compute(padded_potentials, padded_tags).numpy(),
            compute(potentials, tags).numpy(),
            rtol=1e-6,
        )
    padded_decoded = crf.viterbi_decode(padded_potentials, lengths, *weights)[0].numpy()
    decoded = crf.viterbi_decode(potentials, lengths, *weights)[0].numpy()
    np.testing.assert_array_equal(padded_decoded[:, :4], decoded)
    assert not padded_decoded[:, 4:].any()


def test_log_norm_gradient_is_tag_marginals_on_real_steps_only():
    potentials, weights = random_crf(seed=8)
    lengths = [4, 2, 0]
    potentials = tf.constant(potentials)
    with tf.GradientTape() as tape:
        tape.watch(potentials)
        log_norm = crf.crf_log_norm(potentials, lengths, *weights)
    marginals = tape.gradient(log_norm, potentials).numpy()
    real = np.arange(4)[np.newaxis, :] < np.array(lengths)[:, np.newaxis]
    np.testing.assert_allclose(marginals.sum(axis=-1), real.astype(np.float32), atol=1e-5)


def test_negative_log_likelihood_is_non_negative_and_zero_when_empty():
    potentials, weights = random_crf(seed=9)
    layer = crf.CRF(NUM_TAGS)
    layer.build(potentials.shape)
    layer.set_weights(list(weights))
    tags = np.random.default_rng(0).integers(1, NUM_TAGS, size=(3, 4))
    nll = layer.negative_log_likelihood(potentials, tags, [4, 1, 0]).numpy()
    assert (nll[:2] > 0).all()
    assert nll[2] == 0.0


def test_empty_time_dimension_gives_zeros():
    _, weights = random_crf(seed=0)
    potentials = np.zeros((2, 0, NUM_TAGS), dtype=np.float32)
    tags, best_scores = crf.viterbi_decode(potentials, [0, 0], *weights)
    assert tags.shape == (2, 0)
    assert best_scores.numpy().tolist() == [0.0, 0.0]
    assert crf.crf_log_norm(potentials, [0, 0], *weights).numpy().tolist() == [0.0, 0.0]


def test_functions_compile_with_xla_for_unknown_shapes():
    potentials, weights = random_crf(seed=4)
    lengths = np.array([4, 3, 1], dtype=np.int32)
    tags = np.ones((3, 4), dtype=np.int32)
    signature = [
        tf.TensorSpec([None, None, NUM_TAGS], tf.float32),
        tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([None], tf.int32),
    ]

    @tf.function(input_signature=signature, jit_compile=True)
    def both(potentials, tags, lengths):
        return crf.crf_log_likelihood(potentials, tags, lengths, *weights), crf.viterbi_decode(potentials, lengths, *weights)

    log_likelihood, (decoded, best_scores) = both(potentials, tags, lengths)
    np.testing.assert_allclose(log_likelihood, crf.crf_log_likelihood(potentials, tags, lengths, *weights), rtol=1e-5)
    np.testing.assert_array_equal(decoded, crf.viterbi_decode(potentials, lengths, *weights)[0])


def test_crf_layer_rejects_potentials_of_wrong_width():
    with pytest.raises(ValueError, match="5 units"):
        crf.CRF(5).build((None, None, 4))


def test_crf_layer_config_round_trip():
    layer = crf.CRF(4, name="crf_head")
    restored = crf.CRF.from_config(layer.get_config())
    assert restored.num_tags == 4 and restored.name == "crf_head"


# A toy task only transitions can solve: token 3 is an entity word, tagged B
# (2) when it starts an entity and I (3) when it follows another entity word.
VOCABULARY_SIZE, TOY_TAGS, TOY_STEPS = 5, 4, 6


def toy_data(seed=0, size=48):
    rng = np.random.default_rng(seed)
    token_ids = np.zeros((size, TOY_STEPS), dtype=np.int32)
    tag_ids = np.zeros((size, TOY_STEPS), dtype=np.int32)
    lengths = rng.integers(2, TOY_STEPS + 1, size=size)
    for row, length in enumerate(lengths):
        token_ids[row, :length] = rng.choice([1, 2, 3], size=length, p=[0.3, 0.2, 0.5])
        for step in range(length):
            if token_ids[row, step] != 3:
                tag_ids[row, step] = 1
            elif step > 0 and token_ids[row, step - 1] == 3:
                tag_ids[row, step] = 3
            else:
                tag_ids[row, step] = 2
    return token_ids, tag_ids, lengths


def build_toy_tagger():
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    embedded = keras.layers.Embedding(VOCABULARY_SIZE, 8, mask_zero=True)(token_ids)
    potentials = keras.layers.Dense(TOY_TAGS)(embedded)
    potentials = crf.CRF(TOY_TAGS, name="crf")(potentials)
    return crf.CRFTagger(token_ids, potentials, name="toy_tagger")


@pytest.fixture(scope="module")
def trained_toy_tagger():
    keras.utils.set_random_seed(0)
    token_ids, tag_ids, lengths = toy_data()
    model = build_toy_tagger()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05))
    history = model.fit(token_ids, tag_ids, batch_size=16, epochs=8, verbose=0)
    return model, history, (token_ids, tag_ids, lengths)


def test_tagger_training_reduces_loss_and_learns_transitions(trained_toy_tagger):
    model, history, (token_ids, tag_ids, lengths) = trained_toy_tagger
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert np.abs(model.crf_layer.transitions.numpy()).max() > 0.1
    decoded, _ = model.decode(token_ids, lengths)
    assert (decoded == tag_ids).mean() > 0.9


def test_tagger_save_and_load_round_trip(trained_toy_tagger, tmp_path):
    model, _, (token_ids, tag_ids, lengths) = trained_toy_tagger
    path = tmp_path / "toy_tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert isinstance(loaded, crf.CRFTagger)
    np.testing.assert_allclose(loaded.predict(token_ids, verbose=0), model.predict(token_ids, verbose=0), rtol=1e-6)
    np.testing.assert_array_equal(loaded.decode(token_ids, lengths)[0], model.decode(token_ids, lengths)[0])
    assert loaded.evaluate(token_ids, tag_ids, verbose=0) == pytest.approx(
        model.evaluate(token_ids, tag_ids, verbose=0), rel=1e-5
    )
