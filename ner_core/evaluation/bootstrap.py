"""A paired bootstrap of the entity-F1 difference between two models tagging the same test sentences.

A retrained child is judged by how much its entity F1 moved from its parent's. On a few thousand
test sentences a difference of +0.002 is well inside what another draw of sentences would give, so a
bare delta invites reading noise as progress. Both models tagged the *same* sentences, so the
sentences are resampled once per round and both models are scored on that one resample: what is
common to both (a hard sentence, a rare type) cancels out, and the interval is much narrower than
two independent intervals would be (the A/B statistics of ``ner_core.traffic`` cannot pair, as
there each arm served different requests).

Entity F1 is micro F1 over strict IOB2 spans (:func:`ner_core.corpus.tags.extract_spans`, the spans
seqeval's strict mode scores), so a resample's F1 is computed from per-sentence counts of correct,
predicted and gold entities without tagging anything again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ner_core.corpus.tags import extract_spans
from ner_core.errors import ConfigError
from ner_core.evaluation.spans import check_pair

COUNT_COLUMNS = ("correct", "predicted", "gold")
DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
MIN_RESAMPLES, MAX_RESAMPLES = 100, 100_000
# Resamples are drawn in chunks of about this many sentence picks, so memory stays bounded on any test split.
_CHUNK_PICKS = 2_000_000


def sentence_entity_counts(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> np.ndarray:
    """``[sentences, 3]`` integer counts per sentence: correct, predicted and gold entities (strict IOB2)."""
    check_pair(gold, predicted)
    rows = []
    for gold_tags, predicted_tags in zip(gold, predicted):
        gold_spans, predicted_spans = set(extract_spans(gold_tags)), set(extract_spans(predicted_tags))
        rows.append((len(gold_spans & predicted_spans), len(predicted_spans), len(gold_spans)))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def micro_f1(totals: np.ndarray) -> np.ndarray:
    """F1 from (correct, predicted, gold) totals along the last axis: 2c / (p + g), 0 where nothing was found or expected."""
    totals = np.asarray(totals, dtype=float)
    correct, denominator = 2 * totals[..., 0], totals[..., 1] + totals[..., 2]
    return np.divide(correct, denominator, out=np.zeros_like(correct), where=denominator > 0)


@dataclass(frozen=True)
class PairedF1Difference:
    """The entity-F1 gain of a candidate over a baseline on the same sentences, with its bootstrap interval."""

    baseline_f1: float
    candidate_f1: float
    gain: float  # candidate - baseline on all the sentences
    low: float
    high: float
    confidence: float
    sentences: int
    resamples: int
    seed: int
    share_not_better: float  # share of resamples in which the candidate's F1 is not above the baseline's

    @property
    def significant(self) -> bool:
        """True when the interval leaves out 0: the sign of the gain is not an accident of the sentences drawn."""
        return self.low > 0 or self.high < 0

    def verdict(self) -> str:
        """One sentence a page or a report can show under the numbers."""
        level = f"{self.confidence:.0%}"
        if self.low > 0:
            return f"The child is better: the {level} interval of the gain lies above 0."
        if self.high < 0:
            return f"The child is worse: the {level} interval of the gain lies below 0."
        return (
            f"No measurable difference: the {level} interval of the gain includes 0, "
            "so the gain can be an accident of which test sentences there are."
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant}


def _check_settings(resamples: int, confidence: float) -> None:
    if isinstance(resamples, bool) or not isinstance(resamples, int) or not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        raise ConfigError(f"the bootstrap needs {MIN_RESAMPLES} to {MAX_RESAMPLES:,} resamples, got {resamples!r}.")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.5 <= confidence < 1:
        raise ConfigError(f"the interval's confidence must be at least 0.5 and below 1, got {confidence!r}.")


def _counts(values, name: str) -> np.ndarray:
    counts = np.asarray(values, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != 3:
        raise ValueError(f"{name} must be [sentences, 3] counts (correct, predicted, gold), got shape {counts.shape}")
    if (counts < 0).any() or (counts[:, 0] > counts[:, 1:].min(axis=1)).any():
        raise ValueError(f"{name}: a count is negative or more entities are correct than were predicted or expected")
    return counts


def paired_f1_difference(
    baseline_counts,
    candidate_counts,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedF1Difference:
    """Percentile bootstrap of candidate F1 minus baseline F1, resampling sentences with replacement.

    Row ``i`` of both count arrays must be the same sentence (from :func:`sentence_entity_counts`);
    every resample draws one set of sentence indices and scores both models on it. Seeded, so the same
    inputs always give the same interval.
    """
    _check_settings(resamples, confidence)
    baseline, candidate = _counts(baseline_counts, "baseline counts"), _counts(candidate_counts, "candidate counts")
    if len(baseline) != len(candidate):
        raise ValueError(f"the models were scored on different sentences: {len(baseline)} rows against {len(candidate)}")
    if len(baseline) == 0:
        raise ConfigError("there are no test sentences to resample.")
    both = np.concatenate([baseline, candidate], axis=1)  # one gather per column serves both models
    sentences = len(both)
    rng = np.random.default_rng(seed)
    differences = np.empty(resamples)
    step = max(1, _CHUNK_PICKS // sentences)
    for first in range(0, resamples, step):
        size = min(step, resamples - first)
        picks = rng.integers(0, sentences, size=(size, sentences))
        totals = np.stack([both[:, column][picks].sum(axis=1) for column in range(6)], axis=1)
        differences[first : first + size] = micro_f1(totals[:, 3:]) - micro_f1(totals[:, :3])
    alpha = 1 - confidence
    low, high = np.quantile(differences, [alpha / 2, 1 - alpha / 2])
    baseline_f1, candidate_f1 = float(micro_f1(baseline.sum(axis=0))), float(micro_f1(candidate.sum(axis=0)))
    return PairedF1Difference(
        baseline_f1=baseline_f1,
        candidate_f1=candidate_f1,
        gain=candidate_f1 - baseline_f1,
        low=float(low),
        high=float(high),
        confidence=float(confidence),
        sentences=sentences,
        resamples=resamples,
        seed=seed,
        share_not_better=float(np.mean(differences <= 0)),
    )
