"""Bulk tagging jobs for the app: a background worker, the finished results on disk, and what a page does with them.

A job belongs to the server process, not to a browser session, so a closed tab does not stop it: one
:class:`BulkTagger` per models folder (:func:`get_bulk_tagger`), with one worker thread that tags one
document set at a time (two at once would only share the same two cores). The thread spends its time in
ONNX Runtime or TensorFlow (which release the GIL) and in short bursts of tokenizing, so pages stay
responsive; they poll :meth:`BulkTagger.get`, which returns copies.

Results live in ``<models folder>/bulk/``: ``<job>.jsonl`` (:mod:`ner_core.serving.bulk`'s format),
``<job>.index.json`` (byte offset and confidence of every document, the least confident sentences) and
``<job>.json`` (the summary), each written atomically, the summary last, so a listed result is complete.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ner_core.atomic_files import write_text_atomic
from ner_core.corpus import documents as document_sets
from ner_core.corpus import tags as tagging
from ner_core.errors import BulkJobNotFoundError, ConfigError, NerError
from ner_core.serving import bulk
from ner_core.serving.predictor import Entity, cached_predictor
from ner_core.store.database import Store
from ner_core.workbench import review_requests

RESULTS_FOLDER = "bulk"
STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FINISHED = ("completed", "failed", "cancelled")
ORDERS = {"file": "file order", "least confident": "least confident first"}
MAX_REVIEW_SEND = bulk.LEAST_CONFIDENT_KEPT
# A page that shows a running job reruns to poll it, and every Streamlit rerun ends with gc.collect(2) and
# keras' clear_session: ~0.35 s of GIL-held CPU in a server with TensorFlow loaded, taken from the tagging
# thread (bench/results/bulk_tagging.md measures the job under polling). So a page polls quickly only while
# a job is young (a small set is done in seconds and shows at once), then every few seconds.
FAST_POLL_S = 1.0
SLOW_POLL_S = 5.0
FAST_POLL_WINDOW_S = 8.0


@dataclass
class BulkJob:
    """What a page shows about one job; read through copies only."""

    job_id: str
    run_id: str
    model: str
    source_name: str
    documents: int
    chars: int
    status: str = "queued"
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    documents_done: int = 0
    tokens_done: int = 0
    chars_done: int = 0
    progress_events: int = 0
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def fraction(self) -> float:
        return 1.0 if self.status == "completed" else (self.chars_done / self.chars if self.chars else 0.0)


@dataclass(frozen=True)
class BulkResult:
    """A finished job's summary, as stored beside its results file."""

    job_id: str
    run_id: str
    model: str
    source_name: str
    documents: int
    sentences: int
    tokens: int
    entities: int
    seconds: float
    finished_at: str
    folder: str

    @property
    def path(self) -> Path:
        return Path(self.folder) / f"{self.job_id}.jsonl"

    @property
    def index_path(self) -> Path:
        return Path(self.folder) / f"{self.job_id}.index.json"

    @property
    def review_source(self) -> str:
        return f"bulk:{self.job_id}"


def new_job_id() -> str:
    return f"bulk-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


