"""Active-learning helpers: rank unlabelled sentences by model uncertainty, check
and save an analyst's corrections, turn saved annotations into training data.

The review queue puts the sentences the model is least sure of first, so an
analyst's time goes where a correction teaches the model the most. A sentence's
confidence is either the *minimum* of its token confidences (one doubtful token
is enough to review it) or their *mean* (overall doubt); the page says which.

A correction is only ever saved when it is valid IOB2 over the model's tag set
(:func:`validate_correction`; :func:`save_correction` and
:func:`update_correction` refuse anything else), so every stored annotation can
be exported as CoNLL/GMB CSV and fed to training as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ner_core.corpus import annotated, tokenizer
from ner_core.corpus import tags as tagging
from ner_core.errors import ConfigError, InputTextError, ModelLoadError, TagSchemeError
from ner_core.evaluation import held_out

if TYPE_CHECKING:
    from ner_core.serving.predictor import Predictor
    from ner_core.store.database import Store
    from ner_core.store.tables import Annotation, Run

UNCERTAINTY_MEASURES = {
    "min": "minimum token confidence",
    "mean": "mean token confidence",
}
# The pool an annotation came from; the annotation queue adds its pools (annotation_pools.ANNOTATION_SOURCES).
SOURCES = ("typed", "upload", "test split", "validation split", "log", "review request", "flagged")
# A pool is tagged in full to rank it; this bounds the work of one upload.
MAX_POOL_CHARS = 2_000_000
MAX_POOL_SENTENCES = 20_000
MAX_ANALYST_CHARS = 128


@dataclass(frozen=True)
class ReviewItem:
    """One sentence of the review queue with what the model predicted for it."""

    text: str
    tokens: tuple[str, ...]
    predicted_tags: tuple[str, ...]
    confidences: tuple[float, ...]
    confidence: float  # the sentence's confidence under the measure used to rank it
    measure: str
    source: str
    position: int  # index in the pool, a stable tie-breaker

    @property
    def uncertainty(self) -> float:
        return 1.0 - self.confidence


@dataclass(frozen=True)
class Problem:
    """One reason a correction cannot be saved; ``position`` is the token index when there is one."""

    message: str
    position: int | None = None


# --------------------------------------------------------------------------- pool and queue


def pool_from_text(text: str) -> list[str]:
    """The sentences of pasted or uploaded plain text, split the way the tokenizer does."""
    if not isinstance(text, str):
        raise InputTextError("the text to annotate must be a string.")
    if len(text) > MAX_POOL_CHARS:
        raise InputTextError(
            f"the text is {len(text):,} characters; the limit for one pool is {MAX_POOL_CHARS:,}. Split it into smaller files."
        )
    sentences = [text[start:end] for start, end in tokenizer.split_sentences(text)]
    if len(sentences) > MAX_POOL_SENTENCES:
        raise InputTextError(
            f"the text has {len(sentences):,} sentences; the limit for one pool is "
            f"{MAX_POOL_SENTENCES:,}. Split it into smaller files."
        )
    return sentences


def text_from_upload(raw: bytes, name: str) -> str:
    """Decode an uploaded plain-text file (UTF-8, else latin-1); binaries are refused."""
    if b"\x00" in raw[:8192]:
        raise InputTextError(f"{name} looks like a binary file; upload plain text (.txt).")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise InputTextError(f"{name} is empty; it needs at least one sentence.")
    return text


def _tokens_of(item: str | Sequence[str] | annotated.Sentence) -> tuple[str, list[str]]:
    """(text, tokens) of a raw sentence, a token list or a Sentence (whose gold tags stay hidden)."""
    if isinstance(item, annotated.Sentence):
        return item.text, list(item.words)
    if isinstance(item, str):
        return item, [token.text for token in tokenizer.tokenize(item)]
    words = [str(word) for word in item]
    return " ".join(words), words


def sentence_confidence(confidences: Sequence[float], measure: str = "min") -> float:
    """A sentence's confidence: the minimum or the mean of its token confidences (1.0 when empty)."""
    if measure not in UNCERTAINTY_MEASURES:
        raise ConfigError(f"unknown uncertainty measure {measure!r}; choose one of: {', '.join(UNCERTAINTY_MEASURES)}.")
    if len(confidences) == 0:
        return 1.0
    values = np.asarray(confidences, dtype=float)
    return float(values.min() if measure == "min" else values.mean())


