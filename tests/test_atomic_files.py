"""Whole-or-nothing writes: a reader sees the previous file or the complete new one, never part of one."""

from __future__ import annotations

import pytest

from ner_core.atomic_files import open_atomic, write_text_atomic


def test_a_streamed_file_appears_only_when_the_block_ends(tmp_path):
    path = tmp_path / "deep" / "results.jsonl"
    with open_atomic(path) as stream:
        stream.write(b"one\n")
        assert not path.exists()  # nothing under the final name while writing
        stream.write(b"two\n")
    assert path.read_bytes() == b"one\ntwo\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.jsonl"]


def test_an_exception_in_the_block_keeps_the_previous_file_and_removes_the_temporary(tmp_path):
    path = write_text_atomic(tmp_path / "results.jsonl", "previous\n")
    with pytest.raises(KeyboardInterrupt):
        with open_atomic(path) as stream:
            stream.write(b"partial")
            raise KeyboardInterrupt
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]
