"""One training job in its own Python process, spoken to over stdin/stdout.

Why a process and not a thread of the server: Streamlit ends every script run
(fragment polls included) with ``gc.collect(2)`` and ``keras.backend.clear_session()``,
a few hundred milliseconds holding the GIL once TensorFlow is loaded. A training
thread inside the server waited for every one of them: with the Training page
polling each second a ``model2`` fit on the sample took 132 s instead of 28 s.
In a child process the fit owns its interpreter, a crash or an out-of-memory
kill of the fit cannot take the app down with it, and ``clear_session`` in the
server can never touch the graph being trained.

Both ends of the protocol live here: the child's :func:`run` and the parent's
:class:`TrainingProcess`, :func:`forward_cancel` and :func:`read_message`, which
``ner_core.training.jobs`` (the only client) uses to start, feed and read a child.
Nothing here imports TensorFlow at import time; the child imports it in :func:`run`.

Protocol:

* The process imports TensorFlow first, then waits: the runner starts the next
  job's process while the current job trains, so a job starts at once.
* stdin, first line: the job as JSON (``config``, ``run_id``, ``parent_run_id``,
  ``models_dir``, ``database_url``, ``extra_train_sentences``, ``annotations``); any later line
  ``cancel`` asks the fit to stop after its current batch. End of stdin means
  the server is gone: the job cancels itself rather than train for nobody
  (end of stdin before any job: the process exits without a word).
* stdout: one JSON object per line, ``{"event": ProgressEvent}`` while training,
  then exactly one ``{"result": {"metrics": ...}}`` or
  ``{"error": {"status": "cancelled"|"failed", "message": ..., "code": "E001"}}`` (code: a NerError's).

Anything else the libraries print goes to stderr (file descriptor 1 is pointed
at 2 before TensorFlow loads), so it cannot corrupt the protocol.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

from ner_core.errors import NerError
from ner_core.settings import PROJECT_ROOT

CANCEL_LINE = "cancel"
# Added to the training process's niceness (0 = the server's): a background job yields the CPU to page loads.
BACKGROUND_NICENESS = 10

# --------------------------------------------------------------------------- the parent's side


def job_payload(
    *,
    config,
    run_id: str,
    parent_run_id: str | None,
    models_dir: Path,
    database_url: str,
    extra_train_sentences,
    annotations=None,
) -> str:
    """The first stdin line for a job (``config`` a TrainConfig, sentences ``data.Sentence``, ``annotations`` an
    ``AnnotationLineage`` or None)."""
    return json.dumps(
        {
            "config": config.to_dict(),
            "run_id": run_id,
            "parent_run_id": parent_run_id,
            "models_dir": str(models_dir),
            "database_url": database_url,
            "extra_train_sentences": [dataclasses.asdict(sentence) for sentence in extra_train_sentences],
            "annotations": annotations.to_dict() if annotations is not None else None,
        }
    )


def child_environment() -> dict:
    """The server's environment, with the package importable from any working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


