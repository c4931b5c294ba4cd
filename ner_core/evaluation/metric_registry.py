"""The 23 metrics: each named, defined, grouped, given a unit and a direction in exactly
one place, and formatted the same way everywhere (pages, CLI, benchmarks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

GROUPS = ("token", "entity", "sequence", "errors", "efficiency")
UNITS = ("ratio", "count", "ms", "s", "MB", "tokens/s", "params", "epochs")

_NO_REPAIR = "predictions are scored as the predictor returns them (no extra IOB2 repair); a stray I-X starts no entity"


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
        "Unweighted mean over entity tags (O and padding excluded) of per-tag recall on real tokens, scikit-learn.",
        True,
        "ratio",
    ),
    MetricSpec(
        "token_f1_macro",
        "Token F1 (macro)",
        "token",
        "Unweighted mean over entity tags (O and padding excluded) of per-tag F1 on real tokens, scikit-learn.",
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
        f"Exactly matching predicted spans / predicted spans, micro over types, seqeval strict IOB2; {_NO_REPAIR}.",
        True,
        "ratio",
    ),
    MetricSpec(
        "entity_recall",
        "Entity recall",
        "entity",
        f"Exactly matching predicted spans / gold spans, micro over types, seqeval strict IOB2; {_NO_REPAIR}.",
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
        "Unweighted mean of per-type span F1, seqeval strict IOB2; rare types count as much as common ones.",
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
        "Missed + spurious + wrong-type + wrong-boundary entities (each also shown separately in the error analysis).",
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
        "Real tokens tagged per second in batched prediction over the whole test split; machine recorded.",
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
        raise ValueError(f"unknown metric {key!r}; valid metric keys are: {', '.join(METRIC_KEYS)}") from None


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
