"""Rebuild a run's test split from its recorded dataset and seed, refusing if the
dataset file changed since the run was trained (its sha256 or size differ), so a
score is never silently computed on different sentences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ner_core.corpus import annotated, reading, splitting
from ner_core.errors import DataFormatError
from ner_core.settings import PROJECT_ROOT
from ner_core.training import run_folder

# --------------------------------------------------------------------------
# A run's test split and the sentences behind a confusion cell
# --------------------------------------------------------------------------


def _dataset_path(source: str) -> Path:
    """A run records the path it was given; a relative one is tried from the project root too."""
    path = Path(source).expanduser()
    if not path.exists() and not path.is_absolute() and (PROJECT_ROOT / path).exists():
        return PROJECT_ROOT / path
    return path


def test_split_for_run(run_dir: str | Path) -> list[annotated.Sentence]:
    """The test sentences a run was scored on, rebuilt from its ``config.json``.

    The dataset is read again and split with the run's seed; the file must be
    byte-identical (same sha256) to what the run was trained on, else the split
    would silently differ from the one behind the stored metrics.
    """
    return splits_for_run(run_dir).test


def splits_for_run(run_dir: str | Path) -> annotated.DatasetSplits:
    """A run's train/validation/test split rebuilt as :func:`test_split_for_run` rebuilds its test split
    (the annotation queue offers the validation split; the test split stays for scoring)."""
    folder = run_folder.RunFolder(Path(run_dir))
    config = folder.read_json(run_folder.CONFIG_FILE)
    dataset = config.get("dataset") or {}
    train_config = config.get("train_config") or {}
    source, recorded_sha = dataset.get("source"), dataset.get("sha256")
    if not source or not recorded_sha:
        raise DataFormatError(f"run {folder.run_id}: config.json does not record its dataset, so its split cannot be rebuilt.")
    path = _dataset_path(source)
    if not path.is_file():
        raise DataFormatError(
            f"run {folder.run_id} was trained on {source}, which no longer exists; "
            "restore that file to see its held-out sentences."
        )
    corpus = reading.load_corpus(path, repair_iob=bool(train_config.get("repair_iob", False)))
    if corpus.sha256 != recorded_sha:
        raise DataFormatError(
            f"{source} has changed since run {folder.run_id} was trained on it "
            f"(sha256 {recorded_sha[:12]}... then, {corpus.sha256[:12]}... now); "
            "restore the original file to see its held-out sentences."
        )
    splits = splitting.split_corpus(corpus.sentences, seed=int(train_config.get("seed", splitting.DEFAULT_SEED)))
    expected = dataset.get("test")
    if expected is not None and int(expected) != len(splits.test):
        raise DataFormatError(
            f"run {folder.run_id}: the rebuilt test split has {len(splits.test)} sentences "
            f"but the run recorded {expected}; it cannot be reproduced."
        )
    return splits


test_split_for_run.__test__ = False  # a name pytest would otherwise collect where it is imported


@dataclass(frozen=True)
class SplitIdentity:
    """What fixes a run's test split, and so whether two runs' scores can be ranked against each other.

    The same bytes (``dataset``: the file's sha256, or its path when a run recorded no checksum),
    split with the same ``seed`` (:func:`ner_core.corpus.splitting.split_corpus`), with stray I- tags
    repaired or not (``repair_iob`` changes the gold tags the run is scored against).
    """

    dataset: str
    seed: int
    repair_iob: bool


def split_identity(dataset_sha256: str, dataset_path: str, train_config: Mapping) -> SplitIdentity:
    """The split of a run trained on ``dataset_sha256`` (or ``dataset_path``) with ``train_config`` (a TrainConfig dict)."""
    return SplitIdentity(
        dataset=dataset_sha256 or (str(Path(dataset_path).expanduser().resolve()) if dataset_path else ""),
        seed=int(train_config.get("seed", splitting.DEFAULT_SEED)),
        repair_iob=bool(train_config.get("repair_iob", False)),
    )
