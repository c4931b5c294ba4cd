"""Vocabularies, padding and the two target encodings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ner_core.corpus import annotated
from ner_core.errors import DataFormatError
from ner_core.modeling import encoding
from tests.helpers import make_sentence


def test_word_vocabulary_uses_train_only_with_pad_unk_and_min_freq():
    train = [make_sentence("a/O b/O a/O c/B-per"), make_sentence("a/O b/O")]
    vocab = encoding.build_word_vocabulary(train, min_freq=2)
    assert vocab.tokens == ["<PAD>", "<UNK>", "a", "b"]
    assert encoding.encode_words(["a", "c", "zzz"], vocab) == [2, 1, 1]
    with pytest.raises(ValueError):
        encoding.build_word_vocabulary(train, min_freq=0)


def test_tag_vocabulary_has_pad_first_and_groups_types():
    vocab = encoding.build_tag_vocabulary(["I-per", "O", "B-geo", "B-per"])
    assert vocab.tokens == ["<PAD>", "O", "B-geo", "B-per", "I-per"]


def test_padding_truncation_and_targets():
    sentences = [make_sentence("John/B-per runs/O"), make_sentence("a/O b/O c/O d/O")]
    words = encoding.build_word_vocabulary(sentences)
    tags = encoding.build_tag_vocabulary(["O", "B-per"])
    split = encoding.encode_sentences(sentences, words, tags, max_len=3)
    assert split.word_ids.shape == (2, 3) and split.word_ids[0, 2] == 0
    assert split.lengths.tolist() == [2, 3]
    assert split.tag_ids.tolist() == [[2, 1, 0], [1, 1, 1]]
    assert split.sample_weight().tolist() == [[1, 1, 0], [1, 1, 1]]
    onehot = encoding.to_categorical(split.tag_ids, len(tags))
    assert onehot.shape == (2, 3, 3) and onehot[0, 0].tolist() == [0, 0, 1] and onehot[0, 2].tolist() == [1, 0, 0]


def test_feature_targets_weight_out_padding():
    sentences = [make_sentence("John/B-per runs/O")]
    features = encoding.FeatureEncoder(encoding.build_word_vocabulary(sentences), encoding.build_tag_vocabulary(["O", "B-per"]))
    targets, weights = features.targets([sentences[0].tags], 4, categorical=True)
    assert targets.shape == (1, 4, 3) and weights.tolist() == [[1, 1, 0, 0]]


def test_unknown_tag_is_a_clear_error():
    tags = encoding.build_tag_vocabulary(["O"])
    with pytest.raises(DataFormatError, match="'B-xyz' is not in the model's tag set"):
        encoding.encode_tags(["B-xyz"], tags)


def test_bucketed_batches_pad_less_and_cover_everything():
    lengths = [5, 40, 6, 38, 7, 39, 5, 41]
    plain = encoding.batch_plan(lengths, 2, bucketed=False, shuffle=True, seed=1)
    buckets = encoding.batch_plan(lengths, 2, bucketed=True, shuffle=True, seed=1)
    assert sorted(np.concatenate(buckets).tolist()) == list(range(8))
    padded_positions = sum(len(b) * max(lengths[i] for i in b) for b in buckets)
    assert padded_positions < sum(len(b) * max(lengths[i] for i in b) for b in plain)
    assert padded_positions <= sum(lengths) + 2 * 4  # neighbours in length share a batch
    epoch2 = encoding.batch_plan(lengths, 2, bucketed=True, shuffle=True, seed=1, epoch=1)
    assert [b.tolist() for b in epoch2] != [b.tolist() for b in buckets]


def test_processed_splits_round_trip(tmp_path):
    sentences = [make_sentence("John/B-per runs/O")]
    words = encoding.build_word_vocabulary(sentences)
    tags = encoding.build_tag_vocabulary(["O", "B-per"])
    split = encoding.encode_sentences(sentences, words, tags, max_len=4)
    encoding.save_processed(tmp_path, {"train": split}, {"max_len": 4, "encoding": "sparse"})
    loaded, metadata = encoding.load_processed(tmp_path)
    assert metadata == {"max_len": 4, "encoding": "sparse"}
    assert (loaded["train"].word_ids == split.word_ids).all()
    words.save(tmp_path / "v.json")
    assert encoding.Vocabulary.load(tmp_path / "v.json").tokens == words.tokens
    (tmp_path / "bad.json").write_text(json.dumps({"tokens": 3}))
    with pytest.raises(DataFormatError):
        encoding.Vocabulary.load(tmp_path / "bad.json")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_normalised_vocabulary_shares_one_row_across_case_and_digits():
    sentences = [
        annotated.Sentence(["Paris", "PARIS", "in", "1999"], ["B-geo", "B-geo", "O", "B-tim"]),
        annotated.Sentence(["paris", "2008"], ["B-geo", "B-tim"]),
    ]
    words = encoding.build_word_vocabulary(sentences, normalise=True)
    assert words.tokens[2:] == ["paris", "0000", "in"]
    features = encoding.FeatureEncoder(words, encoding.build_tag_vocabulary(["O", "B-geo", "B-tim"]), normalise_words=True)
    ids = features.encode(["PaRiS", "1066", "In", "Rome"])["word_ids"].tolist()
    assert ids == [2, 3, 4, encoding.UNK_INDEX]
    # Without normalisation the same vocabulary misses every differently cased word.
    plain = encoding.FeatureEncoder(words, features.tag_vocab)
    assert plain.encode(["PaRiS", "1066", "In"])["word_ids"].tolist() == [encoding.UNK_INDEX] * 3
