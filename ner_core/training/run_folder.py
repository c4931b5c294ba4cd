"""The on-disk layout of a run: ``models/<run_id>/`` and how it appears atomically.

A run is built under ``models/.tmp-<run_id>/`` and renamed to its final name
only when every file is written, so a crash or a cancel never leaves a
half-written run that the app would try to load.

A training job's log (everything its process wrote to stderr) is kept apart,
in ``models/logs/<run_id>.log``, since a failed or cancelled run has no folder.
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

from ner_core.atomic_files import write_text_atomic
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
LOGS_FOLDER = "logs"
# Inside a temporary folder: the identity of the process building it, so the next start can tell
# debris of a killed training (remove it) from a training that is still running elsewhere (keep it).
OWNER_FILE = ".owner"
# A temporary folder with no owner file (written before owners were recorded) counts as abandoned
# once it is this old; no training here takes a day.
UNOWNED_FOLDER_AGE_S = 24 * 3600


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name in parentheses may hold spaces


def process_identity(pid: int | None = None) -> str:
    """``"<pid>:<start time>"``: unlike a bare PID, it cannot match a later process that reuses the number."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid) or ''}"


def process_alive(identity: str | None) -> bool:
    """Whether the process an identity names is still the one running under that PID."""
    if not identity:
        return False
    pid_text, _, started = identity.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if Path("/proc").is_dir():
        return _start_time(pid) is not None and (not started or _start_time(pid) == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    (path / OWNER_FILE).write_text(process_identity(), encoding="utf-8")
    return RunFolder(path)


def finalize(temporary: RunFolder) -> RunFolder:
    """Atomically publish a completed run folder under its final name."""
    final = temporary.path.parent / temporary.run_id
    if final.exists():
        raise FileExistsError(f"run folder {final} already exists")
    temporary.file(OWNER_FILE).unlink(missing_ok=True)
    _fsync_folder(temporary.path)
    os.replace(temporary.path, final)
    return RunFolder(final)


def discard(temporary: RunFolder) -> None:
    shutil.rmtree(temporary.path, ignore_errors=True)


def remove_abandoned_folders(models_dir: Path, *, now: float | None = None) -> list[Path]:
    """Remove temporary folders whose process is gone (a killed training's checkpoints); returns them.

    A folder whose owner is alive is a training in progress and is never touched.
    """
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    now = dt.datetime.now().timestamp() if now is None else now
    removed = []
    for path in sorted(models_dir.glob(f"{TEMPORARY_PREFIX}*")):
        if not path.is_dir():
            continue
        owner_file = path / OWNER_FILE
        try:
            owner = owner_file.read_text(encoding="utf-8").strip()
        except OSError:
            owner = None
        if owner is None:
            abandoned = now - path.stat().st_mtime > UNOWNED_FOLDER_AGE_S
        else:
            abandoned = not process_alive(owner)
        if abandoned:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _fsync_folder(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            with open(child, "rb") as stream:
                os.fsync(stream.fileno())


def log_path(models_dir: Path, run_id: str) -> Path:
    """Where the log of a run's training job is kept: ``<models_dir>/logs/<run_id>.log``."""
    return Path(models_dir) / LOGS_FOLDER / f"{run_id}.log"


def read_log(models_dir: Path, run_id: str) -> str | None:
    """The whole log of a run's training job; None when it has none (trained in-process, or never started)."""
    try:
        return log_path(models_dir, run_id).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def write_log(models_dir: Path, run_id: str, text: str) -> Path:
    """Keep ``text`` as the run's log, atomically: a reader sees the previous log or this one, never half of it."""
    return write_text_atomic(log_path(models_dir, run_id), text, errors="replace")


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
