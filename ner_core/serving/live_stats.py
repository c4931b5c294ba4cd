"""What the API measures per served version while it runs: requests, failures and a window of
recent latencies, for /health and for the routing strategies' live latency.

Updated on the event loop only, so no lock; /health reads a consistent enough view.
"""

from __future__ import annotations

from collections import deque

import numpy as np

WINDOW = 2_000  # latencies kept per version: percentiles of recent traffic, not of all time
LIVE_LATENCY_MIN_SAMPLES = 20  # below this, strategies use the run's stored latency


class LiveStats:
    """One served version's counters and recent latencies (ms)."""

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        self.latencies_ms: deque[float] = deque(maxlen=WINDOW)

    def record(self, latency_ms: float | None, *, failed: bool) -> None:
        self.requests += 1
        if failed:
            self.failures += 1
        elif latency_ms is not None:
            self.latencies_ms.append(latency_ms)

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.fromiter(self.latencies_ms, dtype=float), q))

    def mean(self) -> float | None:
        return float(np.mean(self.latencies_ms)) if self.latencies_ms else None

    def live_p50(self) -> float | None:
        """The median of recent latencies once there are enough of them to trust, else None."""
        return self.percentile(50) if len(self.latencies_ms) >= LIVE_LATENCY_MIN_SAMPLES else None
