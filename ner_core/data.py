"""Read annotated corpora (GMB CSV or CoNLL), validate them, split them, describe them.

Reading never guesses silently: every problem found becomes a :class:`Finding`
that names the sentence and the source line, so an analyst can fix the file.
Problems that make the data unusable (no ``Tag`` column, a binary file, tags
that break IOB2 when repair was not asked for) raise :class:`DataFormatError`
or :class:`TagSchemeError` from :func:`load_corpus`; :func:`inspect_corpus`
returns them in the report instead so the whole report can be shown.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import math
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ner_core import tags as tagging
from ner_core.errors import DataFormatError, TagSchemeError

GMB_SENTENCE_COLUMN = "Sentence #"
GMB_REQUIRED_COLUMNS = (GMB_SENTENCE_COLUMN, "Word", "Tag")
CONLL_SUFFIXES = {".conll", ".conllu", ".iob", ".iob2", ".bio", ".txt", ".tsv"}
SPLIT_NAMES = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
# Larger than any corpus we expect (GMB is 15 MB); protects the UI from a 2 GB upload.
MAX_CORPUS_BYTES = 200 * 1024 * 1024
ASCII_BLANKS = " \t\r\n"


@dataclass
class Sentence:
    """One annotated sentence; ``number`` is its 1-based position in the source file."""

    words: list[str]
    tags: list[str]
    pos: list[str] | None = None
    number: int = 0
    line: int = 0

    def __len__(self) -> int:
        return len(self.words)

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Finding:
    """One validation result. ``severity`` is ``error`` (blocks loading), ``warning`` or ``repaired``."""

    severity: str
    code: str
    message: str
    sentence: int | None = None
    line: int | None = None

    def describe(self) -> str:
        where = []
        if self.sentence is not None:
            where.append(f"sentence {self.sentence}")
        if self.line is not None:
            where.append(f"line {self.line}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message}"


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, severity: str, code: str, message: str, sentence: int | None = None, line: int | None = None) -> None:
        self.findings.append(Finding(severity, code, message, sentence, line))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def repairs(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "repaired"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of findings per (severity, code), for a compact summary."""
        return dict(collections.Counter((f.severity, f.code) for f in self.findings))

    def to_records(self) -> list[dict]:
        return [
            {"severity": f.severity, "code": f.code, "sentence": f.sentence, "line": f.line, "message": f.message}
            for f in self.findings
        ]


@dataclass
class Corpus:
    """Sentences of one source file plus what validation found in it."""

    sentences: list[Sentence]
    report: ValidationReport
    source: str
    sha256: str
    format: str
    encoding: str

    @property
    def tag_names(self) -> list[str]:
        return sorted({t for s in self.sentences for t in s.tags})

    @property
    def has_pos(self) -> bool:
        return bool(self.sentences) and all(s.pos is not None for s in self.sentences)


@dataclass
class DatasetSplits:
    train: list[Sentence]
    validation: list[Sentence]
    test: list[Sentence]

    def items(self) -> list[tuple[str, list[Sentence]]]:
        return [("train", self.train), ("validation", self.validation), ("test", self.test)]


# --------------------------------------------------------------------------- reading


