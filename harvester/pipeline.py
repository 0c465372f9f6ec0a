"""The run loop: selected models flow to worker threads; the main thread alone writes, in groups.

Three parts, separated the way scrapy separates scheduler, downloader and pipelines:

- the **feed** reads the selection (the Hub listing) in its own thread, a bounded queue ahead;
- the **pool** of daemon worker threads harvests and scores models (``Crawler._work``);
- the **run loop** (main thread) stores results, commits in groups, keeps the counters and decides
  how the run ends: ``complete``, ``partial`` (per-model failures), ``interrupted`` or ``failed``.

The main thread never blocks for more than a fraction of a second, so a stop request (a signal) is
seen at once, at any point. Stopping sets one event that every request, retry backoff and rate-limit
wait watches; queued work is cancelled, in-flight models get a moment to finish, what is complete
is committed and the run is marked ``interrupted``. Workers are daemon threads: a request still in
flight is abandoned, never waited for.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from huggingface_hub.errors import HfHubHTTPError

from harvester.crawl import Crawler, HarvestFailure
from harvester.fetch.guard import HostDown, Stopped
from harvester.selection import Selection, parse_since, select
from harvester.store.sqlite import Run

log = logging.getLogger("harvester.crawl")

EXIT_OK, EXIT_FATAL, EXIT_PARTIAL = 0, 1, 3
COPY_BATCH = 500
POLL_S = 0.05  # the longest the main thread waits before looking at the stop flag again
GRACE_S = 1.0  # how long a stopping run waits for models already in flight
_DONE = object()


class Progress(Protocol):
    def total(self, n: int) -> None: ...

    def update(self, done: int, requests: int, retries: int) -> None: ...


class RunFatal(Exception):
    """The run cannot go on (a host is down, the listing failed): one line, exit 1."""


@dataclass(frozen=True)
class Outcome:
    run_id: int
    status: str  # complete | partial | interrupted | failed
    error: str | None = None  # the fatal error of a failed run

    @property
    def code(self) -> int:
        return {"complete": EXIT_OK, "partial": EXIT_PARTIAL}.get(self.status, EXIT_FATAL)


class WorkerPool:
    """``n`` daemon threads taking work from one queue (a stopping run never joins them)."""

    def __init__(self, n: int, name: str = "harvest") -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = \
            queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(n)]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self._queue.put((fut, fn, args))
        return fut

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the main thread, which decides
                fut.set_exception(exc)
            else:
                fut.set_result(result)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


class Feed:
    """The selection, read in its own thread: a slow or failing listing never blocks the main thread."""

    def __init__(self, items: Iterator[Any], size: int, stop: threading.Event) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._stop = stop
        threading.Thread(target=self._read, args=(items,), name="listing", daemon=True).start()

    def _read(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # the listing's failure is the run loop's to report
            self._put(exc)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, timeout: float) -> Any:
        """The next item, ``_DONE``, the listing's exception, or None when nothing came in time."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


def crawl(crawler: Crawler, sel: Selection, params: dict[str, Any] | None = None, *,
          stop_requested: threading.Event | None = None, progress: Progress | None = None) -> Outcome:
    """Crawl a selection into a run (a new one, or the stopped run of the same crawl, resumed)."""
    store = crawler.store
    with store.crawl_lock():
        crawler.open()
        loop = _RunLoop(crawler, stop_requested or threading.Event(), progress)
        try:
            return loop.run(sel, params or {})
        finally:
            crawler.close(wait_s=0.5 if loop.stopped else 30.0)


