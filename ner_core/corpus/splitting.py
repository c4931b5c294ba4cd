"""The seeded, entity-stratified 60/20/20 train/validation/test split.

Every consumer that rebuilds a run's test split calls :func:`split_corpus` with the
run's recorded seed, so a split is a fact of (dataset, seed), not of who asks.
"""

from __future__ import annotations

import collections
import math
import random
from collections.abc import Sequence

from ner_core.corpus import tags as tagging
from ner_core.corpus.annotated import DatasetSplits, Sentence
from ner_core.corpus.statistics import entity_counts

# The seed of every default split: TrainConfig's default, the CLI's, the explorer's OOV rates.
DEFAULT_SEED = 42
SPLIT_NAMES = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


# --------------------------------------------------------------------------- splitting


def stratum_of(sentence: Sentence, type_frequency: dict[str, int]) -> str:
    """The rarest entity type in the sentence, so rare types reach every split."""
    kinds = {tagging.split_tag(t)[1] for t in sentence.tags} - {""}
    if not kinds:
        return ""
    return min(kinds, key=lambda kind: (type_frequency.get(kind, 0), kind))


def split_corpus(
    sentences: Sequence[Sentence], *, seed: int = DEFAULT_SEED, fractions: Sequence[float] = SPLIT_FRACTIONS
) -> DatasetSplits:
    """Deterministic train/validation/test split, stratified by each sentence's rarest entity type.

    Each stratum is shuffled with its own seeded generator and cut at the
    cumulative fractions, so the split is the same on every machine and a
    change in one stratum does not move sentences of another.
    """
    if len(fractions) != 3 or not math.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    frequency = entity_counts(sentences)
    strata: dict[str, list[int]] = collections.defaultdict(list)
    for index, sentence in enumerate(sentences):
        strata[stratum_of(sentence, frequency)].append(index)
    assignment: dict[int, int] = {}
    for name in sorted(strata):
        members = strata[name]
        random.Random(f"{seed}:{name}").shuffle(members)
        cut_train = round(len(members) * fractions[0])
        cut_validation = round(len(members) * (fractions[0] + fractions[1]))
        for rank, index in enumerate(members):
            assignment[index] = 0 if rank < cut_train else 1 if rank < cut_validation else 2
    parts: list[list[Sentence]] = [[], [], []]
    for index, sentence in enumerate(sentences):
        parts[assignment[index]].append(sentence)
    return DatasetSplits(*parts)
