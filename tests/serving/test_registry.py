"""The model registry: registration, one holder per serving role, rollback, lineage, the serving plan
and the resolution of a request's ``model`` field, on a real SQLite store per test."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ner_core.errors import RegistryError, UnknownModelError
from ner_core.serving import registry
from ner_core.store.tables import ModelVersion, RunStatus


def test_register_numbers_versions_per_model_name(fresh_store, add_run, tmp_path):
    first = registry.register(fresh_store, add_run(fresh_store, "m2-a"), by="ana", notes="first")
    second = registry.register(fresh_store, add_run(fresh_store, "m2-b"))
    other = registry.register(fresh_store, add_run(fresh_store, "base-a", model="baseline"))
    assert (first.label, second.label, other.label) == ("model2 v1", "model2 v2", "baseline v1")
    assert (first.registered_by, first.notes, first.role) == ("ana", "first", None)
    assert first.metrics["entity_f1"] == 0.5
    assert [v.label for v in registry.list_versions(fresh_store)] == ["baseline v1", "model2 v2", "model2 v1"]
    assert [v.version for v in registry.list_versions(fresh_store, "model2")] == [2, 1]


def test_register_refuses_unfinished_missing_and_repeated_runs(fresh_store, add_run, tmp_path):
    running = add_run(fresh_store, "m2-running", status=RunStatus.RUNNING)
    with pytest.raises(RegistryError, match="is running; only a completed run"):
        registry.register(fresh_store, running)
    with pytest.raises(RegistryError, match="no run 'nope'"):
        registry.register(fresh_store, "nope")
    done = add_run(fresh_store, "m2-done")
    registry.register(fresh_store, done)
    with pytest.raises(RegistryError, match="already registered as model2 v1"):
        registry.register(fresh_store, done)
    gone = add_run(fresh_store, "m2-gone")
    (tmp_path / "models" / "m2-gone" / "config.json").unlink()
    (tmp_path / "models" / "m2-gone").rmdir()
    with pytest.raises(RegistryError, match="no run folder"):
        registry.register(fresh_store, gone)
    assert [v.run_id for v in registry.list_versions(fresh_store)] == ["m2-done"]  # refusals wrote nothing


def test_promoting_moves_a_serving_role_and_rollback_restores_it(fresh_store, add_run, tmp_path):
    for run_id in ("m2-a", "m2-b"):
        registry.register(fresh_store, add_run(fresh_store, run_id))
    generations = [registry.generation(fresh_store)]
    registry.promote(fresh_store, "model2", 1, "primary", by="ana")
    generations.append(registry.generation(fresh_store))
    change = registry.promote(fresh_store, "model2", 2, "primary", by="ben", note="better F1")
    generations.append(registry.generation(fresh_store))
    assert (change.role, change.previous_holder, change.changed_by, change.note) == ("primary", "model2 v1", "ben", "better F1")
    holders = registry.role_holders(fresh_store)
    assert holders["primary"].label == "model2 v2"
    assert registry.get_version(fresh_store, "model2", 1).role is None  # exactly one holder
    back = registry.rollback(fresh_store, "primary", by="ana")
    assert (back.action, back.model_name, back.version, back.previous_holder) == ("rolled_back", "model2", 1, "model2 v2")
    assert registry.role_holders(fresh_store)["primary"].version == 1
    again = registry.rollback(fresh_store, "primary")  # undoing the undo, as kubectl rollout undo does
    assert again.version == 2 and registry.role_holders(fresh_store)["primary"].version == 2
    generations.append(registry.generation(fresh_store))
    assert generations == sorted(set(generations))  # every change moves the generation on


def test_a_version_holds_one_role_and_demote_clears_it(fresh_store, add_run, tmp_path):
    registry.register(fresh_store, add_run(fresh_store, "m2-a"))
    registry.promote(fresh_store, "model2", 1, "speed")
    change = registry.promote(fresh_store, "model2", 1, "primary")
    assert change.previous_role == "speed"
    assert set(registry.role_holders(fresh_store)) == {"primary"}
    with pytest.raises(RegistryError, match="already holds primary"):
        registry.promote(fresh_store, "model2", 1, "primary")
    demoted = registry.demote(fresh_store, "model2", 1, note="bad outputs")
    assert (demoted.action, demoted.role) == ("demoted", "primary")
    assert registry.role_holders(fresh_store) == {}
    with pytest.raises(RegistryError, match="holds no role"):
        registry.demote(fresh_store, "model2", 1)
    restored = registry.rollback(fresh_store, "primary")  # a demotion is rolled back too
    assert restored.version == 1 and registry.role_holders(fresh_store)["primary"].version == 1


def test_staging_and_archived_hold_many_versions(fresh_store, add_run, tmp_path):
    for run_id in ("m2-a", "m2-b", "m2-c"):
        registry.register(fresh_store, add_run(fresh_store, run_id))
    registry.promote(fresh_store, "model2", 1, "archived")
    registry.promote(fresh_store, "model2", 2, "archived")
    registry.promote(fresh_store, "model2", 3, "staging")
    assert [v.role for v in registry.list_versions(fresh_store)] == ["staging", "archived", "archived"]
    with pytest.raises(RegistryError, match="restores a serving role"):
        registry.rollback(fresh_store, "staging")


def test_bad_registry_requests_say_what_exists(fresh_store, add_run, tmp_path):
    registry.register(fresh_store, add_run(fresh_store, "m2-a"))
    with pytest.raises(RegistryError, match="no version 7 of 'model2'; its versions: v1"):
        registry.promote(fresh_store, "model2", 7, "primary")
    with pytest.raises(RegistryError, match="unknown role 'boss'"):
        registry.promote(fresh_store, "model2", 1, "boss")
    with pytest.raises(RegistryError, match="never changed holder"):
        registry.rollback(fresh_store, "backup")
    registry.promote(fresh_store, "model2", 1, "backup")
    with pytest.raises(RegistryError, match="had no holder before"):
        registry.rollback(fresh_store, "backup")


def test_the_database_refuses_a_second_holder_of_a_serving_role(fresh_store, add_run, tmp_path):
    for run_id in ("m2-a", "m2-b"):
        registry.register(fresh_store, add_run(fresh_store, run_id))
    registry.promote(fresh_store, "model2", 1, "primary")
    with pytest.raises(IntegrityError), fresh_store.engine.begin() as connection:  # what a careless writer would do
        connection.execute(sa.update(ModelVersion).where(ModelVersion.version == 2).values(role="primary"))


def test_lineage_names_the_parent_version_data_and_annotations(fresh_store, add_run, tmp_path):
    registry.register(fresh_store, add_run(fresh_store, "m2-parent"))
    child = add_run(fresh_store, "m2-child", parent="m2-parent", config_extra={"annotation_ids": [4, 9, 12]})
    info = registry.register(fresh_store, child)
    assert info.lineage.parent_run_id == "m2-parent"
    assert info.lineage.parent_version == "model2 v1"
    assert info.lineage.annotation_ids == (4, 9, 12) and info.lineage.annotations_used == 3
    assert info.lineage.dataset_sha256 == "ab" * 32
    plain = registry.register(fresh_store, add_run(fresh_store, "m2-plain"))
    assert plain.lineage.annotations_used == 0 and plain.lineage.annotation_ids is None


def test_history_lists_registrations_and_role_changes_newest_first(fresh_store, add_run, tmp_path):
    registry.register(fresh_store, add_run(fresh_store, "m2-a"), by="ana")
    registry.promote(fresh_store, "model2", 1, "primary", by="ana")
    changes = registry.history(fresh_store)
    assert [(c.action, c.role) for c in changes] == [("promoted", "primary"), ("registered", None)]
    assert registry.history(fresh_store, role="primary", limit=5)[0].changed_by == "ana"


def test_an_empty_registry_serves_the_latest_default_models(fresh_store, add_run, tmp_path):
    assert registry.serving_plan(fresh_store).roles == {}
    add_run(fresh_store, "base-old", model="baseline")
    add_run(fresh_store, "m2-new")
    add_run(fresh_store, "base-new", model="baseline")
    add_run(fresh_store, "crf-1", model="char_bilstm_crf")
    plan = registry.serving_plan(fresh_store)
    assert plan.defaults
    assert {role: info.run_id for role, info in plan.roles.items()} == {"primary": "m2-new", "speed": "base-new"}
    assert plan.roles["primary"].version is None and "serving defaults" in plan.note


def test_without_default_models_whatever_completed_runs_exist_are_served(fresh_store, add_run, tmp_path):
    add_run(fresh_store, "crf-1", model="char_bilstm_crf")
    add_run(fresh_store, "crf-2", model="char_bilstm_crf")
    add_run(fresh_store, "crf-failed", model="char_bilstm_crf", status=RunStatus.FAILED)
    plan = registry.serving_plan(fresh_store)
    assert {role: info.run_id for role, info in plan.roles.items()} == {"primary": "crf-2", "speed": "crf-1"}


def test_the_plan_follows_the_registry_once_a_serving_role_is_held(fresh_store, add_run, tmp_path):
    add_run(fresh_store, "m2-latest-unregistered")
    registry.register(fresh_store, add_run(fresh_store, "base-a", model="baseline"))
    registry.promote(fresh_store, "baseline", 1, "primary")
    registry.register(fresh_store, add_run(fresh_store, "m2-staged"))
    registry.promote(fresh_store, "model2", 1, "staging")
    plan = registry.serving_plan(fresh_store)
    assert not plan.defaults and plan.generation == registry.generation(fresh_store)
    assert {role: info.label for role, info in plan.roles.items()} == {"primary": "baseline v1", "staging": "model2 v1"}


def test_a_holder_without_its_run_folder_is_skipped_with_the_reason(fresh_store, add_run, tmp_path):
    registry.register(fresh_store, add_run(fresh_store, "m2-a"))
    registry.promote(fresh_store, "model2", 1, "primary")
    registry.register(fresh_store, add_run(fresh_store, "base-a", model="baseline"))
    registry.promote(fresh_store, "baseline", 1, "speed")
    (tmp_path / "models" / "m2-a" / "config.json").unlink()
    (tmp_path / "models" / "m2-a").rmdir()
    plan = registry.serving_plan(fresh_store)
    assert set(plan.roles) == {"speed"}
    assert "run folder of m2-a is missing" in plan.skipped["primary"]


def test_resolve_a_request_model_field(fresh_store, add_run, tmp_path):
    for run_id, model in (("m2-a", "model2"), ("m2-b", "model2"), ("base-a", "baseline")):
        registry.register(fresh_store, add_run(fresh_store, run_id, model=model))
    registry.promote(fresh_store, "model2", 2, "primary")
    registry.promote(fresh_store, "baseline", 1, "speed")
    registry.promote(fresh_store, "model2", 1, "staging")
    roles = registry.serving_plan(fresh_store).roles
    assert registry.resolve("auto", roles).is_auto
    assert registry.resolve("", roles).is_auto
    assert registry.resolve("speed", roles).role == "speed"
    assert registry.resolve("model2", roles).role == "primary"  # primary preferred over staging
    assert registry.resolve("model2:v1", roles).role == "staging"
    assert registry.resolve("baseline", roles).role == "speed"
    for unknown in ("advanced", "model2:v9", "backup", "Model2"):
        with pytest.raises(UnknownModelError, match="is not served here.*primary \\(model2 v2\\)"):
            registry.resolve(unknown, roles)
