"""Tests for ner_core.corpus.tokenizer: GMB-style tokens, exact offsets, sentence spans."""

from __future__ import annotations

import random

import pytest

from ner_core import errors
from ner_core.corpus import tokenizer

# Characters no alternative of the tokenizer matches besides whitespace: they
# separate tokens like a space does, although str.isspace() says otherwise.
INVISIBLE_SEPARATORS = "\u200b\u2060\ufeff"


def texts(text: str) -> list[str]:
    return [token.text for token in tokenizer.tokenize(text)]


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in tokenizer.split_sentences(text)]


def assert_well_formed(text: str, tokens: list[tokenizer.Token]) -> None:
    """Offsets exact, no whitespace in a token, in order, nothing visible dropped."""
    covered = [False] * len(text)
    previous_end = 0
    for token in tokens:
        assert token.text, (text, token)
        assert text[token.start : token.end] == token.text, (text, token)
        assert not any(character.isspace() for character in token.text), (text, token)
        assert token.start >= previous_end, (text, token)
        previous_end = token.end
        covered[token.start : token.end] = [True] * len(token.text)
    for index, character in enumerate(text):
        if not covered[index]:
            assert character.isspace() or character in INVISIBLE_SEPARATORS, (text, index)


ODD_TEXTS = [
    "",
    " ",
    "\t\n\r\n \u00a0\u2003",
    "Hello\u00a0world",
    "line one\r\nline two\r\n\r\nline three",
    "tabs\tbetween\twords",
    "many     spaces   here",
    "caf\u00e9 na\u00efve re\u0301sume\u0301 Stra\u00dfe \u0130stanbul",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u4e2d\u6587\u5b57 \ud55c\uad6d\uc5b4",
    "emoji \U0001f44d\U0001f3fd \U0001f1fa\U0001f1f8 \U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f 1\ufe0f\u20e3",
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f flag",
    "zero\u200bwidth\ufeffbom\u2060joiner",
    "lone surrogate \ud800 here",
    "\u0301 leading mark",
    "<script>alert(1)</script>",
    "a'b'c'' ''' ``quoted'' n't 's 'm",
    "...--...!!!???",
    "U.S.A.B.C.D.E. a.b.c.d.e.f",
    "x" * 5000,
    "-" * 300 + "a" + "." * 300,
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_offsets_are_exact_for_odd_text(text):
    assert_well_formed(text, tokenizer.tokenize(text))


def random_strings(count: int, seed: int) -> list[str]:
    alphabet = (
        list("abcxyzABCXYZ0123456789")
        + list("   \t\n\r")
        + list(".,;:!?'\"-$%()[]<>/&@#_")
        + ["\u00e9", "\u00fc", "\u00f1", "\u0301", "\u2019", "\u201c", "\u201d", "\u2014"]
        + ["\u00a0", "\u200b", "\u200d", "\ufe0f", "\u4e2d", "\u0939\u093f"]
        + ["\U0001f600", "\U0001f44d", "\U0001f3fd", "\U0001f1fa", "\U0001f1f8"]
        + ["n't", "'s", "Mr.", "U.S.", "\r\n", "\n\n", "8,500", "3.5"]
    )
    generator = random.Random(seed)
    return ["".join(generator.choice(alphabet) for _ in range(generator.randint(0, 80))) for _ in range(count)]


@pytest.mark.parametrize("text", random_strings(500, seed=20240601))
def test_offsets_are_exact_for_random_text(text):
    assert_well_formed(text, tokenizer.tokenize(text))
    spans = tokenizer.split_sentences(text)
    assert_sentence_spans_well_formed(text, spans)
    by_sentence = tokenizer.tokenize_sentences(text)
    assert len(by_sentence) == len(spans)
    for (start, end), sentence_tokens in zip(spans, by_sentence):
        assert all(start <= token.start < token.end <= end for token in sentence_tokens)
    assert_well_formed(text, [token for sentence in by_sentence for token in sentence])


def assert_sentence_spans_well_formed(text: str, spans: list[tuple[int, int]]) -> None:
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text), (text, spans)
        assert not text[start].isspace() and not text[end - 1].isspace(), (text, spans)
        previous_end = end
    inside = [False] * len(text)
    for start, end in spans:
        inside[start:end] = [True] * (end - start)
    assert all(inside[i] or text[i].isspace() for i in range(len(text))), (text, spans)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Thousands of demonstrators have marched through London to protest the war "
            "in Iraq and demand the withdrawal of British troops from that country.",
            "Thousands of demonstrators have marched through London to protest the war "
            "in Iraq and demand the withdrawal of British troops from that country .",
        ),
        (
            "Iran's President Mahmoud Ahmadinejad said",
            "Iran 's President Mahmoud Ahmadinejad said",
        ),
        ("The U.S. military said 8,500 troops", "The U.S. military said 8,500 troops"),
        ("Mr. Bush met U.N. envoys.", "Mr. Bush met U.N. envoys ."),
        ("$10 million", "$ 10 million"),
        ("50 percent", "50 percent"),
        ("up 5%", "up 5 %"),
        ('He said "no."', 'He said " no . "'),
        ("(AFP)", "( AFP )"),
        ("al-Qaida long-term U.S.-led", "al-Qaida long-term U.S.-led"),
        ("3.5 10:30 21st 2006 1990s", "3.5 10:30 21st 2006 1990s"),
        ("1,000,000 and 3.14", "1,000,000 and 3.14"),
        ("-5 and 2005-2006", "- 5 and 2005-2006"),
        ("at 10 a.m. and 5 p.m.", "at 10 a.m. and 5 p.m."),
        ("George W. Bush", "George W. Bush"),
        ("Dr. Smith vs. Jones Inc. etc.", "Dr. Smith vs. Jones Inc. etc."),
        ("Wait... what?", "Wait ... what ?"),
    ],
)
def test_tokens_match_gmb_examples(text, expected):
    assert texts(text) == expected.split(" ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("don't", "do n't"),
        ("can't", "ca n't"),
        ("won't", "wo n't"),
        ("DOESN'T", "DOES N'T"),
        ("I'm", "I 'm"),
        ("they're", "they 're"),
        ("we've", "we 've"),
        ("he'll", "he 'll"),
        ("she'd", "she 'd"),
        ("don\u2019t", "do n\u2019t"),
        ("Iran\u2019s", "Iran \u2019s"),
    ],
)
def test_contractions_split_like_penn_treebank(text, expected):
    assert texts(text) == expected.split(" ")


