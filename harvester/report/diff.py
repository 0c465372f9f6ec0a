"""What changed between two runs: the nightly digest (models added/removed, cells, licenses)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from harvester.levels import COMPONENTS
from harvester.report.export import md_escape
from harvester.store.sqlite import Store, StoreError


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

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.level_changes or self.license_changes)


def scored_runs(store: Store) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT DISTINCT run_id FROM cells ORDER BY run_id")]


def compute(store: Store, from_run: int | None = None, to_run: int | None = None) -> RunDiff:
    runs = scored_runs(store)
    if to_run is None:
        if not runs:
            raise StoreError(f"{store.path}: no scored runs to compare")
        to_run = runs[-1]
    if from_run is None:
        earlier = [r for r in runs if r < to_run]
        if not earlier:
            raise StoreError(f"{store.path}: run {to_run} has no earlier scored run to compare with")
        from_run = earlier[-1]
    old, new = store.cells(from_run), store.cells(to_run)
    d = RunDiff(from_run, to_run, sorted(set(new) - set(old)), sorted(set(old) - set(new)))
    for m in sorted(set(old) & set(new)):
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


def _evidence_line(ev: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e.get('raw')!s} ({e.get('rule')}, {e.get('source')})" for e in ev[:2]) or "none"


def to_text(d: RunDiff) -> str:
    lines = [f"harvester: changes from run {d.from_run} to run {d.to_run}",
             f"{len(d.added)} models added, {len(d.removed)} removed, {len(d.level_changes)} cells changed level, "
             f"{len(d.license_changes)} licenses changed at the same level.", ""]
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


def to_markdown(d: RunDiff) -> str:
    lines = [f"## Changes from run {d.from_run} to run {d.to_run}", "",
             f"{len(d.added)} added · {len(d.removed)} removed · {len(d.level_changes)} level changes · "
             f"{len(d.license_changes)} license changes", ""]
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
