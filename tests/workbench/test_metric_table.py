"""The 23-metric table: every registry metric, formatted per unit, its CSV, and stars only within one test split."""

from __future__ import annotations

import csv
import io

import pytest

from ner_core.evaluation import metric_registry
from ner_core.workbench import metric_table


def full_metrics(**overrides) -> dict:
    values = {spec.key: 0.5 for spec in metric_registry.METRICS}
    values.update(overrides)
    return values


# ------------------------------------------------------------------ metric table and CSV


def test_metric_table_has_every_registry_metric_and_marks_the_best_in_its_direction():
    columns = {
        "run-a [argmax]": full_metrics(entity_f1=0.8, latency_p50_ms=3.0),
        "run-b [argmax]": full_metrics(entity_f1=0.9, latency_p50_ms=5.0, throughput_tokens_per_s=float("nan")),
    }
    table = metric_table.metric_table(columns)
    assert len(table) == len(metric_registry.METRICS) == 23
    assert list(table["key"]) == list(metric_registry.METRIC_KEYS)
    row = table.set_index("key")
    assert row.loc["entity_f1", "best"] == "run-b [argmax]"
    assert row.loc["entity_f1", "direction"] == "higher is better"
    assert row.loc["latency_p50_ms", "best"] == "run-a [argmax]"  # lower is better
    assert row.loc["latency_p50_ms", "direction"] == "lower is better"
    assert row.loc["throughput_tokens_per_s", "best"] == "run-a [argmax]"  # NaN cannot win
    assert row.loc["entity_f1", "definition"] == metric_registry.metric_spec("entity_f1").definition
    assert row.loc["model_size_mb", "unit"] == "MB"


def test_formatted_table_formats_per_unit_and_stars_only_against_another_run():
    columns = {"a": full_metrics(entity_f1=0.81234, parameter_count=12345), "b": full_metrics(entity_f1=0.7)}
    table = metric_table.formatted_metric_table(columns).set_index("key")
    assert table.loc["entity_f1", "a"] == "0.8123" + metric_table.BEST_MARK
    assert table.loc["entity_f1", "b"] == "0.7000"
    assert table.loc["parameter_count", "a"] == "12,345"
    single = metric_table.formatted_metric_table({"a": {"entity_f1": 0.5}}).set_index("key")
    assert single.loc["entity_f1", "a"] == "0.5000"
    assert single.loc["latency_p50_ms", "a"] == "n/a"


def test_metric_table_csv_holds_full_precision_values_and_empty_missing_cells():
    columns = {
        "run-a [argmax]": full_metrics(entity_f1=0.123456789, latency_p95_ms=float("nan")),
        "run-b [constrained]": {"entity_f1": 0.5},
    }
    rows = list(csv.DictReader(io.StringIO(metric_table.metric_table_csv(columns))))
    assert len(rows) == 23
    assert list(rows[0]) == [
        "key",
        "metric",
        "group",
        "unit",
        "direction",
        "best",
        "run-a [argmax]",
        "run-b [constrained]",
        "definition",
    ]
    by_key = {row["key"]: row for row in rows}
    assert float(by_key["entity_f1"]["run-a [argmax]"]) == 0.123456789
    assert by_key["entity_f1"]["best"] == "run-b [constrained]"
    assert by_key["entity_f1"]["metric"] == "Entity F1"
    assert by_key["latency_p95_ms"]["run-a [argmax]"] == ""
    assert by_key["latency_p95_ms"]["run-b [constrained]"] == ""
    assert by_key["token_accuracy_padded"]["definition"] == metric_registry.metric_spec("token_accuracy_padded").definition


def test_run_columns_may_not_reuse_the_table_columns():
    with pytest.raises(ValueError, match="clash"):
        metric_table.metric_table({"best": {}})


def test_decoding_of_a_run_and_its_comparison_decoding():
    assert metric_table.run_decoding({"decoding": "constrained"}) == "constrained"
    assert metric_table.run_decoding({}) == metric_table.LEGACY_DECODING == "argmax"  # runs from before the setting
    assert metric_table.other_decoding("argmax") == "constrained"
    assert metric_table.other_decoding("constrained") == "argmax"
    assert metric_table.column_name("model2-1", "argmax") == "model2-1 [argmax]"


def test_the_best_is_starred_only_among_runs_of_one_test_split():
    columns = {
        "gmb-a": full_metrics(entity_f1=0.80),
        "wnut-a": full_metrics(entity_f1=0.95),  # an easier exam: must not outrank the GMB runs
        "gmb-b": full_metrics(entity_f1=0.85),
        "wnut-b": full_metrics(entity_f1=0.40),
    }
    splits = {"gmb-a": "gmb", "gmb-b": "gmb", "wnut-a": "wnut", "wnut-b": "wnut"}
    shown = metric_table.formatted_metric_table(columns, splits).set_index("key")
    assert shown.loc["entity_f1", "gmb-b"] == "0.8500" + metric_table.BEST_MARK
    assert shown.loc["entity_f1", "gmb-a"] == "0.8000"
    assert shown.loc["entity_f1", "wnut-a"] == "0.9500" + metric_table.BEST_MARK
    assert shown.loc["entity_f1", "wnut-b"] == "0.4000"
    assert metric_table.metric_table(columns, splits).set_index("key").loc["entity_f1", "best"] == "gmb-b; wnut-a"
    # Without splits every column is one split: one best.
    assert metric_table.metric_table(columns).set_index("key").loc["entity_f1", "best"] == "wnut-a"


def test_a_run_alone_on_its_test_split_is_never_starred():
    columns = {"gmb-a": full_metrics(entity_f1=0.8), "gmb-b": full_metrics(entity_f1=0.7), "conll": full_metrics(entity_f1=0.9)}
    splits = {"gmb-a": "gmb", "gmb-b": "gmb", "conll": "conll"}
    shown = metric_table.formatted_metric_table(columns, splits).set_index("key")
    assert shown.loc["entity_f1", "conll"] == "0.9000"
    assert shown.loc["entity_f1", "gmb-a"] == "0.8000" + metric_table.BEST_MARK
    assert not any(value.endswith(metric_table.BEST_MARK) for value in shown["conll"])
    alone = {"x": full_metrics(), "y": full_metrics()}
    table = metric_table.metric_table(alone, {"x": 1, "y": 2})
    assert set(table["best"]) == {""}
    assert metric_table.ranked_groups(alone, {"x": 1, "y": 2}) == []


def test_the_shown_table_puts_the_runs_right_after_the_metric_name():
    columns = {"run-a [argmax]": full_metrics(), "run-b [argmax]": full_metrics(), "run-c [argmax]": full_metrics()}
    shown = metric_table.formatted_metric_table(columns)
    assert list(shown.columns) == [
        "key",
        "metric",
        "run-a [argmax]",
        "run-b [argmax]",
        "run-c [argmax]",
        "direction",
        "group",
        "unit",
        "best",
        "definition",
    ]
