"""The paired bootstrap of an entity-F1 gain: counts per sentence, known answers, bad settings."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ner_core.errors import ConfigError
from ner_core.evaluation import bootstrap, scoring

GOLD = [
    ["B-per", "I-per", "O", "B-geo"],
    ["O", "B-org", "O"],
    ["B-tim", "O", "O", "O", "B-geo"],
    ["O", "O"],
]


def test_sentence_counts_are_correct_predicted_and_gold_entities():
    predicted = [
        ["B-per", "I-per", "O", "O"],  # per right, geo missed
        ["O", "B-org", "O"],  # right
        ["B-tim", "O", "O", "O", "B-per"],  # tim right, geo as per
        ["B-geo", "O"],  # spurious
    ]
    counts = bootstrap.sentence_entity_counts(GOLD, predicted)
    assert counts.tolist() == [[1, 1, 2], [1, 1, 1], [1, 2, 2], [0, 1, 0]]


def test_counts_summed_give_seqeval_strict_entity_f1_on_random_tags():
    """Same spans as the scoring path: a stray I- starts no entity, an entity ends at a type change."""
    rng = random.Random(3)
    tags = ["O", "B-per", "I-per", "B-geo", "I-geo", "I-org"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    predicted = [[rng.choice(tags) for _ in sentence] for sentence in gold]
    counts = bootstrap.sentence_entity_counts(gold, predicted)
    assert float(bootstrap.micro_f1(counts.sum(axis=0))) == pytest.approx(scoring.entity_f1(gold, predicted), abs=1e-12)


def test_identical_models_gain_exactly_zero_with_a_zero_width_interval():
    predicted = [["B-per", "O", "O", "B-geo"], ["O", "O", "O"], ["B-tim", "O", "O", "O", "O"], ["O", "O"]]
    counts = bootstrap.sentence_entity_counts(GOLD, predicted)
    result = bootstrap.paired_f1_difference(counts, counts.copy(), resamples=500, seed=1)
    assert (result.gain, result.low, result.high) == (0.0, 0.0, 0.0)
    assert result.share_not_better == 1.0 and not result.significant
    assert "includes 0" in result.verdict()
    assert result.sentences == 4 and result.resamples == 500


def test_a_candidate_right_on_every_sentence_against_one_that_finds_nothing_gains_one():
    nothing = [["O"] * len(tags) for tags in GOLD]
    baseline = bootstrap.sentence_entity_counts(GOLD, nothing)
    candidate = bootstrap.sentence_entity_counts(GOLD, GOLD)
    result = bootstrap.paired_f1_difference(baseline, candidate, resamples=1000, seed=0)
    assert (result.baseline_f1, result.candidate_f1, result.gain) == (0.0, 1.0, 1.0)
    # Only a resample drawing the entity-free sentence four times scores both 0: (1/4)^4 of them, about 0.4%.
    assert result.share_not_better == pytest.approx((1 / 4) ** 4, abs=0.01)
    assert (result.low, result.high, result.significant) == (1.0, 1.0, True)
    many = bootstrap.paired_f1_difference(np.tile(baseline, (10, 1)), np.tile(candidate, (10, 1)), resamples=1000)
    assert (many.low, many.high, many.significant) == (1.0, 1.0, True)
    assert "better" in many.verdict()


def test_one_corrected_sentence_out_of_many_reads_as_noise():
    """A +0.002-sized gain from one sentence: the interval includes 0."""
    rng = np.random.default_rng(0)
    gold_per_sentence = rng.integers(1, 4, size=2000)
    correct = np.minimum(gold_per_sentence, rng.integers(0, 4, size=2000))
    baseline = np.stack([correct, gold_per_sentence, gold_per_sentence], axis=1)
    candidate = baseline.copy()
    candidate[0, 0] = candidate[0, 2]  # the child now gets every entity of one sentence right
    result = bootstrap.paired_f1_difference(baseline, candidate, resamples=2000, seed=4)
    assert 0 < result.gain < 0.005
    assert result.low <= 0 <= result.high and not result.significant


def test_the_interval_is_seeded_and_reproducible():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 4, size=(300, 1))
    baseline = np.hstack([np.minimum(gold, rng.integers(0, 4, size=(300, 1))), gold, gold])
    candidate = np.hstack([gold, gold, gold])
    first = bootstrap.paired_f1_difference(baseline, candidate, resamples=300, seed=9)
    again = bootstrap.paired_f1_difference(baseline, candidate, resamples=300, seed=9)
    other = bootstrap.paired_f1_difference(baseline, candidate, resamples=300, seed=10)
    assert first == again and (first.low, first.high) != (other.low, other.high)
    assert first.low <= first.gain <= first.high
    assert first.to_dict()["significant"] is True


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"resamples": 10}, "resamples"),
        ({"resamples": 1000.0}, "resamples"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.2}, "confidence"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    counts = np.ones((3, 3))
    with pytest.raises(ConfigError, match=message):
        bootstrap.paired_f1_difference(counts, counts, **settings)


def test_misaligned_or_empty_counts_are_refused():
    with pytest.raises(ValueError, match="different sentences"):
        bootstrap.paired_f1_difference(np.ones((3, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\[sentences, 3\]"):
        bootstrap.paired_f1_difference(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="correct"):
        bootstrap.paired_f1_difference([[2, 1, 1]], [[1, 1, 1]])
    with pytest.raises(ConfigError, match="no test sentences"):
        bootstrap.paired_f1_difference(np.zeros((0, 3)), np.zeros((0, 3)))
