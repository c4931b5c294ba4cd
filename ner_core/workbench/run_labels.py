"""What a run is called wherever one is picked: its name and tags, model, dataset, date and entity F1.

Run ids (``model2-20250101-120000-ab12``) say neither what a run was trained on nor how good it
is, and two runs of one model look alike. Every run picker shows :func:`run_labels` instead:

``lr sweep best · model2 · bundled sample · 2025-01-01 12:00 · F1 0.812 · #gmb #lr``

The name and tags are the analyst's (stored on the run, edited in the Training runs page);
:func:`cleaned_name_and_tags` checks them before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from ner_core.errors import RunLabelError
from ner_core.settings import SAMPLE_DATA_PATH

SEPARATOR = " · "
MAX_NAME_CHARS = 80
MAX_TAGS = 10
MAX_TAG_CHARS = 32
DATE_FORMAT = "%Y-%m-%d %H:%M"


def run_name(run) -> str | None:
    """The analyst's name for the run, or None (rows from before names existed have no attribute)."""
    return getattr(run, "name", None) or None


def run_tags(run) -> list[str]:
    """The analyst's tags of a run; an unreadable stored value counts as no tags rather than hiding the run."""
    stored = getattr(run, "tags_json", None)
    if not stored:
        return []
    try:
        tags = json.loads(stored)
    except ValueError:
        return []
    return [str(tag) for tag in tags] if isinstance(tags, list) else []


def path_key(path: str | Path) -> str:
    """How a dataset path is looked up in a names mapping: absolute and resolved, so ``./x.csv`` finds ``x.csv``."""
    return str(Path(path).expanduser().resolve())


def dataset_names(store, settings) -> dict[str, str]:
    """What the app calls each dataset, by sha256 or :func:`path_key`: the bundled sample, the configured
    corpus's file name, an upload's original name (its stored file is named by checksum)."""
    names = {path_key(SAMPLE_DATA_PATH): "bundled sample"}
    if settings.corpus_path is not None:
        names[path_key(settings.corpus_path)] = settings.corpus_path.name
    for dataset in store.list_datasets():
        names[dataset.sha256] = dataset.name
    return names


def dataset_name(run, names: Mapping[str, str] | None = None) -> str:
    """A short name for the dataset a run was trained on.

    ``names`` maps a dataset's sha256 or :func:`path_key` to the name the app gives it (an upload's
    original file name, "bundled sample"); otherwise the file name of the path the run recorded.
    """
    names = names or {}
    sha256 = getattr(run, "dataset_sha256", "") or ""
    path = getattr(run, "dataset_path", "") or (run.config or {}).get("dataset") or ""
    if sha256 and sha256 in names:
        return names[sha256]
    if path and path_key(path) in names:
        return names[path_key(path)]
    return Path(path).name if path else "unknown dataset"


def run_label(run, names: Mapping[str, str] | None = None) -> str:
    """Name (when given), model, dataset, creation time (UTC), entity F1 (when scored) and tags."""
    parts = [run_name(run), run.model_name, dataset_name(run, names)]
    created = getattr(run, "created_at", None)
    parts.append(created.strftime(DATE_FORMAT) if created is not None else None)
    f1 = (getattr(run, "metrics", None) or {}).get("entity_f1")
    parts.append(f"F1 {f1:.3f}" if isinstance(f1, (int, float)) else None)
    tags = run_tags(run)
    parts.append(" ".join(f"#{tag}" for tag in tags) if tags else None)
    return SEPARATOR.join(part for part in parts if part)


def short_label(run) -> str:
    """A few words for a table header: the run's name, else its model and creation time (``model2 03-04 05:06``)."""
    created = getattr(run, "created_at", None)
    return run_name(run) or " ".join(part for part in (run.model_name, created and created.strftime("%m-%d %H:%M")) if part)


def run_labels(runs: Iterable, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Run id -> label for a picker; two runs that would read the same also show their id's last part."""
    labels = {run.id: run_label(run, names) for run in runs}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {run_id: f"{label} ({run_id.rsplit('-', 1)[-1]})" if counts[label] > 1 else label for run_id, label in labels.items()}


def cleaned_name_and_tags(name: str, tags_text: str) -> tuple[str | None, list[str]]:
    """A typed name and comma-separated tags as they are stored, or RunLabelError saying what to change.

    Whitespace runs collapse to one space (a name stays one line in a picker), a leading ``#`` on a
    tag is dropped (labels add it), and a tag repeated in another case counts once.
    """
    cleaned_name = " ".join(str(name).split()) or None
    if cleaned_name is not None and len(cleaned_name) > MAX_NAME_CHARS:
        raise RunLabelError(f"a run name may have at most {MAX_NAME_CHARS} characters, this one has {len(cleaned_name)}.")
    tags: list[str] = []
    for piece in str(tags_text).split(","):
        tag = " ".join(piece.split()).lstrip("#").strip()
        if not tag or tag.lower() in {t.lower() for t in tags}:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise RunLabelError(f"a tag may have at most {MAX_TAG_CHARS} characters: {tag[:MAX_TAG_CHARS]}... is longer.")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise RunLabelError(f"a run may have at most {MAX_TAGS} tags, {len(tags)} were given; separate tags with commas.")
    return cleaned_name, tags


def rename_run(store, run_id: str, *, name: str, tags_text: str) -> tuple[str | None, list[str]]:
    """Check, then store a run's name and tags in one transaction; nothing is written when either is refused."""
    cleaned_name, tags = cleaned_name_and_tags(name, tags_text)
    store.set_run_name_and_tags(run_id, name=cleaned_name, tags=tags)
    return cleaned_name, tags
