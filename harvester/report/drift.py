"""``harvester drift``: licence drift of every model of a run, read from the store.

A thin adapter: the model's side is its stored ``weights`` cell; a base's side is the base's own
``weights`` cell when the base is in the run, else its harvested card metadata, else the curated
facts of ``rules/lineage.yaml``; a dataset's side is its harvested card metadata. The comparison
itself is the pure :mod:`harvester.licenses.drift`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harvester.cards import as_list
from harvester.harvest import Harvest, RepoCard
from harvester.licenses.drift import Drift, Licensed, find_drift
from harvester.licenses.normalize import LicenseResult, Normalizer
from harvester.read import read_harvest
from harvester.report.export import md_escape
from harvester.score.knowledge import LINEAGE_FILE, KnownBase, default_knowledge, load_lineage
from harvester.store.sqlite import Store


def _from_result(id_: str, r: LicenseResult, evidence: str, kind: str = "model") -> Licensed:
    return Licensed(id_, r.spdx if r.known else None, dict(r.answers) if r.known and r.answers else None, r.points,
                    evidence, kind)


def _card_license(n: Normalizer, repo: RepoCard, kind: str) -> Licensed | None:
    """A Hub card's declared licence (``license``, or ``license_name``/``license_link`` for ``other``)."""
    values = as_list(repo.card_data.get("license")) or as_list(repo.card_data.get("licenses"))
    if not values:
        return None
    if [v.strip().lower() for v in values] == ["other"]:
        values = [v for v in (repo.card_data.get("license_name"), repo.card_data.get("license_link"))
                  if isinstance(v, str) and v.strip()]
        found = next((r for r in map(n.normalize, values) if r.known), None)
        if found is None:
            return None
        return _from_result(repo.id, found, f"{repo.url or repo.id}: card metadata {found.input!r}", kind)
    r = n.normalize_many(values)
    return _from_result(repo.id, r, f"{repo.url or repo.id}: card metadata {', '.join(values)!r}", kind)


def _cell_side(model_id: str, cell: dict[str, Any] | None) -> Licensed | None:
    if not cell or not cell.get("license") or not cell.get("answers"):
        return None
    ev = (cell.get("evidence") or [{}])[0]
    return Licensed(model_id, cell["license"], cell["answers"], cell.get("points"),
                    f"{ev.get('source', '')}: {ev.get('raw', '')!r} ({ev.get('rule', '')})")


def compute(store: Store, n: Normalizer, rules_dir: Path | None = None, run_id: int | None = None) -> list[Drift]:
    run = store.run(run_id) if run_id is not None else store.last_scored_run()
    cells = store.cells(run.id)
    known = load_lineage(rules_dir)
    out: list[Drift] = []
    for h in store.harvests(run.id):
        model = _cell_side(h.model_id, cells.get(h.model_id, {}).get("weights"))
        if model is None:
            continue
        facts = store.facts(run.id, h.model_id) or read_harvest(h, default_knowledge())  # a store from before facts
        lineage = [(b.relation, b.id) for b in facts.model.bases]
        out += find_drift(model, _bases(h, lineage, cells, n, known), _datasets(h, n))
    return out


def _bases(h: Harvest, lineage: list[tuple[str, str]], cells: dict[str, dict[str, Any]], n: Normalizer,
           known: list[KnownBase]) -> list[tuple[str, Licensed]]:
    """A base's side: its own weights cell in the run, else its harvested card, else rules/lineage.yaml.
    ``lineage`` is what the reader found: metadata, tags, prose or usage code."""
    out = []
    for relation, base_id in lineage:
        side = _cell_side(base_id, cells.get(base_id, {}).get("weights"))
        repo = h.bases.get(base_id)
        if side is None and repo is not None and repo.status == "ok":
            side = _card_license(n, repo, "model")
        if side is None or not side.known:
            fact = next((k for k in known if k.matches(base_id)), None)
            if fact is not None:
                side = _from_result(base_id, n.normalize(fact.license), f"{fact.source} (rules/{LINEAGE_FILE})")
        if side is not None:
            out.append((relation, side))
    return out


def _datasets(h: Harvest, n: Normalizer) -> list[Licensed]:
    out = []
    for name in as_list(h.model.card_data.get("datasets")):
        repo = h.datasets.get(name) or h.datasets.get(name.removeprefix("https://huggingface.co/datasets/"))
        if repo is not None and repo.status == "ok":
            side = _card_license(n, repo, "dataset")
            if side is not None:
                out.append(side)
    return out


def render(drifts: list[Drift], fmt: str) -> str:
    models = sorted({d.model.id for d in drifts})
    if fmt == "json":
        return json.dumps({"models_drifting": len(models), "conflicts": len(drifts),
                           "drift": [d.to_dict() for d in drifts]}, indent=1, ensure_ascii=False) + "\n"
    if fmt == "md":
        lines = [f"{len(models)} models drift from their sources ({len(drifts)} conflicts).", "",
                 "| model | licence | source | source licence | relation | grants what the source withholds |",
                 "|---|---|---|---|---|---|"]
        for d in drifts:
            lines.append("| " + " | ".join(md_escape(x) for x in (
                d.model.id, d.model.license or "", d.source.id, d.source.license or "", d.relation,
                ", ".join(d.kinds))) + " |")
        return "\n".join(lines) + "\n"
    lines = [f"{len(models)} models drift from their sources ({len(drifts)} conflicts)."]
    for d in drifts:
        lines.append(f"{d.model.id}: {', '.join(d.kinds)}")
        lines.append(f"    model   {d.model.license} ({d.model.points} points) from {d.model.evidence}")
        lines.append(f"    {d.relation:7} {d.source.id}: {d.source.license} ({d.source.points} points) "
                     f"from {d.source.evidence}")
    return "\n".join(lines) + "\n"


def marks(drifts: list[Drift]) -> dict[str, str]:
    """model id → one line per drift, for the HTML report."""
    out: dict[str, list[str]] = {}
    for d in drifts:
        out.setdefault(d.model.id, []).append(d.summary)
    return {m: "; ".join(v) for m, v in out.items()}
