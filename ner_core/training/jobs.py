"""Background training jobs that outlive a page, a session and a browser tab.

A Streamlit session is gone when its tab closes, so a training started from a
page must belong to the server process instead: one :class:`JobRunner` per
(database, models folder), shared by every session through :func:`get_runner`.
It trains one job at a time (the machine has few cores and two fits at once
would only make both slow); further submissions wait in a queue and show as
``queued`` in the page and in the store.

Each fit runs in its own Python process (``ner_core.training.job_process``) watched by
the runner's daemon thread, which turns the child's progress lines into the
job's state: the Streamlit server's per-rerun garbage collection and Keras
``clear_session`` cannot stall or disturb it, and a fit that crashes or is
killed fails its job instead of the app. ``isolation="thread"`` trains in the
runner's thread instead (needed for an in-memory SQLite database, which
another process cannot open).

Pages poll :meth:`JobRunner.jobs` / :meth:`JobRunner.get`, which return copies,
so a page never reads a list the worker is appending to. The store row of a job
exists from the moment it is submitted; ``training.train`` moves it to
``running`` and then to its final status, and the runner only settles the row
itself when ``train`` could not (cancelled while queued, or a failure before
``train`` reached the store).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import queue
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ner_core.errors import JobNotFoundError, NerError, TrainingCancelled
from ner_core.store.database import Store
from ner_core.store.tables import ACTIVE_STATUSES, FINISHED_STATUSES, RunStatus, utcnow
from ner_core.training import callbacks, job_process, lineage, loop, recovery, run_folder
from ner_core.training.config import TrainConfig
from ner_core.training.job_process import TrainingProcess, forward_cancel, one_line, read_message

logger = logging.getLogger(__name__)

ISOLATIONS = ("process", "thread")

# Enough points for a smooth live loss curve; older points are dropped.
BATCH_LOSS_POINTS = 500

_STOP = object()  # queue sentinel that ends the worker thread


@dataclass
class JobState:
    """What a page shows about one job; read it through ``snapshot()`` copies only."""

    job_id: str
    run_id: str
    config: TrainConfig
    status: RunStatus = RunStatus.QUEUED
    submitted_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    last_event: callbacks.ProgressEvent | None = None
    epoch_logs: list[dict] = field(default_factory=list)  # one epoch_end log per epoch, plus "epoch" and "lr"
    batch_losses: list[tuple[int, int, float]] = field(default_factory=list)  # (epoch, batch, loss)
    error: str | None = None
    metrics: dict = field(default_factory=dict)
    parent_run_id: str | None = None
    label: str = ""
    process_id: int | None = None  # the training process while it runs (process isolation only)
    dismissed: bool = False  # an analyst has read how it ended; pages stop showing its card

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def snapshot(self) -> JobState:
        """A copy that shares no mutable container with the worker's state."""
        event = self.last_event
        return dataclasses.replace(
            self,
            config=dataclasses.replace(self.config),
            last_event=dataclasses.replace(event, logs=dict(event.logs)) if event is not None else None,
            epoch_logs=[dict(log) for log in self.epoch_logs],
            batch_losses=list(self.batch_losses),
            metrics=copy.deepcopy(self.metrics),
        )


