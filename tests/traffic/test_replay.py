"""Replay of a simulation from its prediction-log rows: error kinds (logged or derived for old rows),
unreadable rows, and the breaker timeline tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ner_core.errors import ConfigError, StoreError
from ner_core.traffic import ab_statistics, experiment, replay, simulator


def log_row(index, *, arm="A", error=None, reason="weighted draw", state="closed", **overrides):
    """A prediction-log row as ``Store.prediction_rows`` returns it, ``error_kind`` included."""
    row = {
        "id": index + 1,
        "simulation_id": "sim",
        "simulated_time_s": float(index),
        "arm": arm,
        "run_id": f"run-{arm}",
        "latency_ms": 2.0,
        "error": error,
        "error_kind": experiment.ERROR_INJECTED_FAULT if error == experiment.INJECTED_FAULT else experiment.ERROR_NONE,
        "breaker_state": state,
        "routing_reason": reason,
        "gold_json": json.dumps(["B-per", "O"]),
        "predicted_tags_json": None if error else json.dumps(["B-per", "O"]),
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (None, experiment.ERROR_NONE),
        ("", experiment.ERROR_NONE),
        (experiment.INJECTED_FAULT, experiment.ERROR_INJECTED_FAULT),
        ("rejected: circuit open for A", experiment.ERROR_BREAKER_REJECTED),
        ("something else went wrong", experiment.ERROR_OTHER),
    ],
)
def test_error_kind_from_message_of_rows_logged_before_kinds(message, kind):
    assert replay.error_kind_from_message(message) == kind


def test_result_from_log_restores_the_logged_error_kind():
    rows = [
        log_row(0),
        log_row(1, error=experiment.INJECTED_FAULT),
        log_row(2, error="rejected: circuit open for A", error_kind=experiment.ERROR_BREAKER_REJECTED, state="open"),
        # the logged kind wins over what the message would say
        log_row(3, error="injected fault", error_kind=experiment.ERROR_OTHER),
    ]
    requests = replay.result_from_log("sim", rows).requests
    assert list(requests["error_kind"]) == [
        experiment.ERROR_NONE,
        experiment.ERROR_INJECTED_FAULT,
        experiment.ERROR_BREAKER_REJECTED,
        experiment.ERROR_OTHER,
    ]
    assert list(requests["error"]) == [False, True, True, True]
    assert list(requests["correct_entities"]) == [1, 0, 0, 0]


def test_result_from_log_derives_the_error_kind_of_rows_logged_before_the_column():
    rows = [
        log_row(0, error_kind=None),
        log_row(1, error=experiment.INJECTED_FAULT, error_kind=None),
        log_row(2, error="rejected: circuit open for A", error_kind=None, state="open"),
    ]
    del rows[0]["error_kind"]  # a row read from code that never knew the column
    requests = replay.result_from_log("sim", rows).requests
    assert list(requests["error_kind"]) == [
        experiment.ERROR_NONE,
        experiment.ERROR_INJECTED_FAULT,
        experiment.ERROR_BREAKER_REJECTED,
    ]


def test_result_from_log_reads_the_router_pick_from_the_fallback_reason():
    rows = [log_row(0, arm="B", reason="fallback: breaker open for A", state="open")]
    requests = replay.result_from_log("sim", rows).requests
    assert (requests["chosen_arm"].iloc[0], requests["arm"].iloc[0]) == ("A", "B")


def test_result_from_log_refuses_an_unknown_error_kind():
    with pytest.raises(StoreError, match="unknown error kind 'timeout'"):
        replay.result_from_log("sim", [log_row(0, error="slow", error_kind="timeout")])


@pytest.mark.parametrize("column", ["gold_json", "predicted_tags_json"])
def test_result_from_log_refuses_unreadable_json(column):
    with pytest.raises(StoreError, match=f"log row 1 has unreadable {column}"):
        replay.result_from_log("sim", [log_row(0, **{column: "{not json"})])


def test_result_from_log_of_no_rows_is_an_empty_table():
    result = replay.result_from_log("sim", [])
    assert result.requests.empty and "error_kind" in result.requests.columns
    assert result.breaker_timelines == {}


# ----------------------------------------------------------------- breaker step chart


def simulation(timelines, times):
    return simulator.SimulationResult("sim", pd.DataFrame({"time_s": times}), {}, timelines, "A", False, 0.0)


def test_breaker_steps_extend_each_arm_to_the_last_request_with_levels():
    timelines = {"b": [(0.0, "closed")], "a": [(0.0, "closed"), (2.0, "open"), (4.0, "half_open"), (4.0, "closed")]}
    steps = replay.breaker_steps(simulation(timelines, [0.5, 3.0, 9.0]))
    assert list(steps.columns) == ["arm", "time_s", "state", "level"]
    assert [tuple(row) for row in steps.itertuples(index=False)] == [
        ("a", 0.0, "closed", 0),
        ("a", 2.0, "open", 2),
        ("a", 4.0, "half_open", 1),
        ("a", 4.0, "closed", 0),
        ("a", 9.0, "closed", 0),  # the last state, held to the end
        ("b", 0.0, "closed", 0),
        ("b", 9.0, "closed", 0),
    ]


def test_breaker_steps_without_requests_end_at_the_last_transition():
    steps = replay.breaker_steps(simulation({"a": [(0.0, "closed"), (3.0, "open")]}, []))
    assert list(steps["time_s"]) == [0.0, 3.0, 3.0] and list(steps["level"]) == [0, 2, 2]


def test_breaker_steps_of_no_timeline_are_empty():
    steps = replay.breaker_steps(simulation({}, [1.0]))
    assert steps.empty and list(steps.columns) == ["arm", "time_s", "state", "level"]


def test_breaker_steps_refuse_an_unknown_state():
    with pytest.raises(ConfigError, match="unknown breaker states 'melted'"):
        replay.breaker_steps(simulation({"a": [(0.0, "melted")]}, [1.0]))


# ----------------------------------------------------------------- the request log view


def stored_row(index, **overrides):
    """A row as ``Store.prediction_rows`` returns it: every column of the table."""
    row = log_row(index, **overrides)
    row.update({"source": "simulation", "created_at": None, "text": f"text {index}", "entities_json": "[]"})
    return row


def test_log_frame_keeps_the_view_columns_in_order():
    frame = replay.log_frame([stored_row(0), stored_row(1, error=experiment.INJECTED_FAULT)])
    assert list(frame.columns) == list(replay.LOG_VIEW_COLUMNS)
    assert list(frame["id"]) == [1, 2]
    assert list(frame["error_kind"]) == [experiment.ERROR_NONE, experiment.ERROR_INJECTED_FAULT]


def test_log_frame_derives_the_kind_of_rows_logged_before_it():
    rows = [
        stored_row(0, error_kind=None),
        stored_row(1, error=experiment.INJECTED_FAULT, error_kind=None),
        stored_row(2, error="rejected: circuit open for A", error_kind=None),
    ]
    kinds = list(replay.log_frame(rows)["error_kind"])
    assert kinds == [experiment.ERROR_NONE, experiment.ERROR_INJECTED_FAULT, experiment.ERROR_BREAKER_REJECTED]


def test_log_frame_of_no_rows_is_empty_with_its_columns():
    frame = replay.log_frame([])
    assert frame.empty and list(frame.columns) == list(replay.LOG_VIEW_COLUMNS)


def test_filter_log_by_arm_state_and_errors():
    rows = [
        stored_row(0, arm="A"),
        stored_row(1, arm="A", error=experiment.INJECTED_FAULT, state="closed"),
        stored_row(2, arm="B", state="open"),
        stored_row(3, arm="B", error=experiment.INJECTED_FAULT, state="half_open"),
    ]
    log = replay.log_frame(rows)
    assert list(replay.filter_log(log)["id"]) == [1, 2, 3, 4]
    assert list(replay.filter_log(log, arms=["A"])["id"]) == [1, 2]
    assert list(replay.filter_log(log, states=["open", "half_open"])["id"]) == [3, 4]
    assert list(replay.filter_log(log, errors_only=True)["id"]) == [2, 4]
    assert list(replay.filter_log(log, arms=["B"], errors_only=True)["id"]) == [4]
    assert replay.filter_log(log, arms=["nobody"]).empty


def test_a_replayed_simulation_numbers_its_distinct_sentences_so_intervals_resample_them():
    gold_a, gold_b = json.dumps(["B-per", "O"]), json.dumps(["O", "B-geo"])
    rows = [
        log_row(0, text="Anna slept", gold_json=gold_a),
        log_row(1, text="in Oslo", gold_json=gold_b, arm="B"),
        log_row(2, text="Anna slept", gold_json=gold_a, arm="B"),
        log_row(3, text="Anna slept", gold_json=gold_b),  # same words, other gold tags: another sentence
        log_row(4, text="in Oslo", gold_json=gold_b),
    ]
    requests = replay.result_from_log("sim", rows).requests
    assert list(requests["sentence_index"]) == [0, 1, 0, 2, 1]
    quality = ab_statistics.entity_f1_by_arm(requests, n_boot=50)
    assert (quality.loc["A", "requests"], quality.loc["A", "sentences"]) == (3, 3)
    assert (quality.loc["B", "requests"], quality.loc["B", "sentences"]) == (2, 2)
