"""The data the explorer's charts draw, computed on small hand-made corpora."""

from __future__ import annotations

import pytest

from ner_core.corpus import annotated, reading, splitting, statistics
from ner_core.workbench import explore
from tests.helpers import make_sentence


@pytest.fixture
def sentences():
    first = make_sentence("Anna/B-per Berg/I-per visited/O New/B-geo York/I-geo ./O", 1)
    second = make_sentence("Paris/B-geo is/O big/O ./O", 2)
    third = make_sentence("Anna/B-per left/O Paris/B-geo on/O Monday/B-tim", 3)
    first.pos = ["NNP", "NNP", "VBD", "NNP", "NNP", "."]
    second.pos = ["NNP", "VBZ", "JJ", "."]
    third.pos = ["NNP", "VBD", "NNP", "IN", "NNP"]
    return [first, second, third]


def test_tag_distribution_counts_tokens_per_tag_most_frequent_first(sentences):
    frame = explore.tag_distribution(sentences)
    assert list(frame.columns) == ["tag", "tokens", "share"]
    assert dict(zip(frame["tag"], frame["tokens"])) == {"O": 7, "B-geo": 3, "B-per": 2, "I-per": 1, "I-geo": 1, "B-tim": 1}
    assert frame["tag"].iloc[0] == "O"
    assert frame["share"].sum() == pytest.approx(1.0)


def test_entity_type_distribution_counts_entities_and_their_tokens(sentences):
    frame = explore.entity_type_distribution(sentences)
    rows = {row.type: (row.entities, row.tokens) for row in frame.itertuples()}
    assert rows == {"geo": (3, 4), "per": (2, 3), "tim": (1, 1)}
    assert frame["type"].iloc[0] == "geo"


def test_entity_type_distribution_ignores_stray_inside_tags():
    frame = explore.entity_type_distribution([make_sentence("Oslo/I-geo is/O cold/O")])
    assert frame.empty and list(frame.columns) == ["type", "entities", "tokens", "share"]


def test_length_histogram_fills_every_length_between_min_and_max(sentences):
    frame = explore.length_histogram(sentences)
    assert frame.to_dict("list") == {"length": [4, 5, 6], "sentences": [1, 1, 1]}
    assert explore.length_histogram([]).empty


def test_top_entities_counts_entity_texts_per_type(sentences):
    frame = explore.top_entities(sentences, per_type=10)
    geo = frame[frame["type"] == "geo"]
    assert list(zip(geo["entity"], geo["count"], geo["rank"])) == [("Paris", 2, 1), ("New York", 1, 2)]
    per = frame[frame["type"] == "per"]
    assert list(zip(per["entity"], per["count"])) == [("Anna Berg", 1), ("Anna", 1)]
    assert list(dict.fromkeys(frame["type"])) == ["geo", "per", "tim"]


def test_top_entities_keeps_at_most_per_type(sentences):
    frame = explore.top_entities(sentences, per_type=1)
    assert frame.groupby("type").size().to_dict() == {"geo": 1, "per": 1, "tim": 1}
    with pytest.raises(ValueError):
        explore.top_entities(sentences, per_type=0)


def test_pos_by_tag_counts_and_normalises_per_tag(sentences):
    counts = explore.pos_by_tag(sentences)
    assert counts.loc["NNP", "B-geo"] == 3
    assert counts.loc["NNP", "O"] == 0
    assert counts.loc["VBD", "O"] == 2
    assert list(counts.columns)[0] == "O"
    assert counts.index[0] == "NNP"  # most frequent POS first
    shares = explore.pos_by_tag(sentences, normalize=True)
    assert shares.sum(axis=0).round(9).eq(1.0).all()
    assert shares.loc["JJ", "O"] == pytest.approx(1 / 7)


def test_pos_by_tag_is_empty_without_pos():
    assert explore.pos_by_tag([make_sentence("Anna/B-per slept/O")]).empty


def test_oov_by_split_measures_each_split_against_the_train_vocabulary(sentences):
    splits = annotated.DatasetSplits(train=sentences[:1], validation=sentences[1:2], test=sentences[2:])
    frame = explore.oov_by_split(splits).set_index("split")
    assert frame.loc["train", "oov_rate"] == 0
    # "Paris is big ." against {Anna, Berg, visited, New, York, .}: three of four unknown
    assert frame.loc["validation", "oov_tokens"] == 3
    assert frame.loc["validation", "oov_rate"] == pytest.approx(0.75)
    assert frame.loc["test", "tokens"] == 5


