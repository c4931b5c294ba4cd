"""What the comparison and highlighter pages show: tables, chart data, exports, test splits, disagreements."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass

import pytest

from ner_core.corpus import annotated
from ner_core.errors import CorruptRunFileError, DataFormatError, ModelLoadError
from ner_core.evaluation import held_out, metric_registry, run_scoring, scoring
from ner_core.serving.predictor import Entity, Prediction, Predictor, TokenTag
from ner_core.training import run_folder
from ner_core.workbench import comparison

GOLD = [["B-per", "I-per", "O", "B-geo"], ["B-org", "O", "B-tim"]]
PRED_A = [["B-per", "I-per", "O", "B-gpe"], ["B-org", "O", "O"]]
PRED_B = [["B-per", "O", "O", "B-geo"], ["O", "O", "B-tim"]]


@pytest.fixture
def evaluation_a():
    return scoring.evaluate_tags(GOLD, PRED_A)


@pytest.fixture
def evaluation_b():
    return scoring.evaluate_tags(GOLD, PRED_B)


# ------------------------------------------------------------------ chart data


def test_per_type_frame_is_long_format_per_run_type_and_measure(evaluation_a, evaluation_b):
    frame = comparison.per_type_frame({"a": evaluation_a, "b": evaluation_b})
    assert set(frame["measure"]) == {"precision", "recall", "f1"}
    geo_a = frame[(frame.run == "a") & (frame.type == "geo")].set_index("measure")
    assert geo_a.loc["recall", "value"] == 0.0 and geo_a.loc["recall", "support"] == 1
    per_b = frame[(frame.run == "b") & (frame.type == "per")].set_index("measure")
    assert per_b.loc["f1", "value"] == evaluation_b.per_type.loc["per", "f1"]
    assert comparison.per_type_frame({}).empty


def test_error_breakdown_frame_has_one_row_per_run(evaluation_a, evaluation_b):
    frame = comparison.error_breakdown_frame({"a": evaluation_a, "b": evaluation_b}).set_index("run")
    assert frame.loc["a", "wrong_type"] == 1 and frame.loc["a", "missed"] == 1
    assert frame.loc["b", "wrong_boundary"] == 1 and frame.loc["b", "missed"] == 1
    assert frame.loc["a", "total_errors"] == evaluation_a.errors.total_errors


def test_learning_curves_put_loss_and_val_loss_of_several_runs_in_one_frame(tmp_path):
    folder = tmp_path / "run-a"
    folder.mkdir()
    (folder / run_folder.HISTORY_FILE).write_text(
        json.dumps({"history": {"loss": [1.0, 0.5], "val_loss": [1.2, 0.8], "accuracy": [0.5, 0.7]}})
    )
    histories = {"a": comparison.load_history(folder), "b": {"loss": [2.0]}, "none": comparison.load_history(tmp_path)}
    frame = comparison.learning_curve_frame(histories)
    assert len(frame) == 5 and set(frame["series"]) == {"loss", "val_loss"}
    assert frame[(frame.run == "a") & (frame.series == "val_loss")]["value"].tolist() == [1.2, 0.8]
    assert frame[frame.run == "a"]["epoch"].max() == 2
    assert histories["none"] == {}


# ------------------------------------------------------------------ confusion


def test_confusion_difference_aligns_labels_and_subtracts_a_from_b():
    first = scoring.evaluate_tags([["B-per", "O"]], [["B-per", "B-geo"]])
    second = scoring.evaluate_tags([["B-org", "O"]], [["O", "O"]])
    frame_a, frame_b = comparison.aligned_confusions(first, second)
    assert list(frame_a.index) == list(frame_b.index) == list(frame_a.columns) == ["O", "B-geo", "B-org", "B-per"]
    difference = comparison.confusion_difference(first, second)
    assert difference.loc["O", "B-geo"] == -1  # only A predicted geo on a gold O
    assert difference.loc["O", "O"] == 1
    assert difference.loc["B-org", "O"] == 1  # only B has gold org, missed
    assert difference.loc["B-per", "B-per"] == -1
    normalised = comparison.confusion_difference(first, second, normalize=True)
    assert normalised.loc["O", "O"] == 1.0 and normalised.loc["O", "B-geo"] == -1.0


def test_confusion_cells_are_off_diagonal_and_largest_first(evaluation_a, evaluation_b):
    cells = comparison.confusion_cells(evaluation_b)
    assert all(gold != predicted for gold, predicted, _ in cells)
    assert ("I-per", "O", 1) in cells and ("B-org", "O", 1) in cells
    counts = [count for _, _, count in cells]
    assert counts == sorted(counts, reverse=True)


def test_confusion_examples_list_the_sentences_and_confused_tokens():
    sentences = [
        annotated.Sentence(["Anna", "Berg", "in", "Oslo"], GOLD[0], number=7),
        annotated.Sentence(["Acme", "on", "Monday"], GOLD[1], number=9),
    ]
    examples = comparison.confusion_examples(sentences, PRED_A, "B-tim", "O")
    assert [(e.index, e.number, e.positions) for e in examples] == [(1, 9, (2,))]
    assert examples[0].predicted_tags == tuple(PRED_A[1]) and examples[0].gold_tags == tuple(GOLD[1])
    assert comparison.confusion_examples(sentences, PRED_A, "B-geo", "B-gpe")[0].positions == (3,)
    assert comparison.confusion_examples(sentences, PRED_A, "B-per", "O") == []
    assert len(comparison.confusion_examples(sentences, PRED_A, "O", "O", limit=1)) == 1


# ------------------------------------------------------------------ a run's test split


def test_the_rebuilt_test_split_and_predictions_reproduce_the_stored_confusion_matrix(trained_run):
    test = held_out.test_split_for_run(trained_run.run_dir)
    config = json.loads((trained_run.run_dir / run_folder.CONFIG_FILE).read_text())
    assert len(test) == config["dataset"]["test"]
    predicted = comparison.predict_tags(Predictor.load(trained_run.run_dir), test)
    _, stored = run_scoring.load_evaluation(run_folder.RunFolder(trained_run.run_dir))
    gold_tag, predicted_tag, count = comparison.confusion_cells(stored)[0]
    examples = comparison.confusion_examples(test, predicted, gold_tag, predicted_tag)
    assert sum(len(e.positions) for e in examples) == count
    for example in examples:
        for position in example.positions:
            assert example.gold_tags[position] == gold_tag and example.predicted_tags[position] == predicted_tag


def copy_run_with_dataset(trained_run, tmp_path, source) -> str:
    run_dir = tmp_path / trained_run.run_id
    shutil.copytree(trained_run.run_dir, run_dir)
    config = json.loads((run_dir / run_folder.CONFIG_FILE).read_text())
    config["dataset"]["source"] = str(source)
    (run_dir / run_folder.CONFIG_FILE).write_text(json.dumps(config))
    return str(run_dir)


def test_a_missing_dataset_is_a_clear_error(trained_run, tmp_path):
    run_dir = copy_run_with_dataset(trained_run, tmp_path, tmp_path / "gone.csv")
    with pytest.raises(DataFormatError, match="no longer exists"):
        held_out.test_split_for_run(run_dir)


def test_a_changed_dataset_is_a_clear_error(trained_run, tmp_path, sample_path):
    changed = tmp_path / "sample.csv"
    changed.write_bytes(sample_path.read_bytes() + b"Sentence: 9999,Extra,NN,O\n,words,NNS,O\n")
    run_dir = copy_run_with_dataset(trained_run, tmp_path, changed)
    with pytest.raises(DataFormatError, match="has changed since run"):
        held_out.test_split_for_run(run_dir)


def test_reevaluation_with_the_other_decoding_writes_nothing(trained_run):
    before = (trained_run.run_dir / run_folder.EVALUATION_FILE).read_bytes()
    values = comparison.reevaluate(trained_run.run_dir, "constrained")
    assert set(values) == set(metric_registry.METRIC_KEYS)
    assert 0.0 <= values["entity_f1"] <= 1.0 and math.isnan(values["latency_p50_ms"])
    assert (trained_run.run_dir / run_folder.EVALUATION_FILE).read_bytes() == before


# ------------------------------------------------------------------ free text


@dataclass
class E:
    start: int
    end: int
    type: str
    text: str = ""


def test_disagreements_need_identical_start_end_and_type():
    by_run = {
        "a": [E(0, 4, "per", "Anna"), E(10, 14, "geo", "Oslo"), E(20, 26, "tim", "Monday")],
        "b": [E(0, 4, "per", "Anna"), E(10, 14, "gpe", "Oslo"), E(20, 25, "tim", "Monda")],
        "c": [E(0, 4, "per", "Anna"), E(10, 14, "geo", "Oslo")],
    }
    found = comparison.disagreements(by_run)
    assert [(d.start, d.end, d.type, d.found_by, d.missing_from) for d in found] == [
        (10, 14, "geo", ("a", "c"), ("b",)),
        (10, 14, "gpe", ("b",), ("a", "c")),
        (20, 25, "tim", ("b",), ("a", "c")),
        (20, 26, "tim", ("a",), ("b", "c")),
    ]
    keys = comparison.disagreeing_keys(by_run)
    assert keys["c"] == {(10, 14, "geo")} and (0, 4, "per") not in keys["a"]
    table = comparison.disagreement_frame(by_run)
    assert list(table.columns) == ["text", "type", "start", "end", "a", "b", "c"]
    assert table.iloc[0].to_dict() == {"text": "Oslo", "type": "geo", "start": 10, "end": 14, "a": True, "b": False, "c": True}
    assert comparison.disagreements({"only": by_run["a"]}) == []
    assert comparison.disagreement_frame({"a": [], "b": []}).empty


def make_prediction() -> Prediction:
    text = "Anna went to Oslo"
    tokens = [
        TokenTag("Anna", 0, 4, "B-per", 0.95),
        TokenTag("went", 5, 9, "O", 0.55),
        TokenTag("to", 10, 12, "O", 0.99),
        TokenTag("Oslo", 13, 17, "B-geo", 0.6),
    ]
    entities = [Entity("per", "Anna", 0, 4, 0.95, 0, 1), Entity("geo", "Oslo", 13, 17, 0.6, 3, 4)]
    return Prediction(text, tokens, entities, [(0, 4)], run_id="model2-x", model="model2", latency_ms=4.5)


def test_token_table_flags_tokens_below_the_threshold():
    table = comparison.token_table(make_prediction(), threshold=0.6)
    assert table["token"].tolist() == ["Anna", "went", "to", "Oslo"]
    assert table["low_confidence"].tolist() == [False, True, False, False]
    assert comparison.token_table(make_prediction(), threshold=0.96)["low_confidence"].sum() == 3


def test_prediction_log_row_matches_the_store_columns(store):
    prediction = make_prediction()
    row = comparison.prediction_log_row(prediction)
    assert row == {
        "source": "highlighter",
        "run_id": "model2-x",
        "text": "Anna went to Oslo",
        "entities": [
            {"type": "per", "text": "Anna", "start": 0, "end": 4, "confidence": 0.95, "token_start": 0, "token_end": 1},
            {"type": "geo", "text": "Oslo", "start": 13, "end": 17, "confidence": 0.6, "token_start": 3, "token_end": 4},
        ],
        "latency_ms": 4.5,
        "predicted_tags": ["B-per", "O", "O", "B-geo"],
    }
    before = store.count_predictions(run_id="model2-x")
    assert store.log_predictions([row]) == 1
    assert store.count_predictions(run_id="model2-x") == before + 1


def test_entity_types_and_download_names():
    prediction = make_prediction()
    assert comparison.entity_types([prediction, prediction]) == ["geo", "per"]
    assert comparison.download_name(prediction, "iob") == "entities-model2-x-iob.txt"
    assert comparison.download_mime("entities_only") == "application/json"
    assert comparison.entity_frame(prediction)["text"].tolist() == ["Anna", "Oslo"]


# ------------------------------------------------------------------ what the comparison page reads and decides


@dataclass
class StoredRun:  # the two fields load_evaluations reads of a store.Run
    id: str
    run_dir: str


def run_with_folder(tmp_path, run_id, evaluation=None, raw=None):
    folder = tmp_path / run_id
    folder.mkdir()
    if evaluation is not None:
        raw = json.dumps({"metrics": {}, "evaluation": evaluation.to_dict()})
    if raw is not None:
        (folder / run_folder.EVALUATION_FILE).write_text(raw, encoding="utf-8")
    return StoredRun(run_id, str(folder))


def test_load_evaluations_sorts_runs_into_found_missing_and_broken(tmp_path, evaluation_a):
    runs = [
        run_with_folder(tmp_path, "good", evaluation_a),
        run_with_folder(tmp_path, "never"),
        run_with_folder(tmp_path, "old", raw=json.dumps({"evaluation": {"values": {}}})),
        run_with_folder(tmp_path, "garbled", raw="{not json"),
    ]
    stored = comparison.load_evaluations(runs)
    assert list(stored.found) == ["good"] and stored.found["good"].values == evaluation_a.values
    assert stored.missing == ["never"]
    assert list(stored.broken) == ["old", "garbled"]
    assert isinstance(stored.broken["old"], CorruptRunFileError) and isinstance(stored.broken["garbled"], ModelLoadError)
    assert comparison.load_evaluations([]) == comparison.StoredEvaluations({}, [], {})


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"selection": {"points": [{"x": "B-geo", "y": "O"}]}}, ("O", "B-geo")),
        ({"selection": {"points": [{"x": "B-geo", "y": "O"}, {"x": "O", "y": "O"}]}}, ("O", "B-geo")),  # the first
        ({"selection": {"points": []}}, None),
        ({"selection": {"points": [{"x": "B-xyz", "y": "O"}]}}, None),  # not a label of this matrix
        ({}, None),
        (None, None),
    ],
    ids=["cell", "first_of_several", "no_point", "foreign_label", "no_selection", "no_event"],
)
def test_clicked_cell_reads_gold_from_y_and_predicted_from_x(event, expected):
    assert comparison.clicked_cell(event, ["O", "B-geo", "I-geo"]) == expected


def test_a_history_without_per_epoch_numbers_is_a_corrupt_run_file(tmp_path):
    folder = tmp_path / "run-a"
    folder.mkdir()
    for payload in ({"history": {"loss": ["high"]}}, {"history": [1, 2]}, [1, 2]):
        (folder / run_folder.HISTORY_FILE).write_text(json.dumps(payload))
        with pytest.raises(CorruptRunFileError, match="run-a: history.json holds no per-epoch numbers"):
            comparison.load_history(folder)
    (folder / run_folder.HISTORY_FILE).write_text("{truncated")
    with pytest.raises(ModelLoadError, match="corrupt"):
        comparison.load_history(folder)
