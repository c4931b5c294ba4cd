"""Write sentences back out as GMB CSV or CoNLL, the two formats :mod:`reading` reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from ner_core.corpus.annotated import Sentence
from ner_core.corpus.validation import LAYOUT_CHARACTERS
from ner_core.errors import DataFormatError


def corpus_to_gmb_csv(sentences: Iterable[Sentence]) -> str:
    """Serialise sentences in the GMB CSV layout (used for exports and test fixtures)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Sentence #", "Word", "POS", "Tag"])
    for index, sentence in enumerate(sentences, start=1):
        pos = sentence.pos or [""] * len(sentence)
        for position, (word, part, tag) in enumerate(zip(sentence.words, pos, sentence.tags)):
            writer.writerow([f"Sentence: {index}" if position == 0 else "", word, part, tag])
    return buffer.getvalue()


def corpus_to_conll(sentences: Iterable[Sentence]) -> str:
    blocks = []
    for sentence in sentences:
        for word in sentence.words:
            if any(character in LAYOUT_CHARACTERS for character in word):
                raise DataFormatError(
                    f"sentence {sentence.number}: the word {word!r} holds a tab or line break, which CoNLL cannot "
                    "hold; export as CSV instead, or fix the word."
                )
        blocks.append("\n".join(f"{w}\t{t}" for w, t in zip(sentence.words, sentence.tags)))
    return "\n\n".join(blocks) + "\n"
