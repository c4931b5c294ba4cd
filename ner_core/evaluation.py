"""Score a saved run on a test split: the 16 quality metrics plus the 7 measured efficiency metrics.

Predictions come from the same :class:`~ner_core.inference.Predictor` the app
uses (same decoding, same IOB2 guarantee), so the numbers describe what users
get. Timing is measured here, never typed in, and recorded with the machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ner_core import encoding, metrics, runs
from ner_core.inference import Predictor

LATENCY_SENTENCES = 200
WARMUP_CALLS = 10


@dataclass
class RunEvaluation:
    metrics: dict[str, float]
    evaluation: metrics.Evaluation
    decoding: str
    machine: dict
    predictions: list[list[str]]

    def to_dict(self) -> dict:
        return {"metrics": self.metrics, "evaluation": self.evaluation.to_dict(), "decoding": self.decoding,
                "machine": self.machine}


def measure_latency(predictor: Predictor, sentences: Sequence, *, count: int = LATENCY_SENTENCES, decoding: str | None = None) -> tuple[float, float]:
    """p50 and p95 wall milliseconds of ``predictor.predict`` on single sentences, after warm-up.

    Uses the text of each sentence, so tokenisation and entity assembly (what an
    app request pays) are included. Sentences are reused cyclically when the
    split is smaller than ``count``.
    """
    if not sentences:
        return float("nan"), float("nan")
    texts = [" ".join(s.words) for s in sentences]
    # Warm-up tags every timed sentence once, so one-off graph compiles for new shapes are not timed.
    for text in texts[:WARMUP_CALLS] + texts[:count]:
        predictor.predict(text, decoding=decoding)
    timings = []
    for index in range(max(count, 1)):
        text = texts[index % len(texts)]
        started = time.perf_counter()
        predictor.predict(text, decoding=decoding)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 95))


def evaluate_predictor(predictor: Predictor, test: Sequence, *, decoding: str | None = None, run_folder: runs.RunFolder | None = None,
                       measure_speed: bool = True, latency_count: int = LATENCY_SENTENCES) -> RunEvaluation:
    method = decoding or predictor.default_decoding
    gold = [list(s.tags) for s in test]
    tagged = predictor.tag_sentences([s.words for s in test], method)
    batch_seconds = float("nan")
    if measure_speed:  # a second, timed pass: the first one also compiled the shapes it met
        started = time.perf_counter()
        predictor.tag_sentences([s.words for s in test], method)
        batch_seconds = time.perf_counter() - started
    predicted = [tags for tags, _ in tagged]
    evaluation = metrics.evaluate_tags(gold, predicted, max_len=predictor.max_len)
    values = dict(evaluation.values)
    real_tokens = sum(len(s.words) for s in test)
    values["parameter_count"] = float(predictor.count_params())
    values["throughput_tokens_per_s"] = real_tokens / batch_seconds if measure_speed else float("nan")
    if measure_speed:
        values["latency_p50_ms"], values["latency_p95_ms"] = measure_latency(predictor, test, count=latency_count, decoding=method)
    else:
        values["latency_p50_ms"] = values["latency_p95_ms"] = float("nan")
    values["model_size_mb"] = float("nan")
    values["training_time_s"] = float("nan")
    values["epochs_trained"] = float("nan")
    if run_folder is not None:
        model_file = run_folder.file(runs.MODEL_FILE)
        values["model_size_mb"] = model_file.stat().st_size / 1e6
        history_file = run_folder.file(runs.HISTORY_FILE)
        if history_file.exists():
            history = run_folder.read_json(runs.HISTORY_FILE)
            values["training_time_s"] = float(history.get("training_time_s", float("nan")))
            values["epochs_trained"] = float(history.get("epochs_trained", float("nan")))
    ordered = {key: values.get(key, float("nan")) for key in metrics.METRIC_KEYS}
    return RunEvaluation(ordered, evaluation, method, runs.machine_description(), predicted)


def evaluate_folder(folder: runs.RunFolder | Path, test: Sequence, *, decoding: str | None = None, write: bool = True,
                    measure_speed: bool = True) -> RunEvaluation:
    """Evaluate a run folder and (by default) write ``metrics.json`` and ``evaluation.json`` into it."""
    # Accept any object with a ``path`` (a RunFolder from a reloaded module too) or a path.
    folder = runs.RunFolder(Path(getattr(folder, "path", folder)))
    predictor = Predictor.load(folder.path, decoding=decoding)
    result = evaluate_predictor(predictor, test, decoding=decoding, run_folder=folder, measure_speed=measure_speed)
    if write:
        encoding.write_json_atomic(folder.file(runs.METRICS_FILE), {"metrics": result.metrics, "decoding": result.decoding,
                                                                     "machine": result.machine})
        encoding.write_json_atomic(folder.file(runs.EVALUATION_FILE), result.to_dict())
    return result


def load_evaluation(folder: runs.RunFolder) -> tuple[dict[str, float], metrics.Evaluation | None]:
    """Metrics and the detailed evaluation stored in a run folder (None when never evaluated)."""
    if not folder.file(runs.EVALUATION_FILE).exists():
        return {}, None
    payload = folder.read_json(runs.EVALUATION_FILE)
    return payload.get("metrics", {}), metrics.Evaluation.from_dict(payload["evaluation"])