class _RunLoop:
    def __init__(self, crawler: Crawler, stop_requested: threading.Event, progress: Progress | None) -> None:
        self.c = crawler
        self.store = crawler.store
        self.stop_requested = stop_requested
        self.progress = progress
        self.stopped = False
        self.pending: dict[Future[Any], str] = {}
        self.to_copy: list[tuple[str, int]] = []
        self.latest: dict[str, tuple[str | None, int]] = {}
        self.newest_seen = ""
        self.seen = 0  # models of the selection dealt with (stored, carried or failed)

    # -- the run --------------------------------------------------------------------------------
    def run(self, sel: Selection, params: dict[str, Any]) -> Outcome:
        all_params = {**sel.as_params(), **params}
        scope = sel.scope()
        previous = self.store.latest_run(("complete", "partial"), scope=scope)
        resumed = self.store.resumable_run(all_params)
        run_id = resumed if resumed is not None else self.store.begin_run(all_params, scope)
        done = self.store.harvested_ids(run_id) if resumed is not None else set()
        self.seen = len(done)  # a resumed run's progress starts where the stopped one ended
        watermark = self._watermark(sel, previous)
        self.latest = self.store.latest_shas()
        t0 = time.monotonic()
        status, error = "failed", None
        if self.progress is not None and sel.known_total() is not None:
            self.progress.total(sel.known_total() or 0)
        pool = WorkerPool(self.c.workers)
        try:
            with self.store.group_commit() as commit_tick:
                try:
                    self._loop(run_id, pool, sel, watermark, done, commit_tick)
                finally:
                    if self.to_copy:  # carried models are complete: keep them however the run ends
                        self.store.copy_models(run_id, self.to_copy)
                        self.to_copy.clear()
            if self.stopped:
                status = "interrupted"
            else:
                if watermark is not None and previous is not None:
                    self.store.carry_forward(run_id, previous.id)
                status = "partial" if self.store.failures(run_id) else "complete"
        except (RunFatal, HostDown) as exc:
            error = str(exc)
        finally:
            self.stopped = status not in ("complete", "partial")
            self.c.stop.set()
            pool.close()
            self._finish(run_id, status, error, t0, previous)
        return Outcome(run_id, status, error)

    def _loop(self, run_id: int, pool: WorkerPool, sel: Selection, watermark: Any, done: set[str],
              commit_tick: Callable[[], None]) -> None:
        feed = Feed(select(self.c.hub, sel, watermark, self._total), self.c.workers * 4, self.c.stop)
        listing_done = False
        while not self._should_stop():
            self._collect(run_id, commit_tick)
            if listing_done and not self.pending:
                return
            if listing_done or len(self.pending) >= self.c.workers * 2:
                wait(list(self.pending), timeout=POLL_S, return_when=FIRST_COMPLETED)
                continue
            item = feed.get(timeout=POLL_S if not self.pending else 0.005)
            if item is None:
                continue
            if item is _DONE:
                listing_done = True
                continue
            if isinstance(item, BaseException):
                self._stop_now()
                raise self._listing_error(item)
            model_id, info = item
            if model_id in done:
                continue
            done.add(model_id)
            if info is not None:
                self.newest_seen = max(self.newest_seen, str(info.get("lastModified") or ""),
                                       str(info.get("createdAt") or ""))
            self._dispatch(run_id, pool, model_id, info)
        self._wind_down(run_id)

    def _should_stop(self) -> bool:
        down = self.c.down()
        if down is not None:
            self._stop_now()
            raise down
        if self.stop_requested.is_set():
            self._stop_now()
            return True
        return False

    def _stop_now(self) -> None:
        self.stopped = True
        self.c.stop.set()  # no request starts from here on; backoffs and rate-limit waits end
        for fut in list(self.pending):
            if fut.cancel():  # not started yet
                del self.pending[fut]

    def _wind_down(self, run_id: int) -> None:
        """Models in flight when the run stopped: those that finish within the grace period are kept."""
        deadline = time.monotonic() + GRACE_S
        while self.pending and time.monotonic() < deadline:
            wait(list(self.pending), timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            for fut in [f for f in self.pending if f.done()]:
                model_id = self.pending.pop(fut)
                if fut.exception() is None:  # a model that failed while stopping is retried by the resumed run
                    self._store(run_id, model_id, fut)

    def _dispatch(self, run_id: int, pool: WorkerPool, model_id: str, info: dict[str, Any] | None) -> None:
        prior = self.latest.get(model_id)
        if info is not None and prior is not None and prior[0] and prior[0] == info.get("sha"):
            self.to_copy.append((model_id, prior[1]))  # unchanged since its last harvest: no request
            if len(self.to_copy) >= COPY_BATCH:
                self.store.copy_models(run_id, self.to_copy)
                self.to_copy.clear()
            self._tick()
            return
        self.pending[pool.submit(self.c._work, model_id, info)] = model_id

    def _collect(self, run_id: int, commit_tick: Callable[[], None]) -> None:
        """Store every finished model (the main thread is the only writer)."""
        for fut in [f for f in self.pending if f.done()]:
            model_id = self.pending.pop(fut)
            self._store(run_id, model_id, fut)
            commit_tick()

    def _store(self, run_id: int, model_id: str, fut: Future[Any]) -> None:
        try:
            h, facts, cells, review = fut.result()
            self.store.save_model(run_id, h, cells, review, facts, self.c.take_problems(model_id))
            log.info("harvested %s", model_id, extra={"event": "model_ok", "model": model_id})
            self._tick()
            return
        except (Stopped, HostDown):
            return  # not the model's failure: the run loop sees the stop or the outage itself
        except HarvestFailure as exc:
            reason, stage = exc.reason, exc.stage
        except (httpx.HTTPError, HfHubHTTPError, OSError, ValueError) as exc:
            reason, stage = f"{type(exc).__name__}: {exc}", "fetch"
        except Exception as exc:  # a crawl survives any single model's failure
            reason, stage = f"{type(exc).__name__}: {exc}", "internal"
            log.exception("internal error on %s", model_id)
        self.store.record_failure(run_id, model_id, stage, reason)
        log.warning("failed %s: %s", model_id, reason, extra={"event": "model_failed", "model": model_id,
                                                                "reason": reason})
        self._tick()

    def _tick(self) -> None:
        self.seen += 1
        if self.seen % 50 == 0:
            self.c._flush_cache()
        if self.progress is not None:
            self.progress.update(self.seen, self.c.requests.total(),
                                 self.c.counts["retries_hub"] + self.c.counts["retries_github"])

    def _total(self, n: int) -> None:
        if self.progress is not None:
            self.progress.total(n)

    def _listing_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, (HostDown, RunFatal)):
            return exc
        if isinstance(exc, Stopped):
            return RunFatal("the listing stopped")
        return RunFatal(f"{self.c.hub.endpoint}: the model listing failed, retries included: "
                        f"{type(exc).__name__}: {exc}")

    def _watermark(self, sel: Selection, previous: Run | None) -> Any:
        if sel.since is None:
            return None
        if sel.since == "last":
            mark = (previous.summary or {}).get("watermark") if previous is not None else None
            return parse_since(mark) if mark else None  # no earlier run: a full crawl
        return parse_since(sel.since)

    def _finish(self, run_id: int, status: str, error: str | None, t0: float, previous: Run | None) -> None:
        self.c._flush_cache()
        with self.c._lock:
            leftover = {m: r for m, r in self.c.problems.items() if r}  # cards read but not stored as a model
            self.c.problems.clear()
        if leftover:
            self.store.add_card_problems(run_id, leftover)
        summary = {
            **self.store.counts(run_id),
            "seconds": round(time.monotonic() - t0, 3), "requests": dict(self.c.requests), **dict(self.c.counts),
            "watermark": max(self.newest_seen, (previous.summary or {}).get("watermark", "") if previous else ""),
            "failures": self.store.failures(run_id), "card_problems": self.store.card_problems(run_id),
        }
        if error:
            summary["error"] = error
        self.store.finish_run(run_id, status, summary)
        log.info("run %s %s", run_id, status, extra={"event": "run_done", "run": run_id, "status": status,
                                                       "summary": {k: v for k, v in summary.items()
                                                                   if k not in ("failures", "card_problems")}})
