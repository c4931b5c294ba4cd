"""Agreement between analysts who annotated the same sentences, and the sentences they disagree on.

A sentence counts once per analyst: their most recently saved version (an analyst who re-edits a
sentence changes their answer, they do not add a second vote). Sentences are matched by their text;
two versions are only compared token by token when their tokens are identical too.

For each pair of analysts:

* entity F1, overall and per type, with seqeval strict IOB2 and one analyst as the reference
  (F1 is symmetric, so which one does not matter; precision and recall would swap);
* Cohen's kappa on the token tags (``B-per`` and ``I-per`` are different labels), which corrects the
  raw token agreement for the agreement two analysts would reach by chance given how often each
  uses each tag; ``O`` dominates NER text, so raw agreement alone flatters any pair.

Both are undefined in degenerate cases (no entity on either side; a single tag used throughout), and
are then ``None`` ("n/a" on the page) rather than a number nobody measured.

Rows of source :data:`ADJUDICATED_SOURCE` are a reviewer's final versions, not an analyst's vote, and
are left out here (:mod:`ner_core.workbench.adjudication` owns them).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from ner_core.corpus import tags as tagging
from ner_core.evaluation import scoring

ADJUDICATED_SOURCE = "adjudicated"


@dataclass(frozen=True)
class AnalystVersion:
    """One analyst's latest saved version of one sentence."""

    analyst: str
    annotation_id: int
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class SentenceVersions:
    """Every analyst's version of one sentence text, in analyst-name order."""

    text: str
    versions: tuple[AnalystVersion, ...]

    @property
    def analysts(self) -> tuple[str, ...]:
        return tuple(version.analyst for version in self.versions)

    @property
    def agree(self) -> bool:
        """True when every analyst gave the same tokens and the same tags (a single version always agrees)."""
        return len({(version.tokens, version.tags) for version in self.versions}) == 1

    @property
    def same_tokens(self) -> bool:
        return len({version.tokens for version in self.versions}) == 1


@dataclass(frozen=True)
class PairAgreement:
    """How far two analysts agree on the sentences both annotated (with the same tokens)."""

    analyst_a: str
    analyst_b: str
    sentences: int
    identical_sentences: int
    tokens: int
    entities_a: int
    entities_b: int
    entity_f1: float | None  # None: neither marked any entity, nothing to agree on
    kappa: float | None  # None: undefined (both used one and the same tag throughout)
    per_type: dict[str, float]  # entity type -> F1 (types either analyst used)
    token_mismatches: int = 0  # sentences both annotated whose tokens differ: not compared


def latest_versions(annotations: Iterable) -> dict[str, SentenceVersions]:
    """Sentence text -> each analyst's latest version of it (analyst rows only; adjudicated rows are left out).

    "Latest" is by ``(updated_at, id)``, as the saved list shows them.
    """
    latest: dict[tuple[str, str], object] = {}
    for annotation in annotations:
        if annotation.source == ADJUDICATED_SOURCE:
            continue
        key = (annotation.text, annotation.analyst)
        kept = latest.get(key)
        if kept is None or (annotation.updated_at, annotation.id) >= (kept.updated_at, kept.id):
            latest[key] = annotation
    by_text: dict[str, list[AnalystVersion]] = {}
    for (text, analyst), annotation in sorted(latest.items()):
        version = AnalystVersion(analyst, int(annotation.id), tuple(annotation.tokens), tuple(annotation.tags), annotation.source)
        by_text.setdefault(text, []).append(version)
    return {text: SentenceVersions(text, tuple(versions)) for text, versions in by_text.items()}


def shared_sentences(versions: dict[str, SentenceVersions]) -> list[SentenceVersions]:
    """Sentences two or more analysts annotated, in text order."""
    return [sentence for _, sentence in sorted(versions.items()) if len(sentence.versions) > 1]


def disagreements(versions: dict[str, SentenceVersions]) -> list[SentenceVersions]:
    """Sentences whose analysts gave different tokens or tags, in text order."""
    return [sentence for sentence in shared_sentences(versions) if not sentence.agree]


def differing_positions(sentence: SentenceVersions) -> list[int]:
    """Token positions where the analysts' tags differ (none when their tokens differ: nothing lines up)."""
    if not sentence.same_tokens:
        return []
    return [position for position, tags in enumerate(zip(*(v.tags for v in sentence.versions))) if len(set(tags)) > 1]


def analysts(versions: dict[str, SentenceVersions]) -> list[str]:
    return sorted({version.analyst for sentence in versions.values() for version in sentence.versions})


