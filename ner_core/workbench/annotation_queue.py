"""The annotation queue: a pool ranked so an analyst's time goes where the model is least sure, each
analyst's own view of it, and what the analyst decides for each sentence (accept, skip, flag).

Orders (:data:`ORDERS`): *least confidence* (a sentence's lowest token probability of its predicted
tag), *margin* (its smallest gap between a token's predicted tag and the best other tag; a negative gap
means IOB2 decoding overruled the most probable tag) and *disagreement* (the share of tokens two chosen
models tag differently). Ties keep pool order.

A sentence leaves an analyst's queue once that analyst has annotated, skipped or flagged it, and leaves
everyone's once it has annotations from ``analysts per sentence`` distinct analysts (a team setting,
1 by default). An accepted sentence is written at once, annotation and decision in one transaction,
so a closed tab loses at most the sentence being edited; a decision sent twice is stored once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from ner_core.errors import ConfigError, NerError, QueueDecisionError, QueueSettingError
from ner_core.store.tables import Annotation, QueueDecision, QueueSetting, utcnow
from ner_core.workbench import annotation, annotation_pools, review_requests
from ner_core.workbench.agreement import ADJUDICATED_SOURCE

if TYPE_CHECKING:
    from ner_core.serving.predictor import Predictor
    from ner_core.store.database import Store

ORDERS = {
    "confidence": "least confident first",
    "margin": "smallest margin between the best two tags first",
    "disagreement": "most disagreement between two models first",
}
DEFAULT_ORDER = "confidence"
ACTIONS = {"accept": "accepted", "skip": "skipped", "flag": "flagged"}
ANALYSTS_SETTING = "analysts_per_sentence"
DEFAULT_ANALYSTS_PER_SENTENCE = 1
MAX_ANALYSTS_PER_SENTENCE = 10


@dataclass(frozen=True)
class QueueItem:
    """One ranked sentence with what the model predicted for it."""

    item_id: str
    text: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    confidences: tuple[float, ...]
    runner_up: tuple[float, ...]  # per token the best other tag's probability
    score: float  # the value the order sorts by (see ORDERS)
    order: str
    pool: str
    position: int  # place in the pool, the tie-breaker
    other_tags: tuple[str, ...] | None = None  # the second model's tags (disagreement order)

    @property
    def margins(self) -> tuple[float, ...]:
        return tuple(c - r for c, r in zip(self.confidences, self.runner_up))


@dataclass(frozen=True)
class Decision:
    """What the span editor sends for one sentence: ``tags`` for accept and flag, None for skip."""

    client_id: str
    item_id: str
    action: str
    tags: tuple[str, ...] | None


@dataclass
class Recorded:
    """The outcome of :func:`record_decisions`: ids the browser may forget, and why others were refused."""

    acknowledged: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # {"clientId", "itemId", "message"}
    annotation_ids: list[int] = field(default_factory=list)


def require_order(order: str) -> str:
    if order not in ORDERS:
        raise QueueSettingError(f"unknown order {order!r}; one of: {', '.join(ORDERS)}.")
    return order


def analyst_name(analyst: str | None) -> str:
    """The analyst's name, stripped; every decision records who made it."""
    name = " ".join((analyst or "").split())
    if not name:
        raise ConfigError("enter your name as analyst first; every annotation records who made it.")
    if len(name) > annotation.MAX_ANALYST_CHARS:
        raise ConfigError(f"the analyst name is longer than {annotation.MAX_ANALYST_CHARS} characters.")
    return name


# --------------------------------------------------------------------------- ranking


def _score(order: str, confidences: np.ndarray, runner_up: np.ndarray, tags, other_tags) -> float:
    if order == "confidence":
        return float(confidences.min())
    if order == "margin":
        return float((confidences - runner_up).min())
    return float(np.mean([mine != theirs for mine, theirs in zip(tags, other_tags)]))


def rank(
    predictor: Predictor,
    items: Sequence[annotation_pools.PoolItem],
    *,
    order: str,
    pool: str,
    other: Predictor | None = None,
) -> list[QueueItem]:
    """Tag every item (and with ``other`` too for the disagreement order) and sort them by ``order``."""
    require_order(order)
    if order == "disagreement" and other is None:
        raise QueueSettingError("ordering by disagreement needs a second model; choose one.")
    token_lists = [list(item.tokens) for item in items]
    tagged = predictor.tag_sentences(token_lists, runner_up=True) if token_lists else []
    other_tagged = other.tag_sentences(token_lists) if order == "disagreement" and token_lists else None
    ranked = []
    for position, (item, (tags, confidences, runner_up)) in enumerate(zip(items, tagged)):
        other_tags = tuple(other_tagged[position][0]) if other_tagged is not None else None
        score = _score(order, np.asarray(confidences), np.asarray(runner_up), tags, other_tags)
        ranked.append(
            QueueItem(
                item.item_id,
                item.text,
                tuple(item.tokens),
                tuple(tags),
                tuple(float(c) for c in confidences),
                tuple(float(r) for r in runner_up),
                score,
                order,
                pool,
                position,
                other_tags,
            )
        )
    most_first = order == "disagreement"
    ranked.sort(key=lambda item: (-item.score if most_first else item.score, item.position))
    return ranked


