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
