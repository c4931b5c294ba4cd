"""The router: picks an arm per request by weight or by rules over each arm's measured
latency and entity F1, and sends the request to the fallback arm when the chosen arm's
breaker is open (:meth:`Router.route`). The A/B simulator and the REST API both use it, each
with its own clock (simulated time, ``time.monotonic``).

:func:`choose_by_strategy` is the API's per-request choice for the design's strategies
(``intelligent``, ``performance``, ``speed``, ``accuracy``) over measured facts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ner_core.traffic.circuit_breaker import CircuitBreaker, Clock, SimulatedClock
from ner_core.traffic.experiment import Arm, SimulationConfig, _known


@dataclass(frozen=True)
class RouteDecision:
    """Who the router picked, who serves (the fallback when the pick's breaker refused; None when
    nobody can), why, and the picked arm's breaker state when it was asked."""

    chosen: Arm
    served: Arm | None
    reason: str
    breaker_state: str


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

    def __init__(
        self,
        config: SimulationConfig,
        *,
        rng: np.random.Generator | None = None,
        fallback_arm: str | None = None,
        clock: Clock | None = None,
    ):
        self.config = config
        self.clock: Clock = clock if clock is not None else SimulatedClock()
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
            eligible = [
                a for a in eligible if a.expected_latency_ms is not None and a.expected_latency_ms <= config.max_latency_ms
            ]
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

    def route(self, breakers: Mapping[str, CircuitBreaker], chosen: Arm | None = None, reason: str = "") -> RouteDecision:
        """Choose an arm (or take ``chosen``) and ask its breaker at the router's clock; an open breaker
        sends the request to the fallback arm when that one's breaker lets it through."""
        if chosen is None:
            chosen, reason = self.choose()
        now = self.clock()
        breaker = breakers[chosen.name]
        allowed = breaker.allow(now)
        state = breaker.state
        if allowed:
            return RouteDecision(chosen, chosen, reason, state)
        words = state.replace("_", "-")
        fallback = self.fallback
        if fallback.name != chosen.name and fallback.name in breakers and breakers[fallback.name].allow(now):
            return RouteDecision(chosen, fallback, f"fallback: breaker {words} for {chosen.name}", state)
        return RouteDecision(chosen, None, f"rejected: breaker {words} for {chosen.name} and no fallback available", state)


def plan_table(config: SimulationConfig) -> pd.DataFrame:
    """One row per arm, before anything runs: its run and model, the share the router will aim
    for (:meth:`Router.planned_split`), its measured facts and its injected faults."""
    planned = Router(config).planned_split()
    return pd.DataFrame(
        [
            {
                "arm": arm.name,
                "run": arm.run_id,
                "model": arm.model_name,
                "planned share": planned[arm.name],
                "measured latency p50 (ms)": arm.latency_p50_ms,
                "measured entity F1": arm.entity_f1,
                "error probability": arm.error_probability,
                "added latency (ms)": arm.added_latency_ms,
            }
            for arm in config.arms
        ]
    )


# --------------------------------------------------------------------------
# The API's strategies
# --------------------------------------------------------------------------

STRATEGY_NAMES = ("intelligent", "performance", "speed", "accuracy")


@dataclass(frozen=True)
class Candidate:
    """One servable arm as a strategy sees it: measured latency (ms) and stored entity F1, None when unknown."""

    name: str
    latency_ms: float | None
    entity_f1: float | None
    latency_source: str = "stored"  # "live" once the server has measured enough requests
    available: bool = True  # False when its breaker refuses requests


@dataclass(frozen=True)
class StrategyDecision:
    selected: str
    reason: str
    sla_met: bool
    considered: tuple[Candidate, ...]


def _meets(candidate: Candidate, max_latency_ms: float | None, min_entity_f1: float | None) -> bool:
    if max_latency_ms is not None and not (_known(candidate.latency_ms) and candidate.latency_ms <= max_latency_ms):
        return False
    return min_entity_f1 is None or (_known(candidate.entity_f1) and candidate.entity_f1 >= min_entity_f1)


def _fastest(candidates: Sequence[Candidate]) -> Candidate:
    return min(candidates, key=lambda c: c.latency_ms if _known(c.latency_ms) else math.inf)


