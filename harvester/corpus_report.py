"""Whole-corpus figures (``make corpus-report``): crawl the shared corpus's most-liked Hub models
through a loopback fixture hub and report the share of each level per component.

Too slow for ``make test`` (a minute or two): the tests crawl a sample; this is the full picture.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from harvester.levels import COMPONENTS

POPULAR = "YinanWusoymilk/hf-readme@"
TARGETS = {"pretraining_code": 25, "pretraining_data": 35, "inference_code": 15, "weights": 15}
"""Issue #10's ceilings on the share of ``?`` over the most-liked models (per cent)."""


def popular_ids(corpus: Path) -> list[str]:
    rows = (corpus / "models" / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]
    return [r.split("\t")[0] for r in rows if r.split("\t")[1].startswith(POPULAR)]


def corpus_ids(corpus: Path, every: bool) -> list[str]:
    """The most-liked models, or with ``every`` each identified corpus model (``unidentified/`` cards have no id)."""
    if not every:
        return popular_ids(corpus)
    rows = (corpus / "models" / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]
    return [r.split("\t")[0] for r in rows if not r.startswith("unidentified/")]


def shares(rows: list[dict[str, str]]) -> dict[str, dict[str, float]]:
    out = {}
    for comp in COMPONENTS:
        counts = Counter(r[comp] for r in rows)
        out[comp] = {level: round(100 * n / len(rows), 1) for level, n in counts.most_common()}
    return out


def crawl(corpus: Path, ids: list[str], db: Path, workers: int = 8) -> list[dict[str, str]]:
    from harvester.cli import main

    models = db.with_suffix(".txt")
    models.write_text("\n".join(ids) + "\n")
    with contextlib.redirect_stdout(sys.stderr):  # the crawl's own lines are not part of the report
        code = main(["crawl", "--db", str(db), "--serve-fixtures", str(corpus), "--models", str(models),
                     "--workers", str(workers)])
        out = db.with_suffix(".csv")
        main(["export", "--db", str(db), "--format", "csv", "--out", str(out)])
    if code not in (0, 3):
        raise SystemExit(f"corpus crawl failed with exit code {code}")
    with out.open(newline="") as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harvester.corpus_report", description=__doc__)
    p.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    p.add_argument("--db", help="keep the crawl in this store (default: a temporary one)")
    p.add_argument("--all", action="store_true", help="every identified corpus model, not only the most-liked")
    args = p.parse_args(argv)
    corpus = Path(args.corpus)
    if not (corpus / "models" / "MANIFEST.tsv").is_file():
        print(f"corpus-report: no corpus at {corpus}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "corpus.db"
        rows = crawl(corpus, corpus_ids(corpus, args.all), db)
    share = shares(rows)
    unknown = {c: share[c].get("?", 0.0) for c in COMPONENTS}
    report = {"models": len(rows), "unknown_share": unknown,
              "targets": {c: {"unknown": unknown[c], "at_most": t, "met": unknown[c] <= t} for c, t in TARGETS.items()},
              "levels": share}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
