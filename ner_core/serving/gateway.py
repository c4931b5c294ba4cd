"""The request path of the API, without HTTP: route a request to a served model, call it through its
batcher with fault injection and a timeout, fall back when it fails, assemble the answer, and
queue its prediction-log row. The FastAPI layer (:mod:`ner_core.serving.api`) only parses,
authenticates and renders.

Failure handling follows the design: a model that raises or is slower than ``model_timeout_ms``
is a failure of its arm (its circuit breaker counts it) and the request is served by the fallback
arm (``speed``) when that one's breaker lets it through; the answer's ``routing_decision`` says
so. Breakers are kept per role and version, so a newly promoted version starts with a closed one.

Everything here runs on the event loop thread, except the model calls (batcher threads) and the
registry poll (:class:`Gateway` starts it), so the breakers, routers and counters need no locks.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ner_core.corpus.tokenizer import tokenize_sentences
from ner_core.errors import ModelUnavailableError, SlaNotMetError, UnknownModelError
from ner_core.serving import answers, log_retention, registry
from ner_core.serving.api_keys import KeyRing
from ner_core.serving.config import Fault, ServeConfig
from ner_core.serving.dynamic_batching import ArrivingRequests
from ner_core.serving.live_stats import LiveStats
from ner_core.serving.metrics import ApiMetrics
from ner_core.serving.request_log import LOG_SOURCE, RequestLogWriter
from ner_core.serving.served_models import ServedArm, ServedModels, ServedSet
from ner_core.store.database import Store
from ner_core.store.tables import SERVING_ROLES
from ner_core.traffic import routing
from ner_core.traffic.circuit_breaker import CircuitBreaker
from ner_core.traffic.experiment import ERROR_BREAKER_REJECTED, ERROR_INJECTED_FAULT, ERROR_NONE, ERROR_OTHER, INJECTED_FAULT

logger = logging.getLogger(__name__)
RETENTION_INTERVAL_S = 3600.0


class ModelCallError(Exception):
    """One arm's model call failed (raised, timed out, or an injected fault); ``kind`` is an ERROR_KINDS value."""

    def __init__(self, message: str, kind: str, outcome: str):
        super().__init__(message)
        self.kind = kind
        self.outcome = outcome  # the model_calls metric's label


@dataclass
class Served:
    """What the API answers for one request (one or many texts)."""

    request_id: str
    role: str
    info: registry.VersionInfo
    results: list[answers.TaggedText]
    reason: str
    breaker_state: str
    strategy: routing.StrategyDecision | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    batch_sentences: int = 0


@dataclass(frozen=True)
class RouteRequest:
    """How to choose a model for a request; ``strategy`` None means the weighted split (or rules when constrained)."""

    model: str = registry.AUTO
    strategy: str | None = None
    max_latency_ms: float | None = None
    min_accuracy: float | None = None
    speed_priority: bool = False
    fallback_enabled: bool = True
    context: Mapping | None = None


