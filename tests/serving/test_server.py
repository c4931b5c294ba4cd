"""The real server: ``python -m ner_core serve`` in a subprocess on a free port, talked to over HTTP,
stopped with SIGTERM while its log rows are still pending; and BackgroundServer in-process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from ner_core.serving import api_keys, registry
from ner_core.serving.config import ServeConfig
from ner_core.serving.server import BackgroundServer
from scripts.browser_harness import free_port
from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # a server process importing TensorFlow and loading models
START_TIMEOUT_S = 240


@pytest.fixture
def workspace(tmp_path, fresh_store, clone_run, trained_run, baseline_run):
    clone_run(fresh_store, trained_run, "model2-v1")
    clone_run(fresh_store, baseline_run, "baseline-v1")
    for run_id, role in (("model2-v1", "primary"), ("baseline-v1", "speed")):
        info = registry.register(fresh_store, run_id)
        registry.promote(fresh_store, info.model_name, info.version, role)
    env = {**os.environ, "NER_DATABASE_URL": fresh_store.url, "NER_MODELS_DIR": str(tmp_path / "models")}
    return fresh_store, env


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the server did not become ready")


def test_serve_answers_over_http_and_sigterm_commits_every_pending_row(workspace):
    store, env = workspace
    key = api_keys.create(store, "http-client")
    port = free_port()
    # Rows wait up to an hour before the writer commits them: only the shutdown can write them.
    command = [sys.executable, "-m", "ner_core", "serve", "--port", str(port), "--log-flush-interval-s", "3600",
               "--log-batch-rows", "100000"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            answers = [client.post("/api/v1/predict", json={"text": f"Anna visited Oslo on day {i} ."}) for i in range(20)]
            batch = client.post("/api/v1/predict/batch", json={"texts": ["Peter met Acme .", "Rain fell in Lima ."]})
            health = client.get("/api/v1/health").json()
            refused = httpx.post(f"{url}/api/v1/predict", json={"text": "no key"})
        assert [a.status_code for a in answers] == [200] * 20 and batch.status_code == 200
        assert refused.status_code == 401
        assert health["total_requests_processed"] == 21 and health["log"]["rows_written"] == 0
        assert store.count_predictions(source="api") == 0  # all 22 rows are still pending in the server
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-2000:]
    assert "serving primary = model2 v1, speed = baseline v1" in stderr
    rows = store.prediction_rows(source="api")
    assert len(rows) == 22 and {row["api_key_name"] for row in rows} == {"http-client"}
    assert {row["request_id"] for row in rows} >= {a.json()["request_id"] for a in answers}


def test_serve_refuses_a_taken_port_in_one_line(workspace):
    _, env = workspace
    port = free_port()
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "ner_core", "serve", "--port", str(port)], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: [E052] cannot listen on 127.0.0.1:{port}")


def test_serve_refuses_bad_settings_in_one_line(workspace):
    _, env = workspace
    result = subprocess.run(
        [sys.executable, "-m", "ner_core", "serve", "--weights", "primary=90,boss=10"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "error: [E003] weights: 'boss' is not a serving role; use primary, speed, backup."


def test_background_server_serves_real_http_and_picks_up_a_promotion(workspace, clone_run, trained_run):
    store, _ = workspace
    clone_run(store, trained_run, "model2-v2")
    registry.register(store, "model2-v2")
    with BackgroundServer(ServeConfig(port=0, open_access=True, registry_poll_s=0.1), store=store) as server:
        first = httpx.post(f"{server.url}/api/v1/predict", json={"text": "Anna visited Oslo .", "model": "model2"}).json()
        registry.promote(store, "model2", 2, "primary")
        deadline = time.monotonic() + 30
        while server.gateway.snapshot.arms["primary"].info.version != 2:  # the poll thread swaps within ~0.1 s
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = httpx.post(f"{server.url}/api/v1/predict", json={"text": "Anna visited Oslo .", "model": "model2"}).json()
    assert (first["model_version"], second["model_version"]) == (1, 2)
    assert store.count_predictions(source="api") == 2  # committed when the server stopped
