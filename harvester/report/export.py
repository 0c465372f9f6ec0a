"""Exports of one run: CSV exactly as taxonomy.md §5, JSON with the full evidence."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from harvester.levels import COMPONENTS, UNKNOWN
from harvester.store.sqlite import Run, Store


def table(store: Store, run: Run) -> dict[str, dict[str, dict[str, Any]]]:
    return store.cells(run.id)


def to_csv(cells: dict[str, dict[str, dict[str, Any]]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model_id", *COMPONENTS])
    for model_id in sorted(cells):
        row = cells[model_id]
        writer.writerow([model_id, *(row.get(c, {}).get("level", UNKNOWN) for c in COMPONENTS)])
    return buf.getvalue()


def to_json(cells: dict[str, dict[str, dict[str, Any]]], run: Run) -> str:
    doc = {
        "run": {"id": run.id, "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status},
        "components": list(COMPONENTS),
        "models": [{"model_id": m, "cells": {c: cells[m][c] for c in COMPONENTS if c in cells[m]}}
                   for m in sorted(cells)],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


FORMATS = {"csv", "json"}


def render(store: Store, fmt: str, run_id: int | None = None) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(sorted(FORMATS))})")
    run = store.run(run_id) if run_id is not None else store.last_scored_run()
    cells = table(store, run)
    return to_csv(cells) if fmt == "csv" else to_json(cells, run)