class Gateway:
    """Owns the served models, breakers, live statistics, faults, key ring, log writer and metrics of one server."""

    def __init__(
        self,
        config: ServeConfig,
        store: Store,
        *,
        clock=time.monotonic,
        metrics: ApiMetrics | None = None,
        arriving: ArrivingRequests | None = None,
    ):
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics if metrics is not None else ApiMetrics()
        self.started_at = time.time()
        self.faults: dict[str, Fault] = dict(config.faults_by_role())
        self._fault_rng = random.Random()
        self.models = ServedModels(store, config, clock=clock, on_batch=self._batch_observed, arriving=arriving)
        self.keys = KeyRing(store)
        self.log = RequestLogWriter(store, flush_interval_s=config.log_flush_interval_s, batch_rows=config.log_batch_rows)
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}
        self.stats: dict[str, LiveStats] = {}  # run id -> live statistics
        self.requests_served = 0
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._last_purge = 0.0
        # Request ids: a random prefix per process and a counter (uuid4 reads os.urandom per request,
        # a measurable cost at thousands of requests a second); unique across workers and restarts.
        self._id_prefix = uuid.uuid4().hex[:12]
        self._id_counter = itertools.count(1)

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, poll: bool = True) -> None:
        """Load the served models now; then poll the registry, the keys and retention in a thread."""
        self.models.refresh()
        self._purge_if_due()
        settle_heap()
        if poll:
            self._poller = threading.Thread(target=self._poll, name="ner-registry-poll", daemon=True)
            self._poller.start()

    def refresh(self) -> bool:
        """Check the registry and the keys now (the poll thread does this every ``registry_poll_s``)."""
        self.keys.refresh()
        changed = self.models.refresh()
        self.metrics.registry_swaps.set(self.models.swaps)
        if changed:
            settle_heap()
        return changed

    def _poll(self) -> None:
        while not self._stop.wait(self.config.registry_poll_s):
            try:
                self.refresh()
                self._purge_if_due()
            except Exception:  # noqa: BLE001 - a failed poll is retried at the next one; serving goes on
                logger.exception("registry poll failed")

    def _purge_if_due(self) -> None:
        days = self.config.log_retention_days
        if days is None or time.monotonic() - self._last_purge < RETENTION_INTERVAL_S and self._last_purge:
            return
        self._last_purge = time.monotonic()
        import datetime as dt

        purged = log_retention.purge_older_than(self.store, dt.timedelta(days=days))
        if purged:
            logger.info("purged %d prediction-log rows older than %d days", purged, days)

    def close(self) -> None:
        """Stop polling, finish queued model calls, and commit every pending log row."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
        self.models.close()
        self.log.close()

    def new_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._id_counter):08x}"

    # ------------------------------------------------------------------ state

    @property
    def snapshot(self) -> ServedSet:
        return self.models.current

    def breaker(self, arm: ServedArm) -> CircuitBreaker:
        key = (arm.role, arm.info.run_id)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(self.config.breaker_failures, self.config.breaker_reset_s, clock=self.clock)
            self._breakers[key] = breaker
        return breaker

    def live(self, arm: ServedArm) -> LiveStats:
        return self.stats.setdefault(arm.info.run_id, LiveStats())

    def _batch_observed(self, role: str, sentences: int, requests: int, seconds: float) -> None:
        self.metrics.observe_batch(role, sentences, requests)

    def set_fault(self, role: str, fault: Fault) -> None:
        if fault.active:
            self.faults[role] = fault
        else:
            self.faults.pop(role, None)

    # ------------------------------------------------------------------ routing

    def candidates(self, snapshot: ServedSet) -> list[routing.Candidate]:
        """The loaded serving arms as the strategies see them: live latency once measured, else the stored one."""
        found = []
        for role in SERVING_ROLES:
            arm = snapshot.arms.get(role)
            if arm is None or not arm.loaded:
                continue
            live = self.live(arm).live_p50()
            fault = self.faults.get(role)
            stored = arm.arm.latency_p50_ms
            if stored is not None and fault is not None:
                stored += fault.added_latency_ms
            latency, source = (live, "live") if live is not None else (stored, "stored")
            available = self.breaker(arm).state != "open"
            found.append(routing.Candidate(role, latency, arm.arm.entity_f1, source, available))
        return found

    def _choose(
        self, snapshot: ServedSet, request: RouteRequest
    ) -> tuple[routing.RouteDecision, routing.StrategyDecision | None]:
        if snapshot.router is None:
            raise ModelUnavailableError("no model is loaded; train a model and register it, or see /api/v1/health.")
        breakers = {role: self.breaker(arm) for role, arm in snapshot.arms.items() if arm.loaded}
        resolution = registry.resolve(request.model, snapshot.plan.roles)
        if not resolution.is_auto:
            arm = snapshot.arms[resolution.role]
            if not arm.loaded:
                raise ModelUnavailableError(f"{resolution.role} ({arm.info.label}) failed to load: {arm.load_error}")
            reason = f"requested {request.model!r}: {resolution.role} ({arm.info.label})"
            return snapshot.router.route(breakers, chosen=arm.arm, reason=reason), None
        constrained = request.max_latency_ms is not None or request.min_accuracy is not None or request.speed_priority
        if request.strategy is None and not constrained:
            return snapshot.router.route(breakers), None
        strategy = request.strategy or ("speed" if request.speed_priority else "intelligent")
        try:
            decision = routing.choose_by_strategy(
                self.candidates(snapshot),
                strategy,
                max_latency_ms=request.max_latency_ms,
                min_entity_f1=request.min_accuracy,
                primary="primary",
                context=request.context,
            )
        except LookupError:
            raise ModelUnavailableError("every served model has its circuit breaker open; try again shortly.") from None
        if not decision.sla_met and not request.fallback_enabled:
            raise SlaNotMetError(f"{decision.reason.split(';')[0]}; fallback_enabled is false, so nothing was served.")
        chosen = snapshot.arms[decision.selected].arm
        return snapshot.router.route(breakers, chosen=chosen, reason=f"{strategy}: {decision.reason}"), decision

    # ------------------------------------------------------------------ serving

    async def _call(self, arm: ServedArm, sentences: list[list[str]]) -> tuple[list, float]:
        """The arm's tags for the sentences and the model time (ms); :class:`ModelCallError` on any failure."""
        fault = self.faults.get(arm.role)
        timeout_s = self.config.model_timeout_ms / 1000
        started = time.perf_counter()
        try:
            if fault is not None:
                if fault.added_latency_ms:
                    await asyncio.wait_for(asyncio.sleep(fault.added_latency_ms / 1000), timeout_s)
                if self._fault_rng.random() < fault.error_probability:
                    raise ModelCallError(INJECTED_FAULT, ERROR_INJECTED_FAULT, "injected_fault")
                timeout_s = max(0.0, timeout_s - (time.perf_counter() - started))
            tagged = await asyncio.wait_for(arm.runner.submit(sentences), timeout_s)
        except ModelCallError:
            raise
        except TimeoutError:
            raise ModelCallError(f"timeout: no answer in {self.config.model_timeout_ms:g} ms", ERROR_OTHER, "timeout") from None
        except Exception as exc:  # noqa: BLE001 - a model's own failure is the arm's failure, never the client's
            logger.warning("%s (%s) failed: %s: %s", arm.role, arm.info.label, exc.__class__.__name__, exc)
            raise ModelCallError(f"model error: {exc.__class__.__name__}", ERROR_OTHER, "error") from None
        return tagged, (time.perf_counter() - started) * 1000

    async def serve(
        self,
        texts: Sequence[str],
        request: RouteRequest,
        *,
        key_name: str | None,
        endpoint: str = "predict",
        on_submit: Callable[[], None] | None = None,
        experiment_id: str | None = None,
        request_id: str | None = None,
    ) -> Served:
        """Tag ``texts`` with one routed model (one batch); log a row per text; raise on refusal.

        ``on_submit`` is called once the request is about to reach a model (dynamic batching stops
        waiting for it then). ``experiment_id`` (the ``X-Experiment-Id`` header) goes into the log rows'
        ``simulation_id``, so a live A/B run can be read back from the log like a simulation; ``request_id``
        (the ``X-Request-ID`` header) is the client's own id for the request, which its log rows carry.
        """
        started = time.perf_counter()
        request_id = request_id or self.new_request_id()
        snapshot = self.snapshot  # this request finishes on this snapshot, whatever is promoted meanwhile
        try:
            decision, strategy = self._choose(snapshot, request)
            decided_at = time.perf_counter()
        except (UnknownModelError, SlaNotMetError):
            raise
        except ModelUnavailableError as exc:
            self.metrics.model_calls.labels("none", "rejected").inc()
            self._log_failure(
                texts, None, snapshot, str(exc), ERROR_BREAKER_REJECTED, "", "", key_name, request_id, experiment_id
            )
            raise
        tokenized = [tokenize_sentences(text) for text in texts]
        words = [[token.text for token in sentence] for sentences in tokenized for sentence in sentences]
        tokenized_at = time.perf_counter()
        if on_submit is not None:
            on_submit()
        reason, chosen_role = decision.reason, decision.chosen.name
        attempts = [decision.served.name] if decision.served is not None else []
        fallback = snapshot.fallback_role
        while True:
            if not attempts:
                message = f"no model could serve the request ({reason})"
                self.metrics.model_calls.labels(chosen_role, "rejected").inc()
                self._log_failure(texts, snapshot.arms[chosen_role], snapshot, message, ERROR_BREAKER_REJECTED,
                                  decision.breaker_state, reason, key_name, request_id, experiment_id)  # fmt: skip
                raise ModelUnavailableError(message + "; try again shortly.")
            arm = snapshot.arms[attempts.pop(0)]
            breaker = self.breaker(arm)
            try:
                tagged, model_ms = await self._call(arm, words)
            except ModelCallError as exc:
                breaker.record_failure()
                self.metrics.model_calls.labels(arm.role, exc.outcome).inc()
                self.metrics.set_breaker(arm.role, breaker.state)
                self.live(arm).record(None, failed=True)
                can_fall_back = fallback is not None and fallback != arm.role and fallback in snapshot.arms
                if can_fall_back and snapshot.arms[fallback].loaded and self.breaker(snapshot.arms[fallback]).allow():
                    reason = f"fallback: {arm.role} failed ({exc}); served by {fallback}"
                    attempts.append(fallback)
                    continue
                message = f"{arm.role} ({arm.info.label}) failed: {exc}"
                self._log_failure(
                    texts, arm, snapshot, message, exc.kind, decision.breaker_state, reason, key_name, request_id, experiment_id
                )
                raise ModelUnavailableError(message + " and no fallback could take the request; try again shortly.") from None
            breaker.record_success()
            self.metrics.model_calls.labels(arm.role, "ok").inc()
            self.metrics.set_breaker(arm.role, breaker.state)
            break
        answered_at = time.perf_counter()
        results, position = [], 0
        for text, sentences in zip(texts, tokenized):
            results.append(answers.assemble(text, sentences, tagged[position : position + len(sentences)]))
            position += len(sentences)
        finished = time.perf_counter()
        total_ms = (finished - started) * 1000
        served = Served(
            request_id, arm.role, arm.info, results, reason, decision.breaker_state, strategy,
            {
                "decision_ms": (decided_at - started) * 1000,
                "tokenize_ms": (tokenized_at - decided_at) * 1000,
                "model_ms": model_ms,
                "postprocess_ms": (finished - answered_at) * 1000,
                "total_ms": total_ms,
            },
            len(words),
        )  # fmt: skip
        self.live(arm).record(total_ms / max(1, len(texts)), failed=False)
        self.requests_served += 1
        for result in results:
            self.log.add(
                {
                    "source": LOG_SOURCE,
                    "arm": arm.role,
                    "run_id": arm.info.run_id,
                    "model_version": arm.info.version,
                    "text": result.text,
                    "entities": [answers.entity_row(entity) for entity in result.entities],
                    "predicted_tags": [token.tag for token in result.tokens],
                    "latency_ms": total_ms,
                    "error": None,
                    "error_kind": ERROR_NONE,
                    "breaker_state": decision.breaker_state,
                    "routing_reason": reason,
                    "api_key_name": key_name,
                    "request_id": request_id,
                    "simulation_id": experiment_id,
                }
            )
        return served

    def _log_failure(
        self, texts, arm, snapshot, message, kind, breaker_state, reason, key_name, request_id, experiment_id=None
    ) -> None:
        for text in texts:
            self.log.add(
                {
                    "source": LOG_SOURCE,
                    "arm": arm.role if arm is not None else None,
                    "run_id": arm.info.run_id if arm is not None else None,
                    "model_version": arm.info.version if arm is not None else None,
                    "text": text,
                    "entities": [],
                    "latency_ms": None,
                    "error": message,
                    "error_kind": kind,
                    "breaker_state": breaker_state or None,
                    "routing_reason": reason or None,
                    "api_key_name": key_name,
                    "request_id": request_id,
                    "simulation_id": experiment_id,
                }
            )


def settle_heap() -> None:
    """Take what start-up or a model swap allocated out of the cyclic collector's sight (``gc.freeze``).

    TensorFlow, Keras and the loaded models leave millions of long-lived objects, and every full
    collection walked them all: 150-200 ms each, several in 10 s at 32 concurrent clients, which was
    the API's whole p99 (bench/serve_load.py). Frozen objects are still freed by reference counting;
    only cycles among them (an old model version's, after a swap) stay until the process ends.
    """
    gc.collect()
    gc.freeze()
