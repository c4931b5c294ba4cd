"""Reading a live run back: the client's records joined with prediction-log rows by request id.

The rows here are written as the API writes them (``Store.log_predictions``, the API's columns and
its routing reasons), so each join rule is checked on a known case; test_live_traffic.py checks the
same reading on rows a real server wrote.
"""

from __future__ import annotations

import json

import pytest

from ner_core.errors import LiveTrafficError
from ner_core.store.database import Store
from ner_core.store.tables import LiveTrafficRequest, LiveTrafficRun
from ner_core.traffic import ab_statistics, live_results

RUN = "live-0123456789ab"
TEXT = "Anna Berg visited Oslo ."
GOLD = [["per", 0, 9], ["geo", 18, 22]]


def entity(kind, start, end):
    return {"text": TEXT[start:end], "type": kind, "start": start, "end": end, "confidence": 0.9}


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'live.db'}")


def record_run(store, requests, *, status="completed", weights=None):
    """``requests``: (status code, round trip ms, client error) per position, all carrying TEXT."""

    def work(session):
        session.add(LiveTrafficRun(id=RUN, api_url="http://127.0.0.1:8000", status=status,
                                   planned_weights_json=json.dumps(weights or {"primary": 0.9, "speed": 0.1})))  # fmt: skip
        session.flush()
        for position, (code, trip, error) in enumerate(requests):
            session.add(LiveTrafficRequest(live_run_id=RUN, position=position, request_id=f"{RUN}-{position:06d}",
                                           sentence_index=position, sent_at_s=0.25 * position, status_code=code,
                                           round_trip_ms=trip, client_error=error, gold_json=json.dumps(GOLD)))  # fmt: skip

    store.write(work)


def log(store, position, *, arm, entities=(), reason="weighted draw", error=None, kind="none", state="closed", latency=2.0):
    store.log_predictions([{
        "source": "api", "arm": arm, "run_id": f"run-{arm}", "model_version": 1, "text": TEXT, "entities": list(entities),
        "latency_ms": latency if error is None else None, "error": error, "error_kind": kind, "breaker_state": state,
        "routing_reason": reason, "request_id": f"{RUN}-{position:06d}",
    }])  # fmt: skip


def test_requests_join_their_log_rows_with_the_chosen_role_entity_counts_and_round_trips(store):
    record_run(store, [(200, 10.0, None), (200, 12.0, None), (200, 30.0, None), (503, 5.0, "no model could serve"),
                       (429, 1.0, "rate limit"), (None, None, "cannot reach the API")])  # fmt: skip
    log(store, 0, arm="primary", entities=[entity("per", 0, 9), entity("geo", 18, 22)])
    log(store, 1, arm="speed", entities=[entity("per", 0, 4)], reason="fallback: breaker open for primary", state="open")
    log(
        store,
        2,
        arm="speed",
        entities=[entity("geo", 18, 22)],
        reason="fallback: primary failed (injected fault); served by speed",
    )
    log(store, 3, arm="primary", reason="rejected: breaker half-open for primary and no fallback available",
        error="no model could serve the request", kind="breaker_rejected", state="half_open")  # fmt: skip
    store.log_predictions([{"source": "api", "text": TEXT, "request_id": "live-ffffffffffff-000000"}])  # another run's row

    live = live_results.live_result(store, RUN, latency="round_trip")

    frame = live.result.requests
    assert live.not_logged == 2  # the 429 and the unanswered request never reached a model
    assert list(frame["chosen_arm"]) == ["primary", "primary", "primary", "primary"]
    assert list(frame["arm"]) == ["primary", "speed", "speed", "primary"]
    assert list(frame["correct_entities"]) == [2, 0, 1, 0]
    assert list(frame["predicted_entities"]) == [2, 1, 1, 0]
    assert list(frame["gold_entities"]) == [2, 2, 2, 2]
    assert list(frame["latency_ms"][:3]) == [10.0, 12.0, 30.0]  # end to end, as the client measured
    assert list(frame["error_kind"]) == ["none", "none", "none", "breaker_rejected"]
    assert live.result.breaker_timelines == {"primary": [(0.0, "closed"), (0.25, "open"), (0.5, "closed"), (0.75, "half_open")]}
    assert live.result.planned_weights == {"primary": 0.9, "speed": 0.1}
    assert ab_statistics.split_table(live.result)["router picks"].to_list() == [4, 0]
    server = live_results.live_result(store, RUN).result.requests  # the API's own time by default
    assert list(server["latency_ms"][:3]) == [2.0, 2.0, 2.0]

    outcomes = live_results.outcome_table(live.requests).set_index("status")
    assert outcomes.loc["200", "requests"] == 3 and outcomes.loc["503", "in the log"] == 1
    assert outcomes.loc["429", "in the log"] == 0 and outcomes.loc["no answer", "message"] == "cannot reach the API"
    trips = live_results.round_trip_by_version(live.requests).set_index("arm")
    assert trips.loc["speed", "requests"] == 2 and trips.loc["speed", "round trip p50"] == pytest.approx(21.0)


def test_the_chosen_role_comes_from_the_api_routing_reasons():
    assert live_results.chosen_role("speed", "fallback: breaker open for primary") == "primary"
    assert live_results.chosen_role("speed", "fallback: backup failed (timeout: no answer in 5 ms); served by speed") == "backup"
    assert live_results.chosen_role("primary", "requested 'primary': primary (model2 v2)") == "primary"
    assert live_results.chosen_role("backup", None) == "backup"


def test_live_runs_are_listed_newest_first_with_their_request_counts(store):
    record_run(store, [(200, 1.0, None)] * 3, status="cancelled")
    (summary,) = live_results.live_runs(store)
    assert (summary.id, summary.requests, summary.status) == (RUN, 3, "cancelled")
    assert RUN in summary.label and "3 requests" in summary.label


def test_unknown_runs_unreadable_rows_and_latency_sources_are_clear_errors(store):
    with pytest.raises(LiveTrafficError, match="no live run 'live-nope'"):
        live_results.live_result(store, "live-nope")
    record_run(store, [(200, 1.0, None)])
    with pytest.raises(LiveTrafficError, match="latency source"):
        live_results.live_result(store, RUN, latency="wall")
    store.log_predictions([{"source": "api", "arm": "primary", "text": TEXT, "request_id": f"{RUN}-000000",
                            "entities_json": "not json", "error_kind": "none"}])  # fmt: skip
    with pytest.raises(LiveTrafficError, match="unreadable log row"):
        live_results.live_result(store, RUN)
