"""One retry policy for every source: transient failures retried, ``Retry-After`` honoured."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_random_exponential

if TYPE_CHECKING:
    from harvester.fetch.guard import HostGuard

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_WAIT_S = 120.0


def response_of(exc: BaseException) -> httpx.Response | None:
    resp = getattr(exc, "response", None)
    return resp if isinstance(resp, httpx.Response) else None


class BadResponse(Exception):
    """A 200 whose body is not what the endpoint serves (an HTML error page, truncated JSON)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base: float = 0.5  # seconds; backoff is random-exponential from here
    cap: float = 30.0
    timeout: float = 30.0  # per request
    patience: float = 900.0  # seconds a rate-limited request keeps waiting as the server asks: a 429 is never fatal


def is_rate_limited(exc: BaseException | None) -> bool:
    resp = response_of(exc) if exc is not None else None
    if resp is None:
        return False
    return resp.status_code == 429 or (resp.status_code == 403 and resp.headers.get("x-ratelimit-remaining") == "0")


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (httpx.TransportError, BadResponse, json.JSONDecodeError)):
        return True
    resp = response_of(exc)
    if resp is None:
        return False
    if resp.status_code in TRANSIENT_STATUS:
        return True
    # GitHub signals an exhausted primary limit with 403 and remaining 0.
    return resp.status_code == 403 and resp.headers.get("x-ratelimit-remaining") == "0"


def server_wait(resp: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After``, the IETF ``RateLimit`` t=, or GitHub's reset."""
    ra = resp.headers.get("retry-after")
    if ra:
        try:
            return max(0.0, float(ra))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(ra) if ra else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now or time.time()))
    rl = resp.headers.get("ratelimit")
    if rl and ";t=" in rl and ";r=0" in rl.replace(" ", ""):
        try:
            return float(rl.split(";t=")[1].split(";")[0]) + 1
        except ValueError:
            pass
    if resp.headers.get("x-ratelimit-remaining") == "0" and resp.headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(resp.headers["x-ratelimit-reset"]) - (now or time.time()))
        except ValueError:
            pass
    return None


class _Wait:
    def __init__(self, base: float, cap: float) -> None:
        self.backoff = wait_random_exponential(multiplier=base, max=cap)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        resp = response_of(exc) if exc else None
        asked = server_wait(resp) if resp is not None else None
        if asked is not None:
            return min(asked, MAX_WAIT_S)
        return float(self.backoff(state))


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy | None = None,
                      sleep: Callable[[float], Any] | None = None,
                      on_retry: Callable[[BaseException], None] | None = None,
                      guard: HostGuard | None = None, what: str = "") -> T:
    """Run ``fn`` and retry transient failures with jittered exponential backoff (or as the server asks).

    With a ``guard``, no attempt starts once the crawl is stopping, backoffs end early, and each
    outcome tells the guard whether the host answered (``what`` names the request in its error).
    """
    p = policy or RetryPolicy()

    def before_sleep(state: RetryCallState) -> None:
        if on_retry and state.outcome is not None and state.outcome.exception() is not None:
            on_retry(state.outcome.exception())  # type: ignore[arg-type]

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if is_rate_limited(exc):
            return (state.seconds_since_start or 0.0) > p.patience  # waiting is what the server asked for
        return state.attempt_number >= p.attempts

    def attempt() -> T:
        if guard is None:
            return fn()
        guard.check()
        try:
            result = fn()
        except Exception as exc:
            guard.failed(exc, what)
            raise
        guard.ok()
        return result

    wait_for = guard.sleep if guard is not None else (sleep or (lambda s: _sleep(s)))
    retrying = Retrying(
        retry=retry_if_exception(is_transient), stop=stop,
        wait=_Wait(p.base, p.cap), sleep=wait_for, reraise=True, before_sleep=before_sleep,
    )
    return retrying(attempt)


def expect_json(resp: httpx.Response) -> Any:
    """The JSON body of an API answer; an HTML page or a cut body is a transient fault, not data."""
    ctype = resp.headers.get("content-type", "")
    if "html" in ctype:
        raise BadResponse(f"{resp.request.url.path}: HTML where JSON was expected (HTTP {resp.status_code})")
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadResponse(f"{resp.request.url.path}: body is not valid JSON ({exc})") from exc