class TrainingProcess:
    """A ``python -m ner_core.training.job_process`` child and the temporary file that collects its stderr.

    Its stderr goes to a file rather than a pipe so a chatty library can never
    block the child on a full pipe; :meth:`finish` hands back all of it.
    """

    def __init__(self, process: subprocess.Popen, stderr):
        self.process = process
        self._stderr = stderr

    @classmethod
    def start(cls) -> TrainingProcess:
        stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        process = subprocess.Popen(
            [sys.executable, "-m", "ner_core.training.job_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            env=child_environment(),
        )
        return cls(process, stderr)

    def finish(self) -> tuple[int, str]:
        """Close its stdin, wait for it to exit; its exit status and everything it wrote to stderr."""
        close_quietly(self.process.stdin)
        code = self.process.wait()
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stderr.close()
        close_quietly(self.process.stdout)
        return code, stderr


def forward_cancel(cancel: threading.Event, child: subprocess.Popen) -> None:
    """Tell the child to stop once the job is cancelled (the runner also sets the flag when the job ends)."""
    cancel.wait()
    if child.poll() is None:
        try:
            child.stdin.write(CANCEL_LINE + "\n")
            child.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # already exiting


def read_message(line: str) -> dict:
    """One protocol line; anything else (it should not happen: the child's fd 1 goes to stderr) is skipped."""
    try:
        message = json.loads(line)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def close_quietly(stream) -> None:
    try:
        stream.close()
    except (BrokenPipeError, OSError):
        pass


def one_line(exc: BaseException) -> str:
    """The first line of what a job's error says: a NerError's own text, anything else with its class name."""
    text = str(exc) if isinstance(exc, NerError) else f"{exc.__class__.__name__}: {exc}"
    lines = text.strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


# --------------------------------------------------------------------------- the child's side


def _emit(channel: IO[str], lock: threading.Lock, message: dict) -> None:
    with lock:
        channel.write(json.dumps(message) + "\n")
        channel.flush()


def _watch_stdin(stdin: IO[str], cancel: threading.Event) -> None:
    """Set ``cancel`` on a ``cancel`` line or when the parent closes the pipe (it exited or died)."""
    for line in stdin:
        if line.strip() == CANCEL_LINE:
            break
    cancel.set()


def _yield_cpu_to_the_server() -> None:
    """Run at a lower CPU priority than the app: a fit uses every core it is given, and the analyst's page
    loads must not wait behind it. On an otherwise idle machine the fit still gets all of them."""
    try:
        os.nice(BACKGROUND_NICENESS)
    except (AttributeError, OSError):  # no os.nice on this platform, or not permitted
        pass


def run(stdin: IO[str], channel: IO[str]) -> int:
    """Train the job read from ``stdin``, report on ``channel``; the exit status is 0 unless reporting failed."""
    import keras  # noqa: F401 - the slow import happens while the runner keeps this process as its spare

    from ner_core.corpus import annotated
    from ner_core.errors import TrainingCancelled
    from ner_core.store.database import Store
    from ner_core.store.tables import RunStatus
    from ner_core.training import callbacks, lineage, loop
    from ner_core.training.config import TrainConfig

    lock = threading.Lock()
    first = stdin.readline()
    if not first.strip():
        return 0  # the runner shut down before it needed this process
    try:
        job = json.loads(first)
        config = TrainConfig.from_dict(job["config"])
        extra = [annotated.Sentence(**sentence) for sentence in job.get("extra_train_sentences", [])]
        annotations = lineage.AnnotationLineage.from_dict(job["annotations"]) if job.get("annotations") else None
    except (ValueError, KeyError, TypeError, NerError) as exc:
        _emit(channel, lock, {"error": {"status": RunStatus.FAILED, "message": f"unreadable job description: {exc}"}})
        return 0
    cancel = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stdin, cancel), name="cancel-watch", daemon=True).start()

    def progress(event: callbacks.ProgressEvent) -> None:
        _emit(channel, lock, {"event": dataclasses.asdict(event)})

    try:
        result = loop.train(
            config,
            models_dir=Path(job["models_dir"]),
            store=Store(job["database_url"]),
            extra_train_sentences=extra,
            progress=progress,
            cancel=cancel,
            run_id=job["run_id"],
            parent_run_id=job.get("parent_run_id"),
            annotations=annotations,
        )
    except (TrainingCancelled, KeyboardInterrupt) as exc:
        message = getattr(exc, "message", "") or "training was cancelled; nothing was saved."
        _emit(channel, lock, {"error": {"status": RunStatus.CANCELLED, "message": message}})
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent, which records it
        # The message without its "[E001] " prefix plus the code apart, so the parent re-raises it with
        # that one code instead of wrapping it in a second ("[E000] [E001] ...").
        if isinstance(exc, NerError):
            error = {"status": RunStatus.FAILED, "message": exc.message, "code": exc.code}
        else:
            error = {"status": RunStatus.FAILED, "message": f"{exc.__class__.__name__}: {exc}"}
        _emit(channel, lock, {"error": error})
    else:
        _emit(channel, lock, {"result": {"metrics": result.metrics}})
    return 0


def main() -> int:
    _yield_cpu_to_the_server()
    # Keep the protocol on a private copy of stdout, then send fd 1 (print, C libraries) to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return run(sys.stdin, channel)


if __name__ == "__main__":
    sys.exit(main())
