"""What the retrain page computes besides the comparison: the configuration of a warm start or a full
retrain, the annotations it will use, and a run's lineage (parent, dataset, annotations, changed since?).

Which annotations a retrain uses is decided in one place,
:func:`ner_core.workbench.saved_annotations.training_annotations`; this module never reads them another way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pandas

from ner_core.errors import ConfigError, LineageError
from ner_core.training import config, lineage
from ner_core.workbench.saved_annotations import training_annotations

WARM_START, FULL_RETRAIN = "warm", "full"
RETRAIN_MODES = {WARM_START: "Warm start (fast)", FULL_RETRAIN: "Full retrain"}
# The warm-start preset, tried on GMB with model2 and 25 corrections: the first epoch over the whole training
# split (the corrections repeated 10 times, the parent's learning rate) raised validation entity F1 and
# taught the model 21 of the 25 corrected sentences; a second epoch lowered it in both trials (at the
# parent's rate and at half of it), so two epochs with early stopping after one without improvement keep
# the better of the two. Rehearsing on only the first 10,000 training sentences halved the time but cost
# 0.004 entity F1 against the parent, so the whole split is kept. bench/retrain_warm_start.py measures the
# preset against a full retrain.
WARM_START_EPOCHS = 2
WARM_START_PATIENCE = 1
WARM_START_ANNOTATION_WEIGHT = 10


def current_annotations(store) -> lineage.AnnotationLineage:
    """The annotations a retrain started now would learn from, with their checksums."""
    return lineage.AnnotationLineage.of(training_annotations(store))


def retrain_config(parent, mode: str, *, epochs: int | None = None, annotation_weight: int | None = None) -> config.TrainConfig:
    """The parent's configuration (same dataset and seed, hence the same test split) set up for ``mode``.

    A full retrain starts from random weights with the parent's settings; a warm start continues from the
    parent's weights for :data:`WARM_START_EPOCHS` epochs with the annotations repeated
    :data:`WARM_START_ANNOTATION_WEIGHT` times. ``epochs`` and ``annotation_weight`` override either.
    """
    if mode not in RETRAIN_MODES:
        raise ConfigError(f"unknown retrain mode {mode!r}; one of: {', '.join(RETRAIN_MODES)}.")
    base = config.TrainConfig.from_dict(parent.config)
    if mode == FULL_RETRAIN:
        values = dict(warm_start_from=None, annotation_weight=1 if annotation_weight is None else annotation_weight)
    else:
        values = dict(
            warm_start_from=parent.run_dir or parent.id,  # the folder: found from any models folder
            epochs=WARM_START_EPOCHS,
            patience=WARM_START_PATIENCE,
            annotation_weight=WARM_START_ANNOTATION_WEIGHT if annotation_weight is None else annotation_weight,
        )
    if epochs is not None:
        values["epochs"] = epochs
    return dataclasses.replace(base, **values)


def submit_retrain(runner, parent, mode: str, annotations: lineage.AnnotationLineage, **overrides):
    """Queue the retrain of ``parent`` with ``annotations`` on the job runner; returns the job."""
    if not len(annotations):
        raise ConfigError("there are no saved annotations to retrain with; save at least one correction first.")
    label = f"{parent.model_name} + {len(annotations)} annotations ({RETRAIN_MODES[mode].lower()})"
    return runner.submit(retrain_config(parent, mode, **overrides), parent_run_id=parent.id, annotations=annotations, label=label)


def children_of(parent, runs: Sequence) -> list:
    """The runs retrained from ``parent``, in the order given (newest first from the store)."""
    return [run for run in runs if run.parent_run_id == parent.id]


def retrain_mode(run) -> str:
    """How a run was trained: :data:`WARM_START` or :data:`FULL_RETRAIN`."""
    return WARM_START if run.config.get("warm_start_from") else FULL_RETRAIN


# --------------------------------------------------------------------------- lineage


@dataclass(frozen=True)
class RunLineage:
    """Where a run came from: parent, dataset, how it trained and the exact annotations it used."""

    run_id: str
    parent_run_id: str | None
    dataset: str
    dataset_sha256: str
    mode: str
    annotations: lineage.AnnotationLineage | None  # None: trained without annotations (or before they were recorded)
    check: lineage.LineageCheck | None  # the annotations stored now against the ones used
    same_as_now: bool | None  # would a retrain started now use exactly these annotations?

    def trained_by(self) -> str:
        if self.mode == WARM_START:
            return RETRAIN_MODES[WARM_START].lower()
        return RETRAIN_MODES[FULL_RETRAIN].lower() if self.parent_run_id else "training from random weights"

    def facts(self) -> dict[str, str]:
        """Label -> value, as the page lists them."""
        used = self.annotations
        return {
            "run": self.run_id,
            "parent run": self.parent_run_id or "none",
            "dataset": self.dataset,
            "dataset sha256": self.dataset_sha256 or "not recorded",
            "trained by": self.trained_by(),
            "annotations used": f"{len(used)} (checksum {used.checksum[:16]})" if used is not None else "none recorded",
        }


def run_lineage(store, run) -> RunLineage:
    """A run's lineage from its folder's ``annotations.json``, checked against the store's record of it."""
    used = lineage.read_lineage(run.run_dir) if run.run_dir else None
    stored = lineage.stored_lineage(store, run.id)
    if used is not None and stored is not None and used.checksum != stored.checksum:
        raise LineageError(
            f"run {run.id}: its annotations.json and the store disagree about the annotations it used "
            f"({used.checksum[:12]}... against {stored.checksum[:12]}...)."
        )
    record = used if used is not None else stored
    check = lineage.check_lineage(record, store.list_annotations()) if record is not None else None
    same_as_now = current_annotations(store).checksum == record.checksum if record is not None else None
    return RunLineage(
        run_id=run.id,
        parent_run_id=run.parent_run_id,
        dataset=str(run.config.get("dataset") or run.dataset_path or ""),
        dataset_sha256=run.dataset_sha256 or "",
        mode=retrain_mode(run),
        annotations=used,
        check=check,
        same_as_now=same_as_now,
    )


def lineage_frame(record: RunLineage) -> pandas.DataFrame:
    """One row per annotation the run used: id, analyst, version, whether it is still stored so, checksum, text."""
    columns = ["id", "analyst", "version used", "now", "checksum", "text"]
    if record.annotations is None:
        return pandas.DataFrame(columns=columns)
    check = record.check
    status = {}
    if check is not None:
        status = {i: "unchanged" for i in check.unchanged} | {i: "edited" for i in check.edited}
        status |= {i: "deleted" for i in check.deleted}
    rows = [
        {
            "id": item.id,
            "analyst": item.analyst,
            "version used": item.updated_at,
            "now": status.get(item.id, ""),
            "checksum": item.checksum[:16],
            "text": item.text,
        }
        for item in record.annotations.annotations
    ]
    return pandas.DataFrame(rows, columns=columns)
