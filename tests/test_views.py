"""The store read with plain sqlite3, through its views: no harvester code on the reading side."""

from __future__ import annotations

import csv
import json
import sqlite3

from harvester.cli import main
from harvester.levels import COMPONENTS
from harvester.licenses.rules import ANSWER_KEYS
from harvester.store.views import VIEWS
from tests.conftest import FIXTURES


def test_each_view_reads_with_plain_sqlite3_and_agrees_with_the_exports(tmp_path):
    db = tmp_path / "h.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    assert main(["export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "t.csv")]) == 0
    assert main(["export", "--db", str(db), "--format", "json", "--out", str(tmp_path / "t.json")]) == 0
    with (tmp_path / "t.csv").open(newline="") as f:
        exported = {r["model_id"]: r for r in csv.DictReader(f)}
    cells = {m["model_id"]: m["cells"] for m in json.loads((tmp_path / "t.json").read_text())["models"]}

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # what a sqlite3 or datasette user has
    con.row_factory = sqlite3.Row
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert names == set(VIEWS) == {"taxonomy", "cells_evidence", "licenses", "review_queue", "run_summary"}

    rows = con.execute("SELECT * FROM taxonomy WHERE run_id = 1 ORDER BY model_id").fetchall()
    assert list(rows[0].keys()) == ["run_id", "model_id", *COMPONENTS]
    assert {r["model_id"]: {c: r[c] for c in COMPONENTS} for r in rows} == {
        m: {c: row[c] for c in COMPONENTS} for m, row in exported.items()}

    ev = con.execute("SELECT * FROM cells_evidence WHERE model_id = 'harvester-demo/tiny-base' AND "
                     "component = 'weights' ORDER BY evidence_index").fetchall()
    assert [dict(r)["raw"] for r in ev] == [e["raw"] for e in cells["harvester-demo/tiny-base"]["weights"]["evidence"]]
    assert ev[0]["level"] == "D5" and ev[0]["license"] == "Apache-2.0" and ev[0]["rule"]
    assert con.execute("SELECT COUNT(*) FROM cells_evidence").fetchone()[0] == sum(
        len(c["evidence"]) for m in cells.values() for c in m.values())

    lic = con.execute("SELECT * FROM licenses WHERE model_id = 'harvester-demo/tiny-chat' AND component = 'weights'"
                      ).fetchone()
    want = cells["harvester-demo/tiny-chat"]["weights"]
    assert (lic["license"], lic["points"]) == (want["license"], want["points"])
    assert {a: bool(lic[a]) for a in ANSWER_KEYS} == want["answers"]

    queue = {r["evidence_key"]: r for r in con.execute("SELECT * FROM review_queue WHERE run_id = 1")}
    custom = queue["raw:acme-weights-license-v3"]
    assert custom["models_affected"] == 1 and custom["model_ids"] == "acme/custom-license"

    run = con.execute("SELECT * FROM run_summary").fetchone()
    assert (run["run_id"], run["status"], run["scope"], run["models"], run["models_failed"]) == (1, "complete", "all",
                                                                                              9, 0)
    assert json.loads(run["summary_json"])["models_ok"] == 9
    con.close()
