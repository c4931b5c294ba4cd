"""The exact annotations a retrained run learned from: what they were, where that is recorded, whether they changed.

Annotations are edited after a retrain (an analyst fixes a tag, another one adjudicates), so "trained
on the saved annotations" does not say what a run saw. A retrain therefore records, with the run:

- in its folder, ``annotations.json``: every annotation used (id, analyst, version time, text, tokens,
  tags) with a sha256 of its content, and one checksum over all of them, so the run can be reproduced
  from the folder alone even after the annotations were edited or deleted;
- in the store, the tables ``run_annotation_sets`` and ``run_annotations``: the same ids and
  checksums, so the lineage shows (and a comparison can exclude the right sentences) without reading
  the folder.

:func:`check_lineage` says whether the annotations stored now are still the versions a run used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ner_core.corpus import annotated
from ner_core.errors import LineageError, ModelLoadError
from ner_core.modeling.encoding import write_json_atomic
from ner_core.store.tables import RunAnnotation, RunAnnotationSet
from ner_core.training import run_folder

ANNOTATIONS_FILE = "annotations.json"
FORMAT_VERSION = 1


def content_checksum(tokens: Sequence[str], tags: Sequence[str]) -> str:
    """sha256 of what training reads from an annotation: its tokens and their tags, as canonical JSON."""
    payload = json.dumps({"tokens": list(tokens), "tags": list(tags)}, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def combined_checksum(checksums_by_id: Iterable[tuple[int, str]]) -> str:
    """One sha256 over every (id, content checksum) pair in id order: equal exactly when the same versions were used."""
    lines = "".join(f"{int(annotation_id)}:{checksum}\n" for annotation_id, checksum in sorted(checksums_by_id))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UsedAnnotation:
    """One annotation as a retrain used it."""

    id: int
    checksum: str
    text: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    analyst: str = ""
    updated_at: str = ""  # ISO time of the version used

    @classmethod
    def of(cls, annotation) -> UsedAnnotation:
        """From a stored annotation (``ner_core.store.tables.Annotation`` or anything with its fields)."""
        tokens, tags = tuple(annotation.tokens), tuple(annotation.tags)
        updated = getattr(annotation, "updated_at", None)
        return cls(
            id=int(annotation.id),
            checksum=content_checksum(tokens, tags),
            text=str(annotation.text),
            tokens=tokens,
            tags=tags,
            analyst=str(getattr(annotation, "analyst", "") or ""),
            updated_at=updated.isoformat() if isinstance(updated, dt.datetime) else str(updated or ""),
        )

    def sentence(self) -> annotated.Sentence:
        """The training sentence: the analyst's tags, numbered by the annotation id."""
        return annotated.Sentence(list(self.tokens), list(self.tags), None, number=self.id)


