"""The API server's settings: one typed dataclass whose fields carry their help and bounds, so the
``serve`` command's flags (``ner_core.configuration.add_arguments``) and validation read one source.

The traffic split and fault injection are written as short strings (``primary=90,speed=8,backup=2``,
``primary:0.5:20``) so they fit a flag and an environment variable; :meth:`ServeConfig.weights` and
:meth:`ServeConfig.faults` parse them, and a bad one fails at construction with a
:class:`~ner_core.errors.ConfigError` naming the part that is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from ner_core import configuration
from ner_core.configuration import setting
from ner_core.errors import ConfigError
from ner_core.store.tables import REGISTRY_ROLES, SERVING_ROLES

# How `python -m ner_core serve --workers N` hands its settings to each worker process.
CONFIG_ENV = "NER_SERVE_CONFIG"
# The design's split (model2 90 %, baseline 8 %, advanced 2 %) over the registry's serving roles.
DEFAULT_WEIGHTS = "primary=90,speed=8,backup=2"
MAX_BATCH_TEXTS = 100  # /predict/batch, from the design


@dataclass(frozen=True)
class Fault:
    """Injected into one arm for tests and demos: a call fails with ``error_probability``, and takes
    ``added_latency_ms`` longer."""

    error_probability: float = 0.0
    added_latency_ms: float = 0.0

    def __post_init__(self) -> None:
        if not _finite(self.error_probability) or not 0 <= self.error_probability <= 1:
            raise ConfigError(f"fault error probability must be from 0 to 1, got {self.error_probability!r}.")
        if not _finite(self.added_latency_ms) or not 0 <= self.added_latency_ms <= 60_000:
            raise ConfigError(f"fault added latency must be from 0 to 60000 ms, got {self.added_latency_ms!r}.")

    @property
    def active(self) -> bool:
        return self.error_probability > 0 or self.added_latency_ms > 0


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``python -m ner_core serve`` can be told; the defaults are the design's where it had one."""

    host: str = setting(
        "127.0.0.1", help="Address to bind. The default answers this machine only; 0.0.0.0 exposes the API to the network."
    )
    port: int = setting(8000, help="TCP port to listen on (0 picks a free one).", min=0, max=65535)
    workers: int = setting(
        1,
        help="Server processes. Each loads every served model and keeps its own rate limits, breakers and /metrics.",
        min=1,
        max=32,
    )
    open_access: bool = setting(
        False, help="Serve without API keys (local use only); the server says so at start-up and in /health."
    )
    rate_limit_per_s: float = setting(
        100.0, help="Requests per second each API key may send on average (token bucket); 0 turns the limit off.", min=0, max=1e6
    )
    rate_limit_burst: int = setting(200, help="Requests a key may send at once before the average applies.", min=1, max=10**6)
    max_body_bytes: int = setting(
        1_000_000, help="Largest request body accepted; a bigger one gets 413.", min=1_024, max=100_000_000
    )
    max_text_chars: int = setting(
        10_000, help="Longest text accepted in a request; a longer one gets 422 with the limit.", min=1, max=100_000
    )
    batching: bool = setting(
        True, help="Gather concurrent single-text requests into one model call (dynamic batching, as Triton does)."
    )
    batch_wait_ms: float = setting(
        2.0,
        help="Longest a request waits for others already on their way to join its batch; a lone request never waits.",
        min=0,
        max=100,
    )
    max_batch_size: int = setting(64, help="Most sentences in one dynamically formed batch.", min=1, max=1024)
    model_timeout_ms: float = setting(
        2000.0,
        help="A model call slower than this counts as a failure: the fallback arm serves the request.",
        min=1,
        max=600_000,
    )
    weights: str = setting(DEFAULT_WEIGHTS, help="Traffic split of `auto` requests over the serving roles, role=weight pairs.")
    breaker_failures: int = setting(5, help="Consecutive failures that open an arm's circuit breaker.", min=1, max=10_000)
    breaker_reset_s: float = setting(
        60.0, help="Seconds an open breaker waits before letting one trial request through (half-open).", min=0.001, max=86_400
    )
    faults: str = setting(
        "",
        help="Fault injection for tests and demos, off by default: role:error_probability:added_latency_ms, comma-separated "
        "(e.g. primary:0.5:20).",
    )
    fault_api: bool = setting(False, help="Allow changing fault injection at run time through PUT /api/v1/faults/{role}.")
    log_flush_interval_s: float = setting(
        0.5, help="Longest a request's log row waits in memory before the background writer commits it.", min=0.01, max=3600
    )
    log_batch_rows: int = setting(500, help="Rows the log writer commits in one transaction at most.", min=1, max=100_000)
    log_retention_days: int | None = setting(
        None,
        help="Delete prediction-log rows older than this many days at start-up and every hour.",
        min=1,
        max=36_500,
        placeholder="keep everything",
    )
    registry_poll_s: float = setting(
        1.0, help="How often the server checks the registry for a promotion or rollback.", min=0.05, max=3600
    )
    naive_endpoint: bool = setting(
        False,
        help="Also serve POST /api/v1/predict/naive: one Keras model.predict per request, the benchmark's in-run baseline.",
    )

    def __post_init__(self) -> None:
        configuration.validate(self)
        self.weights_by_role()
        self.faults_by_role()

    def weights_by_role(self) -> dict[str, float]:
        """``primary=90,speed=8,backup=2`` -> ``{"primary": 90.0, ...}``; every role a serving role, weights >= 0."""
        parsed = _pairs(self.weights, "=", "weights", "role=weight")
        weights = {}
        for role, values in parsed.items():
            if role not in SERVING_ROLES:
                raise ConfigError(f"weights: {role!r} is not a serving role; use {', '.join(SERVING_ROLES)}.")
            weights[role] = _number(values[0], "weights", role, low=0)
        if sum(weights.values()) <= 0:
            raise ConfigError("weights: at least one role needs a positive weight.")
        return weights

    def faults_by_role(self) -> dict[str, Fault]:
        """``primary:0.5:20`` -> ``{"primary": Fault(0.5, 20.0)}`` (the latency part may be left out)."""
        faults = {}
        for role, values in _pairs(self.faults, ":", "faults", "role:error_probability[:added_latency_ms]").items():
            if role not in REGISTRY_ROLES:
                raise ConfigError(f"faults: {role!r} is not a role; use {', '.join(REGISTRY_ROLES)}.")
            if len(values) > 2:
                raise ConfigError(f"faults: {role}:{':'.join(values)} has too many parts; use role:probability:latency_ms.")
            probability = _number(values[0], "faults", role, low=0)
            added = _number(values[1], "faults", role, low=0) if len(values) > 1 else 0.0
            faults[role] = Fault(probability, added)
        return faults

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"serve settings are not JSON ({exc}).") from None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in known})


def _pairs(text: str, separator: str, what: str, shape: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        role, *values = [piece.strip() for piece in part.split(separator)]
        if not role or not values or not all(values):
            raise ConfigError(f"{what}: {part!r} is not {shape}.")
        if role in pairs:
            raise ConfigError(f"{what}: {role} is given twice.")
        pairs[role] = values
    return pairs


def _number(text: str, what: str, role: str, *, low: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{what}: {role} has {text!r}, which is not a number.") from None
    if not math.isfinite(value) or value < low:
        raise ConfigError(f"{what}: {role} has {text!r}; it must be a number >= {low:g}.")
    return value


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
