"""IOB2 checks over parsed sentences: every problem becomes a :class:`Finding` that
names the sentence and the source line, repaired or refused as the caller asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from ner_core.corpus import tags as tagging
from ner_core.corpus.annotated import Sentence, ValidationReport

# Characters that end a CoNLL field or line; inside a word (possible in a quoted CSV cell) they are kept
# but warned about, and the CoNLL export refuses them rather than writing a broken file.
LAYOUT_CHARACTERS = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")
# The remedy an IOB2 violation names, in the CLI's words; the app shows its own control instead
# (ner_core.workbench.app_wording).
CLI_REPAIR_HINT = "repair with --repair-iob"


def _check_tag(tag: str, sentence: int, line: int, report: ValidationReport) -> None:
    if not tagging.is_valid_tag(tag):
        hint = " (IOBES tags must be converted to IOB2)" if tag[:2] in ("E-", "S-") else ""
        report.add("error", "invalid_tag", f"tag {tag!r} is not O, B-X or I-X{hint}", sentence, line)


def _drop_bad(sentences: list[Sentence], bad: set[int]) -> list[Sentence]:
    return [s for s in sentences if s.number not in bad and s.words]


def validate_sentences(sentences: Sequence[Sentence], report: ValidationReport, *, repair_iob: bool) -> None:
    """IOB2 structure and duplicates; repairs stray ``I-X`` to ``B-X`` only when asked."""
    seen: dict[tuple, int] = {}
    for sentence in sentences:
        violations = tagging.iob2_violations(sentence.tags)
        if violations:
            if repair_iob:
                for position in violations:
                    old = sentence.tags[position]
                    report.add(
                        "repaired",
                        "iob2_repaired",
                        f"token {position + 1} {sentence.words[position]!r}: {old} -> B-{tagging.split_tag(old)[1]}",
                        sentence.number,
                        sentence.line + position,
                    )
                sentence.tags = tagging.repair_iob2(sentence.tags)
            else:
                for position in violations:
                    previous = sentence.tags[position - 1] if position else "sentence start"
                    report.add(
                        "error",
                        "iob2_violation",
                        f"token {position + 1} {sentence.words[position]!r} is {sentence.tags[position]} after "
                        f"{previous}; IOB2 needs B- first ({CLI_REPAIR_HINT})",
                        sentence.number,
                        sentence.line + position,
                    )
        for position, word in enumerate(sentence.words):
            if any(character in LAYOUT_CHARACTERS for character in word):
                report.add(
                    "warning",
                    "layout_in_word",
                    f"token {position + 1} {word!r} holds a tab or line break; the CoNLL export cannot write it",
                    sentence.number,
                    sentence.line + position,
                )
        key = (tuple(sentence.words), tuple(sentence.tags))
        if key in seen:
            report.add(
                "warning", "duplicate_sentence", f"same words and tags as sentence {seen[key]}", sentence.number, sentence.line
            )
        else:
            seen[key] = sentence.number
