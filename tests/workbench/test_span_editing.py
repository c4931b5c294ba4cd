"""The span editor's Python half: the legend, the payload, spans back to IOB2, and refusing malformed messages."""

from __future__ import annotations

import pytest

from ner_core.corpus import tags as tagging
from ner_core.errors import QueueDecisionError
from ner_core.serving.predictor import LOW_CONFIDENCE
from ner_core.workbench import render, span_editing
from ner_core.workbench.annotation_pools import item_id
from ner_core.workbench.annotation_queue import Decision, QueueItem

TOKENS = ("Anna", "Berg", "visited", "New", "York", "on", "Monday", ".")
TAGS = ("B-per", "I-per", "O", "B-geo", "I-geo", "O", "B-tim", "O")


def queue_item(text="Anna Berg visited New York on Monday .", tokens=TOKENS, tags=TAGS, pool="validation") -> QueueItem:
    confidences = tuple(0.5 + 0.05 * i for i in range(len(tokens)))
    runner_up = tuple(0.1 for _ in tokens)
    return QueueItem(item_id(text), text, tokens, tags, confidences, runner_up, min(confidences), "confidence", pool, 0)


def test_the_legend_keys_the_first_eight_types_and_takes_colours_from_the_palette():
    tag_set = ["O"] + [f"{prefix}-{kind}" for kind in "abcdefghij" for prefix in "BI"]
    labels = span_editing.editor_labels(tag_set)
    assert [label["type"] for label in labels] == list("abcdefghij")
    assert [label["key"] for label in labels] == ["1", "2", "3", "4", "5", "6", "7", "8", None, None]
    assert all(label["colour"] == render.entity_colour(label["type"]) for label in labels)
    gmb = span_editing.editor_labels(["O", "B-per", "I-per", "B-geo", "B-tim", "I-tim"])
    assert [(label["key"], label["type"]) for label in gmb] == [("1", "geo"), ("2", "per"), ("3", "tim")]


def test_the_payload_sends_a_few_sentences_ahead_and_can_start_from_edited_tags():
    items = [queue_item(text=f"Anna Berg visited New York on Monday {n} .") for n in range(span_editing.PREFETCH + 3)]
    edited = ["O"] * len(TOKENS)
    data = span_editing.editor_data(
        items,
        labels=span_editing.editor_labels(TAGS),
        epoch="run|validation|confidence",
        remaining=len(items),
        analyst="Ada",
        order="confidence",
        acknowledged=["c1"],
        first_tags=edited,
        ranks={item.item_id: 10 * number for number, item in enumerate(items, start=1)},
    )
    assert len(data["items"]) == span_editing.PREFETCH
    assert [item["rank"] for item in data["items"]] == [10 * n for n in range(1, span_editing.PREFETCH + 1)]
    assert [item["id"] for item in data["items"]] == [item.item_id for item in items[: span_editing.PREFETCH]]
    assert data["items"][0]["tags"] == edited and data["items"][1]["tags"] == list(TAGS)
    assert data["items"][0]["confidences"] == pytest.approx([0.5 + 0.05 * i for i in range(len(TOKENS))], abs=1e-4)
    assert data["items"][0]["margins"] == pytest.approx([0.4 + 0.05 * i for i in range(len(TOKENS))], abs=1e-4)
    assert data["lowConfidence"] == LOW_CONFIDENCE and data["remaining"] == len(items)
    assert data["acknowledged"] == ["c1"] and data["rejected"] == []


def test_spans_become_iob2_exactly_as_the_editor_builds_them():
    spans = [{"start": 6, "end": 7, "type": "tim"}, {"start": 0, "end": 2, "type": "per"}, {"start": 3, "end": 5, "type": "geo"}]
    assert span_editing.tags_from_spans(spans, len(TOKENS)) == list(TAGS)
    assert span_editing.tags_from_spans([], 3) == ["O", "O", "O"]
    adjacent = [{"start": 0, "end": 1, "type": "per"}, {"start": 1, "end": 3, "type": "per"}]
    assert span_editing.tags_from_spans(adjacent, 3) == ["B-per", "B-per", "I-per"]
    assert tagging.is_valid_iob2(span_editing.tags_from_spans(adjacent, 3))


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ("B-per", "no list"),
        (["x"], "not an object"),
        ([{"start": 0, "end": "2", "type": "per"}], "whole-number"),
        ([{"start": True, "end": 2, "type": "per"}], "whole-number"),
        ([{"start": 0, "end": 2, "type": ""}], "no type"),
        ([{"start": 0, "end": 2, "type": "p er"}], "no type"),
        ([{"start": 2, "end": 2, "type": "per"}], "outside"),
        ([{"start": 7, "end": 9, "type": "per"}], "outside"),
        ([{"start": -1, "end": 1, "type": "per"}], "outside"),
        ([{"start": 0, "end": 3, "type": "per"}, {"start": 2, "end": 4, "type": "geo"}], "overlap"),
    ],
)
def test_malformed_spans_are_refused(spans, message):
    with pytest.raises(QueueDecisionError, match=message):
        span_editing.tags_from_spans(spans, len(TOKENS))


