"""The predictor: offsets, IOB2 output, formats, windows for long text, bad input, threads."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from ner_core.corpus import tags
from ner_core.errors import InputTextError, ModelLoadError
from ner_core.serving import predictor as predictor_module
from ner_core.serving.predictor import MAX_TEXT_CHARS, Predictor, _window_starts
from ner_core.training import run_folder

TEXT = "President Anna Berg met Kenyan officials in Nairobi on Tuesday. The United Nations said 8,500 people fled."


@pytest.fixture(scope="module")
def predictor(trained_run):
    return Predictor.load(trained_run.run_dir)


def test_offsets_are_exact_and_tags_valid_iob2(predictor):
    prediction = predictor.predict(TEXT)
    assert [t.text for t in prediction.tokens][:4] == ["President", "Anna", "Berg", "met"]
    for token in prediction.tokens:
        assert TEXT[token.start : token.end] == token.text
        assert 0.0 < token.confidence <= 1.0
    assert len(prediction.sentences) == 2
    for first, last in prediction.sentences:
        assert tags.is_valid_iob2([t.tag for t in prediction.tokens[first:last]])
    for entity in prediction.entities:
        assert TEXT[entity.start : entity.end] == entity.text


@pytest.mark.parametrize("decoding", ["argmax", "constrained"])
def test_both_decodings_give_valid_iob2(predictor, decoding):
    words = ["Anna", "Berg", "visited", "Nairobi", "and", "Lima", "in", "March", "2009", "."] * 3
    for tag_list, confidences in predictor.tag_sentences([words, words[:4], []], decoding):
        assert tags.is_valid_iob2(tag_list) and len(tag_list) == len(confidences)


def test_output_formats(predictor):
    prediction = predictor.predict(TEXT)
    payload = json.loads(prediction.render("json"))
    assert payload["run_id"] == predictor.run_id and len(payload["tokens"]) == len(prediction.tokens)
    assert json.loads(prediction.render("entities_only")) == payload["entities"]
    iob = prediction.render("iob").split("\n\n")
    assert len(iob) == 2 and iob[0].split("\n")[0] == f"President\t{prediction.tokens[0].tag}"
    with pytest.raises(InputTextError, match="unknown output format"):
        prediction.render("xml")


def test_empty_and_huge_text(predictor):
    assert predictor.predict("").tokens == [] and predictor.predict("   \n ").entities == []
    with pytest.raises(InputTextError, match="limit"):
        predictor.predict("a " * (MAX_TEXT_CHARS // 2 + 1))


def test_long_sentences_are_tagged_in_full_with_windows(predictor):
    assert _window_starts(10, 75) == [0]
    assert _window_starts(200, 75) == [0, 37, 74, 111, 125]
    words = (["Anna", "Berg", "flew", "to", "Lima", "on", "Monday", ","] * 40)[:300]
    ((tag_list, confidences),) = predictor.tag_sentences([words])
    assert len(tag_list) == 300 and tags.is_valid_iob2(tag_list)
    # the first tokens come from the first window, which sees the same left context as the short sentence
    short = words[: predictor.max_len]
    probabilities_long = predictor.probabilities([words])[0]
    probabilities_short = predictor.probabilities([short])[0]
    assert probabilities_long.shape == (300, len(predictor.tag_names))
    assert abs(probabilities_long[:5] - probabilities_short[:5]).max() < 0.05


def test_batch_and_single_calls_agree(predictor):
    sentences = [["Anna", "Berg", "met", "Kenyan", "officials"], ["Rain", "in", "Lima"], ["Monday"]]
    batched = predictor.tag_sentences(sentences)
    for words, (tag_list, confidences) in zip(sentences, batched):
        single_tags, single_conf = predictor.tag_sentences([words])[0]
        assert single_tags == tag_list
        assert single_conf == pytest.approx(confidences, rel=1e-4)


@pytest.mark.parametrize("decoding", ["argmax", "constrained"])
def test_a_batch_of_many_chunks_matches_tagging_one_by_one(predictor, sample_path, decoding):
    """More than BATCH_SIZE sentences (so the forward pass of one chunk overlaps decoding of the
    previous), plus empty and over-long sentences, in input order."""
    from ner_core.corpus.reading import load_corpus
    from ner_core.serving.predictor import BATCH_SIZE

    words = [s.words for s in load_corpus(sample_path).sentences]
    batch = (words * 2)[: BATCH_SIZE + 90]
    batch[7] = []
    batch[20] = (words[0] * 20)[: predictor.max_len + 30]
    tagged = predictor.tag_sentences(batch, decoding)
    assert [len(t) for t, _ in tagged] == [len(w) for w in batch]
    for index in (0, 7, 20, 100, BATCH_SIZE + 5, len(batch) - 1):
        single_tags, single_conf = predictor.tag_sentences([batch[index]], decoding)[0]
        assert tagged[index][0] == single_tags
        assert tagged[index][1] == pytest.approx(single_conf, rel=1e-4, abs=1e-6)
        assert all(0.0 <= c <= 1.0 for c in single_conf) and tags.is_valid_iob2(single_tags)


def test_many_threads_share_one_predictor(predictor):
    expected = predictor.predict(TEXT).to_dict()["entities"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: predictor.predict(TEXT).to_dict()["entities"], range(32)))
    assert all(r == expected for r in results)


def test_missing_or_corrupt_model_file(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, copy)
    model_bytes = (copy / run_folder.MODEL_FILE).read_bytes()
    (copy / run_folder.MODEL_FILE).write_bytes(model_bytes[: len(model_bytes) // 2])  # a copy cut short
    with pytest.raises(ModelLoadError, match=r"model.keras cannot be loaded: it is damaged \(not a complete zip archive"):
        Predictor.load(copy)
    (copy / run_folder.MODEL_FILE).write_bytes(b"not a keras zip")
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        Predictor.load(copy)
    (copy / run_folder.MODEL_FILE).unlink()
    with pytest.raises(ModelLoadError, match="incomplete: missing model.keras"):
        Predictor.load(copy)
    with pytest.raises(ModelLoadError, match="does not exist"):
        Predictor.load(tmp_path / "nothing")
    shutil.copytree(trained_run.run_dir, tmp_path / "run2")
    (tmp_path / "run2" / run_folder.TAG_VOCAB_FILE).write_text("{broken")
    with pytest.raises(ModelLoadError, match="corrupt"):
        Predictor.load(tmp_path / "run2")


def test_compiled_path_matches_the_plain_graph(trained_run):
    """The XLA path pads to shape buckets; padding is masked, so tags and confidences must not change."""
    plain = Predictor.load(trained_run.run_dir, compiled=False, onnx=False)
    compiled = Predictor.load(trained_run.run_dir, compiled=True, onnx=False)
    sentences = [["Anna", "Berg", "flew", "to", "Oslo", "on", "Monday", "."], ["Rain"], ["Lima"] * 20]
    # over 32 sentences: the 256-row bucket, whose lengths are rounded to 8 rather than 16
    sentences += [["Anna", "Berg", "met", "Kenyan", "officials", "in", "Lima"][: 1 + k % 7] * (1 + k % 3) for k in range(40)]
    for decoding in ("argmax", "constrained"):
        for (plain_tags, plain_conf), (xla_tags, xla_conf) in zip(
            plain.tag_sentences(sentences, decoding), compiled.tag_sentences(sentences, decoding)
        ):
            assert xla_tags == plain_tags
            assert xla_conf == pytest.approx(plain_conf, abs=1e-4)
    assert compiled.compiled and compiled.backend == "xla"  # no silent fallback to the plain graph


def test_entities_of_words_match_the_entities_of_the_joined_text(predictor):
    words = ["Anna", "Berg", "visited", "Oslo"]
    entities = predictor_module.entities_of_words(words, ["B-per", "I-per", "O", "B-geo"], [0.9, 0.7, 1.0, 0.8])
    assert entities == [
        predictor_module.Entity("per", "Anna Berg", 0, 9, pytest.approx(0.8), 0, 2),
        predictor_module.Entity("geo", "Oslo", 18, 22, pytest.approx(0.8), 3, 4),
    ]
    # The same assembler as predict(): a text of single-spaced words gives the same offsets.
    text = " ".join(words)
    tags = predictor.predict(text).tokens
    typed = predictor_module.entities_of_words(words, [t.tag for t in tags], [t.confidence for t in tags])
    assert [(e.type, e.start, e.end) for e in typed] == [(e.type, e.start, e.end) for e in predictor.predict(text).entities]


def test_controls_are_never_tagged_and_invalid_unicode_is_refused(predictor):
    prediction = predictor.predict("Anna\x00Berg visited \u202eOslo\x07 .")
    assert all(token.text.isprintable() for token in prediction.tokens)
    assert all(entity.text.strip("\x00\x07\u202e") == entity.text for entity in prediction.entities)
    assert predictor.predict("\x00\x01\u200f").tokens == []
    with pytest.raises(InputTextError, match="not valid Unicode .*lone surrogate at character 5"):
        predictor.predict("Anna \udc80Berg")


@pytest.mark.parametrize("decoding", ["argmax", "constrained"])
def test_runner_up_is_the_best_other_tag_probability_and_changes_nothing_else(predictor, decoding):
    words = ["Anna", "Berg", "visited", "Nairobi", "on", "Monday", "."]
    long_words = words * 40  # longer than max_len: the windowed path
    batch = [words, [], long_words]
    plain = predictor.tag_sentences(batch, decoding)
    with_runner_up = predictor.tag_sentences(batch, decoding, runner_up=True)
    assert [(t, c) for t, c, _ in with_runner_up] == plain
    assert with_runner_up[1] == ([], [], [])
    probabilities = predictor.probabilities([words])[0]
    tag_list, confidences, runner_up = with_runner_up[0]
    for position, tag in enumerate(tag_list):
        row = list(probabilities[position])
        chosen = predictor.tag_names.index(tag)
        others = [p for index, p in enumerate(row) if index not in (0, chosen)]  # 0 is padding
        assert runner_up[position] == pytest.approx(max(others), abs=1e-6)
        assert confidences[position] == pytest.approx(row[chosen], abs=1e-6)
    assert len(with_runner_up[2][2]) == len(long_words)
    assert all(0.0 <= value <= 1.0 for value in with_runner_up[2][2])
