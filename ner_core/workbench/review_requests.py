"""Texts sent to the annotation queue from other parts of the workbench (bulk tagging, the log).

The queue reads pending requests as one of its pools; whoever sends them does not need to know
how the queue ranks or shows them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ner_core.errors import ConfigError
from ner_core.store.database import Store
from ner_core.store.tables import ReviewRequest, utcnow

MAX_SOURCE_CHARS = 64


def add_review_requests(store: Store, texts: Iterable[str], *, source: str, notes: Iterable[str] | None = None) -> int:
    """Queue ``texts`` for review (blank ones and texts already pending are left out); returns how many were added."""
    source = source.strip()
    if not source or len(source) > MAX_SOURCE_CHARS:
        raise ConfigError(f"a review request needs a source name of 1 to {MAX_SOURCE_CHARS} characters, got {source!r}.")
    texts = list(texts)
    notes = list(notes) if notes is not None else [""] * len(texts)
    if len(notes) != len(texts):
        raise ConfigError(f"{len(notes)} notes for {len(texts)} texts; give one note per text or none.")

    def work(session) -> int:
        pending = set(session.scalars(sa.select(ReviewRequest.text).where(ReviewRequest.done_at.is_(None))))
        added = 0
        for text, note in zip(texts, notes):
            if not text.strip() or text in pending:
                continue
            session.add(ReviewRequest(text=text, source=source, note=note))
            pending.add(text)
            added += 1
        return added

    return store.write(work)


def pending_review_requests(store: Store) -> list[ReviewRequest]:
    """Requests not yet done, oldest first."""
    query = sa.select(ReviewRequest).where(ReviewRequest.done_at.is_(None)).order_by(ReviewRequest.id)
    with store.session() as session:
        return list(session.scalars(query))


def mark_review_requests_done(store: Store, texts: Iterable[str]) -> int:
    """Close the pending requests for ``texts`` (annotated, or withdrawn); returns how many were closed."""
    texts = list(texts)
    if not texts:
        return 0

    def work(session) -> int:
        result = session.execute(
            sa.update(ReviewRequest)
            .where(ReviewRequest.done_at.is_(None), ReviewRequest.text.in_(texts))
            .values(done_at=utcnow())
        )
        return int(result.rowcount or 0)

    return store.write(work)