def test_oov_by_split_of_an_empty_split_is_zero(sentences):
    frame = explore.oov_by_split(annotated.DatasetSplits(sentences, [], []))
    assert frame["oov_rate"].tolist() == [0.0, 0.0, 0.0]


def test_search_by_word_ignores_case_and_matches_whole_tokens(sentences):
    hits = explore.search_sentences(sentences, query_word="paris")
    assert [(h.sentence.number, h.positions) for h in hits] == [(2, (0,)), (3, (2,))]
    assert explore.search_sentences(sentences, query_word="Par") == []


def test_search_by_phrase_matches_consecutive_tokens(sentences):
    hits = explore.search_sentences(sentences, query_word="new york")
    assert [(h.sentence.number, h.positions) for h in hits] == [(1, (3, 4))]


def test_search_by_tag_matches_exact_tag_or_entity_type(sentences):
    assert [h.sentence.number for h in explore.search_sentences(sentences, tag="I-per")] == [1]
    by_type = explore.search_sentences(sentences, tag="GEO")
    assert [(h.sentence.number, h.positions) for h in by_type] == [(1, (3, 4)), (2, (0,)), (3, (2,))]


def test_search_by_word_and_tag_needs_the_word_to_carry_the_tag(sentences):
    assert [h.sentence.number for h in explore.search_sentences(sentences, query_word="Anna", tag="per")] == [1, 3]
    assert explore.search_sentences(sentences, query_word="Anna", tag="geo") == []


def test_search_respects_the_limit_and_needs_a_query(sentences):
    assert len(explore.search_sentences(sentences, tag="O", limit=2)) == 2
    assert explore.search_sentences(sentences) == []
    assert explore.search_sentences(sentences, query_word="   ") == []


def test_sample_corpus_aggregations_agree_with_corpus_statistics(sample_path):
    corpus = reading.load_corpus(sample_path)
    stats = statistics.corpus_statistics(corpus.sentences)
    assert dict(zip(*explore.tag_distribution(corpus.sentences)[["tag", "tokens"]].T.values)) == stats.tags
    types = explore.entity_type_distribution(corpus.sentences)
    assert dict(zip(types["type"], types["entities"])) == stats.entities
    lengths = explore.length_histogram(corpus.sentences)
    assert {k: v for k, v in zip(lengths["length"], lengths["sentences"]) if v} == stats.length_histogram
    assert int(explore.pos_by_tag(corpus.sentences).to_numpy().sum()) == stats.tokens


def test_duplicate_agreement_compares_each_later_copy_with_the_first():
    corpus = [
        make_sentence("Iran/B-geo said/O no/O ./O", 1),
        make_sentence("Iran/B-org said/O no/O ./O", 2),  # same words, another type: a disagreement
        make_sentence("Iran/B-geo said/O no/O ./O", 3),  # agrees with the first copy
        make_sentence("Rain/O fell/O ./O", 4),
        make_sentence("Rain/O fell/O ./O", 5),  # a pair without entities
        make_sentence("Anna/B-per left/O ./O", 6),  # no copy
    ]
    agreement = explore.duplicate_agreement(corpus)
    assert (agreement.pairs, agreement.identical, agreement.entity_pairs) == (3, 2, 2)
    # The later copies against the first: one entity of two agrees -> precision = recall = 0.5.
    assert agreement.entity_f1 == pytest.approx(0.5)
    assert agreement.disagreements.to_dict("records") == [
        {"word": "Iran", "first_tag": "B-geo", "other_tag": "B-org", "count": 1}
    ]


def test_duplicate_agreement_without_duplicates_or_entities():
    none = explore.duplicate_agreement([make_sentence("Rain/O ./O", 1), make_sentence("Sun/O ./O", 2)])
    assert (none.pairs, none.identical, none.entity_pairs, none.entity_f1) == (0, 0, 0, None)
    assert list(none.disagreements.columns) == ["word", "first_tag", "other_tag", "count"] and none.disagreements.empty
    plain = explore.duplicate_agreement([make_sentence("Rain/O ./O", 1), make_sentence("Rain/O ./O", 2)])
    assert (plain.pairs, plain.identical, plain.entity_pairs, plain.entity_f1) == (1, 1, 0, None)


# --------------------------------------------------------------------------- the explorer's summary and listings


