"""Training end to end on tiny data: run folders, store rows, progress, cancel, failures."""

from __future__ import annotations

import functools
import json
import threading

import pytest

from ner_core.corpus import writing
from ner_core.errors import ConfigError, DataFormatError, TrainingCancelled
from ner_core.evaluation import scoring
from ner_core.modeling import encoding
from ner_core.store.database import Store
from ner_core.store.tables import RunStatus
from ner_core.training import loop, run_folder
from ner_core.training.config import (
    SMALL_DATASET_SENTENCES,
    TrainConfig,
    sample_config,
    suggested_config,
    uses_small_data_settings,
)
from tests import helpers
from tests.helpers import make_sentence

# Two epochs, not the helpers' one: these tests read a training history.
tiny_config = functools.partial(helpers.tiny_config, epochs=2)


def test_config_defaults_follow_the_design():
    model2 = TrainConfig(model="model2").resolved()
    assert (model2.epochs, model2.batch_size, model2.learning_rate, model2.max_len) == (10, 64, 1e-3, 75)
    baseline = TrainConfig(model="baseline").resolved()
    assert (baseline.epochs, baseline.batch_size, baseline.patience, baseline.max_len) == (30, 32, 10, 128)
    assert TrainConfig(model="advanced").resolved().batch_size == 32


@pytest.mark.parametrize(
    "field, value", [("epochs", 0), ("batch_size", -1), ("learning_rate", 5.0), ("max_len", 1), ("decoding", "beam")]
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**{field: value})


def test_train_publishes_a_complete_run_and_records_it(tmp_path, tiny_csv):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    events = []
    result = loop.train(tiny_config(tiny_csv), models_dir=tmp_path / "models", store=store, progress=events.append)
    folder = run_folder.RunFolder(result.run_dir)
    folder.check_complete()
    assert result.run_dir.name == result.run_id
    assert not list((tmp_path / "models").glob(".tmp-*"))
    history = folder.read_json(run_folder.HISTORY_FILE)
    assert history["epochs_trained"] == 2 and len(history["history"]["loss"]) == 2
    assert set(json.loads(folder.file(run_folder.METRICS_FILE).read_text())["metrics"]) >= {"entity_f1", "latency_p50_ms"}
    row = store.get_run(result.run_id)
    assert row.status == RunStatus.COMPLETED and row.metrics["epochs_trained"] == 2.0
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("epoch_end") == 2 and "batch" in kinds
    epoch_end = [e for e in events if e.kind == "epoch_end"]
    assert epoch_end[-1].fraction == 1.0 and "val_loss" in epoch_end[0].logs and epoch_end[0].eta_s is not None


def test_padding_does_not_change_the_loss(tmp_path, tiny_csv):
    """Same data and seed, max_len 16 vs 40: padding carries zero weight, so the validation loss
    (a weighted mean over real tokens) is identical; unweighted it would shrink with more padding."""
    first = loop.train(tiny_config(tiny_csv, epochs=1, model="baseline"), models_dir=tmp_path / "a", evaluate=False)
    second = loop.train(tiny_config(tiny_csv, epochs=1, model="baseline", max_len=40), models_dir=tmp_path / "b", evaluate=False)
    assert first.history["val_loss"][0] == pytest.approx(second.history["val_loss"][0], rel=1e-4)


@pytest.mark.slow  # trains until cancelled
def test_cancel_leaves_no_folder_and_marks_the_run(tmp_path, tiny_csv):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cancel = threading.Event()

    def on_event(event):
        if event.kind == "batch":
            cancel.set()

    with pytest.raises(TrainingCancelled):
        loop.train(
            tiny_config(tiny_csv, epochs=50),
            models_dir=tmp_path / "models",
            store=store,
            progress=on_event,
            cancel=cancel,
            run_id="cancel-me",
        )
    assert list((tmp_path / "models").iterdir()) == []
    assert store.get_run("cancel-me").status == RunStatus.CANCELLED


