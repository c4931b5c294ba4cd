"""Warm start: continue training from a parent run's weights instead of random ones.

An analyst who corrected ten sentences should not wait for a model trained from scratch (model2 on
GMB: about eight minutes here). A warm start loads the parent's network and vocabularies, makes room
for what the annotations bring that the parent never saw, and lets the trainer run a few more epochs
over the training split with the annotations weighted up (``TrainConfig.annotation_weight``).

Making room keeps everything the parent learned in place:

- the word vocabulary keeps every id and row; each new word of the annotations is appended, and its
  embedding row starts as the row of the word's lower-case form when the parent knows that (``Gdansk``
  after ``gdansk``), else as the mean of the parent's known rows: an ordinary word vector rather than
  a random one, so the first epochs refine it instead of undoing noise;
- for a character-aware model the character vocabulary and the character embedding grow the same way;
- the tag set cannot grow: a new tag would need a new output unit and transitions the parent never
  learned, so a warm start refuses it (:class:`~ner_core.errors.WarmStartError`) and a full retrain
  is the way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ner_core.errors import ModelLoadError, WarmStartError
from ner_core.modeling import encoding
from ner_core.modeling.architectures import ModelDefinition, ModelDimensions
from ner_core.serving.model_file import load_run_model
from ner_core.training import run_folder

# Rows that are no word: padding and the unknown id take no part in the mean a new row starts from.
_SPECIAL_ROWS = 2


@dataclass
class ParentRun:
    """What a warm start continues from: the parent's network, vocabularies and recorded configuration."""

    run_id: str
    path: Path
    model: object  # keras.Model
    features: encoding.FeatureEncoder
    config: dict  # its config.json

    @property
    def embedding_dim(self) -> int:
        return int(self.model.get_layer("embedding").get_weights()[0].shape[1])


@dataclass
class WarmStart:
    """The network a warm start trains: the parent's weights with room for the new words and characters."""

    parent: ParentRun
    model: object
    features: encoding.FeatureEncoder
    new_words: list[str] = field(default_factory=list)
    new_chars: list[str] = field(default_factory=list)
    copied_from_lower_case: int = 0

    def describe(self) -> dict:
        """What ``config.json`` records about where the run started."""
        return {
            "parent_run_id": self.parent.run_id,
            "parent_run_dir": str(self.parent.path),
            "new_words": len(self.new_words),
            "new_words_from_lower_case": self.copied_from_lower_case,
            "new_chars": len(self.new_chars),
            "parent_vocabulary": len(self.parent.features.word_vocab),
        }


def load_parent(reference: str, models_dir: Path, *, model_name: str) -> ParentRun:
    """The run ``reference`` names (a run id under ``models_dir`` or a run folder), checked to be a complete
    run of ``model_name``; anything else is a WarmStartError that says which."""
    try:
        folder = run_folder.resolve_run_folder(Path(models_dir), str(reference))
        folder.check_complete()
        config = folder.read_json(run_folder.CONFIG_FILE)
    except ModelLoadError as exc:
        raise WarmStartError(f"cannot warm-start from {reference!r}: {exc.message}") from None
    parent_model_name = config.get("model")
    if parent_model_name != model_name:
        raise WarmStartError(
            f"run {folder.run_id} is a {parent_model_name} run; a warm start continues the same model, not {model_name}."
        )
    try:
        model, features = load_run_model(folder, config)
    except ModelLoadError as exc:
        raise WarmStartError(f"cannot warm-start from run {folder.run_id}: {exc.message}") from None
    return ParentRun(folder.run_id, folder.path, model, features, config)


def extended_vocabulary(vocabulary: encoding.Vocabulary, tokens: Iterable[str]) -> tuple[encoding.Vocabulary, list[str]]:
    """The vocabulary with every unknown token appended in first-seen order (old ids unchanged), and the added tokens."""
    added = list(dict.fromkeys(token for token in tokens if token not in vocabulary))
    return encoding.Vocabulary([*vocabulary.tokens, *added]), added


