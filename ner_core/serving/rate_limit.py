"""Per-client token buckets: each key may send ``rate_per_s`` requests a second on average and
``burst`` at once; a request over the limit gets 429 with the seconds until a token is back.

Buckets live in the server process (with ``--workers N`` each worker has its own, so a key's
effective limit is N times the setting). Used on the event loop only, so no lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ner_core.errors import RateLimitError

MAX_BUCKETS = 100_000  # clients remembered at most; the fullest (idle) buckets are dropped first


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: int, now: float):
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token; returns 0 when granted, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate_per_s


class RateLimiter:
    """One bucket per client name; a ``rate_per_s`` of 0 turns the limit off."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic, what: str = "key"):
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self.what = what
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, client: str) -> None:
        """Take a token for ``client`` or raise :class:`RateLimitError` with ``retry_after_s``."""
        if self.rate_per_s <= 0:
            return
        self._refuse(self._bucket(client).take(self.clock()))

    def check_not_exhausted(self, client: str) -> None:
        """Raise :class:`RateLimitError` while ``client`` has no token left, without taking one.

        With :meth:`charge`, a bucket counts only what should be limited: the key check peeks before
        the costly scrypt and charges only a failed attempt, so many first requests with a right key
        at once are never refused as if they were guesses. Guesses sent concurrently all pass the peek
        before the first is charged, but every one is charged (a bucket may go below zero), so the
        address then waits until its debt is paid back: over time it still gets ``rate_per_s`` guesses.
        """
        if self.rate_per_s <= 0:
            return
        bucket = self._bucket(client)
        now = self.clock()
        self._refuse(bucket.take(now))
        bucket.tokens += 1  # peeked: the token stays

    def charge(self, client: str) -> None:
        """Take a token for ``client`` whether or not one is left (the next request then waits)."""
        if self.rate_per_s <= 0:
            return
        bucket = self._bucket(client)
        if bucket.take(self.clock()) > 0:
            bucket.tokens -= 1

    def _bucket(self, client: str) -> TokenBucket:
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()  # every client starts with a full bucket again: errs on the generous side
            bucket = self._buckets[client] = TokenBucket(self.rate_per_s, self.burst, self.clock())
        return bucket

    def _refuse(self, wait_s: float) -> None:
        if wait_s > 0:
            raise RateLimitError(
                f"rate limit of {self.rate_per_s:g} requests/s (bursts of {self.burst}) per {self.what} exceeded; "
                f"retry after {math.ceil(wait_s)} s.",
                retry_after_s=wait_s,
            )