def review_queue(
    predictor: Predictor,
    sentences_or_texts: Iterable[str | Sequence[str] | annotated.Sentence],
    limit: int | None = 50,
    *,
    measure: str = "min",
    source: str = "typed",
    skip_texts: Iterable[str] = (),
) -> list[ReviewItem]:
    """Tag every sentence and return them least confident first (ties keep pool order).

    Items are raw sentences (tokenised with :mod:`ner_core.corpus.tokenizer`), token
    lists, or :class:`~ner_core.corpus.annotated.Sentence` objects whose gold tags are never
    looked at. Empty sentences and texts in ``skip_texts`` (already annotated)
    are left out; ``limit=None`` keeps them all.
    """
    if measure not in UNCERTAINTY_MEASURES:
        raise ConfigError(f"unknown uncertainty measure {measure!r}; choose one of: {', '.join(UNCERTAINTY_MEASURES)}.")
    if limit is not None and limit < 1:
        raise ConfigError(f"the queue length must be at least 1, got {limit!r}.")
    skipped = set(skip_texts)
    texts, token_lists = [], []
    for item in sentences_or_texts:
        text, tokens = _tokens_of(item)
        if tokens and text not in skipped:
            texts.append(text)
            token_lists.append(tokens)
    tagged = predictor.tag_sentences(token_lists) if token_lists else []
    items = [
        ReviewItem(
            text,
            tuple(tokens),
            tuple(tag_list),
            tuple(float(c) for c in confidences),
            sentence_confidence(confidences, measure),
            measure,
            source,
            position,
        )
        for position, (text, tokens, (tag_list, confidences)) in enumerate(zip(texts, token_lists, tagged))
    ]
    items.sort(key=lambda item: (item.confidence, item.position))
    return items if limit is None else items[:limit]


def annotated_in_pool(sentences_or_texts: Iterable[str | Sequence[str] | annotated.Sentence], skip_texts: Iterable[str]) -> int:
    """How many sentences of the pool :func:`review_queue` leaves out as already annotated (empty ones never count)."""
    done = set(skip_texts)
    counted = 0
    for item in sentences_or_texts:
        text, tokens = _tokens_of(item)
        counted += bool(tokens) and text in done
    return counted


def queue_frame(queue: Sequence[ReviewItem]) -> pd.DataFrame:
    """The queue as listed: rank (1 = least confident), confidence, token count and sentence."""
    return pd.DataFrame(
        {
            "rank": range(1, len(queue) + 1),
            "confidence": [item.confidence for item in queue],
            "tokens": [len(item.tokens) for item in queue],
            "sentence": [item.text for item in queue],
        },
        columns=["rank", "confidence", "tokens", "sentence"],
    )


def queue_choices(queue: Sequence[ReviewItem]) -> dict[str, tuple[int, ReviewItem]]:
    """Sentence text -> (rank, item) of its first place in the queue, queue order kept.

    A sentence is chosen by its text, not its position: after a save the queue moves up by one, and a
    position would then name the next sentence. A sentence occurring twice in a pool keeps its first place.
    """
    choices: dict[str, tuple[int, ReviewItem]] = {}
    for rank, item in enumerate(queue, start=1):
        choices.setdefault(item.text, (rank, item))
    return choices


def editor_key(text: str) -> str:
    """A short stable key for the editor of one sentence (its widgets keep their state per sentence)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def model_tag_set(tag_names: Iterable[str]) -> list[str]:
    """The tags an analyst may choose: ``O`` first, then B-/I- tags grouped by type (padding dropped)."""
    valid = {tag for tag in tag_names if tagging.is_valid_tag(tag)}
    valid.add(tagging.OUTSIDE)
    return sorted(valid, key=lambda tag: (tag != tagging.OUTSIDE, tagging.split_tag(tag)[1], tag))


# --------------------------------------------------------------------------- validation and saving


def validate_correction(tokens: Sequence[str], tags: Sequence[str | None], tag_set: Iterable[str]) -> list[Problem]:
    """Every reason ``tags`` cannot be saved for ``tokens``; an empty list means it is valid.

    Checks: one tag per token, every tag chosen and in the model's tag set, and
    strict IOB2 (an ``I-X`` must continue a ``B-X``/``I-X``; :func:`repair` fixes that).
    """
    problems: list[Problem] = []
    if not tokens:
        return [Problem("the sentence has no tokens.")]
    if len(tags) != len(tokens):
        return [Problem(f"{len(tokens)} tokens but {len(tags)} tags; every token needs exactly one tag.")]
    allowed = set(tag_set)
    for position, (token, tag) in enumerate(zip(tokens, tags)):
        if not tag:
            problems.append(Problem(f"token {position + 1} ({token!r}) has no tag.", position))
        elif not tagging.is_valid_tag(tag):
            problems.append(
                Problem(f"token {position + 1} ({token!r}): {tag!r} is not an IOB2 tag (O, B-type or I-type).", position)
            )
        elif tag not in allowed:
            problems.append(Problem(f"token {position + 1} ({token!r}): {tag!r} is not in the model's tag set.", position))
    if problems:
        return problems
    for position in tagging.iob2_violations(tags):
        kind = tagging.split_tag(tags[position])[1]
        problems.append(
            Problem(
                f"token {position + 1} ({tokens[position]!r}): {tags[position]} does not continue a {kind} entity "
                f"(IOB2 needs B-{kind} first); Repair makes it B-{kind}.",
                position,
            )
        )
    return problems


def repair(tags: Sequence[str]) -> list[str]:
    """Turn every stray ``I-X`` into ``B-X`` (:func:`ner_core.corpus.tags.repair_iob2`)."""
    return tagging.repair_iob2(tags)


def correction_frame(item: ReviewItem, tags: Sequence[str | None]) -> pd.DataFrame:
    """The token table of a queued sentence: the model's tag and confidence, and the ``tag`` being corrected."""
    if len(tags) != len(item.tokens):
        raise ConfigError(f"{len(item.tokens)} tokens but {len(tags)} tags to edit.")
    return pd.DataFrame(
        {
            "#": range(1, len(item.tokens) + 1),
            "token": list(item.tokens),
            "predicted": list(item.predicted_tags),
            "confidence": list(item.confidences),
            "tag": list(tags),
        },
        columns=["#", "token", "predicted", "confidence", "tag"],
    )


