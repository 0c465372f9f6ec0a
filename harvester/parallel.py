"""Pure work over a store's model ranges, spread over worker processes.

The store keeps one writer: workers only read (each with its own connection) and send back plain
results, which come back in the order the work went out, a bounded number in flight.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def quiet_worker() -> None:
    """A worker leaves signals to its parent: Ctrl-C reaches the whole process group, the parent stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int,
                initializer: Callable[..., None], initargs: tuple[Any, ...]) -> Iterator[R]:
    """``fn`` over ``items`` in worker processes, results in order. A worker that dies stops the caller with
    an error (``BrokenProcessPool``), never a wait without end."""
    # fork: workers inherit the loaded rules; only small work items go out
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=initializer,
                               initargs=initargs)
    try:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
