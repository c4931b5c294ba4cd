"""Train one model configuration on one dataset and publish it as a run.

The trainer is the only place that calls ``fit``. It reports progress through
a plain callback (epoch and batch events with losses and an ETA) and stops
early when a cancel flag is set, so the CLI, the Streamlit job runner and the
benchmark all drive training the same way without knowing about each other.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ner_core.corpus import annotated, reading, splitting
from ner_core.errors import ConfigError, NerError, TrainingCancelled
from ner_core.modeling import encoding
from ner_core.modeling.architectures import ModelDimensions, get_definition
from ner_core.settings import Settings
from ner_core.store.tables import RunStatus
from ner_core.training import lineage, run_folder, warm_start
from ner_core.training.callbacks import ProgressEvent, ProgressHook, _make_callback, _validation_f1_callback
from ner_core.training.config import VALIDATION_F1, TrainConfig


@dataclass
class TrainingResult:
    run_id: str
    run_dir: Path
    config: TrainConfig
    history: dict
    metrics: dict
    training_time_s: float
    epochs_trained: int


def prepare_splits(
    config: TrainConfig, corpus: annotated.Corpus | None = None
) -> tuple[annotated.Corpus, annotated.DatasetSplits]:
    """Load (unless given) and split the dataset the config names, with the config's seed."""
    if corpus is None:
        dataset = config.dataset or str(Settings.from_env().default_dataset)
        corpus = reading.load_corpus(dataset, repair_iob=config.repair_iob)
    splits = splitting.split_corpus(corpus.sentences, seed=config.seed)
    return corpus, splits


def train(
    config: TrainConfig,
    *,
    models_dir: Path | None = None,
    store=None,
    corpus: annotated.Corpus | None = None,
    extra_train_sentences: Sequence[annotated.Sentence] = (),
    progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    evaluate: bool = True,
    annotations: lineage.AnnotationLineage | None = None,
) -> TrainingResult:
    """Train, save, evaluate on the test split, publish the run folder and record it in the store.

    ``annotations`` are an analyst's saved corrections: they join the training sentences (repeated
    ``config.annotation_weight`` times, like ``extra_train_sentences``) and are recorded with the run
    as its lineage (``annotations.json`` and the store). ``config.warm_start_from`` continues from a
    parent run's weights (:mod:`ner_core.training.warm_start`); a parent that cannot be used fails
    here, before anything is recorded.

    On failure or cancel, the temporary folder is removed and the store row
    says ``failed``/``cancelled`` with the reason; the exception propagates.
    """
    requested_embedding_dim = config.embedding_dim
    config = config.resolved()
    definition = get_definition(config.model)
    settings = Settings.from_env()
    models_dir = Path(models_dir or settings.models_dir)
    run_id = run_id or run_folder.new_run_id(config.model)
    folder: run_folder.RunFolder | None = None
    extra = list(extra_train_sentences) + (annotations.sentences() if annotations is not None else [])
    try:
        corpus, splits = prepare_splits(config, corpus)
        # Decided from the split itself, before anything is recorded or trained: a dataset that
        # can only fail (no validation or test sentences) fails now, in one line, leaving no row.
        splitting.require_usable_split(splits, source=Path(corpus.source).name, need_test=evaluate)
        config, parent = _warm_start_parent(config, requested_embedding_dim, models_dir, corpus, extra)
        if store is not None:
            _record_start(store, run_id, config, corpus, parent_run_id)
        folder = run_folder.temporary_folder(models_dir, run_id)
        if annotations is not None:
            lineage.write_lineage(folder, annotations)
        result = _train_into(folder, config, definition, corpus, splits, extra, progress, cancel, parent_run_id, evaluate, parent)
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("training was cancelled; nothing was saved.")
        final = run_folder.finalize(folder)
        result.run_dir = final.path
        if store is not None:
            if annotations is not None:
                lineage.record_lineage(store, run_id, annotations)
            store.update_run(
                run_id,
                status=RunStatus.COMPLETED,
                finished_at=_now(),
                metrics=result.metrics,
                run_dir=str(final.path),
                machine=json.dumps(run_folder.machine_description()),
            )
        if progress is not None:
            progress(ProgressEvent("finished", result.epochs_trained, config.epochs, message=f"run {run_id} saved"))
        return result
    except BaseException as exc:
        if folder is not None:
            run_folder.discard(folder)
        if store is not None:
            _record_failure(store, run_id, exc)
        raise


