"""Counts that describe a corpus: tags, entities, vocabulary, OOV rate per split."""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ner_core.corpus import tags as tagging
from ner_core.corpus.annotated import DatasetSplits, Sentence
from ner_core.errors import DataFormatError

# --------------------------------------------------------------------------- statistics


def tag_counts(sentences: Iterable[Sentence]) -> dict[str, int]:
    return dict(collections.Counter(t for s in sentences for t in s.tags).most_common())


def entity_counts(sentences: Iterable[Sentence]) -> dict[str, int]:
    """Entities per type under strict IOB2 extraction."""
    counter: collections.Counter = collections.Counter()
    for sentence in sentences:
        counter.update(span.type for span in tagging.extract_spans(sentence.tags))
    return dict(counter.most_common())


def vocabulary(sentences: Iterable[Sentence]) -> set[str]:
    return {w for s in sentences for w in s.words}


def oov_rate(sentences: Sequence[Sentence], known_words: set[str]) -> float:
    """Share of tokens whose exact form never occurs in ``known_words`` (case kept, as the model sees it)."""
    total = sum(len(s) for s in sentences)
    if total == 0:
        return 0.0
    unknown = sum(1 for s in sentences for w in s.words if w not in known_words)
    return unknown / total


@dataclass
class CorpusStatistics:
    sentences: int
    tokens: int
    tags: dict[str, int]
    entities: dict[str, int]
    length_min: int
    length_max: int
    length_mean: float
    length_percentiles: dict[str, float]
    length_histogram: dict[int, int]
    vocabulary_size: int
    oov_rate: dict[str, float]
    split_sizes: dict[str, int]

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def corpus_statistics(sentences: Sequence[Sentence], splits: DatasetSplits | None = None) -> CorpusStatistics:
    lengths = sorted(len(s) for s in sentences)
    if not lengths:
        raise DataFormatError("no sentences to describe.")

    def percentile(q: float) -> float:
        position = (len(lengths) - 1) * q
        low, high = math.floor(position), math.ceil(position)
        return float(lengths[low] + (lengths[high] - lengths[low]) * (position - low))

    oov: dict[str, float] = {}
    sizes: dict[str, int] = {}
    if splits is not None:
        train_words = vocabulary(splits.train)
        oov = {"validation": oov_rate(splits.validation, train_words), "test": oov_rate(splits.test, train_words)}
        sizes = {name: len(part) for name, part in splits.items()}
    return CorpusStatistics(
        sentences=len(sentences),
        tokens=sum(lengths),
        tags=tag_counts(sentences),
        entities=entity_counts(sentences),
        length_min=lengths[0],
        length_max=lengths[-1],
        length_mean=sum(lengths) / len(lengths),
        length_percentiles={"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99)},
        length_histogram=dict(sorted(collections.Counter(lengths).items())),
        vocabulary_size=len(vocabulary(sentences)),
        oov_rate=oov,
        split_sizes=sizes,
    )