def saved_frame(annotation: Annotation) -> pd.DataFrame:
    """The token table of a saved annotation: the model's original tag and the analyst's ``tag``."""
    return pd.DataFrame(
        {
            "#": range(1, len(annotation.tokens) + 1),
            "token": list(annotation.tokens),
            "predicted": list(annotation.original_tags),
            "tag": list(annotation.tags),
        },
        columns=["#", "token", "predicted", "tag"],
    )


def edited_tags(values: Iterable) -> list[str | None]:
    """The tag column as an editor returns it: a chosen tag, or None for an empty or missing cell."""
    return [value if isinstance(value, str) and value else None for value in values]


def annotation_version(annotation: Annotation) -> str:
    """Changes whenever the annotation is saved again (its editor then starts from the stored tags)."""
    return annotation.updated_at.strftime("%Y%m%d%H%M%S%f") if annotation.updated_at else "0"


def _require_analyst(analyst: str) -> str:
    name = (analyst or "").strip()
    if not name:
        raise ConfigError("enter your name as analyst before saving; every annotation records who made it.")
    if len(name) > MAX_ANALYST_CHARS:
        raise ConfigError(f"the analyst name is longer than {MAX_ANALYST_CHARS} characters.")
    return name


def _require_valid(tokens: Sequence[str], tags: Sequence[str | None], tag_set: Iterable[str]) -> None:
    problems = validate_correction(tokens, tags, tag_set)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TagSchemeError(f"not saved: {problems[0].message}{more}")


def save_correction(
    store: Store,
    *,
    analyst: str,
    text: str,
    tokens: Sequence[str],
    tags: Sequence[str],
    original_tags: Sequence[str],
    model_run_id: str | None,
    source: str,
    tag_set: Iterable[str],
) -> int:
    """Validate and store one corrected sentence; returns the annotation id. Invalid input raises, nothing is saved."""
    name = _require_analyst(analyst)
    if source not in SOURCES:
        raise ConfigError(f"unknown annotation source {source!r}; one of: {', '.join(SOURCES)}.")
    _require_valid(tokens, tags, tag_set)
    if len(original_tags) != len(tokens):
        raise ConfigError(f"{len(tokens)} tokens but {len(original_tags)} predicted tags.")
    return store.add_annotation(
        analyst=name,
        text=text,
        tokens=list(tokens),
        tags=list(tags),
        original_tags=list(original_tags),
        model_run_id=model_run_id,
        source=source,
    )


def save_review_item(
    store: Store, item: ReviewItem, *, tags: Sequence[str], analyst: str, model_run_id: str | None, tag_set: Iterable[str]
) -> int:
    """:func:`save_correction` of one queued sentence: its text, tokens, the model's tags and the pool it came from."""
    return save_correction(
        store,
        analyst=analyst,
        text=item.text,
        tokens=list(item.tokens),
        tags=tags,
        original_tags=list(item.predicted_tags),
        model_run_id=model_run_id,
        source=item.source,
        tag_set=tag_set,
    )


def update_correction(store: Store, annotation: Annotation, *, tags: Sequence[str], analyst: str, tag_set: Iterable[str]) -> None:
    """Validate and store new tags for a saved annotation (the analyst who edited it is recorded)."""
    name = _require_analyst(analyst)
    _require_valid(annotation.tokens, tags, tag_set)
    store.update_annotation(annotation.id, tags=list(tags), analyst=name)


# --------------------------------------------------------------------------- the test split as a pool


def held_out_sentences(run: Run) -> list[annotated.Sentence]:
    """The test split a run was scored on, rebuilt from its run folder by
    :func:`ner_core.evaluation.held_out.test_split_for_run`: the dataset must still be the file the run
    was trained on (same sha256, same test size), else a DataFormatError says so."""
    if not run.run_dir:
        raise ModelLoadError(f"run {run.id} has no run folder, so its test split cannot be rebuilt.")
    return held_out.test_split_for_run(run.run_dir)
