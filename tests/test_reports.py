"""Reports people read: exports in four formats, the plot, the nightly diff and the review queue."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
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
    rules = tmp_path / "my-rules"  # the user's own folder: created on the first decision
    bundled = {p: p.read_bytes() for p in RULES_DIR.rglob("*.yaml")}
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
    assert {p: p.read_bytes() for p in RULES_DIR.rglob("*.yaml")} == bundled  # the installed rules are untouched
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


CUSTOM_TERMS = """ACME Research Model Licence

Unlike the GNU General Public License, these terms and conditions allow research use only. You may not
distribute the weights, offer them as a service or use them to train another model. All rights not
granted here are reserved by ACME.
""" + "Further conditions apply to every copy of the weights and to every output they produce. " * 6

MIT_PLUS = """MIT License

Copyright (c) 2024 ACME

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions
of the Software.
""" + "Additional restriction: the Software may not be used for any purpose the author disapproves of. " * 30


def test_review_show_prints_the_whole_text_and_a_closest_licence_only_when_real(tmp_path, capsys):
    hub = tmp_path / "hub"
    for name, text in (("custom-terms", CUSTOM_TERMS), ("mit-plus", MIT_PLUS)):
        folder = hub / "models" / "acme" / name
        folder.mkdir(parents=True)
        (folder / "README.md").write_text("---\nlicense: other\nlicense_link: LICENSE\n---\n# a model\n")
        (folder / "LICENSE").write_text(text)
    db = tmp_path / "r.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(hub), "-q"]) == 0
    with sqlite3.connect(db) as con:
        stored = dict(con.execute("SELECT model_id, hint FROM review WHERE component = 'weights'").fetchall())
    assert stored["acme/custom-terms"] is not None  # the normaliser's loose guess, kept as evidence ...
    capsys.readouterr()
    assert main(["review", "list", "--db", str(db), "--format", "json"]) == 0
    shown = {g["models"][0]: g for g in json.loads(capsys.readouterr().out)}
    assert shown["acme/custom-terms"]["hint"] is None  # ... is not shown: one shared phrase is no match
    assert shown["acme/mit-plus"]["hint"] == "MIT"  # every MIT phrase and more: closest is real
    key = shown["acme/custom-terms"]["key"]
    assert main(["review", "show", key, "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert CUSTOM_TERMS.strip() in text  # the whole licence text, not a 160-character excerpt
    assert "models affected (1):\n  acme/custom-terms\n" in text
    assert "closest licence:  none that the text really matches" in text
    # resolve writes to the user's rules folder ($HARVESTER_RULES here), never into the installed package
    assert main(["review", "resolve", key, "--db", str(db), "--as", "LicenseRef-acme-research", "--answers",
                 "Y,N,N,Y,N"]) == 0
    reviewed = Path(os.environ["HARVESTER_RULES"]) / "licenses" / "reviewed.yaml"
    assert "LicenseRef-acme-research" in reviewed.read_text()


def test_the_default_rules_folder_is_the_users_own(monkeypatch, tmp_path):
    from harvester.licenses.rules import user_rules_dir

    monkeypatch.delenv("HARVESTER_RULES")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_rules_dir() == tmp_path / ".config" / "harvester" / "rules"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert user_rules_dir() == tmp_path / "cfg" / "harvester" / "rules"
    assert not str(user_rules_dir()).startswith(str(RULES_DIR.parent))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_unknown_level_colour_stands_out_from_the_page_and_the_other_levels():
    from harvester.report.palette import LEVEL_COLOURS

    unknown = LEVEL_COLOURS["?"]
    assert (1.05) / (_luminance(unknown) + 0.05) >= 1.5  # against the white page and figure background
    for level, other in LEVEL_COLOURS.items():
        if level != "?":
            rgb = [int(c[i:i + 2], 16) for c in (unknown, other) for i in (1, 3, 5)]
            assert sum((a - b) ** 2 for a, b in zip(rgb[:3], rgb[3:], strict=True)) ** 0.5 > 60, level


def test_evidence_links_are_public_pages_pinned_to_the_revision_read(crawled, capsys):
    capsys.readouterr()
    assert main(["export", "--db", str(crawled), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sources = {e["source"] for m in doc["models"] for c in m["cells"].values() for e in c["evidence"]}
    links = {s for s in sources if s.startswith(("http://", "https://"))}
    assert links and not [s for s in links if "127.0.0.1" in s or s.startswith("http://")]
    pinned = re.compile(r"^https://huggingface\.co/(datasets/)?[\w.-]+(/[\w.-]+)?/blob/[0-9a-f]{40}/(README\.md|LICENSE)$")
    served = {f"{p.parent.name}/{p.name}" for p in FIXTURES.glob("models/*/*")} | {  # what the crawl read
        f"datasets/{p.name}" if p.parent.name == "_" else f"datasets/{p.parent.name}/{p.name}"
        for p in FIXTURES.glob("datasets/*/*")}
    hub_links = [s for s in links if any(s.startswith(f"https://huggingface.co/{r}/") for r in served)]
    assert hub_links and all(pinned.match(s) for s in hub_links), [s for s in hub_links if not pinned.match(s)]
    assert "https://huggingface.co/acme/linked-license/blob/" in " ".join(hub_links)  # a licence file, pinned too
