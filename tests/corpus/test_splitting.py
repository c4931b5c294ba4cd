"""Tests for ner_core.corpus.splitting: whether a split can serve training, decided before training."""

from __future__ import annotations

import pytest

from ner_core.corpus import splitting
from ner_core.errors import ConfigError
from tests.helpers import make_sentence

TYPES = ["per", "geo", "org", "tim", "gpe", "art", "eve", "nat"]


def one_of_each_type():
    """Eight sentences, each the only one of its entity type: eight strata of one, all go to training."""
    return [make_sentence(f"Word{i}/B-{kind} rests/O ./O", i + 1) for i, kind in enumerate(TYPES)]


def test_eight_sentences_of_eight_rare_types_have_no_validation_or_test_split():
    splits = splitting.split_corpus(one_of_each_type())
    assert [len(part) for _, part in splits.items()] == [8, 0, 0]
    with pytest.raises(ConfigError, match=r"c.csv: its validation and test split would be empty \(train/validation/test = 8/0/0"):
        splitting.require_usable_split(splits, source="c.csv")


@pytest.mark.parametrize("size, expected", [(3, [2, 0, 1]), (4, [2, 1, 1]), (5, [3, 1, 1])])
def test_a_stratum_needs_four_sentences_to_reach_every_split(size, expected):
    sentences = [make_sentence(f"Oslo{i}/B-geo rests/O ./O", i + 1) for i in range(size)]
    splits = splitting.split_corpus(sentences)
    assert [len(part) for _, part in splits.items()] == expected
    if size >= splitting.STRATUM_SENTENCES_FOR_EVERY_SPLIT:
        splitting.require_usable_split(splits, source="c.csv")
    else:
        with pytest.raises(ConfigError, match="at least 4 sentences"):
            splitting.require_usable_split(splits, source="c.csv")


def test_an_empty_test_split_is_fine_when_no_test_is_asked_for():
    sentences = [make_sentence(f"Oslo{i}/B-geo rests/O ./O", i + 1) for i in range(3)]
    splits = splitting.split_corpus(sentences)
    assert not splits.validation
    with pytest.raises(ConfigError, match="its validation split would be empty"):
        splitting.require_usable_split(splits, source="c.csv", need_test=False)