def _record_start(store, run_id: str, config: TrainConfig, corpus, parent_run_id: str | None) -> None:
    """Reuse a row created when the job was queued, or create one."""
    fields = dict(
        status=RunStatus.RUNNING,
        started_at=_now(),
        config=config.to_dict(),
        dataset_path=corpus.source,
        dataset_sha256=corpus.sha256,
        owner=run_folder.process_identity(),  # this process trains it (a job's child, or the CLI)
    )
    try:
        store.get_run(run_id)
    except NerError:
        store.create_run(run_id, config.model, config=config.to_dict(), status=RunStatus.RUNNING, parent_run_id=parent_run_id)
    store.update_run(run_id, **fields)


def _record_failure(store, run_id: str, exc: BaseException) -> None:
    cancelled = isinstance(exc, (TrainingCancelled, KeyboardInterrupt))
    if isinstance(exc, NerError) or cancelled:
        message = str(exc) or exc.__class__.__name__
    else:
        message = f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc(limit=5)}"
    try:
        store.get_run(run_id)
    except NerError:
        return  # failed before the run was recorded (e.g. unreadable data): leave no trace
    status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
    store.update_run(run_id, status=status, finished_at=_now(), error_message=message)


def _now():
    from ner_core.store.tables import utcnow

    return utcnow()


def _warm_start_parent(config: TrainConfig, requested_embedding_dim, models_dir, corpus, extra):
    """(config, parent run or None); the parent is checked against the data now, so a warm start that cannot
    work fails before anything is recorded. An embedding size left to the default becomes the parent's."""
    if not config.warm_start_from:
        return config, None
    parent = warm_start.load_parent(config.warm_start_from, models_dir, model_name=config.model)
    if requested_embedding_dim is None:
        config = dataclasses.replace(config, embedding_dim=parent.embedding_dim)
    tag_names = set(corpus.tag_names) | {tag for sentence in extra for tag in sentence.tags}
    warm_start.check_fits(parent, tag_names=tag_names, embedding_dim=config.embedding_dim)
    return config, parent


def _start_model(config, definition, corpus, train_sentences, extra, parent: warm_start.ParentRun | None):
    """(features, model, warm start or None): a fresh network on the training vocabulary, or the parent's grown."""
    if parent is not None:
        tag_names = {t for s in train_sentences for t in s.tags} | set(corpus.tag_names)
        start = warm_start.prepare(
            parent, definition, new_sentences=extra, tag_names=tag_names, embedding_dim=config.embedding_dim
        )
        return start.features, start.model, start
    word_vocab = encoding.build_word_vocabulary(train_sentences, config.min_freq, normalise=definition.normalise_words)
    tag_vocab = encoding.build_tag_vocabulary(corpus.tag_names + [t for s in extra for t in s.tags])
    features = encoding.FeatureEncoder(
        word_vocab,
        tag_vocab,
        uses_chars=definition.uses_chars,
        char_vocab=encoding.build_char_vocabulary(train_sentences) if definition.uses_chars else None,
        normalise_words=definition.normalise_words,
    )
    dims = ModelDimensions(
        vocab_size=len(word_vocab),
        num_tags=len(tag_vocab),
        embedding_dim=config.embedding_dim,
        char_vocab_size=len(features.char_vocab) if features.char_vocab else 0,
        max_word_length=encoding.MAX_WORD_LENGTH,
    )
    return features, definition.build(dims), None


