"""Tag a whole document set with one run and write the results as span-format JSONL.

Read: a ``.txt`` file (one document per line, or per paragraph between blank lines) or ``.jsonl`` with
a ``text`` field per line, UTF-8, at most :data:`MAX_DOCUMENT_SET_BYTES`. Tokenize: the GMB tokenizer,
sentence by sentence, offsets into each document (as plain tuples: a Token object each costs more than
the regex). Tag: :meth:`Predictor.tag_sentences` over chunks of about :data:`CHUNK_TOKENS` tokens (it
sorts each chunk by length, so batches carry little padding), never one model call per line; while the
model tags one chunk on a worker thread (ONNX Runtime and TensorFlow release the GIL), this thread
tokenizes the next and writes the previous. Write: one JSON line per document through
:func:`ner_core.atomic_files.open_atomic`, so a cancel or a failure leaves no
partial file. Each line is the span format of :mod:`ner_core.workbench.annotation_formats` plus
confidences::

    {"id": 3, "text": "...", "tokens": [{"text", "start", "end", "id"}],
     "spans": [{"start", "end", "token_start", "token_end", "label", "confidence"}],
     "sentences": [{"start", "end", "token_start", "token_end", "confidence"}], "confidence": 0.41}

A sentence's confidence is its least confident token's (the review queue's "min" measure); a span's is
the mean of its tokens'; a document's is its least confident sentence's.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ner_core.atomic_files import open_atomic
from ner_core.corpus import tags as tagging
from ner_core.corpus.documents import Document
from ner_core.corpus.tokenizer import tokenize_sentences_as_tuples

# Larger chunks cost less CPU per token (fewer, fuller model calls: on 1 MB here 2.3 s of CPU in one chunk,
# 2.5 s in 64k-token chunks, 2.75 s in 32k, 3.1 s in 16k) but report progress and honour a cancel less often.
CHUNK_TOKENS = 65_536
# The least confident sentences kept while tagging, so sending the N least confident to review needs no second pass.
LEAST_CONFIDENT_KEPT = 1_000


class TaggingCancelled(Exception):
    """Raised inside :func:`tag_to_file` when ``should_stop`` says so; nothing has been written."""


@dataclass(frozen=True)
class Progress:
    documents_done: int
    documents: int
    tokens_done: int
    chars_done: int
    chars: int


@dataclass(frozen=True)
class LowConfidenceSentence:
    confidence: float
    document: int
    sentence: int  # index within the document
    text: str


@dataclass
class TaggingSummary:
    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    seconds: float = 0.0
    offsets: list[int] = field(default_factory=list)  # byte offset of each document's line in the results file
    confidences: list[float] = field(default_factory=list)  # each document's confidence
    least_confident: list[LowConfidenceSentence] = field(default_factory=list)  # ascending confidence


# --------------------------------------------------------------------------- tag and write


def _chunks(documents: Sequence[Document], chunk_tokens: int):
    """(documents, their sentences as token lists) in runs of about ``chunk_tokens`` tokens."""
    batch: list[tuple[Document, list[list[tuple[str, int, int]]]]] = []
    tokens = 0
    for document in documents:
        sentences = tokenize_sentences_as_tuples(document.text)
        batch.append((document, sentences))
        tokens += sum(len(sentence) for sentence in sentences)
        if tokens >= chunk_tokens:
            yield batch
            batch, tokens = [], 0
    if batch:
        yield batch


def _record(document: Document, sentences: list[list[tuple[str, int, int]]], tagged: list[tuple[list[str], list[float]]]) -> dict:
    tokens, spans, sentence_rows = [], [], []
    for sentence_tokens, (tag_list, confidences) in zip(sentences, tagged):
        first = len(tokens)
        tokens.extend(
            {"text": word, "start": start, "end": end, "id": first + i} for i, (word, start, end) in enumerate(sentence_tokens)
        )
        for span in tagging.extract_spans(tag_list):
            span_confidences = confidences[span.start : span.end]
            spans.append(
                {
                    "start": sentence_tokens[span.start][1],
                    "end": sentence_tokens[span.end - 1][2],
                    "token_start": first + span.start,
                    "token_end": first + span.end - 1,
                    "label": span.type,
                    "confidence": round(sum(span_confidences) / len(span_confidences), 4),
                }
            )
        sentence_rows.append(
            {
                "start": sentence_tokens[0][1],
                "end": sentence_tokens[-1][2],
                "token_start": first,
                "token_end": len(tokens) - 1,
                "confidence": round(min(confidences), 4) if confidences else 1.0,
            }
        )
    confidence = min((row["confidence"] for row in sentence_rows), default=1.0)
    return {
        "id": document.number,
        "text": document.text,
        "tokens": tokens,
        "spans": spans,
        "sentences": sentence_rows,
        "confidence": confidence,
    }


def tag_to_file(
    predictor,
    documents: Sequence[Document],
    path: Path,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_tokens: int = CHUNK_TOKENS,
) -> TaggingSummary:
    """Tag every document and write the results file at ``path`` (whole, or not at all).

    ``on_progress`` is called after each chunk; when ``should_stop()`` turns true the work stops
    between chunks with :class:`TaggingCancelled` and no file is left behind.
    """
    started = time.perf_counter()
    summary = TaggingSummary()
    total_chars = sum(len(document.text) for document in documents)
    # The kept least confident sentences as a heap of (-confidence, -document, -sentence, text): its top is
    # the most confident kept one (the latest on a tie), the one a less confident sentence replaces.
    low: list[tuple[float, int, int, str]] = []
    chars_done = written = 0

    def tag(chunk):
        return predictor.tag_sentences([[token[0] for token in sentence] for _, sentences in chunk for sentence in sentences])

    with open_atomic(path) as stream, ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-tag") as pool:
        chunks = _chunks(documents, chunk_tokens)
        current = next(chunks, None)
        pending = pool.submit(tag, current) if current else None
        while current is not None:
            following = next(chunks, None)  # tokenized while the model tags the current chunk
            tagged = pending.result()
            pending = pool.submit(tag, following) if following else None
            position = 0
            lines = []
            for document, sentences in current:
                record = _record(document, sentences, tagged[position : position + len(sentences)])
                position += len(sentences)
                line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
                summary.offsets.append(written)
                written += len(line)
                lines.append(line)
                summary.confidences.append(record["confidence"])
                summary.sentences += len(sentences)
                summary.tokens += len(record["tokens"])
                summary.entities += len(record["spans"])
                for index, row in enumerate(record["sentences"]):
                    item = (-row["confidence"], -document.number, -index, document.text[row["start"] : row["end"]])
                    if len(low) < LEAST_CONFIDENT_KEPT:
                        heapq.heappush(low, item)
                    elif item > low[0]:
                        heapq.heapreplace(low, item)
                chars_done += len(document.text)
            stream.write(b"".join(lines))
            summary.documents += len(current)
            if on_progress is not None:
                on_progress(Progress(summary.documents, len(documents), summary.tokens, chars_done, total_chars))
            if should_stop is not None and should_stop():
                if pending is not None:
                    pending.cancel()
                raise TaggingCancelled()
            current = following
    summary.least_confident = [
        LowConfidenceSentence(-confidence, -document, -sentence, text)
        for confidence, document, sentence, text in sorted(low, reverse=True)
    ]
    summary.seconds = time.perf_counter() - started
    return summary