def test_browse_page_lists_sentences_from_a_one_based_start(sentences):
    page = explore.browse_page(sentences, 2, size=5)
    assert [hit.sentence.number for hit in page] == [2, 3] and all(hit.positions == () for hit in page)
    assert [hit.sentence.number for hit in explore.browse_page(sentences, 1)] == [1, 2, 3]
    assert explore.browse_page(sentences, 4) == []
    with pytest.raises(ValueError, match="at least 1"):
        explore.browse_page(sentences, 0)


def test_search_tag_options_offer_nothing_then_types_then_tags():
    assert explore.search_tag_options(["O", "B-geo", "I-geo", "B-per"]) == ["", "geo", "per", "O", "B-geo", "I-geo", "B-per"]
    assert explore.search_tag_options([]) == [""]


def test_findings_frame_and_summary_count_per_severity_and_code():
    report = annotated.ValidationReport()
    assert list(explore.findings_frame(report).columns) == explore.FINDING_COLUMNS
    assert explore.findings_summary(explore.findings_frame(report)) == ("", False)
    report.add("warning", "duplicate_sentence", "sentence 3 repeats sentence 1", sentence=3, line=9)
    report.add("warning", "duplicate_sentence", "sentence 4 repeats sentence 1", sentence=4, line=12)
    assert explore.findings_summary(explore.findings_frame(report)) == ("2 warning (duplicate_sentence).", False)
    report.add("error", "iob2_violation", "I-geo follows O", sentence=2, line=5)
    frame = explore.findings_frame(report)
    assert frame.iloc[2].to_dict() == {
        "severity": "error",
        "code": "iob2_violation",
        "sentence": 2,
        "line": 5,
        "message": "I-geo follows O",
    }
    summary, has_errors = explore.findings_summary(frame)
    assert has_errors and summary.startswith("1 error (iob2_violation), 2 warning (duplicate_sentence).")
    assert "Fix the errors" in summary


def test_agreement_warning_only_when_copies_disagree():
    agree = explore.duplicate_agreement([make_sentence("Rain/O ./O", 1), make_sentence("Rain/O ./O", 2)])
    assert explore.agreement_warning(agree) is None
    noisy = explore.duplicate_agreement([make_sentence("Iran/B-geo said/O", 1), make_sentence("Iran/B-org said/O", 2)])
    warning = explore.agreement_warning(noisy)
    assert warning.startswith("1 of 1 repeated sentences are tagged differently from their first copy.")
    assert "entity F1 0.000" in warning
    untyped = explore.duplicate_agreement([make_sentence("Rain/O ./O", 1), make_sentence("Rain/B-nat ./O", 2)])
    assert "entity F1 0.000" in explore.agreement_warning(untyped)


def test_corpus_summary_holds_every_view_of_the_sample(sample_path):
    corpus = reading.load_corpus(sample_path)
    summary = explore.corpus_summary(corpus, split_seed=7)
    assert set(summary) == {
        "report", "statistics", "tags", "types", "lengths", "top_entities", "pos_counts", "pos_shares", "oov", "agreement"
    }  # fmt: skip
    assert summary["statistics"] == statistics.corpus_statistics(corpus.sentences).to_dict()
    assert summary["tags"].equals(explore.tag_distribution(corpus.sentences))
    expected_oov = explore.oov_by_split(splitting.split_corpus(corpus.sentences, seed=7))
    assert summary["oov"].equals(expected_oov)
    assert list(summary["report"].columns) == explore.FINDING_COLUMNS
    assert explore.headline_numbers(summary["statistics"]) == {
        "Sentences": f"{len(corpus.sentences):,}",
        "Tokens": f"{sum(len(s) for s in corpus.sentences):,}",
        "Vocabulary": f"{summary['statistics']['vocabulary_size']:,}",
        "Entities": f"{sum(summary['statistics']['entities'].values()):,}",
        "Median length (tokens)": f"{summary['statistics']['length_percentiles']['p50']:.0f}",
    }


def test_headline_numbers_format_thousands_and_round_the_median():
    stats = {"sentences": 47959, "tokens": 1048575, "vocabulary_size": 35178, "entities": {"geo": 3, "per": 2}}
    stats["length_percentiles"] = {"p50": 21.5}
    assert explore.headline_numbers(stats) == {
        "Sentences": "47,959",
        "Tokens": "1,048,575",
        "Vocabulary": "35,178",
        "Entities": "5",
        "Median length (tokens)": "22",
    }
