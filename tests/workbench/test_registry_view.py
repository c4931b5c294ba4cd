"""The Registry page's tables, the sentence each change's confirmation shows, and the serving check,
on a real SQLite store per test (runs are rows with a folder holding config.json; nothing is trained)."""

from __future__ import annotations

import json
import shutil

import pytest

from ner_core.errors import RegistryError, UnservableVersionError
from ner_core.serving import registry
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.workbench import registry_view


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'registry.db'}")


@pytest.fixture
def add_run(tmp_path):
    def add(store, run_id, model="model2", *, f1=0.5, latency=1.5, parent=None, annotation_ids=None):
        folder = tmp_path / "models" / run_id
        folder.mkdir(parents=True)
        config = {"run_id": run_id, "model": model, "dataset": {"extra_train": 0}, "parent_run_id": parent}
        if annotation_ids is not None:
            config["annotation_ids"] = annotation_ids
        (folder / "config.json").write_text(json.dumps(config))
        store.create_run(run_id, model, config={}, dataset_path="data/gmb.csv", dataset_sha256="ab" * 32, parent_run_id=parent)
        store.update_run(
            run_id, status=RunStatus.COMPLETED, run_dir=str(folder), metrics={"entity_f1": f1, "latency_p50_ms": latency}
        )
        return run_id

    return add


def register_two_model2(store, add_run):
    first = registry.register(store, add_run(store, "m2-a", f1=0.81), by="ana", notes="first")
    second = registry.register(store, add_run(store, "m2-b", f1=0.84, parent="m2-a", annotation_ids=[3, 5, 8]), by="ben")
    return first, second


def test_versions_table_shows_roles_metrics_and_lineage(store, add_run):
    register_two_model2(store, add_run)
    registry.promote(store, "model2", 1, "primary", by="ana")
    table = registry_view.versions_table(registry.list_versions(store))
    assert table["version"].to_list() == [2, 1]
    newest = table.iloc[0]
    assert (newest["role"], newest["entity F1"], newest["latency p50 (ms)"]) == ("", 0.84, 1.5)
    assert (newest["parent"], newest["annotations used"], newest["dataset sha256"]) == ("model2 v1", 3, "ab" * 6)
    assert (newest["registered by"], table.iloc[1]["role"], table.iloc[1]["notes"]) == ("ben", "primary", "first")


def test_history_and_role_tables_follow_changes(store, add_run):
    register_two_model2(store, add_run)
    registry.promote(store, "model2", 1, "primary", by="ana")
    registry.promote(store, "model2", 2, "primary", by="ben", note="better F1")
    history = registry_view.history_table(registry.history(store))
    assert history["action"].to_list() == ["promoted", "promoted", "registered", "registered"]
    assert history.iloc[0][["by", "version", "role", "previous holder", "note"]].to_list() == [
        "ben", "model2 v2", "primary", "model2 v1", "better F1"
    ]  # fmt: skip
    roles = registry_view.role_table(store).set_index("role")
    assert roles.loc["primary", "served"] == "model2 v2"
    assert roles.loc["speed", "note"] == "no holder: not served"


def test_an_empty_registry_says_what_the_api_serves_by_default(store, add_run):
    add_run(store, "m2-a")
    add_run(store, "base-a", model="baseline")
    note = registry_view.empty_registry_note(store)
    assert "primary = model2 (run m2-a), speed = baseline (run base-a)" in note and "promote it to primary" in note
    assert "nothing to serve" in registry_view.empty_registry_note(Store("sqlite://"))
    assert [run.id for run in registry_view.registrable_runs(store)] == ["base-a", "m2-a"]


def test_each_change_is_described_before_it_is_made(store, add_run):
    add_run(store, "base-a", model="baseline")
    register_two_model2(store, add_run)
    registration = registry_view.describe_registration(store, "base-a")
    assert registration.summary.startswith("Run base-a becomes baseline v1, with no role")
    first = registry_view.describe_promotion(store, "model2", 1, "primary")
    assert first.summary.startswith("model2 v1 becomes primary; primary had no holder.")
    assert "stops serving its defaults speed (baseline (run base-a))" in first.summary
    registry_view.apply(store, first, by="ana")
    second = registry_view.describe_promotion(store, "model2", 2, "primary")
    assert second.summary == "model2 v2 becomes primary; model2 v1 leaves primary."
    registry_view.apply(store, second, by="ana")
    rollback = registry_view.describe_rollback(store, "primary")
    assert rollback.summary == "model2 v1 becomes primary again; model2 v2 leaves primary."
    assert (rollback.model_name, rollback.version) == ("model2", 1)
    change = registry_view.apply(store, rollback, by="ana", note="v2 misses entities")
    assert (change.action, change.version, change.note) == ("rolled_back", 1, "v2 misses entities")
    assert registry.role_holders(store)["primary"].version == 1
    assert registry_view.describe_promotion(store, "model2", 1, "speed").summary == (
        "model2 v1 becomes speed; speed had no holder; model2 v1 gives up primary, which is then not served."
    )
    demotion = registry_view.describe_demotion(store, "model2", 1)
    assert demotion.summary == "model2 v1 leaves primary; the API serves the latest runs by default again."


def test_a_version_whose_run_is_gone_cannot_take_a_serving_role(store, add_run, tmp_path):
    register_two_model2(store, add_run)
    shutil.rmtree(tmp_path / "models" / "m2-b")
    with pytest.raises(UnservableVersionError, match=r"model2 v2's run folder .* is missing"):
        registry_view.apply(store, registry_view.describe_promotion(store, "model2", 2, "primary"), by="ana")
    store.delete_run("m2-a")
    with pytest.raises(UnservableVersionError, match="model2 v1's run m2-a was deleted"):
        registry_view.apply(store, registry_view.describe_promotion(store, "model2", 1, "staging"), by="ana")
    archived = registry_view.apply(store, registry_view.describe_promotion(store, "model2", 1, "archived"), by="ana")
    assert archived.role == "archived"  # archiving a dead version is allowed
    assert registry.role_holders(store) == {}  # nothing was promoted


def test_changes_need_a_name_and_something_to_change(store, add_run):
    register_two_model2(store, add_run)
    promotion = registry_view.describe_promotion(store, "model2", 1, "primary")
    with pytest.raises(RegistryError, match="enter your name"):
        registry_view.apply(store, promotion, by="  ")
    with pytest.raises(RegistryError, match="at most 128"):
        registry_view.apply(store, promotion, by="x" * 129)
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry_view.describe_rollback(store, "primary")
    with pytest.raises(RegistryError, match="holds no role"):
        registry_view.describe_demotion(store, "model2", 1)
    with pytest.raises(RegistryError, match="unknown role"):
        registry_view.describe_promotion(store, "model2", 1, "boss")
    with pytest.raises(RegistryError, match="no version 9"):
        registry_view.describe_promotion(store, "model2", 9, "primary")
    assert registry.role_holders(store) == {}


def test_serving_role_runs_maps_roles_to_their_holders_runs(store, add_run):
    register_two_model2(store, add_run)
    assert registry_view.serving_role_runs(store) == {}
    registry.promote(store, "model2", 2, "primary")
    registry.promote(store, "model2", 1, "backup")
    assert registry_view.serving_role_runs(store) == {"primary": "m2-b", "backup": "m2-a"}
