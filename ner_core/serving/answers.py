"""A request's answer assembled from the model's tags: tokens with offsets and confidences, entities,
and the entity dicts the prediction log stores."""

from __future__ import annotations

from dataclasses import dataclass

from ner_core.serving.predictor import Entity, TokenTag, spans_to_entities


@dataclass
class TaggedText:
    """One text's answer: tokens with tags and confidences, entities with character offsets."""

    text: str
    tokens: list[TokenTag]
    entities: list[Entity]
    sentences: list[tuple[int, int]]


def entity_row(entity: Entity) -> dict:
    """An entity as the log stores it (``dataclasses.asdict`` deep-copies; this is a tenth of its cost)."""
    return {
        "type": entity.type,
        "text": entity.text,
        "start": entity.start,
        "end": entity.end,
        "confidence": entity.confidence,
        "token_start": entity.token_start,
        "token_end": entity.token_end,
    }


def assemble(text: str, sentences, tagged) -> TaggedText:
    tokens: list[TokenTag] = []
    entities: list[Entity] = []
    ranges = []
    for sentence, (tag_list, confidences) in zip(sentences, tagged):
        first = len(tokens)
        tokens.extend(TokenTag(t.text, t.start, t.end, tag, conf) for t, tag, conf in zip(sentence, tag_list, confidences))
        ranges.append((first, len(tokens)))
        entities.extend(spans_to_entities(text, sentence, tag_list, confidences, offset=first))
    return TaggedText(text, tokens, entities, ranges)
