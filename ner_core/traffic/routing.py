"""The router: picks an arm per request by weight or by rules over each arm's measured
latency and entity F1, skipping arms whose breaker is open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass
from ner_core.traffic.experiment import Arm, SimulationConfig, _known

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

    def __init__(self, config: SimulationConfig, *, rng: np.random.Generator | None = None, fallback_arm: str | None = None):
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
