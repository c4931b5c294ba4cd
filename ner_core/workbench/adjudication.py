"""A reviewer settles a disagreement between analysts: the final version of the sentence is what retraining uses.

The reviewer either picks one analyst's version as it stands or edits a version of their own (same
tokens, tags checked as strict IOB2 over the tag set by :func:`ner_core.workbench.annotation.validate_correction`).
The final version is stored as an ``annotations`` row of source ``adjudicated`` plus an
:class:`~ner_core.store.tables.Adjudication` row saying which sentence it settles, who decided and
when: a copy, so an analyst who later edits their own version does not silently change the decision,
and an ordinary annotation, so retraining, lineage (annotation ids and checksums) and exports need no
second kind of object. Deciding again replaces the decision; reopening removes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ner_core.errors import AdjudicationError, TagSchemeError
from ner_core.store.database import Store
from ner_core.store.tables import Adjudication, Annotation
from ner_core.workbench import agreement, annotation

MAX_REVIEWER_CHARS = annotation.MAX_ANALYST_CHARS


@dataclass(frozen=True)
class Decision:
    """A settled sentence: the final version, who decided, when, and whose version was picked (None: edited)."""

    text: str
    final: Annotation
    reviewer: str
    decided_at: dt.datetime
    picked_annotation_id: int | None
    note: str


def decisions(store: Store) -> dict[str, Decision]:
    """Sentence text -> its decision; a decision whose final row was deleted no longer counts."""
    query = sa.select(Adjudication, Annotation).join(Annotation, Annotation.id == Adjudication.annotation_id)
    with store.session() as session:
        rows = session.execute(query).all()
    return {
        decision.text: Decision(
            decision.text, final, decision.reviewer, decision.decided_at, decision.picked_annotation_id, decision.note
        )
        for decision, final in rows
    }


def final_versions(store: Store) -> dict[str, Annotation]:
    """Sentence text -> the adjudicated final version."""
    return {text: decision.final for text, decision in decisions(store).items()}


def _require_reviewer(reviewer: str) -> str:
    name = (reviewer or "").strip()
    if not name:
        raise AdjudicationError("enter your name as reviewer; every decision records who made it.")
    if len(name) > MAX_REVIEWER_CHARS:
        raise AdjudicationError(f"the reviewer name is longer than {MAX_REVIEWER_CHARS} characters.")
    return name


def pick_version(store: Store, *, annotation_id: int, reviewer: str, note: str = "") -> int:
    """Make one analyst's saved version the final version of its sentence; returns the final row's id."""
    with store.session() as session:
        picked = session.get(Annotation, annotation_id)
    if picked is None or picked.source == agreement.ADJUDICATED_SOURCE:
        raise AdjudicationError(f"no analyst annotation #{annotation_id} to pick; the list may have changed, reload the page.")
    return adjudicate(
        store,
        text=picked.text,
        tokens=picked.tokens,
        tags=picked.tags,
        reviewer=reviewer,
        tag_set=annotation.model_tag_set(picked.tags),
        picked_annotation_id=picked.id,
        note=note,
    )


def adjudicate(
    store: Store,
    *,
    text: str,
    tokens: Sequence[str],
    tags: Sequence[str | None],
    reviewer: str,
    tag_set: Iterable[str],
    picked_annotation_id: int | None = None,
    note: str = "",
) -> int:
    """Store ``tags`` as the final version of ``text`` (replacing an earlier decision); returns the final row's id.

    ``tokens`` must be the tokens of one analyst's version of ``text``; ``tags`` must be valid IOB2 over
    ``tag_set``. Anything else raises and nothing is stored.
    """
    name = _require_reviewer(reviewer)
    tokens = list(tokens)
    problems = annotation.validate_correction(tokens, tags, tag_set)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TagSchemeError(f"not saved: {problems[0].message}{more}")

    def work(session) -> int:
        versions = [
            row
            for row in session.scalars(sa.select(Annotation).where(Annotation.text == text).order_by(Annotation.id))
            if row.source != agreement.ADJUDICATED_SOURCE
        ]
        if not versions:
            raise AdjudicationError("no analyst annotated this sentence (it may have been deleted); nothing to decide.")
        base = next((row for row in versions if row.id == picked_annotation_id), None)
        base = base or next((row for row in versions if row.tokens == tokens), None)
        if base is None:
            raise AdjudicationError("the final version must keep the tokens of one analyst's version; reload the page.")
        _remove_decision(session, text)
        final = Annotation(
            analyst=name,
            text=text,
            tokens_json=json.dumps(tokens),
            tags_json=json.dumps(list(tags)),
            original_tags_json=base.original_tags_json,
            model_run_id=base.model_run_id,
            source=agreement.ADJUDICATED_SOURCE,
        )
        session.add(final)
        session.flush()
        session.add(
            Adjudication(text=text, annotation_id=final.id, picked_annotation_id=picked_annotation_id, reviewer=name, note=note)
        )
        return final.id

    return store.write(work)


def reopen(store: Store, text: str) -> bool:
    """Withdraw the decision on ``text`` (its final row too); returns whether there was one."""
    return store.write(lambda session: _remove_decision(session, text))


def _remove_decision(session, text: str) -> bool:
    decision = session.scalar(sa.select(Adjudication).where(Adjudication.text == text))
    if decision is None:
        return False
    session.execute(sa.delete(Annotation).where(Annotation.id == decision.annotation_id))
    session.delete(decision)
    session.flush()  # the unique text is free again before a new decision is added in the same transaction
    return True
