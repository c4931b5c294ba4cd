"""Entity-level error analysis over strict IOB2 spans: the missed / spurious /
wrong-type / wrong-boundary breakdown and partial-match entity F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ner_core.corpus.tags import Span, extract_spans


@dataclass
class EntityErrorBreakdown:
    """Why predicted entities are wrong, which a single F1 hides."""

    correct: int = 0
    missed: int = 0
    spurious: int = 0
    wrong_type: int = 0
    wrong_boundary: int = 0

    @property
    def total_errors(self) -> int:
        return self.missed + self.spurious + self.wrong_type + self.wrong_boundary


# --------------------------------------------------------------------------
# Span-level analysis
# --------------------------------------------------------------------------


def check_pair(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    """Reject misaligned input before any library silently scores it."""
    if isinstance(gold, str) or isinstance(pred, str):
        raise ValueError("gold and pred must be lists of sentences, each a list of tags")
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences but pred has {len(pred)}")
    for index, (gold_tags, pred_tags) in enumerate(zip(gold, pred)):
        # A flat list of tags would otherwise be read as sentences of characters.
        if isinstance(gold_tags, str) or isinstance(pred_tags, str):
            raise ValueError(
                f"sentence {index} is a string, not a list of tags; pass a list of sentences, each a list of tag strings"
            )
        if len(gold_tags) != len(pred_tags):
            raise ValueError(
                f"sentence {index}: gold has {len(gold_tags)} tags but pred has "
                f"{len(pred_tags)}; predictions must be cut to the sentence's real length"
            )


def _overlaps(first: Span, second: Span) -> bool:
    return first.start < second.end and second.start < first.end


def _same_boundaries(first: Span, second: Span) -> bool:
    return first.start == second.start and first.end == second.end


SentenceSpans = list[tuple[list[Span], list[Span]]]


def _sentence_spans(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> SentenceSpans:
    """(gold spans, predicted spans) per sentence, extracted once and shared."""
    return [(extract_spans(g), extract_spans(p)) for g, p in zip(gold, pred)]


def entity_error_breakdown(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> EntityErrorBreakdown:
    """Classify every predicted span and every unexplained gold span.

    Each predicted span lands in exactly one of correct / wrong_type /
    wrong_boundary / spurious. A gold span is "missed" only when no predicted
    span touches it; a gold span overlapped by a wrong prediction is already
    explained by that prediction's error, so it is not counted twice.
    """
    check_pair(gold, pred)
    return _breakdown_from_spans(_sentence_spans(gold, pred))


def _breakdown_from_spans(sentence_spans: SentenceSpans) -> EntityErrorBreakdown:
    breakdown = EntityErrorBreakdown()
    for gold_spans, pred_spans in sentence_spans:
        gold_set = set(gold_spans)
        for span in pred_spans:
            if span in gold_set:
                breakdown.correct += 1
                continue
            overlapped = [g for g in gold_spans if _overlaps(span, g)]
            if not overlapped:
                breakdown.spurious += 1
            elif any(_same_boundaries(span, g) for g in overlapped):
                breakdown.wrong_type += 1
            else:
                breakdown.wrong_boundary += 1
        pred_set = set(pred_spans)
        breakdown.missed += sum(1 for g in gold_spans if g not in pred_set and not any(_overlaps(g, p) for p in pred_spans))
    return breakdown


def partial_entity_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Credit near-misses half, so boundary-only errors are told from total misses.

    Exact matches are taken first; then each remaining predicted span, left to
    right, takes the first still-unmatched gold span of its type that it
    overlaps. Unlike nervaluate's type-blind "partial", the type must agree, as
    the spec asks. 0.0 when there is no predicted or no gold span.
    """
    check_pair(gold, pred)
    return _partial_f1_from_spans(_sentence_spans(gold, pred))


def _partial_f1_from_spans(sentence_spans: SentenceSpans) -> float:
    exact = partial = predicted_total = gold_total = 0
    for gold_spans, pred_spans in sentence_spans:
        gold_total += len(gold_spans)
        predicted_total += len(pred_spans)
        unmatched_gold = list(gold_spans)
        leftovers: list[Span] = []
        for span in pred_spans:
            if span in unmatched_gold:
                unmatched_gold.remove(span)
                exact += 1
            else:
                leftovers.append(span)
        for span in leftovers:
            for candidate in unmatched_gold:
                if candidate.type == span.type and _overlaps(span, candidate):
                    unmatched_gold.remove(candidate)
                    partial += 1
                    break
    if predicted_total == 0 or gold_total == 0:
        return 0.0
    credit = exact + 0.5 * partial
    precision = credit / predicted_total
    recall = credit / gold_total
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
