"""Per-key rate limits on task submissions: a token bucket per key, 429 with Retry-After.

Counted in each API process (one machine runs one API process; a shared limit
across machines belongs with the Redis queue).
"""

from __future__ import annotations

import threading
import time

from brushwork.errors import RateLimited


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None):
        self.rate = per_minute / 60.0
        self.capacity = float(burst or max(1, per_minute))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket, or raise RateLimited saying when to retry."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimited(
                    f"too many tasks for this API key: the limit is {self.rate * 60:g} a minute; "
                    f"retry in {wait:.1f} s",
                    retry_after=wait,
                )
            self._buckets[key] = (tokens - 1.0, now)
