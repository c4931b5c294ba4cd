"""Where the annotation queue's sentences come from: the pools an analyst picks.

* ``uploaded``: text pasted or uploaded (``.txt``, one sentence or paragraph per line, or ``.jsonl``
  with a ``text`` field), stored as a batch in ``queue_texts`` so a reload finds it again;
* ``log``: texts the highlighter and the API tagged (the prediction log without simulated traffic);
* ``requests``: texts other parts of the workbench sent for review (:mod:`review_requests`);
* ``validation``: the model's validation split with its labels hidden;
* ``test``: the model's test split, only on request: an annotated test sentence leaves the scored
  test set, so the page warns before offering it;
* ``flagged``: sentences an analyst flagged, until someone accepts them.

Every pool is a list of :class:`PoolItem` (text and tokens), one per distinct text, in pool order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ner_core.corpus import annotated, documents, tokenizer
from ner_core.errors import AnnotationPoolError, DocumentSetError, ModelLoadError
from ner_core.evaluation import held_out
from ner_core.store.tables import PredictionLog, QueueDecision, QueueText, utcnow
from ner_core.workbench import review_requests

if TYPE_CHECKING:
    from ner_core.store.database import Store
    from ner_core.store.tables import Run

POOLS = {
    "validation": "Validation split of the model's dataset (labels hidden)",
    "uploaded": "Pasted or uploaded text",
    "log": "Texts tagged in the highlighter or through the API",
    "requests": "Texts sent for review",
    "flagged": "Sentences flagged for review",
    "test": "Test split of the model's dataset (opt in: annotated sentences leave the scored test set)",
}
DEFAULT_POOL = "validation"
SPLIT_POOLS = ("validation", "test")
# The annotation's ``source`` column names the pool it came from (annotation.SOURCES lists them).
ANNOTATION_SOURCES = {
    "uploaded": "upload",
    "log": "log",
    "requests": "review request",
    "validation": "validation split",
    "test": "test split",
    "flagged": "flagged",
}
MAX_BATCH_NAME_CHARS = 128
# Every sentence of a pool is tagged to rank it; this bounds the work of one pasted or uploaded batch.
MAX_POOL_CHARS = 2_000_000
MAX_POOL_SENTENCES = 20_000
# The newest logged requests read for the log pool; older ones are rarely worth a review.
LOG_POOL_ROWS = 5_000
ID_CHARS = 16
SIMULATION_SOURCE = "simulation"


@dataclass(frozen=True)
class PoolItem:
    """One sentence of a pool: its text (the annotation's identity) and its tokens."""

    text: str
    tokens: tuple[str, ...]

    @property
    def item_id(self) -> str:
        return item_id(self.text)


@dataclass(frozen=True)
class TextBatch:
    batch_id: str
    name: str
    sentences: int
    created_at: object


def item_id(text: str) -> str:
    """A short stable id of a sentence's text: the queue's deep link and the editor's item key."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:ID_CHARS]


def pool_key(items: Iterable[PoolItem]) -> str:
    """A checksum of a pool's contents, so a ranking is computed once per pool, model and order."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(item.text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:ID_CHARS]


def require_pool(pool: str) -> str:
    if pool not in POOLS:
        raise AnnotationPoolError(f"unknown pool {pool!r}; one of: {', '.join(POOLS)}.")
    return pool


def _items_of_texts(texts: Iterable[str]) -> list[PoolItem]:
    """One item per distinct, non-empty text (first occurrence kept), tokenised by the app's tokenizer."""
    seen: set[str] = set()
    items = []
    for text in texts:
        if text in seen:
            continue
        seen.add(text)
        tokens = tuple(token.text for token in tokenizer.tokenize(text))
        if tokens:
            items.append(PoolItem(text, tokens))
    return items


def _sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in tokenizer.split_sentences(text)]


# --------------------------------------------------------------------------- pasted and uploaded text


def sentences_from_lines(text: str) -> list[str]:
    """One sentence or paragraph per line; a paragraph is split into its sentences. Limits as for any pool."""
    if len(text) > MAX_POOL_CHARS:
        raise AnnotationPoolError(
            f"the text is {len(text):,} characters; the limit for one pool is {MAX_POOL_CHARS:,}. Split it into smaller files."
        )
    sentences = [sentence for line in text.splitlines() for sentence in _sentences(line)]
    if not sentences:
        raise AnnotationPoolError("the text holds no sentence; give one sentence or paragraph per line.")
    if len(sentences) > MAX_POOL_SENTENCES:
        raise AnnotationPoolError(
            f"the text has {len(sentences):,} sentences; the limit for one pool is "
            f"{MAX_POOL_SENTENCES:,}. Split it into smaller files."
        )
    return sentences


