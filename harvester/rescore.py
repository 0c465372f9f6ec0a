"""Rescore a stored run from its evidence, without the network.

Facts read from a bundle are stored beside it, keyed by the reader's version: a rules change that
touches only licences or scoring reuses them; a change of the reading rules re-reads the stored
texts once and stores the new facts.
"""

from __future__ import annotations

from collections.abc import Callable

from harvester.harvest import Harvest
from harvester.licenses.normalize import Normalizer
from harvester.read import read_harvest, reader_key
from harvester.read.facts import Facts
from harvester.score.cells import Cell, ReviewItem
from harvester.score.knowledge import Knowledge
from harvester.score.scorer import score
from harvester.store.sqlite import Store

PAGE = 500


def rescore_run(store: Store, run_id: int, k: Knowledge, n: Normalizer,
                progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Recompute every model's cells in ``run_id``. Returns (models rescored, models re-read)."""
    reader = reader_key(k)
    count = reread = 0
    scored: list[tuple[str, dict[str, Cell], list[ReviewItem]]] = []
    for model_id, bundle, data in store.bundles(run_id, reader, PAGE):
        if data is not None:
            facts = Facts.from_json(data)
        else:
            facts = read_harvest(Harvest.from_json(store.get_blob(bundle)), k)
            store.put_facts(bundle, facts)
            reread += 1
        cells, review = score(facts, k, n)
        scored.append((model_id, cells, review))
        count += 1
        if len(scored) >= PAGE:
            store.replace_many(run_id, scored)  # a page per transaction: bounded loss, few statements
            scored.clear()
            if progress is not None:
                progress(count)
    if scored:
        store.replace_many(run_id, scored)
    return count, reread
