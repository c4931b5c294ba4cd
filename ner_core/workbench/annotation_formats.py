"""Annotations as JSONL in the span format spaCy and Prodigy read, and the same JSONL imported back.

One JSON object per line::

    {"text": "Anna visited Oslo .",
     "tokens": [{"text": "Anna", "start": 0, "end": 4, "id": 0, "ws": true}, ...],
     "spans": [{"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "per"}, ...],
     "answer": "accept", "meta": {...}}

Offsets are characters of ``text`` (``end`` exclusive); ``token_end`` is inclusive, as Prodigy writes
it. An import is checked whole before anything is stored: bad JSON, a missing field, token offsets that
do not match the text, spans off token boundaries or overlapping each other stop it with the line number,
and nothing is written. Lines Prodigy marks ``"answer": "reject"`` or ``"ignore"`` are skipped, as
Prodigy's own training does. Imported annotations are stored with source ``import`` under the analyst
named for the import.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ner_core.corpus import tags as tagging
from ner_core.errors import AnnotationImportError
from ner_core.store.database import Store
from ner_core.store.tables import Annotation
from ner_core.workbench import annotation as annotation_module

IMPORT_SOURCE = "import"
MAX_IMPORT_BYTES = 20_000_000
SKIPPED_ANSWERS = ("reject", "ignore")


@dataclass(frozen=True)
class ImportedAnnotation:
    line: int
    text: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ImportResult:
    added: int  # new annotations stored
    unchanged: int  # the analyst already had exactly this version
    skipped: int  # lines answered reject/ignore


# --------------------------------------------------------------------------- export


def _separator(character: str) -> bool:
    """What may stand between tokens: whitespace and the invisible controls the tokenizer also skips."""
    return character.isspace() or unicodedata.category(character) in ("Cc", "Cf")


def token_offsets(text: str, tokens: Sequence[str]) -> list[tuple[int, int]] | None:
    """Character (start, end) of each token in ``text``, in order with only separators between; None if they do not line up."""
    offsets, cursor = [], 0
    for token in tokens:
        while cursor < len(text) and _separator(text[cursor]) and not text.startswith(token, cursor):
            cursor += 1
        if not token or not text.startswith(token, cursor):
            return None
        offsets.append((cursor, cursor + len(token)))
        cursor += len(token)
    return offsets


def span_record(text: str, tokens: Sequence[str], tags: Sequence[str]) -> dict:
    """``text``, ``tokens`` and ``spans`` of one tagged sentence. Tokens that do not line up with ``text``
    (never the case for text the workbench tokenized) are written over the tokens joined by spaces."""
    offsets = token_offsets(text, tokens)
    if offsets is None:
        text = " ".join(tokens)
        offsets = token_offsets(text, tokens)
    return {
        "text": text,
        "tokens": [
            {"text": token, "start": start, "end": end, "id": index, "ws": end < len(text) and text[end].isspace()}
            for index, (token, (start, end)) in enumerate(zip(tokens, offsets))
        ],
        "spans": [
            {
                "start": offsets[span.start][0],
                "end": offsets[span.end - 1][1],
                "token_start": span.start,
                "token_end": span.end - 1,
                "label": span.type,
            }
            for span in tagging.extract_spans(tags)
        ],
    }


def annotations_to_jsonl(annotations: Iterable) -> str:
    """One span-format line per annotation, with ``answer`` and where it came from in ``meta``."""
    lines = []
    for saved in annotations:
        record = span_record(saved.text, saved.tokens, saved.tags)
        record["answer"] = "accept"
        record["meta"] = {"annotation_id": saved.id, "analyst": saved.analyst, "source": saved.source}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------- import


def _fail(line: int, message: str) -> AnnotationImportError:
    return AnnotationImportError(f"line {line}: {message}; nothing was imported.")


def _decode(raw: bytes | str, name: str) -> str:
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > MAX_IMPORT_BYTES:
        raise AnnotationImportError(
            f"{name} is {size / 1e6:,.1f} MB; the limit for one import is {MAX_IMPORT_BYTES / 1e6:,.0f} MB."
        )
    if isinstance(raw, bytes):
        try:
            raw = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AnnotationImportError(f"{name} is not UTF-8 text (byte {exc.start:,}); save it as UTF-8 JSONL.") from None
    if not raw.strip():
        raise AnnotationImportError(f"{name} is empty; it needs one JSON object per line.")
    return raw


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_tokens(line: int, text: str, tokens) -> list[tuple[str, int, int]]:
    if not isinstance(tokens, list) or not tokens:
        raise _fail(line, "'tokens' must be a non-empty list of {text, start, end} objects")
    parsed: list[tuple[str, int, int]] = []
    for index, token in enumerate(tokens):
        if not isinstance(token, dict) or not all(field in token for field in ("text", "start", "end")):
            raise _fail(line, f"token {index} needs 'text', 'start' and 'end'")
        word, start, end = token["text"], token["start"], token["end"]
        if not isinstance(word, str) or not word or any(c.isspace() for c in word):
            raise _fail(line, f"token {index} must be a non-empty string without whitespace, got {word!r}")
        if not (_integer(start) and _integer(end)) or text[start:end] != word or start < 0:
            found = text[start:end] if _integer(start) and _integer(end) and start >= 0 else None
            raise _fail(line, f"token {index} ({word!r}) has offsets {start!r}-{end!r} but the text there is {found!r}")
        if parsed and start < parsed[-1][2]:
            raise _fail(line, f"token {index} ({word!r}) starts at {start}, before token {index - 1} ends; tokens overlap")
        parsed.append((word, start, end))
    return parsed


def _parse_spans(line: int, spans, tokens: list[tuple[str, int, int]], known_types: dict[str, str] | None) -> list[tagging.Span]:
    if not isinstance(spans, list):
        raise _fail(line, "'spans' must be a list (empty when the sentence has no entity)")
    starts = {start: index for index, (_, start, _) in enumerate(tokens)}
    ends = {end: index for index, (_, _, end) in enumerate(tokens)}
    parsed: list[tuple[tagging.Span, int]] = []
    for number, span in enumerate(spans):
        if not isinstance(span, dict) or not all(field in span for field in ("start", "end", "label")):
            raise _fail(line, f"span {number} needs 'start', 'end' and 'label'")
        start, end, label = span["start"], span["end"], span["label"]
        if not isinstance(label, str) or not tagging.is_valid_tag(f"B-{label}") or label == tagging.OUTSIDE or " " in label:
            raise _fail(line, f"span {number} has label {label!r}; a label is an entity type such as 'per' or 'geo'")
        if known_types is not None:
            if label.lower() not in known_types:
                allowed = ", ".join(sorted(known_types.values()))
                raise _fail(line, f"span {number} has label {label!r}, not one of the model's types ({allowed})")
            label = known_types[label.lower()]
        first, last = starts.get(start), ends.get(end)
        if first is None or last is None or last < first:
            raise _fail(line, f"span {number} ({label}) offsets {start!r}-{end!r} do not start and end on token boundaries")
        for field, expected in (("token_start", first), ("token_end", last)):
            if field in span and span[field] != expected:
                raise _fail(line, f"span {number} ({label}) has {field} {span[field]!r} but its offsets give token {expected}")
        parsed.append((tagging.Span(first, last + 1, label), number))
    parsed.sort()
    for (previous, previous_number), (current, number) in zip(parsed, parsed[1:]):
        if current.start < previous.end:
            raise _fail(
                line,
                f"spans {previous_number} ({previous.type}) and {number} ({current.type}) overlap; "
                "NER tags allow one entity per token",
            )
    return [span for span, _ in parsed]


def parse_jsonl(
    raw: bytes | str, *, name: str = "the file", known_types: Iterable[str] | None = None
) -> tuple[list[ImportedAnnotation], int]:
    """(the annotations of a span-format JSONL file, how many lines were skipped as rejected or ignored).

    ``known_types`` (a model's entity types): labels are matched to them ignoring case and any other
    label is refused. Raises :class:`AnnotationImportError` naming the first bad line.
    """
    text = _decode(raw, name)
    types = {kind.lower(): kind for kind in known_types} if known_types is not None else None
    records: list[ImportedAnnotation] = []
    seen: dict[str, int] = {}
    skipped = 0
    # Only \n ends a line: str.splitlines would also cut at U+2028 or U+0085, which JSON strings may hold as they are.
    for line, content in enumerate(text.split("\n"), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except json.JSONDecodeError as exc:
            raise _fail(line, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise _fail(line, "expected a JSON object with 'text', 'tokens' and 'spans'")
        if record.get("answer") in SKIPPED_ANSWERS:
            skipped += 1
            continue
        missing = [field for field in ("text", "tokens", "spans") if field not in record]
        if missing:
            raise _fail(line, f"missing field {', '.join(repr(field) for field in missing)}")
        sentence = record["text"]
        if not isinstance(sentence, str) or not sentence.strip():
            raise _fail(line, "'text' must be a non-empty string")
        tokens = _parse_tokens(line, sentence, record["tokens"])
        spans = _parse_spans(line, record["spans"], tokens, types)
        if sentence in seen:
            raise _fail(line, f"the same text as line {seen[sentence]}; keep one version of a sentence per import")
        seen[sentence] = line
        tags = tagging.spans_to_tags(spans, len(tokens))
        records.append(ImportedAnnotation(line, sentence, tuple(word for word, _, _ in tokens), tuple(tags)))
    if not records:
        raise AnnotationImportError(f"{name} holds no accepted annotation ({skipped} rejected or ignored); nothing was imported.")
    return records, skipped


def import_jsonl(
    store: Store, raw: bytes | str, *, analyst: str, name: str = "the file", known_types: Iterable[str] | None = None
) -> ImportResult:
    """Check the whole file, then store its annotations in one transaction (source ``import``, ``analyst``).

    A line identical to the analyst's current version of that sentence is not stored again, so importing
    the same file twice changes nothing.
    """
    who = (analyst or "").strip()
    if not who or len(who) > annotation_module.MAX_ANALYST_CHARS:
        raise AnnotationImportError(
            f"name the analyst the imported annotations belong to (1 to {annotation_module.MAX_ANALYST_CHARS} characters)."
        )
    records, skipped = parse_jsonl(raw, name=name, known_types=known_types)

    def work(session) -> ImportResult:
        texts = [record.text for record in records]
        current: dict[str, Annotation] = {}
        query = sa.select(Annotation).where(Annotation.analyst == who, Annotation.text.in_(texts)).order_by(Annotation.id)
        for row in session.scalars(query):
            kept = current.get(row.text)
            if kept is None or (row.updated_at, row.id) >= (kept.updated_at, kept.id):
                current[row.text] = row
        added = unchanged = 0
        for record in records:
            existing = current.get(record.text)
            if existing is not None and (tuple(existing.tokens), tuple(existing.tags)) == (record.tokens, record.tags):
                unchanged += 1
                continue
            tags = json.dumps(list(record.tags))
            session.add(
                Annotation(
                    analyst=who,
                    text=record.text,
                    tokens_json=json.dumps(list(record.tokens)),
                    tags_json=tags,
                    original_tags_json=tags,  # no model predicted these: nothing was corrected
                    model_run_id=None,
                    source=IMPORT_SOURCE,
                )
            )
            added += 1
        return ImportResult(added, unchanged, skipped)

    return store.write(work)
