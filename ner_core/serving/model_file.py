"""Loading a run's ``model.keras`` and vocabularies: a missing, truncated or tampered file becomes a
``ModelLoadError`` that says which, instead of the misleading exception Keras raises for each kind of damage.

The predictor and the warm start both load a saved run through :func:`load_run_model`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ner_core.errors import ModelLoadError
from ner_core.modeling import encoding
from ner_core.training import run_folder


def load_keras_model(path: Path, run_id: str = ""):
    """Load a ``.keras`` file with our custom layers registered; corrupt files become ModelLoadError."""
    import keras

    if not Path(path).exists():
        raise ModelLoadError(f"run {run_id}: {Path(path).name} is missing.")
    damage = _archive_damage(Path(path))
    if damage:
        # Keras reports a damaged archive as "File not found", which sends users looking for a file that exists.
        raise ModelLoadError(
            f"run {run_id}: {Path(path).name} cannot be loaded: it is damaged ({damage}); retrain the run or restore the file."
        )
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged zip/h5
        raise ModelLoadError(
            f"run {run_id}: the model file cannot be loaded ({exc.__class__.__name__}: {str(exc)[:200]})."
        ) from None


def _archive_damage(path: Path) -> str | None:
    """Why a ``.keras`` file (a zip archive) is not a whole archive, or None when it is."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"not a complete zip archive, truncated or overwritten: {exc}"
    return f"member {broken} fails its checksum" if broken else None


def load_run_model(folder: run_folder.RunFolder, config: dict):
    """(the Keras model, its FeatureEncoder) of a complete run folder whose ``config.json`` is ``config``;
    corrupt vocabularies and a model whose output does not match its tag vocabulary are ModelLoadErrors."""
    try:
        word_vocab = encoding.Vocabulary.load(folder.file(run_folder.WORD_VOCAB_FILE))
        tag_vocab = encoding.Vocabulary.load(folder.file(run_folder.TAG_VOCAB_FILE))
        char_path = folder.file(run_folder.CHAR_VOCAB_FILE)
        char_vocab = encoding.Vocabulary.load(char_path) if char_path.exists() else None
    except (ValueError, OSError) as exc:
        raise ModelLoadError(f"run {folder.run_id}: a vocabulary file is corrupt ({exc}).") from None
    model = load_keras_model(folder.file(run_folder.MODEL_FILE), folder.run_id)
    features = encoding.FeatureEncoder(
        word_vocab,
        tag_vocab,
        uses_chars=char_vocab is not None,
        char_vocab=char_vocab,
        normalise_words=bool(config.get("normalise_words", False)),
    )
    output_units = model.outputs[0].shape[-1]
    if output_units != len(tag_vocab):
        raise ModelLoadError(
            f"run {folder.run_id}: the model predicts {output_units} tags but tag_vocab.json has {len(tag_vocab)}."
        )
    return model, features