def _best(candidates: Sequence[Candidate]) -> Candidate:
    return max(candidates, key=lambda c: (c.entity_f1 if _known(c.entity_f1) else -1.0, -(c.latency_ms or math.inf)))


def _shortfall(candidate: Candidate, max_latency_ms: float | None, min_entity_f1: float | None) -> float:
    """How far a candidate misses the constraints, relative to each: 0 when it meets them."""
    miss = 0.0
    if max_latency_ms is not None:
        latency = candidate.latency_ms if _known(candidate.latency_ms) else math.inf
        miss += max(0.0, latency - max_latency_ms) / max_latency_ms
    if min_entity_f1 is not None:
        f1 = candidate.entity_f1 if _known(candidate.entity_f1) else 0.0
        miss += max(0.0, min_entity_f1 - f1) / max(min_entity_f1, 1e-9)
    return miss


def choose_by_strategy(
    candidates: Sequence[Candidate],
    strategy: str,
    *,
    max_latency_ms: float | None = None,
    min_entity_f1: float | None = None,
    primary: str | None = None,
    context: Mapping | None = None,
) -> StrategyDecision:
    """The design's routing rules, fed with measured latency and stored F1 (never constants).

    ``speed``: the fastest candidate meeting the constraints. ``accuracy`` and ``performance``: the
    best stored entity F1 meeting them (ties: the faster). ``intelligent``: the primary when it
    meets them, and always for ``user_type: premium`` or ``priority: high`` unless the latency
    budget rules it out; else the fastest meeting them when the primary is too slow, the best
    meeting them when it is not accurate enough. When nobody meets them: ``sla_met`` False and the
    closest candidate (speed: the fastest, accuracy/performance: the best, intelligent: the
    smallest relative shortfall). Candidates whose breaker is open are never selected.
    """
    if strategy not in STRATEGY_NAMES:
        raise ValueError(f"unknown strategy {strategy!r}")
    considered = tuple(candidates)
    open_ = [c for c in considered if c.available]
    if not open_:
        raise LookupError("no candidate is available")
    meeting = [c for c in open_ if _meets(c, max_latency_ms, min_entity_f1)]
    limits = []
    if max_latency_ms is not None:
        limits.append(f"latency <= {max_latency_ms:g} ms")
    if min_entity_f1 is not None:
        limits.append(f"entity F1 >= {min_entity_f1:g}")
    wanted = " and ".join(limits) or "no constraint"
    if strategy == "speed":
        pick = _fastest(meeting or open_)
        reason = f"fastest measured latency ({pick.latency_ms:.2f} ms)" if _known(pick.latency_ms) else "no latency measured"
    elif strategy in ("accuracy", "performance"):
        pick = _best(meeting or open_)
        reason = f"best stored entity F1 ({pick.entity_f1:.4f})" if _known(pick.entity_f1) else "no entity F1 stored"
    else:
        context = context or {}
        vip = context.get("user_type") == "premium" or context.get("priority") == "high"
        first = next((c for c in open_ if c.name == primary), None)
        latency_ok = first is not None and _meets(first, max_latency_ms, None)
        if first is not None and (first in meeting or (vip and latency_ok)):
            pick = first
            reason = "premium user or high priority: the primary model" if vip and first not in meeting else "the primary model"
        elif meeting:
            too_slow = first is not None and not latency_ok
            pick = _fastest(meeting) if too_slow else _best(meeting)
            reason = (
                "the primary is slower than the latency budget: fastest model within it"
                if too_slow
                else "the primary misses the accuracy floor: best model meeting it"
            )
        else:
            pick = min(open_, key=lambda c: _shortfall(c, max_latency_ms, min_entity_f1))
            reason = "closest to the constraints"
    met = _meets(pick, max_latency_ms, min_entity_f1)
    if not meeting:
        reason = f"no available model meets {wanted}; {reason}"
    elif met:
        reason = f"{reason}; meets {wanted}"
    else:
        reason = f"{reason}; does not meet {wanted}"
    return StrategyDecision(pick.name, reason, met, considered)
