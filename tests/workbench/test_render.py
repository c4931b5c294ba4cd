"""Highlighting escapes every piece of user text and label; colours come from a fixed palette."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pytest

from ner_core.workbench import comparison, explore, render
from tests.helpers import make_sentence


@dataclass
class E:
    start: int
    end: int
    type: str
    confidence: float = 0.9


def test_html_in_text_and_labels_is_escaped():
    text = "Hi <script>alert(1)</script> from <img src=x onerror=alert(2)> Paris"
    out = render.highlight_text(text, [E(len(text) - 5, len(text), 'geo"><script>x</script>')])
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    assert 'data-type="geo&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in out


def test_entities_are_wrapped_in_order_and_text_is_kept():
    text = "Anna met Bob in Oslo"
    out = render.highlight_text(text, [E(16, 20, "geo"), E(0, 4, "per")], show_confidence=False)
    assert out.index(">Anna") < out.index(">Oslo")
    assert " met Bob in " in out and out.count("<mark") == 2


def test_colours_are_fixed_and_not_taken_from_input():
    assert render.entity_colour("geo") == render.KNOWN_COLOURS["geo"]
    for kind in ("CUSTOM", "red;background:url(x)", "x" * 100):
        assert render.entity_colour(kind) in render.PALETTE
    assert render.entity_colour("LOC") == render.entity_colour("LOC")


WNUT17_TYPES = ("person", "location", "corporation", "product", "creative-work", "group")


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def test_the_palette_never_repeats_a_gmb_colour_and_its_colours_are_far_apart():
    colours = [*render.KNOWN_COLOURS.values(), *render.PALETTE]
    assert len(set(colours)) == len(colours) == 24
    closest = min(
        sum((p - q) ** 2 for p, q in zip(_rgb(a), _rgb(b))) ** 0.5 for i, a in enumerate(colours) for b in colours[i + 1 :]
    )
    assert closest > 25  # RGB distance: no two chips that read as the same colour side by side


def test_wnut_types_get_distinct_colours_and_gmb_types_keep_theirs():
    palette = render.entity_palette(WNUT17_TYPES)
    assert palette["location"] != palette["product"]  # the pair the issue saw share a colour
    assert len(set(palette.values())) == len(WNUT17_TYPES)
    mixed = render.entity_palette([*WNUT17_TYPES, *render.KNOWN_COLOURS])
    assert {kind: mixed[kind] for kind in render.KNOWN_COLOURS} == render.KNOWN_COLOURS
    assert len(set(mixed.values())) == len(mixed) == 14


@pytest.mark.parametrize("count", [12, 16, 30])
def test_any_set_of_types_gets_as_many_colours_as_it_has_types(count):
    kinds = [f"type-{i}" for i in range(count)]
    palette = render.entity_palette(kinds)
    assert len(set(palette.values())) == count
    assert all(colour.startswith("#") and len(colour) == 7 for colour in palette.values())
    assert render.entity_palette(reversed(kinds)) == palette  # the order types were found in does not matter
    assert set(render.entity_palette(kinds[:12]).values()) <= set(render.PALETTE)  # 12 fit the fixed palette


def test_every_view_colours_its_marks_and_legend_from_one_palette():
    text = "Acme sells Widget in Lima"
    entities = [E(0, 4, "corporation"), E(11, 17, "product"), E(21, 25, "location")]
    palette = render.entity_palette(["corporation", "product", "location"])
    out = render.highlight_text(text, entities, show_confidence=False, colours=palette)
    for entity in entities:
        assert f'data-type="{entity.type}" style="background:{palette[entity.type]};' in out
    assert render.highlight_text(text, entities, show_confidence=False) == out  # the default is this text's palette
    chips = render.legend(palette)
    assert all(f"background:{colour};" in chips for colour in palette.values())
    hits = [explore.SearchHit(make_sentence("Acme/B-corporation sells/O Widget/B-product in/O Lima/B-location"), ())]
    listed = render.sentence_list(hits)
    assert all(listed.count(f"background:{colour};") == 2 for colour in palette.values())  # legend and mark


def test_token_highlight_uses_strict_iob2_spans():
    out = render.highlight_tokens(["New", "York", "<b>", "x"], ["B-geo", "I-geo", "O", "I-per"])
    assert out.count("<mark") == 1 and "New York" in out and "&lt;b&gt;" in out


def test_flagged_entities_and_marked_tokens_are_outlined():
    text = "Anna met Bob in Oslo"
    out = render.highlight_text(text, [E(0, 4, "per"), E(16, 20, "geo")], flagged={(16, 20, "geo"), (0, 3, "per")})
    assert out.count(render.FLAGGED_STYLE) == 1 and out.index(render.FLAGGED_STYLE) > out.index(">Anna")
    tokens = render.highlight_tokens(["Anna", "met", "Oslo"], ["B-per", "O", "B-geo"], marked_tokens=[1, 2])
    assert tokens.count(render.FLAGGED_STYLE) == 1 and "<u" in tokens


def test_sentence_list_numbers_each_sentence_under_one_legend_and_escapes_words():
    hits = [
        explore.SearchHit(make_sentence("Anna/B-per met/O <b>Bob</b>/O", 7), (2,)),
        explore.SearchHit(make_sentence("Oslo/B-geo ./O", 12), ()),
    ]
    out = render.sentence_list(hits)
    assert out.startswith(render.legend({"per", "geo"}))
    assert out.index("sentence 7") < out.index("sentence 12") and out.count("ner-highlight") == 2
    assert "<b>Bob</b>" not in out and "&lt;b&gt;Bob&lt;/b&gt;" in out
    assert out.count('<u style="text-decoration-color:red">') == 1  # the matched token
    assert render.sentence_list([]) == render.legend(())


def test_confusion_example_puts_gold_above_predicted_and_marks_the_confused_tokens():
    example = comparison.ConfusionExample(
        index=0,
        number=3,
        words=("Anna", "met", "<i>Oslo</i>"),
        gold_tags=("B-per", "O", "B-geo"),
        predicted_tags=("B-per", "O", "B-org"),
        positions=(2,),
    )
    out = render.confusion_example(example)
    assert "<b>sentence 3</b>" in out and out.index("<span>gold</span>") < out.index("<span>predicted</span>")
    gold, predicted = out.split("<span>predicted</span>")
    assert 'data-type="geo"' in gold and 'data-type="org"' in predicted
    assert gold.count(render.FLAGGED_STYLE) == 1 and predicted.count(render.FLAGGED_STYLE) == 1
    assert "<i>" not in out and "&lt;i&gt;Oslo&lt;/i&gt;" in out


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://127.0.0.1:9/b.png)",
        "see [here](http://127.0.0.1:9/) now",
        "**bold** _it_ `code` ~~gone~~",
        "$x^2$ a | b",
        "<b>tag</b> <http://127.0.0.1:9/>",
        "# heading",
        "- item",
        "[E009] run x-1: evaluation.json",
        "[x]: http://127.0.0.1:9/ defined",
    ],
)
def test_markdown_escape_leaves_no_markdown_syntax_and_keeps_every_character(text):
    import markdown_it

    escaped = render.markdown_escape(text)
    rendered = markdown_it.MarkdownIt("commonmark").render(escaped)
    assert "<img" not in rendered and "<strong>" not in rendered and "<em>" not in rendered and "<code>" not in rendered
    assert "<h1>" not in rendered and "<b>" not in rendered and "<a " not in rendered and "<li>" not in rendered
    assert "<del>" not in rendered
    assert html.unescape(rendered.removeprefix("<p>").removesuffix("</p>\n")) == text


def test_markdown_escape_makes_one_paragraph_of_a_multi_line_message():
    assert render.markdown_escape("first\n\n    indented\tline") == "first indented line"
    assert render.markdown_escape(ValueError("bad [x](y) *z*")) == "bad [x]\\(y) \\*z\\*"
