"""Saved annotations as the analyst lists them, as files taken elsewhere (CoNLL, GMB CSV) and as the
sentences a retrain learns from: always the corrected tags, never the model's originals."""

from __future__ import annotations

from collections.abc import Iterable

from ner_core.corpus import annotated, writing
from ner_core.errors import ConfigError
from ner_core.store.database import Store
from ner_core.store.tables import Annotation


def annotation_to_sentence(annotation: Annotation) -> annotated.Sentence:
    """A saved annotation as a training/export sentence (its tags are the corrected ones)."""
    return annotated.Sentence(list(annotation.tokens), list(annotation.tags), None, number=int(annotation.id or 0))


def annotations_to_sentences(annotations: Iterable[Annotation]) -> list[annotated.Sentence]:
    return [annotation_to_sentence(annotation) for annotation in annotations]


def training_annotations(store: Store) -> list[Annotation]:
    """The annotations a retrain learns from: one per sentence text, the most recently updated.

    The one place that decides which saved version of a sentence counts, so retraining, its
    lineage and the leak check all agree (adjudication between analysts changes only this).
    """
    latest: dict[str, Annotation] = {}
    for annotation in store.list_annotations():
        kept = latest.get(annotation.text)
        if kept is None or (annotation.updated_at, annotation.id) >= (kept.updated_at, kept.id):
            latest[annotation.text] = annotation
    return sorted(latest.values(), key=lambda annotation: annotation.id)


def annotations_to_conll(annotations: Iterable[Annotation]) -> str:
    """CoNLL: ``token<TAB>tag`` per line, a blank line between sentences."""
    sentences = annotations_to_sentences(annotations)
    return writing.corpus_to_conll(sentences) if sentences else ""


def annotations_to_csv(annotations: Iterable[Annotation]) -> str:
    """The GMB CSV layout (``Sentence #, Word, POS, Tag``), readable by the Data explorer and training."""
    return writing.corpus_to_gmb_csv(annotations_to_sentences(annotations))


# Export format -> (writer, file name, MIME type).
EXPORT_FORMATS = {
    "CoNLL": (annotations_to_conll, "annotations.conll", "text/plain"),
    "GMB CSV": (annotations_to_csv, "annotations.csv", "text/csv"),
}


def export(annotations: Iterable[Annotation], fmt: str) -> tuple[str, str, str]:
    """(content, file name, MIME type) of the annotations in one of :data:`EXPORT_FORMATS`."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; one of: {', '.join(EXPORT_FORMATS)}.")
    writer, name, mime = EXPORT_FORMATS[fmt]
    return writer(annotations), name, mime


def changed_positions(annotation: Annotation) -> list[int]:
    """Token positions where the analyst's tag differs from the model's."""
    return [i for i, (old, new) in enumerate(zip(annotation.original_tags, annotation.tags)) if old != new]


def annotation_records(annotations: Iterable[Annotation]) -> list[dict]:
    """One row per saved annotation for listing."""
    return [
        {
            "id": annotation.id,
            "analyst": annotation.analyst,
            "source": annotation.source,
            "text": annotation.text,
            "tokens": len(annotation.tokens),
            "corrected tokens": len(changed_positions(annotation)),
            "model run": annotation.model_run_id or "",
            "updated": annotation.updated_at,
        }
        for annotation in annotations
    ]
