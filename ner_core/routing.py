"""Traffic router, circuit breaker and A/B simulator.

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
real predictor by :func:`measure_latency_samples` unless the caller passes
them) plus the arm's injected ``added_latency_ms``. Requests are served at
their arrival time as far as the breakers are concerned; latency is reported,
it does not delay the breaker's view of the outcome.

The rules strategy uses each arm's measured facts (``latency_p50_ms`` and
``entity_f1`` from the run's stored metrics, see :func:`arm_from_run`), never
typed-in constants.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ner_core import tags as tagging
from ner_core.errors import ConfigError

if TYPE_CHECKING:
    from ner_core.data import Sentence
    from ner_core.inference import Predictor
    from ner_core.store import Run, Store

STRATEGIES = ("weighted", "rules")
BREAKER_STATES = ("closed", "open", "half_open")
# The product's default split over the three original models.
DEFAULT_WEIGHTS = {"model2": 0.90, "baseline": 0.08, "advanced": 0.02}
BASELINE_MODEL = "baseline"
MAX_REQUESTS = 1_000_000
INJECTED_FAULT = "injected fault"
LOG_SOURCE = "simulation"
LATENCY_SAMPLE_COUNT = 50
LATENCY_WARMUP_CALLS = 5
# Bootstrap resamples are drawn in chunks of about this many request picks to bound memory.
_BOOTSTRAP_CHUNK_PICKS = 2_000_000
REQUEST_COLUMNS = (
    "index", "time_s", "chosen_arm", "arm", "run_id", "latency_ms", "error", "error_message",
    "breaker_state", "reason", "sentence_index", "correct_entities", "gold_entities", "predicted_entities",
)


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One arm of the experiment: a registered run, its share of traffic and injected faults.

    ``latency_p50_ms`` and ``entity_f1`` are the run's measured metrics (see
    :func:`arm_from_run`); rule routing reads them, and ``None`` means unknown,
    which never satisfies a rule.
    """

    name: str
    run_id: str
    weight: float
    error_probability: float = 0.0
    added_latency_ms: float = 0.0
    latency_p50_ms: float | None = None
    entity_f1: float | None = None
    model_name: str = ""

    @property
    def expected_latency_ms(self) -> float | None:
        """Measured median latency plus the injected delay; None when never measured."""
        if not _known(self.latency_p50_ms):
            return None
        return float(self.latency_p50_ms) + float(self.added_latency_ms)


