"""The on-disk layout of a run: ``models/<run_id>/`` and how it appears atomically.

A run is built under ``models/.tmp-<run_id>/`` and renamed to its final name
only when every file is written, so a crash or a cancel never leaves a
half-written run that the app would try to load.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ner_core.errors import ModelLoadError

MODEL_FILE = "model.keras"
WORD_VOCAB_FILE = "word_vocab.json"
TAG_VOCAB_FILE = "tag_vocab.json"
CHAR_VOCAB_FILE = "char_vocab.json"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
EVALUATION_FILE = "evaluation.json"
REQUIRED_FILES = (MODEL_FILE, WORD_VOCAB_FILE, TAG_VOCAB_FILE, CONFIG_FILE)
TEMPORARY_PREFIX = ".tmp-"


def new_run_id(model_name: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{model_name}-{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name.removeprefix(TEMPORARY_PREFIX)

    def file(self, name: str) -> Path:
        return self.path / name

    def read_json(self, name: str) -> dict:
        path = self.file(name)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelLoadError(f"run {self.run_id}: {name} is missing; the run folder is incomplete.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"run {self.run_id}: {name} is corrupt ({exc}).") from None

    def check_complete(self) -> None:
        if not self.path.is_dir():
            raise ModelLoadError(f"run folder {self.path} does not exist; train a model first.")
        missing = [name for name in REQUIRED_FILES if not self.file(name).exists()]
        if missing:
            raise ModelLoadError(f"run {self.run_id} is incomplete: missing {', '.join(missing)}.")


def temporary_folder(models_dir: Path, run_id: str) -> RunFolder:
    path = Path(models_dir) / f"{TEMPORARY_PREFIX}{run_id}"
    path.mkdir(parents=True, exist_ok=False)
    return RunFolder(path)


def finalize(temporary: RunFolder) -> RunFolder:
    """Atomically publish a completed run folder under its final name."""
    final = temporary.path.parent / temporary.run_id
    if final.exists():
        raise FileExistsError(f"run folder {final} already exists")
    _fsync_folder(temporary.path)
    os.replace(temporary.path, final)
    return RunFolder(final)


def discard(temporary: RunFolder) -> None:
    shutil.rmtree(temporary.path, ignore_errors=True)


def _fsync_folder(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            with open(child, "rb") as stream:
                os.fsync(stream.fileno())


def resolve_run_folder(models_dir: Path, run: str) -> RunFolder:
    """Accept a run id or a path to a run folder."""
    candidate = Path(run)
    if candidate.is_dir():
        return RunFolder(candidate)
    folder = RunFolder(Path(models_dir) / run)
    if not folder.path.is_dir():
        raise ModelLoadError(f"no run {run!r} under {models_dir}; `python -m ner_core compare` lists the runs.")
    return folder


def machine_description() -> dict:
    """Timing metrics are only comparable on the same machine, so we record it."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import tensorflow as tf  # noqa: PLC0415 - only when timing was measured

        tf_version = tf.__version__
    except Exception:  # pragma: no cover - tensorflow is a hard dependency
        tf_version = "unknown"
    return {
        "hostname": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf_version,
        "platform": platform.platform(),
    }


def log_path(models_dir: Path, run_id: str) -> Path:
    """Where a run's training log (the training process's stderr) is kept."""
    return Path(models_dir) / "logs" / f"{run_id}.log"


def read_log(models_dir: Path, run_id: str) -> str | None:
    """The run's training log; None when the run has no log."""
    path = log_path(models_dir, run_id)
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
