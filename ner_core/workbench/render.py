"""Entity highlighting as HTML, with every piece of user text escaped.

Like displaCy's renderer: text and labels go through ``html.escape`` before
they become markup, and colours come from a fixed palette, never from the input
itself. :func:`entity_palette` is the one place a type gets its colour, for the
highlighter, the charts and the span editor alike.
"""

from __future__ import annotations

import colorsys
import html
import re
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence

from ner_core.corpus import tags as tagging

# The GMB types' colours (displaCy's for the types they share), kept as analysts know them.
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
# Every other type takes one of these: light enough for black text, none equal or close to a GMB colour
# (chosen greedily for the largest smallest CIE76 distance to the colours before: 17 or more).
PALETTE = (
    "#6ce56c",
    "#ea9686",
    "#6cb2e5",
    "#b1dc74",
    "#6ce59e",
    "#db94d5",
    "#bedaef",
    "#ff9561",
    "#efbec2",
    "#e2b88d",
    "#e9e3a5",
    "#ababe3",
    "#74dcba",
    "#eea0c0",
    "#baf3e0",
    "#7dc5d4",
)
OUTSIDE_COLOUR = "#d0d0d0"  # the O tag in charts: no entity, so no entity colour


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


def _preferred_slot(entity_type: str) -> int:
    """A type's own palette entry (a stable hash), so its colour rarely changes between tag sets."""
    return zlib.crc32(entity_type.lower().encode("utf-8")) % len(PALETTE)


def _extra_colour(index: int) -> str:
    """The ``index``-th colour past the palette: hues a golden angle apart, light enough for black text."""
    red, green, blue = colorsys.hls_to_rgb((index * 0.381966) % 1.0, 0.8, 0.6)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def entity_palette(entity_types: Iterable[str]) -> dict[str, str]:
    """Type -> colour for one view's tag set, every type a different colour.

    GMB types keep :data:`KNOWN_COLOURS`; any other type takes its preferred :data:`PALETTE` entry,
    or the next one no type of the set has taken (types in sorted order, so the answer never depends
    on the order they were found in). Past the palette's 16, further colours are generated, so a set
    of any size stays distinct. Call it once per view with every type the view shows.
    """
    types = sorted(set(entity_types), key=lambda kind: (kind.lower(), kind))
    colours = {kind: KNOWN_COLOURS[kind.lower()] for kind in types if kind.lower() in KNOWN_COLOURS}
    taken = set(colours.values())
    extra = 0
    for kind in types:
        if kind in colours:
            continue
        start = _preferred_slot(kind)
        free = [PALETTE[(start + step) % len(PALETTE)] for step in range(len(PALETTE))]
        colour = next((candidate for candidate in free if candidate not in taken), None)
        while colour is None or colour in taken:
            colour, extra = _extra_colour(extra), extra + 1
        colours[kind] = colour
        taken.add(colour)
    return colours


def entity_colour(entity_type: str) -> str:
    """One type's colour on its own (its preferred entry); views with several types use :func:`entity_palette`."""
    return entity_palette([entity_type])[entity_type]


FLAGGED_STYLE = "outline:2px dashed #d62728;outline-offset:1px;"


def _mark(
    text: str, entity_type: str, confidence: float | None, *, colour: str, css_class: str = "", flagged: bool = False
) -> str:
    label = html.escape(entity_type)
    title = f' title="{html.escape(entity_type)} {confidence:.2f}"' if confidence is not None else ""
    extra = f" {css_class}" if css_class else ""
    extra += " flagged" if flagged else ""
    # Inline style, not a class: Streamlit markdown has no stylesheet of ours.
    outline = FLAGGED_STYLE if flagged else ""
    score = f' <span style="font-size:0.7em;opacity:0.7">{confidence:.2f}</span>' if confidence is not None else ""
    return (
        f'<mark class="entity{extra}" data-type="{label}"{title} style="{outline}background:{colour};'
        f'padding:0.1em 0.35em;margin:0 0.1em;border-radius:0.3em;line-height:2">{html.escape(text)}'
        f' <span style="font-size:0.72em;font-weight:bold;text-transform:uppercase">{label}</span>{score}</mark>'
    )


