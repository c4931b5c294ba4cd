"""Dynamic batching: concurrent requests for one model are gathered into one ``tag_sentences`` call.

One worker thread per served model takes whatever requests are queued and runs them as a single
length-sorted batch, so throughput grows with concurrency (a batch of 32 sentences costs a few
times one sentence, not 32 times). While a batch runs, new requests queue up and form the next.

Waiting is the expensive part of batching, so the worker only waits for requests it knows are
coming: the API counts a prediction request in :class:`ArrivingRequests` as soon as its headers
arrive (before its body is read, parsed and tokenised) and uncounts it when it submits. A worker
holding a batch waits at most ``max_wait_ms``, and only while that count is above zero. A lone
request therefore waits for nobody, unlike a fixed batching window (Triton's
``max_queue_delay``, TF Serving's ``batch_timeout_micros``) that every request pays.

Results go back to the asyncio loop that submitted them with one ``call_soon_threadsafe`` per
batch. The model call runs in the worker thread; ONNX Runtime and TensorFlow release the GIL
while they compute, so the event loop keeps parsing the next requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Sentences = Sequence[Sequence[str]]
TagFunction = Callable[[Sentences], list]  # Predictor.tag_sentences: sentences -> [(tags, confidences)]
BatchHook = Callable[[int, int, float], None]  # (sentences, requests, seconds) after each model call


class ArrivingRequests:
    """Prediction requests that have arrived but not yet reached a batcher, shared by all batchers.

    Changed on the event loop only (one thread); the workers read it (an int read is atomic).
    """

    def __init__(self) -> None:
        self.count = 0

    def arrive(self) -> None:
        self.count += 1

    def leave(self) -> None:
        self.count = max(0, self.count - 1)


@dataclass
class _Request:
    sentences: Sentences
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


def _deliver(requests: Sequence[_Request], results: Sequence, error: BaseException | None) -> None:
    for request, result in zip(requests, results if error is None else [None] * len(requests)):
        if request.future.done():  # the request timed out and moved on
            continue
        if error is not None:
            request.future.set_exception(error)
        else:
            request.future.set_result(result)


class DynamicBatcher:
    """Gathers concurrent requests for one model into batches of at most ``max_batch_size`` sentences."""

    def __init__(
        self,
        tag: TagFunction,
        *,
        max_wait_ms: float = 2.0,
        max_batch_size: int = 64,
        name: str = "",
        on_batch: BatchHook | None = None,
        arriving: ArrivingRequests | None = None,
    ):
        self._tag = tag
        self._arriving = arriving if arriving is not None else ArrivingRequests()
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_batch_size = max_batch_size
        self._on_batch = on_batch
        self._queue: deque[_Request] = deque()
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=f"ner-batcher-{name}", daemon=True)
        self._thread.start()

    def submit(self, sentences: Sentences) -> asyncio.Future:
        """Queue one request's sentences (call on the event loop); the future resolves to their
        ``(tags, confidences)`` in order, or to the model's exception."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._condition:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._queue.append(_Request(sentences, future, loop))
            self._condition.notify()
        return future

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop taking requests, finish the queued ones, and stop the worker."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout_s)

    def _take_batch(self) -> list[_Request] | None:
        with self._condition:
            while not self._queue:
                if self._closed:
                    return None
                self._condition.wait()
            deadline = time.monotonic() + self.max_wait_s
            while self._arriving.count > 0 and self._queued_sentences() < self.max_batch_size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            batch, size = [], 0
            while self._queue and (not batch or size + len(self._queue[0].sentences) <= self.max_batch_size):
                request = self._queue.popleft()
                batch.append(request)
                size += len(request.sentences)
            return batch

    def _queued_sentences(self) -> int:
        return sum(len(request.sentences) for request in self._queue)

    def _work(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            sentences = [sentence for request in batch for sentence in request.sentences]
            started = time.perf_counter()
            error, results = None, []
            try:
                tagged = self._tag(sentences) if sentences else []
                position = 0
                for request in batch:
                    results.append(tagged[position : position + len(request.sentences)])
                    position += len(request.sentences)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the model's failure
                error = exc
            if self._on_batch is not None:
                try:
                    self._on_batch(len(sentences), len(batch), time.perf_counter() - started)
                except Exception:  # noqa: BLE001 - metrics must never stop serving
                    logger.exception("batch hook failed")
            by_loop: dict[asyncio.AbstractEventLoop, list[int]] = {}
            for index, request in enumerate(batch):
                by_loop.setdefault(request.loop, []).append(index)
            for loop, indices in by_loop.items():
                requests = [batch[i] for i in indices]
                payload = [results[i] for i in indices] if error is None else []
                try:
                    loop.call_soon_threadsafe(_deliver, requests, payload, error)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    pass


class UnbatchedRunner:
    """The same interface without batching: each request is its own model call on a thread pool
    (``serve --no-batching``, and the benchmark's comparison)."""

    def __init__(self, tag: TagFunction, *, threads: int = 4, name: str = "", on_batch: BatchHook | None = None):
        self._tag = tag
        self._on_batch = on_batch
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"ner-model-{name}")

    def _call(self, sentences: Sentences) -> list:
        started = time.perf_counter()
        result = self._tag(sentences) if sentences else []
        if self._on_batch is not None:
            self._on_batch(len(sentences), 1, time.perf_counter() - started)
        return result

    def submit(self, sentences: Sentences) -> asyncio.Future:
        return asyncio.get_running_loop().run_in_executor(self._pool, self._call, sentences)

    def close(self, timeout_s: float = 30.0) -> None:
        self._pool.shutdown(wait=True)
