"""The A/B simulator: replays labelled test sentences as requests through the router.

Traffic is labelled test sentences replayed as requests on a simulated clock,
so a simulation of 10,000 requests takes seconds and every arm's true quality
is known (each request carries its gold tags).

How one simulation runs (:func:`simulate`):

1. Arrival times come from a seeded Poisson process (exponential gaps at the
   arrival rate); request ``i`` is sentence ``permutation[i % n]``.
2. Routing, fault injection and the circuit breakers are decided for all
   requests in arrival order first. This is causal: a breaker only reacts to
   errors, and errors come from injected faults, never from what a model
   predicted, so nothing in this step needs a prediction.
3. Requests are then executed in chunks of ``batch_log_size``: each arm's
   predictor REALLY tags its requests' sentences in one batched
   ``tag_sentences`` call, the rows are assembled and written to the
   prediction log in one transaction, ``progress`` is called and ``cancel`` is
   checked. A cancelled simulation keeps the rows already logged. Inference is
   deterministic, so a sentence an arm has already tagged is not tagged again.

Simulated latency is not the wall time of the batched call (a batch divided by
its size says nothing honest about one request). It is drawn from the arm's
measured single-sentence latencies (``latency_samples_ms``, measured with the
real predictor by :func:`ner_core.evaluation.latency.latency_samples` unless the caller passes
them) plus the arm's injected ``added_latency_ms``. Requests are served at
their arrival time as far as the breakers are concerned; latency is reported,
it does not delay the breaker's view of the outcome.

The rules strategy uses each arm's measured facts (``latency_p50_ms`` and
``entity_f1`` from the run's stored metrics, see :func:`arm_from_run`), never
typed-in constants.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ner_core.corpus import tags as tagging
from ner_core.errors import ConfigError
from ner_core.evaluation import latency
from ner_core.serving.predictor import entities_of_words

if TYPE_CHECKING:
    from ner_core.corpus.annotated import Sentence
    from ner_core.serving.predictor import Predictor
    from ner_core.store.database import Store
from ner_core.traffic.circuit_breaker import CircuitBreaker, SimulatedClock
from ner_core.traffic.experiment import (
    ERROR_BREAKER_REJECTED,
    ERROR_INJECTED_FAULT,
    ERROR_NONE,
    INJECTED_FAULT,
    SimulationConfig,
)
from ner_core.traffic.routing import Router

LOG_SOURCE = "simulation"
LATENCY_SAMPLE_COUNT = 50
REQUEST_COLUMNS = (
    "index",
    "time_s",
    "chosen_arm",
    "arm",
    "run_id",
    "latency_ms",
    "error",
    "error_message",
    "error_kind",
    "breaker_state",
    "reason",
    "sentence_index",
    "correct_entities",
    "gold_entities",
    "predicted_entities",
)


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------


@dataclass
class SimulationResult:
    """One simulation: a row per request plus what the page needs to explain it.

    ``requests`` columns: ``index``, ``time_s`` (simulated arrival), ``chosen_arm``
    (the router's pick), ``arm`` (who served it: differs on fallback), ``run_id``,
    ``latency_ms``, ``error`` (bool), ``error_message``, ``error_kind`` (one of
    :data:`~ner_core.traffic.experiment.ERROR_KINDS`), ``breaker_state`` (the
    chosen arm's breaker when it was asked), ``reason``, ``sentence_index`` and
    the entity counts against gold (``correct_entities``, ``gold_entities``,
    ``predicted_entities``; an errored request predicts nothing).
    """

    simulation_id: str
    requests: pd.DataFrame
    planned_weights: dict[str, float]
    breaker_timelines: dict[str, list[tuple[float, str]]]
    fallback_arm: str
    cancelled: bool
    elapsed_s: float
    rows_logged: int = 0
    latency_samples_ms: dict[str, list[float]] = field(default_factory=dict)

    def observed_counts(self, column: str = "arm") -> dict[str, int]:
        counts = self.requests[column].value_counts()
        return {name: int(counts.get(name, 0)) for name in self.planned_weights}


@dataclass
class _Plan:
    """Routing, faults and breaker states for every request, decided before any model runs."""

    chosen: list[str]
    served: list[str]
    reasons: list[str]
    breaker_states: list[str]
    errors: list[str]
    error_kinds: list[str]
    latency_ms: np.ndarray


def new_simulation_id() -> str:
    return f"sim-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _check_inputs(
    config: SimulationConfig,
    predictors: Mapping[str, Predictor],
    sentences: Sequence[Sentence],
    latency_samples_ms: Mapping[str, Sequence[float]] | None,
) -> None:
    if not sentences:
        raise ConfigError("a simulation needs at least one labelled test sentence.")
    for arm in config.arms:
        predictor = predictors.get(arm.name)
        if predictor is None:
            raise ConfigError(f"no predictor for arm {arm.name!r}; load the run {arm.run_id!r} first.")
        predictor_run = getattr(predictor, "run_id", "")
        if arm.run_id and predictor_run and predictor_run != arm.run_id:
            raise ConfigError(f"arm {arm.name!r} is run {arm.run_id!r} but its predictor serves run {predictor_run!r}.")
        if latency_samples_ms is not None:
            samples = latency_samples_ms.get(arm.name)
            if samples is None or len(samples) == 0:
                raise ConfigError(f"no measured latencies for arm {arm.name!r}.")
            values = np.asarray(samples, dtype=float)
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise ConfigError(f"arm {arm.name!r}: measured latencies must be finite and >= 0 ms.")


def _plan_requests(
    router: Router,
    breakers: Mapping[str, CircuitBreaker],
    clock: SimulatedClock,
    arrivals: np.ndarray,
    latency_samples: Mapping[str, np.ndarray],
    fault_rng: np.random.Generator,
    latency_rng: np.random.Generator,
) -> _Plan:
    count = len(arrivals)
    plan = _Plan([], [], [], [], [], [], np.zeros(count))
    fault_draws = fault_rng.random(count)
    latency_picks = {name: latency_rng.integers(0, len(samples), size=count) for name, samples in latency_samples.items()}
    for i in range(count):
        clock.set(float(arrivals[i]))  # the router and the breakers read the simulated time from it
        decision = router.route(breakers)
        chosen, served = decision.chosen, decision.served
        plan.chosen.append(chosen.name)
        plan.reasons.append(decision.reason)
        plan.breaker_states.append(decision.breaker_state)
        if served is None:
            # Failing fast costs nothing and is not a failure of the arm (it was never called).
            plan.served.append(chosen.name)
            plan.errors.append(f"rejected: circuit open for {chosen.name}")
            plan.error_kinds.append(ERROR_BREAKER_REJECTED)
            continue
        plan.served.append(served.name)
        if fault_draws[i] < served.error_probability:
            breakers[served.name].record_failure()
            plan.errors.append(INJECTED_FAULT)
            plan.error_kinds.append(ERROR_INJECTED_FAULT)
            plan.latency_ms[i] = served.added_latency_ms
        else:
            breakers[served.name].record_success()
            plan.errors.append("")
            plan.error_kinds.append(ERROR_NONE)
            plan.latency_ms[i] = latency_samples[served.name][latency_picks[served.name][i]] + served.added_latency_ms
    return plan


def simulate(
    config: SimulationConfig,
    predictors: Mapping[str, Predictor],
    sentences: Sequence[Sentence],
    *,
    store: Store | None = None,
    simulation_id: str | None = None,
    latency_samples_ms: Mapping[str, Sequence[float]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> SimulationResult:
    """Replay labelled sentences as requests through the router; see the module docstring."""
    started = time.perf_counter()
    _check_inputs(config, predictors, sentences, latency_samples_ms)
    simulation_id = simulation_id or new_simulation_id()
    model_names = {name: getattr(p, "model_name", "") for name, p in predictors.items()}
    fallback_name = config.resolved_fallback_arm(model_names)
    arrival_rng, order_rng, router_rng, fault_rng, latency_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(5)
    )

    if latency_samples_ms is None:
        latency_samples_ms = {
            arm.name: latency.latency_samples(predictors[arm.name], sentences, count=LATENCY_SAMPLE_COUNT) for arm in config.arms
        }
    samples = {arm.name: np.asarray(latency_samples_ms[arm.name], dtype=float) for arm in config.arms}

    count = int(config.requests)
    arrivals = np.cumsum(arrival_rng.exponential(1.0 / config.arrival_rate_per_s, size=count))
    sentence_ids = order_rng.permutation(len(sentences))[np.arange(count) % len(sentences)]
    clock = SimulatedClock(0.0)
    router = Router(config, rng=router_rng, fallback_arm=fallback_name, clock=clock)
    breakers = {
        arm.name: CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_s, clock=clock) for arm in config.arms
    }
    plan = _plan_requests(router, breakers, clock, arrivals, samples, fault_rng, latency_rng)

    run_ids = {arm.name: arm.run_id for arm in config.arms}
    gold_spans: dict[int, set] = {}
    tagged: dict[tuple[str, int], tuple[list[str], list[float], list[dict], set]] = {}
    records: list[tuple] = []
    rows_logged = 0
    cancelled = False
    if progress is not None:
        progress(0, count)
    for first in range(0, count, config.batch_log_size):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        chunk = range(first, min(count, first + config.batch_log_size))
        _tag_missing(chunk, plan, sentence_ids, sentences, predictors, tagged)
        log_rows = []
        for i in chunk:
            arm_name, sentence_index, error = plan.served[i], int(sentence_ids[i]), plan.errors[i]
            sentence = sentences[sentence_index]
            if sentence_index not in gold_spans:
                gold_spans[sentence_index] = set(tagging.extract_spans(sentence.tags))
            gold = gold_spans[sentence_index]
            if error:
                predicted_tags, entities, correct, predicted = None, [], 0, 0
            else:
                predicted_tags, _, entities, spans = tagged[(arm_name, sentence_index)]
                correct, predicted = len(spans & gold), len(spans)
            records.append(
                (
                    i,
                    float(arrivals[i]),
                    plan.chosen[i],
                    arm_name,
                    run_ids[arm_name],
                    float(plan.latency_ms[i]),
                    bool(error),
                    error,
                    plan.error_kinds[i],
                    plan.breaker_states[i],
                    plan.reasons[i],
                    sentence_index,
                    correct,
                    len(gold),
                    predicted,
                )
            )
            if store is not None:
                log_rows.append(
                    {
                        "source": LOG_SOURCE,
                        "simulation_id": simulation_id,
                        "simulated_time_s": float(arrivals[i]),
                        "arm": arm_name,
                        "run_id": run_ids[arm_name],
                        "text": " ".join(sentence.words),
                        "entities": entities,
                        "latency_ms": float(plan.latency_ms[i]),
                        "error": error or None,
                        "error_kind": plan.error_kinds[i],
                        "breaker_state": plan.breaker_states[i],
                        "routing_reason": plan.reasons[i],
                        "gold": list(sentence.tags),
                        "predicted_tags": predicted_tags,
                    }
                )
        if store is not None:
            rows_logged += store.log_predictions(log_rows)
        if progress is not None:
            progress(chunk.stop, count)

    requests = pd.DataFrame.from_records(records, columns=list(REQUEST_COLUMNS))
    last_time = float(requests["time_s"].iloc[-1]) if len(requests) else 0.0
    timelines = {
        name: [(t, s) for t, s in breaker.timeline if not cancelled or t <= last_time] for name, breaker in breakers.items()
    }
    return SimulationResult(
        simulation_id,
        requests,
        router.planned_split(),
        timelines,
        fallback_name,
        cancelled,
        time.perf_counter() - started,
        rows_logged,
        {name: [float(v) for v in values] for name, values in samples.items()},
    )


def _tag_missing(
    chunk: range,
    plan: _Plan,
    sentence_ids: np.ndarray,
    sentences: Sequence[Sentence],
    predictors: Mapping[str, Predictor],
    tagged: dict,
) -> None:
    """Tag, in one batched call per arm, every sentence this chunk's successful requests need."""
    needed: dict[str, list[int]] = {}
    for i in chunk:
        if plan.errors[i]:
            continue
        key = (plan.served[i], int(sentence_ids[i]))
        if key not in tagged and key[1] not in needed.setdefault(key[0], []):
            needed[key[0]].append(key[1])
    for arm_name, indices in needed.items():
        outputs = predictors[arm_name].tag_sentences([list(sentences[j].words) for j in indices])
        for j, (tag_list, confidences) in zip(indices, outputs):
            words = sentences[j].words
            tagged[(arm_name, j)] = (
                list(tag_list),
                list(confidences),
                [asdict(entity) for entity in entities_of_words(words, tag_list, confidences)],
                set(tagging.extract_spans(tag_list)),
            )