def highlight_text(
    text: str,
    entities: Iterable,
    *,
    show_confidence: bool = True,
    flagged: Collection[tuple[int, int, str]] = (),
    colours: Mapping[str, str] | None = None,
) -> str:
    """``entities`` have ``start``, ``end`` (character offsets), ``type`` and optionally ``confidence``.

    Entities whose ``(start, end, type)`` is in ``flagged`` get a dashed outline
    (e.g. where models disagree). ``colours`` is the view's :func:`entity_palette` (by default,
    one of these entities' types alone); pass it when several texts share one legend.
    """
    entities = list(entities)
    colours = colours if colours is not None else entity_palette(e.type for e in entities)
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
                colour=colours.get(entity.type) or entity_colour(entity.type),
                flagged=(entity.start, entity.end, entity.type) in flagged,
            )
        )
        cursor = entity.end
    pieces.append(html.escape(text[cursor:]))
    return '<div class="ner-highlight" style="white-space:pre-wrap;line-height:2.2">' + "".join(pieces) + "</div>"


def highlight_tokens(
    words: Sequence[str],
    tag_list: Sequence[str],
    *,
    marked_tokens: Iterable[int] = (),
    colours: Mapping[str, str] | None = None,
) -> str:
    """A tokenised sentence (e.g. from the corpus) with its IOB2 entities highlighted.

    A marked token outside any entity is underlined; an entity containing a
    marked token gets a dashed outline. ``colours`` as for :func:`highlight_text`.
    """
    marked = set(marked_tokens)
    spans = {span.start: span for span in tagging.extract_spans(tag_list)}
    colours = colours if colours is not None else entity_palette(span.type for span in spans.values())
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
                    colour=colours.get(span.type) or entity_colour(span.type),
                    flagged=any(p in marked for p in range(span.start, span.end)),
                )
            )
            position = span.end
        else:
            word = html.escape(words[position])
            pieces.append(f'<u style="text-decoration-color:red">{word}</u>' if position in marked else word)
            position += 1
    return '<div class="ner-highlight" style="line-height:2.2">' + " ".join(pieces) + "</div>"


def legend(entity_types: Iterable[str], colours: Mapping[str, str] | None = None) -> str:
    """The types' colour chips; ``colours`` is the view's :func:`entity_palette` (by default, of these types)."""
    entity_types = set(entity_types)
    colours = colours if colours is not None else entity_palette(entity_types)
    items = [
        f'<span style="background:{colours.get(t) or entity_colour(t)};padding:0.1em 0.5em;margin-right:0.4em;'
        f"border-radius:0.3em;"
        f'font-size:0.8em;font-weight:bold;text-transform:uppercase">{html.escape(t)}</span>'
        for t in sorted(entity_types)
    ]
    return '<div class="ner-legend">' + "".join(items) + "</div>"


def sentence_list(hits: Iterable) -> str:
    """Numbered corpus sentences with their entities highlighted and matched tokens marked, under one legend.

    Each hit has a ``sentence`` (words, tags, number) and the ``positions`` to mark (an ``explore.SearchHit``).
    """
    hits = list(hits)
    types = {span.type for hit in hits for span in tagging.extract_spans(hit.sentence.tags)}
    colours = entity_palette(types)
    blocks = [legend(types, colours)] + [
        f'<div style="font-size:0.8em;opacity:0.7">sentence {int(hit.sentence.number)}</div>'
        + highlight_tokens(hit.sentence.words, hit.sentence.tags, marked_tokens=hit.positions, colours=colours)
        for hit in hits
    ]
    return "\n".join(blocks)


def confusion_example(example) -> str:
    """One test sentence tagged twice, gold above predicted, with the confused tokens marked.

    ``example`` has ``number``, ``words``, ``gold_tags``, ``predicted_tags`` and ``positions``
    (a ``comparison.ConfusionExample``); only fixed labels are added to the escaped sentence.
    """
    tag_list = [*example.gold_tags, *example.predicted_tags]
    colours = entity_palette(tagging.split_tag(tag)[1] for tag in tag_list if tagging.split_tag(tag)[1])
    gold = highlight_tokens(example.words, example.gold_tags, marked_tokens=example.positions, colours=colours)
    predicted = highlight_tokens(example.words, example.predicted_tags, marked_tokens=example.positions, colours=colours)
    return (
        '<div style="display:grid;grid-template-columns:6em 1fr;align-items:center;margin-bottom:0.8em">'
        f"<b>sentence {int(example.number)}</b><span></span><span>gold</span>{gold}"
        f"<span>predicted</span>{predicted}</div>"
    )
