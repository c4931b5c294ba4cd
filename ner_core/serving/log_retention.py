"""Retention of the prediction log: rows older than an age are purged, and every row holding a given
text can be forgotten (the design's retention period and right to be forgotten).

Both apply to the whole log (API requests, the highlighter, the CLI, simulations): the log is one
table, and a person's name must leave all of it. Annotations and review requests are an analyst's
work, not a log, and are left alone; :func:`forget` reports how many of them hold the text so
whoever asked can decide about them too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ner_core.errors import LogRetentionError
from ner_core.store.database import Store
from ner_core.store.tables import Annotation, PredictionLog, ReviewRequest, utcnow

AGE_PATTERN = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
AGE_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}
# Deleting in slices keeps each transaction (and SQLite's write lock) short while the server logs.
DELETE_SLICE_ROWS = 5_000


@dataclass(frozen=True)
class ForgetResult:
    log_rows: int  # deleted (or, on a dry run, that would be)
    annotations_holding_text: int  # not deleted: an analyst's corrections
    review_requests_holding_text: int  # not deleted


def parse_age(text: str) -> dt.timedelta:
    """``30d`` / ``12h`` / ``2w`` -> a timedelta of at least one hour."""
    match = AGE_PATTERN.match(text or "")
    if match is None or int(match.group(1)) == 0:
        raise LogRetentionError(f"age {text!r} is not like 30d, 12h or 2w (a positive whole number of days, hours or weeks).")
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


def _older_than(age: dt.timedelta, now: dt.datetime | None):
    cutoff = (now or utcnow()) - age
    return PredictionLog.created_at < cutoff


def purge_older_than(store: Store, age: dt.timedelta, *, dry_run: bool = False, now: dt.datetime | None = None) -> int:
    """Delete log rows created more than ``age`` ago; returns how many (would be) deleted."""
    condition = _older_than(age, now)
    if dry_run:
        return _count(store, PredictionLog, condition)
    return _delete_in_slices(store, condition)


def _text_condition(model, text: str, exact: bool):
    # contains() escapes % and _ (autoescape), so the text is matched literally; SQLite's LIKE ignores ASCII case.
    return model.text == text if exact else model.text.contains(text, autoescape=True)


def forget(store: Store, text: str, *, exact: bool = False, dry_run: bool = False) -> ForgetResult:
    """Delete every log row whose text holds ``text`` (or equals it with ``exact``)."""
    if not isinstance(text, str) or not text.strip():
        raise LogRetentionError("the text to forget is empty; give the name or sentence to remove from the log.")
    condition = _text_condition(PredictionLog, text, exact)
    annotations = _count(store, Annotation, _text_condition(Annotation, text, exact))
    reviews = _count(store, ReviewRequest, _text_condition(ReviewRequest, text, exact))
    deleted = _count(store, PredictionLog, condition) if dry_run else _delete_in_slices(store, condition)
    return ForgetResult(deleted, annotations, reviews)


def _count(store: Store, model, condition) -> int:
    with store.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)) or 0)


def _delete_in_slices(store: Store, condition) -> int:
    total = 0
    while True:

        def work(session: Session) -> int:
            ids = list(session.scalars(sa.select(PredictionLog.id).where(condition).limit(DELETE_SLICE_ROWS)))
            if ids:
                session.execute(sa.delete(PredictionLog).where(PredictionLog.id.in_(ids)))
            return len(ids)

        deleted = store.write(work)
        total += deleted
        if deleted < DELETE_SLICE_ROWS:
            return total
