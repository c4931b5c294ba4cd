"""Tests for ner_core.training.recovery: what a killed training leaves is cleaned up at the next start,
and a training that is still running elsewhere is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import recovery, run_folder
from tests.helpers import JOB_TIMEOUT_S, ROOT, wait_until


def dead_identity() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = run_folder.process_identity(child.pid)
    child.wait()
    return identity


def test_a_process_identity_names_one_process_not_a_reused_number():
    mine = run_folder.process_identity()
    assert mine.startswith(f"{os.getpid()}:") and run_folder.process_alive(mine)
    assert not run_folder.process_alive(f"{os.getpid()}:1")  # same PID, another start time: another process
    assert not run_folder.process_alive(dead_identity())
    assert not run_folder.process_alive("") and not run_folder.process_alive("not-a-pid")


def test_only_folders_of_dead_or_long_gone_processes_are_removed(tmp_path):
    run_folder.temporary_folder(tmp_path, "live-run")  # owned by this process
    dead = run_folder.temporary_folder(tmp_path, "dead-run")
    dead.file(run_folder.OWNER_FILE).write_text(dead_identity())
    young, old = tmp_path / ".tmp-young-unowned", tmp_path / ".tmp-old-unowned"
    young.mkdir()
    old.mkdir()
    day_ago = time.time() - run_folder.UNOWNED_FOLDER_AGE_S - 60
    os.utime(old, (day_ago, day_ago))
    assert run_folder.remove_abandoned_folders(tmp_path) == [dead.path, old]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-live-run", ".tmp-young-unowned"]


def test_a_published_run_folder_carries_no_owner_file(tmp_path):
    folder = run_folder.temporary_folder(tmp_path, "r1")
    assert folder.file(run_folder.OWNER_FILE).read_text() == run_folder.process_identity()
    assert not (run_folder.finalize(folder).path / run_folder.OWNER_FILE).exists()


def test_recover_fails_dead_rows_and_keeps_live_ones(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for run_id, owner in [("dead", dead_identity()), ("live", run_folder.process_identity()), ("legacy", None)]:
        store.create_run(run_id, "baseline", config={}, status=RunStatus.RUNNING)
        store.update_run(run_id, owner=owner)
    result = recovery.recover(store, tmp_path / "models")
    assert result.interrupted_runs == 2 and result.removed_folders == []
    assert {r.id: r.status for r in store.list_runs()} == {
        "dead": RunStatus.FAILED,
        "live": RunStatus.RUNNING,
        "legacy": RunStatus.FAILED,
    }


@pytest.mark.slow
def test_a_killed_cli_training_is_cleaned_up_at_the_next_start(tmp_path, tiny_csv):
    models, database = tmp_path / "models", f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = dict(os.environ, NER_MODELS_DIR=str(models), NER_DATABASE_URL=database)
    command = [sys.executable, "-m", "ner_core", "train", "--model", "baseline", "--data", str(tiny_csv)]
    command += ["--epochs", "500", "--batch-size", "8", "--max-len", "16", "--embedding-dim", "8", "--no-early-stopping"]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        store = Store(database)
        wait_until(lambda: any(models.glob(".tmp-*")) and store.list_runs(status=RunStatus.RUNNING), JOB_TIMEOUT_S, 0.2)
        # A live training in another process is never touched.
        assert recovery.recover(store, models).interrupted_runs == 0 and any(models.glob(".tmp-*"))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    result = recovery.recover(store, models)
    assert result.interrupted_runs == 1 and len(result.removed_folders) == 1
    assert list(models.glob(".tmp-*")) == []
    (run,) = store.list_runs()
    assert run.status is RunStatus.FAILED and f"(process {child.pid})" in run.error_message
