"""The run folder layout: the training log kept beside the run folders."""

from __future__ import annotations

import pytest

from ner_core.training import run_folder


def test_a_run_without_a_log_reads_as_none(tmp_path):
    assert run_folder.read_log(tmp_path, "model2-20240101-000000-abcd") is None
    assert run_folder.log_path(tmp_path, "r1") == tmp_path / "logs" / "r1.log"


def test_write_log_keeps_the_whole_text_and_replaces_the_previous_log(tmp_path):
    text = "".join(f"line {number}\n" for number in range(1, 101))
    assert run_folder.write_log(tmp_path, "r1", "old log\n") == run_folder.log_path(tmp_path, "r1")

    run_folder.write_log(tmp_path, "r1", text)

    assert run_folder.read_log(tmp_path, "r1") == text
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["r1.log"]


def test_a_failed_log_write_leaves_the_previous_log_and_no_temporary_file(tmp_path, monkeypatch):
    run_folder.write_log(tmp_path, "r1", "previous\n")

    def no_rename(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(run_folder.os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        run_folder.write_log(tmp_path, "r1", "new\n")

    assert run_folder.read_log(tmp_path, "r1") == "previous\n"
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["r1.log"]