def test_bad_dataset_fails_cleanly(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    bad = tmp_path / "bad.csv"
    bad.write_text("Sentence #,Word,POS\nSentence: 1,Hi,UH\n")
    with pytest.raises(DataFormatError, match="missing column"):
        loop.train(tiny_config(bad), models_dir=tmp_path / "models", store=store, run_id="bad-data")
    assert store.list_runs() == []  # nothing was recorded for data that never loaded
    store.create_run("queued-job", "baseline", config={}, status=RunStatus.QUEUED)  # as the job runner does
    with pytest.raises(DataFormatError):
        loop.train(tiny_config(bad), models_dir=tmp_path / "models", store=store, run_id="queued-job")
    assert store.get_run("queued-job").status == RunStatus.FAILED
    assert "missing column" in store.get_run("queued-job").error_message
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


def test_a_dataset_that_cannot_split_fails_before_training_and_leaves_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    kinds = ["per", "geo", "org", "tim", "gpe", "art", "eve", "nat"]
    tiny = tmp_path / "eight.csv"
    tiny.write_text(writing.corpus_to_gmb_csv([make_sentence(f"W{i}/B-{k} rests/O ./O", i + 1) for i, k in enumerate(kinds)]))
    with pytest.raises(ConfigError, match=r"eight.csv: its validation and test split would be empty .*at least 4 sentences"):
        loop.train(tiny_config(tiny), models_dir=tmp_path / "models", store=store, run_id="too-small")
    assert store.list_runs() == []
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


def test_bucketed_training_runs_and_uses_fewer_positions(tiny_sentences):
    from ner_core.modeling.batching import BatchSequence

    features = encoding.FeatureEncoder(
        encoding.build_word_vocabulary(tiny_sentences), encoding.build_tag_vocabulary({t for s in tiny_sentences for t in s.tags})
    )
    common = dict(batch_size=8, max_len=75, categorical=False, shuffle=True, seed=1)
    bucketed = BatchSequence(tiny_sentences, features, bucketed=True, **common)
    padded = BatchSequence(tiny_sentences, features, bucketed=False, **common)
    assert bucketed.padded_positions() < padded.padded_positions() / 5
    x, y, w = bucketed[0]
    assert x.shape[1] <= 11 and w.sum() == (y != 0).sum()


def test_small_datasets_get_settings_that_learn(sample_path, tmp_path):
    other = str(tmp_path / "corpus.csv")
    limit = SMALL_DATASET_SENTENCES
    assert uses_small_data_settings(str(sample_path))  # the bundled sample, size not needed
    assert uses_small_data_settings(other, limit - 1)
    assert not uses_small_data_settings(other, limit)
    assert not uses_small_data_settings(other)  # size unknown: a full corpus is assumed
    small = suggested_config("model2", other, 420)
    assert (small.batch_size, small.learning_rate, small.dataset) == (8, 5e-3, other)
    large = suggested_config("model2", other, 47_959)
    assert (large.batch_size, large.learning_rate) == (64, 1e-3)


def test_monitor_must_be_a_known_score():
    with pytest.raises(ConfigError, match="monitor"):
        TrainConfig(monitor="accuracy")


@pytest.mark.slow  # trains several epochs on the sample
def test_each_epoch_records_validation_f1_and_the_best_epoch_is_kept(tmp_path, sample_path):
    """The saved model is the epoch with the highest validation entity F1, re-scored from disk."""
    from ner_core.serving.predictor import Predictor
    from ner_core.training import loop

    config = sample_config("model2", str(sample_path), epochs=5, patience=3, embedding_dim=16)
    result = loop.train(config, models_dir=tmp_path, evaluate=False)
    scores = result.history["val_entity_f1"]
    assert len(scores) == result.epochs_trained == len(result.history["val_loss"])
    assert max(scores) > 0.0
    _, splits = loop.prepare_splits(config.resolved())
    tagged = Predictor.load(result.run_dir).tag_sentences([s.words for s in splits.validation])
    rescored = scoring.entity_f1([s.tags for s in splits.validation], [tags for tags, _ in tagged])
    assert rescored == pytest.approx(max(scores), abs=1e-9)


@pytest.mark.slow  # trains the char model
def test_char_model_saves_normalised_words_and_predicts_alike_for_case_variants(tmp_path, tiny_csv):
    from ner_core.serving.predictor import Predictor

    result = loop.train(tiny_config(tiny_csv, model="char_bilstm_crf", epochs=1), models_dir=tmp_path, evaluate=False)
    config = run_folder.RunFolder(result.run_dir).read_json(run_folder.CONFIG_FILE)
    assert config["normalise_words"] is True and config["train_config"]["monitor"] == "val_entity_f1"
    predictor = Predictor.load(result.run_dir)
    assert predictor.features.normalise_words
    ids = predictor.features.encode(["oslo", "OSLO", "Oslo", "1999", "2004"])["word_ids"].tolist()
    assert ids[0] == ids[1] == ids[2] > 1 and ids[3] == ids[4] > 1
