"""The training configuration: one typed dataclass whose fields, bounds and help text
are the single source for the Training page's form and the CLI's flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ner_core import configuration
from ner_core.configuration import setting
from ner_core.corpus import splitting
from ner_core.errors import ConfigError
from ner_core.modeling.architectures import get_definition, model_names
from ner_core.modeling.decoding import DECODING_METHODS

VALIDATION_F1 = "val_entity_f1"
MONITORS = (VALIDATION_F1, "val_loss")


# Seeds are 31-bit: every library a run seeds (Python, numpy, TensorFlow) takes them.
MAX_SEED = 2**31 - 1


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``None`` means "the model's default from the design".

    Each field's help, bounds and choices live in its :func:`~ner_core.configuration.setting`:
    validation here, the CLI's ``train`` flags and the Training page's form all read them.
    """

    model: str = setting(
        "model2",
        label="Model",
        help="The architecture to train; `python -m ner_core models` lists them.",
        choices=model_names,
        required=True,
    )
    epochs: int | None = setting(
        None, label="Epochs", help="Upper bound; early stopping may end sooner.", min=1, max=1000, placeholder="the model's"
    )
    batch_size: int | None = setting(
        None, label="Batch size", help="Sentences per optimiser step.", min=1, max=4096, placeholder="the model's"
    )
    # The form has always capped it at 0.5 (Adam diverges long before); validation used to allow anything below 1.
    learning_rate: float | None = setting(
        None,
        label="Learning rate",
        help="Adam's step size; halved when the monitored score stalls.",
        min=1e-5,
        max=0.5,
        step=1e-4,
        placeholder="the model's",
    )
    max_len: int | None = setting(
        None,
        label="Max length (tokens)",
        help="Longer sentences are cut into windows of this length.",
        min=2,
        max=1024,
        placeholder="the model's",
    )
    embedding_dim: int | None = setting(
        None, label="Embedding size", help="Length of each word's vector.", min=1, max=2048, placeholder="the model's"
    )
    patience: int | None = setting(
        None,
        label="Early-stopping patience (epochs)",
        help="Epochs without improvement of the monitored score before early stopping ends the run.",
        min=0,
        max=1000,
        placeholder="the model's",
    )
    seed: int = setting(
        splitting.DEFAULT_SEED,
        label="Seed",
        help="Fixes the split, the shuffling and the initial weights.",
        min=0,
        max=MAX_SEED,
    )
    min_freq: int = setting(
        1, label="Minimum word frequency", help="Rarer training words map to the unknown id.", min=1, max=10**6
    )
    dataset: str | None = setting(
        None,
        label="Dataset",
        help="GMB CSV/zip or CoNLL file.",
        placeholder="$NER_CORPUS_PATH or the bundled sample",
        flag="--data",
    )
    repair_iob: bool = setting(
        False,
        label="Repair IOB2",
        help="Read a stray I-X (one that follows neither B-X nor I-X) as B-X, as IOB1 files need; "
        "a file uploaded with repair needs it too.",
    )
    bucketed: bool = setting(
        False,
        label="Bucketed batches",
        help="Batches of similar-length sentences, each padded to its own longest: less padding, faster epochs.",
    )
    early_stopping: bool = setting(
        True,
        label="Early stopping",
        help="Stop when the monitored score has not improved for `patience` epochs, and keep the best epoch's weights.",
    )
    reduce_lr_patience: int = setting(
        2,
        label="Learning-rate patience (epochs)",
        help="Epochs without improvement of the monitored score before the learning rate is halved.",
        min=0,
        max=1000,
    )
    max_train_sentences: int | None = setting(
        None,
        label="Max training sentences",
        help="Train on the first N training sentences only (quick experiments).",
        min=1,
        max=10**9,
        step=100,
        placeholder="all",
    )
    # Measured on GMB (bench/results/accuracy_speed.md): IOB2-constrained Viterbi beats argmax for every
    # softmax model (model2 0.802 -> 0.816, advanced 0.807 -> 0.822, baseline 0.638 -> 0.668 entity F1).
    decoding: str = setting(
        "constrained",
        label="Decoding",
        help="How the run decodes for users and evaluation. constrained: Viterbi over IOB2-valid transitions; "
        "argmax: the most likely tag per token.",
        choices=DECODING_METHODS,
    )
    # What early stopping, checkpointing and learning-rate decay watch; see _validation_f1_callback.
    monitor: str = setting(
        VALIDATION_F1,
        label="Monitor",
        help="What early stopping, the best checkpoint and learning-rate decay watch: validation entity F1 "
        "(seqeval strict, with the chosen decoding) or validation loss.",
        choices=MONITORS,
    )
    # A retrain from an analyst's corrections: see ner_core.training.warm_start and ner_core.workbench.retraining.
    warm_start_from: str | None = setting(
        None,
        label="Warm start from run",
        help="A completed run of the same model (run id or folder) to continue from: its weights, and its vocabulary "
        "extended with the new words of the annotations. Empty: start from random weights.",
        placeholder="none: random initial weights",
        flag="--warm-start-from",
    )
    annotation_weight: int = setting(
        1,
        label="Annotation weight",
        help="How many times each saved annotation (extra training sentence) is repeated in every epoch, "
        "so a few corrections count against thousands of training sentences.",
        min=1,
        max=100,
    )

    def __post_init__(self) -> None:
        get_definition(self.model)  # raises ConfigError for an unknown name, with the known ones
        configuration.validate(self)
        if self.warm_start_from is not None and not self.warm_start_from.strip():
            raise ConfigError("warm_start_from names no run; give a run id or folder, or leave it empty.")

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` replaced by the model's default."""
        definition = get_definition(self.model)
        defaults = definition.train_defaults
        return dataclasses.replace(
            self,
            epochs=self.epochs or defaults.get("epochs", 10),
            batch_size=self.batch_size or defaults.get("batch_size", 32),
            learning_rate=self.learning_rate or defaults.get("learning_rate", 1e-3),
            max_len=self.max_len or definition.default_max_len,
            embedding_dim=self.embedding_dim or definition.default_embedding_dim,
            patience=self.patience if self.patience is not None else defaults.get("patience", 3),
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, payload: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in known})


# Below this many sentences a dataset trains with :func:`sample_config`'s settings. The design's
# defaults (batch 64, lr 1e-3) give too few optimiser steps: the bundled sample (~400 sentences)
# uploaded as a file trained model2 for 3 epochs to entity F1 0.0, all ``O``.
SMALL_DATASET_SENTENCES = 5_000


def uses_small_data_settings(dataset: str, sentences: int | None = None) -> bool:
    """True for the bundled sample and for any dataset known to hold fewer than
    :data:`SMALL_DATASET_SENTENCES` sentences; ``sentences`` None means unknown (a large corpus is assumed)."""
    from ner_core.settings import SAMPLE_DATA_PATH

    if sentences is not None and sentences < SMALL_DATASET_SENTENCES:
        return True
    try:
        return Path(dataset).resolve() == SAMPLE_DATA_PATH.resolve()
    except OSError:
        return False


def suggested_config(model: str, dataset: str, sentences: int | None = None) -> TrainConfig:
    """What a training form should offer for this model and dataset, every field filled in.

    Small datasets get :func:`sample_config`: with the design's defaults a
    model2 run on the sample stops at entity F1 0 (it predicts only ``O``), which is the
    last thing an analyst trying the app for the first time should see.
    """
    small = uses_small_data_settings(dataset, sentences)
    config = sample_config(model, dataset) if small else TrainConfig(model=model, dataset=dataset)
    return config.resolved()


def sample_config(model: str, dataset: str | None = None, **overrides) -> TrainConfig:
    """Settings that learn from the bundled sample (~250 training sentences) and other small datasets.

    The design's defaults (batch 64, learning rate 1e-3) give model2 four steps
    an epoch on the sample, and it never leaves all-``O``; small batches, a
    higher rate and early stopping reach entity F1 of roughly 0.4-0.6 in a minute.
    """
    from ner_core.settings import SAMPLE_DATA_PATH

    values = dict(
        model=model,
        dataset=dataset or str(SAMPLE_DATA_PATH),
        epochs=30,
        batch_size=8,
        learning_rate=5e-3 if model != "advanced" else 3e-3,
        patience=4,
        bucketed=True,
    )
    values.update(overrides)
    return TrainConfig(**values)
