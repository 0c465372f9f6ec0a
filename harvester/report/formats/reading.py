"""A run read as :class:`ModelRecord` objects and rendered, by one process or several.

Facts come from the store (those of the current reading rules when stored); a bundle whose facts
were read by other rules is re-read from its stored texts (pure, no network), never written back:
an export only reads. A large run is cut into ranges of model ids that worker processes render (each
with its own read-only connection); pieces come back in model order, a bounded number in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harvester.harvest import Harvest
from harvester.parallel import default_workers, ordered_map, quiet_worker
from harvester.read import read_harvest, reader_key
from harvester.read.facts import Facts
from harvester.report.formats.interface import Format, ModelRecord, Piece
from harvester.score.knowledge import Knowledge
from harvester.store.sqlite import Run, Store

RANGE = 250
PARALLEL_FROM = 2000
"""Runs smaller than this are rendered in-process: starting workers costs more than it saves."""


def records(store: Store, run_id: int, k: Knowledge, after: str = "", upto: str | None = None
            ) -> Iterator[ModelRecord]:
    """The scored models of ``run_id`` (ids after ``after``, up to ``upto``), in id order."""
    reader = reader_key(k)
    for page in store.model_pages(run_id, reader, after=after, upto=upto):
        for model_id, bundle, data, cells in page:
            if not cells:
                continue  # harvested, not scored (a crawl stopped between the two)
            facts = Facts.from_json(data) if data is not None else None
            if facts is None or facts.reader != reader:
                facts = read_harvest(Harvest.from_json(store.get_blob(bundle)), k)
            yield ModelRecord(model_id, cells, facts)


def curated_records(rules_dir: str | None = None) -> Iterator[ModelRecord]:
    """The models curated in rules/models (no Hub card), as records without facts."""
    from harvester.report.export import curated_rows

    for model_id, cells in sorted(curated_rows(rules_dir).items()):
        yield ModelRecord(model_id, cells, None)


_WORKER: dict[str, Any] = {}


def _start(path: str, fmt: Format, run: Run, k: Knowledge) -> None:
    quiet_worker()
    _WORKER.update(store=Store(path, create=False), fmt=fmt, run=run, k=k)
    fmt.begin(run)


def _render(bounds: tuple[str, str]) -> list[Piece]:
    w = _WORKER
    return [w["fmt"].render(rec) for rec in records(w["store"], w["run"].id, w["k"], *bounds)]


def pieces(store: Store, run: Run, fmt: Format, k: Knowledge, curated: bool = False,
           rules_dir: str | None = None, workers: int | None = None) -> Iterator[Piece]:
    """Every model of ``run`` rendered by ``fmt``, in model order. A worker that dies stops the export with
    an error (``BrokenProcessPool``), never a wait without end."""
    fmt.begin(run)
    workers = default_workers() if workers is None else workers
    ranges = store.model_ranges(run.id, RANGE) if workers > 1 else []
    if workers > 1 and len(ranges) * RANGE >= PARALLEL_FROM:
        for rendered in ordered_map(_render, ranges, workers, _start, (store.path, fmt, run, k)):
            yield from rendered
    else:
        for rec in records(store, run.id, k):
            yield fmt.render(rec)
    if curated:
        for rec in curated_records(rules_dir):
            yield fmt.render(rec)
