"""Whole-corpus figures for the ecosystem formats (``make formats-report``): every CycloneDX BOM validated
with the library's own validator, its licences checked against the weights cell, and the MOF class of
every corpus model written to ``docs/mof.md`` and ``docs/mof-classes.csv``.

Too slow for ``make test`` (the crawl, then a BOM per model); the tests do the same over a sample.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from harvester.corpus_report import POPULAR, corpus_ids, crawl

DOCS = Path(__file__).resolve().parents[1] / "docs"


def check_boms(folder: Path, cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Validate every BOM and compare its concluded licence with the weights cell."""
    from harvester.report.formats.cyclonedx import bom_license, validator
    from harvester.report.formats.interface import file_name

    validate = validator()
    invalid, disagree, missing = [], [], []
    for model_id in sorted(cells):
        path = folder / file_name(model_id, ".cdx.json")
        if not path.is_file():
            missing.append(model_id)
            continue
        text = path.read_text("utf-8")
        error = validate(text)
        if error:
            invalid.append({"model_id": model_id, "error": error[:300]})
        if bom_license(json.loads(text)) != cells[model_id]["weights"]["license"]:
            disagree.append(model_id)
    return {"boms": len(cells) - len(missing), "boms_valid": len(cells) - len(missing) - len(invalid),
            "invalid": invalid[:20], "licenses_agree_with_weights_cell": len(cells) - len(disagree) - len(missing),
            "licenses_disagree": disagree[:20], "missing": missing[:20]}


