"""The MOF class of every model of a run (``harvester export --framework mof``): CSV, JSON, Markdown, HTML.

The scoring is ``harvester.score.mof``; this module only lays the results out. JSON carries every
component's status, licence, openness, note and evidence; the tables carry one word per component.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from html import escape
from typing import TextIO

from harvester.licenses.normalize import Normalizer
from harvester.report.export import md_escape
from harvester.report.formats.interface import Format, ModelRecord, Piece
from harvester.score.knowledge import Knowledge
from harvester.score.mof import CLASSES, Result, Spec, score_mof
from harvester.store.sqlite import Run

TABLES = ("csv", "json", "md", "html")
CLASS_NAMES = {"I": "Class I (Open Science)", "II": "Class II (Open Tooling)", "III": "Class III (Open Model)",
               None: "no class"}
_COLOURS = {"open": "#1a9850", "open (other type)": "#91cf60", "not open": "#fc8d59", "missing": "#d73027",
            "not visible": "#d9d9d9"}
_CLASS_COLOURS = {"I": "#1a9850", "II": "#66bd63", "III": "#a6d96a", None: "#f0f0f0"}


def _next(r: Result) -> str:
    if r.next_class is None:
        return ""
    parts = [f"missing: {', '.join(r.missing)}" if r.missing else "",
             f"not open: {', '.join(r.not_open)}" if r.not_open else "",
             f"not visible: {', '.join(r.not_visible)}" if r.not_visible else ""]
    return f"Class {r.next_class} needs " + "; ".join(p for p in parts if p)


class Mof(Format):
    name = "mof"

    def __init__(self, k: Knowledge, n: Normalizer, spec: Spec, table: str = "csv") -> None:
        if table not in TABLES:
            raise ValueError(f"the MOF is exported as {', '.join(TABLES)}, not {table!r}")
        self.k, self.n, self.spec, self.table = k, n, spec, table

    def render(self, rec: ModelRecord) -> Piece:
        r = score_mof(self.spec, rec.model_id, rec.cells, rec.facts, self.k, self.n)
        if self.table == "json":
            text = json.dumps(r.to_dict(), ensure_ascii=False)
        elif self.table == "csv":
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(
                [r.model_id, r.mof_class or "none", r.next_class or "",
                 *(r.components[c.key].label() for c in self.spec.components),
                 ";".join(r.missing), ";".join(r.not_open), ";".join(r.not_visible)])
            text = buf.getvalue()
        elif self.table == "md":
            text = f"| {md_escape(r.model_id)} | {r.mof_class or '—'} | {md_escape(_next(r))} |\n"
        else:
            text = _html_row(self.spec, r)
        return Piece(r.model_id, text, summary=r.mof_class)

    def document(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        return {"csv": self._csv, "json": self._json, "md": self._md, "html": self._html}[self.table](run, pieces, fh)

    def _csv(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        csv.writer(fh, lineterminator="\n").writerow(
            ["model_id", "class", "next_class", *(c.key for c in self.spec.components), "missing_for_next",
             "not_open_for_next", "not_visible_for_next"])
        count = 0
        for p in pieces:
            fh.write(p.text)
            count += 1
        return count

    def _json(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        head = {"run": {"id": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
                        "status": run.status},
                "framework": {"name": "Model Openness Framework", "source": self.spec.source,
                              "components": [{"key": c.key, "name": c.name, "type": c.type, "class": c.mof_class,
                                              "required": c.required, "seen_from": c.seen_from}
                                             for c in self.spec.components]}}
        fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "models": [\n')
        dist: Counter[str] = Counter()
        for p in pieces:
            fh.write(("," if dist else "") + p.text + "\n")
            dist[p.summary or "none"] += 1
        fh.write('], "classes": ' + json.dumps({c: dist.get(c, 0) for c in (*CLASSES, "none")}) + "}\n")
        return sum(dist.values())

    @staticmethod
    def _table(pieces: Iterable[Piece], fh: TextIO, head: Callable[[Counter[str], TextIO], None]) -> int:
        """The rows go to a temporary file: the distribution of classes, known at the end, comes first."""
        dist: Counter[str] = Counter()
        with tempfile.TemporaryFile("w+", encoding="utf-8") as rows:
            for p in pieces:
                rows.write(p.text)
                dist[p.summary or "none"] += 1
            rows.seek(0)
            head(dist, fh)
            shutil.copyfileobj(rows, fh)
        return sum(dist.values())

    def _md(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        def head(dist: Counter[str], out: TextIO) -> None:
            out.write(f"Model Openness Framework classes, run {run.id} ({run.status}); {sum(dist.values())} models."
                      "\n\n| class | models |\n|---|---|\n")
            for c in (*CLASSES, None):
                out.write(f"| {CLASS_NAMES[c]} | {dist.get(c or 'none', 0)} |\n")
            out.write("\n| model | class | what the next class needs |\n|---|---|---|\n")

        return self._table(pieces, fh, head)

    def _html(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        comps = self.spec.components

        def head(dist: Counter[str], out: TextIO) -> None:
            out.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
                      "'unsafe-inline'\"><meta name=\"referrer\" content=\"no-referrer\">"
                      f"<title>Model Openness Framework, run {run.id}</title><style>"
                      "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
                      "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 5px}"
                      "th.c{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}"
                      "td.s{min-width:1.2em}</style></head><body>\n")
            out.write(f"<h1>Model Openness Framework</h1><p>Run {run.id} ({escape(run.status)}), "
                      f"{sum(dist.values())} models. Classes as the Model Openness Tool computes them, from "
                      "harvester's stored evidence; a component harvester cannot see is grey (not visible), never "
                      "counted missing. Hover a cell for its licence and why.</p>\n<table><tr>"
                      + "".join(f"<th>{escape(CLASS_NAMES[c])}</th>" for c in (*CLASSES, None)) + "</tr><tr>"
                      + "".join(f"<td>{dist.get(c or 'none', 0)}</td>" for c in (*CLASSES, None)) + "</tr></table>\n")
            out.write("<p>" + " ".join(f'<span style="background:{col};padding:0 .4em">{escape(k)}</span>'
                                       for k, col in _COLOURS.items()) + "</p>\n")
            out.write("<table><thead><tr><th>model</th><th>class</th>" + "".join(
                f'<th class="c" title="{escape(c.type)}, class {c.mof_class}">{escape(c.name)}</th>' for c in comps)
                + "<th>what the next class needs</th></tr></thead><tbody>\n")

        count = self._table(pieces, fh, head)
        fh.write("</tbody></table></body></html>\n")
        return count


def _html_row(spec: Spec, r: Result) -> str:
    cells = []
    for c in spec.components:
        o = r.components[c.key]
        lab, why = o.label(), "; ".join(x for x in (o.license or "", o.note) if x)
        cells.append(f'<td class="s" title="{escape(c.name)}: {escape(lab)}{" — " + escape(why) if why else ""}" '
                     f'style="background:{_COLOURS[lab]}"></td>')
    return (f'<tr><td>{escape(r.model_id)}</td><td style="background:{_CLASS_COLOURS[r.mof_class]}">'
            f"{escape(r.mof_class or '—')}</td>{''.join(cells)}<td>{escape(_next(r))}</td></tr>\n")
