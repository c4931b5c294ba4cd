"""The 23-metric table of the model comparison: one row per registry metric, one column per run
(or per run under another decoding), its CSV export, and which column is best.

"Best" is only said of runs scored on the same test split: an F1 on another dataset (or another
seed's split of the same one) is a different exam, so ranking across splits would mislead. The
caller passes each column's split (:func:`ner_core.workbench.run_selection.test_split`); columns
are ranked within their split, and a split with one column ranks nothing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import pandas

from ner_core.evaluation import metric_registry

TABLE_INFO_COLUMNS = ("key", "metric", "group", "unit", "direction", "best")
BEST_MARK = " ★"
BEST_SEPARATOR = "; "  # between the best columns of several splits in the "best" cell
LEGACY_DECODING = "argmax"  # what a run decoded with before its config recorded the choice

Columns = Mapping[str, Mapping[str, float]]


def direction(spec: metric_registry.MetricSpec) -> str:
    return "higher is better" if spec.higher_is_better else "lower is better"


def _number(value) -> float:
    """A float, or NaN for anything missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _check_columns(columns: Columns) -> None:
    reserved = set(TABLE_INFO_COLUMNS) | {"definition"}
    clashing = [name for name in columns if name in reserved]
    if clashing:
        raise ValueError(f"run column names {clashing} clash with the table's own columns {sorted(reserved)}")


def run_decoding(config: Mapping) -> str:
    """The decoding a run's stored metrics were computed with (its config's, else the legacy argmax)."""
    return str(config.get("decoding", LEGACY_DECODING))


def other_decoding(decoding: str) -> str:
    """The decoding to compare with: IOB2-constrained for argmax, argmax for anything else."""
    return "constrained" if decoding == "argmax" else "argmax"


def column_name(run_id: str, decoding: str) -> str:
    """The metric table's column of one run under one decoding."""
    return f"{run_id} [{decoding}]"


def ranked_groups(columns: Columns, splits: Mapping[str, Hashable] | None = None) -> list[list[str]]:
    """The columns that are ranked against each other: those of one split, when it has two or more.

    Without ``splits`` every column is taken to share one split (the caller knows they do).
    """
    groups: dict[Hashable, list[str]] = {}
    for name in columns:
        groups.setdefault(splits.get(name) if splits is not None else None, []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def best_columns(columns: Columns, splits: Mapping[str, Hashable] | None = None) -> dict[str, list[str]]:
    """Metric key -> the best column of each ranked group (:func:`ranked_groups`), in table order."""
    best: dict[str, list[str]] = {}
    for names in ranked_groups(columns, splits):
        for key, name in metric_registry.best_run_per_metric({name: columns[name] for name in names}).items():
            best.setdefault(key, []).append(name)
    return best


def metric_table(columns: Columns, splits: Mapping[str, Hashable] | None = None) -> pandas.DataFrame:
    """One row per registry metric, one numeric column per run (NaN when missing).

    ``columns`` maps a column name (a run, or a run under another decoding) to its metric values.
    ``best`` names the best column in the metric's direction within each test split that has two
    or more columns (see :func:`best_columns`), separated by :data:`BEST_SEPARATOR`; empty otherwise.
    """
    _check_columns(columns)
    best = best_columns(columns, splits)
    rows = []
    for spec in metric_registry.METRICS:
        row = {
            "key": spec.key,
            "metric": spec.name,
            "group": spec.group,
            "unit": spec.unit,
            "direction": direction(spec),
            "best": BEST_SEPARATOR.join(best.get(spec.key, [])),
        }
        for name, values in columns.items():
            row[name] = _number(values.get(spec.key))
        row["definition"] = spec.definition
        rows.append(row)
    return pandas.DataFrame(rows, columns=[*TABLE_INFO_COLUMNS, *columns, "definition"])


def formatted_metric_table(columns: Columns, splits: Mapping[str, Hashable] | None = None) -> pandas.DataFrame:
    """The table as users read it: values formatted per unit, the best of each split starred.

    The run columns come right after the metric's name, before its direction, group, unit and
    definition, so three runs side by side fit a laptop screen without scrolling sideways.
    """
    table = metric_table(columns, splits)
    best = best_columns(columns, splits)
    for name in columns:
        table[name] = [
            metric_registry.format_metric(key, value) + (BEST_MARK if name in best.get(key, ()) else "")
            for key, value in zip(table["key"], table[name])
        ]
    return table[["key", "metric", *columns, "direction", "group", "unit", "best", "definition"]]


def metric_table_csv(columns: Columns, splits: Mapping[str, Hashable] | None = None) -> str:
    """The metric table as CSV with full-precision numbers; a missing value is an empty cell."""
    return metric_table(columns, splits).to_csv(index=False, lineterminator="\n")
