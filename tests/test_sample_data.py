"""Checks on the bundled sample corpus ``data/sample/sample_ner.csv``.

The file must look exactly like the GMB "Annotated Corpus for NER" so that the
same reader handles both. Only the stdlib and pandas are used here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

SAMPLE = Path(__file__).parents[1] / "data/sample/sample_ner.csv"
ENTITY_TYPES = ("geo", "gpe", "per", "org", "tim", "art", "eve", "nat")
GMB_TAGS = {"O"} | {f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I")}
HEADER = "Sentence #,Word,POS,Tag"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def sentences(frame: pd.DataFrame) -> list[pd.DataFrame]:
    starts = frame.index[frame["Sentence #"] != ""].tolist()
    ends = starts[1:] + [len(frame)]
    return [frame.iloc[a:b] for a, b in zip(starts, ends)]


def test_header_is_exactly_gmb() -> None:
    first_line = SAMPLE.read_bytes().split(b"\n", 1)[0].decode("ascii").rstrip("\r")
    assert first_line == HEADER


def test_file_is_ascii() -> None:
    assert SAMPLE.read_bytes().isascii()  # valid as UTF-8 and as latin-1 alike


def test_columns(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["Sentence #", "Word", "POS", "Tag"]


def test_first_row_starts_a_sentence(frame: pd.DataFrame) -> None:
    assert frame["Sentence #"].iloc[0] == "Sentence: 1"


def test_at_least_300_sentences(sentences: list[pd.DataFrame]) -> None:
    assert len(sentences) >= 300


def test_sentence_numbers_are_consecutive(frame: pd.DataFrame) -> None:
    labels = frame.loc[frame["Sentence #"] != "", "Sentence #"].tolist()
    assert all(re.fullmatch(r"Sentence: \d+", label) for label in labels)
    numbers = [int(label.split(": ")[1]) for label in labels]
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_tag_is_in_the_gmb_set(frame: pd.DataFrame) -> None:
    assert set(frame["Tag"]) <= GMB_TAGS


def test_all_entity_types_present_as_b_and_i(frame: pd.DataFrame) -> None:
    tags = set(frame["Tag"])
    for kind in ENTITY_TYPES:
        assert f"B-{kind}" in tags, kind
        assert f"I-{kind}" in tags, kind


def test_iob2_is_valid_in_every_sentence(sentences: list[pd.DataFrame]) -> None:
    for sentence in sentences:
        previous = "O"
        for tag in sentence["Tag"]:
            if tag.startswith("I-"):
                assert previous in (f"B-{tag[2:]}", tag), (sentence["Sentence #"].iloc[0], tag)
            previous = tag


def test_no_empty_words_or_pos(frame: pd.DataFrame) -> None:
    assert (frame["Word"].str.strip() != "").all()
    assert (frame["POS"].str.strip() != "").all()


def test_no_duplicate_sentences(sentences: list[pd.DataFrame]) -> None:
    texts = [" ".join(sentence["Word"]) for sentence in sentences]
    assert len(texts) == len(set(texts))


def test_missing_value_lookalikes_are_kept_as_words(frame: pd.DataFrame) -> None:
    words = set(frame["Word"])
    assert {"NA", "nan", "null"} <= words


def test_default_pandas_reader_would_lose_them() -> None:
    # Documents why keep_default_na=False is required when reading this file.
    naive = pd.read_csv(SAMPLE, dtype=str)
    assert naive["Word"].isna().sum() >= 3
