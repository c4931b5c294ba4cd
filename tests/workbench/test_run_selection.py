"""Which runs a comparison starts from, when runs span test splits, and what a shared link asks for."""

from __future__ import annotations

import datetime as dt

import pytest

from ner_core.evaluation import held_out
from ner_core.store.database import Store
from ner_core.workbench import run_selection

GMB, WNUT = "a" * 64, "b" * 64


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'runs.db'}")


def stored_run(db, run_id, *, minute, sha256=GMB, path="/data/gmb.csv", seed=42, repair_iob=False):
    config = {"dataset": path, "seed": seed, "repair_iob": repair_iob}
    db.create_run(run_id, "model2", config=config, dataset_path=path, dataset_sha256=sha256)
    db.update_run(run_id, status="completed", created_at=dt.datetime(2025, 1, 1, 12, minute))
    return db.get_run(run_id)


def test_a_test_split_is_the_dataset_bytes_the_seed_and_the_iob_repair(db):
    base = run_selection.test_split(stored_run(db, "a", minute=1))
    assert base == held_out.SplitIdentity(GMB, 42, False)
    assert run_selection.test_split(stored_run(db, "same", minute=2, path="/elsewhere/copy.csv")) == base
    assert run_selection.test_split(stored_run(db, "seed", minute=3, seed=7)) != base
    assert run_selection.test_split(stored_run(db, "repair", minute=4, repair_iob=True)) != base
    assert run_selection.test_split(stored_run(db, "other", minute=5, sha256=WNUT)) != base
    # A run that recorded no checksum is known by its resolved path.
    no_sum = run_selection.test_split(stored_run(db, "nosum", minute=6, sha256="", path="/data/../data/gmb.csv"))
    assert no_sum == held_out.SplitIdentity("/data/gmb.csv", 42, False)


def test_the_default_comparison_is_the_newest_run_and_the_newest_others_on_its_split(db):
    for minute, (run_id, sha256) in enumerate(
        [("gmb-1", GMB), ("gmb-2", GMB), ("wnut-1", WNUT), ("gmb-3", GMB), ("gmb-4", GMB), ("wnut-2", WNUT)]
    ):
        stored_run(db, run_id, minute=minute, sha256=sha256)
    newest_first = db.list_runs()
    assert run_selection.default_comparison(newest_first) == ["wnut-2", "wnut-1"]  # never the two newest of any dataset
    assert run_selection.default_comparison(newest_first[1:]) == ["gmb-4", "gmb-3", "gmb-2"]  # at most three
    assert run_selection.default_comparison(newest_first[1:], limit=5) == ["gmb-4", "gmb-3", "gmb-2", "gmb-1"]
    assert run_selection.default_comparison([]) == []


def test_runs_of_different_test_splits_get_a_warning_naming_each_split(db):
    gmb = [stored_run(db, "gmb-1", minute=1), stored_run(db, "gmb-2", minute=2)]
    assert run_selection.mixed_splits_warning(gmb) is None
    wnut = stored_run(db, "wnut-1", minute=3, sha256=WNUT, path="/data/f00d.conll")
    warning = run_selection.mixed_splits_warning([*gmb, wnut], {WNUT: "wnut17.train"})
    assert warning.startswith("These runs were scored on 2 different test splits (")
    assert "2 runs on gmb.csv (sha256 aaaaaaaa), seed 42; 1 run on wnut17.train (sha256 bbbbbbbb), seed 42" in warning
    assert "not comparable" in warning and "within one split only" in warning
    reseeded = stored_run(db, "gmb-seed", minute=4, seed=7, repair_iob=True)
    assert "seed 7, stray I- tags repaired" in run_selection.mixed_splits_warning([gmb[0], reseeded])


def test_a_link_asks_for_runs_by_repeated_or_comma_separated_ids():
    available = {"a", "b", "c"}
    asked = run_selection.requested_runs(["b", "x,a", " b ", "", "c,,y"], available)
    assert asked == run_selection.RequestedRuns(known=["b", "a", "c"], unknown=["x", "y"])
    assert run_selection.requested_runs([], available) == run_selection.RequestedRuns([], [])


def test_the_notice_for_unknown_ids_names_a_few_and_cuts_long_ones():
    notice = run_selection.unknown_runs_notice(["gone-1"], fallback="Showing the default runs.")
    assert notice == "The link names a run this app does not have (deleted, or never here): gone-1. Showing the default runs."
    many = run_selection.unknown_runs_notice(["x" * 200, "b", "c", "d", "e"], fallback="")
    assert "x" * 64 + "..." in many and "x" * 65 not in many
    assert many.endswith(": " + "x" * 64 + "..., b, c and 2 more. ")
