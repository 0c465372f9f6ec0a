"""The reader: a harvest's raw evidence → facts, once (``harvester.read.facts``). Pure.

``read_harvest`` reads the model's card, each base model's and dataset's card, and each linked
repository; the scorer then reads only these facts and the rules.
"""

from __future__ import annotations

from harvester.harvest import Harvest, RepoCard
from harvester.read.card import read_card
from harvester.read.facts import CardFacts, Facts
from harvester.read.repo import read_repo
from harvester.score.knowledge import Knowledge

READER_VERSION = "10"
"""Bump when reading changes: stored facts of another version are re-read from the stored texts."""


def reader_key(k: Knowledge) -> str:
    """Facts depend on the reader's code and on the reading rules (dataset, library, repository names)."""
    return f"{READER_VERSION}:{k.digest}"


def read_harvest(h: Harvest, k: Knowledge, cards: dict[str, CardFacts] | None = None) -> Facts:
    """``cards``: facts already read for some cards of this harvest (the crawler reads each card once)."""
    known = cards or {}

    def card(repo: RepoCard) -> CardFacts:
        cached = known.get(repo.url or repo.id)
        return cached if cached is not None else read_card(repo, k)

    return Facts(
        reader=reader_key(k),
        model=card(h.model),
        bases={b: card(r) for b, r in h.bases.items()},
        datasets={d: card(r) for d, r in h.datasets.items()},
        repos={name: read_repo(ev, k) for name, ev in h.repos.items()},
    )


__all__ = ["READER_VERSION", "read_card", "read_harvest", "read_repo", "reader_key"]
