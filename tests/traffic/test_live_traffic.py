"""Live traffic against a real API: a BackgroundServer (uvicorn on a thread) serving a tiny model from
this test's own SQLite store, real HTTP requests from the load generator, and the rows the API logs.

The module trains one tiny baseline run; each test copies its run row into a fresh database (the
folder is shared, read-only) and registers what it serves there, so no test sees another's rows.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from ner_core.errors import ApiKeyRefusedError, ApiUnreachableError, ConfigError, FaultControlError
from ner_core.evaluation import held_out
from ner_core.serving import api_keys, registry
from ner_core.serving.config import ServeConfig
from ner_core.serving.server import BackgroundServer
from ner_core.store.database import Store
from ner_core.store.tables import LiveTrafficRequest, LiveTrafficRun, PredictionLog
from ner_core.traffic import live_results, live_traffic
from ner_core.traffic.api_client import ApiClient, ApiTarget
from ner_core.traffic.live_traffic import LiveTraffic, LiveTrafficConfig
from tests.helpers import wait_until

TIMEOUT_S = 120


@pytest.fixture(scope="module")
def texts(tiny_run):
    return [live_traffic.sentence_request(s.words, s.tags) for s in held_out.test_split_for_run(tiny_run.run_dir)]


def copy_run(store, run, run_id):
    store.create_run(run_id, run.model_name, config=run.config, dataset_path=run.dataset_path, dataset_sha256=run.dataset_sha256)
    store.update_run(run_id, status="completed", metrics=run.metrics, run_dir=run.run_dir)
    return run_id


@pytest.fixture
def serving_store(tmp_path, tiny_run):
    """A fresh database whose registry has the tiny model as baseline v1 (primary) and v2 (speed)."""
    store = Store(f"sqlite:///{tmp_path / 'live.db'}")
    for run_id, role in (("tiny-a", "primary"), ("tiny-b", "speed")):
        info = registry.register(store, copy_run(store, tiny_run, run_id))
        registry.promote(store, info.model_name, info.version, role)
    return store


def serve(store, **settings):
    return BackgroundServer(ServeConfig(port=0, log_flush_interval_s=0.05, **settings), store=store)


def finish(traffic: LiveTraffic, server) -> live_traffic.LiveProgress:
    progress = traffic.wait(TIMEOUT_S)
    assert progress.done, progress
    server.gateway.log.flush()  # the API commits its log rows every 50 ms here; take the last ones now
    return progress


def test_every_request_is_sent_answered_and_logged_under_the_id_it_carried(serving_store, texts):
    with serve(serving_store, open_access=True) as server:
        config = LiveTrafficConfig(requests=40, rate_per_s=200.0, concurrency=4, seed=3)
        traffic = LiveTraffic(serving_store, ApiTarget(server.url), config, texts, source_run_id="tiny-a").start()
        progress = finish(traffic, server)
    assert (progress.status, progress.sent, progress.answered, progress.ok, progress.in_flight) == ("completed", 40, 40, 40, 0)
    assert progress.status_counts == {"200": 40}
    assert sum(progress.served_by.values()) == 40 and set(progress.breakers) == {"primary", "speed"}
    live = live_results.live_result(serving_store, traffic.live_run_id)
    assert live.not_logged == 0 and len(live.result.requests) == 40
    assert live.summary.planned_weights == pytest.approx({"primary": 90 / 98, "speed": 8 / 98})  # the server's split
    with serving_store.session() as session:
        sent = {r.request_id: r for r in session.query(LiveTrafficRequest).filter_by(live_run_id=traffic.live_run_id)}
        logged = {r.request_id: r for r in session.query(PredictionLog).filter(PredictionLog.request_id.in_(sent))}
    assert sorted(sent) == [f"{traffic.live_run_id}-{i:06d}" for i in range(40)]
    assert set(logged) == set(sent)  # every request is in the log, under the id it carried
    for request_id, request in sent.items():
        assert logged[request_id].text == texts[request.sentence_index].text
        assert logged[request_id].arm in ("primary", "speed") and logged[request_id].error is None
    frame = live.result.requests
    assert frame["time_s"].is_monotonic_increasing  # sending order is arrival order
    assert set(frame["chosen_arm"]) <= {"primary", "speed"} and (frame["chosen_arm"] == frame["arm"]).all()
    assert frame["gold_entities"].sum() == sum(len(texts[i].gold) for i in frame["sentence_index"])
    assert (frame["latency_ms"] > 0).all()  # as the server measured and logged it


def test_a_client_request_id_is_logged_and_a_malformed_one_replaced(serving_store, texts):
    with serve(serving_store, open_access=True) as server:
        good = httpx.post(f"{server.url}/api/v1/predict", json={"text": texts[0].text}, headers={"X-Request-ID": "demo-1.a:b_c"})
        bad = httpx.post(f"{server.url}/api/v1/predict", json={"text": texts[1].text}, headers={"X-Request-ID": "no spaces!"})
        server.gateway.log.flush()
        with pytest.raises(FaultControlError, match="--fault-api"):  # off by default
            ApiClient(ApiTarget(server.url)).set_fault("primary", error_probability=1.0)
    assert good.json()["request_id"] == "demo-1.a:b_c"
    assert re.fullmatch(r"[0-9a-f]{16,32}", bad.json()["request_id"])  # a server-made id, not the malformed one
    with serving_store.session() as session:
        ids = {row.text: row.request_id for row in session.query(PredictionLog)}
    assert ids == {texts[0].text: "demo-1.a:b_c", texts[1].text: bad.json()["request_id"]}


def test_an_unreachable_api_is_one_clear_error_and_nothing_is_recorded(serving_store, texts):
    target = ApiTarget("http://127.0.0.1:9", timeout_s=2)  # the discard port: nothing listens
    with pytest.raises(ApiUnreachableError, match=r"cannot reach the API at http://127\.0\.0\.1:9 .*make serve"):
        LiveTraffic(serving_store, target, LiveTrafficConfig(requests=5), texts).start()
    assert live_results.live_runs(serving_store) == []


def test_a_wrong_key_is_refused_before_sending_and_a_good_key_names_the_rows(serving_store, texts):
    key = api_keys.create(serving_store, "ab-live")
    with serve(serving_store) as server:
        with pytest.raises(ApiKeyRefusedError, match="refused the key .*api-key create"):
            LiveTraffic(serving_store, ApiTarget(server.url, api_key="nerk_wrong"), LiveTrafficConfig(requests=5), texts).start()
        with pytest.raises(ApiKeyRefusedError, match="refused a request without a key"):
            LiveTraffic(serving_store, ApiTarget(server.url), LiveTrafficConfig(requests=5), texts).start()
        assert live_results.live_runs(serving_store) == []  # refused before anything was written
        config = LiveTrafficConfig(requests=6, rate_per_s=100.0, concurrency=2)
        traffic = LiveTraffic(serving_store, ApiTarget(server.url, api_key=key), config, texts).start()
        progress = finish(traffic, server)
    assert progress.ok == 6
    with serving_store.session() as session:
        names = {row.api_key_name for row in session.query(PredictionLog)}
    assert names == {"ab-live"}
    assert key not in repr(ApiTarget(server.url, api_key=key))


def test_a_key_revoked_during_a_run_ends_it_with_the_reason(serving_store, texts):
    key = api_keys.create(serving_store, "short-lived")
    with serve(serving_store) as server:
        config = LiveTrafficConfig(requests=1000, rate_per_s=20.0, concurrency=2)
        traffic = LiveTraffic(serving_store, ApiTarget(server.url, api_key=key), config, texts).start()
        wait_until(lambda: traffic.progress().ok >= 3, timeout=TIMEOUT_S)
        api_keys.revoke(serving_store, "short-lived")
        server.gateway.refresh()  # what the server's poll does within a second
        progress = finish(traffic, server)
    assert progress.status == "failed" and "refused the key during the run" in progress.message
    assert progress.status_counts["401"] >= 1 and progress.sent < 1000
    summary = live_results.live_run(serving_store, traffic.live_run_id)
    assert (summary.status, summary.requests) == ("failed", progress.sent)
    assert "api-key create" in summary.message


def test_a_server_that_goes_away_ends_the_run_instead_of_timing_out_forever(serving_store, texts):
    server = serve(serving_store, open_access=True).start()
    config = LiveTrafficConfig(requests=5000, rate_per_s=50.0, concurrency=2)
    traffic = LiveTraffic(serving_store, ApiTarget(server.url, timeout_s=2), config, texts).start()
    wait_until(lambda: traffic.progress().ok >= 3, timeout=TIMEOUT_S)
    server.stop()
    progress = traffic.wait(TIMEOUT_S)
    assert progress.status == "failed" and "the API stopped answering" in progress.message and "make serve" in progress.message
    assert progress.status_counts.get("no answer", 0) >= live_traffic.MAX_CONSECUTIVE_UNANSWERED
    live = live_results.live_result(serving_store, traffic.live_run_id)
    assert live.not_logged >= live_traffic.MAX_CONSECUTIVE_UNANSWERED  # never reached a model: no log row
    assert live_results.outcome_table(live.requests).set_index("status").loc["no answer", "in the log"] == 0


def test_cancel_stops_sending_and_keeps_what_was_sent(serving_store, texts):
    with serve(serving_store, open_access=True) as server:
        config = LiveTrafficConfig(requests=1000, rate_per_s=20.0, concurrency=2)
        traffic = LiveTraffic(serving_store, ApiTarget(server.url), config, texts).start()
        wait_until(lambda: traffic.progress().answered >= 5, timeout=TIMEOUT_S)
        traffic.cancel()
        progress = finish(traffic, server)
    assert progress.status == "cancelled" and 5 <= progress.sent < 1000 and progress.answered == progress.sent
    summary = live_results.live_run(serving_store, traffic.live_run_id)
    assert (summary.status, summary.requests) == ("cancelled", progress.sent)
    assert f"after {progress.sent:,} of 1,000" in summary.message
    assert live_results.live_result(serving_store, traffic.live_run_id).not_logged == 0


def test_a_breaker_opens_under_faults_switched_on_at_run_time_and_closes_after_its_probe(serving_store, texts):
    """Faults on the primary through PUT /api/v1/faults while traffic runs: its breaker opens and the
    speed role serves; faults off: the half-open probe succeeds and the breaker closes. No request fails."""
    with serve(serving_store, open_access=True, fault_api=True, breaker_failures=3, breaker_reset_s=0.5) as server:
        config = LiveTrafficConfig(requests=5000, rate_per_s=40.0, concurrency=4, model="primary")
        traffic = LiveTraffic(serving_store, ApiTarget(server.url), config, texts).start()
        client = ApiClient(ApiTarget(server.url))
        wait_until(lambda: traffic.progress().ok >= 10, timeout=TIMEOUT_S)
        with pytest.raises(FaultControlError, match="refused the fault for primary: .*error_probability"):
            client.set_fault("primary", error_probability=2.0)
        with pytest.raises(FaultControlError, match="refused the fault for boss: 'boss' is not a role"):
            client.set_fault("boss", error_probability=1.0)
        assert client.set_fault("primary", error_probability=1.0)["error_probability"] == 1.0
        assert client.health()["models"]["primary"]["fault"] == {"error_probability": 1.0, "added_latency_ms": 0.0}
        wait_until(lambda: server.gateway.breaker(server.gateway.snapshot.arms["primary"]).state != "closed", TIMEOUT_S)
        time.sleep(1.0)  # at least one probe fails while the fault is on and re-opens the breaker
        client.set_fault("primary")  # both 0: off
        assert client.health()["models"]["primary"]["fault"] is None
        wait_until(lambda: server.gateway.breaker(server.gateway.snapshot.arms["primary"]).state == "closed", TIMEOUT_S)
        answered = traffic.progress().answered
        wait_until(lambda: traffic.progress().answered >= answered + 5, TIMEOUT_S)  # the primary serves again
        traffic.cancel()
        progress = finish(traffic, server)
        client.close()
    assert progress.status_counts == {"200": progress.answered}  # nothing failed
    assert progress.fallbacks >= 3
    live = live_results.live_result(serving_store, traffic.live_run_id)
    states = [state for _, state in live.result.breaker_timelines["primary"]]
    assert states[:3] == ["closed", "open", "half_open"] and states[-1] == "closed"
    frame = live.result.requests
    assert (frame["chosen_arm"] == "primary").all() and not frame["error"].any()
    assert (frame[frame["breaker_state"] == "open"]["arm"] == "speed").all()  # the breaker's fallback served them
    failed_over = frame[frame["reason"].str.startswith("fallback: primary failed")]
    assert len(failed_over) >= 3 and (failed_over["arm"] == "speed").all()
    assert frame["arm"].iloc[-1] == "primary"  # the primary serves again once closed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"requests": 0}, "requests must be"),
        ({"requests": True}, "requests must be"),
        ({"rate_per_s": 0}, "rate must be"),
        ({"rate_per_s": float("nan")}, "rate must be"),
        ({"concurrency": 0}, "concurrency must be"),
        ({"model": " "}, "model field"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_live_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        LiveTrafficConfig(**settings)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:8000", "not an http"),
        ("ftp://example.org", "not an http"),
        ("http://", "not an http"),
        ("http://localhost:99999", "port"),
        ("http://localhost:8000/?x=1", "not an http"),
    ],
)
def test_bad_api_addresses_are_refused(url, message):
    with pytest.raises(ConfigError, match=message):
        ApiTarget(url)


def test_an_api_address_is_normalised_and_a_key_with_spaces_refused():
    assert ApiTarget(" http://127.0.0.1:8000/ ").url == "http://127.0.0.1:8000"
    with pytest.raises(ConfigError, match="API key"):
        ApiTarget(api_key="two words")
    with pytest.raises(ConfigError, match="timeout"):
        ApiTarget(timeout_s=0)


def test_a_sentence_request_has_gold_character_spans_of_its_text():
    request = live_traffic.sentence_request(
        ["Anna", "Berg", "visited", "New", "York", "on", "Monday", "."],
        ["B-per", "I-per", "O", "B-geo", "I-geo", "O", "B-tim", "O"],
    )
    assert request.text == "Anna Berg visited New York on Monday ."
    assert [request.text[start:end] for _, start, end in request.gold] == ["Anna Berg", "New York", "Monday"]
    assert [kind for kind, _, _ in request.gold] == ["per", "geo", "tim"]


def test_a_live_run_needs_sentences(serving_store):
    with pytest.raises(ConfigError, match="at least one test sentence"):
        LiveTraffic(serving_store, ApiTarget(), LiveTrafficConfig(), [])
    with serving_store.session() as session:
        assert session.query(LiveTrafficRun).count() == 0
