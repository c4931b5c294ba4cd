import itertools
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

from ner_core.corpus import tags
from ner_core.modeling import decoding

TAG_NAMES = [tags.PAD_TAG, "O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
PAD, OUTSIDE, B_PER, I_PER, B_LOC, I_LOC = range(len(TAG_NAMES))
ALLOWED = decoding.iob2_transition_mask(TAG_NAMES)
START_ALLOWED = decoding.iob2_start_mask(TAG_NAMES)


def names(path):
    return [TAG_NAMES[index] for index in path]


def brute_force_best_valid_path(log_probs):
    """Best-scoring path among all K^T paths that are valid IOB2 without padding."""
    best_score, best_path = -np.inf, None
    for path in itertools.product(range(len(TAG_NAMES)), repeat=len(log_probs)):
        if not tags.is_valid_iob2(names(path)):  # also rejects the padding tag
            continue
        score = sum(log_probs[step, tag] for step, tag in enumerate(path))
        if score > best_score:
            best_score, best_path = score, path
    return np.array(best_path), best_score


def path_score(log_probs, path):
    return sum(log_probs[step, tag] for step, tag in enumerate(path))


def test_transition_mask_allows_inside_only_after_same_type():
    assert ALLOWED[B_PER, I_PER] and ALLOWED[I_PER, I_PER]
    assert not ALLOWED[OUTSIDE, I_PER]
    assert not ALLOWED[B_LOC, I_PER]
    assert not ALLOWED[I_LOC, I_PER]
    assert ALLOWED[I_PER, B_LOC] and ALLOWED[OUTSIDE, B_PER] and ALLOWED[I_LOC, OUTSIDE]
    assert not ALLOWED[:, PAD].any()


def test_start_mask_forbids_inside_and_padding():
    assert START_ALLOWED.tolist() == [False, True, True, False, True, False]


def test_constrained_viterbi_matches_brute_force():
    rng = np.random.default_rng(7)
    for steps in (1, 2, 3, 4):
        for _ in range(5):
            log_probs = np.log(rng.dirichlet(np.ones(len(TAG_NAMES)), size=steps))
            path = decoding.constrained_viterbi(log_probs, ALLOWED, START_ALLOWED)
            expected_path, expected_score = brute_force_best_valid_path(log_probs)
            assert path_score(log_probs, path) == pytest.approx(expected_score)
            assert path.tolist() == expected_path.tolist()


def test_constrained_fixes_stray_inside_that_argmax_keeps():
    # Token 1 prefers I-PER after an O: argmax gives "O I-PER O", invalid IOB2.
    probabilities = np.array(
        [
            [0.00, 0.70, 0.10, 0.10, 0.05, 0.05],
            [0.00, 0.30, 0.25, 0.40, 0.03, 0.02],
            [0.00, 0.80, 0.05, 0.05, 0.05, 0.05],
        ]
    )
    argmax_tags = decoding.decode(probabilities[np.newaxis], [3], TAG_NAMES, "argmax")[0]
    constrained_tags = decoding.decode(probabilities[np.newaxis], [3], TAG_NAMES, "constrained")[0]

    assert argmax_tags == ["O", "I-PER", "O"]
    assert tags.iob2_violations(argmax_tags) == [1]
    assert tags.is_valid_iob2(constrained_tags)
    # B-PER I-PER (0.1*0.4) loses to O O (0.7*0.3) and O B-PER (0.7*0.25).
    assert constrained_tags == ["O", "O", "O"]
    expected_path, _ = brute_force_best_valid_path(decoding.to_log_probs(probabilities))
    assert constrained_tags == names(expected_path)


def test_constrained_output_is_always_valid_iob2():
    rng = np.random.default_rng(3)
    # Skewed towards I- tags so argmax often produces violations.
    concentration = np.array([1.0, 0.5, 0.5, 3.0, 0.5, 3.0])
    probabilities = rng.dirichlet(concentration, size=(40, 9))
    lengths = rng.integers(0, 10, size=40)
    decoded = decoding.decode(probabilities, lengths, TAG_NAMES, "constrained")
    argmax_decoded = decoding.decode(probabilities, lengths, TAG_NAMES, "argmax")
    assert [len(sentence) for sentence in decoded] == lengths.tolist()
    assert all(tags.is_valid_iob2(sentence) for sentence in decoded)
    assert not all(tags.is_valid_iob2(sentence) for sentence in argmax_decoded)


def test_sentence_never_starts_with_inside():
    log_probs = np.log(np.array([[0.01, 0.01, 0.01, 0.95, 0.01, 0.01]]))
    path = decoding.constrained_viterbi(log_probs, ALLOWED, START_ALLOWED)
    assert names(path) != ["I-PER"]
    assert names(path) == ["O"]  # ties at 0.01 go to the lowest index that is allowed


def test_padding_tag_is_never_chosen():
    probabilities = np.full((2, 3, len(TAG_NAMES)), 0.01)
    probabilities[:, :, PAD] = 0.95
    for method in decoding.DECODING_METHODS:
        decoded = decoding.decode(probabilities, [3, 2], TAG_NAMES, method)
        assert all(tags.PAD_TAG not in sentence for sentence in decoded)


def test_batch_matches_single_sentence_decoding():
    rng = np.random.default_rng(11)
    log_probs = np.log(rng.dirichlet(np.ones(len(TAG_NAMES)), size=(5, 6)))
    # Huge scores on padded steps must not leak into the real ones.
    lengths = np.array([6, 3, 1, 0, 4])
    for row, length in enumerate(lengths):
        log_probs[row, length:, I_LOC] = 1e6
    paths = decoding.constrained_viterbi_batch(log_probs, lengths, ALLOWED, START_ALLOWED)
    for row, length in enumerate(lengths):
        single = decoding.constrained_viterbi(log_probs[row, :length], ALLOWED, START_ALLOWED)
        assert paths[row].tolist() == single.tolist()


def test_argmax_decode_skips_padding_and_cuts_to_length():
    log_probs = np.log(np.array([[[0.9, 0.05, 0.05], [0.2, 0.1, 0.7], [0.9, 0.05, 0.05]]]))
    assert [path.tolist() for path in decoding.argmax_decode(log_probs, [2])] == [[1, 2]]


def test_unknown_method_raises_value_error_listing_methods():
    with pytest.raises(ValueError, match="argmax, constrained"):
        decoding.decode(np.ones((1, 1, len(TAG_NAMES))), [1], TAG_NAMES, "beam")


def test_empty_sentences_decode_to_empty_paths():
    empty = np.zeros((0, len(TAG_NAMES)))
    assert decoding.constrained_viterbi(empty, ALLOWED, START_ALLOWED).shape == (0,)
    no_steps = np.zeros((2, 0, len(TAG_NAMES)))
    for method in decoding.DECODING_METHODS:
        assert decoding.decode(no_steps, [0, 0], TAG_NAMES, method) == [[], []]


def test_lengths_must_fit_padded_length():
    with pytest.raises(ValueError, match="Lengths"):
        decoding.decode(np.ones((1, 2, len(TAG_NAMES))), [3], TAG_NAMES, "argmax")


def test_long_batch_is_fast():
    rng = np.random.default_rng(0)
    tag_names = [tags.PAD_TAG, "O"] + [f"{p}-T{i}" for i in range(8) for p in "BI"]
    probabilities = rng.dirichlet(np.ones(len(tag_names)), size=(256, 130))
    start = time.perf_counter()
    decoded = decoding.decode(probabilities, np.full(256, 130), tag_names, "constrained")
    assert time.perf_counter() - start < 2.0
    assert all(tags.is_valid_iob2(sentence) for sentence in decoded)


def test_module_imports_without_tensorflow():
    code = "import sys, ner_core.modeling.decoding; assert 'tensorflow' not in sys.modules"
    repository_root = pathlib.Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repository_root)


