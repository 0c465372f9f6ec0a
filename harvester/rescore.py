"""Rescore a stored run from its evidence, without the network.

Facts read from a bundle are stored beside it, keyed by the reader's version: a rules change that
touches only licences or scoring reuses them; a change of the reading rules re-reads the stored
texts once and stores the new facts.

Scoring is pure and the store has one writer, so a large run is cut into ranges of model ids that
worker processes read (each with its own connection) and score into plain rows, while this process
writes them, a range per transaction, in model order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harvester.harvest import Harvest
from harvester.licenses.normalize import Normalizer
from harvester.parallel import default_workers, ordered_map, quiet_worker
from harvester.read import read_harvest, reader_key
from harvester.read.facts import Facts
from harvester.score.knowledge import Knowledge
from harvester.score.scorer import score
from harvester.store.sqlite import Store, scored_rows

PAGE = 250
PARALLEL_FROM = 1000
"""Runs smaller than this are rescored in-process: starting workers costs more than it saves."""

Rows = tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[str, Facts]]]


def rescore_run(store: Store, run_id: int, k: Knowledge, n: Normalizer,
                progress: Callable[[int], None] | None = None, workers: int | None = None) -> tuple[int, int]:
    """Recompute every model's cells in ``run_id``. Returns (models rescored, models re-read)."""
    workers = default_workers() if workers is None else workers
    ranges = store.model_ranges(run_id, PAGE)
    if workers > 1 and len(ranges) * PAGE >= PARALLEL_FROM:
        pages = ordered_map(_work, ranges, workers, _start, (store.path, run_id, k, n))
    else:
        pages = (_score_range(store, run_id, k, n, bounds) for bounds in ranges)
    count = reread = 0
    for model_ids, cells, review, facts in pages:
        store.replace_rows(run_id, model_ids, cells, review, facts)  # a page per transaction: bounded loss
        count, reread = count + len(model_ids), reread + len(facts)
        if progress is not None:
            progress(count)
    return count, reread


def _score_range(store: Store, run_id: int, k: Knowledge, n: Normalizer, bounds: tuple[str, str]) -> Rows:
    """Cells of the models in ``bounds`` as rows, and the facts re-read on the way (for the writer to store)."""
    reader = reader_key(k)
    scored, fresh = [], []
    for model_id, bundle, data in store.bundles(run_id, reader, PAGE, *bounds):
        if data is not None:
            facts = Facts.from_json(data)
        else:
            facts = read_harvest(Harvest.from_json(store.get_blob(bundle)), k)
            fresh.append((bundle, facts))
        scored.append((model_id, *score(facts, k, n)))
    return (*scored_rows(run_id, scored), fresh)


_WORKER: dict[str, Any] = {}


def _start(path: str, run_id: int, k: Knowledge, n: Normalizer) -> None:
    quiet_worker()
    _WORKER.update(store=Store(path, create=False), run_id=run_id, k=k, n=n)


def _work(bounds: tuple[str, str]) -> Rows:
    w = _WORKER
    return _score_range(w["store"], w["run_id"], w["k"], w["n"], bounds)
