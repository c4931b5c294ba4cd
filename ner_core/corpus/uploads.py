"""Corpora uploaded in the browser: validated first, then stored under their checksum.

An upload is only kept when it can be trained on: it is written to a private
temporary file and read with :func:`ner_core.corpus.reading.inspect_corpus`; a file that
cannot be read, or whose report has errors, raises :class:`UploadRejected` and
leaves nothing behind (no file in the uploads folder, no database row). The
exception carries the validation report when the file could be parsed at all,
so the page can show the analyst what to fix.

Accepted files land at ``<uploads_dir>/<sha256[:16]>-<safe name>`` via a
temporary name and a rename, so a crash never leaves half a file that a later
session would offer as a dataset. Registering is idempotent by checksum: the
same content uploaded twice is one dataset.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from ner_core.atomic_files import write_bytes_atomic
from ner_core.corpus import annotated, reading
from ner_core.errors import DataFormatError

SAFE_NAME_LENGTH = 80
DEFAULT_NAME = "upload.csv"
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRejected(DataFormatError):
    """An upload that was not stored; ``report`` holds its findings when the file could be parsed."""

    def __init__(self, message: str, report: annotated.ValidationReport | None = None):
        super().__init__(message)
        self.report = report


def safe_file_name(name: str) -> str:
    """The last path component with only ``[A-Za-z0-9._-]`` and no leading dot: never a path, never hidden."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = _UNSAFE_CHARACTERS.sub("", suffix) if dot else ""
    if not 0 < len(suffix) < 10:  # no suffix, or not one: the whole name is the stem
        stem, suffix = base, ""
    # The suffix is cleaned apart from the stem, so a name in another script ("корпус.zip") keeps
    # its extension (and with it how the file is read) instead of collapsing to "zip".
    cleaned_stem = _UNSAFE_CHARACTERS.sub("_", stem).lstrip("._")
    if not cleaned_stem:
        return f"{Path(DEFAULT_NAME).stem}.{suffix}" if suffix else DEFAULT_NAME
    if not suffix:
        return cleaned_stem[:SAFE_NAME_LENGTH]
    return f"{cleaned_stem[: SAFE_NAME_LENGTH - len(suffix) - 1]}.{suffix}"


def file_sha256(path: str | Path) -> str:
    """Checksum of a file's bytes, read in chunks (cache keys for the explorer); DataFormatError if unreadable."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise DataFormatError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    return digest.hexdigest()


def file_stamp(path: str | Path) -> tuple[int, int]:
    """(size in bytes, modification time in ns): changes when the file does, so it keys a cached checksum."""
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise DataFormatError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    return stat.st_size, stat.st_mtime_ns


def inspect_upload(name: str, raw: bytes, *, repair_iob: bool = False) -> annotated.Corpus:
    """Read and validate uploaded bytes without storing them.

    Raises :class:`UploadRejected` (with the report when there is one) for a
    file that is too large, unreadable, or has validation errors; warnings
    alone (e.g. duplicate sentences) are accepted and stay in the report.
    """
    safe_name = safe_file_name(name)
    if len(raw) > reading.MAX_CORPUS_BYTES:
        raise UploadRejected(f"{safe_name} is larger than {reading.MAX_CORPUS_BYTES // 2**20} MB; split it first.")
    with tempfile.TemporaryDirectory(prefix="ner-upload-") as folder:
        # The content decides the format and whether it is a zip (reading.detect_format, the zip magic);
        # the name is kept for the messages and only breaks a tie for a headerless .csv.
        candidate = Path(folder) / safe_name
        try:
            candidate.write_bytes(raw)
        except OSError as exc:
            reason = exc.strerror or exc
            raise UploadRejected(f"{safe_name} was not stored: its temporary copy cannot be written ({reason}).") from None
        try:
            corpus = reading.inspect_corpus(candidate, repair_iob=repair_iob)
        except DataFormatError as exc:
            raise UploadRejected(f"{safe_name} was not stored: {exc.message}") from None
    corpus.source = safe_name
    errors = corpus.report.errors
    if errors:
        more = f" (and {len(errors) - 1} more, listed in the report)" if len(errors) > 1 else ""
        raise UploadRejected(f"{safe_name} was not stored: {errors[0].describe()}{more}.", corpus.report)
    return corpus


def save_upload(name: str, raw: bytes, uploads_dir: Path, store, *, repair_iob: bool = False):
    """Validate, then store an uploaded corpus; returns its ``store.Dataset`` row.

    A file that cannot be written to ``uploads_dir`` raises :class:`UploadRejected` too.
    ``repair_iob`` accepts stray ``I-X`` tags as repairs instead of errors. The file is
    stored as uploaded, so training it needs the same option: the row's ``repair_iob``
    records whether anything was repaired, and the Training runs form follows it.
    """
    corpus = inspect_upload(name, raw, repair_iob=repair_iob)
    repaired = bool(corpus.report.repairs)
    existing = next((d for d in store.list_datasets() if d.sha256 == corpus.sha256), None)
    try:
        if existing is not None:
            if not Path(existing.path).exists():  # the file was deleted by hand: put the same bytes back
                Path(existing.path).parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(Path(existing.path), raw)
            if existing.repair_iob is None:  # recorded before the column existed: record it now
                return _register(store, existing.name, corpus, existing.path, repaired)
            return existing
        uploads_dir = Path(uploads_dir)
        uploads_dir.mkdir(parents=True, exist_ok=True)
        target = uploads_dir / f"{corpus.sha256[:16]}-{safe_file_name(name)}"
        created = not target.exists()
        if created:
            write_bytes_atomic(target, raw)
    except OSError as exc:
        raise UploadRejected(
            f"{safe_file_name(name)} was not stored: the uploads folder {uploads_dir} cannot be written ({exc.strerror or exc})."
        ) from None
    try:
        return _register(store, safe_file_name(name), corpus, str(target), repaired)
    except BaseException:
        if created:  # no row, so no file either
            target.unlink(missing_ok=True)
        raise


def _register(store, name: str, corpus: annotated.Corpus, path: str, repaired: bool):
    return store.register_dataset(
        name=name,
        sha256=corpus.sha256,
        path=path,
        format=corpus.format,
        sentences=len(corpus.sentences),
        tokens=sum(len(s) for s in corpus.sentences),
        repair_iob=repaired,
    )


def registered_upload(store, path: str | Path):
    """The uploaded dataset stored at ``path`` (its ``store.Dataset`` row), or None for any other file."""
    return next((dataset for dataset in store.list_datasets() if dataset.path == str(path)), None)


def needs_repair(store, path: str | Path) -> bool:
    """True when the dataset at ``path`` was accepted only with IOB2 repair, so training it must repair too."""
    dataset = registered_upload(store, path)
    return bool(dataset is not None and dataset.repair_iob)
