"""Read annotated corpora (GMB CSV or CoNLL) from a file or a zip archive.

Reading never guesses silently: every problem found becomes a :class:`Finding`
that names the sentence and the source line, so an analyst can fix the file.
Problems that make the data unusable (no ``Tag`` column, a binary file, tags
that break IOB2 when repair was not asked for) raise :class:`DataFormatError`
or :class:`TagSchemeError` from :func:`load_corpus`; :func:`inspect_corpus`
returns them in the report instead so the whole report can be shown.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

from ner_core.corpus.annotated import Corpus, Sentence, ValidationReport
from ner_core.corpus.validation import _check_tag, _drop_bad, validate_sentences
from ner_core.errors import DataFormatError, TagSchemeError

GMB_SENTENCE_COLUMN = "Sentence #"
GMB_REQUIRED_COLUMNS = (GMB_SENTENCE_COLUMN, "Word", "Tag")
CONLL_SUFFIXES = {".conll", ".conllu", ".iob", ".iob2", ".bio", ".txt", ".tsv"}
# Reading holds the whole corpus in memory at ~19x its size, training at ~31x (GMB's 15 MB CSV:
# +288 MB to load), so 100 MB means ~2 GB to inspect and ~3 GB to train in the one process that
# serves every session. .streamlit/config.toml's maxUploadSize follows it.
MAX_CORPUS_BYTES = 100 * 1024 * 1024
# Text corpora compress 4-10x (GMB: 15 MB -> 3.3 MB zipped); a member claiming 100x is a zip bomb.
MAX_COMPRESSION_RATIO = 100
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ASCII_BLANKS = " \t\r\n"
# Where load_corpus sends a reader for the rest of the errors, in the CLI's words (the app names its own page).
CLI_INSPECT_HINT = "see `python -m ner_core data inspect {path}`"


# --------------------------------------------------------------------------- reading


def read_source_bytes(path: str | Path) -> tuple[bytes, str]:
    """Return the raw bytes of a corpus file and the member name when zipped."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file. Check the path or set NER_CORPUS_PATH.")
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder; give the corpus file (.csv, .zip or CoNLL) itself.")
    if path.stat().st_size > MAX_CORPUS_BYTES:
        raise DataFormatError(f"{path.name} is larger than {MAX_CORPUS_BYTES // 2**20} MB; split it first.")
    try:
        with open(path, "rb") as stream:
            is_zip = stream.read(4) in ZIP_MAGIC
        if is_zip or path.suffix.lower() == ".zip":
            return _read_zip_member(path)
        return path.read_bytes(), path.name
    except OSError as exc:  # e.g. no permission, or the file went away meanwhile
        raise DataFormatError(f"{path} cannot be read ({exc.strerror or exc}).") from None


def _read_zip_member(path: Path) -> tuple[bytes, str]:
    """The one corpus file of a zip archive, read through a stream bounded by MAX_CORPUS_BYTES.

    The declared sizes are checked before anything is unpacked, and the read
    stops at the limit whatever the header claims, so a small archive that
    unpacks to gigabytes is refused instead of filling memory.
    """
    limit_mb = MAX_CORPUS_BYTES // 2**20
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX")]
            if not infos:
                raise DataFormatError(f"{path.name}: the zip archive is empty.")
            candidates = [i for i in infos if i.filename.lower().endswith((".csv", *CONLL_SUFFIXES))] or infos
            if len(candidates) > 1:
                names = ", ".join(i.filename for i in candidates[:5]) + (", ..." if len(candidates) > 5 else "")
                raise DataFormatError(
                    f"{path.name} holds {len(candidates)} files ({names}); a corpus archive holds one. "
                    "Unzip it and give the corpus file itself."
                )
            info = candidates[0]
            if info.flag_bits & 0x1:
                raise DataFormatError(f"{path.name} is encrypted; unzip it yourself and give the corpus file itself.")
            if info.file_size > MAX_CORPUS_BYTES:
                raise DataFormatError(
                    f"{path.name}: {info.filename} unpacks to {info.file_size / 2**20:,.0f} MB, over the {limit_mb} MB limit."
                )
            if info.file_size > 1_000_000 and info.file_size > MAX_COMPRESSION_RATIO * max(1, info.compress_size):
                raise DataFormatError(
                    f"{path.name}: {info.filename} claims to unpack {info.file_size / max(1, info.compress_size):,.0f} times "
                    f"larger; no text corpus compresses beyond {MAX_COMPRESSION_RATIO}x, so it is not read."
                )
            with archive.open(info) as member:
                data = member.read(MAX_CORPUS_BYTES + 1)
            if len(data) > MAX_CORPUS_BYTES:
                raise DataFormatError(f"{path.name}: {info.filename} unpacks to more than {limit_mb} MB; split it first.")
            return data, info.filename
    except DataFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile raises many types (RuntimeError, NotImplementedError, zlib.error...)
        raise DataFormatError(
            f"{path.name} is not a valid zip archive we can read ({exc.__class__.__name__}: {exc}); "
            "unzip it yourself and give the corpus file itself."
        ) from None


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
    """``gmb_csv`` when the first line is a CSV header naming a GMB column, else ``conll``.

    The content decides, not the name: CoNLL files come as ``eng.train``, ``x.testa``,
    ``*.annotated`` or with no extension at all, and a CoNLL file named ``.csv`` is still
    CoNLL. The name only breaks a tie: a ``.csv`` whose first line has commas but no known
    column is read as a GMB CSV, so its error names the missing columns.
    """
    first = next((line for line in text.split("\n") if line.strip(ASCII_BLANKS)), "")
    header = [cell.strip().lower() for cell in next(csv.reader([first]), [])]
    if any(column.lower() in header for column in GMB_REQUIRED_COLUMNS):
        return "gmb_csv"
    if name.lower().endswith(".csv") and "," in first and "\t" not in first:
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
                "error",
                "unparsable_line",
                f"expected {needed} columns, found {len(row)}: {','.join(row)[:80]!r}",
                current.number if current else None,
                line_number,
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
        more = f" (and {len(errors) - 1} more; {CLI_INSPECT_HINT.format(path=path)})" if len(errors) > 1 else ""
        error_type = TagSchemeError if first.code == "iob2_violation" else DataFormatError
        raise error_type(f"{Path(path).name}: {first.describe()}{more}")
    return corpus


def _first_error(report: ValidationReport) -> str:
    return report.errors[0].describe() if report.errors else ""
