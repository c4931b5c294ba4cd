"""Dynamic batching with a real predictor: a lone request waits for nobody, concurrent requests share one
model call, a request announced as arriving is waited for (at most the window), and a model failure
reaches every request of its batch."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from ner_core.serving.dynamic_batching import ArrivingRequests, DynamicBatcher, UnbatchedRunner
from ner_core.serving.predictor import Predictor

SENTENCES = [["Anna", "visited", "Oslo", "."], ["Peter", "met", "Acme", "in", "Lima", "."], ["Rain", "fell", "."]]


@pytest.fixture(scope="module")
def predictor(trained_run):
    return Predictor.load(trained_run.run_dir)


class Recorder:
    def __init__(self):
        self.batches = []

    def __call__(self, sentences, requests, seconds):
        self.batches.append((sentences, requests))


def test_a_lone_request_waits_for_nobody(predictor):
    recorder = Recorder()
    batcher = DynamicBatcher(predictor.tag_sentences, max_wait_ms=200, on_batch=recorder)

    async def one():
        started = time.perf_counter()
        result = await batcher.submit([SENTENCES[0]])
        return result, time.perf_counter() - started

    try:
        timings = [asyncio.run(one())[1] for _ in range(5)]
        result = asyncio.run(one())[0]
    finally:
        batcher.close()
    assert result == predictor.tag_sentences([SENTENCES[0]])  # the same tags as a direct call
    assert max(timings) < 0.2  # a 200 ms window, never paid by a request nobody else is behind
    assert recorder.batches == [(1, 1)] * 6


def test_concurrent_requests_share_one_model_call_in_order(predictor):
    recorder = Recorder()
    gate = threading.Event()

    def slow_first_call(sentences):
        gate.wait(5)  # hold the first batch so the others queue behind it
        return predictor.tag_sentences(sentences)

    batcher = DynamicBatcher(slow_first_call, max_wait_ms=1, on_batch=recorder)

    async def many():
        first = batcher.submit([SENTENCES[0]])
        await asyncio.sleep(0.05)
        rest = [batcher.submit([s]) for s in SENTENCES] + [batcher.submit(SENTENCES[:2])]
        gate.set()
        return await first, await asyncio.gather(*rest)

    try:
        first, rest = asyncio.run(many())
    finally:
        batcher.close()
    expected = predictor.tag_sentences(SENTENCES)
    assert first == [expected[0]]
    assert rest == [[expected[0]], [expected[1]], [expected[2]], expected[:2]]
    assert recorder.batches == [(1, 1), (5, 4)]  # four requests (five sentences) in the second call


def test_a_request_on_its_way_is_waited_for_at_most_the_window(predictor):
    recorder = Recorder()
    arriving = ArrivingRequests()
    batcher = DynamicBatcher(predictor.tag_sentences, max_wait_ms=100, on_batch=recorder, arriving=arriving)

    async def scenario():
        arriving.arrive()  # a second request has arrived and is being parsed
        first = batcher.submit([SENTENCES[0]])
        await asyncio.sleep(0.02)
        arriving.leave()
        second = batcher.submit([SENTENCES[1]])
        await asyncio.gather(first, second)
        arriving.arrive()  # announced but never submitted: the batch waits the window, then goes
        started = time.perf_counter()
        await batcher.submit([SENTENCES[2]])
        return time.perf_counter() - started

    try:
        waited = asyncio.run(scenario())
    finally:
        batcher.close()
    assert recorder.batches[0] == (2, 2)  # the first request waited for the one on its way
    assert 0.09 < waited < 1.0


def test_a_model_failure_reaches_every_request_of_the_batch():
    def broken(_sentences):
        raise RuntimeError("model exploded")

    batcher = DynamicBatcher(broken, max_wait_ms=1)

    async def scenario():
        futures = [batcher.submit([s]) for s in SENTENCES]
        return await asyncio.gather(*futures, return_exceptions=True)

    try:
        outcomes = asyncio.run(scenario())
    finally:
        batcher.close()
    assert [str(o) for o in outcomes] == ["model exploded"] * 3


def test_close_finishes_queued_requests_and_refuses_new_ones(predictor):
    batcher = DynamicBatcher(predictor.tag_sentences, max_wait_ms=1)

    async def scenario():
        future = batcher.submit([SENTENCES[0]])
        batcher_closed = asyncio.get_running_loop().run_in_executor(None, batcher.close)
        result = await future
        await batcher_closed
        with pytest.raises(RuntimeError, match="closed"):
            batcher.submit([SENTENCES[1]])
        return result

    assert asyncio.run(scenario()) == predictor.tag_sentences([SENTENCES[0]])


def test_the_unbatched_runner_makes_one_call_per_request(predictor):
    recorder = Recorder()
    runner = UnbatchedRunner(predictor.tag_sentences, on_batch=recorder)

    async def scenario():
        return await asyncio.gather(*(runner.submit([s]) for s in SENTENCES))

    try:
        results = asyncio.run(scenario())
    finally:
        runner.close()
    assert results == [[tagged] for tagged in predictor.tag_sentences(SENTENCES)]
    assert sorted(recorder.batches) == [(1, 1)] * 3