@dataclass
class SimulationConfig:
    """Everything one simulation needs besides the predictors and the sentences."""

    arms: list[Arm]
    requests: int = 1000
    arrival_rate_per_s: float = 20.0
    seed: int = 0
    strategy: str = "weighted"  # "weighted" | "rules"
    speed_priority: bool = False
    max_latency_ms: float | None = None
    min_entity_f1: float | None = None
    fallback_arm: str | None = None  # default: the arm whose run is a baseline model, else the first arm
    breaker_failure_threshold: int = 5
    breaker_reset_s: float = 60.0
    batch_log_size: int = 500

    def __post_init__(self) -> None:
        self.arms = list(self.arms)
        if not self.arms:
            raise ConfigError("a simulation needs at least one arm.")
        names = [arm.name for arm in self.arms]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"arm names must be unique; repeated: {', '.join(duplicates)}.")
        for arm in self.arms:
            _check_arm(arm)
        if sum(arm.weight for arm in self.arms) <= 0:
            raise ConfigError("arm weights sum to 0; give at least one arm a positive weight.")
        if isinstance(self.requests, bool) or not isinstance(self.requests, (int, np.integer)) \
                or not 1 <= self.requests <= MAX_REQUESTS:
            raise ConfigError(f"requests must be a whole number from 1 to {MAX_REQUESTS:,}, got {self.requests!r}.")
        if not _finite(self.arrival_rate_per_s) or self.arrival_rate_per_s <= 0:
            raise ConfigError(f"arrival rate must be a positive number of requests per second, got {self.arrival_rate_per_s!r}.")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown routing strategy {self.strategy!r}; choose one of: {', '.join(STRATEGIES)}.")
        if self.max_latency_ms is not None and (not _finite(self.max_latency_ms) or self.max_latency_ms <= 0):
            raise ConfigError(f"maximum latency must be a positive number of milliseconds, got {self.max_latency_ms!r}.")
        if self.min_entity_f1 is not None and (not _finite(self.min_entity_f1) or not 0 <= self.min_entity_f1 <= 1):
            raise ConfigError(f"minimum entity F1 must be between 0 and 1, got {self.min_entity_f1!r}.")
        if self.fallback_arm is not None and self.fallback_arm not in names:
            raise ConfigError(f"fallback arm {self.fallback_arm!r} is not one of the arms: {', '.join(names)}.")
        if isinstance(self.breaker_failure_threshold, bool) or not isinstance(self.breaker_failure_threshold, (int, np.integer)) \
                or self.breaker_failure_threshold < 1:
            raise ConfigError(f"breaker failure threshold must be a whole number >= 1, got {self.breaker_failure_threshold!r}.")
        if not _finite(self.breaker_reset_s) or self.breaker_reset_s <= 0:
            raise ConfigError(f"breaker reset time must be a positive number of seconds, got {self.breaker_reset_s!r}.")
        if isinstance(self.batch_log_size, bool) or not isinstance(self.batch_log_size, (int, np.integer)) \
                or self.batch_log_size < 1:
            raise ConfigError(f"log batch size must be a whole number >= 1, got {self.batch_log_size!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed!r}.")

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise ConfigError(f"no arm {name!r}; the arms are: {', '.join(a.name for a in self.arms)}.")

    def resolved_fallback_arm(self, model_names: Mapping[str, str] | None = None) -> str:
        """The fallback arm's name: as configured, else the first baseline-model arm, else the first arm.

        ``model_names`` (arm name -> model name, e.g. from the predictors) fills in
        arms built without ``model_name``.
        """
        if self.fallback_arm is not None:
            return self.fallback_arm
        model_names = model_names or {}
        for arm in self.arms:
            if (arm.model_name or model_names.get(arm.name, "")) == BASELINE_MODEL:
                return arm.name
        return self.arms[0].name

    def planned_weights(self) -> dict[str, float]:
        """Configured weights normalised to shares of traffic."""
        total = sum(arm.weight for arm in self.arms)
        return {arm.name: arm.weight / total for arm in self.arms}


def _known(value: float | None) -> bool:
    return value is not None and _finite(value)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _check_arm(arm: Arm) -> None:
    if not isinstance(arm.name, str) or not arm.name.strip():
        raise ConfigError("every arm needs a non-empty name.")
    if not _finite(arm.weight) or arm.weight < 0:
        raise ConfigError(f"arm {arm.name!r}: weight must be a number >= 0, got {arm.weight!r}.")
    if not _finite(arm.error_probability) or not 0 <= arm.error_probability <= 1:
        raise ConfigError(f"arm {arm.name!r}: error probability must be between 0 and 1, got {arm.error_probability!r}.")
    if not _finite(arm.added_latency_ms) or arm.added_latency_ms < 0:
        raise ConfigError(f"arm {arm.name!r}: added latency must be >= 0 ms, got {arm.added_latency_ms!r}.")


def arm_from_run(run: "Run", *, weight: float, name: str | None = None, error_probability: float = 0.0,
                 added_latency_ms: float = 0.0) -> Arm:
    """An arm for a registered run, with the run's measured latency p50 and entity F1 as its facts."""
    metrics = run.metrics
    latency = metrics.get("latency_p50_ms")
    entity_f1 = metrics.get("entity_f1")
    return Arm(name=name or run.model_name or run.id, run_id=run.id, weight=weight,
               error_probability=error_probability, added_latency_ms=added_latency_ms,
               latency_p50_ms=float(latency) if _known(latency) else None,
               entity_f1=float(entity_f1) if _known(entity_f1) else None,
               model_name=run.model_name)


# --------------------------------------------------------------------------
# Circuit breaker
# --------------------------------------------------------------------------


