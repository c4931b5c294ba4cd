"""Rebuild a simulation's result from its rows in the prediction log, so a past
experiment can be inspected after the app restarts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ner_core.corpus import tags as tagging
from ner_core.errors import ConfigError, StoreError

if TYPE_CHECKING:
    pass
from ner_core.traffic.experiment import (
    ERROR_BREAKER_REJECTED,
    ERROR_INJECTED_FAULT,
    ERROR_KINDS,
    ERROR_NONE,
    ERROR_OTHER,
    INJECTED_FAULT,
)
from ner_core.traffic.simulator import REQUEST_COLUMNS, SimulationResult

_FALLBACK_REASON = re.compile(r"^fallback: breaker \S+ for (.+)$")
# The prediction-log columns a simulation's request log shows, in order.
LOG_VIEW_COLUMNS = (
    "id",
    "simulated_time_s",
    "arm",
    "run_id",
    "latency_ms",
    "error",
    "error_kind",
    "breaker_state",
    "routing_reason",
    "text",
    "entities_json",
)
# Breaker states as heights of a step chart, lowest (healthy) first.
STATE_LEVELS = {"closed": 0, "half_open": 1, "open": 2}


def error_kind_from_message(message: str | None) -> str:
    """The error kind of a log row written before ``error_kind`` was logged, from its error message."""
    if not isinstance(message, str) or not message:  # None, or NaN from a table
        return ERROR_NONE
    if message == INJECTED_FAULT:
        return ERROR_INJECTED_FAULT
    if message.startswith("rejected"):
        return ERROR_BREAKER_REJECTED
    return ERROR_OTHER


def _error_kind(simulation_id: str, row: Mapping) -> str:
    kind = row.get("error_kind")
    if kind is None:  # logged before the column existed
        return error_kind_from_message(row.get("error"))
    if kind not in ERROR_KINDS:
        raise StoreError(
            f"simulation {simulation_id}: log row {row.get('id')} has an unknown error kind {kind!r} "
            f"(known: {', '.join(ERROR_KINDS)}); it was written by another version of the app."
        )
    return kind


def _json(simulation_id: str, row: Mapping, column: str, empty: str):
    try:
        return json.loads(row.get(column) or empty)
    except (TypeError, ValueError):
        raise StoreError(f"simulation {simulation_id}: log row {row.get('id')} has unreadable {column}.") from None


def result_from_log(simulation_id: str, rows: Sequence[Mapping]) -> SimulationResult:
    """Rebuild a simulation's request table from its prediction-log rows (``Store.prediction_rows``).

    For simulations of an earlier session. The log does not record the planned
    split, so ``planned_weights`` is empty (no sample-ratio test is possible);
    the router's pick is read back from the fallback reason, and each breaker's
    timeline is the sequence of states its requests saw, not every transition.
    ``error_kind`` is the logged one, or, for rows logged before it was, derived
    from the error message (:func:`error_kind_from_message`); ``sentence_index`` numbers the
    distinct (text, gold tags) pairs in the order they were first logged. A row whose JSON
    or error kind cannot be read raises :class:`~ner_core.errors.StoreError`.
    """
    records, timelines, sentence_ids = [], {}, {}
    for index, row in enumerate(rows):
        served, reason = row.get("arm") or "", row.get("routing_reason") or ""
        fallback = _FALLBACK_REASON.match(reason)
        chosen = fallback.group(1) if fallback else served
        gold_tags = _json(simulation_id, row, "gold_json", "[]")
        predicted_tags = _json(simulation_id, row, "predicted_tags_json", "null")
        gold = set(tagging.extract_spans(gold_tags))
        predicted = set(tagging.extract_spans(predicted_tags)) if predicted_tags else set()
        time_s, state = float(row.get("simulated_time_s") or 0.0), row.get("breaker_state") or "closed"
        timeline = timelines.setdefault(chosen, [(0.0, "closed")])
        if timeline[-1][1] != state:
            timeline.append((time_s, state))
        records.append(
            (
                index,
                time_s,
                chosen,
                served,
                row.get("run_id") or "",
                float(row.get("latency_ms") or 0.0),
                bool(row.get("error")),
                row.get("error") or "",
                _error_kind(simulation_id, row),
                state,
                reason,
                # The log keeps the text and gold tags, not the test split's index: the same pair is the same
                # sentence, so the F1 intervals resample sentences here too (numbered as first seen).
                sentence_ids.setdefault((row.get("text") or "", row.get("gold_json") or ""), len(sentence_ids)),
                len(predicted & gold),
                len(gold),
                len(predicted),
            )
        )
    requests = pd.DataFrame.from_records(records, columns=list(REQUEST_COLUMNS))
    return SimulationResult(simulation_id, requests, {}, timelines, "", False, 0.0, len(records))


def breaker_timeline_frame(result: SimulationResult) -> pd.DataFrame:
    """Long table (``arm``, ``time_s``, ``state``) of every breaker transition, for plotting."""
    rows = [(arm, time_s, state) for arm, timeline in result.breaker_timelines.items() for time_s, state in timeline]
    return pd.DataFrame(rows, columns=["arm", "time_s", "state"])


def breaker_steps(result: SimulationResult) -> pd.DataFrame:
    """:func:`breaker_timeline_frame` for a step chart: each arm's last state repeated at the
    simulation's end (its last request, else its last transition), sorted by arm and time, with
    the state's ``level`` from :data:`STATE_LEVELS`. Empty when there is no timeline."""
    timeline = breaker_timeline_frame(result)
    if timeline.empty:
        return timeline.assign(level=pd.Series(dtype=int))
    unknown = sorted(set(timeline["state"]) - set(STATE_LEVELS))
    if unknown:
        raise ConfigError(f"unknown breaker states {', '.join(map(repr, unknown))}; known: {', '.join(STATE_LEVELS)}.")
    requests = result.requests
    end = float(requests["time_s"].max()) if len(requests) else float(timeline["time_s"].max())
    last = timeline.sort_values("time_s", kind="stable").groupby("arm").tail(1).assign(time_s=end)
    steps = pd.concat([timeline, last]).sort_values(["arm", "time_s"], kind="stable").reset_index(drop=True)
    steps["level"] = steps["state"].map(STATE_LEVELS)
    return steps


def log_frame(rows: Sequence[Mapping]) -> pd.DataFrame:
    """A simulation's prediction-log rows as a table of :data:`LOG_VIEW_COLUMNS`; rows logged
    before ``error_kind`` existed get the kind :func:`error_kind_from_message` derives."""
    frame = pd.DataFrame(list(rows), columns=list(LOG_VIEW_COLUMNS))
    missing = frame["error_kind"].isna()
    frame.loc[missing, "error_kind"] = [error_kind_from_message(message) for message in frame.loc[missing, "error"]]
    return frame


def filter_log(
    log: pd.DataFrame, *, arms: Sequence[str] = (), states: Sequence[str] = (), errors_only: bool = False
) -> pd.DataFrame:
    """The rows of :func:`log_frame` served by one of ``arms`` and seen in one of ``states`` (empty: any),
    only the failed ones when ``errors_only``."""
    if arms:
        log = log[log["arm"].isin(list(arms))]
    if states:
        log = log[log["breaker_state"].isin(list(states))]
    if errors_only:
        log = log[log["error"].notna()]
    return log
