"""Metric tests on tiny hand-made tag sequences whose answers are worked out here.

Each expected value is derived in a comment next to its assertion, so a failing
test can be checked by hand rather than by re-running a library.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import warnings

import numpy
import pandas
import pytest
from seqeval.metrics import f1_score as seqeval_f1_score
from seqeval.scheme import IOB2

from ner_core.corpus.tags import extract_spans
from ner_core.errors import CorruptRunFileError
from ner_core.evaluation import metric_registry, scoring, spans

SPEC_ORDER = [
    "token_accuracy",
    "token_accuracy_padded",
    "token_precision_macro",
    "token_recall_macro",
    "token_f1_macro",
    "token_mcc",
    "entity_precision",
    "entity_recall",
    "entity_f1",
    "entity_f1_macro",
    "entity_f1_weighted",
    "entity_f1_partial",
    "sequence_accuracy",
    "exact_match_count",
    "token_error_count",
    "entity_error_count",
    "parameter_count",
    "model_size_mb",
    "training_time_s",
    "epochs_trained",
    "latency_p50_ms",
    "latency_p95_ms",
    "throughput_tokens_per_s",
]

# One sentence with one entity error of each kind.
#   idx:   0      1    2      3    4      5      6    7       8    9
ERR_GOLD = [["B-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-MISC", "O", "O"]]
ERR_PRED = [["B-PER", "O", "B-ORG", "O", "B-ORG", "O", "O", "O", "O", "B-PER"]]


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------


def test_registry_has_23_metrics_in_spec_order():
    assert len(metric_registry.METRICS) == 23
    assert list(metric_registry.METRIC_KEYS) == SPEC_ORDER
    assert list(metric_registry.QUALITY_KEYS) == SPEC_ORDER[:16]
    assert list(metric_registry.EFFICIENCY_KEYS) == SPEC_ORDER[16:]


def test_registry_directions():
    assert metric_registry.metric_spec("token_error_count").higher_is_better is False
    assert metric_registry.metric_spec("entity_error_count").higher_is_better is False
    assert metric_registry.metric_spec("entity_f1").higher_is_better is True
    assert metric_registry.metric_spec("latency_p50_ms").higher_is_better is False
    assert metric_registry.metric_spec("latency_p95_ms").higher_is_better is False
    assert metric_registry.metric_spec("throughput_tokens_per_s").higher_is_better is True
    assert metric_registry.metric_spec("parameter_count").higher_is_better is False


def test_registry_groups_units_and_definitions():
    groups = [spec.group for spec in metric_registry.METRICS]
    assert groups == ["token"] * 6 + ["entity"] * 6 + ["sequence"] * 2 + ["errors"] * 2 + ["efficiency"] * 7
    assert metric_registry.metric_spec("latency_p50_ms").unit == "ms"
    assert metric_registry.metric_spec("model_size_mb").unit == "MB"
    assert metric_registry.metric_spec("throughput_tokens_per_s").unit == "tokens/s"
    assert all(spec.name and spec.definition for spec in metric_registry.METRICS)
    assert "padding" in metric_registry.metric_spec("token_accuracy_padded").definition


def test_metric_spec_unknown_key_names_valid_keys():
    with pytest.raises(ValueError, match="entity_f1"):
        metric_registry.metric_spec("f1")


# --------------------------------------------------------------------------
# Token metrics
# --------------------------------------------------------------------------


def test_padding_inflates_token_accuracy():
    gold = [["B-PER", "O", "O"], ["O"]]
    pred = [["B-PER", "B-PER", "O"], ["O"]]
    # Real tokens: 4, correct: 3 -> 3/4.
    plain = scoring.evaluate_tags(gold, pred)
    assert plain.values["token_accuracy"] == pytest.approx(0.75)
    # Without max_len there is no padding to count.
    assert plain.values["token_accuracy_padded"] == pytest.approx(0.75)

    # max_len=4: positions 4 + 4 = 8, padding 8 - 4 = 4, all "correct":
    # (3 + 4) / 8 = 0.875.
    padded = scoring.evaluate_tags(gold, pred, max_len=4)
    assert padded.values["token_accuracy_padded"] == pytest.approx(7 / 8)
    assert padded.values["token_accuracy"] == pytest.approx(0.75)

    # max_len=2: the 3-token sentence needs ceil(3/2)=2 windows -> 4 positions,
    # the 1-token one 2 positions: 6 positions, 2 padding -> (3 + 2) / 6.
    windowed = scoring.evaluate_tags(gold, pred, max_len=2)
    assert windowed.values["token_accuracy_padded"] == pytest.approx(5 / 6)


def test_invalid_max_len_raises():
    with pytest.raises(ValueError, match="max_len"):
        scoring.evaluate_tags([["O"]], [["O"]], max_len=0)


def test_token_macro_metrics_ignore_outside_tag():
    gold = [["B-PER", "I-PER", "O", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "B-LOC", "B-LOC"]]
    # Entity tags present: B-LOC, B-PER, I-PER (O excluded).
    #   B-PER: tp 1, fp 0, fn 0 -> P 1,   R 1, F 1
    #   I-PER: tp 0, never predicted -> P 0 (zero_division), R 0, F 0
    #   B-LOC: tp 1, fp 1 (idx 3), fn 0 -> P 1/2, R 1, F 2/3
    # Macro: P (1 + 0 + 1/2)/3 = 1/2, R (1 + 0 + 1)/3 = 2/3, F (1 + 0 + 2/3)/3 = 5/9.
    # (Had O been included: O P 1/2, R 1/2, F 1/2 would change every mean.)
    result = scoring.evaluate_tags(gold, pred)
    assert result.values["token_precision_macro"] == pytest.approx(1 / 2)
    assert result.values["token_recall_macro"] == pytest.approx(2 / 3)
    assert result.values["token_f1_macro"] == pytest.approx(5 / 9)

    # An inventory tag the model never sees or predicts still counts, as 0s;
    # O and PAD in the inventory are dropped. Four tags now:
    # P 1.5/4 = 3/8, R 2/4 = 1/2, F (5/3)/4 = 5/12.
    with_labels = scoring.evaluate_tags(gold, pred, labels=["O", "<PAD>", "B-PER", "I-PER", "B-LOC", "B-MISC"])
    assert with_labels.values["token_precision_macro"] == pytest.approx(3 / 8)
    assert with_labels.values["token_recall_macro"] == pytest.approx(1 / 2)
    assert with_labels.values["token_f1_macro"] == pytest.approx(5 / 12)


def test_token_mcc_binary_by_hand():
    gold = [["B-PER", "O", "O", "O"]]
    pred = [["B-PER", "B-PER", "O", "O"]]
    # Treat B-PER as positive: TP 1, FP 1, FN 0, TN 2.
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))
    #     = (2 - 0) / sqrt(2 * 1 * 3 * 2) = 2 / sqrt(12)
    result = scoring.evaluate_tags(gold, pred)
    assert result.values["token_mcc"] == pytest.approx(2 / math.sqrt(12))


def test_token_mcc_multiclass_by_formula():
    gold = [["B-PER", "I-PER", "O", "O", "B-LOC", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC", "B-LOC", "O"]]
    # Multiclass MCC (Gorodkin):
    #   (c*s - sum_k p_k*t_k) / sqrt((s^2 - sum_k p_k^2) * (s^2 - sum_k t_k^2))
    # s = 6 tokens, c = 4 correct (idx 0, 2, 4, 5).
    # gold counts t: B-PER 1, I-PER 1, O 3, B-LOC 1
    # pred counts p: B-PER 1, I-PER 0, O 3, B-LOC 2
    # sum p*t = 1 + 0 + 9 + 2 = 12; sum p^2 = 1 + 0 + 9 + 4 = 14; sum t^2 = 1 + 1 + 9 + 1 = 12
    # MCC = (24 - 12) / sqrt((36 - 14) * (36 - 12)) = 12 / sqrt(22 * 24)
    result = scoring.evaluate_tags(gold, pred)
    assert result.values["token_mcc"] == pytest.approx(12 / math.sqrt(22 * 24))


# --------------------------------------------------------------------------
# Entity metrics
# --------------------------------------------------------------------------


def test_entity_f1_is_strict_iob2_not_seqeval_default():
    gold = [["B-PER", "I-PER"]]
    pred = [["I-PER", "I-PER"]]
    # seqeval's default (conlleval-like) mode reads the leading I-PER as the start
    # of a PER entity covering tokens 0-1, which matches gold: F1 = 1.
    lenient = seqeval_f1_score(gold, pred)
    strict = seqeval_f1_score(gold, pred, mode="strict", scheme=IOB2)
    assert lenient == pytest.approx(1.0)
    assert strict == pytest.approx(0.0)
    # Strict IOB2: a stray I-PER starts no entity, so 0 predicted spans, 1 gold:
    # precision 0, recall 0/1, F1 0.
    result = scoring.evaluate_tags(gold, pred)
    assert result.values["entity_f1"] == pytest.approx(0.0)
    assert result.values["entity_f1"] != pytest.approx(lenient)
    assert result.values["entity_recall"] == pytest.approx(0.0)
    # ...and the error analysis agrees: the gold PER is touched by no span.
    assert result.errors.missed == 1


def test_entity_micro_macro_weighted_by_hand():
    gold = [["B-PER", "O", "B-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "B-PER", "O", "O"]]
    # PER: gold 2, pred 2, tp 2 -> P 1, R 1, F1 1 (support 2)
    # LOC: gold 1, pred 0, tp 0 -> P 0, R 0, F1 0 (support 1)
    # micro: tp 2 / pred 2 = 1; tp 2 / gold 3 = 2/3; F1 = 2*1*(2/3)/(5/3) = 0.8
    # macro F1 = (1 + 0) / 2 = 0.5; weighted F1 = (1*2 + 0*1) / 3 = 2/3
    result = scoring.evaluate_tags(gold, pred)
    assert result.values["entity_precision"] == pytest.approx(1.0)
    assert result.values["entity_recall"] == pytest.approx(2 / 3)
    assert result.values["entity_f1"] == pytest.approx(0.8)
    assert result.values["entity_f1_macro"] == pytest.approx(0.5)
    assert result.values["entity_f1_weighted"] == pytest.approx(2 / 3)

    table = result.per_type
    assert list(table.columns) == ["precision", "recall", "f1", "support"]
    assert list(table.index) == ["LOC", "PER"]
    assert table.loc["PER", "f1"] == pytest.approx(1.0)
    assert table.loc["LOC", "f1"] == pytest.approx(0.0)
    assert table.loc["PER", "support"] == 2
    assert table.loc["LOC", "support"] == 1


def test_pad_and_odd_tags_are_scored_without_crashing_seqeval():
    # seqeval strict raises on "<PAD>"; a model that predicts PAD on a real token
    # just misses that entity, and the confusion matrix shows the PAD column.
    gold = [["B-PER", "B-LOC"]]
    pred = [["B-PER", "<PAD>"]]
    # spans gold PER(0,1), LOC(1,2); pred PER(0,1): P 1/1, R 1/2, F1 2/3.
    result = scoring.evaluate_tags(gold, pred)
    assert result.values["entity_f1"] == pytest.approx(2 / 3)
    # No O occurs here; PAD sorts before the entity tags.
    assert result.confusion_labels == ["<PAD>", "B-LOC", "B-PER"]
    assert result.confusion_frame().loc["B-LOC", "<PAD>"] == 1


def test_partial_entity_f1_by_hand():
    #   idx:   0        1        2    3        4        5        6    7    8         9    10
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-MISC", "O", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG", "O", "O", "B-PER", "O", "B-LOC"]]
    # gold spans: PER(0,2) LOC(3,4) ORG(5,7) MISC(8,9)             -> 4
    # pred spans: PER(0,2) LOC(3,5) ORG(5,6) PER(8,9) LOC(10,11)   -> 5
    # COR: PER(0,2) = 1
    # PAR: LOC(3,5)~LOC(3,4), ORG(5,6)~ORG(5,7) = 2 ; PER(8,9) overlaps MISC: wrong type, no credit
    # credit = 1 + 0.5*2 = 2; P = 2/5, R = 2/4; F1 = 2*0.4*0.5/0.9 = 4/9
    assert spans.partial_entity_f1(gold, pred) == pytest.approx(4 / 9)
    assert scoring.evaluate_tags(gold, pred).values["entity_f1_partial"] == pytest.approx(4 / 9)


def test_partial_entity_f1_matches_each_gold_span_once():
    gold = [["B-LOC", "I-LOC", "I-LOC"]]
    pred = [["B-LOC", "B-LOC", "I-LOC"]]
    # gold LOC(0,3); pred LOC(0,1), LOC(1,3) both overlap it, but only the first
    # gets the half credit. credit 0.5; P = 0.5/2, R = 0.5/1; F1 = 2*.25*.5/.75 = 1/3
    assert spans.partial_entity_f1(gold, pred) == pytest.approx(1 / 3)


def test_entity_error_breakdown_one_of_each():
    # PER(0,1) exact -> correct
    # gold LOC(2,3) vs pred ORG(2,3): same boundaries, other type -> wrong_type
    # gold ORG(4,6) vs pred ORG(4,5): overlap, other boundaries -> wrong_boundary
    # gold MISC(7,8): no predicted span touches it -> missed
    # pred PER(9,10): touches no gold span -> spurious
    breakdown = spans.entity_error_breakdown(ERR_GOLD, ERR_PRED)
    assert breakdown == spans.EntityErrorBreakdown(correct=1, missed=1, spurious=1, wrong_type=1, wrong_boundary=1)
    assert breakdown.total_errors == 4
    assert scoring.evaluate_tags(ERR_GOLD, ERR_PRED).values["entity_error_count"] == 4.0


def test_entity_error_wrong_boundary_and_type_counts_as_boundary():
    gold = [["B-ORG", "I-ORG", "O"]]
    pred = [["O", "B-LOC", "I-LOC"]]
    # pred LOC(1,3) overlaps gold ORG(0,2) with other boundaries (and type):
    # wrong_boundary; the gold ORG is touched, so it is not also "missed".
    breakdown = spans.entity_error_breakdown(gold, pred)
    assert breakdown == spans.EntityErrorBreakdown(wrong_boundary=1)


# --------------------------------------------------------------------------
# Sequence and error counts
# --------------------------------------------------------------------------


def test_sequence_accuracy_and_error_counts():
    gold = [["B-PER", "O"], ["O", "O", "B-LOC"], ["O"]]
    pred = [["B-PER", "O"], ["O", "B-LOC", "O"], ["O"]]
    # Sentences 0 and 2 fully right -> 2 of 3; wrong tokens: idx 1 and 2 of sentence 1.
    values = scoring.evaluate_tags(gold, pred).values
    assert values["sequence_accuracy"] == pytest.approx(2 / 3)
    assert values["exact_match_count"] == 2.0
    assert values["token_error_count"] == 2.0
    # 6 real tokens, 4 correct.
    assert values["token_accuracy"] == pytest.approx(4 / 6)


def test_values_are_floats_for_all_quality_keys():
    values = scoring.evaluate_tags(ERR_GOLD, ERR_PRED).values
    assert list(values) == list(metric_registry.QUALITY_KEYS)
    assert all(type(v) is float for v in values.values())


# --------------------------------------------------------------------------
# Bad input and empty cases
# --------------------------------------------------------------------------


def test_length_mismatch_names_sentence_index():
    gold = [["O", "O"], ["B-PER", "O"]]
    pred = [["O", "O"], ["B-PER"]]
    with pytest.raises(ValueError, match="sentence 1"):
        scoring.evaluate_tags(gold, pred)
    with pytest.raises(ValueError, match="sentence 1"):
        spans.entity_error_breakdown(gold, pred)
    with pytest.raises(ValueError, match="sentence 1"):
        spans.partial_entity_f1(gold, pred)
    with pytest.raises(ValueError, match="sentence 1"):
        scoring.confusion_sentences(gold, pred, "O", "O")


def test_sentence_count_mismatch_raises():
    with pytest.raises(ValueError, match="2 sentences"):
        scoring.evaluate_tags([["O"], ["O"]], [["O"]])


def test_flat_tag_list_is_rejected():
    # A flat list would otherwise be read as sentences of single characters.
    with pytest.raises(ValueError, match="list of tags"):
        scoring.evaluate_tags(["B-PER", "O"], ["B-PER", "O"])


def test_no_tokens_raises():
    with pytest.raises(ValueError, match="no tokens"):
        scoring.evaluate_tags([[]], [[]])


def test_no_entities_gives_zeros_without_warnings():
    gold = [["O", "O"], ["O"]]
    pred = [["O", "O"], ["O"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = scoring.evaluate_tags(gold, pred)
    for key in (
        "token_precision_macro",
        "token_recall_macro",
        "token_f1_macro",
        "token_mcc",  # a single class: MCC undefined, reported as 0
        "entity_precision",
        "entity_recall",
        "entity_f1",
        "entity_f1_macro",
        "entity_f1_weighted",
        "entity_f1_partial",
        "entity_error_count",
        "token_error_count",
    ):
        assert result.values[key] == 0.0, key
    assert result.values["token_accuracy"] == 1.0
    assert result.values["sequence_accuracy"] == 1.0
    assert result.per_type.empty
    assert list(result.per_type.columns) == ["precision", "recall", "f1", "support"]
    assert result.errors.total_errors == 0
    assert not any(math.isnan(v) for v in result.values.values())


def test_predicted_entities_without_gold_entities_score_zero():
    gold = [["O", "O"]]
    pred = [["B-PER", "O"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = scoring.evaluate_tags(gold, pred)
    assert result.values["entity_f1"] == 0.0
    assert result.values["entity_f1_macro"] == 0.0
    assert result.errors == spans.EntityErrorBreakdown(spurious=1)


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------

CONF_GOLD = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
CONF_PRED = [["B-PER", "O", "O"], ["B-LOC", "B-LOC"]]


def test_confusion_matrix_counts_and_label_order():
    result = scoring.evaluate_tags(CONF_GOLD, CONF_PRED)
    # O first, then types alphabetically (LOC < PER), B before I.
    assert result.confusion_labels == ["O", "B-LOC", "B-PER", "I-PER"]
    # gold O: (0,2)->O, (1,0)->B-LOC ; gold B-LOC: (1,1)->B-LOC
    # gold B-PER: (0,0)->B-PER ; gold I-PER: (0,1)->O
    expected = numpy.array(
        [
            [1, 1, 0, 0],  # O
            [0, 1, 0, 0],  # B-LOC
            [0, 0, 1, 0],  # B-PER
            [1, 0, 0, 0],  # I-PER
        ]
    )
    numpy.testing.assert_array_equal(result.confusion, expected)
    assert result.confusion.sum() == 5  # every real token counted once
    assert numpy.issubdtype(result.confusion.dtype, numpy.integer)

    frame = result.confusion_frame()
    assert frame.loc["I-PER", "O"] == 1
    assert frame.index.name == "gold" and frame.columns.name == "predicted"


def test_confusion_row_normalisation_with_empty_row():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    result = scoring.evaluate_tags(CONF_GOLD, CONF_PRED, labels=labels)
    assert result.confusion_labels == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-PER", "I-PER"]
    normalised = result.confusion_frame(normalize=True)
    # gold O row: 2 tokens, 1 -> O and 1 -> B-LOC: 1/2 each.
    assert normalised.loc["O", "O"] == pytest.approx(0.5)
    assert normalised.loc["O", "B-LOC"] == pytest.approx(0.5)
    assert normalised.loc["I-PER", "O"] == pytest.approx(1.0)
    # B-MISC never occurs in gold: a row of zeros, not NaN.
    assert (normalised.loc["B-MISC"] == 0.0).all()
    assert not normalised.isna().any().any()
    row_sums = normalised.sum(axis=1)
    assert list(row_sums) == pytest.approx([1, 1, 0, 0, 0, 1, 1])


def test_confusion_sentences_finds_cell_examples():
    assert scoring.confusion_sentences(CONF_GOLD, CONF_PRED, "O", "B-LOC") == [1]
    assert scoring.confusion_sentences(CONF_GOLD, CONF_PRED, "I-PER", "O") == [0]
    assert scoring.confusion_sentences(CONF_GOLD, CONF_PRED, "O", "O") == [0]
    assert scoring.confusion_sentences(CONF_GOLD, CONF_PRED, "B-MISC", "O") == []


# --------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------


def _assert_same_evaluation(left: scoring.Evaluation, right: scoring.Evaluation) -> None:
    assert left.values == right.values
    pandas.testing.assert_frame_equal(left.per_type, right.per_type)
    assert left.confusion_labels == right.confusion_labels
    numpy.testing.assert_array_equal(left.confusion, right.confusion)
    assert left.confusion.dtype == right.confusion.dtype
    assert left.errors == right.errors


@pytest.mark.parametrize(
    ("gold", "pred"),
    [(ERR_GOLD, ERR_PRED), ([["O", "O"]], [["O", "O"]])],
    ids=["with_entities", "no_entities"],
)
def test_evaluation_round_trips_through_json(gold, pred):
    original = scoring.evaluate_tags(gold, pred, max_len=16)
    text = json.dumps(original.to_dict())  # must be plain JSON
    restored = scoring.Evaluation.from_dict(json.loads(text))
    _assert_same_evaluation(original, restored)


def test_from_dict_rejects_incomplete_data():
    data = scoring.evaluate_tags(ERR_GOLD, ERR_PRED).to_dict()
    del data["values"]["entity_f1"]
    with pytest.raises(ValueError, match="entity_f1"):
        scoring.Evaluation.from_dict(data)


def _corrupted(change):
    data = scoring.evaluate_tags(ERR_GOLD, ERR_PRED).to_dict()
    change(data)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "not an object"),
        (_corrupted(lambda d: d.pop("errors")), "lacks errors"),
        (_corrupted(lambda d: d.update(values=[0.5])), "malformed"),
        (_corrupted(lambda d: d["values"].update(entity_f1="high")), "malformed"),
        (_corrupted(lambda d: d.update(confusion=[[1, 2]])), "confusion matrix"),
        (_corrupted(lambda d: d.update(errors={"wrong": 1})), "error breakdown"),
        (_corrupted(lambda d: d["per_type"][0].pop("f1")), "malformed"),
    ],
    ids=["list", "missing_key", "values_not_a_mapping", "value_not_a_number", "confusion_shape", "errors_keys", "per_type_row"],
)
def test_from_dict_raises_a_user_error_on_corrupt_data(data, message):
    with pytest.raises(CorruptRunFileError, match=message) as raised:
        scoring.Evaluation.from_dict(data)
    assert isinstance(raised.value, ValueError)  # what the callers caught before
    assert str(raised.value).startswith(f"[{CorruptRunFileError.code}]")


# --------------------------------------------------------------------------
# Display and comparison
# --------------------------------------------------------------------------


def test_format_metric_by_unit():
    assert metric_registry.format_metric("entity_f1", 0.841234) == "0.8412"
    assert metric_registry.format_metric("token_error_count", 12345.0) == "12,345"
    assert metric_registry.format_metric("parameter_count", 1234567) == "1,234,567"
    assert metric_registry.format_metric("latency_p50_ms", 3.14159) == "3.14 ms"
    assert metric_registry.format_metric("model_size_mb", 12.3456) == "12.35 MB"
    assert metric_registry.format_metric("training_time_s", 61.26) == "61.3 s"
    assert metric_registry.format_metric("throughput_tokens_per_s", 15234.6) == "15,235 tokens/s"
    assert metric_registry.format_metric("epochs_trained", 7.0) == "7"
    assert metric_registry.format_metric("entity_f1", float("nan")) == "n/a"
    with pytest.raises(ValueError, match="unknown metric"):
        metric_registry.format_metric("f1", 0.5)


def test_best_run_per_metric_respects_direction():
    nan = float("nan")
    table = {
        "run_a": {"entity_f1": 0.80, "latency_p50_ms": 5.0, "token_error_count": 10.0},
        "run_b": {"entity_f1": 0.90, "latency_p50_ms": 3.0, "token_error_count": nan},
        "run_c": {"entity_f1": nan, "throughput_tokens_per_s": 100.0, "not_a_metric": 1.0},
        "run_d": {"entity_f1": 0.90, "throughput_tokens_per_s": 250.0},
    }
    best = metric_registry.best_run_per_metric(table)
    assert best == {
        "entity_f1": "run_b",  # higher wins; run_d ties and is listed later
        "token_error_count": "run_a",  # lower wins; run_b's NaN skipped
        "latency_p50_ms": "run_b",  # lower wins
        "throughput_tokens_per_s": "run_d",  # higher wins
    }
    assert metric_registry.best_run_per_metric({}) == {}


# --------------------------------------------------------------------------
# Import weight
# --------------------------------------------------------------------------


def test_import_does_not_pull_tensorflow_or_streamlit():
    code = (
        "import sys, ner_core.evaluation.scoring; "
        "print(any(m == 'tensorflow' or m.startswith('tensorflow.') for m in sys.modules), "
        "'streamlit' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert output == ["False", "False"]


def test_seqeval_strict_scores_agree_with_extract_spans():
    # The spans users see (tags.extract_spans) must be the spans we score.
    # Random tags with many stray I-X make the two readings easy to tell apart.
    generator = random.Random(7)
    tags = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    gold = [[generator.choice(tags) for _ in range(generator.randint(1, 12))] for _ in range(300)]
    pred = [[t if generator.random() < 0.7 else generator.choice(tags) for t in s] for s in gold]
    gold_spans = {(i, s) for i, sent in enumerate(gold) for s in extract_spans(sent)}
    pred_spans = {(i, s) for i, sent in enumerate(pred) for s in extract_spans(sent)}
    hits = len(gold_spans & pred_spans)
    values = scoring.evaluate_tags(gold, pred).values
    assert values["entity_precision"] == pytest.approx(hits / len(pred_spans))
    assert values["entity_recall"] == pytest.approx(hits / len(gold_spans))
