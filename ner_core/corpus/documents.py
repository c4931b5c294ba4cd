"""Document sets a user uploads as plain text: ``.txt`` (one document per line, or per paragraph between
blank lines) or ``.jsonl`` (a ``text`` field per line), checked for size, binary content and encoding.

Bulk tagging reads its input here and the annotation queue its uploaded pools, so both accept the same
files and refuse bad ones with the same one-line messages (the line number included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ner_core.errors import DocumentSetError

MAX_DOCUMENT_SET_BYTES = 20_000_000
# A document is tagged as one text: the predictor's limit (serving.predictor.MAX_TEXT_CHARS is this value).
MAX_DOCUMENT_CHARS = 100_000
SPLIT_MODES = {"line": "one document per line", "paragraph": "one document per paragraph (blank lines between)"}
FILE_TYPES = ("txt", "jsonl")


@dataclass(frozen=True)
class Document:
    number: int  # 1-based position in the set
    text: str
    line: int  # where it starts in the uploaded file


def decode_document_set(raw: bytes, name: str, *, latin1_fallback: bool = False) -> str:
    """The uploaded bytes as text: at most 20 MB, not binary, UTF-8 (a BOM is dropped).

    ``latin1_fallback`` reads bytes that are not UTF-8 as latin-1 (GMB's own encoding), for an analyst's
    short pool of sentences; a bulk set is refused instead, as a wrong guess there would be tagged and kept.
    """
    if len(raw) > MAX_DOCUMENT_SET_BYTES:
        raise DocumentSetError(
            f"{name} is {len(raw) / 1e6:,.1f} MB; a document set may be at most {MAX_DOCUMENT_SET_BYTES / 1e6:,.0f} MB. "
            "Split it into several files."
        )
    if b"\x00" in raw[:8192]:
        raise DocumentSetError(f"{name} looks like a binary file; upload UTF-8 text (.txt) or JSON lines (.jsonl).")
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        if latin1_fallback:
            return _non_empty(raw.decode("latin-1"), name)
        line = raw[: exc.start].count(b"\n") + 1
        raise DocumentSetError(
            f"{name} is not UTF-8 text: byte {exc.start:,} (line {line}) cannot be decoded; save the file as UTF-8."
        ) from None
    return _non_empty(text, name)


def _non_empty(text: str, name: str) -> str:
    if not text.strip():
        raise DocumentSetError(f"{name} is empty; it needs at least one document.")
    return text


def read_documents(raw: bytes, name: str, *, split: str = "line", latin1_fallback: bool = False) -> list[Document]:
    """The documents of an uploaded ``.txt`` (``split`` per line or paragraph) or ``.jsonl`` file; blank ones are left out."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in FILE_TYPES:
        raise DocumentSetError(f"{name}: upload a .txt or a .jsonl file.")
    if split not in SPLIT_MODES:
        raise DocumentSetError(f"unknown split {split!r}; one of: {', '.join(SPLIT_MODES)}.")
    text = decode_document_set(raw, name, latin1_fallback=latin1_fallback)
    pieces = _jsonl_texts(text, name) if suffix == "jsonl" else _text_pieces(text, split)
    documents = []
    for line, piece in pieces:
        if len(piece) > MAX_DOCUMENT_CHARS:
            raise DocumentSetError(
                f"{name} line {line}: a document of {len(piece):,} characters; the limit is {MAX_DOCUMENT_CHARS:,}. "
                "Split it into paragraphs."
            )
        documents.append(Document(len(documents) + 1, piece, line))
    if not documents:
        raise DocumentSetError(f"{name} holds no document with text.")
    return documents


def _text_pieces(text: str, split: str) -> list[tuple[int, str]]:
    lines = text.split("\n")
    if split == "line":
        return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]
    pieces, current, first = [], [], 0
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            first = first or number
            current.append(line.rstrip("\r"))
        elif current:
            pieces.append((first, "\n".join(current).strip()))
            current, first = [], 0
    return pieces


def _jsonl_texts(text: str, name: str) -> list[tuple[int, str]]:
    pieces = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentSetError(f"{name} line {number}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DocumentSetError(f"{name} line {number}: expected a JSON object with a string field 'text'.")
        if record["text"].strip():
            pieces.append((number, record["text"]))
    return pieces
