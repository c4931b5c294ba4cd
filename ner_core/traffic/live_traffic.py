"""Live traffic: labelled test sentences sent as real HTTP requests to a running API, in the background.

The simulator (:mod:`ner_core.traffic.simulator`) replays test sentences through the router on a
simulated clock; a live run sends the same kind of traffic to ``POST /api/v1/predict`` of a real
server, so its latencies, errors, fallbacks and breaker states are the server's. How it runs:

1. :meth:`LiveTraffic.start` asks the server's ``/api/v1/health`` first (so an unreachable address
   or a refused key is one clear error before anything is written), records the run in
   ``live_traffic_runs`` with the split the server routes ``auto`` requests by, and starts a thread.
2. The thread runs an asyncio loop with one ``httpx.AsyncClient``: request ``i`` carries test
   sentence ``permutation[i % n]`` (seeded, as in the simulator) and leaves at the ``i``-th arrival
   of a seeded Poisson process at the chosen rate, but never with more than ``concurrency``
   requests in flight (then it waits for a slot, and the achieved rate, shown, falls short).
3. Each request sends ``X-Request-ID: <live run id>-<position>``; the API logs its row under that
   id, so :mod:`ner_core.traffic.live_results` finds every row of the run again. What only the client
   knows (send time, HTTP status, round trip, the sentence's gold entities) is written to
   ``live_traffic_requests`` in batches off the event loop.
4. ``/api/v1/health`` is asked about once a second for the breakers' states, shown while it runs.

:meth:`LiveTraffic.cancel` stops sending; requests in flight finish and are recorded. A refused key
or a server that stops answering ends the run early with a message instead of sending on blindly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np

from ner_core.corpus import tags as tagging
from ner_core.errors import ConfigError, NerError
from ner_core.store.database import Store
from ner_core.store.tables import LiveTrafficRequest, LiveTrafficRun, utcnow
from ner_core.traffic import api_client
from ner_core.traffic.api_client import ApiClient, ApiTarget

logger = logging.getLogger(__name__)

PREDICT_PATH = "/api/v1/predict"
REQUEST_ID_HEADER = "X-Request-ID"
RUNNING, COMPLETED, CANCELLED, FAILED = "running", "completed", "cancelled", "failed"
MAX_REQUESTS = 100_000
MAX_RATE_PER_S = 5_000.0
MAX_CONCURRENCY = 256
HEALTH_POLL_S = 1.0
FLUSH_INTERVAL_S = 0.5
FLUSH_ROWS = 200
# This many requests in a row without an HTTP answer: the server is gone, stop instead of timing out on each.
MAX_CONSECUTIVE_UNANSWERED = 10
CHECK_INTERVAL_S = 0.1  # how often a waiting sender looks at the cancel flag


@dataclass(frozen=True)
class LiveTrafficConfig:
    """How much traffic to send and how: total requests, target arrival rate, most requests in
    flight at once, the request's ``model`` field (``auto``: the server's router decides) and the
    seed of the sentence order and arrival times."""

    requests: int = 200
    rate_per_s: float = 20.0
    concurrency: int = 8
    model: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, (int, np.integer)):
            raise ConfigError(f"requests must be a whole number from 1 to {MAX_REQUESTS:,}, got {self.requests!r}.")
        if not 1 <= self.requests <= MAX_REQUESTS:
            raise ConfigError(f"requests must be a whole number from 1 to {MAX_REQUESTS:,}, got {self.requests!r}.")
        if not isinstance(self.rate_per_s, (int, float)) or not 0 < float(self.rate_per_s) <= MAX_RATE_PER_S:
            raise ConfigError(
                f"the rate must be more than 0 and at most {MAX_RATE_PER_S:,g} requests/s, got {self.rate_per_s!r}."
            )
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, (int, np.integer)):
            raise ConfigError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, got {self.concurrency!r}.")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, got {self.concurrency!r}.")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("the model field must name a model, a role or auto.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed!r}.")

    def as_dict(self) -> dict:
        return {"requests": int(self.requests), "rate_per_s": float(self.rate_per_s), "concurrency": int(self.concurrency),
                "model": self.model.strip(), "seed": int(self.seed)}  # fmt: skip


@dataclass(frozen=True)
class SentenceRequest:
    """A test sentence as a request body: its words joined by spaces, and its gold entities as
    ``(type, start, end)`` character spans of that text (the API answers with character offsets)."""

    text: str
    gold: tuple[tuple[str, int, int], ...]


def sentence_request(words: Sequence[str], tags: Sequence[str]) -> SentenceRequest:
    """The request body text and gold character spans of one labelled sentence."""
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    gold = tuple(
        (span.type, starts[span.start], starts[span.end - 1] + len(words[span.end - 1])) for span in tagging.extract_spans(tags)
    )
    return SentenceRequest(" ".join(words), gold)


@dataclass(frozen=True)
class LiveProgress:
    """What a live run has done so far (a copy: the page reads it while the thread goes on)."""

    live_run_id: str
    status: str
    planned: int
    sent: int
    answered: int  # requests finished, with or without an HTTP answer
    ok: int  # HTTP 200
    fallbacks: int  # answered 200 by another role than the router chose
    elapsed_s: float
    status_counts: dict[str, int] = field(default_factory=dict)  # "200", "503", "no answer" -> requests
    served_by: dict[str, int] = field(default_factory=dict)  # "primary (model2 v2)" -> requests answered 200
    breakers: dict[str, str] = field(default_factory=dict)  # role -> breaker state at the latest health check
    message: str = ""

    @property
    def in_flight(self) -> int:
        return self.sent - self.answered

    @property
    def failed(self) -> int:
        return self.answered - self.ok

    @property
    def achieved_rate_per_s(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def done(self) -> bool:
        return self.status != RUNNING


class LiveTraffic:
    """One live run against one API; :meth:`start` it, read :meth:`progress`, :meth:`cancel` or :meth:`wait`."""

    def __init__(
        self,
        store: Store,
        target: ApiTarget,
        config: LiveTrafficConfig,
        texts: Sequence[SentenceRequest],
        *,
        source_run_id: str = "",
    ):
        if not texts:
            raise ConfigError("a live run needs at least one test sentence to send.")
        self.store = store
        self.target = target
        self.config = config
        self.texts = list(texts)
        self.source_run_id = source_run_id
        self.live_run_id = f"live-{uuid.uuid4().hex[:12]}"
        self.planned_weights: dict[str, float] = {}
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._status = RUNNING
        self._message = ""
        self._started = 0.0
        self._ended: float | None = None
        self._sent = self._answered = self._ok = self._fallbacks = 0
        self._status_counts: Counter[str] = Counter()
        self._served_by: Counter[str] = Counter()
        self._breakers: dict[str, str] = {}
        self._pending: list[dict] = []
        self._abort: str | None = None  # why the run stops early (a refused key, a server gone)
        self._unanswered_in_row = 0

    # ------------------------------------------------------------------ control

    def start(self) -> LiveTraffic:
        """Check the API (reachable, key accepted, our API), record the run, start sending in a thread."""
        with ApiClient(self.target) as client:
            health = client.health()
        self.planned_weights = api_client.planned_weights(health) if self.config.model.strip() == "auto" else {}
        self._breakers = {role: entry.get("breaker_state") or "" for role, entry in api_client.served_roles(health).items()}
        settings = {**self.config.as_dict(), "source_run_id": self.source_run_id, "sentences": len(self.texts)}

        def work(session) -> None:
            session.add(
                LiveTrafficRun(
                    id=self.live_run_id,
                    api_url=self.target.url,
                    status=RUNNING,
                    settings_json=json.dumps(settings),
                    planned_weights_json=json.dumps(self.planned_weights),
                )
            )

        self.store.write(work)
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run_thread, name=f"ner-{self.live_run_id}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop sending; requests already in flight finish and are recorded."""
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> LiveProgress:
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.progress()

    def progress(self) -> LiveProgress:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return LiveProgress(
                self.live_run_id, self._status, self.config.requests, self._sent, self._answered, self._ok, self._fallbacks,
                max(0.0, end - self._started) if self._started else 0.0, dict(self._status_counts), dict(self._served_by),
                dict(self._breakers), self._message,
            )  # fmt: skip

    # ------------------------------------------------------------------ the thread

    def _run_thread(self) -> None:
        status, message = COMPLETED, ""
        try:
            status, message = asyncio.run(self._run())
        except NerError as exc:
            status, message = FAILED, str(exc)
        except Exception as exc:  # noqa: BLE001 - the page shows why a background run ended, never a traceback
            logger.exception("live run %s failed", self.live_run_id)
            status, message = FAILED, f"the live run stopped: {exc.__class__.__name__}: {exc}"
        try:
            self._flush()
        except Exception as exc:  # noqa: BLE001
            logger.exception("live run %s: could not record its last requests", self.live_run_id)
            status, message = FAILED, f"its last requests could not be recorded: {exc}"
        ended = time.monotonic()
        self._finish_row(status, message)  # first: a reader told the run is over finds it recorded so
        with self._lock:
            self._status, self._message, self._ended = status, message, ended

    async def _run(self) -> tuple[str, str]:
        config = self.config
        rng = np.random.default_rng(config.seed)
        order = rng.permutation(len(self.texts))
        arrivals = np.cumsum(rng.exponential(1.0 / config.rate_per_s, size=config.requests))
        arrivals -= arrivals[0]  # the first request leaves at once
        limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
        slots = asyncio.Semaphore(config.concurrency)
        async with httpx.AsyncClient(
            base_url=self.target.url, headers=self.target.headers, timeout=self.target.timeout_s, limits=limits
        ) as client:
            poller = asyncio.create_task(self._poll_health(client))
            flusher = asyncio.create_task(self._flush_periodically())
            tasks, loop_start = set(), time.monotonic()
            for position in range(config.requests):
                if not await self._wait_until(loop_start + float(arrivals[position])) or not await self._take(slots):
                    break
                sentence_index = int(order[position % len(order)])
                task = asyncio.create_task(self._send(client, slots, position, sentence_index, time.monotonic() - loop_start))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                with self._lock:
                    self._sent += 1
            if tasks:
                await asyncio.gather(*tasks)
            poller.cancel()
            flusher.cancel()
        if self._abort:
            return FAILED, self._abort
        if self._cancel.is_set():
            return CANCELLED, f"cancelled after {self._sent:,} of {config.requests:,} requests."
        return COMPLETED, ""

    def _stopping(self) -> bool:
        return self._cancel.is_set() or self._abort is not None

    async def _wait_until(self, moment: float) -> bool:
        while not self._stopping():
            left = moment - time.monotonic()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, CHECK_INTERVAL_S))
        return False

    async def _take(self, slots: asyncio.Semaphore) -> bool:
        while not self._stopping():
            try:
                await asyncio.wait_for(slots.acquire(), CHECK_INTERVAL_S)
                return True
            except TimeoutError:
                continue
        return False

    async def _send(self, client: httpx.AsyncClient, slots, position: int, sentence_index: int, sent_at_s: float) -> None:
        text = self.texts[sentence_index]
        request_id = f"{self.live_run_id}-{position:06d}"
        body = {
            "text": text.text,
            "model": self.config.model.strip(),
            "return_confidence": False,
            "output_format": "entities_only",
        }
        status_code, error, served, fallback = None, None, None, False
        started = time.perf_counter()
        try:
            response = await client.post(PREDICT_PATH, json=body, headers={REQUEST_ID_HEADER: request_id})
            status_code = response.status_code
            if status_code == 200:
                answer = response.json()
                served = f"{answer.get('model_role')} ({served_label(answer)})"
                fallback = str(answer.get("routing_decision", "")).startswith("fallback")
            else:
                error = api_client.server_message(response)
        except httpx.TransportError as exc:
            error = str(api_client.unreachable(self.target, exc))
        except ValueError:
            error = "the answer was not JSON"
        finally:
            slots.release()
        round_trip_ms = (time.perf_counter() - started) * 1000 if status_code is not None else None
        row = {
            "live_run_id": self.live_run_id, "position": position, "request_id": request_id, "sentence_index": sentence_index,
            "sent_at_s": sent_at_s, "status_code": status_code, "round_trip_ms": round_trip_ms, "client_error": error,
            "gold_json": json.dumps([list(span) for span in text.gold]),
        }  # fmt: skip
        with self._lock:
            self._pending.append(row)
            self._answered += 1
            self._status_counts[str(status_code) if status_code is not None else "no answer"] += 1
            if status_code == 200:
                self._ok += 1
                self._fallbacks += fallback
                self._served_by[served] += 1
        if status_code is None:
            self._unanswered_in_row += 1
            if self._unanswered_in_row >= MAX_CONSECUTIVE_UNANSWERED and self._abort is None:
                self._abort = f"the API stopped answering ({self._unanswered_in_row} requests in a row): {error}"
        else:
            self._unanswered_in_row = 0
        if status_code in (401, 403) and self._abort is None:
            self._abort = f"the API refused the key during the run ({error}); {api_client.KEY_HINT}."

    async def _poll_health(self, client: httpx.AsyncClient) -> None:
        while True:
            try:
                response = await client.get(api_client.HEALTH_PATH)
                if response.status_code == 200:
                    models = api_client.served_roles(response.json())
                    with self._lock:
                        self._breakers = {role: entry.get("breaker_state") or "" for role, entry in models.items()}
            except (httpx.TransportError, ValueError):
                pass  # the requests themselves say when the server is gone
            await asyncio.sleep(HEALTH_POLL_S)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await asyncio.to_thread(self._flush)
            except Exception:  # noqa: BLE001 - the rows stay pending; the run's end writes them or says it could not
                logger.warning("live run %s: recording requests failed; retrying", self.live_run_id, exc_info=True)

    def _flush(self) -> None:
        """Write the recorded requests (in this thread's caller: never on the event loop)."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            self.store.write(lambda session: session.add_all(LiveTrafficRequest(**row) for row in rows))
        except Exception:
            with self._lock:  # kept for the next flush; the run's end tries once more
                self._pending[:0] = rows
            raise

    def _finish_row(self, status: str, message: str) -> None:
        def work(session) -> None:
            run = session.get(LiveTrafficRun, self.live_run_id)
            run.status, run.message, run.finished_at = status, message or None, utcnow()

        try:
            self.store.write(work)
        except Exception:  # noqa: BLE001 - the progress still says how it ended; the row stays "running"
            logger.exception("live run %s: could not record its end", self.live_run_id)


def served_label(answer: dict) -> str:
    """``model2 v2`` for a registered version, ``model2 (run <id>)`` for a default the server serves."""
    version = answer.get("model_version")
    model = answer.get("model_used")
    return f"{model} v{version}" if version is not None else f"{model} (run {answer.get('run_id')})"
