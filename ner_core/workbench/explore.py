"""Aggregations behind the data explorer: plain DataFrames a chart or a table can draw.

Every function takes sentences (``ner_core.corpus.annotated.Sentence``) and returns a
DataFrame with fixed columns, also when there is nothing to count, so a page
never special-cases an empty corpus. Entities are counted with strict IOB2
extraction (:func:`ner_core.corpus.tags.extract_spans`), the same spans the metrics
score and the highlighter draws.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas

from ner_core.corpus import annotated, splitting, statistics
from ner_core.corpus import tags as tagging
from ner_core.evaluation import scoring
from ner_core.workbench import app_wording

SEARCH_LIMIT = 50
BROWSE_PAGE = 10
FINDING_COLUMNS = ["severity", "code", "sentence", "line", "message"]


def tag_distribution(sentences: Iterable[annotated.Sentence]) -> pandas.DataFrame:
    """Tokens per tag, most frequent first: columns ``tag``, ``tokens``, ``share``."""
    counts = statistics.tag_counts(sentences)
    frame = pandas.DataFrame({"tag": list(counts), "tokens": list(counts.values())}, columns=["tag", "tokens"])
    return _with_share(frame.astype({"tokens": "int64"}), "tokens")


def entity_type_distribution(sentences: Iterable[annotated.Sentence]) -> pandas.DataFrame:
    """Entities and entity tokens per type: columns ``type``, ``entities``, ``tokens``, ``share``."""
    entities: collections.Counter = collections.Counter()
    tokens: collections.Counter = collections.Counter()
    for sentence in sentences:
        for span in tagging.extract_spans(sentence.tags):
            entities[span.type] += 1
            tokens[span.type] += span.end - span.start
    ordered = [kind for kind, _ in entities.most_common()]
    frame = pandas.DataFrame(
        {"type": ordered, "entities": [entities[k] for k in ordered], "tokens": [tokens[k] for k in ordered]},
        columns=["type", "entities", "tokens"],
    ).astype({"entities": "int64", "tokens": "int64"})
    return _with_share(frame, "entities")


def length_histogram(sentences: Iterable[annotated.Sentence]) -> pandas.DataFrame:
    """Sentences per length in tokens, every length from the shortest to the longest: ``length``, ``sentences``."""
    counts = collections.Counter(len(s) for s in sentences)
    lengths = list(range(min(counts), max(counts) + 1)) if counts else []
    return pandas.DataFrame(
        {"length": lengths, "sentences": [counts.get(n, 0) for n in lengths]}, columns=["length", "sentences"]
    ).astype("int64")


def top_entities(sentences: Iterable[annotated.Sentence], per_type: int = 10) -> pandas.DataFrame:
    """The most frequent entity texts of each type: ``type``, ``entity``, ``count``, ``rank`` (1 = most frequent).

    Types are ordered by their total number of entities; ties within a type
    go to the text seen first, so the table is stable between renders.
    """
    if per_type < 1:
        raise ValueError(f"per_type must be at least 1, got {per_type}")
    by_type: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for sentence in sentences:
        for span in tagging.extract_spans(sentence.tags):
            by_type[span.type][" ".join(sentence.words[span.start : span.end])] += 1
    rows = []
    for kind in sorted(by_type, key=lambda k: (-sum(by_type[k].values()), k)):
        for rank, (text, count) in enumerate(by_type[kind].most_common(per_type), start=1):
            rows.append({"type": kind, "entity": text, "count": count, "rank": rank})
    return pandas.DataFrame(rows, columns=["type", "entity", "count", "rank"]).astype({"count": "int64", "rank": "int64"})


def pos_by_tag(sentences: Iterable[annotated.Sentence], *, normalize: bool = False) -> pandas.DataFrame:
    """Tokens per (POS, tag): POS tags as rows, NER tags as columns; empty when the corpus has no POS.

    With ``normalize`` each column sums to 1 ("which parts of speech carry
    this tag"); a tag column with no tokens stays zero rather than NaN.
    """
    counts: collections.Counter = collections.Counter()
    for sentence in sentences:
        if sentence.pos is None:
            continue
        counts.update((pos, tag) for pos, tag in zip(sentence.pos, sentence.tags) if pos)
    if not counts:
        return pandas.DataFrame(index=pandas.Index([], name="pos"), columns=pandas.Index([], name="tag"), dtype="float64")
    series = pandas.Series(counts, dtype="int64")
    series.index = series.index.set_names(["pos", "tag"])
    frame = series.unstack("tag", fill_value=0)
    frame = frame.loc[frame.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    frame = frame[sorted(frame.columns, key=_tag_order)]
    if normalize:
        totals = frame.sum(axis=0)
        frame = frame.astype("float64").div(totals.where(totals > 0, 1), axis=1)
    return frame


def oov_by_split(splits: annotated.DatasetSplits) -> pandas.DataFrame:
    """Out-of-vocabulary tokens of each split against the training vocabulary (exact word forms).

    Columns ``split``, ``sentences``, ``tokens``, ``oov_tokens``, ``oov_rate``;
    the train row is 0 by definition and is kept so the bars line up.
    """
    known = statistics.vocabulary(splits.train)
    rows = []
    for name, part in splits.items():
        tokens = sum(len(s) for s in part)
        unknown = sum(1 for s in part for w in s.words if w not in known)
        rows.append(
            {
                "split": name,
                "sentences": len(part),
                "tokens": tokens,
                "oov_tokens": unknown,
                "oov_rate": unknown / tokens if tokens else 0.0,
            }
        )
    return pandas.DataFrame(rows, columns=["split", "sentences", "tokens", "oov_tokens", "oov_rate"])


@dataclass(frozen=True)
class DuplicateAgreement:
    """How consistently the annotators tagged sentences that occur more than once with the same words.

    Each later copy is compared with the first. ``entity_f1`` scores the later copies' tags against the
    first copies' (seqeval strict IOB2) over the pairs where either copy has an entity; None when no pair
    has one. A model tags both copies alike, so wherever they disagree it is wrong on at least one: this
    is label noise that no model can learn away, and it is counted in every score on the corpus.
    """

    pairs: int
    identical: int
    entity_pairs: int
    entity_f1: float | None
    disagreements: pandas.DataFrame  # word, first_tag, other_tag, count: most common first


def duplicate_agreement(sentences: Iterable[annotated.Sentence], top: int = 10) -> DuplicateAgreement:
    first_tags: dict[tuple[str, ...], list[str]] = {}
    pairs: list[tuple[tuple[str, ...], list[str], list[str]]] = []  # words, first copy's tags, later copy's tags
    for sentence in sentences:
        words = tuple(sentence.words)
        if words in first_tags:
            pairs.append((words, first_tags[words], list(sentence.tags)))
        else:
            first_tags[words] = list(sentence.tags)
    differences: collections.Counter = collections.Counter()
    for words, first, other in pairs:
        differences.update((word, a, b) for word, a, b in zip(words, first, other) if a != b)
    with_entities = [(first, other) for _, first, other in pairs if any(tag != tagging.OUTSIDE for tag in first + other)]
    frame = pandas.DataFrame(
        [{"word": word, "first_tag": a, "other_tag": b, "count": count} for (word, a, b), count in differences.most_common(top)],
        columns=["word", "first_tag", "other_tag", "count"],
    )
    entity_f1 = (
        scoring.entity_f1([first for first, _ in with_entities], [other for _, other in with_entities]) if with_entities else None
    )
    return DuplicateAgreement(
        pairs=len(pairs),
        identical=sum(first == other for _, first, other in pairs),
        entity_pairs=len(with_entities),
        entity_f1=entity_f1,
        disagreements=frame,
    )


@dataclass(frozen=True)
class SearchHit:
    """A matching sentence and the token positions that matched (for underlining)."""

    sentence: annotated.Sentence
    positions: tuple[int, ...]


def search_sentences(
    sentences: Sequence[annotated.Sentence], query_word: str | None = None, tag: str | None = None, limit: int = SEARCH_LIMIT
) -> list[SearchHit]:
    """Sentences containing a word (or phrase) and/or a tag, in corpus order, at most ``limit``.

    ``query_word`` matches whole tokens case-insensitively; several words
    match consecutive tokens. ``tag`` matches a token whose tag is exactly
    ``tag`` (``B-geo``) or whose entity type is ``tag`` (``geo``), ignoring
    case. Given both, the word (or one token of the phrase) must carry the
    tag: "Paris" as ``geo``, not any sentence with Paris and some place.
    Given neither, there is nothing to search for and the result is empty.
    """
    words = [w.casefold() for w in (query_word or "").split()]
    wanted_tag = (tag or "").strip().casefold()
    if not words and not wanted_tag:
        return []
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    hits: list[SearchHit] = []
    for sentence in sentences:
        positions: list[int] = []
        for start, end in _candidate_spans(sentence.words, words):
            if not wanted_tag or any(_tag_matches(sentence.tags[i], wanted_tag) for i in range(start, end)):
                positions.extend(range(start, end))
        if positions:
            hits.append(SearchHit(sentence, tuple(sorted(set(positions)))))
            if len(hits) >= limit:
                break
    return hits


def browse_page(sentences: Sequence[annotated.Sentence], start: int, size: int = BROWSE_PAGE) -> list[SearchHit]:
    """``size`` sentences from the 1-based ``start``, as hits without matched tokens (the explorer's plain listing)."""
    if start < 1 or size < 1:
        raise ValueError(f"start and size must be at least 1, got start={start}, size={size}")
    return [SearchHit(sentence, ()) for sentence in sentences[start - 1 : start - 1 + size]]


def search_tag_options(tag_names: Sequence[str]) -> list[str]:
    """What the sentence search can look for: nothing (``""``), each entity type, then each tag."""
    return ["", *tagging.entity_types(tag_names), *tag_names]


# --------------------------------------------------------------------------- the explorer's summary


def findings_frame(report: annotated.ValidationReport) -> pandas.DataFrame:
    """The validation findings as a table with fixed columns (also when there are none), in the app's words."""
    frame = pandas.DataFrame(report.to_records(), columns=FINDING_COLUMNS)
    frame["message"] = frame["message"].map(app_wording.for_app)
    return frame


def findings_summary(findings: pandas.DataFrame) -> tuple[str, bool]:
    """One line counting the findings per severity and code, and whether any of them is an error.

    With errors the line says to fix them before training; no findings give ``("", False)``.
    """
    if findings.empty:
        return "", False
    counts = findings.groupby(["severity", "code"]).size().rename("findings").reset_index()
    errors = int((findings["severity"] == "error").sum())
    summary = ", ".join(f"{row.findings:,} {row.severity} ({row.code})" for row in counts.itertuples())
    advice = f' Fix the errors (or turn on "{app_wording.REPAIR_TOGGLE}") before training on this file.' if errors else ""
    return f"{summary}.{advice}", bool(errors)


def agreement_warning(agreement: DuplicateAgreement) -> str | None:
    """What to tell about repeated sentences tagged differently from their first copy; None when all agree."""
    conflicting = agreement.pairs - agreement.identical
    if not conflicting:
        return None
    score = (
        ""
        if agreement.entity_f1 is None
        else f" Scored against the first copies, the later copies reach entity F1 {agreement.entity_f1:.3f}."
    )
    return (
        f"{conflicting:,} of {agreement.pairs:,} repeated sentences are tagged differently from their first "
        f"copy.{score} Models trained and scored on this corpus inherit that disagreement."
    )


def headline_numbers(stats: dict) -> dict[str, str]:
    """The explorer's headline numbers, formatted, from :meth:`CorpusStatistics.to_dict` (label -> value)."""
    return {
        "Sentences": f"{stats['sentences']:,}",
        "Tokens": f"{stats['tokens']:,}",
        "Vocabulary": f"{stats['vocabulary_size']:,}",
        "Entities": f"{sum(stats['entities'].values()):,}",
        "Median length (tokens)": f"{stats['length_percentiles']['p50']:.0f}",
    }


def corpus_summary(corpus: annotated.Corpus, *, split_seed: int = splitting.DEFAULT_SEED) -> dict:
    """Everything the explorer draws about a corpus, computed once: findings, statistics, every distribution,
    OOV rates of the deterministic split with ``split_seed`` and the agreement of repeated sentences."""
    sentences = corpus.sentences
    return {
        "report": findings_frame(corpus.report),
        "statistics": statistics.corpus_statistics(sentences).to_dict(),
        "tags": tag_distribution(sentences),
        "types": entity_type_distribution(sentences),
        "lengths": length_histogram(sentences),
        "top_entities": top_entities(sentences, per_type=10),
        "pos_counts": pos_by_tag(sentences),
        "pos_shares": pos_by_tag(sentences, normalize=True),
        "oov": oov_by_split(splitting.split_corpus(sentences, seed=split_seed)),
        "agreement": duplicate_agreement(sentences),
    }


def _candidate_spans(sentence_words: Sequence[str], phrase: Sequence[str]) -> list[tuple[int, int]]:
    """Token ranges where the phrase occurs; every single token when there is no phrase."""
    if not phrase:
        return [(i, i + 1) for i in range(len(sentence_words))]
    width = len(phrase)
    folded = [w.casefold() for w in sentence_words]
    return [(i, i + width) for i in range(len(folded) - width + 1) if folded[i : i + width] == list(phrase)]


def _tag_matches(token_tag: str, wanted: str) -> bool:
    return token_tag.casefold() == wanted or tagging.split_tag(token_tag)[1].casefold() == wanted


def _tag_order(tag: str) -> tuple[int, str, str]:
    """O first, then by type with B- before I-."""
    prefix, kind = tagging.split_tag(tag)
    return (0 if tag == tagging.OUTSIDE else 1, kind, prefix)


def _with_share(frame: pandas.DataFrame, column: str) -> pandas.DataFrame:
    total = frame[column].sum()
    frame["share"] = frame[column] / total if total else 0.0
    return frame.reset_index(drop=True)
