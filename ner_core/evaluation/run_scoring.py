"""Score a saved run on a test split: the 16 quality metrics plus the 7 measured efficiency metrics.

Predictions come from the same :class:`~ner_core.serving.predictor.Predictor` the app
uses (same decoding, same IOB2 guarantee), so the numbers describe what users
get. Timing is measured here, never typed in, and recorded with the machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ner_core.errors import CorruptRunFileError
from ner_core.evaluation import metric_registry, scoring
from ner_core.evaluation.latency import LATENCY_SENTENCES, measure_latency
from ner_core.modeling import encoding
from ner_core.serving.predictor import Predictor
from ner_core.training.run_folder import EVALUATION_FILE, HISTORY_FILE, METRICS_FILE, MODEL_FILE, RunFolder, machine_description


@dataclass
class RunEvaluation:
    metrics: dict[str, float]
    evaluation: scoring.Evaluation
    decoding: str
    machine: dict
    predictions: list[list[str]]

    def to_dict(self) -> dict:
        return {
            "metrics": self.metrics,
            "evaluation": self.evaluation.to_dict(),
            "decoding": self.decoding,
            "machine": self.machine,
        }


def evaluate_predictor(
    predictor: Predictor,
    test: Sequence,
    *,
    decoding: str | None = None,
    run_folder: RunFolder | None = None,
    measure_speed: bool = True,
    latency_count: int = LATENCY_SENTENCES,
) -> RunEvaluation:
    method = decoding or predictor.default_decoding
    gold = [list(s.tags) for s in test]
    tagged = predictor.tag_sentences([s.words for s in test], method)
    batch_seconds = float("nan")
    if measure_speed:  # a second, timed pass: the first one also compiled the shapes it met
        started = time.perf_counter()
        predictor.tag_sentences([s.words for s in test], method)
        batch_seconds = time.perf_counter() - started
    predicted = [tags for tags, _ in tagged]
    evaluation = scoring.evaluate_tags(gold, predicted, max_len=predictor.max_len)
    values = dict(evaluation.values)
    real_tokens = sum(len(s.words) for s in test)
    values["parameter_count"] = float(predictor.count_params())
    values["throughput_tokens_per_s"] = real_tokens / batch_seconds if measure_speed else float("nan")
    if measure_speed:
        values["latency_p50_ms"], values["latency_p95_ms"] = measure_latency(
            predictor, test, count=latency_count, decoding=method
        )
    else:
        values["latency_p50_ms"] = values["latency_p95_ms"] = float("nan")
    values["model_size_mb"] = float("nan")
    values["training_time_s"] = float("nan")
    values["epochs_trained"] = float("nan")
    if run_folder is not None:
        model_file = run_folder.file(MODEL_FILE)
        values["model_size_mb"] = model_file.stat().st_size / 1e6
        history_file = run_folder.file(HISTORY_FILE)
        if history_file.exists():
            history = run_folder.read_json(HISTORY_FILE)
            values["training_time_s"] = float(history.get("training_time_s", float("nan")))
            values["epochs_trained"] = float(history.get("epochs_trained", float("nan")))
    ordered = {key: values.get(key, float("nan")) for key in metric_registry.METRIC_KEYS}
    return RunEvaluation(ordered, evaluation, method, machine_description(), predicted)


def evaluate_folder(
    folder: RunFolder | Path, test: Sequence, *, decoding: str | None = None, write: bool = True, measure_speed: bool = True
) -> RunEvaluation:
    """Evaluate a run folder and (by default) write ``metrics.json`` and ``evaluation.json`` into it."""
    # Accept any object with a ``path`` (a RunFolder from a reloaded module too) or a path.
    folder = RunFolder(Path(getattr(folder, "path", folder)))
    predictor = Predictor.load(folder.path, decoding=decoding)
    result = evaluate_predictor(predictor, test, decoding=decoding, run_folder=folder, measure_speed=measure_speed)
    if write:
        encoding.write_json_atomic(
            folder.file(METRICS_FILE), {"metrics": result.metrics, "decoding": result.decoding, "machine": result.machine}
        )
        encoding.write_json_atomic(folder.file(EVALUATION_FILE), result.to_dict())
    return result


def load_evaluation(folder: RunFolder) -> tuple[dict[str, float], scoring.Evaluation | None]:
    """Metrics and the detailed evaluation stored in a run folder (None when never evaluated).

    A file that is not JSON raises ModelLoadError; JSON that is not an evaluation (hand-edited,
    truncated, an old layout) raises CorruptRunFileError.
    """
    if not folder.file(EVALUATION_FILE).exists():
        return {}, None
    payload = folder.read_json(EVALUATION_FILE)
    try:
        if not isinstance(payload, dict) or "evaluation" not in payload:
            raise CorruptRunFileError("it holds no evaluation")
        return payload.get("metrics", {}), scoring.Evaluation.from_dict(payload["evaluation"])
    except CorruptRunFileError as exc:
        raise CorruptRunFileError(
            f"run {folder.run_id}: {EVALUATION_FILE} cannot be read ({exc.message}); "
            f"`python -m ner_core evaluate {folder.run_id}` scores the run again."
        ) from None
