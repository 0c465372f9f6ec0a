"""CycloneDX 1.6 AI BOMs: built by cyclonedx-python-lib, valid by its own validator, true to the cells."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from cyclonedx.model.component import Component

from harvester.cli import main
from harvester.levels import COMPONENTS
from harvester.report.formats.cyclonedx import bom_license, validator
from harvester.store.sqlite import Store
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cdx")
    db = tmp / "h.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    assert main(["export", "--db", str(db), "--format", "cyclonedx", "--out", str(tmp / "boms")]) == 0
    return db, tmp / "boms"


def _bom(folder: Path, model_id: str) -> dict:
    return json.loads((folder / f"{model_id}.cdx.json").read_text())


def _props(comp: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in comp.get("properties", [])}


def test_one_valid_bom_per_model_with_cells_licences_lineage_and_model_card(demo):
    db, folder = demo
    files = sorted(folder.rglob("*.cdx.json"))
    assert len(files) == 9
    validate = validator()
    for f in files:
        assert validate(f.read_text()) is None, f
    with Store(db) as store:
        cells = store.cells(store.last_scored_run().id)
    base = _bom(folder, "harvester-demo/tiny-base")
    model = base["metadata"]["component"]
    assert model["type"] == "machine-learning-model" and model["purl"].startswith("pkg:huggingface/harvester-demo/")
    assert model["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "concluded",
                                              "url": "https://www.apache.org/licenses/LICENSE-2.0"}}]
    props = _props(model)
    assert {f"harvester:taxonomy:{c}" for c in COMPONENTS} <= set(props)
    assert all(props[f"harvester:taxonomy:{c}"] == cells["harvester-demo/tiny-base"][c]["level"] for c in COMPONENTS)
    assert props["harvester:mof:class"] in ("I", "II", "III", "none")
    refs = {r["type"]: r["url"] for r in model["externalReferences"]}
    assert refs["website"].endswith(f"/harvester-demo/tiny-base/tree/{model['version']}")
    # datasets: data components with their own licences, referred to by the model card
    data = {c["bom-ref"]: c for c in base["components"]}
    card_refs = [d["ref"] for d in model["modelCard"]["modelParameters"]["datasets"]]
    assert card_refs and set(card_refs) <= set(data) and all(data[r]["type"] == "data" for r in card_refs)
    assert any(d.get("licenses") for d in data.values())
    # the base-model chain: the GGUF's base is tiny-chat, whose base is tiny-base
    gguf = _bom(folder, "harvester-demo/tiny-chat-GGUF")["metadata"]["component"]
    parent = gguf["pedigree"]["ancestors"][0]
    assert (parent["group"], parent["name"]) == ("harvester-demo", "tiny-chat")
    assert parent["pedigree"]["ancestors"][0]["name"] == "tiny-base"


def test_an_unidentified_licence_is_kept_as_declared_not_dropped(demo):
    _, folder = demo
    model = _bom(folder, "acme/custom-license")["metadata"]["component"]
    lic = model["licenses"][0]["license"]
    assert lic["acknowledgement"] == "declared" and "id" not in lic and lic["name"]
    assert _props(model)["harvester:license:status"] == "unidentified"
    assert bom_license(_bom(folder, "acme/custom-license")) is None


def test_a_bundle_is_one_valid_bom_with_each_dataset_once(demo, tmp_path):
    db, _ = demo
    out = tmp_path / "run.cdx.json"
    assert main(["export", "--db", str(db), "--format", "cyclonedx", "--bundle", "--out", str(out)]) == 0
    text = out.read_text()
    assert validator()(text) is None
    doc = json.loads(text)
    refs = [c["bom-ref"] for c in doc["components"]]
    assert len(refs) == len(set(refs))
    models = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    assert len(models) == 9
    carded = {m["name"] for m in models if "modelCard" in m}
    assert {"tiny-base", "tiny-chat"} <= carded
    assert {d["ref"] for d in doc["dependencies"]} == set(refs)


def test_bad_export_arguments_are_one_line_refusals(demo, tmp_path, capsys):
    db, _ = demo
    (tmp_path / "file").write_text("x")
    for argv in (["--format", "cyclonedx"], ["--format", "csv", "--bundle"],
                 ["--format", "cyclonedx", "--out", str(tmp_path / "file")],
                 ["--format", "cyclonedx", "--out", str(tmp_path / "no" / "such" / "boms")]):
        assert main(["export", "--db", str(db), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("harvester export: ") for line in err)
    assert "--out FOLDER" in err[0] and "--bundle is for --format cyclonedx" in err[1] and "not a folder" in err[2]
    assert "does not exist" in err[3] and not (tmp_path / "no").exists()


def test_corpus_sample_boms_validate_and_agree_with_the_weights_cell(corpus_export_db, tmp_path):
    out = tmp_path / "boms"
    assert main(["export", "--db", str(corpus_export_db), "--format", "cyclonedx", "--out", str(out)]) == 0
    with Store(corpus_export_db) as store:
        cells = store.cells(store.last_scored_run().id)
    validate = validator()
    for model_id in sorted(cells):
        text = (out / f"{model_id}.cdx.json").read_text()
        assert validate(text) is None, model_id
        doc = json.loads(text)
        weights = cells[model_id]["weights"]
        assert bom_license(doc) == weights["license"], model_id
        assert _props(doc["metadata"]["component"])["harvester:taxonomy:weights"] == weights["level"]


def test_the_validator_rejects_what_the_schema_rejects(demo):
    _, folder = demo
    validate = validator()
    good = _bom(folder, "harvester-demo/tiny-base")
    bad_url = json.loads(json.dumps(good))
    bad_url["metadata"]["component"]["externalReferences"][0]["url"] = "https://exa mple.org/a b"
    bad_id = json.loads(json.dumps(good))
    bad_id["metadata"]["component"]["licenses"][0]["license"]["id"] = "Not-An-SPDX-Id"
    bad_card = json.loads(json.dumps(good))
    bad_card["metadata"]["component"]["modelCard"]["modelParameters"]["task"] = ["not", "a", "string"]
    assert validate(json.dumps(good)) is None
    assert all(validate(json.dumps(d)) for d in (bad_url, bad_id, bad_card))


def test_the_model_card_workaround_goes_when_the_library_models_it():
    """cyclonedx-python-lib 11 has no modelCard (upstream #911/#912); harvester adds it to the JSON. When this
    fails, build the model card with the library and delete ``_add_model_cards``."""
    assert "model_card" not in inspect.signature(Component.__init__).parameters


def test_curated_closed_models_are_not_presented_as_hub_models(demo, tmp_path):
    db, _ = demo
    out = tmp_path / "boms"
    assert main(["export", "--db", str(db), "--format", "cyclonedx", "--curated", "--out", str(out)]) == 0
    gpt4 = json.loads(next(out.rglob("GPT-4.cdx.json")).read_text())
    model = gpt4["metadata"]["component"]
    assert "purl" not in model and model["bom-ref"].startswith("harvester:curated:")
    assert _props(model)["harvester:curated"] == "rules/models" and _props(model)["harvester:taxonomy:weights"] == "D2"
    assert validator()(json.dumps(gpt4)) is None


def test_worker_processes_render_what_one_process_renders(demo, monkeypatch):
    """Large runs are rendered by worker processes, a range of model ids each: same pieces, same order."""
    from harvester.licenses.normalize import default_normalizer
    from harvester.report.formats import CycloneDx, Mof
    from harvester.report.formats import reading as rec
    from harvester.score.knowledge import default_knowledge
    from harvester.score.mof import default_spec

    db, _ = demo
    monkeypatch.setattr(rec, "PARALLEL_FROM", 0)
    monkeypatch.setattr(rec, "RANGE", 2)
    k, n, spec = default_knowledge(), default_normalizer(), default_spec()
    with Store(db) as store:
        run = store.last_scored_run()
        for fmt in (CycloneDx(k, n, spec), Mof(k, n, spec, "json")):
            one = [(p.model_id, p.text) for p in rec.pieces(store, run, fmt, k, workers=1)]
            two = [(p.model_id, p.text) for p in rec.pieces(store, run, fmt, k, workers=2)]
            assert len(one) == 9 and one == two


def _die(bounds: tuple[str, str]) -> list:
    import os

    os._exit(3)


def test_a_worker_that_dies_stops_the_export_with_an_error_not_a_wait(demo, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from harvester.licenses.normalize import default_normalizer
    from harvester.report.formats import Mof
    from harvester.report.formats import reading as rec
    from harvester.score.knowledge import default_knowledge
    from harvester.score.mof import default_spec

    db, _ = demo
    monkeypatch.setattr(rec, "PARALLEL_FROM", 0)
    monkeypatch.setattr(rec, "_render", _die)
    k = default_knowledge()
    with Store(db) as store, pytest.raises(BrokenProcessPool):
        list(rec.pieces(store, store.last_scored_run(), Mof(k, default_normalizer(), default_spec(), "csv"), k,
                        workers=2))
