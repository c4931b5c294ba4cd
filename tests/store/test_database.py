"""The database: transactions, WAL, runs, the prediction log, annotations, datasets."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ner_core.errors import RunNotFoundError, StoreError
from ner_core.store.database import Store
from ner_core.store.tables import ACTIVE_STATUSES, ADDED_COLUMNS, FINISHED_STATUSES, RunStatus


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'sub' / 'test.db'}")


def test_sqlite_file_uses_wal(db, tmp_path):
    db.create_run("r1", "model2", config={})
    with sqlite3.connect(tmp_path / "sub" / "test.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_commits_are_synced_in_full_by_default(db, tmp_path):
    # synchronous is per connection: ask one of the store's own (2 = FULL, 1 = NORMAL).
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    fast = Store(f"sqlite:///{tmp_path / 'normal.db'}", synchronous="NORMAL")
    with fast.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    with pytest.raises(ValueError, match="synchronous must be one of FULL, NORMAL"):
        Store("sqlite://", synchronous="OFF")


def test_run_lifecycle(db):
    db.create_run("r1", "model2", config={"epochs": 2}, dataset_path="x.csv")
    db.update_run("r1", status="completed", metrics={"entity_f1": 0.5})
    run = db.get_run("r1")
    assert (run.status, run.config, run.metrics) == ("completed", {"epochs": 2}, {"entity_f1": 0.5})
    assert [r.id for r in db.list_runs(status="completed")] == ["r1"]
    assert db.list_runs(status="failed") == []
    with pytest.raises(RunNotFoundError):
        db.get_run("nope")
    with pytest.raises(ValueError):
        db.update_run("r1", status="exploded")


def test_run_statuses_are_the_strings_the_runs_table_stores():
    assert [status.value for status in RunStatus] == ["queued", "running", "completed", "failed", "cancelled"]
    assert RunStatus.COMPLETED == "completed" and str(RunStatus.FAILED) == "failed" and f"{RunStatus.QUEUED}" == "queued"
    assert set(ACTIVE_STATUSES) | set(FINISHED_STATUSES) == set(RunStatus)
    assert not set(ACTIVE_STATUSES) & set(FINISHED_STATUSES)


def test_a_row_written_as_a_plain_string_reads_back_as_a_run_status(db, tmp_path):
    db.create_run("fresh", "model2", config={}, status=RunStatus.RUNNING)
    with sqlite3.connect(tmp_path / "sub" / "test.db") as connection:
        # As a version before RunStatus wrote it: the bare string, no ORM involved.
        connection.execute(
            "INSERT INTO runs (id, model_name, status, dataset_path, dataset_sha256, config_json, created_at)"
            " VALUES ('old', 'model2', 'completed', '', '', '{}', '2024-01-01 00:00:00')"
        )
        assert connection.execute("SELECT status FROM runs WHERE id = 'fresh'").fetchone() == ("running",)

    old = db.get_run("old")
    assert old.status is RunStatus.COMPLETED
    assert [r.id for r in db.list_runs(status=RunStatus.COMPLETED)] == [r.id for r in db.list_runs(status="completed")] == ["old"]
    assert db.get_run("fresh").status is RunStatus.RUNNING
    assert db.mark_interrupted_runs() == 1
    assert db.get_run("fresh").status is RunStatus.FAILED


def test_a_failed_transaction_changes_nothing(db):
    db.create_run("r1", "model2", config={})
    with pytest.raises(StoreError):
        db.create_run("r1", "baseline", config={})  # duplicate primary key
    assert [r.model_name for r in db.list_runs()] == ["model2"]


def test_interrupted_runs_are_marked_failed(db):
    db.create_run("a", "model2", config={}, status="running")
    db.create_run("b", "model2", config={}, status="completed")
    assert db.mark_interrupted_runs() == 1
    assert db.get_run("a").status == "failed" and "interrupted" in db.get_run("a").error_message
    assert db.get_run("b").status == "completed"


def test_prediction_log_bulk_insert(db):
    rows = [
        {
            "source": "simulation",
            "simulation_id": "s1",
            "arm": "A",
            "text": f"t{i}",
            "entities": [{"type": "geo"}],
            "latency_ms": 1.5,
            "gold": ["O"],
        }
        for i in range(250)
    ]
    assert db.log_predictions(rows) == 250
    assert db.count_predictions(source="simulation") == 250
    first = db.prediction_rows(simulation_id="s1", limit=1)[0]
    assert first["entities_json"] == '[{"type": "geo"}]' and first["gold_json"] == '["O"]'


# The prediction_log table as databases created before ``error_kind`` have it.
LEGACY_PREDICTION_LOG = """
CREATE TABLE prediction_log (
    id INTEGER NOT NULL, created_at DATETIME NOT NULL, source VARCHAR(32) NOT NULL, simulation_id VARCHAR(64),
    simulated_time_s DOUBLE, arm VARCHAR(64), run_id VARCHAR(64), text TEXT NOT NULL, entities_json TEXT NOT NULL,
    latency_ms DOUBLE, error TEXT, breaker_state VARCHAR(16), routing_reason TEXT, gold_json TEXT,
    predicted_tags_json TEXT, PRIMARY KEY (id)
)
"""


def prediction_log_columns(path):
    with sqlite3.connect(path) as connection:
        return [row[1] for row in connection.execute("PRAGMA table_info(prediction_log)")]


def test_a_database_without_the_error_kind_column_still_opens_and_gains_it(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute(LEGACY_PREDICTION_LOG)
        connection.execute(
            "INSERT INTO prediction_log (created_at, source, simulation_id, text, entities_json, error) "
            "VALUES ('2026-01-01 00:00:00', 'simulation', 'old-sim', 'Anna', '[]', 'injected fault')"
        )
    assert "error_kind" not in prediction_log_columns(path)

    db = Store(f"sqlite:///{path}")
    # Every column added to prediction_log since (error_kind, then the API's three) is appended, in ADDED_COLUMNS order.
    added = [column for table, column in ADDED_COLUMNS if table == "prediction_log"]
    assert prediction_log_columns(path)[-len(added) :] == added and added[0] == "error_kind"
    old = db.prediction_rows(simulation_id="old-sim")
    assert [(row["error"], row["error_kind"]) for row in old] == [("injected fault", None)]
    db.log_predictions([{"source": "simulation", "simulation_id": "new-sim", "error": None, "error_kind": "none"}])
    assert db.prediction_rows(simulation_id="new-sim")[0]["error_kind"] == "none"

    Store(f"sqlite:///{path}")  # opening again adds nothing and fails nothing
    assert prediction_log_columns(path).count("error_kind") == 1
    assert db.count_predictions() == 2


def test_a_new_database_has_every_added_column(db, tmp_path):
    db.count_predictions()
    for table, column in ADDED_COLUMNS:
        with sqlite3.connect(tmp_path / "sub" / "test.db") as connection:
            assert column in [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def test_annotations_round_trip(db):
    annotation_id = db.add_annotation(
        analyst="ana", text="Anna runs", tokens=["Anna", "runs"], tags=["B-per", "O"], original_tags=["O", "O"], model_run_id="r1"
    )
    db.update_annotation(annotation_id, tags=["B-org", "O"])
    saved = db.list_annotations()[0]
    assert (saved.analyst, saved.tokens, saved.tags, saved.original_tags) == ("ana", ["Anna", "runs"], ["B-org", "O"], ["O", "O"])
    db.delete_annotation(annotation_id)
    assert db.list_annotations() == []


def test_datasets_are_unique_by_checksum(db):
    first = db.register_dataset(name="a.csv", sha256="f" * 64, path="/x/a.csv", format="gmb_csv", sentences=3, tokens=9)
    again = db.register_dataset(name="b.csv", sha256="f" * 64, path="/x/b.csv", format="gmb_csv", sentences=3, tokens=9)
    assert first.id == again.id and len(db.list_datasets()) == 1


def test_unopenable_database_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the database"):
        Store(f"sqlite:///{blocker / 'inside' / 'db.sqlite'}")


def test_a_database_from_before_run_owners_gains_the_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        # The runs table as versions before the owner column created it.
        connection.execute(
            "CREATE TABLE runs (id VARCHAR(64) PRIMARY KEY, model_name VARCHAR(64), status VARCHAR(16), dataset_path TEXT,"
            " dataset_sha256 VARCHAR(64), config_json TEXT, metrics_json TEXT, run_dir TEXT, parent_run_id VARCHAR(64),"
            " error_message TEXT, created_at DATETIME, started_at DATETIME, finished_at DATETIME, machine TEXT)"
        )
        connection.execute(
            "INSERT INTO runs (id, model_name, status, dataset_path, dataset_sha256, config_json, created_at)"
            " VALUES ('old', 'model2', 'running', '', '', '{}', '2024-01-01 00:00:00')"
        )
    db = Store(f"sqlite:///{path}")
    assert db.get_run("old").owner is None
    assert db.mark_interrupted_runs(owner_alive=lambda owner: True) == 1  # no owner recorded: interrupted
    db.create_run("new", "model2", config={}, status=RunStatus.RUNNING)
    db.update_run("new", owner="123:456")
    assert db.get_run("new").owner == "123:456"


def test_a_run_whose_owner_is_alive_is_not_marked_interrupted(db):
    db.create_run("live", "model2", config={}, status=RunStatus.RUNNING)
    db.update_run("live", owner="1:100")
    db.create_run("dead", "model2", config={}, status=RunStatus.RUNNING)
    db.update_run("dead", owner="2:200")
    assert db.mark_interrupted_runs(owner_alive=lambda owner: owner == "1:100") == 1
    assert db.get_run("live").status is RunStatus.RUNNING
    dead = db.get_run("dead")
    assert dead.status is RunStatus.FAILED
    assert dead.error_message == "interrupted: the process that ran it (process 2) stopped before the run finished"


def test_a_run_keeps_the_name_and_tags_an_analyst_gives_it(db):
    db.create_run("r1", "model2", config={})
    assert (db.get_run("r1").name, db.get_run("r1").tags_json) == (None, None)
    db.set_run_name_and_tags("r1", name="lr sweep best", tags=["gmb", "lr-0.01"])
    run = db.get_run("r1")
    assert (run.name, json.loads(run.tags_json)) == ("lr sweep best", ["gmb", "lr-0.01"])
    db.set_run_name_and_tags("r1", name="", tags=[])
    assert (db.get_run("r1").name, db.get_run("r1").tags_json) == (None, None)
    with pytest.raises(RunNotFoundError):
        db.set_run_name_and_tags("nope", name="x", tags=[])


def test_a_database_from_before_run_names_gains_name_and_tags_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        # The runs table as versions before names and tags created it (owner already there).
        connection.execute(
            "CREATE TABLE runs (id VARCHAR(64) PRIMARY KEY, model_name VARCHAR(64), status VARCHAR(16), dataset_path TEXT,"
            " dataset_sha256 VARCHAR(64), config_json TEXT, metrics_json TEXT, run_dir TEXT, parent_run_id VARCHAR(64),"
            " error_message TEXT, created_at DATETIME, started_at DATETIME, finished_at DATETIME, machine TEXT,"
            " owner VARCHAR(64))"
        )
        connection.execute(
            "INSERT INTO runs (id, model_name, status, dataset_path, dataset_sha256, config_json, created_at)"
            " VALUES ('old', 'model2', 'completed', '', '', '{}', '2024-01-01 00:00:00')"
        )
    db = Store(f"sqlite:///{path}")
    old = db.get_run("old")
    assert (old.model_name, old.name, old.tags_json) == ("model2", None, None)
    db.set_run_name_and_tags("old", name="first try", tags=["legacy"])
    assert db.get_run("old").name == "first try"
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(runs)")]
    assert columns[-2:] == ["name", "tags_json"]


def test_a_database_from_before_the_repair_column_gains_it_and_records_it_on_the_next_upload(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        # The datasets table as versions before the repair choice was recorded created it.
        connection.execute(
            "CREATE TABLE datasets (id INTEGER PRIMARY KEY, name TEXT, sha256 VARCHAR(64) UNIQUE, path TEXT,"
            " format VARCHAR(16), sentences INTEGER, tokens INTEGER, uploaded_at DATETIME)"
        )
        connection.execute(
            "INSERT INTO datasets (name, sha256, path, format, sentences, tokens, uploaded_at)"
            " VALUES ('old.conll', 'abc', '/u/old.conll', 'conll', 3, 9, '2024-01-01 00:00:00')"
        )
    db = Store(f"sqlite:///{path}")
    [old] = db.list_datasets()
    assert old.repair_iob is None  # unknown, not "valid as uploaded"
    again = db.register_dataset(
        name="old.conll", sha256="abc", path="/u/old.conll", format="conll", sentences=3, tokens=9, repair_iob=True
    )
    assert again.id == old.id and db.list_datasets()[0].repair_iob is True
    # A recorded choice is kept: the same bytes were accepted that way.
    db.register_dataset(name="x", sha256="abc", path="/u/x", format="conll", sentences=3, tokens=9, repair_iob=False)
    assert db.list_datasets()[0].repair_iob is True
    new = db.register_dataset(
        name="new.csv", sha256="def", path="/u/new.csv", format="gmb_csv", sentences=1, tokens=2, repair_iob=False
    )
    assert new.repair_iob is False
