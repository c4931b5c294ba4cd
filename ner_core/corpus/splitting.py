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
from ner_core.errors import ConfigError

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


# The smallest stratum that gives every split a sentence (cuts at round(0.6 n) and round(0.8 n)):
# 4 sentences go 2/1/1; 3 go 2/0/1 and 1 or 2 go to training whole.
STRATUM_SENTENCES_FOR_EVERY_SPLIT = 4


def require_usable_split(splits: DatasetSplits, *, source: str, need_test: bool = True) -> None:
    """Raise :class:`ConfigError` when a split that training needs came out empty, saying what the file needs.

    Sentences are grouped by their rarest entity type before they are cut, and a
    group of fewer than four goes to training whole, so a file of 8 sentences
    with 8 different rare types has no validation split at all.
    """
    empty = [name for name, part in splits.items() if not part and (need_test or name != "test")]
    if not empty:
        return
    sizes = "/".join(str(len(part)) for _, part in splits.items())
    raise ConfigError(
        f"{source}: its {' and '.join(empty)} split would be empty (train/validation/test = {sizes} sentences). "
        f"Sentences are grouped by their rarest entity type and each group is split 60/20/20, so a group needs at "
        f"least {STRATUM_SENTENCES_FOR_EVERY_SPLIT} sentences to reach every split: add sentences (more of one kind, "
        "or sentences without entities)."
    )
