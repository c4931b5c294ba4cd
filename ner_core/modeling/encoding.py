"""Turn sentences into integer arrays a Keras model can read, and back.

Vocabularies are built from the training split only, so validation and test
words the model never saw are honestly UNK. Index 0 is padding in both the
word and the tag vocabulary: the models mask index 0, and a padded target of
0 carries zero sample weight, which is how padding stays out of the loss.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ner_core.atomic_files import write_text_atomic
from ner_core.corpus.tags import PAD_TAG
from ner_core.errors import DataFormatError

PAD_WORD = "<PAD>"
UNK_WORD = "<UNK>"
PAD_INDEX = 0
UNK_INDEX = 1
ENCODINGS = ("sparse", "categorical")


@dataclass
class Vocabulary:
    """Index <-> token map. ``tokens[0]`` is always the padding symbol."""

    tokens: list[str]

    def __post_init__(self) -> None:
        self._index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def index(self, token: str, default: int | None = None) -> int:
        found = self._index.get(token)
        if found is None:
            if default is None:
                raise KeyError(token)
            return default
        return found

    def to_json(self) -> dict:
        return {"tokens": self.tokens}

    @classmethod
    def from_json(cls, payload: dict) -> Vocabulary:
        tokens = payload.get("tokens") if isinstance(payload, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) or not tokens:
            raise DataFormatError("vocabulary file is not a list of tokens.")
        return cls(tokens)

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


_DIGITS = str.maketrans("0123456789", "0000000000")


def normalise_word(word: str) -> str:
    """Lower case, every digit as ``0``: the word-embedding key of models that see shape separately.

    A character encoder and casing features already carry capitalisation and
    digits, so ``Paris``/``PARIS``/``paris`` and ``1999``/``2008`` can share one
    embedding row, which halves the vocabulary and leaves fewer rows trained on
    a single occurrence.
    """
    return word.lower().translate(_DIGITS)


def build_word_vocabulary(sentences: Iterable, min_freq: int = 1, *, normalise: bool = False) -> Vocabulary:
    """PAD=0, UNK=1, then words seen at least ``min_freq`` times, most frequent first.

    With ``normalise`` the entries are :func:`normalise_word` keys.
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq}")
    key = normalise_word if normalise else (lambda w: w)
    counts = collections.Counter(key(w) for s in sentences for w in s.words)
    kept = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    return Vocabulary([PAD_WORD, UNK_WORD, *kept])


def build_tag_vocabulary(tag_names: Iterable[str]) -> Vocabulary:
    """PAD=0, then ``O``, then entity tags grouped by type with B before I."""
    names = set(tag_names) - {PAD_TAG}
    ordered = sorted(names, key=lambda t: (t != "O", t[2:], t[:1]))
    return Vocabulary([PAD_TAG, *ordered])


def build_char_vocabulary(sentences: Iterable, min_freq: int = 1) -> Vocabulary:
    """Characters of training words: PAD=0, UNK=1, then by frequency."""
    counts = collections.Counter(ch for s in sentences for w in s.words for ch in w)
    kept = sorted((c for c, n in counts.items() if n >= min_freq), key=lambda c: (-counts[c], c))
    return Vocabulary([PAD_WORD, UNK_WORD, *kept])


@dataclass
class EncodedSplit:
    """Padded arrays for one split; ``lengths`` are real lengths before truncation is applied to them."""

    word_ids: np.ndarray  # [N, max_len] int32
    tag_ids: np.ndarray  # [N, max_len] int32, 0 on padding
    lengths: np.ndarray  # [N] int32, real tokens kept (<= max_len)

    def sample_weight(self) -> np.ndarray:
        """1 on real tokens, 0 on padding: what keeps padding out of the loss."""
        return (self.tag_ids != PAD_INDEX).astype("float32")


def encode_words(words: Sequence[str], vocabulary: Vocabulary) -> list[int]:
    lookup = vocabulary._index.get  # one bound method for the whole sentence: this runs for every token served
    return [lookup(w, UNK_INDEX) for w in words]


def encode_tags(tags: Sequence[str], tag_vocabulary: Vocabulary) -> list[int]:
    try:
        return [tag_vocabulary.index(t) for t in tags]
    except KeyError as exc:
        raise DataFormatError(
            f"tag {exc.args[0]!r} is not in the model's tag set ({', '.join(tag_vocabulary.tokens[1:])})."
        ) from None


