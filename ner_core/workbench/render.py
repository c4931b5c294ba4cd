"""Entity highlighting as HTML, with every piece of user text escaped.

Like displaCy's renderer: text and labels go through ``html.escape`` before
they become markup, and colours come from a fixed palette indexed by a stable
hash of the type, never from the input itself.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Collection, Iterable, Sequence

from ner_core.corpus import tags as tagging

KNOWN_COLOURS = {
    "geo": "#7aecec",
    "gpe": "#feca74",
    "per": "#aa9cfc",
    "org": "#bfeeb7",
    "tim": "#e4e7d2",
    "art": "#f0d0ff",
    "eve": "#ffeb80",
    "nat": "#c887fb",
}
PALETTE = ("#ff9561", "#9cc9cc", "#ddd", "#bfe1d9", "#e4e7d2", "#ffeb80", "#c887fb", "#aa9cfc", "#feca74", "#7aecec")


# What can turn one line of text into markup: emphasis, code, raw HTML and autolinks, math, strikethrough,
# tables. Links, images and link definitions also need "](" or "]:", escaped below; a line start is
# escaped on its own (headings, lists). Brackets, dots, dashes and colons elsewhere stay as typed, so
# "[E009] run x-1: ..." reads as written.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_<>$~|])")
_LINE_START_SPECIAL = "#-+="


def markdown_escape(text: object) -> str:
    """``text`` as literal characters inside a Markdown string (st.info, st.caption, st.error...).

    A word, tag name or error message that holds ``![x](url)`` would otherwise load that image for
    every viewer; a blank line and indentation would turn the rest into a code block. Newlines become
    spaces so a message stays one paragraph. Not for code spans, which do not honour escapes.
    """
    flat = " ".join(str(text).split())
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat).replace("](", "]\\(").replace("]:", "]\\:")
    return "\\" + escaped if escaped[:1] in _LINE_START_SPECIAL and escaped else escaped


def entity_colour(entity_type: str) -> str:
    """Known GMB types keep their colour; any other type gets a palette entry by a stable hash."""
    key = entity_type.lower()
    if key in KNOWN_COLOURS:
        return KNOWN_COLOURS[key]
    return PALETTE[zlib.crc32(key.encode("utf-8")) % len(PALETTE)]


FLAGGED_STYLE = "outline:2px dashed #d62728;outline-offset:1px;"


def _mark(text: str, entity_type: str, confidence: float | None, *, css_class: str = "", flagged: bool = False) -> str:
    label = html.escape(entity_type)
    title = f' title="{html.escape(entity_type)} {confidence:.2f}"' if confidence is not None else ""
    extra = f" {css_class}" if css_class else ""
    extra += " flagged" if flagged else ""
    # Inline style, not a class: Streamlit markdown has no stylesheet of ours.
    outline = FLAGGED_STYLE if flagged else ""
    score = f' <span style="font-size:0.7em;opacity:0.7">{confidence:.2f}</span>' if confidence is not None else ""
    return (
        f'<mark class="entity{extra}" data-type="{label}"{title} style="{outline}background:{entity_colour(entity_type)};'
        f'padding:0.1em 0.35em;margin:0 0.1em;border-radius:0.3em;line-height:2">{html.escape(text)}'
        f' <span style="font-size:0.72em;font-weight:bold;text-transform:uppercase">{label}</span>{score}</mark>'
    )


def highlight_text(
    text: str, entities: Iterable, *, show_confidence: bool = True, flagged: Collection[tuple[int, int, str]] = ()
) -> str:
    """``entities`` have ``start``, ``end`` (character offsets), ``type`` and optionally ``confidence``.

    Entities whose ``(start, end, type)`` is in ``flagged`` get a dashed outline
    (e.g. where models disagree).
    """
    pieces = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        if entity.start < cursor:  # overlapping spans cannot both be drawn; keep the first
            continue
        pieces.append(html.escape(text[cursor : entity.start]))
        confidence = getattr(entity, "confidence", None) if show_confidence else None
        pieces.append(
            _mark(
                text[entity.start : entity.end],
                entity.type,
                confidence,
                flagged=(entity.start, entity.end, entity.type) in flagged,
            )
        )
        cursor = entity.end
    pieces.append(html.escape(text[cursor:]))
    return '<div class="ner-highlight" style="white-space:pre-wrap;line-height:2.2">' + "".join(pieces) + "</div>"


def highlight_tokens(words: Sequence[str], tag_list: Sequence[str], *, marked_tokens: Iterable[int] = ()) -> str:
    """A tokenised sentence (e.g. from the corpus) with its IOB2 entities highlighted.

    A marked token outside any entity is underlined; an entity containing a
    marked token gets a dashed outline.
    """
    marked = set(marked_tokens)
    spans = {span.start: span for span in tagging.extract_spans(tag_list)}
    pieces = []
    position = 0
    while position < len(words):
        span = spans.get(position)
        if span is not None:
            pieces.append(
                _mark(
                    " ".join(words[span.start : span.end]),
                    span.type,
                    None,
                    flagged=any(p in marked for p in range(span.start, span.end)),
                )
            )
            position = span.end
        else:
            word = html.escape(words[position])
            pieces.append(f'<u style="text-decoration-color:red">{word}</u>' if position in marked else word)
            position += 1
    return '<div class="ner-highlight" style="line-height:2.2">' + " ".join(pieces) + "</div>"


def legend(entity_types: Iterable[str]) -> str:
    items = [
        f'<span style="background:{entity_colour(t)};padding:0.1em 0.5em;margin-right:0.4em;border-radius:0.3em;'
        f'font-size:0.8em;font-weight:bold;text-transform:uppercase">{html.escape(t)}</span>'
        for t in sorted(set(entity_types))
    ]
    return '<div class="ner-legend">' + "".join(items) + "</div>"


def sentence_list(hits: Iterable) -> str:
    """Numbered corpus sentences with their entities highlighted and matched tokens marked, under one legend.

    Each hit has a ``sentence`` (words, tags, number) and the ``positions`` to mark (an ``explore.SearchHit``).
    """
    hits = list(hits)
    types = {span.type for hit in hits for span in tagging.extract_spans(hit.sentence.tags)}
    blocks = [legend(types)] + [
        f'<div style="font-size:0.8em;opacity:0.7">sentence {int(hit.sentence.number)}</div>'
        + highlight_tokens(hit.sentence.words, hit.sentence.tags, marked_tokens=hit.positions)
        for hit in hits
    ]
    return "\n".join(blocks)


def confusion_example(example) -> str:
    """One test sentence tagged twice, gold above predicted, with the confused tokens marked.

    ``example`` has ``number``, ``words``, ``gold_tags``, ``predicted_tags`` and ``positions``
    (a ``comparison.ConfusionExample``); only fixed labels are added to the escaped sentence.
    """
    gold = highlight_tokens(example.words, example.gold_tags, marked_tokens=example.positions)
    predicted = highlight_tokens(example.words, example.predicted_tags, marked_tokens=example.positions)
    return (
        '<div style="display:grid;grid-template-columns:6em 1fr;align-items:center;margin-bottom:0.8em">'
        f"<b>sentence {int(example.number)}</b><span></span><span>gold</span>{gold}"
        f"<span>predicted</span>{predicted}</div>"
    )
