"""Whole-or-nothing file writes, shared by every writer whose file a crash must not leave half-written
(run metadata, run logs, stored uploads).

A reader sees the previous file or the new one, never part of one: the bytes go to a temporary file in
the same folder (so the rename stays on one file system), are fsynced, and replace the target in one
``os.replace``. A failure at any point removes the temporary file and re-raises.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