# ---------------------------------------------------------------- CRF decoding in numpy (predictor path)


def _brute_force_crf(potentials, transitions, start, end, allowed=None, start_allowed=None):
    import itertools

    steps, num_tags = potentials.shape
    scores = {}
    for path in itertools.product(range(num_tags), repeat=steps):
        if start_allowed is not None and not start_allowed[path[0]]:
            continue
        if allowed is not None and any(not allowed[a, b] for a, b in zip(path, path[1:])):
            continue
        score = start[path[0]] + end[path[-1]] + sum(potentials[t, k] for t, k in enumerate(path))
        score += sum(transitions[a, b] for a, b in zip(path, path[1:]))
        scores[path] = score
    return scores


def test_crf_viterbi_and_marginals_match_brute_force():
    rng = np.random.default_rng(3)
    num_tags = 4
    transitions, start, end = rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags), rng.normal(size=num_tags)
    allowed = rng.random((num_tags, num_tags)) > 0.3
    allowed[:, 1] = True  # keep at least one path alive
    for steps in (1, 2, 4):
        potentials = rng.normal(size=(steps, num_tags))
        scores = _brute_force_crf(potentials, transitions, start, end)
        best = max(scores, key=scores.get)
        assert decoding.crf_viterbi(potentials, transitions, start, end).tolist() == list(best)
        constrained = _brute_force_crf(potentials, transitions, start, end, allowed)
        best_allowed = max(constrained, key=constrained.get)
        assert decoding.crf_viterbi(potentials, transitions, start, end, allowed).tolist() == list(best_allowed)
        values = np.array(list(scores.values()))
        probabilities = np.exp(values - values.max()) / np.exp(values - values.max()).sum()
        expected = np.zeros((steps, num_tags))
        for probability, path in zip(probabilities, scores):
            for t, k in enumerate(path):
                expected[t, k] += probability
        np.testing.assert_allclose(decoding.crf_marginals(potentials, transitions, start, end), expected, atol=1e-9)


