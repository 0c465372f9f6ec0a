"""Client-side rate limits, one token bucket per server bucket (Hub API, Hub files, GitHub REST/GraphQL).

Spending the allowance evenly keeps a crawl at the limit instead of bouncing off it with 429s.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from harvester.fetch.guard import Stopped

# Documented limits (shared/reference/hub-api.md): Hub per 5-minute window, GitHub per hour.
ANONYMOUS = {"hub_api": 500 / 300, "hub_files": 3000 / 300, "github_rest": 60 / 3600, "github_graphql": 0.0}
WITH_TOKENS = {"hub_api": 1000 / 300, "hub_files": 5000 / 300, "github_rest": 5000 / 3600,
               "github_graphql": 5000 / 3600}


class RateLimiter:
    """``acquire(bucket)`` blocks until the bucket allows one more request; unknown buckets are free."""

    def __init__(self, rates: dict[str, float], burst_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rates = {k: v for k, v in rates.items() if v and v > 0}
        self.capacity = {k: max(1.0, v * burst_s) for k, v in self.rates.items()}
        self.tokens = dict(self.capacity)
        self.stamp = {k: clock() for k in self.rates}
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()

    def acquire(self, bucket: str, cancel: threading.Event | None = None) -> None:
        """``cancel`` ends the wait at once (a stopping crawl) with :class:`Stopped`."""
        rate = self.rates.get(bucket)
        if rate is None:
            return
        while True:
            with self.lock:
                now = self.clock()
                tokens = min(self.capacity[bucket], self.tokens[bucket] + (now - self.stamp[bucket]) * rate)
                self.stamp[bucket] = now
                if tokens >= 1:
                    self.tokens[bucket] = tokens - 1
                    return
                self.tokens[bucket] = tokens
                wait = (1 - tokens) / rate
            if cancel is None:
                self.sleep(wait)
            elif cancel.wait(wait):
                raise Stopped()


def parse_rates(values: list[str] | None, defaults: dict[str, float]) -> dict[str, float]:
    """``bucket=requests_per_second`` pairs over the defaults (``0`` switches a limit off)."""
    rates = dict(defaults)
    for item in values or []:
        name, _, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if name not in ANONYMOUS or not math.isfinite(rate) or rate < 0:
            raise ValueError(f"--rate {item!r}: expected one of {', '.join(ANONYMOUS)}=REQUESTS_PER_SECOND "
                             "(a number >= 0; 0 switches the limit off)")
        rates[name] = rate
    return rates
