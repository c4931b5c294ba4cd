"""Reading a run folder's stored evaluation: absent, valid, not JSON, or JSON of the wrong shape."""

from __future__ import annotations

import json

import pytest

from ner_core.errors import CorruptRunFileError, ModelLoadError, NerError
from ner_core.evaluation import run_scoring, scoring
from ner_core.training import run_folder


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "model2-20260101-000000-abcd"
    path.mkdir()
    return run_folder.RunFolder(path)


def write(folder, payload) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    folder.file(run_folder.EVALUATION_FILE).write_text(text, encoding="utf-8")


def test_a_run_never_evaluated_has_no_evaluation(folder):
    assert run_scoring.load_evaluation(folder) == ({}, None)


def test_a_stored_evaluation_reads_back_with_its_metrics(folder):
    evaluation = scoring.evaluate_tags([["B-per", "O"]], [["B-per", "O"]])
    write(folder, {"metrics": {"entity_f1": 1.0}, "evaluation": evaluation.to_dict()})
    metrics, restored = run_scoring.load_evaluation(folder)
    assert metrics == {"entity_f1": 1.0}
    assert restored.values["entity_f1"] == 1.0 and restored.confusion_labels == evaluation.confusion_labels


@pytest.mark.parametrize(
    "payload",
    [{"metrics": {}}, {"evaluation": {"values": {}}}, [], {"evaluation": "none"}],
    ids=["no_evaluation_key", "old_layout", "not_an_object", "evaluation_not_an_object"],
)
def test_json_that_is_not_an_evaluation_is_a_corrupt_run_file(folder, payload):
    write(folder, payload)
    with pytest.raises(CorruptRunFileError) as raised:
        run_scoring.load_evaluation(folder)
    message = str(raised.value)
    assert folder.run_id in message and run_folder.EVALUATION_FILE in message
    assert "python -m ner_core evaluate" in message


def test_a_file_that_is_not_json_is_a_model_load_error(folder):
    write(folder, "{not json")
    with pytest.raises(ModelLoadError, match="corrupt"):
        run_scoring.load_evaluation(folder)
    assert issubclass(ModelLoadError, NerError)
