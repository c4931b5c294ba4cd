"""The API's Prometheus metrics, in a registry of their own per app (tests build many apps in one process).

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` histograms). With
``--workers N`` each worker process exports its own values; scrape each worker or run one worker
per container, as Prometheus' multiprocess mode would otherwise need a shared directory.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ner_core.traffic.circuit_breaker import BREAKER_STATES

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
BREAKER_LEVELS = {state: level for level, state in enumerate(BREAKER_STATES)}  # closed 0, open 1, half_open 2
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ApiMetrics:
    """Counters, histograms and gauges the gateway updates and /metrics exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ner_requests", "API requests by endpoint, serving arm (role) and HTTP status.", ["endpoint", "arm", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "ner_request_latency_seconds",
            "Server-side time of a request, by endpoint, serving arm and HTTP status.",
            ["endpoint", "arm", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.model_calls = Counter(
            "ner_model_calls", "Model calls by arm and outcome (ok, error, timeout, injected_fault, rejected).",
            ["arm", "outcome"], registry=self.registry,
        )  # fmt: skip
        self.breaker_state = Gauge(
            "ner_breaker_state", "Circuit breaker state per arm: 0 closed, 1 open, 2 half-open.", ["arm"], registry=self.registry
        )
        self.batch_size = Histogram(
            "ner_batch_size_sentences", "Sentences per model call (dynamic batching).", ["arm"], buckets=BATCH_BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.batch_requests = Histogram(
            "ner_batch_size_requests", "Requests per model call (dynamic batching).", ["arm"], buckets=BATCH_BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.log_pending = Gauge("ner_log_rows_pending", "Prediction-log rows waiting to be committed.", registry=self.registry)
        self.log_written = Gauge(
            "ner_log_rows_written", "Prediction-log rows committed since the server started.", registry=self.registry
        )
        self.in_flight = Gauge("ner_requests_in_flight", "HTTP requests being handled now.", registry=self.registry)
        self.registry_swaps = Gauge(
            "ner_served_set_swaps", "Times the served models were swapped after a registry change.", registry=self.registry
        )
        self._children: dict[tuple, tuple] = {}

    def observe_request(self, endpoint: str, arm: str, status: int, seconds: float) -> None:
        key = (endpoint, arm, status)
        children = self._children.get(key)
        if children is None:  # labels() costs a lock and a dict lookup; keep the children
            labels = (endpoint, arm, str(status))
            children = self._children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, arm: str, sentences: int, requests: int) -> None:
        self.batch_size.labels(arm).observe(sentences)
        self.batch_requests.labels(arm).observe(requests)

    def set_breaker(self, arm: str, state: str) -> None:
        self.breaker_state.labels(arm).set(BREAKER_LEVELS.get(state, -1))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
