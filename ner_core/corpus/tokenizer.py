"""Free text -> tokens and sentences the way the GMB corpus tokenizes them.

The models were trained on GMB ("Annotated Corpus for NER"), so user text has to
be cut into the same kind of tokens or the vocabulary lookups miss:

    Iran 's President ...     do n't / ca n't / I 'm    (Penn Treebank clitics)
    The U.S. military ...     Mr. Bush                  (abbreviations keep their period)
    $ 10 million , 5 %        ( AFP )                   (symbols and brackets split off)
    8,500  3.14  10:30  2005-2006  al-Qaida  U.S.-led   (kept whole)

Every token carries character offsets into the text it came from, so that
``text[token.start:token.end] == token.text`` always holds; entity spans shown to
the user are built from those offsets. Whitespace is never part of a token;
zero-width spaces and byte-order marks separate tokens the way spaces do.

Tokens come from one compiled regular expression scanned left to right. Each
alternative is atomic or possessive, so no input can make the engine backtrack
beyond a constant per character: tokenizing is linear in the length of the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ner_core import errors


# slots: a megabyte of text is ~200,000 tokens; a __dict__ each would add ~8 MB.
@dataclass(frozen=True, slots=True)
class Token:
    """A token and where it sits in the original text; ``end`` is exclusive."""

    text: str
    start: int
    end: int


# Abbreviations whose period belongs to the word. Sentence splitting also uses
# them: "Mr. Smith" is never two sentences.
ABBREVIATIONS = (
    "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Gen.", "Sen.", "Rep.", "Gov.",
    "Lt.", "Col.", "Sgt.", "Capt.", "St.", "Jr.", "Sr.", "Inc.", "Ltd.",
    "Corp.", "Co.", "vs.", "etc.", "No.", "Jan.", "Feb.", "Aug.", "Sept.",
    "Oct.", "Nov.", "Dec.", "U.S.", "U.N.", "U.K.", "E.U.", "e.g.", "i.e.",
)  # fmt: skip


def _combining_mark_class() -> str:
    """Character-class body for every combining mark (Unicode Mn, Mc, Me).

    ``\\w`` does not match combining marks, so without them a decomposed "é"
    (e + U+0301) or a Hindi vowel sign would cut a word in two. ``re`` has no
    Unicode-category syntax, hence the table. Planes above 1 hold only the
    variation selectors supplement, added by hand to keep import fast (~20 ms).
    """
    ranges: list[list[int]] = []
    for code in range(0x20000):
        if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    ranges.append([0xE0100, 0xE01EF])
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges
    )


_MARKS = _combining_mark_class()
# Soft hyphen, zero-width non-joiner and joiner occur inside words (Persian, Indic).
_WORD_CHAR = rf"[\w{_MARKS}\u00ad\u200c\u200d]"
# What may follow a symbol or emoji and still belong to it: marks, variation
# selectors (in _MARKS), skin tones, and the tag characters of subdivision flags.
_EXTEND = rf"[{_MARKS}\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]"
_APOSTROPHE = "['\u2019]"
_HYPHEN = "[-\u2010\u2011]"
# Characters that separate tokens without being whitespace to str.isspace(), as regex escapes:
# C0 and C1 controls (NUL included), bidirectional marks and embeddings, zero-width space, word
# joiner and invisible operators, BOM. None can be a word, so none may become an entity.
_INVISIBLE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"

_CLITIC = rf"{_APOSTROPHE}(?i:s|m|d|re|ve|ll)(?!\w)"
_NEGATION = rf"(?i:n{_APOSTROPHE}t)(?!\w)"
# A run of word characters that stops before "n't", so "don't" -> "do" + "n't".
_UNIT = rf"(?:(?!{_NEGATION}){_WORD_CHAR})++"
_INITIALISM = r"(?:[A-Za-z]\.){2,}+"
_PIECE = rf"(?>{_INITIALISM}|{_UNIT})"
_JOINER = (
    rf"{_HYPHEN}(?=\w)"  # long-term, al-Qaida, 2005-2006, U.S.-led
    rf"|(?<=\d)[.,:/](?=\d)"  # 8,500  3.14  10:30  1/2/2006
    rf"|(?!{_CLITIC}){_APOSTROPHE}(?=\w)"  # O'Brien, but not Iran's
)
# Initialisms (U.S., e.g.) are left to _INITIALISM, which also keeps "U.S.-led" whole.
_ABBREVIATION = "|".join(
    re.escape(abbreviation)
    for abbreviation in sorted(ABBREVIATIONS, key=len, reverse=True)
    if not re.fullmatch(_INITIALISM, abbreviation)
)

_TOKEN_PATTERN = re.compile(
    "|".join(
        [
            rf"(?<!\w)(?:{_ABBREVIATION})",
            # A single capital initial before a capitalised word: "George W. Bush".
            r"(?<!\w)[A-Z]\.(?=\s+[A-Z])",
            rf"(?<=[\w.]){_CLITIC}",
            _NEGATION,
            # (?=\w) first: a cheap test that spares punctuation the pieces' work.
            rf"(?=\w){_PIECE}(?:(?:{_JOINER}){_PIECE})*+",
            r"\.\.++|--++",
            # Anything else is one token per character, except that a regional-
            # indicator pair (a flag) or an emoji ZWJ sequence stays whole.
            rf"(?:[\U0001F1E6-\U0001F1FF]{{2}}|[^\s{_INVISIBLE}]){_EXTEND}*+"
            rf"(?:\u200d[^\s{_INVISIBLE}]{_EXTEND}*+)*+",
        ]
    )
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into GMB-style tokens with character offsets into ``text``."""
    _require_text(text)
    return _tokenize_range(text, 0, len(text))