class BulkTagger:
    """Queues document sets and tags them one at a time on a daemon thread."""

    def __init__(self, models_dir: Path, *, load_predictor: Callable = cached_predictor, chunk_tokens: int = bulk.CHUNK_TOKENS):
        self.folder = Path(models_dir) / RESULTS_FOLDER
        self._load_predictor = load_predictor
        self._chunk_tokens = chunk_tokens
        self._jobs: dict[str, BulkJob] = {}
        self._inputs: dict[str, tuple[str, list[document_sets.Document]]] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="bulk-tagger", daemon=True)
        self._thread.start()

    def submit(
        self, *, run_id: str, run_dir: str, model: str, documents: Sequence[document_sets.Document], source_name: str
    ) -> str:
        if not documents:
            raise ConfigError("the document set is empty; nothing to tag.")
        job = BulkJob(new_job_id(), run_id, model, source_name, len(documents), sum(len(d.text) for d in documents))
        with self._lock:
            self._jobs[job.job_id] = job
            self._inputs[job.job_id] = (run_dir, list(documents))
        self._queue.put(job.job_id)
        return job.job_id

    def cancel(self, job_id: str) -> None:
        """A queued job never starts; a running one stops after its current chunk and writes nothing."""
        with self._lock:
            job = self._job(job_id)
            if not job.finished:
                self._cancelled.add(job_id)

    def get(self, job_id: str) -> BulkJob:
        with self._lock:
            return copy.copy(self._job(job_id))

    def jobs(self) -> list[BulkJob]:
        """Every job of this process, newest first."""
        with self._lock:
            return [copy.copy(job) for job in sorted(self._jobs.values(), key=lambda j: j.submitted_at, reverse=True)]

    def wait(self, job_id: str, timeout: float = 600.0) -> BulkJob:
        deadline = time.monotonic() + timeout
        while not (job := self.get(job_id)).finished:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bulk job {job_id} did not finish in {timeout} s")
            time.sleep(0.02)
        return job

    def shutdown(self) -> None:
        with self._lock:
            self._cancelled.update(self._jobs)
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _job(self, job_id: str) -> BulkJob:
        if job_id not in self._jobs:
            raise BulkJobNotFoundError(f"no bulk-tagging job {job_id!r} in this server process.")
        return self._jobs[job_id]

    def _update(self, job_id: str, **fields) -> None:
        with self._lock:
            job = self._jobs[job_id]
            for name, value in fields.items():
                setattr(job, name, value)

    def _progress(self, job_id: str, progress: bulk.Progress) -> None:
        with self._lock:
            job = self._jobs[job_id]
            job.documents_done, job.tokens_done, job.chars_done = (
                progress.documents_done,
                progress.tokens_done,
                progress.chars_done,
            )
            job.progress_events += 1

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            with self._lock:
                run_dir, documents = self._inputs.pop(job_id)
                cancelled = job_id in self._cancelled
            if cancelled:
                self._update(job_id, status="cancelled", finished_at=time.time())
                continue
            self._update(job_id, status="running", started_at=time.time())
            try:
                self._run(job_id, run_dir, documents)
            except bulk.TaggingCancelled:
                self._update(job_id, status="cancelled", finished_at=time.time())
            except NerError as exc:
                self._update(job_id, status="failed", error=str(exc), finished_at=time.time())
            except Exception as exc:  # noqa: BLE001 - a job's failure is shown on its page, never kills the worker
                self._update(job_id, status="failed", error=f"{exc.__class__.__name__}: {exc}", finished_at=time.time())
            else:
                self._update(job_id, status="completed", finished_at=time.time())

    def _run(self, job_id: str, run_dir: str, documents: list[document_sets.Document]) -> None:
        job = self.get(job_id)
        predictor = self._load_predictor(run_dir)
        summary = bulk.tag_to_file(
            predictor,
            documents,
            self.folder / f"{job_id}.jsonl",
            on_progress=lambda progress: self._progress(job_id, progress),
            should_stop=lambda: job_id in self._cancelled,
            chunk_tokens=self._chunk_tokens,
        )
        index = {
            "offsets": summary.offsets,
            "confidences": summary.confidences,
            "least_confident": [asdict(sentence) for sentence in summary.least_confident],
        }
        write_text_atomic(self.folder / f"{job_id}.index.json", json.dumps(index))
        result = BulkResult(
            job_id=job_id,
            run_id=job.run_id,
            model=job.model,
            source_name=job.source_name,
            documents=summary.documents,
            sentences=summary.sentences,
            tokens=summary.tokens,
            entities=summary.entities,
            seconds=summary.seconds,
            finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            folder=str(self.folder),
        )
        summary_fields = {k: v for k, v in asdict(result).items() if k != "folder"}
        write_text_atomic(self.folder / f"{job_id}.json", json.dumps(summary_fields, indent=2))


def poll_interval(jobs: Sequence[BulkJob], now: float) -> float | None:
    """How often a page showing ``jobs`` should poll them: None when none is unfinished."""
    active = [job for job in jobs if not job.finished]
    if not active:
        return None
    youngest = max(job.started_at or job.submitted_at for job in active)
    return FAST_POLL_S if now - youngest < FAST_POLL_WINDOW_S else SLOW_POLL_S


_TAGGERS: dict[str, BulkTagger] = {}
_TAGGERS_LOCK = threading.Lock()


def get_bulk_tagger(models_dir: Path) -> BulkTagger:
    """The one tagger of this process for ``models_dir`` (every session shares it)."""
    key = str(Path(models_dir).resolve())
    with _TAGGERS_LOCK:
        if key not in _TAGGERS:
            _TAGGERS[key] = BulkTagger(Path(models_dir))
        return _TAGGERS[key]


