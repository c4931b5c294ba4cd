"""Issue 14's acceptance walk, scripted: two model2 versions registered, live traffic against a real
server, the second version promoted while traffic runs, the primary's breaker opened by fault
injection switched on at run time, a rollback; every request is in the log and none failed.

It trains three tiny models (two model2, one baseline for the speed role) and drives a
BackgroundServer (uvicorn on a thread, polling the registry as ``serve`` does) through the same
functions the Registry page and the A/B page's live mode call.
"""

from __future__ import annotations

import pytest

from ner_core.evaluation import held_out
from ner_core.serving import registry
from ner_core.serving.config import ServeConfig
from ner_core.serving.server import BackgroundServer
from ner_core.settings import SAMPLE_DATA_PATH
from ner_core.store.database import Store
from ner_core.store.tables import PredictionLog
from ner_core.traffic import live_results, live_traffic
from ner_core.traffic.api_client import ApiClient, ApiTarget
from ner_core.training import loop
from ner_core.workbench import registry_view
from tests.helpers import tiny_config, wait_until

pytestmark = pytest.mark.slow
STEP_TIMEOUT_S = 120


def served_count(traffic, label: str) -> int:
    return traffic.progress().served_by.get(label, 0)


def test_promote_open_the_breaker_and_roll_back_under_live_traffic(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'workbench.db'}")
    models = tmp_path / "models"
    first = loop.train(tiny_config(SAMPLE_DATA_PATH, model="model2", seed=1), models_dir=models, store=store).run_id
    second = loop.train(tiny_config(SAMPLE_DATA_PATH, model="model2", seed=2), models_dir=models, store=store).run_id
    speed = loop.train(tiny_config(SAMPLE_DATA_PATH), models_dir=models, store=store).run_id
    for run_id in (first, second, speed):
        registry_view.apply(store, registry_view.describe_registration(store, run_id), by="walk")
    registry_view.apply(store, registry_view.describe_promotion(store, "model2", 1, "primary"), by="walk")
    registry_view.apply(store, registry_view.describe_promotion(store, "baseline", 1, "speed"), by="walk")
    texts = [live_traffic.sentence_request(s.words, s.tags) for s in held_out.test_split_for_run(store.get_run(first).run_dir)]

    settings = ServeConfig(
        port=0, open_access=True, fault_api=True, breaker_failures=3, breaker_reset_s=1.0, registry_poll_s=0.2,
        log_flush_interval_s=0.1,
    )  # fmt: skip
    with BackgroundServer(settings, store=store) as server:
        target = ApiTarget(server.url)
        config = live_traffic.LiveTrafficConfig(requests=20_000, rate_per_s=40.0, concurrency=4, seed=7)
        traffic = live_traffic.LiveTraffic(store, target, config, texts, source_run_id=first).start()
        wait_until(lambda: served_count(traffic, "primary (model2 v1)") >= 20, STEP_TIMEOUT_S)

        # Promote the second version while traffic runs: the server picks it up at its next poll.
        promotion = registry_view.describe_promotion(store, "model2", 2, "primary")
        assert promotion.summary == "model2 v2 becomes primary; model2 v1 leaves primary."
        registry_view.apply(store, promotion, by="walk", note="acceptance")
        wait_until(lambda: served_count(traffic, "primary (model2 v2)") >= 20, STEP_TIMEOUT_S)

        # Open the primary's breaker by fault injection on the running server; the speed role serves.
        with ApiClient(target) as client:
            client.set_fault("primary", error_probability=1.0)
            wait_until(lambda: traffic.progress().breakers.get("primary") == "open", STEP_TIMEOUT_S)
            fallbacks_while_open = traffic.progress().fallbacks
            client.set_fault("primary")  # off again

        # Roll back: model2 v1 serves primary again.
        rollback = registry_view.describe_rollback(store, "primary")
        assert rollback.summary == "model2 v1 becomes primary again; model2 v2 leaves primary."
        before = served_count(traffic, "primary (model2 v1)")
        registry_view.apply(store, rollback, by="walk", note="v2 broke under faults")
        wait_until(lambda: served_count(traffic, "primary (model2 v1)") >= before + 20, STEP_TIMEOUT_S)
        traffic.cancel()
        progress = traffic.wait(STEP_TIMEOUT_S)
        server.gateway.log.flush()

    assert progress.status == "cancelled" and progress.answered == progress.sent > 60
    assert progress.status_counts == {"200": progress.sent}  # none failed: not the promotion, the faults or the rollback
    assert fallbacks_while_open >= 3
    live = live_results.live_result(store, traffic.live_run_id)
    assert live.not_logged == 0 and len(live.result.requests) == progress.sent  # every request is in the log
    with store.session() as session:
        rows = session.query(PredictionLog).filter(PredictionLog.request_id.startswith(traffic.live_run_id)).all()
    assert len(rows) == progress.sent and all(row.error is None for row in rows)
    frame = live.requests.sort_values("sent_at_s")
    primary = frame[frame["arm"] == "primary"]
    served_runs = primary["run_id"].tolist()
    assert (served_runs[0], served_runs[-1], set(served_runs)) == (first, first, {first, second})  # v1, v2, then v1 again
    states = [state for _, state in live.result.breaker_timelines["primary"]]
    assert "open" in states
    actions = [(change.action, change.version) for change in registry.history(store, role="primary")]
    assert actions[:2] == [("rolled_back", 1), ("promoted", 2)]