def sentences_from_upload(raw: bytes, name: str) -> list[str]:
    """The sentences of an uploaded ``.txt`` (a sentence or paragraph per line) or ``.jsonl`` (a ``text`` per line)."""
    try:
        texts = [document.text for document in documents.read_documents(raw, name, latin1_fallback=True)]
    except DocumentSetError as exc:
        raise AnnotationPoolError(exc.message) from None
    return sentences_from_lines("\n".join(" ".join(text.split()) for text in texts))


def add_text_batch(store: Store, sentences: list[str], *, name: str) -> str:
    """Store pasted or uploaded sentences as one batch and return its id (the same texts again: the same batch)."""
    sentences = [sentence for sentence in sentences if sentence.strip()]
    if not sentences:
        raise AnnotationPoolError("nothing to add: the text holds no sentence.")
    batch_id = pool_key(PoolItem(sentence, ()) for sentence in sentences)
    label = (" ".join(name.split()) or "pasted text")[:MAX_BATCH_NAME_CHARS]

    def work(session) -> str:
        exists = session.scalar(sa.select(QueueText.id).where(QueueText.batch_id == batch_id).limit(1))
        if exists is None:
            now = utcnow()
            session.add_all(
                QueueText(batch_id=batch_id, batch_name=label, position=position, text=sentence, created_at=now)
                for position, sentence in enumerate(sentences)
            )
        return batch_id

    return store.write(work)


def text_batches(store: Store) -> list[TextBatch]:
    """Every pasted or uploaded batch, newest first."""
    query = (
        sa.select(QueueText.batch_id, sa.func.min(QueueText.batch_name), sa.func.count(), sa.func.min(QueueText.created_at))
        .group_by(QueueText.batch_id)
        .order_by(sa.func.max(QueueText.id).desc())
    )
    with store.session() as session:
        return [TextBatch(batch_id, name, int(count), created) for batch_id, name, count, created in session.execute(query)]


def batch_items(store: Store, batch_id: str) -> list[PoolItem]:
    query = sa.select(QueueText.text).where(QueueText.batch_id == batch_id).order_by(QueueText.position)
    with store.session() as session:
        texts = list(session.scalars(query))
    if not texts:
        raise AnnotationPoolError(f"no pasted or uploaded batch {batch_id!r}; paste or upload the text again.")
    return _items_of_texts(texts)


# --------------------------------------------------------------------------- the log, review requests, flags


def logged_items(store: Store, *, limit: int = LOG_POOL_ROWS) -> list[PoolItem]:
    """Sentences of the newest texts tagged in the highlighter or through the API (simulated traffic left out)."""
    query = (
        sa.select(PredictionLog.text)
        .where(PredictionLog.source != SIMULATION_SOURCE, PredictionLog.error.is_(None), PredictionLog.text != "")
        .order_by(PredictionLog.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        texts = list(session.scalars(query))
    return _items_of_texts(sentence for text in texts for sentence in _sentences(text))


def review_request_items(store: Store) -> list[PoolItem]:
    """Pending review requests, oldest first; a request is one item as sent (it may hold several sentences)."""
    return _items_of_texts(request.text for request in review_requests.pending_review_requests(store))


def flagged_items(store: Store) -> list[PoolItem]:
    """Sentences flagged and not yet accepted by anyone, oldest flag first, with the tokens they were shown with."""
    query = (
        sa.select(QueueDecision)
        .where(QueueDecision.decision == "flagged", QueueDecision.resolved_at.is_(None))
        .order_by(QueueDecision.id)
    )
    with store.session() as session:
        flags = list(session.scalars(query))
    items: dict[str, PoolItem] = {}
    for flag in flags:
        if flag.text not in items and flag.tokens:
            items[flag.text] = PoolItem(flag.text, tuple(flag.tokens))
    return list(items.values())


# --------------------------------------------------------------------------- the model's own splits


def split_items(run: Run, part: str) -> list[PoolItem]:
    """The run's validation or test sentences as pool items; their gold tags are never looked at."""
    if part not in SPLIT_POOLS:
        raise AnnotationPoolError(f"unknown split {part!r}; one of: {', '.join(SPLIT_POOLS)}.")
    if not run.run_dir:
        raise ModelLoadError(f"run {run.id} has no run folder, so its {part} split cannot be rebuilt.")
    splits = held_out.splits_for_run(run.run_dir)
    sentences: list[annotated.Sentence] = splits.validation if part == "validation" else splits.test
    seen: set[str] = set()
    items = []
    for sentence in sentences:
        if sentence.words and sentence.text not in seen:
            seen.add(sentence.text)
            items.append(PoolItem(sentence.text, tuple(sentence.words)))
    return items
