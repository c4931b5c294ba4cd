"""The metric registry and the evaluation of predicted tags against gold tags.

Every page, the CLI and the benchmark render metrics from :data:`METRICS`, so a
metric is named, defined and given a direction in exactly one place. Quality
metrics (1-16) are computed here from tags; efficiency metrics (17-23) are
measured by training and inference code and only described here.

Inputs are sentences of tag strings holding REAL tokens only: padding has been
cut off by the caller. The one metric that talks about padding,
``token_accuracy_padded``, reconstructs the padded positions from ``max_len``
rather than trusting the caller to hand them over, so the number cannot drift
with how a particular model happens to pad.

Entity spans come from :func:`ner_core.tags.extract_spans` (strict IOB2) and
entity scores from seqeval in ``mode="strict", scheme=IOB2``; the two agree on
what an entity is, so the spans users see are the spans we score.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy
import pandas
from seqeval.metrics import classification_report as seqeval_classification_report
from seqeval.scheme import IOB2
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import matthews_corrcoef, precision_recall_fscore_support

from ner_core.tags import OUTSIDE, PAD_TAG, Span, extract_spans, split_tag

# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

GROUPS = ("token", "entity", "sequence", "errors", "efficiency")
UNITS = ("ratio", "count", "ms", "s", "MB", "tokens/s", "params", "epochs")

_NO_REPAIR = (
    "predictions are scored as the predictor returns them (no extra IOB2 repair); "
    "a stray I-X starts no entity"
)


@dataclass(frozen=True)
class MetricSpec:
    """One row of the metric table in the spec; the only place a metric is defined."""

    key: str
    name: str
    group: str
    definition: str
    higher_is_better: bool
    unit: str

    def __post_init__(self) -> None:
        # Caught at import time, so a typo in the registry cannot reach a page.
        if self.group not in GROUPS:
            raise ValueError(f"metric {self.key!r}: group {self.group!r} is not one of {GROUPS}")
        if self.unit not in UNITS:
            raise ValueError(f"metric {self.key!r}: unit {self.unit!r} is not one of {UNITS}")


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "token_accuracy",
        "Token accuracy",
        "token",
        "Correct tags / real tokens (padding never counted).",
        True,
        "ratio",
    ),
    MetricSpec(
        "token_accuracy_padded",
        "Token accuracy (padded)",
        "token",
        "Correct tags / all positions including padding, as the original design reported "
        "it: each sentence fills ceil(n / max_len) windows of max_len and every padding "
        "position counts as correct, which is why 99.9% 'accuracy' says little. Equals "
        "token accuracy when no max_len is known.",
        True,
        "ratio",
    ),
    MetricSpec(
        "token_precision_macro",
        "Token precision (macro)",
        "token",
        "Unweighted mean over entity tags (O and padding excluded) of per-tag precision "
        "on real tokens, scikit-learn; a tag never predicted scores 0.",
        True,
        "ratio",
    ),
    MetricSpec(
        "token_recall_macro",
        "Token recall (macro)",
        "token",
        "Unweighted mean over entity tags (O and padding excluded) of per-tag recall on "
        "real tokens, scikit-learn.",
        True,
        "ratio",
    ),
    MetricSpec(
        "token_f1_macro",
        "Token F1 (macro)",
        "token",
        "Unweighted mean over entity tags (O and padding excluded) of per-tag F1 on real "
        "tokens, scikit-learn.",
        True,
        "ratio",
    ),
    MetricSpec(
        "token_mcc",
        "Token MCC",
        "token",
        "Matthews correlation between gold and predicted tags over real tokens, all tags "
        "including O; 0 when only one tag occurs.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_precision",
        "Entity precision",
        "entity",
        "Exactly matching predicted spans / predicted spans, micro over types, seqeval "
        f"strict IOB2; {_NO_REPAIR}.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_recall",
        "Entity recall",
        "entity",
        "Exactly matching predicted spans / gold spans, micro over types, seqeval strict "
        f"IOB2; {_NO_REPAIR}.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_f1",
        "Entity F1",
        "entity",
        "Micro F1 over entity spans (exact boundaries and type), seqeval strict IOB2 — "
        f"the headline quality number; {_NO_REPAIR}.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_f1_macro",
        "Entity F1 (macro)",
        "entity",
        "Unweighted mean of per-type span F1, seqeval strict IOB2; rare types count as "
        "much as common ones.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_f1_weighted",
        "Entity F1 (weighted)",
        "entity",
        "Per-type span F1 weighted by gold support, seqeval strict IOB2.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_f1_partial",
        "Entity F1 (partial)",
        "entity",
        "F1 where an exact span counts 1 and a predicted span of the right type that "
        "overlaps a still-unmatched gold span counts 0.5 (SemEval-2013 partial scheme, "
        "as in nervaluate, but type must agree); each gold span matched at most once.",
        True,
        "ratio",
    ),
    MetricSpec(
        "sequence_accuracy",
        "Sequence accuracy",
        "sequence",
        "Sentences with every tag right / sentences.",
        True,
        "ratio",
    ),
    MetricSpec(
        "exact_match_count",
        "Exact matches",
        "sequence",
        "Number of sentences with every tag right.",
        True,
        "count",
    ),
    MetricSpec(
        "token_error_count",
        "Token errors",
        "errors",
        "Real tokens with a wrong tag.",
        False,
        "count",
    ),
    MetricSpec(
        "entity_error_count",
        "Entity errors",
        "errors",
        "Missed + spurious + wrong-type + wrong-boundary entities (each also shown "
        "separately in the error analysis).",
        False,
        "count",
    ),
    MetricSpec(
        "parameter_count",
        "Parameters",
        "efficiency",
        "Trainable + non-trainable parameters of the model.",
        False,
        "params",
    ),
    MetricSpec(
        "model_size_mb",
        "Model size",
        "efficiency",
        "Size on disk of the saved model file, in megabytes (10^6 bytes).",
        False,
        "MB",
    ),
    MetricSpec(
        "training_time_s",
        "Training time",
        "efficiency",
        "Measured wall seconds of fit.",
        False,
        "s",
    ),
    MetricSpec(
        "epochs_trained",
        "Epochs trained",
        "efficiency",
        "Epochs actually run, early stopping included.",
        False,
        "epochs",
    ),
    MetricSpec(
        "latency_p50_ms",
        "Latency p50",
        "efficiency",
        "Median wall time to tag one sentence through the app's predictor, after "
        "warm-up, over at least 200 test sentences; machine recorded.",
        False,
        "ms",
    ),
    MetricSpec(
        "latency_p95_ms",
        "Latency p95",
        "efficiency",
        "95th percentile of the same single-sentence wall times; machine recorded.",
        False,
        "ms",
    ),
    MetricSpec(
        "throughput_tokens_per_s",
        "Throughput",
        "efficiency",
        "Real tokens tagged per second in batched prediction over the whole test split; "
        "machine recorded.",
        True,
        "tokens/s",
    ),
)

METRIC_KEYS: tuple[str, ...] = tuple(spec.key for spec in METRICS)
QUALITY_KEYS: tuple[str, ...] = tuple(s.key for s in METRICS if s.group != "efficiency")
EFFICIENCY_KEYS: tuple[str, ...] = tuple(s.key for s in METRICS if s.group == "efficiency")

_SPECS_BY_KEY: dict[str, MetricSpec] = {spec.key: spec for spec in METRICS}


def metric_spec(key: str) -> MetricSpec:
    try:
        return _SPECS_BY_KEY[key]
    except KeyError:
        raise ValueError(
            f"unknown metric {key!r}; valid metric keys are: {', '.join(METRIC_KEYS)}"
        ) from None


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------

PER_TYPE_COLUMNS = ("precision", "recall", "f1", "support")


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


# eq=False: the generated __eq__ would compare a DataFrame and an ndarray with
# ``==``, which raises instead of answering; compare the fields explicitly.
@dataclass(eq=False)
class Evaluation:
    """Everything the comparison page shows about one model's test-split tags."""

    values: dict[str, float]
    per_type: pandas.DataFrame
    confusion_labels: list[str]
    confusion: numpy.ndarray
    errors: EntityErrorBreakdown = field(default_factory=EntityErrorBreakdown)

    def confusion_frame(self, normalize: bool = False) -> pandas.DataFrame:
        """Gold x predicted table; normalised rows read as "where did gold X go".

        A gold tag with no tokens gets a row of zeros, not NaN, so heatmaps and
        JSON never see NaN.
        """
        matrix = self.confusion.astype(float) if normalize else self.confusion.copy()
        if normalize:
            row_totals = matrix.sum(axis=1, keepdims=True)
            matrix = numpy.divide(
                matrix, row_totals, out=numpy.zeros_like(matrix), where=row_totals > 0
            )
        return pandas.DataFrame(
            matrix,
            index=pandas.Index(self.confusion_labels, name="gold"),
            columns=pandas.Index(self.confusion_labels, name="predicted"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only, so a run folder's metrics file needs no pickle."""
        return {
            "values": {key: float(value) for key, value in self.values.items()},
            "per_type": [
                {
                    "type": str(entity_type),
                    "precision": float(row["precision"]),
                    "recall": float(row["recall"]),
                    "f1": float(row["f1"]),
                    "support": int(row["support"]),
                }
                for entity_type, row in self.per_type.iterrows()
            ],
            "confusion_labels": list(self.confusion_labels),
            "confusion": self.confusion.astype(int).tolist(),
            "errors": asdict(self.errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict`; a hand-edited or truncated file fails loudly here."""
        required = ("values", "per_type", "confusion_labels", "confusion", "errors")
        missing = [key for key in required if key not in data]
        if missing:
            raise ValueError(f"evaluation data lacks {', '.join(missing)}")
        values = {str(key): float(value) for key, value in data["values"].items()}
        missing_values = [key for key in QUALITY_KEYS if key not in values]
        if missing_values:
            raise ValueError(f"evaluation data lacks metric values: {', '.join(missing_values)}")
        labels = [str(label) for label in data["confusion_labels"]]
        confusion = numpy.array(data["confusion"], dtype=numpy.int64)
        if not labels:
            confusion = confusion.reshape(0, 0)
        if confusion.shape != (len(labels), len(labels)):
            raise ValueError(
                f"confusion matrix is {confusion.shape} but there are {len(labels)} labels"
            )
        try:
            errors = EntityErrorBreakdown(**{k: int(v) for k, v in data["errors"].items()})
        except TypeError as error:
            raise ValueError(f"entity error breakdown is malformed: {error}") from None
        return cls(
            values=values,
            per_type=_per_type_frame(data["per_type"]),
            confusion_labels=labels,
            confusion=confusion,
            errors=errors,
        )


def _per_type_frame(rows: Sequence[Mapping[str, Any]]) -> pandas.DataFrame:
    """Fixed columns and dtypes even with no rows, so an empty table round-trips."""
    frame = pandas.DataFrame(
        {
            "precision": pandas.Series([float(r["precision"]) for r in rows], dtype="float64"),
            "recall": pandas.Series([float(r["recall"]) for r in rows], dtype="float64"),
            "f1": pandas.Series([float(r["f1"]) for r in rows], dtype="float64"),
            "support": pandas.Series([int(r["support"]) for r in rows], dtype="int64"),
        }
    )
    frame.index = pandas.Index([str(r["type"]) for r in rows], name="type", dtype="object")
    return frame


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _check_pair(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    """Reject misaligned input before any library silently scores it."""
    if isinstance(gold, str) or isinstance(pred, str):
        raise ValueError("gold and pred must be lists of sentences, each a list of tags")
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences but pred has {len(pred)}")
    for index, (gold_tags, pred_tags) in enumerate(zip(gold, pred)):
        # A flat list of tags would otherwise be read as sentences of characters.
        if isinstance(gold_tags, str) or isinstance(pred_tags, str):
            raise ValueError(
                f"sentence {index} is a string, not a list of tags; pass a list of "
                "sentences, each a list of tag strings"
            )
        if len(gold_tags) != len(pred_tags):
            raise ValueError(
                f"sentence {index}: gold has {len(gold_tags)} tags but pred has "
                f"{len(pred_tags)}; predictions must be cut to the sentence's real length"
            )


def _flatten(sentences: Sequence[Sequence[str]], side: str) -> list[str]:
    flat: list[str] = []
    for index, tags in enumerate(sentences):
        for tag in tags:
            if not isinstance(tag, str):
                raise ValueError(
                    f"{side} sentence {index} holds {tag!r} ({type(tag).__name__}); "
                    "tags must be strings such as 'B-PER' or 'O'"
                )
        flat.extend(tags)
    return flat


@contextmanager
def _quiet_metric_warnings() -> Iterator[None]:
    """seqeval/scikit-learn warn on empty classes we already handle as 0.0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


def evaluate_tags(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    *,
    max_len: int | None = None,
    labels: Sequence[str] | None = None,
) -> Evaluation:
    """Score predicted tags with the 16 quality metrics and the analysis tables.

    ``labels`` is the model's tag inventory. It fixes which entity tags the macro
    token metrics average over (a tag the model never predicts still counts, as
    0), and adds rows/columns to the confusion matrix for tags absent from this
    split. Tags seen in the data are always added to the confusion matrix so
    every token is counted somewhere.

    ``max_len`` is the model's padded sequence length; it only affects
    ``token_accuracy_padded``.
    """
    _check_pair(gold, pred)
    if max_len is not None and (
        isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1
    ):
        raise ValueError(f"max_len must be a positive integer or None, got {max_len!r}")
    gold_flat = _flatten(gold, "gold")
    pred_flat = _flatten(pred, "pred")
    if not gold_flat:
        raise ValueError("nothing to evaluate: the gold sentences hold no tokens")

    # Integer codes keep scikit-learn off slow object-array paths (a 1M-token
    # split would otherwise spend seconds sorting strings).
    confusion_labels = _confusion_labels(gold_flat, pred_flat, labels)
    gold_codes = _encode(gold_flat, confusion_labels)
    pred_codes = _encode(pred_flat, confusion_labels)
    token_count = len(gold_flat)
    correct = int(numpy.count_nonzero(gold_codes == pred_codes))
    exact_matches = sum(list(g) == list(p) for g, p in zip(gold, pred))
    sentence_spans = _sentence_spans(gold, pred)
    errors = _breakdown_from_spans(sentence_spans)
    entity_values, per_type = _entity_scores(gold, pred)
    entity_codes = _entity_codes(gold_flat, pred_flat, labels, confusion_labels)
    precision_macro, recall_macro, f1_macro = _token_macro_scores(
        gold_codes, pred_codes, entity_codes
    )

    values = {
        "token_accuracy": correct / token_count,
        "token_accuracy_padded": _padded_accuracy(gold, correct, max_len),
        "token_precision_macro": precision_macro,
        "token_recall_macro": recall_macro,
        "token_f1_macro": f1_macro,
        "token_mcc": _token_mcc(gold_codes, pred_codes),
        **entity_values,
        "entity_f1_partial": _partial_f1_from_spans(sentence_spans),
        "sequence_accuracy": exact_matches / len(gold),
        "exact_match_count": float(exact_matches),
        "token_error_count": float(token_count - correct),
        "entity_error_count": float(errors.total_errors),
    }
    values = {key: float(values[key]) for key in QUALITY_KEYS}

    return Evaluation(
        values=values,
        per_type=per_type,
        confusion_labels=confusion_labels,
        confusion=_confusion_matrix(gold_codes, pred_codes, len(confusion_labels)),
        errors=errors,
    )


def _padded_accuracy(gold: Sequence[Sequence[str]], correct: int, max_len: int | None) -> float:
    """Recreate the original design's number: padding positions were always right."""
    real = sum(len(tags) for tags in gold)
    if max_len is None:
        return correct / real
    positions = sum(math.ceil(len(tags) / max_len) * max_len for tags in gold)
    return (correct + positions - real) / positions


def _is_entity_tag(tag: str) -> bool:
    return tag not in (OUTSIDE, PAD_TAG)


def _entity_codes(
    gold_flat: list[str],
    pred_flat: list[str],
    labels: Sequence[str] | None,
    confusion_labels: list[str],
) -> list[int]:
    """Codes of the tags the macro token metrics average over."""
    candidates = set(labels) if labels is not None else set(gold_flat) | set(pred_flat)
    return [code for code, tag in enumerate(confusion_labels)
            if tag in candidates and _is_entity_tag(tag)]


def _token_macro_scores(
    gold_codes: numpy.ndarray, pred_codes: numpy.ndarray, entity_codes: list[int]
) -> tuple[float, float, float]:
    """Macro over entity tags only: O dominates NER data and would flatter any model."""
    if not entity_codes:
        return 0.0, 0.0, 0.0
    with _quiet_metric_warnings():
        precision, recall, f1, _ = precision_recall_fscore_support(
            gold_codes, pred_codes, labels=entity_codes, average="macro", zero_division=0
        )
    return float(precision), float(recall), float(f1)


def _token_mcc(gold_codes: numpy.ndarray, pred_codes: numpy.ndarray) -> float:
    with _quiet_metric_warnings():
        value = float(matthews_corrcoef(gold_codes, pred_codes))
    # scikit-learn already returns 0 for a single class; NaN guard is for safety.
    return 0.0 if math.isnan(value) else value


def _seqeval_tag(tag: str) -> str:
    """Map a tag to what seqeval strict accepts, reading it as extract_spans does.

    seqeval strict raises on ``<PAD>``, bare ``PER`` or ``S-PER``; extract_spans
    reads these as O, I-PER and O respectively, and so do we.
    """
    prefix, kind = split_tag(tag)
    return f"{prefix}-{kind}" if prefix in ("B", "I") else OUTSIDE


def _entity_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> tuple[dict[str, float], pandas.DataFrame]:
    """seqeval strict IOB2 span scores plus the per-type table.

    With no gold and no predicted entity every score is 0.0 and the table is
    empty: seqeval would return NaN macro averages there, and a model that finds
    nothing in a text with nothing to find has not earned an F1 of 1.
    """
    gold_seq = [[_seqeval_tag(t) for t in tags] for tags in gold]
    pred_seq = [[_seqeval_tag(t) for t in tags] for tags in pred]
    has_entities = any(extract_spans(tags) for tags in (*gold_seq, *pred_seq))
    if not has_entities:
        keys = ("entity_precision", "entity_recall", "entity_f1", "entity_f1_macro",
                "entity_f1_weighted")
        zeros = dict.fromkeys(keys, 0.0)
        return zeros, _per_type_frame([])

    with _quiet_metric_warnings():
        report = seqeval_classification_report(
            gold_seq, pred_seq, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
        )
    averages = ("micro avg", "macro avg", "weighted avg")
    rows = [
        {"type": entity_type, "precision": row["precision"], "recall": row["recall"],
         "f1": row["f1-score"], "support": row["support"]}
        for entity_type, row in report.items()
        if entity_type not in averages
    ]

    def score(average: str, name: str) -> float:
        value = float(report[average][name])
        return 0.0 if math.isnan(value) else value

    values = {
        "entity_precision": score("micro avg", "precision"),
        "entity_recall": score("micro avg", "recall"),
        "entity_f1": score("micro avg", "f1-score"),
        "entity_f1_macro": score("macro avg", "f1-score"),
        "entity_f1_weighted": score("weighted avg", "f1-score"),
    }
    return values, _per_type_frame(rows)


def entity_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Micro entity F1 (seqeval strict IOB2) alone: what training monitors on the validation split each epoch."""
    _check_pair(gold, pred)
    return _entity_scores(gold, pred)[0]["entity_f1"]


def _tag_sort_key(tag: str) -> tuple[int, str, int, str]:
    """O first, padding next, then by entity type with B before I."""
    if tag == OUTSIDE:
        return (0, "", 0, tag)
    if tag == PAD_TAG:
        return (1, "", 0, tag)
    prefix, kind = split_tag(tag)
    return (2, kind, "BIES".find(prefix), tag)


def _confusion_labels(
    gold_flat: list[str], pred_flat: list[str], labels: Sequence[str] | None
) -> list[str]:
    # PAD from a vocabulary is dropped: padding is never scored. PAD predicted on
    # a real token is kept, because that is a real (and telling) error.
    inventory = {tag for tag in labels or () if tag != PAD_TAG}
    return sorted(inventory | set(gold_flat) | set(pred_flat), key=_tag_sort_key)


def _encode(flat_tags: list[str], confusion_labels: list[str]) -> numpy.ndarray:
    code_of = {tag: code for code, tag in enumerate(confusion_labels)}
    return numpy.fromiter((code_of[t] for t in flat_tags), dtype=numpy.int64,
                          count=len(flat_tags))


def _confusion_matrix(
    gold_codes: numpy.ndarray, pred_codes: numpy.ndarray, size: int
) -> numpy.ndarray:
    counts = numpy.bincount(gold_codes * size + pred_codes, minlength=size * size)
    return counts.reshape(size, size).astype(numpy.int64)


def confusion_sentences(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    gold_tag: str,
    pred_tag: str,
) -> list[int]:
    """Sentence indices behind one confusion-matrix cell, so a user can read examples."""
    _check_pair(gold, pred)
    return [
        index
        for index, (gold_tags, pred_tags) in enumerate(zip(gold, pred))
        if any(g == gold_tag and p == pred_tag for g, p in zip(gold_tags, pred_tags))
    ]


# --------------------------------------------------------------------------
# Span-level analysis
# --------------------------------------------------------------------------


def _overlaps(first: Span, second: Span) -> bool:
    return first.start < second.end and second.start < first.end


def _same_boundaries(first: Span, second: Span) -> bool:
    return first.start == second.start and first.end == second.end


SentenceSpans = list[tuple[list[Span], list[Span]]]


def _sentence_spans(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> SentenceSpans:
    """(gold spans, predicted spans) per sentence, extracted once and shared."""
    return [(extract_spans(g), extract_spans(p)) for g, p in zip(gold, pred)]


def entity_error_breakdown(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> EntityErrorBreakdown:
    """Classify every predicted span and every unexplained gold span.

    Each predicted span lands in exactly one of correct / wrong_type /
    wrong_boundary / spurious. A gold span is "missed" only when no predicted
    span touches it; a gold span overlapped by a wrong prediction is already
    explained by that prediction's error, so it is not counted twice.
    """
    _check_pair(gold, pred)
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
        breakdown.missed += sum(
            1
            for g in gold_spans
            if g not in pred_set and not any(_overlaps(g, p) for p in pred_spans)
        )
    return breakdown


def partial_entity_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    """Credit near-misses half, so boundary-only errors are told from total misses.

    Exact matches are taken first; then each remaining predicted span, left to
    right, takes the first still-unmatched gold span of its type that it
    overlaps. Unlike nervaluate's type-blind "partial", the type must agree, as
    the spec asks. 0.0 when there is no predicted or no gold span.
    """
    _check_pair(gold, pred)
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


# --------------------------------------------------------------------------
# Display and comparison
# --------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def format_metric(key: str, value: float | None) -> str:
    """One display format per unit, so every page shows a metric the same way.

    Ratios keep 4 decimals because the models being compared often differ only
    in the third. Physical units carry their unit; counts do not. A missing
    value (None or NaN, e.g. a timing not measured) shows as "n/a".
    """
    unit = metric_spec(key).unit
    if _is_missing(value):
        return "n/a"
    number = float(value)  # type: ignore[arg-type]
    if unit == "ratio":
        return f"{number:.4f}"
    if unit in ("count", "params", "epochs"):
        return f"{round(number):,}"
    if unit == "ms":
        return f"{number:,.2f} ms"
    if unit == "MB":
        return f"{number:,.2f} MB"
    if unit == "s":
        return f"{number:,.1f} s"
    if unit == "tokens/s":
        return f"{number:,.0f} tokens/s"
    return f"{number:g}"  # unreachable while MetricSpec validates units


def best_run_per_metric(table: Mapping[str, Mapping[str, float]]) -> dict[str, str]:
    """For each registry metric, the run id with the best value in its direction.

    Missing and NaN values are skipped (a run without timings cannot win on
    latency); a metric no run has is left out. Keys that are not registry
    metrics are ignored, since their direction is unknown. Ties go to the run
    listed first, so the answer does not change between renders.
    """
    best: dict[str, str] = {}
    for spec in METRICS:
        best_run: str | None = None
        best_value = 0.0
        for run_id, run_values in table.items():
            value = run_values.get(spec.key)
            if _is_missing(value):
                continue
            number = float(value)  # type: ignore[arg-type]
            better = number > best_value if spec.higher_is_better else number < best_value
            if best_run is None or better:
                best_run, best_value = run_id, number
        if best_run is not None:
            best[spec.key] = best_run
    return best