def test_decisions_are_parsed_with_tags_built_from_their_spans():
    item = queue_item()
    items = {item.item_id: item}
    message = {
        "decisions": [
            {"clientId": "c1", "itemId": item.item_id, "action": "accept", "spans": [{"start": 0, "end": 2, "type": "org"}]},
            {"clientId": "c2", "itemId": item.item_id, "action": "skip", "spans": None},
            {"clientId": "c3", "itemId": "unknown", "action": "flag", "spans": []},
        ]
    }
    accept, skip, unknown = span_editing.parse_decisions(message, items)
    assert accept == Decision("c1", item.item_id, "accept", ("B-org", "I-org", "O", "O", "O", "O", "O", "O"))
    assert skip == Decision("c2", item.item_id, "skip", None)
    assert unknown == Decision("c3", "unknown", "flag", None)  # refused when recorded, with its client id


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (None, "without decisions"),
        ({"decisions": "x"}, "without decisions"),
        ({"decisions": ["x"]}, "not an object"),
        ({"decisions": [{"clientId": "", "itemId": "a", "action": "skip"}]}, "no valid id"),
        ({"decisions": [{"clientId": "c" * 65, "itemId": "a", "action": "skip"}]}, "no valid id"),
        ({"decisions": [{"clientId": "c", "itemId": "a", "action": "delete"}]}, "not one of"),
        ({"decisions": [{"clientId": "c", "itemId": "a", "action": "skip"}] * 201}, "at most 200"),
    ],
)
def test_a_malformed_message_is_one_clear_error(message, error):
    with pytest.raises(QueueDecisionError, match=error):
        span_editing.parse_decisions(message, {})


def test_the_token_table_request_carries_the_edited_tags():
    item = queue_item()
    spans = [{"start": 3, "end": 5, "type": "gpe"}]
    assert span_editing.parse_table_request({"itemId": item.item_id, "spans": spans}, {item.item_id: item}) == (
        item.item_id,
        ["O", "O", "O", "B-gpe", "I-gpe", "O", "O", "O"],
    )
    with pytest.raises(QueueDecisionError, match="not sent"):
        span_editing.parse_table_request({"itemId": "nope", "spans": []}, {item.item_id: item})


def test_the_token_table_shows_the_same_sentence_with_the_tags_to_edit():
    item = queue_item()
    frame = span_editing.token_table(item, ["O"] * len(TOKENS))
    assert list(frame.columns) == ["#", "token", "predicted", "confidence", "tag"]
    assert list(frame["token"]) == list(TOKENS) and list(frame["predicted"]) == list(TAGS)
    assert list(frame["tag"]) == ["O"] * len(TOKENS) and list(frame["#"]) == list(range(1, len(TOKENS) + 1))
    with pytest.raises(QueueDecisionError, match="8 tokens but 2 tags"):
        span_editing.token_table(item, ["O", "O"])


def test_a_sentence_can_start_from_proposed_tags_unless_edits_were_carried_over():
    items = [queue_item(text=f"Anna Berg visited New York on Monday {n} .") for n in range(3)]
    proposed = {items[0].item_id: ["O"] * len(TOKENS), items[1].item_id: ["B-org"] + ["O"] * (len(TOKENS) - 1)}
    common = dict(labels=[], epoch="e", remaining=3, analyst="Ada", order="confidence")
    data = span_editing.editor_data(items, proposed=proposed, **common)
    assert [item["tags"] for item in data["items"]] == [proposed[items[0].item_id], proposed[items[1].item_id], list(TAGS)]
    carried = ["B-gpe"] + ["O"] * (len(TOKENS) - 1)
    data = span_editing.editor_data(items, proposed=proposed, first_tags=carried, **common)
    assert data["items"][0]["tags"] == carried and data["items"][1]["tags"] == proposed[items[1].item_id]
