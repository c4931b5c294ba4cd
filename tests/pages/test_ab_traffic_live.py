"""The A/B page and the model registry: default arms from the registry's roles, and the live mode that
sends the test sentences as real HTTP requests to a running API (a BackgroundServer here).

Each test has its own workspace (``empty_workspace``) and records there the one tiny run this module
trains, under new ids; no test reads what another left behind.
"""

from __future__ import annotations

import pytest

from ner_core.serving import registry
from ner_core.settings import SAMPLE_DATA_PATH, Settings
from ner_core.store.database import Store
from ner_core.training import loop
from tests.helpers import page_app, tiny_config

KEY = "ab_traffic"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ab_live_models")
    training_store = Store(f"sqlite:///{root / 'training.db'}")
    result = loop.train(tiny_config(SAMPLE_DATA_PATH), models_dir=root / "models", store=training_store)
    return training_store.get_run(result.run_id)


@pytest.fixture
def store(empty_workspace):
    return Store(Settings.from_env().database_url)


def add_run(store, tiny_run, run_id, model="baseline"):
    """The tiny run recorded in this test's database as another completed run (same folder, read only)."""
    store.create_run(run_id, model, config=tiny_run.config, dataset_path=tiny_run.dataset_path,
                     dataset_sha256=tiny_run.dataset_sha256, status="completed")  # fmt: skip
    store.update_run(run_id, metrics=tiny_run.metrics, run_dir=tiny_run.run_dir)
    return run_id


def test_default_arms_are_the_registrys_serving_roles_with_the_designs_split(store, tiny_run):
    for run_id in ("base-1", "base-2", "base-3"):
        registry.register(store, add_run(store, tiny_run, run_id))
    registry.promote(store, "baseline", 2, "primary")
    registry.promote(store, "baseline", 3, "speed")
    registry.promote(store, "baseline", 1, "staging")  # not a serving role: no arm
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    plan = app.dataframe[0].value
    assert list(plan["arm"]) == ["primary", "speed"]
    assert list(plan["run"]) == ["base-2", "base-3"]
    assert list(plan["planned share"]) == pytest.approx([90 / 98, 8 / 98])
    assert app.selectbox(key=f"{KEY}_fallback").value == "speed"  # as the API falls back


def test_an_empty_registry_keeps_the_old_defaults(store, tiny_run):
    add_run(store, tiny_run, "m2-1", model="model2")
    add_run(store, tiny_run, "base-1")
    app = page_app("ab_traffic.py").run()
    assert not app.exception
    assert list(app.dataframe[0].value["arm"]) == ["model2", "baseline"]
