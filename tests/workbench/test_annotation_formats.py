"""Span-format JSONL: exported annotations import back unchanged; every bad file is refused by line, nothing stored."""

from __future__ import annotations

import json

import pytest

from ner_core.errors import AnnotationImportError
from ner_core.store.database import Store
from ner_core.workbench import annotation_formats
from ner_core.workbench.annotation_formats import import_jsonl, parse_jsonl

SENTENCES = [
    ("Anna Berg visited Oslo on Monday .", "B-per I-per O B-geo O B-tim O"),
    ("The  Acme\tGroup opened   an office .", "O B-org I-org O O O O"),  # irregular spacing kept in the offsets
    ("<img src=x onerror=alert(1)> met Peter", "O O O O B-per"),
    ("Rain fell in Lima\u2028today .", "O O O B-geo O O"),  # a line separator inside the text is not a JSONL line end
    ("Nothing here .", "O O O"),
]


def tokens_of(text):
    return text.split()


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'formats.db'}")


def fill(store, analyst="ann"):
    for text, tags in SENTENCES:
        store.add_annotation(
            analyst=analyst,
            text=text,
            tokens=tokens_of(text),
            tags=tags.split(),
            original_tags=["O"] * len(tags.split()),
            model_run_id=None,
        )
    return store.list_annotations()


def content(annotations):
    return [(a.text, a.tokens, a.tags) for a in annotations]


def test_export_then_import_gives_back_the_same_annotations(db, tmp_path):
    saved = fill(db)
    exported = annotation_formats.annotations_to_jsonl(saved)
    assert len(exported.split("\n")) == len(SENTENCES) + 1  # one line each, the last one ended

    first = json.loads(exported.split("\n")[0])
    assert first["tokens"][1] == {"text": "Berg", "start": 5, "end": 9, "id": 1, "ws": True}
    assert first["spans"][0] == {"start": 0, "end": 9, "token_start": 0, "token_end": 1, "label": "per"}  # token_end inclusive
    second = json.loads(exported.split("\n")[1])
    assert [(t["start"], t["end"]) for t in second["tokens"][:3]] == [(0, 3), (5, 9), (10, 15)]
    assert first["meta"]["analyst"] == "ann" and first["answer"] == "accept"

    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    result = import_jsonl(other, exported.encode("utf-8"), analyst="ann", name="annotations.jsonl")
    assert (result.added, result.unchanged, result.skipped) == (len(SENTENCES), 0, 0)
    imported = other.list_annotations()
    assert content(imported) == content(saved)
    assert {(a.analyst, a.source, a.model_run_id) for a in imported} == {("ann", "import", None)}
    assert all(a.original_tags == a.tags for a in imported)  # no model predicted them: nothing counts as corrected
    # The same file again changes nothing.
    assert import_jsonl(other, exported, analyst="ann").unchanged == len(SENTENCES)
    assert len(other.list_annotations()) == len(SENTENCES)


def test_prodigy_style_labels_are_matched_to_the_models_types_and_rejected_lines_skipped(db):
    lines = [
        {"text": "Anna left", "tokens": [{"text": "Anna", "start": 0, "end": 4}, {"text": "left", "start": 5, "end": 9}],
         "spans": [{"start": 0, "end": 4, "label": "PER"}], "answer": "accept"},
        {"text": "Bo left", "tokens": [{"text": "Bo", "start": 0, "end": 2}, {"text": "left", "start": 3, "end": 7}],
         "spans": [], "answer": "reject"},
        {"text": "Cy left", "tokens": [{"text": "Cy", "start": 0, "end": 2}, {"text": "left", "start": 3, "end": 7}], "spans": [],
         "answer": "ignore"},
    ]  # fmt: skip
    raw = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    result = import_jsonl(db, raw, analyst="Eve", known_types=["per", "geo"])
    assert (result.added, result.skipped) == (1, 2)
    [saved] = db.list_annotations()
    assert (saved.text, saved.tags, saved.analyst) == ("Anna left", ["B-per", "O"], "Eve")


