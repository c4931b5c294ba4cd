"""Single-sentence latency of a real predictor, the one measurement behind the
latency metrics and the A/B simulator's latency samples (same warm-up for both).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ner_core.serving.predictor import Predictor

LATENCY_SENTENCES = 200
WARMUP_CALLS = 10


def latency_samples(
    predictor: Predictor, sentences: Sequence, *, count: int = LATENCY_SENTENCES, decoding: str | None = None
) -> list[float]:
    """Wall milliseconds of ``predictor.predict`` on ``count`` single sentences, after warm-up.

    Uses the text of each sentence, so tokenisation and entity assembly (what an
    app request pays) are included. Sentences are reused cyclically when there
    are fewer than ``count``; empty sentences are skipped (they are not requests).
    """
    texts = [" ".join(s.words) for s in sentences if s.words]
    if not texts:
        return []
    # Warm-up tags every timed sentence once, so one-off graph compiles for new shapes are not timed.
    for text in texts[:WARMUP_CALLS] + texts[:count]:
        predictor.predict(text, decoding=decoding)
    timings = []
    for index in range(max(count, 1)):
        text = texts[index % len(texts)]
        started = time.perf_counter()
        predictor.predict(text, decoding=decoding)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure_latency(
    predictor: Predictor, sentences: Sequence, *, count: int = LATENCY_SENTENCES, decoding: str | None = None
) -> tuple[float, float]:
    """p50 and p95 of :func:`latency_samples` (NaN for no sentences)."""
    timings = latency_samples(predictor, sentences, count=count, decoding=decoding)
    if not timings:
        return float("nan"), float("nan")
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 95))