class CircuitBreaker:
    """Classic three-state breaker on simulated time.

    ``closed``: requests pass; ``failure_threshold`` consecutive failures open it.
    ``open``: requests are refused until ``reset_s`` has passed since it opened,
    then it turns ``half_open`` and lets exactly one trial request through.
    The trial's success closes it; its failure opens it again for ``reset_s``.
    ``timeline`` lists ``(time_s, state)``, starting with the initial state.
    """

    def __init__(self, failure_threshold: int = 5, reset_s: float = 60.0, *, start_s: float = 0.0):
        if failure_threshold < 1:
            raise ConfigError(f"breaker failure threshold must be >= 1, got {failure_threshold!r}.")
        if reset_s <= 0:
            raise ConfigError(f"breaker reset time must be > 0 s, got {reset_s!r}.")
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.state = "closed"
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self._trial_in_flight = False
        self.timeline: list[tuple[float, str]] = [(float(start_s), "closed")]

    def _move(self, now: float, state: str) -> None:
        self.state = state
        self.timeline.append((float(now), state))

    def allow(self, now: float) -> bool:
        if self.state == "closed":
            return True
        if self.state == "open":
            if now - self.opened_at < self.reset_s:
                return False
            self._move(now, "half_open")
            self._trial_in_flight = False
        if self._trial_in_flight:
            return False
        self._trial_in_flight = True
        return True

    def record_success(self, now: float) -> None:
        self.consecutive_failures = 0
        if self.state == "half_open":
            self._trial_in_flight = False
            self._move(now, "closed")

    def record_failure(self, now: float) -> None:
        if self.state == "half_open":
            self._trial_in_flight = False
            self._open(now)
            return
        if self.state == "open":
            return  # a late failure from before the breaker opened changes nothing
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.failure_threshold:
            self._open(now)

    def _open(self, now: float) -> None:
        self.opened_at = float(now)
        self.consecutive_failures = 0
        self._move(now, "open")


# --------------------------------------------------------------------------
# Router
# --------------------------------------------------------------------------


class Router:
    """Chooses an arm per request and says why; the eligible set is fixed when the router is built.

    ``weighted``: a seeded draw by the arms' weights.
    ``rules``: drop arms whose measured ``latency_p50_ms + added_latency_ms``
    exceeds ``max_latency_ms`` and arms whose measured ``entity_f1`` is below
    ``min_entity_f1`` (unknown facts never qualify); then the fastest remaining
    arm when ``speed_priority``, else a weighted draw among the remaining arms
    (equal shares if they all weigh 0). No qualifying arm: the fallback arm.
    """

    def __init__(self, config: SimulationConfig, *, rng: np.random.Generator | None = None,
                 fallback_arm: str | None = None):
        self.config = config
        self.fallback = config.arm(fallback_arm or config.resolved_fallback_arm())
        self._rng = rng if rng is not None else np.random.default_rng(config.seed)
        if config.strategy == "weighted":
            self._set_draw([arm for arm in config.arms if arm.weight > 0], "weighted draw")
        else:
            self._apply_rules()

    def _set_draw(self, arms: Sequence[Arm], reason: str) -> None:
        weights = np.array([arm.weight for arm in arms], dtype=float)
        if weights.sum() <= 0:
            weights = np.ones(len(arms))
        self._arms = list(arms)
        self._shares = weights / weights.sum()
        self._cumulative = np.cumsum(self._shares)
        self._reason = reason

    def _apply_rules(self) -> None:
        config = self.config
        eligible = list(config.arms)
        conditions = []
        if config.max_latency_ms is not None:
            eligible = [a for a in eligible if a.expected_latency_ms is not None and a.expected_latency_ms <= config.max_latency_ms]
            conditions.append(f"latency <= {config.max_latency_ms:g} ms")
        if config.min_entity_f1 is not None:
            eligible = [a for a in eligible if _known(a.entity_f1) and a.entity_f1 >= config.min_entity_f1]
            conditions.append(f"entity F1 >= {config.min_entity_f1:g}")
        if config.speed_priority:
            eligible = [a for a in eligible if a.expected_latency_ms is not None]
        if not eligible:
            wanted = " and ".join(conditions) if conditions else "a measured latency"
            self._set_draw([self.fallback], f"fallback: no arm has {wanted}")
        elif config.speed_priority:
            fastest = min(eligible, key=lambda a: a.expected_latency_ms)
            reason = "rule: fastest arm"
            if config.max_latency_ms is not None:
                reason += f" under {config.max_latency_ms:g} ms"
            if config.min_entity_f1 is not None:
                reason += f" with entity F1 >= {config.min_entity_f1:g}"
            self._set_draw([fastest], reason)
        else:
            among = f" among arms with {' and '.join(conditions)}" if conditions else " (no rule set)"
            self._set_draw(eligible, f"rule: weighted draw{among}")

    def planned_split(self) -> dict[str, float]:
        """Share of requests each arm should get from this router (before breakers)."""
        split = {arm.name: 0.0 for arm in self.config.arms}
        for arm, share in zip(self._arms, self._shares):
            split[arm.name] += float(share)
        return split

    def choose(self) -> tuple[Arm, str]:
        if len(self._arms) == 1:
            return self._arms[0], self._reason
        position = int(np.searchsorted(self._cumulative, self._rng.random() * self._cumulative[-1], side="right"))
        return self._arms[min(position, len(self._arms) - 1)], self._reason


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------