def _train_into(
    folder, config, definition, corpus, splits, extra, progress, cancel, parent_run_id, evaluate, parent=None
) -> TrainingResult:
    import keras

    keras.utils.set_random_seed(config.seed)
    train_sentences = list(splits.train)
    if config.max_train_sentences:
        train_sentences = train_sentences[: config.max_train_sentences]
    # Repetition weighs the annotations up for every model alike (a CRF's loss takes no token weights).
    train_sentences += extra * config.annotation_weight
    if not train_sentences:  # max_train_sentences=0 and no extra sentences
        raise ConfigError("there is nothing to train on: the training split is empty.")

    features, model, started_from = _start_model(config, definition, corpus, train_sentences, extra, parent)
    word_vocab, tag_vocab = features.word_vocab, features.tag_vocab
    categorical = definition.target_encoding == "categorical"
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=_loss_for(definition),
        weighted_metrics=[] if definition.output == "crf" else ["accuracy"],
    )
    from ner_core.modeling.batching import BatchSequence

    train_batches = BatchSequence(
        train_sentences,
        features,
        batch_size=config.batch_size,
        max_len=config.max_len,
        bucketed=config.bucketed,
        categorical=categorical,
        shuffle=True,
        seed=config.seed,
        token_weights=definition.output != "crf",
    )
    validation_batches = BatchSequence(
        splits.validation,
        features,
        batch_size=max(config.batch_size, 64),
        max_len=config.max_len,
        bucketed=config.bucketed,
        categorical=categorical,
        shuffle=False,
        seed=config.seed,
        token_weights=definition.output != "crf",
    )
    checkpoint_path = folder.file("checkpoint.weights.h5")
    progress_callback = _make_callback(
        progress,
        cancel,
        config.epochs,
        len(train_batches),
        patience=config.patience if config.early_stopping else None,
        monitor=config.monitor,
    )
    mode = "max" if config.monitor == VALIDATION_F1 else "min"
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            str(checkpoint_path), monitor=config.monitor, mode=mode, save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor=config.monitor, mode=mode, factor=0.5, patience=config.reduce_lr_patience, min_lr=1e-5
        ),
        progress_callback,
    ]
    if config.early_stopping:
        callbacks.insert(
            0,
            keras.callbacks.EarlyStopping(monitor=config.monitor, mode=mode, patience=config.patience, restore_best_weights=True),
        )
    # Always scored (also when monitoring val_loss) so learning curves show the number users care about;
    # first in the list, so the callbacks above see it in the epoch's logs.
    callbacks.insert(0, _validation_f1_callback(model, features, splits.validation, config, definition))
    if progress is not None:
        progress(ProgressEvent("started", 0, config.epochs, 0, len(train_batches), message=f"training {config.model}"))
    started = time.perf_counter()
    history = model.fit(train_batches, validation_data=validation_batches, epochs=config.epochs, callbacks=callbacks, verbose=0)
    training_time = time.perf_counter() - started
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training was cancelled; nothing was saved.")
    checkpoint_path.unlink(missing_ok=True)
    history_payload = {k: [float(v) for v in values] for k, values in history.history.items()}
    epochs_trained = len(history_payload.get("loss", []))

    model.save(folder.file(run_folder.MODEL_FILE))
    word_vocab.save(folder.file(run_folder.WORD_VOCAB_FILE))
    tag_vocab.save(folder.file(run_folder.TAG_VOCAB_FILE))
    if features.char_vocab is not None:
        features.char_vocab.save(folder.file(run_folder.CHAR_VOCAB_FILE))
    config_payload = {
        "run_id": folder.run_id,
        "model": config.model,
        "train_config": config.to_dict(),
        "dataset": {
            "source": corpus.source,
            "sha256": corpus.sha256,
            "format": corpus.format,
            "sentences": len(corpus.sentences),
            "train": len(train_sentences),
            "extra_train": len(extra),
            "annotation_weight": config.annotation_weight,
            "validation": len(splits.validation),
            "test": len(splits.test),
        },
        "max_len": config.max_len,
        "target_encoding": definition.target_encoding,
        "output": definition.output,
        "normalise_words": definition.normalise_words,
        "parent_run_id": parent_run_id,
        "warm_start": started_from.describe() if started_from is not None else None,
    }
    encoding.write_json_atomic(folder.file(run_folder.CONFIG_FILE), config_payload)
    encoding.write_json_atomic(
        folder.file(run_folder.HISTORY_FILE),
        {
            "history": history_payload,
            "training_time_s": training_time,
            "epochs_trained": epochs_trained,
            "epoch_seconds": progress_callback.epoch_seconds,
            "padded_positions_per_epoch": train_batches.padded_positions(),
            "real_tokens_per_epoch": int(sum(train_batches.lengths)),
        },
    )
    metrics: dict = {}
    if evaluate:
        from ner_core.evaluation import run_scoring

        if progress is not None:
            progress(ProgressEvent("evaluating", epochs_trained, config.epochs, message="scoring on the test split"))
        report = run_scoring.evaluate_folder(folder, splits.test, decoding=config.decoding)
        metrics = report.metrics
    return TrainingResult(folder.run_id, folder.path, config, history_payload, metrics, training_time, epochs_trained)


def _loss_for(definition):
    if definition.output == "crf":
        return None  # the CRF model computes its own negative log-likelihood
    return "categorical_crossentropy" if definition.target_encoding == "categorical" else "sparse_categorical_crossentropy"