def test_possessive_after_plural_is_a_separate_apostrophe():
    assert texts("the workers' union") == ["the", "workers", "'", "union"]
    assert texts("the workers\u2019 union") == ["the", "workers", "\u2019", "union"]


def test_apostrophe_inside_a_name_is_kept():
    assert texts("O'Brien's car") == ["O'Brien", "'s", "car"]


def test_sentence_final_period_is_split_from_a_word():
    assert texts("They went to London.") == ["They", "went", "to", "London", "."]


def test_sentence_final_us_keeps_its_period():
    assert texts("Troops returned to the U.S.") == ["Troops", "returned", "to", "the", "U.S."]


def test_html_is_tokenized_as_ordinary_punctuation():
    assert texts("<script>alert(1)</script>") == [
        "<", "script", ">", "alert", "(", "1", ")", "<", "/", "script", ">",
    ]  # fmt: skip


def test_token_offsets_point_into_the_original_text():
    text = '  Mr.\u00a0Bush\tsaid:\r\n"Go!" '
    tokens = tokenizer.tokenize(text)
    assert [token.text for token in tokens] == ["Mr.", "Bush", "said", ":", '"', "Go", "!", '"']
    assert tokens[0] == tokenizer.Token("Mr.", 2, 5)
    assert tokens[1] == tokenizer.Token("Bush", 6, 10)


def test_emoji_sequences_stay_whole():
    thumbs = "\U0001f44d\U0001f3fd"
    flag = "\U0001f1fa\U0001f1f8"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert texts(f"ok{thumbs} {flag} {family}!") == ["ok", thumbs, flag, family, "!"]


def test_combining_marks_stay_in_their_word():
    assert texts("re\u0301sume\u0301 done") == ["re\u0301sume\u0301", "done"]


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t \r\n\u00a0"])
def test_empty_or_whitespace_text_gives_nothing(text):
    assert tokenizer.tokenize(text) == []
    assert tokenizer.split_sentences(text) == []
    assert tokenizer.tokenize_sentences(text) == []


@pytest.mark.parametrize("bad", [b"bytes", None, 42])
def test_non_text_raises_input_text_error(bad):
    with pytest.raises(errors.InputTextError):
        tokenizer.tokenize(bad)
    with pytest.raises(errors.InputTextError):
        tokenizer.split_sentences(bad)


def test_two_sentences_are_split():
    assert sentences("The war continued. Troops left Iraq.") == [
        "The war continued.",
        "Troops left Iraq.",
    ]


def test_abbreviation_does_not_end_a_sentence():
    assert sentences("Mr. Bush met Gen. Smith and Dr. Jones. They talked.") == [
        "Mr. Bush met Gen. Smith and Dr. Jones.",
        "They talked.",
    ]


def test_us_mid_sentence_does_not_end_a_sentence():
    assert sentences("U.S. officials said the U.S. Army will stay.") == ["U.S. officials said the U.S. Army will stay."]