@dataclass
class SimulationResult:
    """One simulation: a row per request plus what the page needs to explain it.

    ``requests`` columns: ``index``, ``time_s`` (simulated arrival), ``chosen_arm``
    (the router's pick), ``arm`` (who served it: differs on fallback), ``run_id``,
    ``latency_ms``, ``error`` (bool), ``error_message``, ``breaker_state`` (the
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
    latency_ms: np.ndarray


def new_simulation_id() -> str:
    return f"sim-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def measure_latency_samples(predictor: "Predictor", sentences: Sequence["Sentence"], *,
                            count: int = LATENCY_SAMPLE_COUNT, decoding: str | None = None) -> list[float]:
    """Wall milliseconds of ``predictor.predict`` on single sentences, after warm-up.

    The same measurement as the ``latency_p50_ms`` metric (one request = the
    sentence's text, tokenisation and entity assembly included).
    """
    texts = [" ".join(s.words) for s in sentences if s.words] or ["warm up"]
    for text in texts[:LATENCY_WARMUP_CALLS]:
        predictor.predict(text, decoding=decoding)
    timings = []
    for index in range(max(1, count)):
        started = time.perf_counter()
        predictor.predict(texts[index % len(texts)], decoding=decoding)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _check_inputs(config: SimulationConfig, predictors: Mapping[str, "Predictor"], sentences: Sequence["Sentence"],
                  latency_samples_ms: Mapping[str, Sequence[float]] | None) -> None:
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


def _plan_requests(router: Router, breakers: Mapping[str, CircuitBreaker],
                   arrivals: np.ndarray, latency_samples: Mapping[str, np.ndarray],
                   fault_rng: np.random.Generator, latency_rng: np.random.Generator) -> _Plan:
    count = len(arrivals)
    plan = _Plan([], [], [], [], [], np.zeros(count))
    fallback = router.fallback
    fault_draws = fault_rng.random(count)
    latency_picks = {name: latency_rng.integers(0, len(samples), size=count) for name, samples in latency_samples.items()}
    for i in range(count):
        now = float(arrivals[i])
        chosen, reason = router.choose()
        breaker = breakers[chosen.name]
        served: Arm | None = chosen
        allowed = breaker.allow(now)
        state = breaker.state
        if not allowed:
            if fallback.name != chosen.name and breakers[fallback.name].allow(now):
                served = fallback
                reason = f"fallback: breaker {state.replace('_', '-')} for {chosen.name}"
            else:
                served = None
                reason = f"rejected: breaker {state.replace('_', '-')} for {chosen.name} and no fallback available"
        plan.chosen.append(chosen.name)
        plan.reasons.append(reason)
        plan.breaker_states.append(state)
        if served is None:
            # Failing fast costs nothing and is not a failure of the arm (it was never called).
            plan.served.append(chosen.name)
            plan.errors.append(f"rejected: circuit open for {chosen.name}")
            continue
        plan.served.append(served.name)
        if fault_draws[i] < served.error_probability:
            breakers[served.name].record_failure(now)
            plan.errors.append(INJECTED_FAULT)
            plan.latency_ms[i] = served.added_latency_ms
        else:
            breakers[served.name].record_success(now)
            plan.errors.append("")
            plan.latency_ms[i] = latency_samples[served.name][latency_picks[served.name][i]] + served.added_latency_ms
    return plan


def _entities(words: Sequence[str], tag_list: Sequence[str], confidences: Sequence[float]) -> list[dict]:
    """Entities with character offsets into the words joined by single spaces (the logged text)."""
    starts = np.concatenate([[0], np.cumsum([len(w) + 1 for w in words])]).astype(int)
    text = " ".join(words)
    entities = []
    for span in tagging.extract_spans(tag_list):
        start, end = int(starts[span.start]), int(starts[span.end - 1] + len(words[span.end - 1]))
        entities.append({"type": span.type, "text": text[start:end], "start": start, "end": end,
                         "confidence": float(np.mean(confidences[span.start: span.end]))})
    return entities


def simulate(config: SimulationConfig, predictors: Mapping[str, "Predictor"], sentences: Sequence["Sentence"], *,
             store: "Store | None" = None, simulation_id: str | None = None,
             latency_samples_ms: Mapping[str, Sequence[float]] | None = None,
             progress: Callable[[int, int], None] | None = None,
             cancel: threading.Event | None = None) -> SimulationResult:
    """Replay labelled sentences as requests through the router; see the module docstring."""
    started = time.perf_counter()
    _check_inputs(config, predictors, sentences, latency_samples_ms)
    simulation_id = simulation_id or new_simulation_id()
    model_names = {name: getattr(p, "model_name", "") for name, p in predictors.items()}
    fallback_name = config.resolved_fallback_arm(model_names)
    arrival_rng, order_rng, router_rng, fault_rng, latency_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(5))

    if latency_samples_ms is None:
        latency_samples_ms = {arm.name: measure_latency_samples(predictors[arm.name], sentences) for arm in config.arms}
    samples = {arm.name: np.asarray(latency_samples_ms[arm.name], dtype=float) for arm in config.arms}

    count = int(config.requests)
    arrivals = np.cumsum(arrival_rng.exponential(1.0 / config.arrival_rate_per_s, size=count))
    sentence_ids = order_rng.permutation(len(sentences))[np.arange(count) % len(sentences)]
    router = Router(config, rng=router_rng, fallback_arm=fallback_name)
    breakers = {arm.name: CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_s) for arm in config.arms}
    plan = _plan_requests(router, breakers, arrivals, samples, fault_rng, latency_rng)

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
            records.append((i, float(arrivals[i]), plan.chosen[i], arm_name, run_ids[arm_name], float(plan.latency_ms[i]),
                            bool(error), error, plan.breaker_states[i], plan.reasons[i], sentence_index,
                            correct, len(gold), predicted))
            if store is not None:
                log_rows.append({
                    "source": LOG_SOURCE, "simulation_id": simulation_id, "simulated_time_s": float(arrivals[i]),
                    "arm": arm_name, "run_id": run_ids[arm_name], "text": " ".join(sentence.words),
                    "entities": entities, "latency_ms": float(plan.latency_ms[i]), "error": error or None,
                    "breaker_state": plan.breaker_states[i], "routing_reason": plan.reasons[i],
                    "gold": list(sentence.tags), "predicted_tags": predicted_tags,
                })
        if store is not None:
            rows_logged += store.log_predictions(log_rows)
        if progress is not None:
            progress(chunk.stop, count)

    requests = pd.DataFrame.from_records(records, columns=list(REQUEST_COLUMNS))
    last_time = float(requests["time_s"].iloc[-1]) if len(requests) else 0.0
    timelines = {name: [(t, s) for t, s in breaker.timeline if not cancelled or t <= last_time]
                 for name, breaker in breakers.items()}
    return SimulationResult(simulation_id, requests, router.planned_split(), timelines, fallback_name, cancelled,
                            time.perf_counter() - started, rows_logged,
                            {name: [float(v) for v in values] for name, values in samples.items()})


def _tag_missing(chunk: range, plan: _Plan, sentence_ids: np.ndarray, sentences: Sequence["Sentence"],
                 predictors: Mapping[str, "Predictor"], tagged: dict) -> None:
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
            tagged[(arm_name, j)] = (list(tag_list), list(confidences), _entities(words, tag_list, confidences),
                                     set(tagging.extract_spans(tag_list)))


# --------------------------------------------------------------------------
# Analysis (pure functions of the request table)
# --------------------------------------------------------------------------


def _frame(requests: "SimulationResult | pd.DataFrame") -> pd.DataFrame:
    return requests.requests if isinstance(requests, SimulationResult) else requests


def sample_ratio_mismatch(observed_counts: Mapping[str, int], planned_weights: Mapping[str, float]) -> float:
    """Chi-square goodness-of-fit p-value of observed counts against the planned split.

    Arms with zero planned weight are left out (and so is any traffic they
    got). A small p-value (say < 0.001) means the split is not what was
    planned. Test the router's picks (``chosen_arm``) to check randomisation;
    the served ``arm`` also moves with breaker fallbacks, by design.
    """
    names = [name for name, weight in planned_weights.items() if weight > 0]
    observed = np.array([observed_counts.get(name, 0) for name in names], dtype=float)
    if len(names) < 2 or observed.sum() <= 0:
        return 1.0
    weights = np.array([planned_weights[name] for name in names], dtype=float)
    expected = observed.sum() * weights / weights.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def _percentiles(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = frame.groupby(keys)["latency_ms"]
    table = grouped.quantile([0.50, 0.95, 0.99]).unstack()
    table.columns = ["p50", "p95", "p99"]
    table.insert(0, "requests", grouped.size())
    return table


def latency_percentiles(requests: "SimulationResult | pd.DataFrame") -> pd.DataFrame:
    """Per arm: successful requests and their latency p50/p95/p99 in ms (errors excluded)."""
    frame = _frame(requests)
    served = frame[~frame["error"].astype(bool)]
    if served.empty:
        return pd.DataFrame(columns=["requests", "p50", "p95", "p99"], index=pd.Index([], name="arm"))
    return _percentiles(served, ["arm"])


def latency_over_time(requests: "SimulationResult | pd.DataFrame", bucket_s: float) -> pd.DataFrame:
    """Long table (``time_s`` bucket start, ``arm``, ``requests``, ``p50``, ``p95``, ``p99``) of successful requests."""
    if not _finite(bucket_s) or bucket_s <= 0:
        raise ConfigError(f"time bucket must be a positive number of seconds, got {bucket_s!r}.")
    frame = _frame(requests)
    served = frame[~frame["error"].astype(bool)].copy()
    if served.empty:
        return pd.DataFrame(columns=["time_s", "arm", "requests", "p50", "p95", "p99"])
    served["time_s"] = np.floor(served["time_s"].to_numpy() / bucket_s) * bucket_s
    return _percentiles(served, ["time_s", "arm"]).reset_index()


def error_rates(requests: "SimulationResult | pd.DataFrame") -> dict[str, float]:
    """Share of each serving arm's requests that failed (injected faults and rejections)."""
    frame = _frame(requests)
    return {str(arm): float(rate) for arm, rate in frame.groupby("arm")["error"].mean().items()}


def per_request_counts(requests: "SimulationResult | pd.DataFrame", arm: str | None = None) -> np.ndarray:
    """``[n, 3]`` array of (correct, predicted, gold) entities per request, optionally for one serving arm."""
    frame = _frame(requests)
    if arm is not None:
        frame = frame[frame["arm"] == arm]
    return frame[["correct_entities", "predicted_entities", "gold_entities"]].to_numpy(dtype=float)


def _f1(totals: np.ndarray) -> np.ndarray:
    """Micro F1 = 2 tp / (predicted + gold) from summed counts; 0 when nothing was predicted or expected."""
    denominator = totals[..., 1] + totals[..., 2]
    return np.divide(2 * totals[..., 0], denominator, out=np.zeros_like(denominator, dtype=float), where=denominator > 0)


def _bootstrap_f1(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """F1 of ``n_boot`` resamples of the requests (with replacement), drawn in memory-bounded chunks."""
    n = len(counts)
    totals = np.empty((n_boot, 3))
    step = max(1, _BOOTSTRAP_CHUNK_PICKS // n)
    for first in range(0, n_boot, step):
        size = min(step, n_boot - first)
        picks = rng.integers(0, n, size=(size, n))
        for column in range(3):
            totals[first: first + size, column] = counts[:, column][picks].sum(axis=1)
    return _f1(totals)


def _check_bootstrap(n_boot: int, alpha: float) -> None:
    if n_boot < 1:
        raise ConfigError(f"bootstrap needs at least 1 resample, got {n_boot!r}.")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha!r}.")


def bootstrap_f1_ci(per_request_counts: np.ndarray, n_boot: int = 1000, seed: int = 0,
                    alpha: float = 0.05) -> tuple[float, float, float]:
    """(micro entity F1, low, high): percentile bootstrap over requests of (tp, n_pred, n_gold) rows."""
    _check_bootstrap(n_boot, alpha)
    counts = np.asarray(per_request_counts, dtype=float).reshape(-1, 3)
    if len(counts) == 0:
        return float("nan"), float("nan"), float("nan")
    point = float(_f1(counts.sum(axis=0)))
    resampled = _bootstrap_f1(counts, n_boot, np.random.default_rng(seed))
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)


def f1_difference_test(counts_a: np.ndarray, counts_b: np.ndarray, n_boot: int = 1000, seed: int = 0,
                       alpha: float = 0.05) -> tuple[float, float, float, float]:
    """(F1_a - F1_b, ci_low, ci_high, two-sided p) from independent bootstraps of the two arms.

    The arms served different requests, so there is nothing to pair; each arm
    is resampled on its own and p = 2 * min(share of differences <= 0, share >= 0).
    """
    _check_bootstrap(n_boot, alpha)
    a = np.asarray(counts_a, dtype=float).reshape(-1, 3)
    b = np.asarray(counts_b, dtype=float).reshape(-1, 3)
    if len(a) == 0 or len(b) == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    rng_a, rng_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    difference = float(_f1(a.sum(axis=0)) - _f1(b.sum(axis=0)))
    resampled = _bootstrap_f1(a, n_boot, rng_a) - _bootstrap_f1(b, n_boot, rng_b)
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    p_value = min(1.0, 2 * min(float(np.mean(resampled <= 0)), float(np.mean(resampled >= 0))))
    return difference, float(low), float(high), p_value


def entity_f1_by_arm(requests: "SimulationResult | pd.DataFrame", *, n_boot: int = 1000, seed: int = 0,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Per serving arm: micro entity precision/recall/F1 against gold with a bootstrap CI for F1.

    Counts come from strict IOB2 spans (:func:`ner_core.tags.extract_spans`);
    an errored request predicts nothing, so its gold entities count as missed.
    """
    frame = _frame(requests)
    rows = []
    for arm in sorted(frame["arm"].unique()):
        counts = per_request_counts(frame, arm)
        f1, low, high = bootstrap_f1_ci(counts, n_boot=n_boot, seed=seed, alpha=alpha)
        correct, predicted, gold = counts.sum(axis=0)
        rows.append({"arm": arm, "requests": len(counts), "correct": int(correct), "predicted": int(predicted),
                     "gold": int(gold), "precision": correct / predicted if predicted else 0.0,
                     "recall": correct / gold if gold else 0.0, "f1": f1, "ci_low": low, "ci_high": high})
    columns = ["arm", "requests", "correct", "predicted", "gold", "precision", "recall", "f1", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns).set_index("arm")


_FALLBACK_REASON = re.compile(r"^fallback: breaker \S+ for (.+)$")


def result_from_log(simulation_id: str, rows: Sequence[Mapping]) -> SimulationResult:
    """Rebuild a simulation's request table from its prediction-log rows (``Store.prediction_rows``).

    For simulations of an earlier session. The log does not record the planned
    split, so ``planned_weights`` is empty (no sample-ratio test is possible);
    the router's pick is read back from the fallback reason, and each breaker's
    timeline is the sequence of states its requests saw, not every transition.
    """
    records, timelines = [], {}
    for index, row in enumerate(rows):
        served, reason = row.get("arm") or "", row.get("routing_reason") or ""
        fallback = _FALLBACK_REASON.match(reason)
        chosen = fallback.group(1) if fallback else served
        gold_tags = json.loads(row.get("gold_json") or "[]")
        predicted_tags = json.loads(row.get("predicted_tags_json") or "null")
        gold = set(tagging.extract_spans(gold_tags))
        predicted = set(tagging.extract_spans(predicted_tags)) if predicted_tags else set()
        time_s, state = float(row.get("simulated_time_s") or 0.0), row.get("breaker_state") or "closed"
        timeline = timelines.setdefault(chosen, [(0.0, "closed")])
        if timeline[-1][1] != state:
            timeline.append((time_s, state))
        records.append((index, time_s, chosen, served, row.get("run_id") or "", float(row.get("latency_ms") or 0.0),
                        bool(row.get("error")), row.get("error") or "", state, reason, -1,
                        len(predicted & gold), len(gold), len(predicted)))
    requests = pd.DataFrame.from_records(records, columns=list(REQUEST_COLUMNS))
    return SimulationResult(simulation_id, requests, {}, timelines, "", False, 0.0, len(records))


def breaker_timeline_frame(result: SimulationResult) -> pd.DataFrame:
    """Long table (``arm``, ``time_s``, ``state``) of every breaker transition, for plotting."""
    rows = [(arm, time_s, state) for arm, timeline in result.breaker_timelines.items() for time_s, state in timeline]
    return pd.DataFrame(rows, columns=["arm", "time_s", "state"])