GOOD = {
    "text": "Anna visited Oslo",
    "tokens": [
        {"text": "Anna", "start": 0, "end": 4},
        {"text": "visited", "start": 5, "end": 12},
        {"text": "Oslo", "start": 13, "end": 17},
    ],
    "spans": [{"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "per"}],
}


def with_change(**change):
    return {**GOOD, **change}


BAD_LINES = [
    ("{not json", "line 2: not valid JSON"),
    ("[1, 2]", "line 2: expected a JSON object"),
    (json.dumps({"text": "x", "spans": []}), "line 2: missing field 'tokens'"),
    (json.dumps(with_change(text="")), "line 2: 'text' must be a non-empty string"),
    (json.dumps(with_change(tokens=[])), "line 2: 'tokens' must be a non-empty list"),
    (
        json.dumps(with_change(tokens=[{"text": "Anna", "start": 0, "end": 4}, {"text": "visited", "start": 4, "end": 11}])),
        "line 2: token 1 ('visited') has offsets 4-11 but the text there is ' visite'",
    ),
    (json.dumps(with_change(tokens=[{"text": "Anna", "start": 0}])), "line 2: token 0 needs 'text', 'start' and 'end'"),
    (
        json.dumps(with_change(spans=[{"start": 0, "end": 3, "label": "per"}])),
        "line 2: span 0 (per) offsets 0-3 do not start and end on token boundaries",
    ),
    (
        json.dumps(with_change(spans=[{"start": 0, "end": 4, "token_start": 0, "token_end": 1, "label": "per"}])),
        "line 2: span 0 (per) has token_end 1 but its offsets give token 0",
    ),
    (
        json.dumps(with_change(spans=[{"start": 0, "end": 12, "label": "per"}, {"start": 5, "end": 17, "label": "geo"}])),
        "line 2: spans 0 (per) and 1 (geo) overlap",
    ),
    (json.dumps(with_change(spans=[{"start": 0, "end": 4, "label": "O"}])), "line 2: span 0 has label 'O'"),
    (json.dumps(with_change(spans=[{"start": 0, "end": 4}])), "line 2: span 0 needs 'start', 'end' and 'label'"),
    (json.dumps(with_change(spans={"start": 0})), "line 2: 'spans' must be a list"),
    (json.dumps({**GOOD, "text": "Bo left"} | {"tokens": GOOD["tokens"]}), "line 2: token 0 ('Anna') has offsets 0-4"),
    (json.dumps({**GOOD, "text": "Bo left"}).replace("Bo left", "Bo"), "line 2: token 0 ('Anna')"),
    (json.dumps(GOOD), "line 2: the same text as line 1"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_a_bad_line_is_refused_with_its_line_number_and_nothing_is_stored(db, bad, message):
    first = json.dumps(GOOD)
    raw = f"{first}\n{bad}\n"
    with pytest.raises(AnnotationImportError, match="nothing was imported") as caught:
        import_jsonl(db, raw.encode("utf-8"), analyst="ann")
    assert message in str(caught.value)
    assert str(caught.value).startswith("[E030]") and "\n" not in str(caught.value)
    assert db.list_annotations() == []


def test_an_unknown_label_is_refused_when_the_models_types_are_given(db):
    raw = json.dumps(with_change(spans=[{"start": 0, "end": 4, "label": "PERSON"}]))
    with pytest.raises(
        AnnotationImportError, match=r"line 1: span 0 has label 'PERSON', not one of the model's types \(geo, per\)"
    ):
        import_jsonl(db, raw, analyst="ann", known_types=["per", "geo"])
    assert db.list_annotations() == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (json.dumps({**GOOD, "answer": "reject"}).encode(), "holds no accepted annotation"),
        (b"x" * (annotation_formats.MAX_IMPORT_BYTES + 1), "the limit for one import is 20 MB"),
    ],
)
def test_an_unusable_file_is_refused_whole(db, raw, message):
    with pytest.raises(AnnotationImportError, match=message):
        import_jsonl(db, raw, analyst="ann", name="upload.jsonl")
    assert db.list_annotations() == []


def test_an_import_needs_an_analyst_name(db):
    with pytest.raises(AnnotationImportError, match="name the analyst"):
        import_jsonl(db, json.dumps(GOOD), analyst=" ")
    assert db.list_annotations() == []


def test_a_utf8_bom_is_accepted_and_parse_reports_lines(db):
    records, skipped = parse_jsonl(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert skipped == 0 and [(r.line, r.tags) for r in records] == [(1, ("B-per", "O", "O"))]


def test_tokens_that_do_not_line_up_with_the_text_are_exported_over_the_joined_tokens():
    record = annotation_formats.span_record("Anna-left", ["Anna", "left"], ["B-per", "O"])
    assert record["text"] == "Anna left" and record["tokens"][1]["start"] == 5
