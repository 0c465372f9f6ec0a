"""Reports people read: exports in four formats, the plot, the nightly diff and the review queue."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from harvester.cli import main
from harvester.licenses.rules import RULES_DIR
from harvester.report.html import _JS
from tests.conftest import FIXTURES

HOSTILE = "acme/hostile-card"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("rep") / "h.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    return db


def test_four_exports_and_plot(crawled, tmp_path):
    for fmt in ("csv", "json", "md", "html"):
        assert main(["export", "--db", str(crawled), "--format", fmt, "--out", str(tmp_path / f"t.{fmt}")]) == 0
    md = (tmp_path / "t.md").read_text()
    assert "| model | pretraining code |" in md and "| harvester-demo/tiny-base | C5 |" in md
    assert "<script" not in md
    assert main(["plot", "--db", str(crawled), "--out", str(tmp_path / "p.png")]) == 0
    png = (tmp_path / "p.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    from PIL import Image

    with Image.open(tmp_path / "p.png") as im:
        im.verify()
    assert main(["plot", "--db", str(crawled), "--out", str(tmp_path / "p.svg")]) == 0
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")


def test_html_carries_no_live_hostile_markup(crawled, tmp_path):
    out = tmp_path / "r.html"
    main(["export", "--db", str(crawled), "--format", "html", "--out", str(out)])
    html = out.read_text()
    soup = BeautifulSoup(html, "html.parser")
    scripts = soup.find_all("script")
    assert len(scripts) == 2
    assert scripts[0].get("type") == "application/json" and scripts[1].string == _JS
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith("on"), (tag.name, attr)
            if attr in ("href", "src"):
                assert not str(value).lower().startswith("javascript:"), (tag.name, value)
    assert not soup.find_all(["iframe", "img", "object", "embed"]) or all(
        i.get("src", "").startswith("data:image/png;base64,") for i in soup.find_all("img"))
    assert "<script>window.__pwned" not in html and "\\u003cscript\\u003ewindow.__pwned" in html
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    # the hostile model is in the table, escaped
    assert soup.find("tr", attrs={"data-model": HOSTILE}) is not None


def test_review_queue_lists_hostile_unknown_license_and_resolve_applies(crawled, tmp_path, capsys):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    db = tmp_path / "h.db"
    shutil.copy(crawled, db)
    capsys.readouterr()
    assert main(["review", "list", "--db", str(db), "--format", "json"]) == 0
    queue = json.loads(capsys.readouterr().out)
    hostile = [g for g in queue if HOSTILE in g["models"]]
    assert hostile and "<script>" in hostile[0]["raw"]
    custom = next(g for g in queue if g["key"] == "raw:acme-weights-license-v3")
    assert custom["models_affected"] == 1 and custom["models"] == ["acme/custom-license"]

    assert main(["review", "resolve", "raw:acme-weights-license-v3", "--db", str(db), "--rules", str(rules),
                 "--as", "LicenseRef-acme-weights-3", "--answers", "Y,N,Y,Y,N"]) == 0
    assert "LicenseRef-acme-weights-3" in (rules / "licenses" / "reviewed.yaml").read_text()
    assert main(["rescore", "--db", str(db), "--rules", str(rules)]) == 0
    capsys.readouterr()
    main(["explain", "acme/custom-license", "--db", str(db), "--json"])
    cell = json.loads(capsys.readouterr().out)["cells"]["weights"]
    assert cell["level"] == "D3" and cell["license"] == "LicenseRef-acme-weights-3" and cell["points"] == 3
    main(["review", "list", "--db", str(db), "--format", "json"])
    assert "raw:acme-weights-license-v3" not in {g["key"] for g in json.loads(capsys.readouterr().out)}
    # a decision for a licence that already has one becomes an alias; bad input is refused cleanly
    assert main(["review", "resolve", "raw:glm-5.3", "--db", str(db), "--as", "MIT", "--rules", str(rules)]) == 1
    assert main(["review", "resolve", "raw:unknown", "--db", str(db), "--as", "not an id", "--rules", str(rules)]) == 1


def test_diff_names_a_model_whose_license_changed(tmp_path, capsys):
    hub = tmp_path / "hub"
    shutil.copytree(FIXTURES, hub)
    db = tmp_path / "h.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(hub)]) == 0
    card = hub / "models" / "harvester-demo" / "tiny-base" / "README.md"
    card.write_text(card.read_text().replace("license: apache-2.0", "license: cc-by-nc-4.0"))
    shutil.rmtree(hub / "models" / "acme" / "prose-only")
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(hub)]) == 0
    capsys.readouterr()
    assert main(["diff", "--db", str(db), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "changes from run 1 to run 2" in text
    assert "harvester-demo/tiny-base  weights: D5 -> D3  [Apache-2.0 -> CC-BY-NC-4.0]" in text
    assert "  - acme/prose-only" in text
    assert main(["diff", "--db", str(db), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {(c["model_id"], c["component"]) for c in doc["level_changes"]} >= {("harvester-demo/tiny-base", "weights")}
    assert doc["removed"] == ["acme/prose-only"]
    assert main(["diff", "--db", str(db), "--format", "md"]) == 0
    assert "| harvester-demo/tiny-base | weights | D5 → D3 |" in capsys.readouterr().out
