"""The REST API through FastAPI's TestClient, with real models (a small model2 and a one-epoch baseline
trained on the sample), a real SQLite store per test, and a clock the test moves by hand."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from ner_core.serving import api_keys, registry
from ner_core.serving.api.app import create_app
from ner_core.serving.config import ServeConfig

TEXT = "Anna Berg visited Oslo on Monday ."


@pytest.fixture
def served(fresh_store, clone_run, trained_run, baseline_run):
    """model2 v1 primary and baseline v1 speed, with stored latency/F1 the routing tests rely on."""
    clone_run(fresh_store, trained_run, "model2-v1", latency_p50_ms=4.0, entity_f1=0.80)
    clone_run(fresh_store, baseline_run, "baseline-v1", latency_p50_ms=1.0, entity_f1=0.40)
    registry.register(fresh_store, "model2-v1")
    registry.register(fresh_store, "baseline-v1")
    registry.promote(fresh_store, "model2", 1, "primary")
    registry.promote(fresh_store, "baseline", 1, "speed")
    return fresh_store


@pytest.fixture
def key(fresh_store):
    return api_keys.create(fresh_store, "tester")


def client_for(store, clock, **settings) -> TestClient:
    app = create_app(ServeConfig(**settings), store=store, clock=clock, poll=False)
    return TestClient(app, raise_server_exceptions=False)


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_predict_returns_entities_at_exact_offsets_and_registry_facts(served, key, clock):
    with client_for(served, clock) as client:
        response = client.post(
            "/api/v1/predict", json={"text": TEXT, "model": "primary", "include_metrics": True}, headers=auth(key)
        )
        assert response.status_code == 200, response.text
        body = response.json()
    assert (body["model_used"], body["model_role"], body["model_version"], body["run_id"]) == (
        "model2",
        "primary",
        1,
        "model2-v1",
    )
    assert body["f1_score"] == 0.80  # the version's stored metric
    assert [p["word"] for p in body["predictions"]] == TEXT.split()
    for prediction in body["predictions"]:
        assert TEXT[prediction["start"] : prediction["end"]] == prediction["word"] and 0 < prediction["confidence"] <= 1
    for entity in body["entities"]:
        assert TEXT[entity["start"] : entity["end"]] == entity["text"]
    metrics = body["detailed_metrics"]
    assert metrics["total_ms"] == body["processing_time_ms"] > 0
    assert metrics["model_ms"] > 0 and metrics["batch_sentences"] == 1 and metrics["memory_mb"] > 50
    assert body["routing_decision"] == "requested 'primary': primary (model2 v1)"
    rows = served.prediction_rows(source="api")  # the app has shut down: every row is committed
    assert len(rows) == 1
    row = rows[0]
    assert (row["api_key_name"], row["request_id"], row["model_version"], row["arm"]) == (
        "tester",
        body["request_id"],
        1,
        "primary",
    )
    assert key not in json.dumps(row, default=str)
    assert json.loads(row["entities_json"]) == [
        {**entity, "token_start": stored["token_start"], "token_end": stored["token_end"]}
        for entity, stored in zip(body["entities"], json.loads(row["entities_json"]))
    ]


def test_output_formats_and_confidence_switch(served, key, clock):
    with client_for(served, clock) as client:
        iob = client.post("/api/v1/predict", json={"text": "Anna left . Oslo slept .", "output_format": "iob"}, headers=auth(key))
        only = client.post("/api/v1/predict", json={"text": TEXT, "output_format": "entities_only", "return_confidence": False},
                           headers=auth(key))  # fmt: skip
    body = iob.json()
    assert body["predictions"] is None and body["entities"] is None
    blocks = body["iob"].split("\n\n")
    assert [[line.split("\t")[0] for line in block.splitlines()] for block in blocks] == [
        ["Anna", "left", "."],
        ["Oslo", "slept", "."],
    ]
    assert only.json()["predictions"] is None
    assert all(entity["confidence"] is None for entity in only.json()["entities"])


def test_missing_wrong_and_revoked_keys_get_the_same_401(served, key, clock):
    other = api_keys.create(served, "other")
    with client_for(served, clock) as client:
        answers = [
            client.post("/api/v1/predict", json={"text": TEXT}),
            client.post("/api/v1/predict", json={"text": TEXT}, headers={"Authorization": "Basic abc"}),
            client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key[:-2] + "xx")),
            client.post("/api/v1/predict", json={"text": TEXT}, headers=auth("nerk_00000000_guess")),
        ]
        assert client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(other)).status_code == 200
        api_keys.revoke(served, "other")
        client.app.state.gateway.refresh()  # the poll thread does this every registry_poll_s
        answers.append(client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(other)))
        assert client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key)).status_code == 200
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.text for answer in answers}) == 1  # nothing tells which keys exist
    assert answers[0].json()["error"]["code"] == "E042" and answers[0].headers["WWW-Authenticate"] == "Bearer"
    assert "other" not in answers[-1].text and "tester" not in answers[-1].text


def test_rate_limit_answers_429_with_retry_after_until_tokens_return(served, key, clock):
    with client_for(served, clock, rate_limit_per_s=0.5, rate_limit_burst=2) as client:
        codes = [client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key)).status_code for _ in range(2)]
        limited = client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key))
        clock.advance(2.0)  # one token back at 0.5/s
        after = client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key))
    assert codes == [200, 200]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["error"]["code"] == "E043" and "0.5 requests/s" in limited.json()["error"]["message"]
    assert after.status_code == 200


def test_a_client_guessing_keys_is_stopped_before_any_scrypt_and_only_failures_count(served, key, clock):
    from ner_core.serving.api.app import AUTH_FAILURE_BURST

    fresh_keys = [api_keys.create(served, f"fresh-{number}") for number in range(AUTH_FAILURE_BURST + 5)]
    with client_for(served, clock) as client:
        # Many first requests with right keys, each seen for the first time, never count as guesses.
        for fresh in fresh_keys:
            assert client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(fresh)).status_code == 200
        guesses = [
            client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(f"nerk_0000000{n % 10}_guess")).status_code
            for n in range(AUTH_FAILURE_BURST + 1)
        ]
        blocked = client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key))
        clock.advance(5.0)
        later = client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key))
    assert guesses == [401] * AUTH_FAILURE_BURST + [429]
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "E043"  # this address waits, whatever it sends
    assert later.status_code == 200


def test_peeking_at_a_bucket_takes_no_token_and_a_charge_always_takes_one():
    from ner_core.errors import RateLimitError
    from ner_core.serving.rate_limit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(1.0, 2, clock=lambda: now[0])
    for _ in range(5):
        limiter.check_not_exhausted("a")  # a full bucket stays full
    limiter.charge("a")
    limiter.charge("a")
    with pytest.raises(RateLimitError, match="retry after 1 s"):
        limiter.check_not_exhausted("a")
    limiter.charge("a")  # charged while empty: the client waits longer
    now[0] = 1.5
    with pytest.raises(RateLimitError):
        limiter.check_not_exhausted("a")
    now[0] = 2.0
    limiter.check_not_exhausted("a")


GARBAGE = [
    (b"{not json", "application/json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "application/json", "not valid JSON"),
    (json.dumps({"text": 42}).encode(), "application/json", "text: Input should be a valid string"),
    (json.dumps({"txt": "a"}).encode(), "application/json", "text is required"),
    (json.dumps({"text": "a", "retrun_confidence": True}).encode(), "application/json", "retrun_confidence is not a field"),
    (json.dumps({"text": "a", "output_format": "xml"}).encode(), "application/json", "output_format"),
    (json.dumps({"text": "a", "max_latency_ms": -3}).encode(), "application/json", "max_latency_ms"),
    (json.dumps(["a list"]).encode(), "application/json", "valid dictionary"),
    (json.dumps({"text": "   "}).encode(), "application/json", "text is empty"),
]


def test_bad_bodies_get_422_json_errors_and_never_a_traceback(served, key, clock):
    with client_for(served, clock, max_text_chars=50) as client:
        for content, content_type, message in GARBAGE:
            response = client.post("/api/v1/predict", content=content, headers={**auth(key), "Content-Type": content_type})
            assert response.status_code == 422, (content, response.text)
            error = response.json()["error"]
            assert error["code"] in ("E045", "E005") and message in error["message"], (content, error)
            assert "Traceback" not in response.text and 'File "' not in response.text
        too_long = client.post("/api/v1/predict", json={"text": "word " * 20}, headers=auth(key))
        batch = client.post("/api/v1/predict/batch", json={"texts": ["ok"] * 101}, headers=auth(key))
    assert too_long.status_code == 422 and "100 characters; this server accepts at most 50" in too_long.json()["error"]["message"]
    assert batch.status_code == 422 and "texts" in batch.json()["error"]["message"]
    assert served.count_predictions(source="api") == 0  # nothing reached a model, nothing was logged


def test_an_oversize_body_gets_413_before_it_is_read(served, key, clock):
    with client_for(served, clock, max_body_bytes=2048) as client:
        response = client.post("/api/v1/predict", json={"text": "x" * 5000}, headers=auth(key))
        chunked = client.post(
            "/api/v1/predict",
            content=iter([b'{"text": "', b"y" * 3000, b'"}']),
            headers={**auth(key), "Content-Type": "application/json"},
        )
    for answer in (response, chunked):
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "E044" and "2,048 bytes" in answer.json()["error"]["message"]


def test_unknown_model_and_unknown_path(served, key, clock):
    with client_for(served, clock) as client:
        model = client.post("/api/v1/predict", json={"text": TEXT, "model": "advanced"}, headers=auth(key))
        path = client.get("/api/v2/anything", headers=auth(key))
        method = client.get("/api/v1/predict", headers=auth(key))
    assert model.status_code == 404 and model.json()["error"]["code"] == "E041"
    assert "primary (model2 v1), speed (baseline v1)" in model.json()["error"]["message"]
    assert path.status_code == 404 and path.json()["error"]["code"] == "E051"
    assert method.status_code == 405 and method.json()["error"]["code"] == "E051"


@pytest.mark.parametrize(
    "strategy, extra, role, sla_met",
    [
        ("speed", {"max_latency_ms": 50, "min_accuracy": 0.3}, "speed", True),
        ("accuracy", {"max_latency_ms": 50, "min_accuracy": 0.3}, "primary", True),
        ("performance", {"max_latency_ms": 50, "min_accuracy": 0.3}, "primary", True),
        ("intelligent", {"max_latency_ms": 2, "min_accuracy": 0.3}, "speed", True),  # primary measures 4 ms
        ("intelligent", {"max_latency_ms": 50, "min_accuracy": 0.5}, "primary", True),
        ("intelligent", {"max_latency_ms": 50, "min_accuracy": 0.9, "context": {"user_type": "premium"}}, "primary", False),
        ("accuracy", {"max_latency_ms": 50, "min_accuracy": 0.95}, "primary", False),  # nobody meets it: the closest
    ],
)
def test_route_strategies_use_measured_latency_and_stored_f1(served, key, clock, strategy, extra, role, sla_met):
    with client_for(served, clock) as client:
        response = client.post(
            "/api/v1/predict/route", json={"text": TEXT, "routing_strategy": strategy, **extra}, headers=auth(key)
        )
    assert response.status_code == 200, response.text
    body = response.json()
    decision = body["routing_decision"]
    assert (decision["selected_role"], body["sla_met"]) == (role, sla_met)
    considered = {
        alt["role"]: (alt["latency_ms"], alt["f1_score"], alt["latency_source"]) for alt in decision["alternatives_considered"]
    }
    assert considered == {"primary": (4.0, 0.80, "stored"), "speed": (1.0, 0.40, "stored")}
    assert decision["reason"].startswith(strategy)
    assert body["performance_metrics"]["inference_time_ms"] > 0


def test_route_refuses_with_422_when_nothing_meets_the_sla_and_fallback_is_off(served, key, clock):
    with client_for(served, clock) as client:
        body = {"text": TEXT, "routing_strategy": "accuracy", "min_accuracy": 0.99, "fallback_enabled": False}
        response = client.post("/api/v1/predict/route", json=body, headers=auth(key))
    assert response.status_code == 422 and response.json()["error"]["code"] == "E046"
    assert "no available model meets latency <= 50 ms and entity F1 >= 0.99" in response.json()["error"]["message"]


def test_auto_follows_the_weighted_split(served, key, clock):
    with client_for(served, clock, weights="primary=3,speed=1", rate_limit_per_s=0) as client:
        roles = [client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key)).json()["model_role"] for _ in range(120)]
        health = client.get("/api/v1/health", headers=auth(key)).json()
    share = roles.count("primary") / len(roles)
    assert 0.6 < share < 0.9  # 75 % planned; 120 draws
    assert health["traffic_distribution"]["primary"] == pytest.approx(100 * share, abs=0.01)
    assert health["models"]["primary"]["requests_served"] == roles.count("primary")


def test_breaker_opens_under_injected_failures_falls_back_and_recovers_after_its_probe(served, key, clock):
    settings = dict(faults="primary:1.0", breaker_failures=3, breaker_reset_s=60, rate_limit_per_s=0)
    with client_for(served, clock, **settings) as client:
        ask = lambda: client.post("/api/v1/predict", json={"text": TEXT, "model": "primary"}, headers=auth(key)).json()  # noqa: E731
        failing = [ask() for _ in range(3)]
        assert all(answer["model_role"] == "speed" for answer in failing)  # served by the fallback, and it says so
        assert failing[0]["routing_decision"] == "fallback: primary failed (injected fault); served by speed"
        health = client.get("/api/v1/health", headers=auth(key)).json()
        assert health["models"]["primary"]["breaker_state"] == "open" and health["status"] == "degraded"
        assert health["models"]["primary"]["error_rate"] == 1.0
        assert ask()["routing_decision"] == "fallback: breaker open for primary"  # not even tried
        client.app.state.gateway.set_fault("primary", client.app.state.gateway.faults["primary"].__class__())  # fault off
        clock.advance(59)
        assert ask()["model_role"] == "speed"  # still open
        clock.advance(2)
        probe = ask()
        assert probe["model_role"] == "primary"  # the half-open trial succeeded
        health = client.get("/api/v1/health", headers=auth(key)).json()
        metrics = client.get("/metrics").text
    assert health["models"]["primary"]["breaker_state"] == "closed" and health["status"] == "healthy"
    assert 'ner_model_calls_total{arm="primary",outcome="injected_fault"} 3.0' in metrics
    assert 'ner_breaker_state{arm="primary"} 0.0' in metrics
    rows = served.prediction_rows(source="api")
    assert len(rows) == 6 and all(row["error"] is None for row in rows)  # every request answered and logged


def test_a_model_slower_than_its_timeout_is_a_failure_served_by_the_fallback(served, key, clock):
    with client_for(served, clock, faults="primary:0:400", model_timeout_ms=100) as client:
        body = client.post("/api/v1/predict", json={"text": TEXT, "model": "primary"}, headers=auth(key)).json()
        metrics = client.get("/metrics").text
    assert body["model_role"] == "speed"
    assert body["routing_decision"] == "fallback: primary failed (timeout: no answer in 100 ms); served by speed"
    assert 'ner_model_calls_total{arm="primary",outcome="timeout"} 1.0' in metrics


def test_with_every_arm_failing_the_answer_is_503_and_the_failure_is_logged(served, key, clock):
    with client_for(served, clock, faults="primary:1,speed:1") as client:
        response = client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key))
    assert response.status_code == 503 and response.json()["error"]["code"] == "E047"
    (row,) = served.prediction_rows(source="api")
    assert row["error_kind"] == "injected_fault" and "failed" in row["error"] and row["api_key_name"] == "tester"


def test_a_promotion_mid_traffic_switches_the_version_without_a_failed_request(served, key, clock, clone_run, trained_run):
    clone_run(served, trained_run, "model2-v2", latency_p50_ms=4.0, entity_f1=0.82)
    registry.register(served, "model2-v2")
    answers, stop = [], threading.Event()
    with client_for(served, clock, rate_limit_per_s=0) as client:

        def traffic():
            while not stop.is_set():
                answers.append(client.post("/api/v1/predict", json={"text": TEXT, "model": "primary"}, headers=auth(key)))

        senders = [threading.Thread(target=traffic) for _ in range(3)]
        for sender in senders:
            sender.start()
        while len(answers) < 15:
            threading.Event().wait(0.01)
        registry.promote(served, "model2", 2, "primary", by="test")
        assert client.app.state.gateway.refresh()  # the swap (the poll thread's job in a server)
        seen_at_swap = len(answers)
        while len(answers) < seen_at_swap + 15:
            threading.Event().wait(0.01)
        stop.set()
        for sender in senders:
            sender.join()
        health = client.get("/api/v1/health", headers=auth(key)).json()
    assert {answer.status_code for answer in answers} == {200}
    versions = [answer.json()["model_version"] for answer in answers]
    assert versions[0] == 1 and set(versions) == {1, 2}
    assert versions[-9:] == [2] * 9  # once swapped, every new request is served by v2
    assert health["models"]["primary"]["version"] == 2 and health["registry"]["swaps"] == 2
    assert served.count_predictions(source="api") == len(answers)


def test_batch_tags_every_text_in_one_model_call_in_order(served, key, clock):
    texts = ["Anna visited Oslo .", "Peter met reporters in Lima on Monday . Rain fell .", "Acme hired Anna ."]
    with client_for(served, clock) as client:
        response = client.post("/api/v1/predict/batch", json={"texts": texts, "model": "speed"}, headers=auth(key))
        metrics = client.get("/metrics").text
    body = response.json()
    assert response.status_code == 200 and body["texts_processed"] == 3
    assert [item["text"] for item in body["results"]] == texts
    assert body["models_used"] == {"baseline": 3} and body["model_version"] == 1
    for item in body["results"]:
        assert [p["word"] for p in item["predictions"]] == item["text"].split()
    assert 'ner_batch_size_sentences_count{arm="speed"} 1.0' in metrics  # four sentences, one model call
    assert 'ner_batch_size_sentences_sum{arm="speed"} 4.0' in metrics
    rows = served.prediction_rows(source="api")
    assert [row["text"] for row in rows] == texts and {row["request_id"] for row in rows} == {body["batch_id"]}


def test_health_comparison_probes_metrics_and_docs(served, key, clock):
    with client_for(served, clock) as client:
        client.post("/api/v1/predict", json={"text": TEXT, "model": "primary"}, headers=auth(key))
        health = client.get("/api/v1/health", headers=auth(key)).json()
        comparison = client.get("/api/v1/models/comparison", headers=auth(key)).json()
        unauthenticated = client.get("/api/v1/health")
        probes = (client.get("/healthz"), client.get("/readyz"))
        metrics = client.get("/metrics").text
        docs, schema = client.get("/docs"), client.get("/openapi.json")
    primary = health["models"]["primary"]
    assert (primary["status"], primary["version"], primary["f1_score"], primary["requests_served"]) == ("loaded", 1, 0.80, 1)
    assert primary["avg_latency_ms"] > 0 and primary["p95_latency_ms"] >= primary["avg_latency_ms"] * 0.999
    assert health["registry"]["defaults"] is False and health["open_access"] is False and health["memory_usage_mb"] > 50
    assert unauthenticated.status_code == 401
    assert [p.status_code for p in probes] == [200, 200] and probes[1].json()["models"] == {"primary": True, "speed": True}
    entry = comparison["models"]["primary"]
    assert len(entry["metrics"]) == 23 and entry["parameter_count"] > 0
    assert {m["key"]: m["value"] for m in entry["metrics"]}["entity_f1"] == 0.80
    assert comparison["recommended_model"]["role"] == "primary"
    assert [r["role"] for r in comparison["performance_ranking"]] == ["primary", "speed"]
    assert 'ner_requests_total{arm="primary",endpoint="predict",status="200"} 1.0' in metrics
    assert 'ner_requests_total{arm="none",endpoint="health",status="401"} 1.0' in metrics
    assert "ner_request_latency_seconds_bucket" in metrics
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert set(schema.json()["paths"]) >= {"/api/v1/predict", "/api/v1/predict/batch", "/api/v1/predict/route", "/api/v1/health"}


def test_an_empty_registry_serves_defaults_and_says_so(fresh_store, clone_run, trained_run, clock):
    clone_run(fresh_store, trained_run, "model2-unregistered")
    with client_for(fresh_store, clock, open_access=True) as client:
        answer = client.post("/api/v1/predict", json={"text": TEXT})  # open access: no key
        health = client.get("/api/v1/health").json()
    assert answer.status_code == 200 and answer.json()["model_version"] is None
    assert answer.json()["run_id"] == "model2-unregistered"
    assert health["registry"]["defaults"] is True and "serving defaults" in health["registry"]["note"]
    assert health["open_access"] is True
    assert fresh_store.prediction_rows(source="api")[0]["api_key_name"] is None


def test_nothing_to_serve_is_a_503_and_readyz_says_not_ready(fresh_store, clock):
    with client_for(fresh_store, clock, open_access=True) as client:
        answer = client.post("/api/v1/predict", json={"text": TEXT})
        ready = client.get("/readyz")
        health = client.get("/api/v1/health").json()
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "E047"
    assert ready.status_code == 503 and health["status"] == "unhealthy"


def test_the_fault_endpoint_is_off_unless_enabled(served, key, clock):
    with client_for(served, clock) as client:
        off = client.put("/api/v1/faults/primary", json={"error_probability": 1}, headers=auth(key))
    with client_for(served, clock, fault_api=True) as client:
        on = client.put("/api/v1/faults/primary", json={"error_probability": 1}, headers=auth(key))
        bad = client.put("/api/v1/faults/boss", json={"error_probability": 1}, headers=auth(key))
        answer = client.post("/api/v1/predict", json={"text": TEXT, "model": "primary"}, headers=auth(key)).json()
    assert off.status_code == 404 and "--fault-api" in off.json()["error"]["message"]
    assert on.status_code == 200 and on.json() == {"role": "primary", "error_probability": 1.0, "added_latency_ms": 0.0}
    assert bad.status_code == 422
    assert answer["model_role"] == "speed"


def test_log_retention_purges_old_rows_at_start_up(served, key, clock):
    import datetime as dt

    import sqlalchemy as sa

    from ner_core.store.tables import PredictionLog, utcnow

    old = {"source": "api", "text": "old", "entities_json": "[]", "created_at": utcnow() - dt.timedelta(days=31)}
    served.write(lambda s: s.execute(sa.insert(PredictionLog), [old, {**old, "text": "recent", "created_at": utcnow()}]))
    with client_for(served, clock, log_retention_days=30) as client:
        assert client.get("/healthz").status_code == 200
    assert [row["text"] for row in served.prediction_rows()] == ["recent"]


def test_an_experiment_header_tags_the_log_rows_for_replay(served, key, clock):
    with client_for(served, clock) as client:
        tagged = client.post("/api/v1/predict", json={"text": TEXT}, headers={**auth(key), "X-Experiment-Id": "live-42"})
        bad = client.post("/api/v1/predict", json={"text": TEXT}, headers={**auth(key), "X-Experiment-Id": "x" * 65})
    assert tagged.status_code == 200 and bad.status_code == 422 and "X-Experiment-Id" in bad.json()["error"]["message"]
    assert [row["request_id"] for row in served.prediction_rows(simulation_id="live-42")] == [tagged.json()["request_id"]]


def test_start_up_takes_the_loaded_models_out_of_the_collectors_sight(served, key, clock):
    """Full collections walked TensorFlow's millions of start-up objects (150-200 ms each: the p99 at 32 clients)."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with client_for(served, clock) as client:
        assert gc.get_freeze_count() > 10_000
        gc.unfreeze()
        registry.promote(served, "baseline", 1, "backup")
        assert client.app.state.gateway.refresh()  # a model swap settles the heap again
        assert gc.get_freeze_count() > 10_000
        assert client.post("/api/v1/predict", json={"text": TEXT}, headers=auth(key)).status_code == 200
    gc.unfreeze()