# --------------------------------------------------------------------------- each analyst's queue


def analysts_per_sentence(store: Store) -> int:
    with store.session() as session:
        value = session.scalar(sa.select(QueueSetting.value).where(QueueSetting.name == ANALYSTS_SETTING))
    try:
        return max(1, min(MAX_ANALYSTS_PER_SENTENCE, int(value))) if value is not None else DEFAULT_ANALYSTS_PER_SENTENCE
    except ValueError:
        return DEFAULT_ANALYSTS_PER_SENTENCE


def set_analysts_per_sentence(store: Store, value: int, *, analyst: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ANALYSTS_PER_SENTENCE:
        raise QueueSettingError(
            f"analysts per sentence must be a whole number from 1 to {MAX_ANALYSTS_PER_SENTENCE}, got {value!r}."
        )

    def work(session) -> None:
        setting = session.get(QueueSetting, ANALYSTS_SETTING)
        if setting is None:
            session.add(QueueSetting(name=ANALYSTS_SETTING, value=str(value), updated_by=analyst))
        else:
            setting.value, setting.updated_by, setting.updated_at = str(value), analyst, utcnow()

    store.write(work)


@dataclass(frozen=True)
class AnalystView:
    """What the store says about one analyst and the pool's texts."""

    annotated_by_me: frozenset[str]
    skipped_or_flagged_by_me: frozenset[str]
    complete: frozenset[str]  # annotated by enough distinct analysts
    skipped_in_flagged_pool: frozenset[str]


def analyst_view(store: Store, analyst: str, *, needed: int) -> AnalystView:
    with store.session() as session:
        mine = session.scalars(sa.select(Annotation.text).where(Annotation.analyst == analyst).distinct())
        annotated_by_me = frozenset(mine)
        decided = session.execute(
            sa.select(QueueDecision.text, QueueDecision.pool).where(
                QueueDecision.analyst == analyst, QueueDecision.decision.in_(("skipped", "flagged"))
            )
        ).all()
        # A reviewer's final version is not one more analyst's vote, but it does settle the sentence.
        analysts = sa.func.count(sa.distinct(sa.case((Annotation.source != ADJUDICATED_SOURCE, Annotation.analyst))))
        settled = sa.func.max(sa.case((Annotation.source == ADJUDICATED_SOURCE, 1), else_=0))
        counts = session.execute(
            sa.select(Annotation.text).group_by(Annotation.text).having(sa.or_(analysts >= needed, settled == 1))
        )
        complete = frozenset(text for (text,) in counts)
    skipped_in_flagged = frozenset(text for text, pool in decided if pool == "flagged")
    return AnalystView(annotated_by_me, frozenset(text for text, _ in decided), complete, skipped_in_flagged)


def remaining(ranked: Iterable[QueueItem], view: AnalystView, *, pool: str) -> list[QueueItem]:
    """The ranked items still in this analyst's queue (see the module docstring); the flagged pool keeps
    a sentence until someone accepts it there, so only the analyst's own skips there remove it."""
    if pool == "flagged":
        return [item for item in ranked if item.text not in view.skipped_in_flagged_pool]
    gone = view.annotated_by_me | view.skipped_or_flagged_by_me | view.complete
    return [item for item in ranked if item.text not in gone]


def gone_counts(ranked: Iterable[QueueItem], view: AnalystView, *, pool: str) -> dict[str, int]:
    """Why the ranked items :func:`remaining` drops are out of this analyst's queue, counted once each in this
    order: annotated by them, skipped or flagged by them, annotated by enough analysts. A queue of 24 of 25
    with no reason given reads as a lost sentence; the Bulk tagging page's review requests, for one, can hold
    a sentence the analyst annotated elsewhere."""
    counts = {"you annotated": 0, "you skipped or flagged": 0, "enough analysts annotated": 0}
    kept = {item.text for item in remaining(list(ranked), view, pool=pool)}
    for item in ranked:
        if item.text in kept:
            continue
        if pool != "flagged" and item.text in view.annotated_by_me:
            counts["you annotated"] += 1
        elif pool == "flagged" or item.text in view.skipped_or_flagged_by_me:
            counts["you skipped or flagged"] += 1
        else:
            counts["enough analysts annotated"] += 1
    return {reason: count for reason, count in counts.items() if count}


def first_at(items: list[QueueItem], item_id: str | None) -> list[QueueItem]:
    """``items`` with the one whose id is ``item_id`` moved to the front (a deep link's position); unchanged when absent."""
    if item_id:
        for index, item in enumerate(items):
            if item.item_id == item_id:
                return [item, *items[:index], *items[index + 1 :]]
    return items


# --------------------------------------------------------------------------- decisions


def _tags_for(item: QueueItem, decision: Decision, tag_set: Sequence[str]) -> list[str]:
    tags = list(decision.tags or ())
    problems = annotation.validate_correction(item.tokens, tags, tag_set)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise QueueDecisionError(f"not saved: {problems[0].message}{more}")
    return tags


def record_decision(
    store: Store, decision: Decision, item: QueueItem, *, analyst: str, model_run_id: str | None, tag_set: Sequence[str]
) -> int | None:
    """Store one decision (and for accept its annotation) in one transaction; returns the annotation id of an accept.

    A decision whose ``client_id`` is already stored is not stored again (the browser resends until acknowledged).
    """
    name = analyst_name(analyst)
    if decision.action not in ACTIONS:
        raise QueueDecisionError(f"unknown decision {decision.action!r}; one of: {', '.join(ACTIONS)}.")
    if decision.item_id != item.item_id:
        raise QueueDecisionError("the decision names another sentence than the one it was recorded for.")
    tags = _tags_for(item, decision, tag_set) if decision.action != "skip" else None
    source = annotation_pools.ANNOTATION_SOURCES[item.pool]

    def work(session) -> int | None:
        if session.scalar(sa.select(QueueDecision.id).where(QueueDecision.client_id == decision.client_id)) is not None:
            return None
        annotation_id = None
        if decision.action == "accept":
            saved = Annotation(
                analyst=name,
                text=item.text,
                tokens_json=json.dumps(list(item.tokens)),
                tags_json=json.dumps(tags),
                original_tags_json=json.dumps(list(item.tags)),
                model_run_id=model_run_id,
                source=source,
            )
            session.add(saved)
            session.flush()
            annotation_id = saved.id
            if item.pool == "flagged":
                open_flags = (QueueDecision.decision == "flagged", QueueDecision.resolved_at.is_(None))
                session.execute(
                    sa.update(QueueDecision).where(QueueDecision.text == item.text, *open_flags).values(resolved_at=utcnow())
                )
        session.add(
            QueueDecision(
                analyst=name,
                text=item.text,
                pool=item.pool,
                decision=ACTIONS[decision.action],
                annotation_id=annotation_id,
                model_run_id=model_run_id,
                client_id=decision.client_id,
                tokens_json=json.dumps(list(item.tokens)) if decision.action == "flag" else None,
                tags_json=json.dumps(tags) if tags is not None else None,
            )
        )
        return annotation_id

    return store.write(work)


def record_decisions(
    store: Store,
    decisions: Iterable[Decision],
    items_by_id: dict[str, QueueItem],
    *,
    analyst: str,
    model_run_id: str | None,
    tag_set: Sequence[str],
) -> Recorded:
    """Record each decision on its own (one refused decision does not hold back the others).

    ``items_by_id`` are the sentences this session was sent: a decision about any other is refused.
    After an accept, review requests for that text are closed once it has enough analysts.
    """
    outcome = Recorded()
    accepted_texts = []
    for decision in decisions:
        item = items_by_id.get(decision.item_id)
        try:
            if item is None:
                raise QueueDecisionError("that sentence was not sent to this session; reload the page.")
            annotation_id = record_decision(store, decision, item, analyst=analyst, model_run_id=model_run_id, tag_set=tag_set)
        except NerError as exc:
            outcome.rejected.append({"clientId": decision.client_id, "itemId": decision.item_id, "message": str(exc)})
            continue
        outcome.acknowledged.append(decision.client_id)
        if annotation_id is not None:
            outcome.annotation_ids.append(annotation_id)
            accepted_texts.append(item.text)
    if accepted_texts:
        needed = analysts_per_sentence(store)
        view = analyst_view(store, analyst_name(analyst), needed=needed)
        review_requests.mark_review_requests_done(store, [text for text in accepted_texts if text in view.complete])
    return outcome


def flagged_decisions(store: Store) -> list[QueueDecision]:
    """Unresolved flags, oldest first."""
    query = (
        sa.select(QueueDecision)
        .where(QueueDecision.decision == "flagged", QueueDecision.resolved_at.is_(None))
        .order_by(QueueDecision.id)
    )
    with store.session() as session:
        return list(session.scalars(query))


def flagged_tags(store: Store) -> dict[str, list[str]]:
    """Item id -> the tags a flagging analyst left (the latest flag of each sentence), to start a review from."""
    proposed = {}
    for flag in flagged_decisions(store):
        if flag.tags and len(flag.tags) == len(flag.tokens):
            proposed[annotation_pools.item_id(flag.text)] = flag.tags
    return proposed


def decisions_of(store: Store, analyst: str) -> list[QueueDecision]:
    """One analyst's decisions, newest first (the page's progress line and tests read them)."""
    query = sa.select(QueueDecision).where(QueueDecision.analyst == analyst).order_by(QueueDecision.id.desc())
    with store.session() as session:
        return list(session.scalars(query))
