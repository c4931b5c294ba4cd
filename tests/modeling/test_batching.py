"""Training batches: padding per batch, and a tf.data signature Keras cannot get wrong."""

from __future__ import annotations

import pytest

from ner_core.modeling import encoding
from ner_core.modeling.batching import BatchSequence
from ner_core.training import loop
from ner_core.training.config import sample_config


def features_for(sentences):
    return encoding.FeatureEncoder(
        encoding.build_word_vocabulary(sentences), encoding.build_tag_vocabulary({t for s in sentences for t in s.tags})
    )


@pytest.mark.parametrize("seed", range(12))
def test_the_first_two_batches_differ_in_length_and_no_batch_is_lost(tiny_sentences, seed):
    """Keras reads the signature from batches 0 and 1: a shared length there would be fixed for the whole fit."""
    batches = BatchSequence(
        tiny_sentences,
        features_for(tiny_sentences),
        batch_size=4,
        max_len=9,
        bucketed=True,
        categorical=False,
        shuffle=True,
        seed=seed,
    )
    for _epoch in range(3):
        lengths = [batches.batch_length(i) for i in range(len(batches))]
        assert len(set(lengths)) > 1  # the tiny sentences have 6 to 10 tokens, capped at 9
        assert lengths[0] != lengths[1]
        assert sorted(i for members in batches.batches for i in members) == list(range(len(tiny_sentences)))
        assert [batches[i][0].shape[1] for i in range(len(batches))] == lengths
        batches.on_epoch_end()


def test_bucketed_fit_with_a_short_max_len_completes(tmp_path, sample_path):
    """Regression: max_len 16 caps most sample sentences, so the first two batches were both 16 long and a
    later 14-token batch failed the fit with InvalidArgumentError."""
    config = sample_config("baseline", str(sample_path), epochs=1, batch_size=16, embedding_dim=8, max_len=16)
    result = loop.train(config, models_dir=tmp_path / "models")
    assert result.epochs_trained == 1 and result.metrics["token_accuracy"] > 0
