"""Document sets uploaded as text: split per line, per paragraph or per JSONL record; bad files refused in one line."""

from __future__ import annotations

import pytest

from ner_core.corpus import documents as document_sets
from ner_core.errors import DocumentSetError


def test_text_files_split_per_line_or_per_paragraph_and_jsonl_reads_its_text_field():
    raw = b"First doc.\n\n  Second doc, line one\nline two  \n\n\nThird.\n"
    by_line = document_sets.read_documents(raw, "set.txt")
    assert [(d.number, d.line, d.text) for d in by_line] == [
        (1, 1, "First doc."),
        (2, 3, "Second doc, line one"),
        (3, 4, "line two"),
        (4, 7, "Third."),
    ]
    by_paragraph = document_sets.read_documents(raw, "set.TXT", split="paragraph")
    assert [(d.line, d.text) for d in by_paragraph] == [(1, "First doc."), (3, "Second doc, line one\nline two"), (7, "Third.")]
    jsonl = b'\xef\xbb\xbf{"text": "One.", "meta": 1}\n\n{"text": "  "}\n{"text": "Two\\u2028lines."}\n'
    assert [(d.number, d.line, d.text) for d in document_sets.read_documents(jsonl, "set.jsonl")] == [
        (1, 1, "One."),
        (2, 4, "Two\u2028lines."),
    ]


@pytest.mark.parametrize(
    ("raw", "name", "message"),
    [
        (b"x" * (document_sets.MAX_DOCUMENT_SET_BYTES + 1), "big.txt", "big.txt is 20.0 MB; a document set may be at most 20 MB"),
        (b"ok\n\xff\xfe bad", "latin.txt", "latin.txt is not UTF-8 text: byte 3 (line 2)"),
        (b"\x00\x01\x02", "blob.txt", "looks like a binary file"),
        (b" \n \n", "blank.txt", "blank.txt is empty"),
        (b'{"text": "ok"}\n{"text": "bad",\n', "set.jsonl", "set.jsonl line 2: not valid JSON"),
        (b'{"text": "ok"}\n["no object"]\n', "set.jsonl", "set.jsonl line 2: expected a JSON object with a string field 'text'"),
        (b'{"body": "no text"}\n', "set.jsonl", "line 1: expected a JSON object with a string field 'text'"),
        (b'{"text": "  "}\n', "set.jsonl", "holds no document with text"),
        (b"a,b\n", "table.csv", "upload a .txt or a .jsonl file"),
        (("word " * 20_001).encode(), "long.txt", "long.txt line 1: a document of 100,004 characters; the limit is 100,000"),
    ],
)
def test_a_bad_document_set_is_refused_with_one_line(raw, name, message):
    with pytest.raises(DocumentSetError) as caught:
        document_sets.read_documents(raw, name)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_just_under_the_limit_is_read():
    raw = ("word " * 19 + "word\n").encode() * (document_sets.MAX_DOCUMENT_SET_BYTES // 100)
    assert len(raw) == document_sets.MAX_DOCUMENT_SET_BYTES
    assert len(document_sets.read_documents(raw, "full.txt")) == document_sets.MAX_DOCUMENT_SET_BYTES // 100


def test_an_unknown_split_is_refused():
    with pytest.raises(DocumentSetError, match="unknown split 'page'"):
        document_sets.read_documents(b"x", "set.txt", split="page")


def test_latin1_is_read_only_when_asked_for():
    latin1 = "Café Zürich opened.".encode("latin-1")
    with pytest.raises(DocumentSetError, match="not UTF-8 text"):
        document_sets.read_documents(latin1, "old.txt")
    assert [d.text for d in document_sets.read_documents(latin1, "old.txt", latin1_fallback=True)] == ["Café Zürich opened."]