def pad_sequences(sequences: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Left-aligned, zero-padded, truncated to ``length``."""
    out = np.zeros((len(sequences), length), dtype="int32")
    for row, sequence in enumerate(sequences):
        kept = sequence[:length]
        out[row, : len(kept)] = kept
    return out


def encode_sentences(sentences: Sequence, vocabulary: Vocabulary, tag_vocabulary: Vocabulary, max_len: int) -> EncodedSplit:
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    word_ids = [encode_words(s.words, vocabulary) for s in sentences]
    tag_ids = [encode_tags(s.tags, tag_vocabulary) for s in sentences]
    lengths = np.array([min(len(s.words), max_len) for s in sentences], dtype="int32")
    return EncodedSplit(pad_sequences(word_ids, max_len), pad_sequences(tag_ids, max_len), lengths)


def to_categorical(tag_ids: np.ndarray, num_tags: int) -> np.ndarray:
    """One-hot targets (the original design's ``model2`` encoding); padding rows are one-hot on PAD."""
    return np.eye(num_tags, dtype="float32")[tag_ids]


def decode_tags(tag_ids: Sequence[int], tag_vocabulary: Vocabulary) -> list[str]:
    return [tag_vocabulary.tokens[i] for i in tag_ids]


def write_json_atomic(path: Path, payload) -> None:
    """Never a half file: see ``atomic_files``."""
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_processed(folder: Path, splits: dict[str, EncodedSplit], metadata: dict) -> None:
    """``<split>.npz`` per split plus ``metadata.json``; npz files are written atomically too."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, split in splits.items():
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".npz")
        os.close(handle)
        try:
            np.savez_compressed(temporary, word_ids=split.word_ids, tag_ids=split.tag_ids, lengths=split.lengths)
            os.replace(temporary, folder / f"{name}.npz")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    write_json_atomic(folder / "metadata.json", metadata)


def load_processed(folder: Path) -> tuple[dict[str, EncodedSplit], dict]:
    folder = Path(folder)
    metadata_path = folder / "metadata.json"
    if not metadata_path.exists():
        raise DataFormatError(f"{folder}: no metadata.json; encode the data again.")
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    splits = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as arrays:
            splits[path.stem] = EncodedSplit(arrays["word_ids"], arrays["tag_ids"], arrays["lengths"])
    return splits, metadata


# --------------------------------------------------------------------------- model inputs

MAX_WORD_LENGTH = 20
CASING_CLASSES = ("<pad>", "lower", "title", "upper", "numeric", "has_digit", "punct", "other")


def casing_class(word: str) -> int:
    """A word-shape feature: capitalisation is the strongest single cue for entities."""
    if word.isdigit() or word.replace(",", "").replace(".", "").isdigit():
        return 4
    if any(ch.isdigit() for ch in word):
        return 5
    if word.islower():
        return 1
    if word.isupper():
        return 3
    if word[:1].isupper():
        return 2
    if all(not ch.isalnum() for ch in word):
        return 6
    return 7


@dataclass
class FeatureEncoder:
    """Builds the model input for a batch of token lists; one place for every model's features."""

    word_vocab: Vocabulary
    tag_vocab: Vocabulary
    uses_chars: bool = False
    char_vocab: Vocabulary | None = None
    normalise_words: bool = False  # the word vocabulary holds normalise_word() keys

    def encode(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """One sentence's features as unpadded arrays; computed once per sentence when training."""
        keys = [normalise_word(w) for w in words] if self.normalise_words else words
        features = {"word_ids": np.asarray(encode_words(keys, self.word_vocab), dtype="int32")}
        if self.uses_chars:
            if self.char_vocab is None:
                raise ValueError("a character-aware model needs a character vocabulary")
            chars = np.zeros((len(words), MAX_WORD_LENGTH), dtype="int32")
            for position, word in enumerate(words):
                for k, ch in enumerate(word[:MAX_WORD_LENGTH]):
                    chars[position, k] = self.char_vocab.index(ch, UNK_INDEX)
            features["char_ids"] = chars
            features["casing_ids"] = np.asarray([casing_class(w) for w in words], dtype="int32")
        return features

    def stack(self, encoded: Sequence[dict[str, np.ndarray]], length: int):
        """Pad (or cut) encoded sentences to ``length`` and stack them into model input."""
        word_ids = np.zeros((len(encoded), length), dtype="int32")
        for row, features in enumerate(encoded):
            kept = features["word_ids"][:length]
            word_ids[row, : len(kept)] = kept
        if not self.uses_chars:
            return word_ids
        char_ids = np.zeros((len(encoded), length, MAX_WORD_LENGTH), dtype="int32")
        casing = np.zeros((len(encoded), length), dtype="int32")
        for row, features in enumerate(encoded):
            n = min(length, len(features["word_ids"]))
            char_ids[row, :n] = features["char_ids"][:n]
            casing[row, :n] = features["casing_ids"][:n]
        return {"word_ids": word_ids, "char_ids": char_ids, "casing_ids": casing}

    def inputs(self, batch: Sequence[Sequence[str]], length: int):
        return self.stack([self.encode(words) for words in batch], length)

    def tag_ids(self, tags: Sequence[str]) -> np.ndarray:
        return np.asarray(encode_tags(tags, self.tag_vocab), dtype="int32")

    def stack_targets(self, tag_ids: Sequence[np.ndarray], length: int, *, categorical: bool) -> tuple[np.ndarray, np.ndarray]:
        """(targets, sample weights): weights are 0 on padding so it never reaches the loss."""
        padded = pad_sequences(tag_ids, length)
        weights = (padded != PAD_INDEX).astype("float32")
        if categorical:
            return to_categorical(padded, len(self.tag_vocab)), weights
        return padded, weights

    def targets(self, batch_tags: Sequence[Sequence[str]], length: int, *, categorical: bool) -> tuple[np.ndarray, np.ndarray]:
        return self.stack_targets([self.tag_ids(tags) for tags in batch_tags], length, categorical=categorical)


def batch_plan(
    lengths: Sequence[int], batch_size: int, *, bucketed: bool, shuffle: bool, seed: int, epoch: int = 0
) -> list[np.ndarray]:
    """Which sentences go into which batch.

    Bucketed: sort by length (with a little seeded jitter so equal lengths mix
    across epochs), cut into batches, then shuffle the batch order; each batch is
    later padded only to its own longest sentence. Otherwise: a plain shuffle.
    """
    indices = np.arange(len(lengths))
    rng = np.random.default_rng([seed, epoch])
    if bucketed:
        keys = np.asarray(lengths, dtype="float64") + (rng.random(len(lengths)) * 2 if shuffle else 0)
        indices = indices[np.argsort(keys, kind="stable")]
        batches = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
        if shuffle:
            order = rng.permutation(len(batches))
            batches = [batches[i] for i in order]
        return batches
    if shuffle:
        indices = rng.permutation(indices)
    return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