def test_crf_batch_decoding_equals_single_sentences_and_ignores_padding():
    rng = np.random.default_rng(4)
    num_tags, lengths = 5, [3, 1, 6, 0]
    transitions, start, end = rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags), rng.normal(size=num_tags)
    padded = rng.normal(size=(len(lengths), 6, num_tags)) * 50  # padding values are large and must not matter
    paths = decoding.crf_viterbi_batch(padded, lengths, transitions, start, end)
    marginals = decoding.crf_marginals_batch(padded, lengths, transitions, start, end)
    for row, length in enumerate(lengths):
        single = padded[row, :length]
        assert paths[row].tolist() == decoding.crf_viterbi(single, transitions, start, end).tolist()
        np.testing.assert_allclose(marginals[row], decoding.crf_marginals(single, transitions, start, end), atol=1e-9)
        if length:
            np.testing.assert_allclose(marginals[row].sum(axis=1), 1.0, atol=1e-9)


def test_batch_skips_viterbi_only_where_argmax_is_already_valid_and_still_equals_viterbi():
    """Rows whose argmax path is valid IOB2 keep it (it is the best path of all); the others go through Viterbi."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 9, size=300)
    log_probs = np.log(rng.dirichlet(np.full(len(TAG_NAMES), 0.3), size=(300, 9)))
    paths = decoding.constrained_viterbi_batch(log_probs, lengths, ALLOWED, START_ALLOWED)
    argmax_valid = 0
    for row, length in enumerate(lengths):
        single = decoding.constrained_viterbi(log_probs[row, :length], ALLOWED, START_ALLOWED)
        assert paths[row].tolist() == single.tolist()
        argmax = log_probs[row, :length].argmax(-1)
        if paths[row].tolist() == argmax.tolist():
            argmax_valid += 1
    assert 0 < argmax_valid < len(lengths)  # both kinds of rows occur


def test_best_other_is_the_highest_probability_of_another_tag_padding_never_counts():
    # columns: <PAD>, O, B-per, I-per
    scores = np.array([[0.9, 0.05, 0.03, 0.02], [0.0, 0.2, 0.5, 0.3], [0.0, 0.6, 0.1, 0.3]])
    assert decoding.best_other(scores, [1, 2, 3]).tolist() == pytest.approx([0.03, 0.3, 0.6])
    # a path that is not the argmax (constrained decoding overruled it): the margin is negative
    chosen = scores[np.arange(3), [1, 2, 3]]
    assert (chosen - decoding.best_other(scores, [1, 2, 3])).tolist() == pytest.approx([0.02, 0.2, -0.3])
    assert decoding.best_other(np.array([[0.0, 1.0]]), [1]).tolist() == [0.0]  # no other tag at all
