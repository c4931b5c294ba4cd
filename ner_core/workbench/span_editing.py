"""The Python half of the span editor: what the browser component is sent, and what it sends back.

The component (``ui/components/span_editor/``) keeps every edit in the browser and sends a decision
per sentence: accept, skip or flag, with the entities as spans over token positions. Nothing it
sends is trusted: :func:`parse_decisions` checks the shape, :func:`tags_from_spans` mirrors the
editor's spans-to-IOB2 rule (non-overlapping spans inside the sentence, B- then I-) and the queue
then checks the tags against the model's tag set (:func:`annotation.validate_correction`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ner_core.corpus import tags as tagging
from ner_core.errors import QueueDecisionError
from ner_core.serving.predictor import LOW_CONFIDENCE
from ner_core.workbench import render
from ner_core.workbench.annotation_queue import ACTIONS, Decision, QueueItem

# Number keys 1-8 label; a model with more types still shows them all in the legend (click to label).
KEYED_LABELS = 8
# Sentences sent ahead of the one shown, so Enter shows the next at once while the server saves.
PREFETCH = 6
MAX_DECISIONS_PER_MESSAGE = 200
MAX_CLIENT_ID_CHARS = 64


def editor_labels(tag_set: Sequence[str]) -> list[dict]:
    """The legend: every entity type of the model's tag set in a fixed order, its key and its palette colour."""
    types = tagging.entity_types(tag_set)
    return [
        {"type": kind, "key": str(index + 1) if index < KEYED_LABELS else None, "colour": render.entity_colour(kind)}
        for index, kind in enumerate(types)
    ]


def editor_item(item: QueueItem, *, rank: int, tags: Sequence[str] | None = None) -> dict:
    """One sentence as the component draws it; ``tags`` overrides the model's (e.g. edits from the token table)."""
    return {
        "id": item.item_id,
        "text": item.text,
        "tokens": list(item.tokens),
        "tags": list(tags if tags is not None else item.tags),
        "confidences": [round(value, 4) for value in item.confidences],
        "margins": [round(value, 4) for value in item.margins],
        "score": round(item.score, 4),
        "rank": rank,
    }


def editor_data(
    items: Sequence[QueueItem],
    *,
    labels: list[dict],
    epoch: str,
    remaining: int,
    analyst: str,
    order: str,
    acknowledged: Sequence[str] = (),
    rejected: Sequence[dict] = (),
    first_tags: Sequence[str] | None = None,
    ranks: Mapping[str, int] | None = None,
    proposed: Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """Everything the component is sent: the next sentences, the legend and what the server has stored.

    ``epoch`` names the queue (model, pool, order); when it changes the browser forgets which
    sentences it decided locally. A sentence starts from the model's tags, or from ``proposed[item_id]``
    (e.g. what a flagging analyst left); ``first_tags`` (edits carried over from the token table) win for
    the first sentence. ``ranks`` gives each sentence's place in the whole ranked pool (default: its place
    in ``items``).
    """
    shown = list(items[:PREFETCH])
    proposed = proposed or {}
    return {
        "epoch": epoch,
        "items": [
            editor_item(
                item,
                rank=ranks.get(item.item_id, offset + 1) if ranks is not None else offset + 1,
                tags=first_tags if offset == 0 and first_tags is not None else proposed.get(item.item_id),
            )
            for offset, item in enumerate(shown)
        ],
        "labels": labels,
        "lowConfidence": LOW_CONFIDENCE,
        "remaining": remaining,
        "analyst": analyst,
        "order": order,
        "acknowledged": list(acknowledged),
        "rejected": list(rejected),
    }


def token_table(item: QueueItem, tags: Sequence[str]) -> pd.DataFrame:
    """The second view of the same sentence: one row per token, the model's tag and confidence, and ``tag`` to edit."""
    if len(tags) != len(item.tokens):
        raise QueueDecisionError(f"{len(item.tokens)} tokens but {len(tags)} tags to edit.")
    return pd.DataFrame(
        {
            "#": range(1, len(item.tokens) + 1),
            "token": list(item.tokens),
            "predicted": list(item.tags),
            "confidence": list(item.confidences),
            "tag": list(tags),
        },
        columns=["#", "token", "predicted", "confidence", "tag"],
    )


def tags_from_spans(spans: object, length: int) -> list[str]:
    """IOB2 tags of the editor's spans: ``[{start, end, type}]``, end exclusive, inside the sentence, not overlapping."""
    if not isinstance(spans, list):
        raise QueueDecisionError("the editor sent no list of entities.")
    parsed = []
    for span in spans:
        if not isinstance(span, dict):
            raise QueueDecisionError("an entity from the editor is not an object.")
        start, end, kind = span.get("start"), span.get("end"), span.get("type")
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
            raise QueueDecisionError("an entity from the editor has no whole-number start and end.")
        if not isinstance(kind, str) or not kind or any(ch.isspace() for ch in kind):
            raise QueueDecisionError("an entity from the editor has no type.")
        if not 0 <= start < end <= length:
            raise QueueDecisionError(f"an entity from the editor covers tokens {start}-{end}, outside the sentence's {length}.")
        parsed.append(tagging.Span(start, end, kind))
    parsed.sort()
    for before, after in zip(parsed, parsed[1:]):
        if after.start < before.end:
            raise QueueDecisionError(
                f"two entities from the editor overlap (tokens {before.start}-{before.end} and {after.start}-{after.end})."
            )
    return tagging.spans_to_tags(parsed, length)


def parse_decisions(value: object, items_by_id: dict[str, QueueItem]) -> list[Decision]:
    """The decisions of one message from the component (``{"decisions": [...]}``), tags built from spans.

    A malformed message raises :class:`QueueDecisionError`; a decision about a sentence this
    session was never sent keeps ``tags=None`` and is refused when recorded, with its client id.
    """
    if not isinstance(value, dict) or not isinstance(value.get("decisions"), list):
        raise QueueDecisionError("the editor sent a message without decisions.")
    raw = value["decisions"]
    if len(raw) > MAX_DECISIONS_PER_MESSAGE:
        raise QueueDecisionError(f"the editor sent {len(raw)} decisions at once; at most {MAX_DECISIONS_PER_MESSAGE}.")
    decisions = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise QueueDecisionError("a decision from the editor is not an object.")
        client_id, item_id, action = entry.get("clientId"), entry.get("itemId"), entry.get("action")
        if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
            raise QueueDecisionError("a decision from the editor has no valid id.")
        if not isinstance(item_id, str) or action not in ACTIONS:
            raise QueueDecisionError(f"a decision from the editor is not one of: {', '.join(ACTIONS)}.")
        item = items_by_id.get(item_id)
        tags = None
        if action != "skip" and item is not None:
            tags = tuple(tags_from_spans(entry.get("spans"), len(item.tokens)))
        decisions.append(Decision(client_id, item_id, action, tags))
    return decisions


def parse_table_request(value: object, items_by_id: dict[str, QueueItem]) -> tuple[str, list[str]]:
    """(item id, tags) of a request to open the shown sentence, as edited so far, in the token table."""
    if not isinstance(value, dict) or value.get("itemId") not in items_by_id:
        raise QueueDecisionError("the editor asked for the token table of a sentence this session was not sent.")
    item = items_by_id[value["itemId"]]
    return item.item_id, tags_from_spans(value.get("spans"), len(item.tokens))
