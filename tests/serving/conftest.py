"""Fixtures of the serving tests: a fresh store per test and completed runs for the registry."""

from __future__ import annotations

import json

import pytest

from ner_core.store.database import Store
from ner_core.store.tables import RunStatus


@pytest.fixture
def fresh_store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'registry.db'}")


@pytest.fixture
def add_run(tmp_path):
    """``add_run(store, run_id, model=..., status=..., f1=..., parent=..., config_extra=...)``: a run row and its
    folder holding config.json only (the registry reads lineage from it and never loads the model)."""

    def add(store, run_id, model="model2", *, status=RunStatus.COMPLETED, f1=0.5, parent=None, config_extra=None):
        folder = tmp_path / "models" / run_id
        folder.mkdir(parents=True)
        config = {"run_id": run_id, "model": model, "dataset": {"extra_train": 0}, "parent_run_id": parent}
        (folder / "config.json").write_text(json.dumps({**config, **(config_extra or {})}))
        store.create_run(
            run_id, model, config={"seed": 42}, dataset_path="data.csv", dataset_sha256="ab" * 32, parent_run_id=parent
        )
        store.update_run(run_id, status=status, run_dir=str(folder), metrics={"entity_f1": f1, "latency_p50_ms": 1.5})
        return run_id

    return add


@pytest.fixture(scope="session")
def baseline_run(isolated_workspace, store, sample_path):
    """A one-epoch baseline on the sample: the API tests' speed arm (model2 comes from ``trained_run``)."""
    from ner_core.settings import Settings
    from ner_core.training import loop
    from tests.helpers import tiny_config

    return loop.train(tiny_config(sample_path, max_len=64), models_dir=Settings.from_env().models_dir, store=store)


class ManualClock:
    """A clock the test moves by hand: breakers, the router and the rate limiter read it."""

    def __init__(self, start_s: float = 1_000.0):
        self.now_s = start_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def clone_run(tmp_path):
    """``clone_run(store, result, run_id, **metrics)``: a completed run in ``store`` whose folder is a copy of a
    trained run's, so one trained model can be registered as several versions; ``metrics`` override stored ones."""
    import shutil

    def clone(store, result, run_id, **metrics):
        folder = tmp_path / "models" / run_id
        shutil.copytree(result.run_dir, folder)
        store.create_run(run_id, result.config.model, config=result.config.to_dict(), dataset_sha256="cd" * 32)
        store.update_run(run_id, status=RunStatus.COMPLETED, run_dir=str(folder), metrics={**result.metrics, **metrics})
        return run_id

    return clone
