"""Score predicted tags against gold tags: the 16 quality metrics of the registry.

Metrics are named and described in :mod:`metric_registry`; quality metrics
(1-16) are computed here from tags, efficiency metrics (17-23) are measured by
training and inference code.

Inputs are sentences of tag strings holding REAL tokens only: padding has been
cut off by the caller. The one metric that talks about padding,
``token_accuracy_padded``, reconstructs the padded positions from ``max_len``
rather than trusting the caller to hand them over, so the number cannot drift
with how a particular model happens to pad.

Entity spans come from :func:`ner_core.corpus.tags.extract_spans` (strict IOB2) and
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

from ner_core.corpus.tags import OUTSIDE, PAD_TAG, extract_spans, split_tag
from ner_core.errors import CorruptRunFileError
from ner_core.evaluation.metric_registry import QUALITY_KEYS
from ner_core.evaluation.spans import (
    EntityErrorBreakdown,
    _breakdown_from_spans,
    _partial_f1_from_spans,
    _sentence_spans,
    check_pair,
)

# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------

PER_TYPE_COLUMNS = ("precision", "recall", "f1", "support")


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
            matrix = numpy.divide(matrix, row_totals, out=numpy.zeros_like(matrix), where=row_totals > 0)
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
        """Inverse of :meth:`to_dict`; a hand-edited, truncated or old-layout file raises CorruptRunFileError."""
        try:
            return cls._from_dict(data)
        except CorruptRunFileError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise CorruptRunFileError(f"evaluation data is malformed ({error.__class__.__name__}: {error})") from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        if not isinstance(data, Mapping):
            raise CorruptRunFileError(f"evaluation data is a {type(data).__name__}, not an object")
        required = ("values", "per_type", "confusion_labels", "confusion", "errors")
        missing = [key for key in required if key not in data]
        if missing:
            raise CorruptRunFileError(f"evaluation data lacks {', '.join(missing)}")
        values = {str(key): float(value) for key, value in data["values"].items()}
        missing_values = [key for key in QUALITY_KEYS if key not in values]
        if missing_values:
            raise CorruptRunFileError(f"evaluation data lacks metric values: {', '.join(missing_values)}")
        labels = [str(label) for label in data["confusion_labels"]]
        confusion = numpy.array(data["confusion"], dtype=numpy.int64)
        if not labels:
            confusion = confusion.reshape(0, 0)
        if confusion.shape != (len(labels), len(labels)):
            raise CorruptRunFileError(f"confusion matrix is {confusion.shape} but there are {len(labels)} labels")
        try:
            errors = EntityErrorBreakdown(**{k: int(v) for k, v in data["errors"].items()})
        except TypeError as error:
            raise CorruptRunFileError(f"entity error breakdown is malformed: {error}") from None
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


def _flatten(sentences: Sequence[Sequence[str]], side: str) -> list[str]:
    flat: list[str] = []
    for index, tags in enumerate(sentences):
        for tag in tags:
            if not isinstance(tag, str):
                raise ValueError(
                    f"{side} sentence {index} holds {tag!r} ({type(tag).__name__}); tags must be strings such as 'B-PER' or 'O'"
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
    check_pair(gold, pred)
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
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
    precision_macro, recall_macro, f1_macro = _token_macro_scores(gold_codes, pred_codes, entity_codes)

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
    return [code for code, tag in enumerate(confusion_labels) if tag in candidates and _is_entity_tag(tag)]


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


def _entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> tuple[dict[str, float], pandas.DataFrame]:
    """seqeval strict IOB2 span scores plus the per-type table.

    With no gold and no predicted entity every score is 0.0 and the table is
    empty: seqeval would return NaN macro averages there, and a model that finds
    nothing in a text with nothing to find has not earned an F1 of 1.
    """
    gold_seq = [[_seqeval_tag(t) for t in tags] for tags in gold]
    pred_seq = [[_seqeval_tag(t) for t in tags] for tags in pred]
    has_entities = any(extract_spans(tags) for tags in (*gold_seq, *pred_seq))
    if not has_entities:
        keys = ("entity_precision", "entity_recall", "entity_f1", "entity_f1_macro", "entity_f1_weighted")
        zeros = dict.fromkeys(keys, 0.0)
        return zeros, _per_type_frame([])

    with _quiet_metric_warnings():
        report = seqeval_classification_report(gold_seq, pred_seq, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    averages = ("micro avg", "macro avg", "weighted avg")
    rows = [
        {
            "type": entity_type,
            "precision": row["precision"],
            "recall": row["recall"],
            "f1": row["f1-score"],
            "support": row["support"],
        }
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
    check_pair(gold, pred)
    return _entity_scores(gold, pred)[0]["entity_f1"]


def _tag_sort_key(tag: str) -> tuple[int, str, int, str]:
    """O first, padding next, then by entity type with B before I."""
    if tag == OUTSIDE:
        return (0, "", 0, tag)
    if tag == PAD_TAG:
        return (1, "", 0, tag)
    prefix, kind = split_tag(tag)
    return (2, kind, "BIES".find(prefix), tag)


def _confusion_labels(gold_flat: list[str], pred_flat: list[str], labels: Sequence[str] | None) -> list[str]:
    # PAD from a vocabulary is dropped: padding is never scored. PAD predicted on
    # a real token is kept, because that is a real (and telling) error.
    inventory = {tag for tag in labels or () if tag != PAD_TAG}
    return sorted(inventory | set(gold_flat) | set(pred_flat), key=_tag_sort_key)


def _encode(flat_tags: list[str], confusion_labels: list[str]) -> numpy.ndarray:
    code_of = {tag: code for code, tag in enumerate(confusion_labels)}
    return numpy.fromiter((code_of[t] for t in flat_tags), dtype=numpy.int64, count=len(flat_tags))


def _confusion_matrix(gold_codes: numpy.ndarray, pred_codes: numpy.ndarray, size: int) -> numpy.ndarray:
    counts = numpy.bincount(gold_codes * size + pred_codes, minlength=size * size)
    return counts.reshape(size, size).astype(numpy.int64)


def confusion_sentences(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    gold_tag: str,
    pred_tag: str,
) -> list[int]:
    """Sentence indices behind one confusion-matrix cell, so a user can read examples."""
    check_pair(gold, pred)
    return [
        index
        for index, (gold_tags, pred_tags) in enumerate(zip(gold, pred))
        if any(g == gold_tag and p == pred_tag for g, p in zip(gold_tags, pred_tags))
    ]