def tokenize_sentences(text: str) -> list[list[Token]]:
    """Split into sentences, then tokens; offsets refer to the original ``text``."""
    _require_text(text)
    sentences = (_tokenize_range(text, start, end) for start, end in split_sentences(text))
    return [tokens for tokens in sentences if tokens]  # a "sentence" of controls only has no tokens


def _tokenize_range(text: str, start: int, end: int) -> list[Token]:
    # pos/endpos instead of slicing: offsets come out relative to ``text`` and
    # lookaheads cannot see past the sentence end, as if it had been sliced.
    return [Token(match.group(), match.start(), match.end()) for match in _TOKEN_PATTERN.finditer(text, start, end)]


# --- sentences -------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?]++[\"'\u201d\u2019)\]\u00bb]*+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*+\n")
_WHITESPACE = re.compile(r"\s++")
_OPENING_QUOTES = "\"'\u201c\u2018\u00ab"
_UPPERCASE_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]")  # "J", "U.S", "U.S.A"
_OPENING_PUNCTUATION = "\"'([{\u201c\u2018\u00ab"
# Further back than any abbreviation reaches; bounds the work per candidate.
_ABBREVIATION_LOOKBACK = 12


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences in ``text``, whitespace-trimmed.

    A sentence ends after ``.``, ``!`` or ``?`` (plus any closing quotes or
    brackets) that is followed by whitespace and then an uppercase letter, a
    digit or an opening quote - unless the period ends an abbreviation or
    capital initials ("Mr. Bush", "U.S. Army", "J. Smith"). A blank line always
    ends a sentence; a single line break does not (wrapped text).
    """
    _require_text(text)
    cuts = [match.start() for match in _BLANK_LINE.finditer(text)]
    cuts.extend(match.end() for match in _SENTENCE_END.finditer(text) if _ends_sentence(text, match))
    cuts.sort()
    spans = []
    start = 0
    for cut in [*cuts, len(text)]:
        span = _trim(text, start, cut)
        if span is not None:
            spans.append(span)
        start = cut
    return spans


def _ends_sentence(text: str, match: re.Match) -> bool:
    gap = _WHITESPACE.match(text, match.end())
    if gap is None or gap.end() == len(text):
        return False
    following = text[gap.end()]
    if not (following.isupper() or following.isdigit() or following in _OPENING_QUOTES):
        return False
    return match.group() != "." or not _is_abbreviation_before(text, match.start())


def _is_abbreviation_before(text: str, period: int) -> bool:
    """True if the word that ``text[period] == "."`` ends is an abbreviation."""
    start = period
    limit = max(0, period - _ABBREVIATION_LOOKBACK)
    while start > limit and not text[start - 1].isspace():
        start -= 1
    if start > 0 and not text[start - 1].isspace():
        return False  # longer than any abbreviation
    word = text[start:period].lstrip(_OPENING_PUNCTUATION)
    return f"{word}." in ABBREVIATIONS or _UPPERCASE_INITIALS.fullmatch(word) is not None


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _require_text(text: object) -> None:
    if not isinstance(text, str):
        raise errors.InputTextError(
            f"Text to tokenize must be a string, not {type(text).__name__}; decode bytes (for example as UTF-8) first."
        )


def tokenize_sentences_as_tuples(text: str) -> list[list[tuple[str, int, int]]]:
    """:func:`tokenize_sentences` as plain ``(text, start, end)`` tuples: the same tokens and sentences.

    For bulk tagging, which tokenizes megabytes: building a frozen :class:`Token` per token costs more
    than finding it (0.3 s of 0.45 s per megabyte here), a tuple a fraction of that.
    """
    _require_text(text)
    find = _TOKEN_PATTERN.finditer
    sentences = (
        [(match.group(), match.start(), match.end()) for match in find(text, start, end)] for start, end in split_sentences(text)
    )
    return [tokens for tokens in sentences if tokens]
