"""Loading a run's ``model.keras``: a missing, truncated or tampered file becomes a ``ModelLoadError`` that
says which, instead of the misleading exception Keras raises for each kind of damage."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ner_core.errors import ModelLoadError


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