@dataclass(frozen=True)
class AnnotationLineage:
    """The annotations one retrain used, in id order."""

    annotations: tuple[UsedAnnotation, ...]

    @classmethod
    def of(cls, annotations: Iterable) -> AnnotationLineage:
        used = sorted((UsedAnnotation.of(annotation) for annotation in annotations), key=lambda item: item.id)
        ids = [item.id for item in used]
        if len(set(ids)) != len(ids):
            raise LineageError("the same annotation id appears twice in one retrain's annotations.")
        return cls(tuple(used))

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(item.id for item in self.annotations)

    @property
    def checksum(self) -> str:
        return combined_checksum((item.id, item.checksum) for item in self.annotations)

    def __len__(self) -> int:
        return len(self.annotations)

    def sentences(self) -> list[annotated.Sentence]:
        return [item.sentence() for item in self.annotations]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "checksum": self.checksum,
            "count": len(self.annotations),
            "annotations": [
                {
                    "id": item.id,
                    "checksum": item.checksum,
                    "analyst": item.analyst,
                    "updated_at": item.updated_at,
                    "text": item.text,
                    "tokens": list(item.tokens),
                    "tags": list(item.tags),
                }
                for item in self.annotations
            ],
        }

    @classmethod
    def from_dict(cls, payload: dict, *, source: str = ANNOTATIONS_FILE) -> AnnotationLineage:
        """Inverse of :meth:`to_dict`; content that no longer matches its recorded checksums raises LineageError."""
        try:
            items = tuple(
                UsedAnnotation(
                    id=int(item["id"]),
                    checksum=str(item["checksum"]),
                    text=str(item["text"]),
                    tokens=tuple(str(token) for token in item["tokens"]),
                    tags=tuple(str(tag) for tag in item["tags"]),
                    analyst=str(item.get("analyst", "")),
                    updated_at=str(item.get("updated_at", "")),
                )
                for item in payload["annotations"]
            )
            recorded = str(payload["checksum"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LineageError(f"{source} is not a list of annotations ({exc.__class__.__name__}: {exc}).") from None
        altered = [item.id for item in items if content_checksum(item.tokens, item.tags) != item.checksum]
        if altered:
            raise LineageError(f"{source}: annotation {altered[0]} does not match its checksum; the file was edited.")
        lineage = cls(tuple(sorted(items, key=lambda item: item.id)))
        if lineage.checksum != recorded:
            raise LineageError(f"{source}: the checksum over all annotations does not match; the file was edited.")
        return lineage


# --------------------------------------------------------------------------- the run folder


def write_lineage(folder: run_folder.RunFolder, lineage: AnnotationLineage) -> Path:
    path = folder.file(ANNOTATIONS_FILE)
    write_json_atomic(path, lineage.to_dict())
    return path


def read_lineage(run_dir: str | Path) -> AnnotationLineage | None:
    """The annotations a run trained on, from its folder; None for a run trained without annotations."""
    folder = run_folder.RunFolder(Path(run_dir))
    if not folder.file(ANNOTATIONS_FILE).exists():
        return None
    try:
        payload = folder.read_json(ANNOTATIONS_FILE)
    except ModelLoadError as exc:
        raise LineageError(exc.message) from None
    return AnnotationLineage.from_dict(payload, source=f"run {folder.run_id}: {ANNOTATIONS_FILE}")


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class StoredLineage:
    """A run's lineage as the store holds it: the checksum over all, and each annotation's id and checksum."""

    run_id: str
    checksum: str
    checksums_by_id: dict[int, str]


def record_lineage(store, run_id: str, lineage: AnnotationLineage) -> None:
    """Write the run's annotation set and one row per annotation in one transaction (replacing any earlier record)."""

    def work(session) -> None:
        session.execute(sa.delete(RunAnnotation).where(RunAnnotation.run_id == run_id))
        session.execute(sa.delete(RunAnnotationSet).where(RunAnnotationSet.run_id == run_id))
        session.add(RunAnnotationSet(run_id=run_id, checksum=lineage.checksum, annotation_count=len(lineage)))
        session.add_all(
            RunAnnotation(run_id=run_id, annotation_id=item.id, checksum=item.checksum) for item in lineage.annotations
        )

    store.write(work)


def stored_lineage(store, run_id: str) -> StoredLineage | None:
    """What the store recorded for a run; None when it trained without annotations."""
    with store.session() as session:
        head = session.get(RunAnnotationSet, run_id)
        if head is None:
            return None
        rows = session.scalars(sa.select(RunAnnotation).where(RunAnnotation.run_id == run_id))
        checksums = {row.annotation_id: row.checksum for row in rows}
    if len(checksums) != head.annotation_count or combined_checksum(checksums.items()) != head.checksum:
        raise LineageError(f"run {run_id}: the store's record of its annotations is incomplete or altered.")
    return StoredLineage(run_id, head.checksum, checksums)


def runs_trained_on(store, annotation_id: int) -> list[str]:
    """Ids of the runs whose training used this annotation (any version of it)."""
    with store.session() as session:
        query = sa.select(RunAnnotation.run_id).where(RunAnnotation.annotation_id == int(annotation_id))
        query = query.order_by(RunAnnotation.id)
        return list(dict.fromkeys(session.scalars(query)))


# --------------------------------------------------------------------------- still the same annotations?


@dataclass(frozen=True)
class LineageCheck:
    """How the annotations a run used compare with the ones stored now."""

    unchanged: tuple[int, ...]
    edited: tuple[int, ...]  # stored now with other tokens or tags
    deleted: tuple[int, ...]  # no longer stored

    @property
    def matches(self) -> bool:
        return not self.edited and not self.deleted

    def summary(self) -> str:
        if self.matches:
            return f"All {len(self.unchanged)} annotation(s) the run used are stored unchanged."
        parts = [f"{len(self.unchanged)} unchanged"]
        if self.edited:
            parts.append(f"{len(self.edited)} edited since ({', '.join(f'#{i}' for i in self.edited)})")
        if self.deleted:
            parts.append(f"{len(self.deleted)} deleted ({', '.join(f'#{i}' for i in self.deleted)})")
        return "The annotations have changed since the run trained: " + ", ".join(parts) + "."


def check_lineage(used: AnnotationLineage | StoredLineage, current: Iterable) -> LineageCheck:
    """Compare what a run used with ``current``, the annotations stored now (objects with ``id``, ``tokens``, ``tags``)."""
    used_checksums = (
        used.checksums_by_id if isinstance(used, StoredLineage) else {item.id: item.checksum for item in used.annotations}
    )
    now = {int(annotation.id): content_checksum(annotation.tokens, annotation.tags) for annotation in current}
    unchanged, edited, deleted = [], [], []
    for annotation_id, checksum in sorted(used_checksums.items()):
        if annotation_id not in now:
            deleted.append(annotation_id)
        elif now[annotation_id] != checksum:
            edited.append(annotation_id)
        else:
            unchanged.append(annotation_id)
    return LineageCheck(tuple(unchanged), tuple(edited), tuple(deleted))
