"""IOB2 tag-scheme utilities shared by data validation, metrics and inference.

Strict IOB2: an entity starts with ``B-X`` and continues with ``I-X``; an ``I-X``
that does not follow ``B-X`` or ``I-X`` is a violation. Strict extraction ignores
such stray tokens, exactly as seqeval's ``mode="strict", scheme=IOB2`` does, so
the spans we show users and the spans we score are the same spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

OUTSIDE = "O"
PAD_TAG = "<PAD>"


@dataclass(frozen=True, order=True)
class Span:
    """An entity as token positions; ``end`` is exclusive."""

    start: int
    end: int
    type: str


def split_tag(tag: str) -> tuple[str, str]:
    """Return (prefix, type): ``"B-geo" -> ("B", "geo")``, ``"O" -> ("O", "")``."""
    if tag == OUTSIDE or tag == PAD_TAG or not tag:
        return OUTSIDE, ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIES":
        return tag[0], tag[2:]
    # A bare label like "PER" is read as an inside tag; validation reports it.
    return "I", tag


def is_valid_tag(tag: str) -> bool:
    """True for ``O`` and ``B-X``/``I-X`` with a non-empty type."""
    return tag == OUTSIDE or (len(tag) > 2 and tag[0] in "BI" and tag[1] == "-")


def iob2_violations(tags: Sequence[str]) -> list[int]:
    """Positions of ``I-X`` tags that do not follow ``B-X`` or ``I-X``."""
    bad: list[int] = []
    previous_type = ""
    for position, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        if prefix == "I" and kind != previous_type:
            bad.append(position)
        previous_type = kind if prefix in ("B", "I") else ""
    return bad


def is_valid_iob2(tags: Sequence[str]) -> bool:
    return not iob2_violations(tags) and all(is_valid_tag(t) for t in tags)


def repair_iob2(tags: Sequence[str]) -> list[str]:
    """Turn every stray ``I-X`` into ``B-X`` (this is also IOB1 -> IOB2)."""
    repaired = list(tags)
    for position in iob2_violations(tags):
        repaired[position] = "B-" + split_tag(tags[position])[1]
    return repaired


def extract_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans under strict IOB2; stray ``I-X`` tokens start no entity."""
    spans: list[Span] = []
    start, kind = -1, ""
    for position, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, tag_type = split_tag(tag)
        if start >= 0 and not (prefix == "I" and tag_type == kind):
            spans.append(Span(start, position, kind))
            start, kind = -1, ""
        if prefix == "B":
            start, kind = position, tag_type
    return spans


def spans_to_tags(spans: Iterable[Span], length: int) -> list[str]:
    """Inverse of :func:`extract_spans` for non-overlapping spans."""
    tags = [OUTSIDE] * length
    for span in spans:
        tags[span.start] = "B-" + span.type
        for position in range(span.start + 1, span.end):
            tags[position] = "I-" + span.type
    return tags


def entity_types(tag_names: Iterable[str]) -> list[str]:
    """Sorted entity types present in a tag inventory."""
    return sorted({split_tag(t)[1] for t in tag_names if split_tag(t)[1]})
