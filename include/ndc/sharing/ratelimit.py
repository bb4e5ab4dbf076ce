"""A token bucket per agency, in process.

Each agency's bucket holds up to ``burst`` requests and refills at ``rate`` per second. The
buckets live in the service's process: with several worker processes each has its own, so
the limit an agency sees is ``workers x rate``; a limit shared across processes or machines
(e.g. in Redis) is the step after this one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # agency -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, agency: str) -> float | None:
        """Take one token for the agency: None when allowed, else the seconds to wait."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(agency, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[agency] = (tokens - 1, now)
                return None
            self._buckets[agency] = (tokens, now)
            return (1 - tokens) / self.rate
