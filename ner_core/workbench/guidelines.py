"""Annotation guidelines per dataset: Markdown the team writes, kept with every earlier version.

Keyed by the dataset's sha256 (the checksum a run records), so the guidelines follow the data and not
a file name; an upload of the same file under another name finds them. Saving adds a version with its
editor and time, the newest is current, and earlier ones stay readable, as in a wiki's history.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from ner_core.errors import GuidelinesError
from ner_core.store.database import Store
from ner_core.store.tables import AnnotationGuidelines

MAX_GUIDELINES_CHARS = 50_000
MAX_EDITOR_CHARS = 128
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _require_dataset(dataset_sha256: str) -> str:
    if not isinstance(dataset_sha256, str) or not _SHA256.fullmatch(dataset_sha256):
        raise GuidelinesError("choose a dataset first; guidelines are kept per dataset checksum (sha256).")
    return dataset_sha256


def save_guidelines(store: Store, *, dataset_sha256: str, markdown: str, editor: str) -> int:
    """Store a new version of the dataset's guidelines; returns its id. An unchanged text adds nothing."""
    sha = _require_dataset(dataset_sha256)
    name = (editor or "").strip()
    if not name:
        raise GuidelinesError("enter your name before saving the guidelines; every version records who wrote it.")
    if len(name) > MAX_EDITOR_CHARS:
        raise GuidelinesError(f"the editor name is longer than {MAX_EDITOR_CHARS} characters.")
    if not isinstance(markdown, str) or len(markdown) > MAX_GUIDELINES_CHARS:
        size = len(markdown) if isinstance(markdown, str) else 0
        raise GuidelinesError(f"the guidelines are {size:,} characters; the limit is {MAX_GUIDELINES_CHARS:,}.")
    current = current_guidelines(store, sha)
    if current is not None and current.markdown == markdown:
        return current.id

    def work(session) -> int:
        version = AnnotationGuidelines(dataset_sha256=sha, markdown=markdown, editor=name)
        session.add(version)
        session.flush()
        return version.id

    return store.write(work)


def current_guidelines(store: Store, dataset_sha256: str) -> AnnotationGuidelines | None:
    """The newest version for the dataset, or None when the team has written none."""
    return next(iter(guideline_history(store, dataset_sha256, limit=1)), None)


def guideline_history(store: Store, dataset_sha256: str, *, limit: int | None = None) -> list[AnnotationGuidelines]:
    """Every saved version for the dataset, newest first."""
    query = (
        sa.select(AnnotationGuidelines)
        .where(AnnotationGuidelines.dataset_sha256 == dataset_sha256)
        .order_by(AnnotationGuidelines.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        return list(session.scalars(query))


def known_datasets(store: Store) -> dict[str, str]:
    """sha256 -> a label for every dataset the workbench knows (uploads by name, then the data runs were
    trained on by file name), so the team can write guidelines for any of them."""
    labels: dict[str, str] = {}
    for dataset in store.list_datasets():
        labels.setdefault(dataset.sha256, f"{dataset.name} ({dataset.sha256[:8]})")
    for run in store.list_runs():
        if run.dataset_sha256 and _SHA256.fullmatch(run.dataset_sha256):
            name = Path(run.dataset_path).name if run.dataset_path else "dataset"
            labels.setdefault(run.dataset_sha256, f"{name} ({run.dataset_sha256[:8]})")
    return labels


_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def demote_headings(markdown: str, levels: int = 3) -> str:
    """The guidelines with every ATX heading ``levels`` smaller (at most ``######``), code blocks untouched.

    Teams write guidelines as documents, starting with ``# Title``; beside the queue they share a column a
    third of the page wide, where a top-level heading takes three lines of giant type. Demoting keeps the
    document's outline and leaves the text itself as written.
    """
    lines, fence = [], None
    for line in markdown.splitlines(keepends=True):
        opening = _FENCE.match(line)
        if opening:
            marker = opening.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        elif fence is None and (heading := _HEADING.match(line)):
            line = heading.group(1) + "#" * min(6, len(heading.group(2)) + levels) + line[heading.end() :]
        lines.append(line)
    return "".join(lines)
