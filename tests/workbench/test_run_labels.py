"""Run labels say model, dataset, date, F1, name and tags; names and tags are checked before they are stored."""

from __future__ import annotations

import datetime as dt

import pytest

from ner_core.errors import RunLabelError
from ner_core.store.database import Store
from ner_core.workbench import run_labels


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'runs.db'}")


def stored_run(db, run_id, *, model="model2", path="/data/gmb.csv", sha256="a" * 64, f1=0.81234, created=(2025, 3, 4, 5, 6)):
    db.create_run(run_id, model, config={"dataset": path, "seed": 42}, dataset_path=path, dataset_sha256=sha256)
    db.update_run(run_id, status="completed", created_at=dt.datetime(*created), metrics={} if f1 is None else {"entity_f1": f1})
    return db.get_run(run_id)


def test_a_label_says_model_dataset_date_and_entity_f1(db):
    run = stored_run(db, "model2-20250304-050600-ab12")
    assert run_labels.run_label(run) == "model2 · gmb.csv · 2025-03-04 05:06 · F1 0.812"
    unscored = stored_run(db, "baseline-1", model="baseline", f1=None)
    assert run_labels.run_label(unscored) == "baseline · gmb.csv · 2025-03-04 05:06"


def test_a_label_names_the_dataset_as_the_app_does(db, tmp_path):
    upload = stored_run(db, "r-upload", path=str(tmp_path / "uploads" / "f00d.conll"), sha256="f" * 64)
    sample = stored_run(db, "r-sample", path=str(tmp_path / "sample.csv"), sha256="b" * 64)
    names = {"f" * 64: "wnut17.train", run_labels.path_key(tmp_path / "sample.csv"): "bundled sample"}
    assert run_labels.dataset_name(upload, names) == "wnut17.train"  # by checksum: the stored file's name says nothing
    assert run_labels.dataset_name(sample, names) == "bundled sample"  # by path
    assert run_labels.dataset_name(sample) == "sample.csv"
    assert " · bundled sample · " in run_labels.run_label(sample, names)


def test_a_label_starts_with_the_runs_name_and_ends_with_its_tags(db):
    run = stored_run(db, "r1")
    run_labels.rename_run(db, "r1", name="  lr   sweep\nbest ", tags_text="gmb, #lr-0.01, GMB, ")
    run = db.get_run("r1")
    assert run_labels.run_name(run) == "lr sweep best"
    assert run_labels.run_tags(run) == ["gmb", "lr-0.01"]
    assert run_labels.run_label(run) == "lr sweep best · model2 · gmb.csv · 2025-03-04 05:06 · F1 0.812 · #gmb #lr-0.01"
    run_labels.rename_run(db, "r1", name="", tags_text="")
    assert run_labels.run_label(db.get_run("r1")) == "model2 · gmb.csv · 2025-03-04 05:06 · F1 0.812"


def test_runs_that_would_read_the_same_show_their_ids_last_part(db):
    runs = [stored_run(db, "model2-20250304-050600-ab12"), stored_run(db, "model2-20250304-050600-cd34")]
    runs.append(stored_run(db, "baseline-20250304-050600-ef56", model="baseline"))
    labels = run_labels.run_labels(runs)
    assert labels["model2-20250304-050600-ab12"].endswith("F1 0.812 (ab12)")
    assert labels["model2-20250304-050600-cd34"].endswith("F1 0.812 (cd34)")
    assert labels["baseline-20250304-050600-ef56"] == "baseline · gmb.csv · 2025-03-04 05:06 · F1 0.812"
    assert len(set(labels.values())) == 3


@pytest.mark.parametrize(
    ("name", "tags", "message"),
    [
        ("x" * (run_labels.MAX_NAME_CHARS + 1), "", f"at most {run_labels.MAX_NAME_CHARS} characters, this one has 81"),
        ("fine", "ok, " + "t" * (run_labels.MAX_TAG_CHARS + 1), f"a tag may have at most {run_labels.MAX_TAG_CHARS}"),
        ("fine", ",".join(f"t{i}" for i in range(run_labels.MAX_TAGS + 1)), f"at most {run_labels.MAX_TAGS} tags, 11 were given"),
    ],
)
def test_an_unusable_name_or_tag_list_is_refused_and_nothing_is_written(db, name, tags, message):
    stored_run(db, "r1")
    run_labels.rename_run(db, "r1", name="kept", tags_text="kept-tag")
    with pytest.raises(RunLabelError, match=message) as raised:
        run_labels.rename_run(db, "r1", name=name, tags_text=tags)
    assert str(raised.value).startswith("[E015] ")
    run = db.get_run("r1")
    assert (run_labels.run_name(run), run_labels.run_tags(run)) == ("kept", ["kept-tag"])


def test_unreadable_stored_tags_count_as_none(db):
    stored_run(db, "r1")
    db.update_run("r1", tags_json="not json")
    assert run_labels.run_tags(db.get_run("r1")) == []
    db.update_run("r1", tags_json='{"a": 1}')
    assert run_labels.run_label(db.get_run("r1")).endswith("F1 0.812")


def test_a_short_label_for_table_headers_is_the_name_or_model_and_time(db):
    run = stored_run(db, "r1")
    assert run_labels.short_label(run) == "model2 03-04 05:06"
    run_labels.rename_run(db, "r1", name="best", tags_text="x")
    assert run_labels.short_label(db.get_run("r1")) == "best"


def test_datasets_are_named_as_the_app_names_them(db, tmp_path):
    from ner_core.settings import SAMPLE_DATA_PATH, Settings

    corpus = tmp_path / "ner_dataset.csv.zip"
    settings = Settings(corpus_path=corpus, models_dir=tmp_path, database_url=db.url, uploads_dir=tmp_path)
    upload = {"path": str(tmp_path / "f.conll"), "format": "conll", "sentences": 1, "tokens": 1}
    db.register_dataset(name="wnut17.train", sha256="f" * 64, **upload)
    names = run_labels.dataset_names(db, settings)
    assert names == {
        run_labels.path_key(SAMPLE_DATA_PATH): "bundled sample",
        run_labels.path_key(corpus): "ner_dataset.csv.zip",
        "f" * 64: "wnut17.train",
    }
