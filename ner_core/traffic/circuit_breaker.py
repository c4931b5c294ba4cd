"""A per-arm circuit breaker (closed -> open -> half-open) on a clock it is given.

The clock is a callable returning seconds: the REST API gives ``time.monotonic``, the A/B
simulator its simulated clock (:class:`SimulatedClock`), so both run the same breaker. A caller
may still pass ``now`` explicitly to any method (the breaker's own tests do).
"""

from __future__ import annotations

from collections.abc import Callable

from ner_core.errors import ConfigError

BREAKER_STATES = ("closed", "open", "half_open")
Clock = Callable[[], float]


class SimulatedClock:
    """A clock that stands still until told the time: the simulator sets it to each request's arrival."""

    def __init__(self, start_s: float = 0.0):
        self.now_s = float(start_s)

    def __call__(self) -> float:
        return self.now_s

    def set(self, now_s: float) -> None:
        self.now_s = float(now_s)


# --------------------------------------------------------------------------
# Circuit breaker
# --------------------------------------------------------------------------


class CircuitBreaker:
    """Classic three-state breaker on the time of ``clock``.

    ``closed``: requests pass; ``failure_threshold`` consecutive failures open it.
    ``open``: requests are refused until ``reset_s`` has passed since it opened,
    then it turns ``half_open`` and lets exactly one trial request through.
    The trial's success closes it; its failure opens it again for ``reset_s``.
    ``timeline`` lists ``(time_s, state)``, starting with the initial state.
    """

    def __init__(
        self, failure_threshold: int = 5, reset_s: float = 60.0, *, start_s: float | None = None, clock: Clock | None = None
    ):
        if failure_threshold < 1:
            raise ConfigError(f"breaker failure threshold must be >= 1, got {failure_threshold!r}.")
        if reset_s <= 0:
            raise ConfigError(f"breaker reset time must be > 0 s, got {reset_s!r}.")
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.clock: Clock = clock if clock is not None else SimulatedClock()
        start_s = self.clock() if start_s is None else start_s
        self.state = "closed"
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self._trial_in_flight = False
        self.timeline: list[tuple[float, str]] = [(float(start_s), "closed")]

    def _move(self, now: float, state: str) -> None:
        self.state = state
        self.timeline.append((float(now), state))

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    def allow(self, now: float | None = None) -> bool:
        now = self._now(now)
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

    def record_success(self, now: float | None = None) -> None:
        now = self._now(now)
        self.consecutive_failures = 0
        if self.state == "half_open":
            self._trial_in_flight = False
            self._move(now, "closed")

    def record_failure(self, now: float | None = None) -> None:
        now = self._now(now)
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
