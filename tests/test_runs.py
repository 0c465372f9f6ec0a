"""Runs keep their status and scope; reports read complete runs; counters agree with the tables."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from harvester.cli import main
from harvester.fixture_hub.server import serve
from tests.conftest import FIXTURES


@pytest.fixture
def hub_root(tmp_path) -> Path:
    root = tmp_path / "hub"
    shutil.copytree(FIXTURES, root)
    return root


def _crawl(url: str, db: Path, *extra: str) -> int:
    return main(["crawl", "--db", str(db), "--hf-endpoint", url, "--github-endpoint", url, "-q", *extra])


def _out(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_scope_keeps_a_limit_run_out_of_the_nightly_digest(hub_root, tmp_path, capsys):
    db = tmp_path / "s.db"
    card = hub_root / "models" / "harvester-demo" / "tiny-base" / "README.md"
    with serve(hub_root) as hub:
        assert _crawl(hub.url, db) == 0
        card.write_text(card.read_text().replace("license: apache-2.0", "license: cc-by-nc-4.0"))
    with serve(hub_root) as hub:
        assert _crawl(hub.url, db) == 0
        assert _crawl(hub.url, db, "--limit", "1") == 0  # a one-off test crawl into the same store
    assert _rows(db, "SELECT id, status, scope FROM runs") == [(1, "complete", "all"), (2, "complete", "all"),
                                                               (3, "complete", "all limit=1")]
    digest = _out(capsys, ["diff", "--db", str(db)])
    assert digest.startswith("harvester: changes from run 1 to run 2 (scope all)\n0 models added, 0 removed, 1 cells "
                             "changed level")
    assert "Note: newer runs not compared: run 3 (complete, all limit=1)" in digest
    across = _out(capsys, ["diff", "--db", str(db), "--from", "2", "--to", "3", "--format", "json"])
    doc = json.loads(across)
    assert doc["removed"] == [] and doc["added"] == [] and doc["compared"] == 1
    assert "cover different selections: only the 1 models both cover are compared" in doc["notes"][0]
    listing = _out(capsys, ["runs", "list", "--db", str(db)])
    assert listing.splitlines()[0].split() == ["run", "started", "status", "scope", "harvested", "carried", "failed",
                                               "note"]
    assert listing.splitlines()[3].split()[2:] == ["complete", "all", "limit=1", "0", "1", "0"]  # carried


def test_rescore_writes_a_new_run_and_leaves_history_alone(hub_root, tmp_path, capsys):
    db = tmp_path / "r.db"
    with serve(hub_root) as hub:
        assert _crawl(hub.url, db) == 0
    cells_before = _rows(db, "SELECT * FROM cells WHERE run_id = 1 ORDER BY model_id, component")
    assert _out(capsys, ["rescore", "--db", str(db)]) == "rescored 9 models of run 1 into run 2 (complete)\n"
    assert _rows(db, "SELECT * FROM cells WHERE run_id = 1 ORDER BY model_id, component") == cells_before
    assert _rows(db, "SELECT id, status, scope, derived_from FROM runs") == [(1, "complete", "all", None),
                                                                             (2, "complete", "all", 1)]
    assert "rescore of run 1" in _out(capsys, ["runs", "list", "--db", str(db)]).splitlines()[2]
    assert _out(capsys, ["diff", "--db", str(db)]).startswith("harvester: changes from run 1 to run 2")
    shown = json.loads(_out(capsys, ["runs", "show", "2", "--db", str(db), "--format", "json"]))
    assert shown["summary"]["models_carried"] == 9 and shown["summary"]["rescored_from"] == 1
    with serve(hub_root) as hub:  # an unchanged model is carried with its re-scored cells
        assert _crawl(hub.url, db) == 0
    assert _rows(db, "SELECT COUNT(*) FROM harvests WHERE run_id = 3 AND carried_from = 1") == [(9,)]


def test_counters_agree_with_the_tables_across_failures_carries_and_resumes(hub_root, tmp_path, capsys):
    db = tmp_path / "c.db"
    models = tmp_path / "m.txt"
    models.write_text("harvester-demo/tiny-base\nacme/prose-only\nacme/missing-model\n")
    with serve(hub_root) as hub:
        assert _crawl(hub.url, db, "--models", str(models)) == 3
        assert _crawl(hub.url, db) == 0
    runs = {r["id"]: r for r in json.loads(_out(capsys, ["runs", "list", "--db", str(db), "--format", "json"]))}
    assert [runs[i]["status"] for i in (1, 2)] == ["partial", "complete"]
    for run_id, want in ((1, (2, 0, 1)), (2, (7, 2, 0))):
        s = runs[run_id]["summary"]
        assert (s["models_harvested"], s["models_carried"], s["models_failed"]) == want
        stored = _rows(db, f"SELECT COUNT(*) - COUNT(carried_from), COUNT(carried_from) FROM harvests "
                           f"WHERE run_id = {run_id}")[0]
        assert stored == want[:2] and s["models_ok"] == sum(stored)
        assert s["models_failed"] == _rows(db, f"SELECT COUNT(*) FROM failures WHERE run_id = {run_id}")[0][0]
    assert runs[1]["failures"][0]["model_id"] == "acme/missing-model"


def test_a_card_that_is_not_utf8_is_a_card_problem_of_every_run_that_holds_it(hub_root, tmp_path, capsys):
    db = tmp_path / "u.db"
    folder = hub_root / "models" / "acme" / "latin1"
    folder.mkdir()
    (folder / "README.md").write_bytes("---\nlicense: mit\n---\n# Modèle café, entraîné à Zürich\n".encode("latin-1"))
    with serve(hub_root) as hub:
        assert _crawl(hub.url, db) == 0
        assert _crawl(hub.url, db) == 0  # carried: no request, the card is not read again
    first = _out(capsys, ["runs", "show", "1", "--db", str(db)])
    assert "acme/latin1: README.md: not valid UTF-8 (first bad byte at offset 26): read with 6 replacement " \
           "characters" in first
    assert "acme/broken-front-matter: README.md: front matter is not valid YAML" in first
    second = _out(capsys, ["runs", "show", "2", "--db", str(db)])
    assert "acme/latin1 (card read by run 1, carried): README.md: not valid UTF-8" in second
    s1, s2 = (json.loads(_out(capsys, ["runs", "show", str(i), "--db", str(db), "--json"]))["summary"] for i in (1, 2))
    assert s1["cards_with_problems"] == s2["cards_with_problems"] == len(s2["card_problems"]) >= 5
    from harvester.store.sqlite import Store

    with Store(db, create=False) as store:
        assert "Mod\ufffdle caf\ufffd" in store.harvest(1, "acme/latin1").model.body  # read with replacement
