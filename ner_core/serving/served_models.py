"""The set of models the API serves, swapped atomically when the registry changes.

A :class:`ServedSet` is an immutable snapshot: role -> :class:`ServedArm` (the registry version,
its loaded predictor and its batcher), the router over the serving roles, the fallback role. A
request takes the current snapshot once and finishes on it, so a promotion never changes the
model under a request in flight.

:class:`ServedModels` keeps the current snapshot. :meth:`ServedModels.refresh` (called by the
server's poll thread every ``registry_poll_s``, or directly) reads the registry's
:func:`~ner_core.serving.registry.serving_plan`; when it differs from the snapshot's, it loads the
new versions' predictors first (reusing those already loaded) and only then swaps the reference.
Predictors and batchers the new snapshot no longer uses are released after a grace period, once
requests still holding the old snapshot have finished.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ner_core.errors import NerError
from ner_core.serving import registry
from ner_core.serving.config import ServeConfig
from ner_core.serving.dynamic_batching import ArrivingRequests, DynamicBatcher, UnbatchedRunner
from ner_core.serving.predictor import Predictor
from ner_core.store.database import Store
from ner_core.store.tables import SERVING_ROLES
from ner_core.traffic.experiment import Arm, SimulationConfig
from ner_core.traffic.routing import Router

logger = logging.getLogger(__name__)
FALLBACK_ROLE = "speed"  # the design: an open breaker falls back to the speed arm
BatchHook = Callable[[str, int, int, float], None]  # (role, sentences, requests, seconds)


@dataclass(frozen=True)
class ServedArm:
    """One role's version: loaded (``predictor`` and ``runner`` set) or failed (``load_error`` says why)."""

    role: str
    info: registry.VersionInfo
    predictor: Predictor | None
    runner: DynamicBatcher | UnbatchedRunner | None
    arm: Arm
    load_error: str | None = None

    @property
    def loaded(self) -> bool:
        return self.predictor is not None


@dataclass(frozen=True)
class ServedSet:
    """An immutable snapshot of what is served; ``router`` is None when no serving role is loaded."""

    plan: registry.ServingPlan
    arms: Mapping[str, ServedArm]
    router: Router | None
    fallback_role: str | None
    built_at: float = field(default_factory=time.time)

    @property
    def fingerprint(self) -> tuple:
        return _fingerprint(self.plan)

    def loaded_roles(self) -> list[str]:
        return [role for role, arm in self.arms.items() if arm.loaded]


def _fingerprint(plan: registry.ServingPlan) -> tuple:
    return plan.defaults, tuple(sorted((role, info.run_id, info.version) for role, info in plan.roles.items()))


class ServedModels:
    """Loads what the registry says to serve and holds the current :class:`ServedSet`."""

    def __init__(
        self,
        store: Store,
        config: ServeConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_batch: BatchHook | None = None,
        arriving: ArrivingRequests | None = None,
        grace_s: float | None = None,
    ):
        self._store = store
        self._config = config
        self._clock = clock
        self._on_batch = on_batch
        self.arriving = arriving if arriving is not None else ArrivingRequests()
        self._grace_s = grace_s if grace_s is not None else config.model_timeout_ms / 1000 + 5
        self._predictors: dict[str, Predictor] = {}
        self._runners: dict[str, DynamicBatcher | UnbatchedRunner] = {}
        self._refresh_lock = threading.Lock()
        self._rng = np.random.default_rng()
        self.current: ServedSet = self._build(registry.ServingPlan({}, True, 0, "not loaded yet"))
        self.swaps = 0

    def refresh(self) -> bool:
        """Swap in a new snapshot when the registry's plan changed; True when it did."""
        with self._refresh_lock:
            plan = registry.serving_plan(self._store)
            if _fingerprint(plan) == self.current.fingerprint and self.swaps:
                if plan.generation != self.current.plan.generation:  # e.g. a registration: same models
                    self.current = ServedSet(plan, self.current.arms, self.current.router, self.current.fallback_role)
                return False
            previous = self.current
            self.current = self._build(plan)
            self.swaps += 1
            logger.info("serving %s", ", ".join(f"{r} = {a.info.label}" for r, a in self.current.arms.items()) or "nothing")
            self._release_unused(previous)
            return True

    def _load(self, info: registry.VersionInfo) -> Predictor:
        if info.run_id not in self._predictors:
            self._predictors[info.run_id] = Predictor.load(info.run_dir)
        return self._predictors[info.run_id]

    def _runner(self, role: str, info: registry.VersionInfo, predictor: Predictor):
        if info.run_id not in self._runners:
            hook = None
            if self._on_batch is not None:
                on_batch = self._on_batch

                def hook(sentences: int, requests: int, seconds: float, role: str = role) -> None:
                    on_batch(role, sentences, requests, seconds)

            if self._config.batching:
                self._runners[info.run_id] = DynamicBatcher(
                    predictor.tag_sentences,
                    max_wait_ms=self._config.batch_wait_ms,
                    max_batch_size=self._config.max_batch_size,
                    name=info.run_id,
                    on_batch=hook,
                    arriving=self.arriving,
                )
            else:
                self._runners[info.run_id] = UnbatchedRunner(predictor.tag_sentences, name=info.run_id, on_batch=hook)
        return self._runners[info.run_id]

    def _build(self, plan: registry.ServingPlan) -> ServedSet:
        weights = self._config.weights_by_role()
        arms: dict[str, ServedArm] = {}
        for role, info in plan.roles.items():
            metrics = info.metrics
            arm = Arm(
                name=role,
                run_id=info.run_id,
                weight=weights.get(role, 0.0),
                latency_p50_ms=_number(metrics.get("latency_p50_ms")),
                entity_f1=_number(metrics.get("entity_f1")),
                model_name=info.model_name,
            )
            try:
                predictor = self._load(info)
                arms[role] = ServedArm(role, info, predictor, self._runner(role, info, predictor), arm)
            except NerError as exc:
                logger.error("cannot serve %s (%s): %s", role, info.label, exc)
                arms[role] = ServedArm(role, info, None, None, arm, str(exc))
        serving = [arms[r].arm for r in SERVING_ROLES if r in arms and arms[r].loaded]
        router, fallback = None, None
        if serving:
            if sum(a.weight for a in serving) <= 0:  # only roles weighted 0 are loaded: share equally
                serving = [dataclasses.replace(a, weight=1.0) for a in serving]
            fallback = FALLBACK_ROLE if any(a.name == FALLBACK_ROLE for a in serving) else serving[0].name
            config = SimulationConfig(arms=serving, fallback_arm=fallback)
            router = Router(config, rng=self._rng, fallback_arm=fallback, clock=self._clock)
        return ServedSet(plan, arms, router, fallback)

    def _release_unused(self, previous: ServedSet) -> None:
        in_use = {arm.info.run_id for arm in self.current.arms.values()}
        stale = [arm.info.run_id for arm in previous.arms.values() if arm.info.run_id not in in_use]
        if not stale:
            return
        runners = [self._runners.pop(run_id) for run_id in stale if run_id in self._runners]
        for run_id in stale:
            self._predictors.pop(run_id, None)

        def release() -> None:
            time.sleep(self._grace_s)  # requests that took the old snapshot finish on these
            for runner in runners:
                runner.close()

        threading.Thread(target=release, name="ner-release-models", daemon=True).start()

    def close(self) -> None:
        for runner in list(self._runners.values()):
            runner.close()
        self._runners.clear()


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