def read_source_bytes(path: str | Path) -> tuple[bytes, str]:
    """Return the raw bytes of a corpus file and the member name when zipped."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file. Check the path or set NER_CORPUS_PATH.")
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder; give the corpus file (.csv, .zip or CoNLL) itself.")
    if path.stat().st_size > MAX_CORPUS_BYTES:
        raise DataFormatError(f"{path} is larger than {MAX_CORPUS_BYTES // 2**20} MB; split it first.")
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")]
                if not members:
                    raise DataFormatError(f"{path}: the zip archive is empty.")
                preferred = [m for m in members if m.lower().endswith((".csv", *CONLL_SUFFIXES))]
                member = (preferred or members)[0]
                return archive.read(member), member
        except zipfile.BadZipFile as exc:
            raise DataFormatError(f"{path}: not a valid zip archive ({exc}).") from None
    return path.read_bytes(), path.name


def decode_text(raw: bytes, name: str) -> tuple[str, str]:
    """Decode as UTF-8 when the bytes are valid UTF-8, else latin-1 (GMB's encoding)."""
    if not raw.strip():
        raise DataFormatError(f"{name} is empty; a corpus needs at least one annotated sentence.")
    head = raw[:8192]
    if b"\x00" in head or _control_ratio(head) > 0.05:
        raise DataFormatError(f"{name} looks like a binary file, not a CSV or CoNLL text file.")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _control_ratio(data: bytes) -> float:
    controls = sum(1 for b in data if b < 32 and b not in (9, 10, 13))
    return controls / max(1, len(data))


def detect_format(text: str, name: str) -> str:
    """``gmb_csv`` when the first line is a CSV header naming a Word column, else ``conll``."""
    first = next((line for line in text.split("\n") if line.strip(ASCII_BLANKS)), "")
    header = [cell.strip().lower() for cell in next(csv.reader([first]), [])]
    if "word" in header or "sentence #" in header or name.lower().endswith(".csv"):
        return "gmb_csv"
    return "conll"


def parse_gmb_csv(text: str, report: ValidationReport) -> list[Sentence]:
    """Rows ``Sentence #, Word, POS, Tag``; the sentence id marks the first token of each sentence."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise DataFormatError(f"the CSV header cannot be read ({exc}).") from None
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    missing = [c for c in GMB_REQUIRED_COLUMNS if c.lower() not in columns]
    if missing:
        found = ", ".join(h.strip() for h in header) or "nothing"
        raise DataFormatError(
            f"missing column(s) {', '.join(missing)} (found: {found}); a GMB-style CSV needs "
            f"{', '.join(GMB_REQUIRED_COLUMNS)} and optionally POS."
        )
    id_col, word_col, tag_col = (columns[c.lower()] for c in GMB_REQUIRED_COLUMNS)
    pos_col = columns.get("pos")
    needed = max(id_col, word_col, tag_col, pos_col if pos_col is not None else 0) + 1

    sentences: list[Sentence] = []
    current: Sentence | None = None
    bad_sentences: set[int] = set()
    line_number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line_number = reader.line_num
            report.add("error", "unparsable_line", f"CSV syntax error: {exc}", current.number if current else None, line_number)
            continue
        line_number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < needed:
            report.add(
                "error", "unparsable_line",
                f"expected {needed} columns, found {len(row)}: {','.join(row)[:80]!r}",
                current.number if current else None, line_number,
            )
            if current is not None:
                bad_sentences.add(current.number)
            continue
        sentence_id = row[id_col].strip()
        if sentence_id:
            current = Sentence([], [], [] if pos_col is not None else None, number=len(sentences) + 1, line=line_number)
            sentences.append(current)
        elif current is None:
            report.add("error", "no_sentence_marker", "token before the first 'Sentence #' value", None, line_number)
            continue
        # Only ASCII blanks are stripped: latin-1 words such as "\x85" are Unicode
        # whitespace to str.strip() but real tokens in GMB.
        word, tag = row[word_col].strip(ASCII_BLANKS), row[tag_col].strip()
        if not word:
            report.add("error", "empty_token", "empty Word", current.number, line_number)
            bad_sentences.add(current.number)
            continue
        current.words.append(word)
        current.tags.append(tag)
        if current.pos is not None:
            current.pos.append(row[pos_col].strip())
        _check_tag(tag, current.number, line_number, report)
    return _drop_bad(sentences, bad_sentences)


def parse_conll(text: str, report: ValidationReport) -> list[Sentence]:
    """One token per line, tag in the last column, blank lines between sentences."""
    sentences: list[Sentence] = []
    current: Sentence | None = None
    bad_sentences: set[int] = set()
    # split("\n"), not splitlines(): the latter also breaks on "\x85" and other
    # Unicode separators that can be words in a latin-1 corpus.
    for line_number, raw_line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw_line.strip(ASCII_BLANKS)
        if not line:
            current = None
            continue
        if line.startswith("-DOCSTART-"):
            current = None
            continue
        cells = line.split("\t") if "\t" in line else line.split(" ")
        cells = [c.strip(ASCII_BLANKS) for c in cells if c.strip(ASCII_BLANKS) or "\t" in line]
        if current is None:
            current = Sentence([], [], [], number=len(sentences) + 1, line=line_number)
            sentences.append(current)
        if len(cells) < 2 or not cells[-1]:
            report.add("error", "unparsable_line", f"expected 'token ... tag', found {line[:80]!r}", current.number, line_number)
            bad_sentences.add(current.number)
            continue
        if not cells[0]:
            report.add("error", "empty_token", "empty token column", current.number, line_number)
            bad_sentences.add(current.number)
            continue
        current.words.append(cells[0])
        current.tags.append(cells[-1])
        current.pos.append(cells[1] if len(cells) >= 3 else "")
        _check_tag(cells[-1], current.number, line_number, report)
    if sentences and all(all(p == "" for p in s.pos or []) for s in sentences):
        for sentence in sentences:
            sentence.pos = None
    return _drop_bad(sentences, bad_sentences)


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
                        "repaired", "iob2_repaired",
                        f"token {position + 1} {sentence.words[position]!r}: {old} -> B-{tagging.split_tag(old)[1]}",
                        sentence.number, sentence.line + position,
                    )
                sentence.tags = tagging.repair_iob2(sentence.tags)
            else:
                for position in violations:
                    previous = sentence.tags[position - 1] if position else "sentence start"
                    report.add(
                        "error", "iob2_violation",
                        f"token {position + 1} {sentence.words[position]!r} is {sentence.tags[position]} after "
                        f"{previous}; IOB2 needs B- first (repair with --repair-iob)",
                        sentence.number, sentence.line + position,
                    )
        key = (tuple(sentence.words), tuple(sentence.tags))
        if key in seen:
            report.add("warning", "duplicate_sentence", f"same words and tags as sentence {seen[key]}", sentence.number, sentence.line)
        else:
            seen[key] = sentence.number


def inspect_corpus(path: str | Path, *, repair_iob: bool = False, format: str | None = None) -> Corpus:
    """Read and validate; fatal file-level problems raise, per-sentence ones go to the report."""
    raw, member = read_source_bytes(path)
    text, encoding = decode_text(raw, member)
    fmt = format or detect_format(text, member)
    if fmt not in ("gmb_csv", "conll"):
        raise DataFormatError(f"unknown format {fmt!r}; use gmb_csv or conll.")
    report = ValidationReport()
    sentences = parse_gmb_csv(text, report) if fmt == "gmb_csv" else parse_conll(text, report)
    validate_sentences(sentences, report, repair_iob=repair_iob)
    if not sentences:
        raise DataFormatError(f"{member}: no annotated sentences found ({_first_error(report) or 'nothing to read'}).")
    return Corpus(sentences, report, str(path), hashlib.sha256(raw).hexdigest(), fmt, encoding)


def load_corpus(path: str | Path, *, repair_iob: bool = False, format: str | None = None) -> Corpus:
    """Like :func:`inspect_corpus` but refuses data with errors, naming the first one."""
    corpus = inspect_corpus(path, repair_iob=repair_iob, format=format)
    errors = corpus.report.errors
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more; see `python -m ner_core data inspect {path}`)" if len(errors) > 1 else ""
        error_type = TagSchemeError if first.code == "iob2_violation" else DataFormatError
        raise error_type(f"{Path(path).name}: {first.describe()}{more}")
    return corpus


def _first_error(report: ValidationReport) -> str:
    return report.errors[0].describe() if report.errors else ""


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
        blocks.append("\n".join(f"{w}\t{t}" for w, t in zip(sentence.words, sentence.tags)))
    return "\n\n".join(blocks) + "\n"


# --------------------------------------------------------------------------- splitting


def stratum_of(sentence: Sentence, type_frequency: dict[str, int]) -> str:
    """The rarest entity type in the sentence, so rare types reach every split."""
    kinds = {tagging.split_tag(t)[1] for t in sentence.tags} - {""}
    if not kinds:
        return ""
    return min(kinds, key=lambda kind: (type_frequency.get(kind, 0), kind))


def split_corpus(sentences: Sequence[Sentence], *, seed: int = 42, fractions: Sequence[float] = SPLIT_FRACTIONS) -> DatasetSplits:
    """Deterministic train/validation/test split, stratified by each sentence's rarest entity type.

    Each stratum is shuffled with its own seeded generator and cut at the
    cumulative fractions, so the split is the same on every machine and a
    change in one stratum does not move sentences of another.
    """
    if len(fractions) != 3 or not math.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    frequency = entity_counts(sentences)
    strata: dict[str, list[int]] = collections.defaultdict(list)
    for index, sentence in enumerate(sentences):
        strata[stratum_of(sentence, frequency)].append(index)
    assignment: dict[int, int] = {}
    for name in sorted(strata):
        members = strata[name]
        random.Random(f"{seed}:{name}").shuffle(members)
        cut_train = round(len(members) * fractions[0])
        cut_validation = round(len(members) * (fractions[0] + fractions[1]))
        for rank, index in enumerate(members):
            assignment[index] = 0 if rank < cut_train else 1 if rank < cut_validation else 2
    parts: list[list[Sentence]] = [[], [], []]
    for index, sentence in enumerate(sentences):
        parts[assignment[index]].append(sentence)
    return DatasetSplits(*parts)


# --------------------------------------------------------------------------- statistics


def tag_counts(sentences: Iterable[Sentence]) -> dict[str, int]:
    return dict(collections.Counter(t for s in sentences for t in s.tags).most_common())


def entity_counts(sentences: Iterable[Sentence]) -> dict[str, int]:
    """Entities per type under strict IOB2 extraction."""
    counter: collections.Counter = collections.Counter()
    for sentence in sentences:
        counter.update(span.type for span in tagging.extract_spans(sentence.tags))
    return dict(counter.most_common())


def vocabulary(sentences: Iterable[Sentence]) -> set[str]:
    return {w for s in sentences for w in s.words}


def oov_rate(sentences: Sequence[Sentence], known_words: set[str]) -> float:
    """Share of tokens whose exact form never occurs in ``known_words`` (case kept, as the model sees it)."""
    total = sum(len(s) for s in sentences)
    if total == 0:
        return 0.0
    unknown = sum(1 for s in sentences for w in s.words if w not in known_words)
    return unknown / total


@dataclass
class CorpusStatistics:
    sentences: int
    tokens: int
    tags: dict[str, int]
    entities: dict[str, int]
    length_min: int
    length_max: int
    length_mean: float
    length_percentiles: dict[str, float]
    length_histogram: dict[int, int]
    vocabulary_size: int
    oov_rate: dict[str, float]
    split_sizes: dict[str, int]

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def corpus_statistics(sentences: Sequence[Sentence], splits: DatasetSplits | None = None) -> CorpusStatistics:
    lengths = sorted(len(s) for s in sentences)
    if not lengths:
        raise DataFormatError("no sentences to describe.")

    def percentile(q: float) -> float:
        position = (len(lengths) - 1) * q
        low, high = math.floor(position), math.ceil(position)
        return float(lengths[low] + (lengths[high] - lengths[low]) * (position - low))

    oov: dict[str, float] = {}
    sizes: dict[str, int] = {}
    if splits is not None:
        train_words = vocabulary(splits.train)
        oov = {"validation": oov_rate(splits.validation, train_words), "test": oov_rate(splits.test, train_words)}
        sizes = {name: len(part) for name, part in splits.items()}
    return CorpusStatistics(
        sentences=len(sentences),
        tokens=sum(lengths),
        tags=tag_counts(sentences),
        entities=entity_counts(sentences),
        length_min=lengths[0],
        length_max=lengths[-1],
        length_mean=sum(lengths) / len(lengths),
        length_percentiles={"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99)},
        length_histogram=dict(sorted(collections.Counter(lengths).items())),
        vocabulary_size=len(vocabulary(sentences)),
        oov_rate=oov,
        split_sizes=sizes,
    )