def write_docs(doc: dict[str, Any], docs: Path, scope: str) -> dict[str, Any]:
    """docs/mof.md (distribution, the models at Class I or II, components) and docs/mof-classes.csv."""
    from harvester.report.formats.mof import CLASS_NAMES
    from harvester.score.mof import CLASSES, default_spec

    spec = default_spec()
    models = doc["models"]
    dist = Counter(m["class"] or "none" for m in models)
    docs.mkdir(parents=True, exist_ok=True)
    with (docs / "mof-classes.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model_id", "class", "next_class", "missing_for_next", "not_open_for_next", "not_visible_for_next"])
        for m in models:
            nxt = m["next"] or {}
            w.writerow([m["model_id"], m["class"] or "none", nxt.get("class", ""), ";".join(nxt.get("missing", [])),
                        ";".join(nxt.get("not_open", [])), ";".join(nxt.get("not_visible", []))])
    top = {c: sorted(m["model_id"] for m in models if m["class"] == c) for c in ("I", "II")}
    comp: dict[str, Counter[str]] = {c.key: Counter() for c in spec.components}
    for m in models:
        for key, o in m["components"].items():
            comp[key][o["openness"] if o["status"] == "included" else o["status"]] += 1
    blockers = {kind: Counter(k for m in models if m["class"] is None for k in (m["next"] or {}).get(kind, []))
                for kind in ("missing", "not_open", "not_visible")}
    order = sorted({k for c in blockers.values() for k in c}, key=lambda k: -sum(c[k] for c in blockers.values()))
    audit = []
    for m in models:
        if m["class"] in ("I", "II"):
            tc = m["components"]["training_code"]
            ev = next(iter(tc["evidence"]), {})
            audit.append(f"| `{m['model_id']}` | {m['class']} | {tc['license']} ({tc['note']}) | "
                         f"{str(ev.get('raw', '')).replace('|', '/')[:120]} |")
    labels = ("open", "open (other type)", "not open", "missing", "not visible")
    lines = [
        "# The Model Openness Framework over the corpus",
        "",
        f"Computed by `make formats-report` from one crawl of {scope} ({len(models)} models), with no request "
        "beyond the crawl: each model's MOF components are read from the same stored facts and taxonomy cells "
        "(`harvester/score/mof.py`, `rules/mof.yaml`; the framework and the tool's licence lists are in "
        "`shared/reference/mof.md`). The class of every model: [`mof-classes.csv`](mof-classes.csv); the same "
        "with every component's licence and evidence: `harvester export --framework mof --format json`.",
        "",
        "## Classes",
        "",
        "| class | models | share |",
        "|---|---|---|",
        *(f"| {CLASS_NAMES[c if c != 'none' else None]} | {dist.get(c, 0)} | "
          f"{100 * dist.get(c, 0) / max(1, len(models)):.1f} % |" for c in (*CLASSES, "none")),
        "",
        f"Class II (Open Tooling): {', '.join(f'`{m}`' for m in top['II']) or 'none'}.",
        "",
        f"Class I (Open Science): {', '.join(f'`{m}`' for m in top['I']) or 'none'}.",
        "",
        "The MOF reads the taxonomy's cells: a Class II listing is as good as its training-code cell, shown here "
        "with the evidence it rests on (`harvester explain MODEL` has the rest).",
        "",
        "| model | class | training code | evidence |",
        "|---|---|---|---|",
        *audit,
        "",
        "No model can reach Class I on harvester's evidence alone unless its card says its intermediate "
        "checkpoints are published and links a repository that builds its data: branches, revisions and a "
        "training repository's tree are not read, so those components are *not visible*, never counted missing.",
        "",
        "## What keeps models from Class III",
        "",
        "Class III components missing, not open, or not visible among the models with no class:",
        "",
        "| component | missing | not open | not visible |",
        "|---|---|---|---|",
        *(f"| {spec.by_key(k).name} | {blockers['missing'][k]} | {blockers['not_open'][k]} | "
          f"{blockers['not_visible'][k]} |" for k in order),
        "",
        "## Components",
        "",
        "| component | class | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
        *(f"| {c.name}{'' if c.required else ' (optional)'} | {c.mof_class} | "
          + " | ".join(str(comp[c.key].get(lab, 0)) for lab in labels) + " |" for c in spec.components),
        "",
        "Reading the table: *open* is a licence on the tool's list for the component's content type; *open "
        "(other type)* a licence on another type's list (Apache-2.0 or MIT weights: the MOF counts them, with a "
        "warning); *not open* any other licence, a custom model licence (Llama, Gemma, OpenRAIL) or terms "
        "harvester could not identify. The tool's lists name no BSD, GPL or ODC licence, so those are not open "
        "for the MOF. A document with no licence of its own (the model card, a paper, reported results) takes "
        "the model's licence, as the tool's rule 2 says.",
        "",
    ]
    (docs / "mof.md").write_text("\n".join(lines), "utf-8")
    return {"classes": {c: dist.get(c, 0) for c in (*CLASSES, "none")}, "class_I": top["I"], "class_II": top["II"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harvester.formats_report", description=__doc__)
    p.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    p.add_argument("--db", help="a store that already holds the corpus crawl (default: crawl into a temporary one)")
    p.add_argument("--all", action="store_true", help="every identified corpus model, not only the most-liked")
    p.add_argument("--docs", default=str(DOCS), help="where mof.md and mof-classes.csv go ('' to skip)")
    args = p.parse_args(argv)
    from harvester.cli import main as cli
    from harvester.store.sqlite import Store

    corpus = Path(args.corpus)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "corpus.db"
        if not db.is_file():
            if not (corpus / "models" / "MANIFEST.tsv").is_file():
                print(f"formats-report: no corpus at {corpus}", file=sys.stderr)
                return 1
            crawl(corpus, corpus_ids(corpus, args.all), db)
        with Store(db, create=False) as store:
            run = store.last_scored_run()
            cells = store.cells(run.id)
        scope = ("every identified corpus model" if args.all else f"the corpus's most-liked Hub models ({POPULAR}…)")
        boms = Path(tmp) / "boms"
        if cli(["export", "--db", str(db), "--run", str(run.id), "--format", "cyclonedx", "--out", str(boms)]) != 0:
            return 1
        report: dict[str, Any] = {"models": len(cells), "run": run.id, **check_boms(boms, cells)}
        mof = Path(tmp) / "mof.json"
        if cli(["export", "--db", str(db), "--run", str(run.id), "--framework", "mof", "--format", "json",
                "--out", str(mof)]) != 0:
            return 1
        doc = json.loads(mof.read_text("utf-8"))
        report["mof"] = (write_docs(doc, Path(args.docs), scope) if args.docs else
                         {"classes": doc["classes"]})
    print(json.dumps(report, indent=1))
    return 0 if report["boms_valid"] == report["models"] == report["licenses_agree_with_weights_cell"] else 3


if __name__ == "__main__":
    sys.exit(main())
