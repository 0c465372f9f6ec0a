"""The whole pipeline through the CLI: fixture hub → crawl → store → score → export."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

from harvester.cli import main
from harvester.levels import COMPONENTS, is_valid
from tests.conftest import FIXTURES, corpus_sample


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_crawl_fixtures_and_export(tmp_path, capsys):
    db = tmp_path / "h.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    assert "run 1 complete: 9 models stored (9 harvested, 0 carried), 0 failed" in capsys.readouterr().out
    out = tmp_path / "t.csv"
    assert main(["export", "--db", str(db), "--format", "csv", "--out", str(out)]) == 0
    rows = _rows(out)
    assert list(rows[0]) == ["model_id", *COMPONENTS]
    by_id = {r["model_id"]: r for r in rows}
    assert len(by_id) == 9
    for r in rows:
        assert all(is_valid(c, r[c]) for c in COMPONENTS), r
    base = by_id["harvester-demo/tiny-base"]
    assert base["weights"] == "D5" and base["pretraining_data"] == "D4"  # Apache-2.0; ODC-By data
    assert base["pretraining_code"] == "C5" and base["finetuning_code"] == "N/A"
    assert base["utility_benchmark_data"] == "D4"  # model-index → demo-bench (CC-BY-SA-4.0)
    chat = by_id["harvester-demo/tiny-chat"]
    assert chat["weights"] == "D3" and chat["sft_data"] == "D5"  # llama2 via license_name; CC-BY data
    assert chat["pretraining_data"] == "D4"  # inherited from tiny-base
    gguf = by_id["harvester-demo/tiny-chat-GGUF"]
    assert gguf["sft_data"] == chat["sft_data"] and gguf["pretraining_code"] == "C5"
    assert by_id["acme/custom-license"]["weights"] == "?"
    assert by_id["acme/linked-license"]["weights"] == "D5"  # its LICENSE file is an MIT text
    assert by_id["acme/prose-only"]["weights"] == "D5"  # "released under the MIT License", prose only

    js = tmp_path / "t.json"
    assert main(["export", "--db", str(db), "--format", "json", "--out", str(js)]) == 0
    doc = json.loads(js.read_text())
    cell = next(m for m in doc["models"] if m["model_id"] == "harvester-demo/tiny-base")["cells"]["weights"]
    assert cell["license"] == "Apache-2.0" and cell["points"] == 5 and cell["answers"]["commercial"] is True
    assert cell["evidence"][0]["raw"] == "apache-2.0"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        review = con.execute("SELECT evidence_key FROM review").fetchall()
    assert ("raw:acme-weights-license-v3",) in review


def test_rescore_reproduces_cells_without_network(tmp_path, capsys):
    db = tmp_path / "h.db"
    main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)])
    before = (tmp_path / "a.csv")
    main(["export", "--db", str(db), "--out", str(before)])
    assert main(["rescore", "--db", str(db)]) == 0
    after = tmp_path / "b.csv"
    main(["export", "--db", str(db), "--out", str(after)])
    assert before.read_text() == after.read_text()
    capsys.readouterr()
    assert main(["explain", "harvester-demo/tiny-chat", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "weights" in text and "license_name for license: other" in text


def test_rescore_in_worker_processes_writes_what_one_process_writes(tmp_path, monkeypatch):
    """Workers score ranges and re-read bundles whose facts are stale; the one writer stores both."""
    from harvester import rescore
    from harvester.licenses.normalize import Normalizer
    from harvester.licenses.rules import load_rules
    from harvester.score.knowledge import load_knowledge
    from harvester.store.sqlite import Store

    db = tmp_path / "w.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    monkeypatch.setattr(rescore, "PAGE", 2)  # five ranges of the nine models, none too small to fork for
    monkeypatch.setattr(rescore, "PARALLEL_FROM", 0)
    k, n = load_knowledge(), Normalizer(load_rules())
    query = "SELECT model_id, component, level, license, points, answers, evidence FROM cells WHERE run_id = ? " \
            "ORDER BY model_id, component"
    with Store(db) as store:
        run = store.report_run()
        store.db.execute("DELETE FROM facts")  # new reading rules: every bundle is re-read
        one = store.derive_run(run, {})
        assert rescore.rescore_run(store, one, k, n, workers=1) == (9, 9)
        store.db.execute("DELETE FROM facts")
        two = store.derive_run(run, {})
        assert rescore.rescore_run(store, two, k, n, workers=2) == (9, 9)
        assert store.db.execute("SELECT COUNT(*) FROM facts").fetchone()[0] == 9
        cells = [store.db.execute(query, (r,)).fetchall() for r in (run.id, one, two)]
    assert len(cells[0]) == 9 * len(COMPONENTS) and cells[0] == cells[1] == cells[2]


def test_crawl_of_a_corpus_sample(corpus, tmp_path):
    """Every hand-picked model of ../shared/corpus and a sample of the most-liked: one row each, every
    cell a valid level. The whole corpus is crawled by `make corpus-report`, not here."""
    ids = corpus_sample(corpus)
    models = tmp_path / "models.txt"
    models.write_text("\n".join(ids) + "\n")
    db = tmp_path / "c.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(corpus), "--models", str(models)]) == 0
    out = tmp_path / "c.csv"
    main(["export", "--db", str(db), "--out", str(out)])
    rows = _rows(out)
    assert sorted(r["model_id"] for r in rows) == sorted(ids)
    assert len(rows) == len(ids) > 200
    for r in rows:
        assert all(is_valid(c, r[c]) for c in COMPONENTS), r
    by_id = {r["model_id"]: r for r in rows}
    expected = {
        ("google-t5/t5-small", "weights"): "D5",  # no front matter; "Apache 2.0" in the prose
        ("tiiuae/falcon-40b", "weights"): "D3",  # early card: TII Falcon LLM License, prose only
        ("tiiuae/falcon-7b", "weights"): "D5",  # after its switch to Apache-2.0
        ("microsoft/phi-2", "weights"): "D3",  # license_name microsoft-research-license (before MIT)
        ("deepseek-ai/deepseek-llm-7b-chat", "weights"): "D4",  # license_name deepseek
        ("meta-llama/Llama-2-7b-chat-hf", "weights"): None,  # not in the corpus: skipped below
        ("TheBloke/Llama-2-7B-Chat-GPTQ", "weights"): "D3",  # llama2
        ("bigscience/bloom-3b", "weights"): "D4",  # BigScience RAIL 1.0
        ("EleutherAI/pythia-14m", "inference_code"): "C5",  # its own org's repository, Apache-2.0 text
        ("EleutherAI/pythia-14m", "finetuning_code"): "N/A",  # a base model
        ("facebook/opt-66b", "weights"): "?",  # license: other with nothing else: flagged, not guessed
        ("stabilityai/stablelm-base-alpha-3b", "weights"): "D4",  # "License: … Creative Commons license (CC BY-SA-4.0)"
        ("EleutherAI/gpt-neox-20b", "pretraining_code"): "C5",  # "trained … using the [GPT-NeoX library](github)"
        ("tiiuae/falcon-7b", "pretraining_code"): "C1",  # trained with a custom codebase (Gigatron)
        ("tiiuae/falcon-7b", "pretraining_data"): "D5",  # RefinedWeb, as the paper scores it
        ("mistralai/Mistral-7B-v0.1", "pretraining_data"): "D1",  # nothing named, nothing released
        ("mistralai/Mistral-7B-v0.1", "inference_code"): "C5",  # "a stable version of Transformers"
        ("TheBloke/Llama-2-7B-Chat-GPTQ", "pretraining_code"): "C1",  # embedded original card: no training code
        ("TheBloke/Llama-2-7B-Chat-GPTQ", "inference_code"): "C3",  # "our reference code": Llama 2 licence
    }
    for (model, comp), level in expected.items():
        if level is not None:
            assert by_id[model][comp] == level, (model, comp, by_id[model][comp])


def test_failed_model_is_recorded_and_run_goes_on(tmp_path, capsys):
    db = tmp_path / "h.db"
    models = tmp_path / "m.txt"
    models.write_text("harvester-demo/tiny-base\nacme/missing-model\n../../etc/passwd\n")
    code = main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES), "--models", str(models)])
    assert code == 3
    capsys.readouterr()
    assert main(["runs", "show", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    reasons = {f["model_id"]: f["reason"] for f in doc["failures"]}
    assert set(reasons) == {"acme/missing-model", "../../etc/passwd"}
    assert "not found" in reasons["acme/missing-model"]
    assert "not a valid Hub repo id" in reasons["../../etc/passwd"]
    assert doc["summary"]["models_ok"] == 1


def test_bad_store_paths_are_clear_errors(tmp_path, capsys):
    assert main(["export", "--db", str(tmp_path / "missing.db")]) == 1
    assert "no such store" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()  # reading never creates a store
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    assert main(["runs", "list", "--db", str(junk)]) == 1
    assert "cannot open the store" in capsys.readouterr().err
