"""The parent-versus-child comparison: test sentences an annotation copies are left out, both runs are scored
on the rest through the app's scoring path, and the gain comes with its paired bootstrap interval."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from ner_core.corpus import reading, splitting, writing
from ner_core.errors import RetrainComparisonError
from ner_core.evaluation import bootstrap, metric_registry, scoring
from ner_core.serving.predictor import Predictor
from ner_core.store.database import Store
from ner_core.training import lineage, loop
from ner_core.workbench import retrain_comparison
from tests import helpers
from tests.conftest import TINY_SENTENCES
from tests.helpers import make_sentence


def annotation_of(annotation_id, words, tags, text=None):
    """An annotation as the store lists it (only what the comparison reads)."""
    return SimpleNamespace(id=annotation_id, tokens=list(words), tags=list(tags), text=text or " ".join(words))


def test_a_test_sentence_is_left_out_when_an_annotation_has_its_words_or_its_characters():
    test = [
        make_sentence("Anna/B-per visited/O Oslo/B-geo ./O", 1),
        make_sentence("U.S./B-geo troops/O left/O ./O", 2),
        make_sentence("Rain/O fell/O ./O", 3),
        make_sentence("Peter/B-per spoke/O ./O", 4),
    ]
    annotations = [
        annotation_of(10, ["Anna", "visited", "Oslo", "."], ["B-per", "O", "B-geo", "O"]),  # the same tokens
        # Tokenised from typed text another way ("U.S" "."): the same characters once whitespace is gone.
        annotation_of(11, ["U.S", ".", "troops", "left", "."], ["B-geo", "O", "O", "O", "O"], text="U.S.  troops left."),
        annotation_of(12, ["Rain", "fell", "hard", "."], ["O", "O", "O", "O"]),  # another sentence
    ]
    result = retrain_comparison.leak_free_test_split(test, annotations)
    assert result.left_out == ((0, 10), (1, 11)) and result.left_out_count == 2 and result.total == 4
    assert [s.number for s in result.kept] == [3, 4]
    assert retrain_comparison.leak_free_test_split(test, []).kept == tuple(test)


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    """A parent trained on a tiny corpus, and a child retrained with annotations that copy three of its test
    sentences (the leak the comparison must close) plus one new sentence; both in one store."""
    root = tmp_path_factory.mktemp("retrain")
    sentences = [
        make_sentence(spec.replace("./O", f"x{r}/O ./O"), number)
        for number, (r, spec) in enumerate(((r, s) for r in range(8) for s in TINY_SENTENCES), start=1)
    ]
    csv = root / "tiny.csv"
    csv.write_text(writing.corpus_to_gmb_csv(sentences), encoding="utf-8")
    store = Store(f"sqlite:///{root / 'db.sqlite'}")
    config = helpers.tiny_config(csv, model="baseline", epochs=2)
    parent = loop.train(config, models_dir=root / "models", store=store)
    test = splitting.split_corpus(reading.load_corpus(csv).sentences, seed=config.seed).test
    copied = test[:3]
    for sentence in [*copied, make_sentence("Zorblax/B-org hired/O Quenton/B-per ./O")]:
        store.add_annotation(
            analyst="Ada",
            text=sentence.text,
            tokens=sentence.words,
            tags=sentence.tags,
            original_tags=["O"] * len(sentence),
            model_run_id=parent.run_id,
        )
    used = lineage.AnnotationLineage.of(store.list_annotations())
    child = loop.train(
        dataclasses.replace(config, annotation_weight=5),
        models_dir=root / "models",
        store=store,
        annotations=used,
        parent_run_id=parent.run_id,
    )
    return SimpleNamespace(
        store=store, parent=store.get_run(parent.run_id), child=store.get_run(child.run_id), test=test, copied=copied, used=used
    )


def predictor(run):
    return Predictor.load(run.run_dir, onnx=False, compiled=False)


def test_annotations_that_copy_test_sentences_leave_them_out_and_both_runs_are_scored_on_the_rest(retrained):
    parent_predictor, child_predictor = predictor(retrained.parent), predictor(retrained.child)
    result = retrain_comparison.compare_retrain(
        retrained.parent, retrained.child, parent_predictor=parent_predictor, child_predictor=child_predictor, resamples=500
    )
    assert result.test_set.total == len(retrained.test)
    assert result.test_set.left_out_count == 3
    assert [index for index, _ in result.test_set.left_out] == [0, 1, 2]
    kept = retrained.test[3:]
    assert [s.words for s in result.test_set.kept] == [s.words for s in kept]
    assert f"{len(kept):,} of the {len(retrained.test):,} test sentences: 3 match" in result.left_out_note()
    assert "the 4 annotation(s) the child recorded" in result.excluded.source

    # The scores are those of each model on the kept sentences, computed here independently.
    gold = [s.tags for s in kept]
    for role, model in (("parent", parent_predictor), ("child", child_predictor)):
        tags = [t for t, _ in model.tag_sentences([s.words for s in kept])]
        expected = scoring.evaluate_tags(gold, tags, max_len=model.max_len).values
        scored = getattr(result, role).metrics
        assert {key: scored[key] for key in expected} == pytest.approx(expected)
        assert set(scored) == set(metric_registry.METRIC_KEYS)
    assert result.gain.sentences == len(kept) and result.gain.resamples == 500
    assert result.gain.baseline_f1 == pytest.approx(result.parent.metrics["entity_f1"])
    assert result.gain.gain == pytest.approx(result.child.metrics["entity_f1"] - result.parent.metrics["entity_f1"])
    assert result.gain.low <= result.gain.gain <= result.gain.high

    # The corrected sentences, as the analyst and each model tag them now.
    assert [item.annotation_id for item in result.corrected] == list(retrained.used.ids)
    last = result.corrected[-1]
    assert last.words == ("Zorblax", "hired", "Quenton", ".") and last.annotated == ("B-org", "O", "B-per", "O")
    assert list(last.child) == child_predictor.tag_sentences([list(last.words)])[0][0]
    assert list(last.parent) == parent_predictor.tag_sentences([list(last.words)])[0][0]


class TimedPredictor:
    """A real predictor that records which model each call went to (to see the rounds alternate)."""

    def __init__(self, inner, name, calls):
        self.inner, self.name, self.calls = inner, name, calls
        self.default_decoding = inner.default_decoding

    def tag_sentences(self, words, decoding=None):
        self.calls.append((self.name, "batch"))
        return self.inner.tag_sentences(words, decoding)

    def predict(self, text, decoding=None):
        return self.inner.predict(text, decoding=decoding)


def test_parent_and_child_speed_is_measured_now_in_alternating_rounds_not_read_from_training_day(retrained):
    calls = []
    parent = TimedPredictor(predictor(retrained.parent), "parent", calls)
    child = TimedPredictor(predictor(retrained.child), "child", calls)
    speeds = retrain_comparison.measure_speed_side_by_side([parent, child], retrained.test, rounds=3)
    assert [name for name, _ in calls] == ["parent", "child", "parent", "child", "child", "parent", "parent", "child"]
    for speed in speeds:
        assert set(speed) == set(retrain_comparison.SPEED_KEYS)
        assert 0 < speed["latency_p50_ms"] <= speed["latency_p95_ms"] and speed["throughput_tokens_per_s"] > 0
    result = retrain_comparison.compare_retrain(
        retrained.parent, retrained.child, parent_predictor=parent.inner, child_predictor=child.inner, resamples=100
    )
    stored = retrained.child.metrics["throughput_tokens_per_s"]
    measured = result.child.metrics["throughput_tokens_per_s"]
    assert measured > 0 and measured != stored  # timed on this page, not copied from the run's training day
    empty = retrain_comparison.measure_speed_side_by_side([parent, child], [])
    assert len(empty) == 2 and all(math.isnan(value) for speed in empty for value in speed.values())


def test_the_views_show_23_metrics_with_the_change_per_type_scores_and_escaped_sentences(retrained):
    result = retrain_comparison.compare_retrain(
        retrained.parent,
        retrained.child,
        parent_predictor=predictor(retrained.parent),
        child_predictor=predictor(retrained.child),
        resamples=200,
    )
    table = retrain_comparison.metric_frame(result)
    parent_column, child_column = f"parent {retrained.parent.id}", f"child {retrained.child.id}"
    assert list(table.columns) == ["metric", parent_column, child_column, "change", "direction", "group", "unit", "definition"]
    assert len(table) == len(metric_registry.METRICS) == 23
    f1 = table[table["metric"] == "Entity F1"].iloc[0]
    change = result.child.metrics["entity_f1"] - result.parent.metrics["entity_f1"]
    assert f1["change"] == ("+" if change >= 0 else "-") + f"{abs(change):.4f}"
    assert f1[parent_column].startswith(f"{result.parent.metrics['entity_f1']:.4f}")
    per_type = retrain_comparison.per_type_table(result)
    assert list(per_type.columns)[:2] == ["type", "support"] and "F1 change" in per_type.columns
    types = set(result.parent.evaluation.per_type.index) | set(result.child.evaluation.per_type.index)
    assert set(per_type["type"]) == types
    row = per_type.iloc[0]
    assert row["F1 change"] == pytest.approx(row["child f1"] - row["parent f1"])

    evil = retrain_comparison.CorrectedSentence(
        5, ("<img src=x onerror=alert(1)>", "ran"), ("B-per", "O"), ("O", "O"), ("B-per", "O")
    )
    markup = retrain_comparison.corrected_sentence_html(evil)
    assert "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "✓ as annotated" in markup and "✗ 1 token(s) differ" in markup


def test_runs_with_different_test_splits_or_nothing_left_cannot_be_compared(retrained):
    parent, child = retrained.parent, retrained.child
    other_seed = SimpleNamespace(**{**vars(child), "config": {**child.config, "seed": 99}})
    with pytest.raises(RetrainComparisonError, match="not split from the same dataset with the same seed"):
        retrain_comparison.compare_retrain(parent, other_seed, parent_predictor=None, child_predictor=None)
    everything = [annotation_of(i, s.words, s.tags) for i, s in enumerate(retrained.test, start=100)]
    assert retrain_comparison.leak_free_test_split(retrained.test, everything).kept == ()


def test_a_child_without_a_record_of_its_annotations_leaves_out_every_stored_one(retrained, tmp_path):
    stored = retrained.store.list_annotations()
    no_record = SimpleNamespace(run_dir=str(tmp_path), id="old-child", config={})
    (tmp_path / "config.json").write_text('{"dataset": {"extra_train": 4}}')
    excluded = retrain_comparison.annotations_to_exclude(retrained.parent, no_record, stored_now=stored)
    assert [a.id for a in excluded.annotations] == [a.id for a in stored]
    assert "all 4 annotation(s) stored now (the child kept no record of its own)" == excluded.source
    untouched = retrain_comparison.annotations_to_exclude(retrained.parent, retrained.parent, stored_now=stored)
    assert untouched.annotations == () and untouched.source.startswith("none")


def test_the_gain_of_a_child_identical_to_its_parent_is_zero_with_a_zero_width_interval(retrained):
    same = predictor(retrained.parent)
    result = retrain_comparison.compare_retrain(
        retrained.parent, retrained.child, parent_predictor=same, child_predictor=same, resamples=200
    )
    assert (result.gain.gain, result.gain.low, result.gain.high) == (0.0, 0.0, 0.0)
    assert not result.gain.significant
    counts = bootstrap.sentence_entity_counts([s.tags for s in result.test_set.kept], result.parent.predictions)
    assert counts.shape == (len(result.test_set.kept), 3)
