"""Saved annotations as the analyst lists them, as files taken elsewhere (CoNLL, GMB CSV, span JSONL) and as
the sentences a retrain learns from: always the corrected tags, never the model's originals, one version per
sentence (adjudicated, or agreed by every analyst)."""

from __future__ import annotations

from collections.abc import Iterable

from ner_core.corpus import annotated, writing
from ner_core.errors import ConfigError
from ner_core.store.database import Store
from ner_core.store.tables import Annotation
from ner_core.workbench import adjudication, agreement, annotation_formats


def annotation_to_sentence(annotation: Annotation) -> annotated.Sentence:
    """A saved annotation as a training/export sentence (its tags are the corrected ones)."""
    return annotated.Sentence(list(annotation.tokens), list(annotation.tags), None, number=int(annotation.id or 0))


def annotations_to_sentences(annotations: Iterable[Annotation]) -> list[annotated.Sentence]:
    return [annotation_to_sentence(annotation) for annotation in annotations]


def training_annotations(store: Store) -> list[Annotation]:
    """The annotations a retrain learns from: at most one per sentence text, ordered by id.

    Per sentence: the reviewer's adjudicated final version when there is one; else, when every
    analyst who annotated it gave the same tokens and tags (or only one analyst did), that version
    (the most recently saved copy); a sentence the analysts disagree on and nobody has settled is
    left out (:func:`unresolved_disagreements` lists those, so the retrain page can say so). Each
    analyst counts with their latest version. The one place that decides which saved version of a
    sentence counts, so retraining, its lineage and the leak check all agree.
    """
    annotations = store.list_annotations()
    by_id = {annotation.id: annotation for annotation in annotations}
    finals = adjudication.final_versions(store)
    chosen = list(finals.values())
    for text, sentence in agreement.latest_versions(annotations).items():
        if text in finals or not sentence.agree:
            continue
        copies = [by_id[version.annotation_id] for version in sentence.versions]
        chosen.append(max(copies, key=lambda annotation: (annotation.updated_at, annotation.id)))
    return sorted(chosen, key=lambda annotation: annotation.id)


def unresolved_disagreements(store: Store) -> list[agreement.SentenceVersions]:
    """The sentences :func:`training_annotations` leaves out: analysts disagree and no final version was decided."""
    finals = adjudication.final_versions(store)
    versions = agreement.latest_versions(store.list_annotations())
    return [sentence for sentence in agreement.disagreements(versions) if sentence.text not in finals]


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
    "JSONL": (annotation_formats.annotations_to_jsonl, "annotations.jsonl", "application/jsonl"),
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
