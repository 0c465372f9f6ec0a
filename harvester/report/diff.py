"""What changed between two runs: the nightly digest (models added/removed, cells, licenses)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from harvester.levels import COMPONENTS
from harvester.report.export import md_escape
from harvester.store.sqlite import Run, Store, StoreError


@dataclass
class CellChange:
    model_id: str
    component: str
    old_level: str
    new_level: str
    old_license: str | None
    new_license: str | None
    old_evidence: list[dict[str, Any]]
    new_evidence: list[dict[str, Any]]


@dataclass
class RunDiff:
    from_run: int
    to_run: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    level_changes: list[CellChange] = field(default_factory=list)
    license_changes: list[CellChange] = field(default_factory=list)  # license changed, level did not
    from_scope: str = "all"
    to_scope: str = "all"
    compared: int = 0  # models both runs hold, cell by cell
    not_compared: list[str] = field(default_factory=list)  # in the old run, failed in the new one
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.level_changes or self.license_changes)


def compute(store: Store, from_run: int | None = None, to_run: int | None = None) -> RunDiff:
    """``to``: the latest complete run unless given; ``from``: the complete run before it of the same scope.

    Runs of one scope cover the same selection, so a model in one and not the other was added or
    removed. Runs of different scopes (``--limit 1`` against a full crawl) are compared only on the
    models both cover, and the digest says so. A model that failed in the new run is not "removed".
    """
    frm, to = _pair(store, from_run, to_run)
    old, new = store.cells(frm.id), store.cells(to.id)
    d = RunDiff(frm.id, to.id, from_scope=frm.scope, to_scope=to.scope)
    if frm.scope == to.scope:
        failed = {f["model_id"] for f in store.failures(to.id)}
        d.added = sorted(set(new) - set(old))
        d.removed = sorted(set(old) - set(new) - failed)
        d.not_compared = sorted((set(old) - set(new)) & failed)
        if d.not_compared:
            d.notes.append(f"{len(d.not_compared)} models of run {frm.id} failed in run {to.id} and are not "
                           f"compared (`harvester runs show {to.id}`)")
    common = sorted(set(old) & set(new))
    d.compared = len(common)
    if frm.scope != to.scope:
        d.notes.append(f"runs {frm.id} ({frm.scope}) and {to.id} ({to.scope}) cover different selections: only the "
                       f"{len(common)} models both cover are compared; none is reported added or removed")
    for label, status in ((frm.label(), frm.status), (to.label(), to.status)):
        if status != "complete":
            d.notes.append(f"{label} is not a complete run")
    if to_run is None:
        newer = [r for r in store.newer_runs(to.id) if r.status != "complete" or r.scope != to.scope]
        if newer:
            d.notes.append("newer runs not compared: " + ", ".join(r.label() for r in newer)
                           + " (give --to N to compare one)")
    for m in common:
        for c in COMPONENTS:
            a, b = old[m].get(c), new[m].get(c)
            if a is None or b is None:
                continue
            change = CellChange(m, c, a["level"], b["level"], a["license"], b["license"], a["evidence"], b["evidence"])
            if a["level"] != b["level"]:
                d.level_changes.append(change)
            elif a["license"] != b["license"]:
                d.license_changes.append(change)
    return d


def _pair(store: Store, from_run: int | None, to_run: int | None) -> tuple[Run, Run]:
    """The runs to compare. By default the newest complete run that has an earlier complete run of its
    own scope, and that run: a one-off ``--limit 1`` crawl never becomes the night's digest."""
    if from_run is not None and to_run is not None:
        return store.run(from_run), store.run(to_run)
    if to_run is not None:
        to = store.run(to_run)
        frm = store.latest_run(("complete",), scope=to.scope, before=to.id)
        if frm is None:
            raise StoreError(f"{store.path}: {to.label()} has no earlier complete run of the same scope to compare "
                             "with; give --from N (see `harvester runs list`)")
        return frm, to
    if from_run is not None:
        frm = store.run(from_run)
        later = [r for r in store.runs() if r.id > frm.id and r.status == "complete" and r.scope == frm.scope]
        if not later:
            raise StoreError(f"{store.path}: no complete run of scope {frm.scope} after run {frm.id}; give --to N")
        return frm, later[-1]
    complete = [r for r in store.runs() if r.status == "complete"]
    for to in reversed(complete):
        earlier = [r for r in complete if r.id < to.id and r.scope == to.scope]
        if earlier:
            return earlier[-1], to
    store.report_run(None)  # says why when there is no complete run at all
    raise StoreError(f"{store.path}: no two complete runs of the same scope to compare yet; give --from N --to N "
                     "(see `harvester runs list`)")


def _evidence_line(ev: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e.get('raw')!s} ({e.get('rule')}, {e.get('source')})" for e in ev[:2]) or "none"


def to_text(d: RunDiff) -> str:
    lines = [f"harvester: changes from run {d.from_run} to run {d.to_run} ({_scopes(d)})",
             f"{len(d.added)} models added, {len(d.removed)} removed, {len(d.level_changes)} cells changed level, "
             f"{len(d.license_changes)} licenses changed at the same level ({d.compared} models compared).",
             *(f"Note: {n}." for n in d.notes), ""]
    if d.empty:
        lines.append("Nothing changed.")
    if d.added:
        lines += ["Models added:", *(f"  + {m}" for m in d.added), ""]
    if d.removed:
        lines += ["Models removed:", *(f"  - {m}" for m in d.removed), ""]
    for title, changes in (("Cells that changed level:", d.level_changes),
                           ("Licenses that changed (same level):", d.license_changes)):
        if not changes:
            continue
        lines.append(title)
        for ch in changes:
            lic = f"  [{ch.old_license or '-'} -> {ch.new_license or '-'}]" if ch.old_license != ch.new_license else ""
            lines.append(f"  {ch.model_id}  {ch.component}: {ch.old_level} -> {ch.new_level}{lic}")
            lines.append(f"      was: {_evidence_line(ch.old_evidence)}")
            lines.append(f"      now: {_evidence_line(ch.new_evidence)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _scopes(d: RunDiff) -> str:
    return f"scope {d.to_scope}" if d.from_scope == d.to_scope else f"scopes {d.from_scope} → {d.to_scope}"


def to_markdown(d: RunDiff) -> str:
    lines = [f"## Changes from run {d.from_run} to run {d.to_run}", "",
             f"{len(d.added)} added · {len(d.removed)} removed · {len(d.level_changes)} level changes · "
             f"{len(d.license_changes)} license changes · {d.compared} models compared ({md_escape(_scopes(d))})", "",
             *(f"> {md_escape(n)}.\n" for n in d.notes)]
    if d.added:
        lines += ["**Added:** " + ", ".join(md_escape(m) for m in d.added), ""]
    if d.removed:
        lines += ["**Removed:** " + ", ".join(md_escape(m) for m in d.removed), ""]
    changes = d.level_changes + d.license_changes
    if changes:
        lines += ["| model | component | level | license |", "|---|---|---|---|"]
        for ch in changes:
            lines.append(f"| {md_escape(ch.model_id)} | {ch.component} | {md_escape(ch.old_level)} → "
                         f"{md_escape(ch.new_level)} | {md_escape(ch.old_license or '-')} → "
                         f"{md_escape(ch.new_license or '-')} |")
    return "\n".join(lines) + "\n"


def to_json(d: RunDiff) -> str:
    return json.dumps(asdict(d), indent=1, ensure_ascii=False) + "\n"


def render(d: RunDiff, fmt: str) -> str:
    return {"text": to_text, "json": to_json, "md": to_markdown}[fmt](d)
