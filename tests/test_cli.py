"""The command line: each command's output, and bad input as a new user would try it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ner_core import cli
from ner_core.evaluation import metric_registry
from ner_core.modeling import encoding
from tests.helpers import register_run_copy

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "ner_core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def bad_inputs(tmp_path):
    files = {
        "no_tag_column.csv": "Sentence #,Word,POS\nSentence: 1,Hello,UH\n",
        "stray_inside.conll": "The\tO\nOslo\tI-geo\nfjord\tO\n",
        "empty.csv": "",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / name
        paths[name].write_text(content)
    paths["binary.csv"] = tmp_path / "binary.csv"
    paths["binary.csv"].write_bytes(bytes(range(256)) * 64)
    return paths


EXPECTED_MESSAGES = {
    "no_tag_column.csv": "missing column(s) Tag",
    "stray_inside.conll": "I-geo after O",
    "empty.csv": "is empty",
    "binary.csv": "binary file",
}


@pytest.mark.slow  # eight CLI processes, each importing TensorFlow
def test_bad_inputs_give_one_line_errors_and_change_nothing(bad_inputs, tmp_path):
    models_dir = tmp_path / "fresh_models"
    env = {"NER_MODELS_DIR": str(models_dir), "NER_DATABASE_URL": f"sqlite:///{models_dir / 'wb.db'}"}
    before = {p: p.read_bytes() for p in bad_inputs.values()}
    for name, path in bad_inputs.items():
        for command in (["data", "inspect", str(path)], ["train", "--model", "baseline", "--data", str(path), "--epochs", "1"]):
            result = run_cli(*command, env_extra=env)
            assert result.returncode != 0, (name, command)
            lines = [
                line
                for line in result.stderr.splitlines()
                if line.strip()
                and "tensorflow" not in line.lower()
                and not line.startswith(("W0000", "I0000", "E0000", "WARNING: All log messages"))
            ]
            assert len(lines) == 1 and lines[0].startswith("error: "), (name, command, result.stderr)
            assert "Traceback" not in result.stderr
            assert EXPECTED_MESSAGES[name] in lines[0], (name, lines[0])
    assert not models_dir.exists()  # no run folder, no database
    assert {p: p.read_bytes() for p in bad_inputs.values()} == before


def test_data_inspect_reports_statistics(sample_path, capsys):
    assert cli.main(["data", "inspect", str(sample_path)]) == 0
    out = capsys.readouterr().out
    assert "findings  0 errors" in out and "sentences 418" in out and "OOV" in out


def test_data_inspect_json_lists_findings(tmp_path, capsys):
    path = tmp_path / "c.conll"
    path.write_text("Oslo\tI-geo\n")
    assert cli.main(["data", "inspect", str(path), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["findings"][0]["code"] == "iob2_violation" and payload["findings"][0]["line"] == 1


def test_predict_compare_and_evaluate(trained_run, capsys):
    assert cli.main(["predict", trained_run.run_id, "Anna Berg flew to Oslo on Monday.", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["run_id"] == trained_run.run_id and payload["tokens"][0]["text"] == "Anna"
    assert cli.main(["predict", "model2", "Anna Berg flew to Oslo.", "--format", "iob"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("Anna\t")
    assert cli.main(["compare"]) == 0
    table = capsys.readouterr().out
    for spec in metric_registry.METRICS:
        assert spec.name in table
    assert trained_run.run_id in table.splitlines()[0]
    assert cli.main(["evaluate", trained_run.run_id, "--decoding", "constrained"]) == 0
    out = capsys.readouterr().out
    assert "decoding constrained" in out and sum(spec.name in out for spec in metric_registry.METRICS) == 23


def test_unknown_run_is_a_clear_error(capsys):
    assert cli.main(["predict", "no-such-run", "hello"]) == cli.EXIT_USER_ERROR
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_models_lists_the_registry(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("baseline", "advanced", "model2"))


def test_data_encode_writes_splits_and_metadata(sample_path, tmp_path, capsys):

    out = tmp_path / "processed"
    assert cli.main(["data", "encode", str(sample_path), "--model", "model2", "--out", str(out)]) == 0
    splits, metadata = encoding.load_processed(out)
    assert set(splits) == {"train", "validation", "test"}
    assert metadata["max_len"] == 75 and metadata["encoding"] == "categorical"
    assert metadata["sizes"]["train"] == len(splits["train"].word_ids) and splits["test"].word_ids.shape[1] == 75
    assert metadata["tag_map"]["<PAD>"] == 0 and len(metadata["source_sha256"]) == 64
    assert encoding.Vocabulary.load(out / "word_vocab.json").tokens[:2] == ["<PAD>", "<UNK>"]


def test_compare_names_each_run_and_stars_only_within_one_test_split(trained_run, empty_workspace, capsys):
    metrics = trained_run.metrics
    register_run_copy(trained_run, "gmb-a", dataset_sha256="5" * 64, metrics={**metrics, "entity_f1": 0.7}, name="first try")
    register_run_copy(trained_run, "gmb-b", dataset_sha256="5" * 64, metrics={**metrics, "entity_f1": 0.6}, tags_json='["gmb"]')
    register_run_copy(trained_run, "wnut", dataset_sha256="0" * 64, metrics={**metrics, "entity_f1": 0.9})
    assert cli.main(["compare"]) == 0
    lines = capsys.readouterr().out.splitlines()
    f1_line = next(line for line in lines if line.startswith("Entity F1 "))
    assert "0.7000 *" in f1_line and "0.9000 *" not in f1_line and "0.6000 *" not in f1_line
    assert any(line.startswith("gmb-a: first try · model2 · bundled sample · ") for line in lines)
    assert any(line.startswith("gmb-b: model2 · ") and line.endswith(" · #gmb") for line in lines)
    [warning] = [line for line in lines if line.startswith("warning: ")]
    assert "2 different test splits" in warning
