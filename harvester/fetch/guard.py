"""One guard per host: a stopping crawl starts no new request, and a host that is down is one fatal error.

Per-model failures stay per-model. But when every request to a host fails at the connection level
(refused, DNS, TLS) or with 5xx, across several different requests and for ``window_s`` seconds
with no good answer in between, the host is down: retrying each model for half a minute would
only turn one outage into thousands of model failures. The guard then raises :class:`HostDown`
in every worker, naming the endpoint and what was tried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from harvester.fetch.retry import response_of

HOST_STATUS = frozenset({500, 502, 503, 504})


class Stopped(Exception):
    """The crawl is stopping: no new request is started and waits end at once."""


class HostDown(Exception):
    """A whole host failed; ``endpoint`` and ``detail`` make the one-line fatal error."""

    def __init__(self, endpoint: str, detail: str) -> None:
        super().__init__(f"{endpoint}: {detail}")
        self.endpoint, self.detail = endpoint, detail


def host_failure(exc: BaseException) -> bool:
    """A failure that says the host, not one repository, is in trouble."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return True  # refused, DNS, TLS handshake, unreachable network
    resp = response_of(exc)
    return resp is not None and resp.status_code in HOST_STATUS


def _describe(exc: BaseException) -> str:
    resp = response_of(exc)
    if resp is not None:
        return f"HTTP {resp.status_code}"
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


class HostGuard:
    """Shared by every request to one endpoint (Hub API and files, or GitHub), from any thread."""

    def __init__(self, endpoint: str, stop: threading.Event | None = None, *, window_s: float = 10.0,
                 min_failures: int = 5, min_distinct: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self.stop = stop or threading.Event()
        self.window_s, self.min_failures, self.min_distinct = window_s, min_failures, min_distinct
        self.clock = clock
        self.down: HostDown | None = None
        self._wake = threading.Event()  # set when stopping or down: sleeping retries end at once
        self._lock = threading.Lock()
        self._answered = False
        # the failures since the last good answer: when the first came, how many, what they were
        self._since: float | None = None
        self._failures = 0
        self._tried: dict[str, None] = {}
        self._error = ""

    def check(self) -> None:
        """Before a request (and after a wait): raise if the crawl is stopping or the host is down."""
        if self.down is not None:
            raise self.down
        if self.stop.is_set():
            self._wake.set()
            raise Stopped()

    def sleep(self, seconds: float) -> None:
        """A retry's backoff that ends early when the crawl stops or the host is declared down (which a
        backoff can itself find out: the window may end while every worker is waiting)."""
        self.check()
        if seconds > 0:
            deadline = self.clock() + seconds
            while not self._wake.is_set() and not self.stop.is_set():
                left = deadline - self.clock()
                if left <= 0:
                    break
                self._wake.wait(min(left, 0.2))  # the stop event is another object: look at it often
                with self._lock:
                    self._trip_if_due()
        self.check()

    def ok(self) -> None:
        """The host answered (any status below 500 counts: a 404 is an answer)."""
        with self._lock:
            self._answered = True
            self._since, self._failures, self._tried = None, 0, {}

    def failed(self, exc: BaseException, what: str) -> None:
        """Record a failed attempt; raise :class:`HostDown` once the failures say the host is down."""
        if isinstance(exc, (Stopped, HostDown)):
            return
        if not host_failure(exc):
            if response_of(exc) is not None and response_of(exc).status_code != 429:  # type: ignore[union-attr]
                self.ok()  # a 4xx is an answer; a 429 says nothing about health
            return
        with self._lock:
            if self._since is None:
                self._since = self.clock()
            self._failures += 1
            if len(self._tried) < 50:
                self._tried.setdefault(what, None)
            self._error = _describe(exc)
            self._trip_if_due()
        if self.down is not None:
            raise self.down from exc

    def _trip_if_due(self) -> None:
        """Down: failures only, for the whole window, from several requests (or from a host that never
        answered). Called with the lock held."""
        if self.down is not None or self._since is None or self._failures < self.min_failures:
            return
        span = self.clock() - self._since
        if span < self.window_s or (len(self._tried) < self.min_distinct and self._answered):
            return
        tried = sorted(self._tried)
        more = f" and {len(tried) - 3} more" if len(tried) > 3 else ""
        self.down = HostDown(self.endpoint, f"host down ({self._error}): all {self._failures} attempts of the last "
                                            f"{span:.0f} s failed, retries included; tried "
                                            f"{', '.join(tried[:3])}{more}")
        self._wake.set()
