"""An A/B experiment's configuration: its arms (a run, a weight, injected faults) and the
simulation settings, validated on construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ner_core.errors import ConfigError

if TYPE_CHECKING:
    from ner_core.store.tables import Run

STRATEGIES = ("weighted", "rules")
# The product's default split over the three original models.
DEFAULT_WEIGHTS = {"model2": 0.90, "baseline": 0.08, "advanced": 0.02}
# The same split over the model registry's serving roles, in percent (the API's default weights).
ROLE_WEIGHTS = {"primary": 90.0, "speed": 8.0, "backup": 2.0}
SPEED_ROLE = "speed"  # the design's fallback: an open breaker sends its requests to the speed arm
BASELINE_MODEL = "baseline"
MAX_REQUESTS = 1_000_000
INJECTED_FAULT = "injected fault"
# What went wrong with a request: the simulator sets one per request (``error_kind``) and logs it.
ERROR_NONE = "none"  # served (by the chosen arm or its fallback) without error
ERROR_INJECTED_FAULT = "injected_fault"  # the serving arm's injected fault fired
ERROR_BREAKER_REJECTED = "breaker_rejected"  # the chosen arm's breaker refused it and no fallback could take it
ERROR_OTHER = "other"  # only for log rows from before kinds were logged whose message is neither of the above
ERROR_KINDS = (ERROR_NONE, ERROR_INJECTED_FAULT, ERROR_BREAKER_REJECTED, ERROR_OTHER)


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
        if (
            isinstance(self.requests, bool)
            or not isinstance(self.requests, (int, np.integer))
            or not 1 <= self.requests <= MAX_REQUESTS
        ):
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
        if (
            isinstance(self.breaker_failure_threshold, bool)
            or not isinstance(self.breaker_failure_threshold, (int, np.integer))
            or self.breaker_failure_threshold < 1
        ):
            raise ConfigError(f"breaker failure threshold must be a whole number >= 1, got {self.breaker_failure_threshold!r}.")
        if not _finite(self.breaker_reset_s) or self.breaker_reset_s <= 0:
            raise ConfigError(f"breaker reset time must be a positive number of seconds, got {self.breaker_reset_s!r}.")
        if (
            isinstance(self.batch_log_size, bool)
            or not isinstance(self.batch_log_size, (int, np.integer))
            or self.batch_log_size < 1
        ):
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
        return default_fallback_arm(self.arms, model_names)

    def planned_weights(self) -> dict[str, float]:
        """Configured weights normalised to shares of traffic."""
        total = sum(arm.weight for arm in self.arms)
        return {arm.name: arm.weight / total for arm in self.arms}


def default_fallback_arm(arms: Sequence[Arm], model_names: Mapping[str, str] | None = None) -> str:
    """The arm named ``speed`` (the registry's speed role, as the API falls back), else the first
    arm whose model is the baseline (``model_names``, arm name -> model name, fills in arms built
    without one), else the first arm."""
    if not arms:
        raise ConfigError("a simulation needs at least one arm.")
    if any(arm.name == SPEED_ROLE for arm in arms):
        return SPEED_ROLE
    model_names = model_names or {}
    for arm in arms:
        if (arm.model_name or model_names.get(arm.name, "")) == BASELINE_MODEL:
            return arm.name
    return arms[0].name


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


def arm_from_run(
    run: Run, *, weight: float, name: str | None = None, error_probability: float = 0.0, added_latency_ms: float = 0.0
) -> Arm:
    """An arm for a registered run, with the run's measured latency p50 and entity F1 as its facts."""
    metrics = run.metrics
    latency = metrics.get("latency_p50_ms")
    entity_f1 = metrics.get("entity_f1")
    return Arm(
        name=name or run.model_name or run.id,
        run_id=run.id,
        weight=weight,
        error_probability=error_probability,
        added_latency_ms=added_latency_ms,
        latency_p50_ms=float(latency) if _known(latency) else None,
        entity_f1=float(entity_f1) if _known(entity_f1) else None,
        model_name=run.model_name,
    )


def default_arms(runs: Sequence[Run], role_runs: Mapping[str, str] | None = None) -> list[Arm]:
    """The arms an experiment starts from, over registered runs given newest first; weights in percent.

    When the model registry gives serving roles (``role_runs``: role -> run id of its holder, see
    ``workbench.registry_view.serving_role_runs``), the arms are those roles, named by role, with the
    design's weights (:data:`ROLE_WEIGHTS`: primary 90, speed 8, backup 2): what the API serves.
    Holders whose run is not among ``runs`` (deleted, unfinished, folder gone) are left out. Otherwise,
    the product split (:data:`DEFAULT_WEIGHTS`: model2 90, baseline 8, advanced 2) over each of
    those models' latest run when at least two of them have a run; else the two newest runs 50/50,
    named by model (``"<model> (newest)"`` and ``"<model> (previous)"`` when it is the same model);
    with a single run, an A/A test of it (arms ``A`` and ``B``). Every arm comes from
    :func:`arm_from_run`, so it carries the run's measured facts and no injected faults.
    """
    runs = list(runs)
    if not runs:
        raise ConfigError("an experiment needs at least one completed run; train a model first.")
    by_id = {run.id: run for run in runs}
    held = [(role, by_id[run_id]) for role, run_id in (role_runs or {}).items() if role in ROLE_WEIGHTS and run_id in by_id]
    if held:
        held.sort(key=lambda pair: list(ROLE_WEIGHTS).index(pair[0]))
        return [arm_from_run(run, weight=ROLE_WEIGHTS[role], name=role) for role, run in held]
    latest: dict[str, Run] = {}
    for run in runs:
        latest.setdefault(run.model_name, run)
    arms = [
        arm_from_run(latest[model], weight=share * 100, name=model) for model, share in DEFAULT_WEIGHTS.items() if model in latest
    ]
    if len(arms) >= 2:
        return arms
    if len(runs) >= 2:
        first, second = runs[0], runs[1]
        names = [first.model_name, second.model_name]
        if names[0] == names[1]:
            names = [f"{names[0]} (newest)", f"{names[1]} (previous)"]
        return [arm_from_run(first, weight=50.0, name=names[0]), arm_from_run(second, weight=50.0, name=names[1])]
    return [arm_from_run(runs[0], weight=50.0, name="A"), arm_from_run(runs[0], weight=50.0, name="B")]


def same_training_data(runs: Sequence[Run]) -> bool:
    """Whether all runs were trained on the same dataset (sha256) split with the same seed, so that
    one run's test split is test data for every arm (else it may be another arm's training data)."""
    return len({(run.dataset_sha256, run.config.get("seed")) for run in runs}) <= 1