# --------------------------------------------------------------------------- finished results


def list_results(models_dir: Path) -> list[BulkResult]:
    """Completed results in the models folder, newest first (a summary that cannot be read is skipped)."""
    folder = Path(models_dir) / RESULTS_FOLDER
    results = []
    for summary in folder.glob("bulk-*.json"):
        if summary.name.endswith(".index.json"):
            continue
        try:
            results.append(_read_summary(summary))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(results, key=lambda result: result.finished_at, reverse=True)


def _read_summary(path: Path) -> BulkResult:
    fields = json.loads(path.read_text(encoding="utf-8"))
    result = BulkResult(**fields, folder=str(path.parent))
    if not result.path.exists() or not result.index_path.exists():
        raise ValueError("results file missing")
    return result


def load_result(models_dir: Path, job_id: str) -> BulkResult:
    path = Path(models_dir) / RESULTS_FOLDER / f"{job_id}.json"
    try:
        return _read_summary(path)
    except (OSError, ValueError, TypeError):
        raise BulkJobNotFoundError(f"no finished bulk-tagging result {job_id!r} in {path.parent}.") from None


def _index(result: BulkResult) -> dict:
    return json.loads(result.index_path.read_text(encoding="utf-8"))


def page_count(result: BulkResult, page_size: int) -> int:
    return max(1, -(-result.documents // page_size))


def read_page(result: BulkResult, *, page: int, page_size: int = 20, order: str = "file") -> list[dict]:
    """The documents on one page (1-based) in ``order`` (:data:`ORDERS`), read by offset from the results file."""
    if order not in ORDERS:
        raise ConfigError(f"unknown order {order!r}; one of: {', '.join(ORDERS)}.")
    index = _index(result)
    positions = list(range(len(index["offsets"])))
    if order == "least confident":
        positions.sort(key=lambda position: (index["confidences"][position], position))
    chosen = positions[(page - 1) * page_size : page * page_size]
    records = []
    with result.path.open("rb") as stream:
        for position in chosen:
            stream.seek(index["offsets"][position])
            records.append(json.loads(stream.readline()))
    return records


def iter_records(result: BulkResult) -> Iterator[dict]:
    with result.path.open("rb") as stream:
        for line in stream:
            yield json.loads(line)


def record_tags(record: dict) -> list[str]:
    """The IOB2 tag of every token of a result record, rebuilt from its spans."""
    spans = [tagging.Span(span["token_start"], span["token_end"] + 1, span["label"]) for span in record["spans"]]
    return tagging.spans_to_tags(spans, len(record["tokens"]))


def to_conll(result: BulkResult) -> str:
    """Every sentence as ``token<TAB>tag`` lines, a blank line after each sentence."""
    blocks = []
    for record in iter_records(result):
        tags, tokens = record_tags(record), record["tokens"]
        for sentence in record["sentences"]:
            rows = range(sentence["token_start"], sentence["token_end"] + 1)
            blocks.append("".join(f"{tokens[i]['text']}\t{tags[i]}\n" for i in rows))
    return "\n".join(blocks)


def least_confident(result: BulkResult, count: int) -> list[bulk.LowConfidenceSentence]:
    return [bulk.LowConfidenceSentence(**row) for row in _index(result)["least_confident"][:count]]


def send_least_confident(store: Store, result: BulkResult, count: int) -> int:
    """Queue the ``count`` least confident sentences for review; returns how many were added (not already pending)."""
    if not 1 <= count <= MAX_REVIEW_SEND:
        raise ConfigError(f"send between 1 and {MAX_REVIEW_SEND:,} sentences to review, got {count!r}.")
    chosen = least_confident(result, count)
    notes = [f"confidence {s.confidence:.3f}; document {s.document} of {result.source_name}" for s in chosen]
    return review_requests.add_review_requests(store, [s.text for s in chosen], source=result.review_source, notes=notes)


def delete_result(result: BulkResult) -> None:
    for path in (Path(result.folder) / f"{result.job_id}.json", result.index_path, result.path):
        path.unlink(missing_ok=True)


def record_entities(record: dict) -> list[Entity]:
    """A result record's spans as entities with character offsets, for highlighting."""
    text = record["text"]
    return [
        Entity(
            span["label"],
            text[span["start"] : span["end"]],
            span["start"],
            span["end"],
            span.get("confidence", 1.0),
            span["token_start"],
            span["token_end"] + 1,
        )
        for span in record["spans"]
    ]