class JobRunner:
    """A queue of training jobs run one at a time, each in its own process by default.

    Use :func:`get_runner` in the app so every session shares one runner;
    construct it directly only in tests.
    """

    def __init__(self, store: Store, models_dir: Path, *, isolation: str = "process"):
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, not {isolation!r}")
        if isolation == "process" and _in_memory(store.url):
            isolation = "thread"  # another process would open a different, empty database
        self.store = store
        self.models_dir = Path(models_dir)
        self.isolation = isolation
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a job finishes
        self._jobs: dict[str, JobState] = {}  # insertion order = submission order
        self._cancel_flags: dict[str, threading.Event] = {}
        self._extra_sentences: dict[str, tuple] = {}
        self._annotations: dict[str, lineage.AnnotationLineage | None] = {}
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._spare: TrainingProcess | None = None  # process isolation: the next job's process, warming up
        self._worker = threading.Thread(target=self._work, name="ner-job-runner", daemon=True)
        self._worker.start()

    # ----------------------------------------------------------------- public API

    def submit(
        self,
        config: TrainConfig,
        *,
        extra_train_sentences: Sequence = (),
        parent_run_id: str | None = None,
        label: str = "",
        annotations: lineage.AnnotationLineage | None = None,
    ) -> JobState:
        """Record a ``queued`` run in the store now and train it when the jobs before it are done.

        ``annotations`` train with the run and are recorded as its lineage (``loop.train``)."""
        if self._closed:
            raise RuntimeError("the job runner is shut down; get a new one with get_runner().")
        with self._lock:
            taken = {job.run_id for job in self._jobs.values()}
        run_id = run_folder.new_run_id(config.model)
        while run_id in taken:  # two submissions in the same second can draw the same suffix
            run_id = run_folder.new_run_id(config.model)
        self.store.create_run(
            run_id,
            config.model,
            config=config.resolved().to_dict(),
            dataset_path=config.dataset or "",
            status=RunStatus.QUEUED,
            parent_run_id=parent_run_id,
        )
        self.store.update_run(run_id, owner=run_folder.process_identity())  # queued by this process
        job = JobState(
            job_id=f"job-{secrets.token_hex(4)}",
            run_id=run_id,
            config=dataclasses.replace(config),
            submitted_at=time.time(),
            parent_run_id=parent_run_id,
            label=label,
        )
        with self._lock:
            self._jobs[job.job_id] = job
            self._cancel_flags[job.job_id] = threading.Event()
            self._extra_sentences[job.job_id] = tuple(extra_train_sentences)
            self._annotations[job.job_id] = annotations
            snapshot = job.snapshot()
        if self.isolation == "process":
            with self._lock:
                if self._spare is None and not self._closed:
                    self._spare = TrainingProcess.start()  # imports TensorFlow while the job waits its turn
        self._queue.put(job.job_id)
        return snapshot

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job (it never starts) or ask a running one to stop; False if already finished.

        A running job stops after its current batch; its status turns
        ``cancelled`` when ``train`` has cleaned up. A job already evaluating
        on the test split finishes as ``completed``.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return False
            self._cancel_flags[job_id].set()
            if job.status != RunStatus.QUEUED:
                return True
            job.status = RunStatus.CANCELLED
            job.finished_at = time.time()
            job.error = "cancelled before it started"
            self._extra_sentences.pop(job_id, None)
            self._annotations.pop(job_id, None)
            self._changed.notify_all()
        self.store.update_run(job.run_id, status=RunStatus.CANCELLED, finished_at=utcnow(), error_message=job.error)
        return True

    def dismiss(self, job_id: str) -> bool:
        """Mark a finished job as read, so pages stop showing its card (a failure stays until then); False if unfinished."""
        with self._lock:
            job = self._job(job_id)
            if not job.finished:
                return False
            job.dismissed = True
            return True

    def jobs(self) -> list[JobState]:
        """Copies of every job this runner has seen, newest first."""
        with self._lock:
            return [job.snapshot() for job in reversed(self._jobs.values())]

    def get(self, job_id: str) -> JobState:
        """A copy of one job; JobNotFoundError (also a KeyError) for an id this runner never had."""
        with self._lock:
            return self._job(job_id).snapshot()

    def active(self) -> JobState | None:
        """The job being trained right now, if any."""
        with self._lock:
            running = [job for job in self._jobs.values() if job.status == RunStatus.RUNNING]
            return running[0].snapshot() if running else None

    def wait(self, job_id: str, timeout: float) -> JobState:
        """Block until the job has finished; raises TimeoutError after ``timeout`` seconds."""
        with self._changed:
            job = self._job(job_id)
            if not self._changed.wait_for(lambda: job.finished, timeout):
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout:g} s.")
            return job.snapshot()

    def shutdown(self, wait: bool = False) -> None:
        """Cancel queued and running jobs and stop the worker; ``wait`` joins it."""
        with self._lock:
            self._closed = True
            pending = [job.job_id for job in self._jobs.values() if not job.finished]
        for job_id in pending:
            self.cancel(job_id)
        self._queue.put(_STOP)
        with _registry_lock:
            for key, runner in list(_runners.items()):
                if runner is self:
                    del _runners[key]
        if wait:
            self._worker.join()
        self._stop_spare()

    # ----------------------------------------------------------------- worker

    def _job(self, job_id: str) -> JobState:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFoundError(f"no job {job_id!r} in this runner; jobs are forgotten when the app restarts.") from None

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is _STOP:
                self._stop_spare()
                return
            with self._lock:
                job = self._jobs[job_id]
                if job.status != RunStatus.QUEUED:  # cancelled while waiting
                    continue
                job.status = RunStatus.RUNNING
                job.started_at = time.time()
                cancel = self._cancel_flags[job_id]
                extra = self._extra_sentences.pop(job_id, ())
                annotations = self._annotations.pop(job_id, None)
                config = dataclasses.replace(job.config)
            self._run(job, config, extra, cancel, annotations)

    def _run(self, job: JobState, config: TrainConfig, extra: tuple, cancel: threading.Event, annotations=None) -> None:
        status, error, metrics = RunStatus.COMPLETED, None, {}
        try:
            if cancel.is_set():  # cancelled between leaving the queue and starting to train
                raise TrainingCancelled("training was cancelled before it started; nothing was saved.")
            if self.isolation == "process":
                metrics = self._train_in_process(job, config, extra, cancel, annotations)
            else:
                result = loop.train(
                    config,
                    models_dir=self.models_dir,
                    store=self.store,
                    extra_train_sentences=extra,
                    progress=lambda event: self._record(job, event),
                    cancel=cancel,
                    run_id=job.run_id,
                    parent_run_id=job.parent_run_id,
                    annotations=annotations,
                )
                metrics = result.metrics
        except TrainingCancelled as exc:
            status, error = RunStatus.CANCELLED, one_line(exc)
        except Exception as exc:  # noqa: BLE001 - a failed job must not stop the worker
            status, error = RunStatus.FAILED, one_line(exc)
        if status != RunStatus.COMPLETED:
            self._settle_store_row(job.run_id, status, error)
        with self._lock:
            job.status = status
            job.error = error
            job.metrics = metrics
            job.finished_at = time.time()
            self._cancel_flags[job.job_id].set()  # nothing left to cancel
            self._changed.notify_all()

    def _train_in_process(self, job: JobState, config: TrainConfig, extra: tuple, cancel: threading.Event, annotations) -> dict:
        """Run ``training.train`` in a child process and mirror its progress; returns the test metrics.

        Raises TrainingCancelled or NerError as an in-process fit would, so
        ``_run`` records both kinds of runner the same way. Whatever the outcome,
        the child's whole stderr is kept as the run's log (``run_folder.read_log``).
        """
        payload = job_process.job_payload(
            config=config,
            run_id=job.run_id,
            parent_run_id=job.parent_run_id,
            models_dir=self.models_dir.resolve(),
            database_url=self.store.url,
            extra_train_sentences=extra,
            annotations=annotations,
        )
        child = self._take_warm_process()
        with self._lock:
            job.process_id = child.process.pid
        threading.Thread(target=forward_cancel, args=(cancel, child.process), daemon=True, name=f"cancel-{job.job_id}").start()
        outcome = None
        try:
            child.process.stdin.write(payload + "\n")
            child.process.stdin.flush()
            for line in child.process.stdout:
                message = read_message(line)
                if "event" in message:
                    self._record(job, callbacks.ProgressEvent(**message["event"]))
                elif "result" in message or "error" in message:
                    outcome = message
        except BrokenPipeError:
            pass  # the child died before reading its job: its exit status and stderr tell why
        except BaseException:
            child.process.kill()  # nobody would read its output any more; finish() must not wait for a fit
            raise
        finally:
            code, stderr = child.finish()
            log = self._keep_log(job.run_id, stderr)
            with self._lock:
                job.process_id = None
        if outcome is None:
            self._discard_temporary_folder(job.run_id)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            # No "last output" quote: the last stderr line is usually an unrelated TensorFlow log line.
            where = f"; its log is {log}" if log else " and left no log"
            raise NerError(f"the training process {how} before it reported a result{where}.")
        if "result" in outcome:
            return outcome["result"]["metrics"]
        error = outcome["error"]
        if error["status"] == RunStatus.CANCELLED:
            raise TrainingCancelled(error["message"])
        failure = NerError(error["message"])
        failure.code = error.get("code", failure.code)  # the child's own code, shown once
        raise failure

    def _take_warm_process(self) -> TrainingProcess:
        """The spare process (TensorFlow already imported), replaced at once by a new spare for the next job.

        Importing TensorFlow takes 5-7 s here; a job that finds its process ready
        starts training at once, which matters for the short jobs of the sample.
        """
        with self._lock:
            child, self._spare = self._spare, None
            if child is None or child.process.poll() is not None:
                child = TrainingProcess.start()
            if not self._closed:
                self._spare = TrainingProcess.start()
        return child

    def _stop_spare(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.process.kill()  # it holds no job; waiting for it to finish importing TensorFlow is wasted time
            spare.finish()

    def _keep_log(self, run_id: str, stderr: str) -> Path | None:
        """Write the child's stderr to ``logs/<run_id>.log``; None (and a warning) when it cannot be written."""
        try:
            return run_folder.write_log(self.models_dir.resolve(), run_id, stderr)
        except OSError:
            logger.warning("could not write the training log of run %s", run_id, exc_info=True)
            return None

    def _discard_temporary_folder(self, run_id: str) -> None:
        """A killed child leaves its half-written ``.tmp-<run_id>`` folder; nothing in it is usable."""
        folder = self.models_dir / f"{run_folder.TEMPORARY_PREFIX}{run_id}"
        if folder.is_dir():
            run_folder.discard(run_folder.RunFolder(folder))

    def _record(self, job: JobState, event: callbacks.ProgressEvent) -> None:
        """The progress hook: runs on the worker thread for every event ``train`` emits."""
        with self._lock:
            job.last_event = event
            if event.kind == "batch" and "loss" in event.logs:
                job.batch_losses.append((event.epoch, event.batch, event.logs["loss"]))
                if len(job.batch_losses) > BATCH_LOSS_POINTS:
                    del job.batch_losses[:-BATCH_LOSS_POINTS]
            elif event.kind == "epoch_end":
                log = dict(event.logs, epoch=event.epoch)
                if "learning_rate" in log:  # ReduceLROnPlateau adds it to the epoch logs
                    log["lr"] = log["learning_rate"]
                job.epoch_logs.append(log)

    def _settle_store_row(self, run_id: str, status: RunStatus, error: str | None) -> None:
        """``train`` settles its row, except when it failed before touching the store (bad dataset path...)."""
        try:
            if self.store.get_run(run_id).status in ACTIVE_STATUSES:
                self.store.update_run(run_id, status=status, finished_at=utcnow(), error_message=error)
        except Exception:  # noqa: BLE001 - row gone or database unreachable: the job state still says what happened
            logger.warning("could not record run %s as %s in the store", run_id, status, exc_info=True)


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and (url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:") or ":memory:" in url)


# --------------------------------------------------------------------------- process-wide runners

_registry_lock = threading.Lock()
_runners: dict[tuple[str, str], JobRunner] = {}
_cleaned_databases: set[str] = set()


def get_runner(store: Store, models_dir: Path) -> JobRunner:
    """The one runner of this process for this database and models folder.

    The first call for a database fails the rows a dead process left ``running``
    or ``queued`` and removes its temporary folders (:func:`recovery.recover`);
    rows and folders of live processes, this one's included, are kept.
    """
    key = (store.url, str(Path(models_dir).resolve()))
    with _registry_lock:
        runner = _runners.get(key)
        if runner is None:
            if store.url not in _cleaned_databases:
                recovery.recover(store, models_dir)
                _cleaned_databases.add(store.url)
            runner = _runners[key] = JobRunner(store, models_dir)
        return runner
