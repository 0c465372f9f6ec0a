"""Which models a crawl covers: the selection, its scope (what runs can be compared), and the listing.

A run's *scope* names its selection (all, authors, a ``--models`` list by digest, search, filters,
limit); ``--since`` is not part of it, because a ``--since`` run carries the rest of the previous
run forward and so covers the same models. Runs of one scope are comparable model for model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harvester.fetch.hub import HubSource


@dataclass
class Selection:
    models: list[str] | None = None  # explicit ids (--models FILE)
    authors: list[str] = field(default_factory=list)
    search: str | None = None
    filters: list[str] = field(default_factory=list)
    limit: int | None = None
    since: str | None = None  # "last" or an ISO date: only models created or modified after it

    def models_digest(self) -> str | None:
        """The ``--models`` list by content: the same ids in any order are the same scope."""
        if self.models is None:
            return None
        return hashlib.sha256("\n".join(sorted(set(self.models))).encode()).hexdigest()[:12]

    def scope(self) -> str:
        """``all``, ``author=a,b``, ``models=<digest>/<n>``, ``search=…``, ``filter=…``, ``limit=N``."""
        parts: list[str] = []
        if self.models is not None:
            parts.append(f"models={self.models_digest()}/{len(set(self.models))}")
        if self.authors:
            parts.append("author=" + ",".join(sorted(set(self.authors))))
        if self.search:
            parts.append(f"search={self.search}")
        if self.filters:
            parts.append("filter=" + ",".join(sorted(set(self.filters))))
        if not parts:
            parts.append("all")
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        return " ".join(parts)

    def as_params(self) -> dict[str, Any]:
        return {"models": len(self.models) if self.models is not None else None, "models_digest": self.models_digest(),
                "authors": self.authors, "search": self.search, "filters": self.filters, "limit": self.limit,
                "since": self.since}

    def known_total(self) -> int | None:
        """How many models the selection holds, when that is known before listing."""
        if self.models is None:
            return None
        return min(len(self.models), self.limit) if self.limit else len(self.models)


def scope_of_params(params: dict[str, Any]) -> str:
    """The scope of a run stored before scopes were recorded (an old ``--models`` run's digest is unknown)."""
    sel = Selection(authors=list(params.get("authors") or []), search=params.get("search"),
                    filters=list(params.get("filters") or []), limit=params.get("limit"))
    parts = sel.scope().split(" ")
    if params.get("models") is not None:
        parts = [p for p in parts if p != "all"]
        parts.insert(0, f"models={params.get('models_digest') or 'unknown'}/{params['models']}")
    return " ".join(parts)


def read_model_list(lines: Iterable[str]) -> list[str]:
    """One model id per line; blank lines and ``#`` comments ignored; order kept, repeats dropped."""
    out: dict[str, None] = {}
    for line in lines:
        item = line.split("#", 1)[0].strip()
        if item:
            out.setdefault(item, None)
    return list(out)


def parse_since(value: str) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"--since {value!r}: expected 'last' or an ISO date such as 2026-11-01") from exc
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def when(value: Any) -> dt.datetime:
    if not value:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        return parse_since(str(value))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def select(hub: HubSource, sel: Selection, watermark: dt.datetime | None,
           on_total: Callable[[int], None] | None = None) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(model id, listing info or None) pairs; listing info saves one API call per model.

    With a watermark the listing is read newest-modified first and stops at the first model
    not modified since: an unchanged hub costs one listing page.
    """
    if sel.models is not None:
        yield from ((m, None) for m in (sel.models[: sel.limit] if sel.limit else sel.models))
        return
    authors: list[str | None] = list(sel.authors) or [None]
    totals: list[int] = []

    def count(n: int) -> None:  # the listing's size, when the server says it (one author at a time)
        totals.append(min(n, sel.limit) if sel.limit else n)
        if on_total is not None and watermark is None and len(totals) == len(authors):
            on_total(sum(totals))

    for author in authors:
        listing = hub.list_models(author=author, search=sel.search, filter=sel.filters or None,
                                  limit=sel.limit, sort="lastModified" if watermark else None, on_total=count)
        for info in listing:
            if watermark is not None:
                changed = max(when(info.get("lastModified")), when(info.get("createdAt")))
                if changed <= watermark:
                    break
            yield info["id"], info
