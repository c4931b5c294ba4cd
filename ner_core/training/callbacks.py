"""Keras callbacks of the training loop: progress events (epoch, batch, ETA),
cancellation, and the per-epoch validation entity F1 used for early stopping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ner_core.evaluation import scoring
from ner_core.training.config import VALIDATION_F1, TrainConfig


@dataclass
class ProgressEvent:
    """What the UI needs to draw a progress bar, an ETA and live curves."""

    kind: str  # started | epoch_begin | batch | epoch_end | evaluating | finished
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    logs: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""
    # The epochs the ETA counts on: early stopping usually ends a run well before ``epochs``.
    expected_epochs: int = 0
    eta_basis: str = ""

    @property
    def fraction(self) -> float:
        if self.kind == "finished":
            return 1.0
        if not self.epochs or not self.batches:
            return 0.0
        done = (self.epoch - 1) + (
            self.batch / self.batches if self.kind == "batch" else 1.0 if self.kind == "epoch_end" else 0.0
        )
        return max(0.0, min(1.0, done / self.epochs))


ProgressHook = Callable[[ProgressEvent], None]


def expected_epochs(epochs: int, scores: list[float], *, patience: int | None, higher_is_better: bool = True) -> int:
    """The epochs a run is likely to take: early stopping ends it ``patience`` epochs after its best so far.

    Without early stopping every epoch runs. With it, a run whose score still improves
    is expected to stop ``patience`` epochs after the latest best, never before the
    epochs already done and never after ``epochs``; Keras counts only a strict
    improvement, so the best is the first of equal scores.
    """
    if patience is None:
        return epochs
    if not scores:
        return min(epochs, 1 + patience)
    best_value = max(scores) if higher_is_better else min(scores)
    best_epoch = scores.index(best_value) + 1
    return min(epochs, max(len(scores), best_epoch + patience))


def eta_basis(epochs: int, expected: int, scores: list[float], *, patience: int | None) -> str:
    """One line saying what the ETA assumes, for the UI next to the number (``scores``: higher is better)."""
    if patience is None or expected >= epochs:
        return f"assumes all {epochs} epochs run"
    best = f" (best so far: epoch {scores.index(max(scores)) + 1})" if scores else ""
    return f"assumes early stopping ends about epoch {expected} of at most {epochs}, {patience} after the best{best}"


def _make_callback(
    progress: ProgressHook | None,
    cancel: threading.Event | None,
    epochs: int,
    batches: int,
    *,
    patience: int | None = None,
    monitor: str = VALIDATION_F1,
):
    import keras

    higher_is_better = monitor == VALIDATION_F1

    class ProgressAndCancel(keras.callbacks.Callback):
        """Forwards Keras events to our hook and honours the cancel flag between batches."""

        def __init__(self) -> None:
            super().__init__()
            self.started = time.perf_counter()
            self.epoch = 0
            self.epoch_seconds: list[float] = []
            self.epoch_started = self.started
            self.last_emit = 0.0
            self.scores: list[float] = []

        def _elapsed(self) -> float:
            return time.perf_counter() - self.started

        def _expected(self) -> int:
            return max(self.epoch, expected_epochs(epochs, self.scores, patience=patience, higher_is_better=higher_is_better))

        def _eta(self, done_batches: int) -> float | None:
            if done_batches <= 0:
                return None
            per_batch = self._elapsed() / done_batches
            return per_batch * max(0, self._expected() * batches - done_batches)

        def _emit(self, event: ProgressEvent) -> None:
            if progress is not None:
                event.expected_epochs = self._expected()
                scores = self.scores if higher_is_better else [-s for s in self.scores]
                event.eta_basis = eta_basis(epochs, event.expected_epochs, scores, patience=patience)
                progress(event)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1
            self.epoch_started = time.perf_counter()
            self._emit(
                ProgressEvent(
                    "epoch_begin",
                    self.epoch,
                    epochs,
                    0,
                    batches,
                    elapsed_s=self._elapsed(),
                    eta_s=self._eta((self.epoch - 1) * batches),
                )
            )

        def on_train_batch_end(self, batch, logs=None):
            if cancel is not None and cancel.is_set():
                self.model.stop_training = True
            now = time.perf_counter()
            # Throttle: a UI does not need 900 events per epoch.
            if now - self.last_emit >= 0.25 or batch + 1 == batches:
                self.last_emit = now
                done = (self.epoch - 1) * batches + batch + 1
                self._emit(
                    ProgressEvent(
                        "batch", self.epoch, epochs, batch + 1, batches, _floats(logs), self._elapsed(), self._eta(done)
                    )
                )

        def on_epoch_end(self, epoch, logs=None):
            # Training seconds per epoch (validation included), for the bucketing benchmark.
            self.epoch_seconds.append(time.perf_counter() - self.epoch_started)
            if logs and monitor in logs:
                self.scores.append(float(logs[monitor]))
            if cancel is not None and cancel.is_set():
                self.model.stop_training = True
            self._emit(
                ProgressEvent(
                    "epoch_end",
                    epoch + 1,
                    epochs,
                    batches,
                    batches,
                    _floats(logs),
                    self._elapsed(),
                    self._eta((epoch + 1) * batches),
                )
            )

    return ProgressAndCancel()


def _floats(logs) -> dict:
    return {
        k: float(v)
        for k, v in (logs or {}).items()
        if isinstance(v, (int, float, np.floating, np.integer)) or hasattr(v, "__float__")
    }


def _validation_f1_callback(model, features, validation, config: TrainConfig, definition):
    """Adds ``val_entity_f1`` (seqeval strict, the run's own decoding) to each epoch's logs.

    Validation loss is a loose stopping signal for NER: on GMB the CRF model's
    val_loss was lowest at epoch 5 while its validation entity F1 peaked at
    epoch 7 (0.8439 against 0.8431), because loss also rewards confidence on
    the O tokens that make up 85% of the text. Tagging goes through the app's
    Predictor, so the monitored number is computed exactly like the test metric.
    """
    import keras

    from ner_core.serving.predictor import Predictor

    words = [s.words for s in validation]
    gold = [list(s.tags) for s in validation]

    class ValidationF1(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.predictor = None

        def on_epoch_end(self, epoch, logs=None):
            if self.predictor is None:
                self.predictor = Predictor(
                    model,
                    features,
                    max_len=config.max_len,
                    model_name=config.model,
                    output=definition.output,
                    default_decoding=config.decoding,
                    compiled=False,
                )
            self.predictor.sync_weights()
            tagged = self.predictor.tag_sentences(words)
            if logs is not None:
                logs[VALIDATION_F1] = scoring.entity_f1(gold, [tag_list for tag_list, _ in tagged])

    return ValidationF1()