def test_single_initial_does_not_end_a_sentence():
    assert sentences("J. Smith arrived. He sat.") == ["J. Smith arrived.", "He sat."]


def test_exclamation_inside_quotes_before_lowercase_does_not_split():
    assert sentences('"Go!" she said. Then she left.') == ['"Go!" she said.', "Then she left."]


def test_closing_quote_stays_with_its_sentence():
    assert sentences('He said "Stop." Then he left!') == ['He said "Stop."', "Then he left!"]


def test_sentence_may_start_with_a_digit_or_quote():
    assert sentences('It rose. 5 died. "Why?" he asked.') == [
        "It rose.",
        "5 died.",
        '"Why?" he asked.',
    ]


def test_lowercase_after_period_does_not_split():
    assert sentences("It costs 3.5 percent. and more") == ["It costs 3.5 percent. and more"]


def test_blank_line_always_splits_but_single_newline_does_not():
    text = "Heading without period\n\nFirst line\nwraps here.\r\n\r\nlast paragraph"
    assert sentences(text) == [
        "Heading without period",
        "First line\nwraps here.",
        "last paragraph",
    ]


def test_sentence_spans_are_trimmed():
    text = "  One.   Two.  "
    assert tokenizer.split_sentences(text) == [(2, 6), (9, 13)]


def test_tokenize_sentences_offsets_refer_to_the_original_text():
    text = "Iran's leader spoke.  The U.S. didn't reply.\n\nMr. Bush left."
    result = tokenizer.tokenize_sentences(text)
    assert [[token.text for token in sentence] for sentence in result] == [
        ["Iran", "'s", "leader", "spoke", "."],
        ["The", "U.S.", "did", "n't", "reply", "."],
        ["Mr.", "Bush", "left", "."],
    ]
    for sentence in result:
        for token in sentence:
            assert text[token.start : token.end] == token.text


def test_tokenize_sentences_agrees_with_tokenize_on_ordinary_text():
    text = "Iran's President said 8,500 troops left. The U.S. military didn't comment."
    flattened = [token for sentence in tokenizer.tokenize_sentences(text) for token in sentence]
    assert flattened == tokenizer.tokenize(text)


def test_one_megabyte_of_text_completes():
    sentence = (
        "The U.S. military said 8,500 troops don't like Iran's President Mahmoud Ahmadinejad, who spoke at 10:30 a.m. (AFP). "
    )
    text = sentence * (1_000_000 // len(sentence) + 1)
    tokens = tokenizer.tokenize(text)
    per_sentence = len(tokenizer.tokenize(sentence))
    assert len(tokens) == per_sentence * (len(text) // len(sentence))
    assert len(tokenizer.split_sentences(text)) == len(text) // len(sentence)


@pytest.mark.parametrize(
    "unit",
    ["a'", "1,", "-a", "a.", "n't", "'s", "A. ", ". ", "\n \n", "\u0301", "\U0001f1fa", "x.y"],
)
def test_adversarial_repetition_completes(unit):
    # Each of these would hang a regex that can backtrack; linear code just finishes.
    text = unit * (200_000 // len(unit))
    assert_well_formed(text, tokenizer.tokenize(text))
    assert_sentence_spans_well_formed(text, tokenizer.split_sentences(text))


@pytest.mark.parametrize("invisible", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\u200e", "\u202e", "\u2066", "\u2062", "\ufeff"])
def test_control_and_invisible_characters_separate_tokens_and_never_are_one(invisible):
    text = f"Anna{invisible}Berg {invisible}Oslo{invisible}"
    tokens = tokenizer.tokenize(text)
    assert [t.text for t in tokens] == ["Anna", "Berg", "Oslo"]
    assert all(text[t.start : t.end] == t.text for t in tokens)  # offsets still exact


def test_a_text_of_controls_only_has_no_sentences():
    assert tokenizer.tokenize_sentences("\x00\x01\u200f \x02") == []


@pytest.mark.parametrize(
    "text",
    [
        "The U.N. envoy met Iranian officials in Geneva on Monday. Iran 's President said no.",
        "Mr. Bush arrived.\n\nThen $ 10 million , 5 % ( AFP ) don't 8,500 al-Qaida U.S.-led",
        "\u200b\u200b",
        "",
        "caf\u0065\u0301 \U0001f1eb\U0001f1f7 flags and \u200d emoji",
    ],
)
def test_tuples_are_the_same_tokens_and_sentences_as_token_objects(text):
    expected = [[(token.text, token.start, token.end) for token in sentence] for sentence in tokenizer.tokenize_sentences(text)]
    assert tokenizer.tokenize_sentences_as_tuples(text) == expected
