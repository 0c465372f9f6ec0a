"""Exports of one run: CSV exactly as taxonomy.md §5, JSON with the full evidence, Markdown, HTML."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from harvester.levels import COMPONENTS, UNKNOWN
from harvester.store.sqlite import Run, Store

Cells = dict[str, dict[str, dict[str, Any]]]


def to_csv(cells: Cells) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model_id", *COMPONENTS])
    for model_id in sorted(cells):
        row = cells[model_id]
        writer.writerow([model_id, *(row.get(c, {}).get("level", UNKNOWN) for c in COMPONENTS)])
    return buf.getvalue()


def to_json(cells: Cells, run: Run) -> str:
    doc = {
        "run": {"id": run.id, "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
                "scope": run.scope},
        "components": list(COMPONENTS),
        "models": [{"model_id": m, "cells": {c: cells[m][c] for c in COMPONENTS if c in cells[m]}}
                   for m in sorted(cells)],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def md_escape(text: str) -> str:
    """Text that renders literally in a GitHub Markdown table cell: no markup, no raw HTML, no pipes."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text)


def to_markdown(cells: Cells, run: Run) -> str:
    head = ["model", *(c.replace("_", " ") for c in COMPONENTS)]
    lines = [f"Openness taxonomy, run {run.id} ({run.status}, {run.finished_at or run.started_at}); "
             f"{len(cells)} models.", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in sorted(cells):
        levels = [md_escape(cells[m].get(c, {}).get("level", UNKNOWN)) for c in COMPONENTS]
        lines.append("| " + " | ".join([md_escape(m), *levels]) + " |")
    return "\n".join(lines) + "\n"


FORMATS = ("csv", "json", "md", "html")


def curated_rows(rules_dir: str | None = None) -> Cells:
    """Rows of the models curated in rules/models (no Hub card), in the store's cell shape."""
    from harvester.licenses.normalize import default_normalizer
    from harvester.score.curated import default_models, score_curated

    n = default_normalizer(rules_dir)
    out: Cells = {}
    for m in default_models(rules_dir):
        cells, _ = score_curated(m, n)
        out[m.model_id] = {c: {"level": cell.level, "license": cell.license, "points": cell.points,
                               "answers": cell.answers, "evidence": [e.to_dict() for e in cell.evidence]}
                           for c, cell in cells.items()}
    return out


def render(store: Store, fmt: str, run_id: int | None = None, curated: bool = False) -> str:
    """``curated``: add the models curated in rules/models, so the paper's whole table is one export."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    run = store.report_run(run_id)
    cells = store.cells(run.id)
    if curated:
        cells.update(curated_rows())
    if fmt == "csv":
        return to_csv(cells)
    if fmt == "json":
        return to_json(cells, run)
    if fmt == "md":
        return to_markdown(cells, run)
    from harvester.licenses.normalize import default_normalizer
    from harvester.report import drift, html, plot

    marks = drift.marks(drift.compute(store, default_normalizer(), None, run.id))
    return html.render(cells, run, plot.render(cells, "png", f"Openness levels per component, run {run.id}"), marks,
                       mof_classes(store, run, curated))


def mof_classes(store: Store, run: Run, curated: bool = False) -> dict[str, str | None]:
    """model id → MOF class, from the same stored facts and cells (the HTML report's MOF column)."""
    from harvester.licenses.normalize import default_normalizer
    from harvester.report.formats import Mof, pieces
    from harvester.score.knowledge import default_knowledge
    from harvester.score.mof import default_spec

    k, n = default_knowledge(), default_normalizer()
    return {p.model_id: p.summary for p in pieces(store, run, Mof(k, n, default_spec(), "md"), k, curated)}
