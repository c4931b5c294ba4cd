"""Retrain settings (warm start or full), the annotations a retrain uses, and a run's lineage as the page shows it."""

from __future__ import annotations

import pytest

from ner_core.errors import ConfigError, LineageError
from ner_core.store.database import Store
from ner_core.training import lineage, run_folder
from ner_core.workbench import retraining

PARENT_CONFIG = {"model": "model2", "dataset": "data.csv", "seed": 7, "epochs": 12, "patience": 4, "learning_rate": 0.002}


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'r.db'}")


def add(db, text, tags, analyst="Ada"):
    return db.add_annotation(
        analyst=analyst, text=text, tokens=text.split(), tags=tags, original_tags=["O"] * len(tags), model_run_id=None
    )


@pytest.fixture
def parent(db, tmp_path):
    db.create_run("parent", "model2", config=PARENT_CONFIG, status="completed")
    db.update_run("parent", run_dir=str(tmp_path / "parent"))
    return db.get_run("parent")


def test_a_full_retrain_keeps_the_parents_settings_and_starts_from_random_weights(parent):
    config = retraining.retrain_config(parent, retraining.FULL_RETRAIN)
    assert (config.dataset, config.seed, config.epochs, config.patience, config.learning_rate) == ("data.csv", 7, 12, 4, 0.002)
    assert config.warm_start_from is None and config.annotation_weight == 1


def test_a_warm_start_continues_from_the_parent_for_a_few_epochs_with_the_annotations_weighted_up(parent):
    config = retraining.retrain_config(parent, retraining.WARM_START)
    assert config.warm_start_from == parent.run_dir
    assert (config.epochs, config.patience) == (retraining.WARM_START_EPOCHS, retraining.WARM_START_PATIENCE)
    assert config.annotation_weight == retraining.WARM_START_ANNOTATION_WEIGHT
    assert (config.dataset, config.seed, config.learning_rate) == ("data.csv", 7, 0.002)  # same split, the parent's rate
    tuned = retraining.retrain_config(parent, retraining.WARM_START, epochs=5, annotation_weight=30)
    assert (tuned.epochs, tuned.annotation_weight) == (5, 30)


def test_bad_retrain_settings_are_refused(parent):
    with pytest.raises(ConfigError, match="unknown retrain mode 'fast'"):
        retraining.retrain_config(parent, "fast")
    for weight in (0, 500):
        with pytest.raises(ConfigError, match="annotation_weight"):
            retraining.retrain_config(parent, retraining.WARM_START, annotation_weight=weight)
    with pytest.raises(ConfigError, match="no saved annotations"):
        retraining.submit_retrain(None, parent, retraining.WARM_START, lineage.AnnotationLineage(()))


def test_a_retrain_uses_the_latest_version_of_each_sentence_and_leaves_out_a_disagreement(db):
    add(db, "Anna left", ["B-per", "O"])
    add(db, "Bo left", ["B-per", "O"])
    latest = add(db, "Anna left", ["B-geo", "O"])  # the same analyst saved it again: this version counts
    used = retraining.current_annotations(db)
    assert len(used) == 2 and latest in used.ids
    assert [item.tags for item in used.annotations if item.id == latest] == [("B-geo", "O")]
    add(db, "Bo left", ["B-org", "O"], analyst="Cy")  # a second analyst disagrees: unresolved until adjudicated
    assert [item.text for item in retraining.current_annotations(db).annotations] == ["Anna left"]


def test_children_and_modes(db, parent):
    db.create_run("warm", "model2", config={**PARENT_CONFIG, "warm_start_from": "parent"}, parent_run_id="parent")
    db.create_run("full", "model2", config=PARENT_CONFIG, parent_run_id="parent")
    db.create_run("stranger", "model2", config=PARENT_CONFIG)
    children = retraining.children_of(parent, db.list_runs())
    assert {run.id for run in children} == {"warm", "full"}
    assert {run.id: retraining.retrain_mode(run) for run in children} == {"warm": "warm", "full": "full"}


def test_a_runs_lineage_lists_what_it_used_and_what_changed_since(db, tmp_path):
    ids = [add(db, "Anna left", ["B-per", "O"]), add(db, "Bo left", ["B-per", "O"])]
    used = retraining.current_annotations(db)
    folder = run_folder.RunFolder(tmp_path / "child")
    folder.path.mkdir()
    lineage.write_lineage(folder, used)
    lineage.record_lineage(db, "child", used)
    db.create_run("child", "model2", config={**PARENT_CONFIG, "warm_start_from": "parent"}, dataset_sha256="f" * 64)
    db.update_run("child", run_dir=str(folder.path), parent_run_id="parent")
    record = retraining.run_lineage(db, db.get_run("child"))
    assert record.check.matches and record.same_as_now
    facts = record.facts()
    assert facts["parent run"] == "parent" and facts["trained by"] == "warm start (fast)"
    assert facts["annotations used"] == f"2 (checksum {used.checksum[:16]})" and facts["dataset sha256"] == "f" * 64

    db.update_annotation(ids[0], tags=["O", "O"])
    add(db, "Cy left", ["B-per", "O"])
    record = retraining.run_lineage(db, db.get_run("child"))
    assert record.check.edited == (ids[0],) and not record.same_as_now
    frame = retraining.lineage_frame(record)
    assert list(frame["id"]) == ids and list(frame["now"]) == ["edited", "unchanged"]
    assert list(frame["text"]) == ["Anna left", "Bo left"]

    lineage.record_lineage(db, "child", lineage.AnnotationLineage.of(db.list_annotations()[:1]))
    with pytest.raises(LineageError, match="annotations.json and the store disagree"):
        retraining.run_lineage(db, db.get_run("child"))


def test_a_run_trained_without_annotations_has_no_lineage_to_show(db, parent):
    record = retraining.run_lineage(db, parent)
    assert record.annotations is None and record.check is None and record.same_as_now is None
    assert record.facts()["annotations used"] == "none recorded" and record.facts()["parent run"] == "none"
    assert record.facts()["trained by"] == "training from random weights"
    assert retraining.lineage_frame(record).empty
