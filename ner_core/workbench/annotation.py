"""An analyst's correction checked: valid IOB2 over the model's tag set, shown and edited as a token table.

A correction is only ever saved when it passes :func:`validate_correction` (the annotation queue checks
an accepted sentence with it, :func:`update_correction` refuses anything else), so every stored
annotation can be exported as CoNLL/GMB CSV and fed to training as it is. The queue itself (pools,
orders, decisions) lives in :mod:`annotation_queue` and :mod:`annotation_pools`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ner_core.corpus import tags as tagging
from ner_core.errors import ConfigError, TagSchemeError

if TYPE_CHECKING:
    from ner_core.store.database import Store
    from ner_core.store.tables import Annotation

# The pool an annotation came from; the annotation queue adds its pools (annotation_pools.ANNOTATION_SOURCES).
SOURCES = ("typed", "upload", "test split", "validation split", "log", "review request", "flagged")
MAX_ANALYST_CHARS = 128


@dataclass(frozen=True)
class Problem:
    """One reason a correction cannot be saved; ``position`` is the token index when there is one."""

    message: str
    position: int | None = None


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


def update_correction(store: Store, annotation: Annotation, *, tags: Sequence[str], analyst: str, tag_set: Iterable[str]) -> None:
    """Validate and store new tags for a saved annotation (the analyst who edited it is recorded)."""
    name = _require_analyst(analyst)
    _require_valid(annotation.tokens, tags, tag_set)
    store.update_annotation(annotation.id, tags=list(tags), analyst=name)


# --------------------------------------------------------------------------- the test split as a pool
