"""Whole-or-nothing file writes, shared by every writer whose file a crash must not leave half-written
(run metadata, run logs, stored uploads).

A reader sees the previous file or the new one, never part of one: the bytes go to a temporary file in
the same folder (so the rename stays on one file system), are fsynced, and replace the target in one
``os.replace``. A failure at any point removes the temporary file and re-raises.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMPORARY_SUFFIX = ".tmp"


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with open(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, *, errors: str = "strict") -> Path:
    """UTF-8 text; ``errors="replace"`` for text from outside (a process's stderr) that may hold lone surrogates."""
    return write_bytes_atomic(path, text.encode("utf-8", errors=errors))


@contextlib.contextmanager
def open_atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become ``path`` only when the ``with`` block ends without an exception.

    For files too large to hold in memory first (bulk-tagging results): written to a temporary file
    beside ``path``, fsynced and renamed; an exception (a cancel included) removes the temporary file,
    so ``path`` is the previous file or the complete new one, never a partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with open(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