def pair_agreement(analyst_a: str, analyst_b: str, versions: dict[str, SentenceVersions]) -> PairAgreement:
    """Entity F1 (overall and per type) and Cohen's kappa of ``analyst_b`` against ``analyst_a``."""
    tags_a: list[list[str]] = []
    tags_b: list[list[str]] = []
    mismatches = 0
    for sentence in versions.values():
        by_analyst = {version.analyst: version for version in sentence.versions}
        if analyst_a not in by_analyst or analyst_b not in by_analyst:
            continue
        first, second = by_analyst[analyst_a], by_analyst[analyst_b]
        if first.tokens != second.tokens:
            mismatches += 1
            continue
        tags_a.append(list(first.tags))
        tags_b.append(list(second.tags))
    f1, per_type = entity_agreement(tags_a, tags_b)
    return PairAgreement(
        analyst_a=analyst_a,
        analyst_b=analyst_b,
        sentences=len(tags_a),
        identical_sentences=sum(a == b for a, b in zip(tags_a, tags_b)),
        tokens=sum(len(tags) for tags in tags_a),
        entities_a=sum(len(tagging.extract_spans(tags)) for tags in tags_a),
        entities_b=sum(len(tagging.extract_spans(tags)) for tags in tags_b),
        entity_f1=f1,
        kappa=token_kappa(tags_a, tags_b),
        per_type=per_type,
        token_mismatches=mismatches,
    )


def pairwise_agreement(versions: dict[str, SentenceVersions]) -> list[PairAgreement]:
    """One :class:`PairAgreement` per pair of analysts who share at least one sentence, in name order."""
    pairs = []
    for analyst_a, analyst_b in itertools.combinations(analysts(versions), 2):
        pair = pair_agreement(analyst_a, analyst_b, versions)
        if pair.sentences or pair.token_mismatches:
            pairs.append(pair)
    return pairs


def entity_agreement(reference: Sequence[Sequence[str]], other: Sequence[Sequence[str]]) -> tuple[float | None, dict[str, float]]:
    """(micro entity F1, type -> F1) under seqeval strict IOB2; (None, {}) when neither side has an entity."""
    if not reference or not any(tagging.extract_spans(tags) for tags in (*reference, *other)):
        return None, {}
    evaluation = scoring.evaluate_tags([list(t) for t in reference], [list(t) for t in other])
    per_type = {str(entity_type): float(f1) for entity_type, f1 in evaluation.per_type["f1"].items()}
    return float(evaluation.values["entity_f1"]), per_type


def token_kappa(reference: Sequence[Sequence[str]], other: Sequence[Sequence[str]]) -> float | None:
    """Cohen's kappa over every token's tag; None when it is undefined (chance agreement is 1)."""
    flat_a = [tag for tags in reference for tag in tags]
    flat_b = [tag for tags in other for tag in tags]
    if not flat_a or len(set(flat_a) | set(flat_b)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(cohen_kappa_score(flat_a, flat_b))
    return None if math.isnan(value) else value


def agreement_records(pairs: Sequence[PairAgreement]) -> list[dict]:
    """One row per pair for the agreement table."""
    return [
        {
            "analyst A": pair.analyst_a,
            "analyst B": pair.analyst_b,
            "sentences": pair.sentences,
            "identical": pair.identical_sentences,
            "tokens": pair.tokens,
            "entities A": pair.entities_a,
            "entities B": pair.entities_b,
            "entity F1": pair.entity_f1,
            "Cohen's kappa": pair.kappa,
            "tokens differ": pair.token_mismatches,
        }
        for pair in pairs
    ]


def per_type_records(pairs: Sequence[PairAgreement]) -> list[dict]:
    """One row per (pair, entity type) for the per-type table."""
    return [
        {"analyst A": pair.analyst_a, "analyst B": pair.analyst_b, "type": entity_type, "entity F1": f1}
        for pair in pairs
        for entity_type, f1 in sorted(pair.per_type.items())
    ]


def adjudication_frame(sentence: SentenceVersions, base: AnalystVersion, tags: Sequence[str]) -> pd.DataFrame:
    """The token table a reviewer edits: every analyst's tag beside ``tags``, the final version being edited.

    Analysts whose tokens differ from ``base``'s cannot line up and are left out of the table.
    """
    columns: dict[str, list] = {"#": list(range(1, len(base.tokens) + 1)), "token": list(base.tokens)}
    for version in sentence.versions:
        if version.tokens == base.tokens:
            columns[f"by {version.analyst}"] = list(version.tags)
    columns["tag"] = list(tags)
    return pd.DataFrame(columns)
