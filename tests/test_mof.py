"""The Model Openness Framework over the same stored evidence: components, licences, classes.

The pinned models are real corpus cards whose MOF outcome the framework's own rules settle
(shared/reference/mof.md); the crawl is the session's ``corpus_export_db``.
"""

from __future__ import annotations

import json

import pytest

from harvester.cli import main
from harvester.licenses.normalize import default_normalizer
from harvester.report.formats.reading import curated_records
from harvester.score.knowledge import default_knowledge
from harvester.score.mof import NOT_OPEN, OPEN, OPEN_OTHER, default_spec, openness, score_mof


def test_openness_follows_the_tools_licence_lists():
    spec = default_spec()
    assert len(spec.components) == 17 and {c.mof_class for c in spec.components} == {"I", "II", "III"}
    assert openness(spec, "Apache-2.0", "code") == OPEN
    assert openness(spec, "Apache-2.0", "data") == OPEN_OTHER  # a code licence on weights: counts, with a warning
    assert openness(spec, "CC-BY-4.0", "document") == OPEN and openness(spec, "CC-BY-4.0", "code") == OPEN_OTHER
    assert openness(spec, "CDLA-Permissive-2.0", "data") == OPEN
    assert openness(spec, "LicenseRef-scancode-llama-2-license-2023", "data") == NOT_OPEN  # custom model licences
    assert openness(spec, "CC-BY-NC-4.0", "document") == NOT_OPEN
    assert openness(spec, "GPL-3.0-only OR MIT", "code") == OPEN  # OR: its most open branch
    assert openness(spec, "MIT AND CC-BY-NC-4.0", "code") == NOT_OPEN  # AND: every part
    assert openness(spec, None, "code") == NOT_OPEN  # no licence is not open


@pytest.fixture(scope="module")
def mof(corpus_export_db, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("mof") / "mof.json"
    assert main(["export", "--db", str(corpus_export_db), "--framework", "mof", "--format", "json",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert sum(doc["classes"].values()) == len(doc["models"])
    return {m["model_id"]: m for m in doc["models"]}


def _status(m: dict, key: str) -> tuple[str, str | None, str | None]:
    c = m["components"][key]
    return c["status"], c["license"], c["openness"]


def test_apache_weights_and_training_code_without_a_data_card_reach_no_class(mof):
    m = mof["BAAI/bge-en-icl"]  # Apache-2.0 weights, its training code released, no dataset card, no data section
    assert _status(m, "model_parameters_final") == ("included", "Apache-2.0", "open (other type)")
    assert _status(m, "training_code")[0::2] == ("included", "open")
    assert _status(m, "data_card") == ("missing", None, None) and m["components"]["data_card"]["required"]
    assert m["class"] is None
    assert m["next"] == {"class": "III", "missing": ["data_card"], "not_open": [], "not_visible": []}


def test_a_fully_documented_base_model_reaches_class_three(mof):
    m = mof["EleutherAI/pythia-1.4b-deduped"]
    assert m["class"] == "III"
    assert _status(m, "model_parameters_intermediate")[0] == "included"  # "154 intermediate checkpoints … branches"
    assert not m["components"]["technical_report"]["required"]  # its paper is included
    assert m["next"]["class"] == "II" and m["next"]["not_open"] == ["evaluation_data"]  # benchmark terms unsettled
    olmo = mof["allenai/OLMo-7B"]
    assert olmo["class"] == "III"
    assert _status(olmo, "data_card")[0] == "missing" and not olmo["components"]["data_card"]["required"]
    assert "carries the data information" in olmo["components"]["data_card"]["note"]


def test_a_custom_model_licence_is_not_open_and_what_cannot_be_seen_is_said(mof):
    llama = mof["TheBloke/Llama-2-7B-Chat-GPTQ"]
    assert llama["class"] is None
    assert _status(llama, "model_parameters_final")[2] == "not open"
    assert "model_parameters_final" in llama["next"]["not_open"]
    mistral = mof["mistralai/Mistral-7B-v0.1"]  # a paper linked, no results in the card: not counted missing
    assert _status(mistral, "evaluation_results")[0] == "not visible"
    assert mistral["next"] == {"class": "III", "missing": ["data_card"], "not_open": [],
                               "not_visible": ["evaluation_results"]}
    for m in mof.values():  # harvester never sees a branch listing: never counted missing
        assert m["components"]["model_parameters_intermediate"]["status"] in ("included", "not visible")


def test_a_closed_model_from_curated_facts_has_no_final_parameters():
    k, n, spec = default_knowledge(), default_normalizer(), default_spec()
    gpt4 = next(r for r in curated_records() if r.model_id.endswith("/GPT-4"))
    r = score_mof(spec, gpt4.model_id, gpt4.cells, None, k, n)
    assert gpt4.cells["weights"]["level"] == "D2"
    assert r.components["model_parameters_final"].status == "missing" and r.mof_class is None
    assert r.components["model_card"].status == "not visible"  # no Hub card: nothing to say about it


def test_mof_tables_agree(corpus_export_db, tmp_path, mof):
    for fmt in ("csv", "md", "html"):
        assert main(["export", "--db", str(corpus_export_db), "--framework", "mof", "--format", fmt,
                     "--out", str(tmp_path / f"m.{fmt}")]) == 0
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["model_id", "class", "next_class"] and len(rows) == len(mof) + 1
    assert any(r.startswith("EleutherAI/pythia-1.4b-deduped,III,II,") for r in rows)
    md = (tmp_path / "m.md").read_text()
    assert "| Class III (Open Model) |" in md and "| EleutherAI/pythia-1.4b-deduped | III |" in md
    html = (tmp_path / "m.html").read_text()
    assert "<script" not in html and html.count("<td class=\"s\"") == 17 * len(mof)


def test_the_html_report_carries_the_mof_class(corpus_export_db, tmp_path, mof):
    out = tmp_path / "r.html"
    assert main(["export", "--db", str(corpus_export_db), "--format", "html", "--out", str(out)]) == 0
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(out.read_text(), "html.parser")
    assert soup.select("#taxonomy thead th")[1].text == "MOF class"
    shown = {tr["data-model"]: tr.select_one("td.mof").text for tr in soup.select("#taxonomy tbody tr")}
    assert shown == {m: r["class"] or "—" for m, r in mof.items()}