def extended_rows(matrix: np.ndarray, vocabulary: encoding.Vocabulary, added: Sequence[str]) -> tuple[np.ndarray, int]:
    """``matrix`` with one row per added token: its lower-case form's row when known, else the mean known row.

    Returns the matrix and how many rows came from a lower-case form.
    """
    matrix = np.asarray(matrix)
    known = matrix[_SPECIAL_ROWS:] if len(matrix) > _SPECIAL_ROWS else matrix[-1:]
    mean = known.mean(axis=0)
    rows, from_lower = [], 0
    for token in added:
        lower = token.lower()
        if lower != token and lower in vocabulary:
            rows.append(matrix[vocabulary.index(lower)])
            from_lower += 1
        else:
            rows.append(mean)
    if not rows:
        return matrix.copy(), 0
    return np.concatenate([matrix, np.asarray(rows, dtype=matrix.dtype)]), from_lower


def check_fits(parent: ParentRun, *, tag_names: Iterable[str], embedding_dim: int | None = None) -> None:
    """A WarmStartError unless the parent predicts every tag in ``tag_names`` and has ``embedding_dim`` (when given)."""
    if embedding_dim is not None and embedding_dim != parent.embedding_dim:
        raise WarmStartError(
            f"the embedding size is {embedding_dim} but run {parent.run_id} has {parent.embedding_dim}; "
            "a warm start keeps the parent's size."
        )
    unknown = sorted(set(tag_names) - set(parent.features.tag_vocab.tokens))
    if unknown:
        raise WarmStartError(f"run {parent.run_id} never learned the tag(s) {', '.join(unknown)}; retrain in full to add a tag.")


def prepare(
    parent: ParentRun,
    definition: ModelDefinition,
    *,
    new_sentences: Sequence,
    tag_names: Iterable[str],
    embedding_dim: int | None = None,
) -> WarmStart:
    """The parent's network rebuilt with room for ``new_sentences``' words (and characters), weights copied.

    ``tag_names`` are every tag the run will train on; each must be one the parent predicts.
    ``embedding_dim``, when given, must be the parent's (the rows are copied, not resized).
    """
    check_fits(parent, tag_names=tag_names, embedding_dim=embedding_dim)
    old = parent.features
    keys = [encoding.normalise_word(w) if old.normalise_words else w for s in new_sentences for w in s.words]
    word_vocab, new_words = extended_vocabulary(old.word_vocab, keys)
    char_vocab, new_chars = (None, [])
    if old.uses_chars:
        char_vocab, new_chars = extended_vocabulary(old.char_vocab, (ch for s in new_sentences for w in s.words for ch in w))
    features = encoding.FeatureEncoder(
        word_vocab, old.tag_vocab, uses_chars=old.uses_chars, char_vocab=char_vocab, normalise_words=old.normalise_words
    )
    dims = ModelDimensions(
        vocab_size=len(word_vocab),
        num_tags=len(old.tag_vocab),
        embedding_dim=parent.embedding_dim,
        char_vocab_size=len(char_vocab) if char_vocab is not None else 0,
        max_word_length=encoding.MAX_WORD_LENGTH,
    )
    model = definition.build(dims)
    from_lower = _copy_weights(parent, model, old, new_words, new_chars)
    return WarmStart(parent, model, features, new_words, new_chars, from_lower)


def _copy_weights(parent: ParentRun, model, old: encoding.FeatureEncoder, new_words, new_chars) -> int:
    """Every layer's weights from the parent's layer of the same name; the two embeddings grown first."""
    from_lower = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        try:
            weights = parent.model.get_layer(layer.name).get_weights()
        except ValueError:
            raise WarmStartError(f"run {parent.run_id} has no layer {layer.name!r}; it was built by another version.") from None
        if layer.name == "embedding":
            weights[0], from_lower = extended_rows(weights[0], old.word_vocab, new_words)
        elif layer.name == "char_encoder":
            weights[0], _ = extended_rows(weights[0], old.char_vocab, new_chars)
        try:
            layer.set_weights(weights)
        except ValueError as exc:
            raise WarmStartError(f"run {parent.run_id}: layer {layer.name!r} does not fit ({exc}).") from None
    return from_lower
