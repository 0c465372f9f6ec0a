"""Agreement with the paper's expert cells on the development set: recomputed here, so the figures in
docs/accuracy.md cannot drift silently when the reader, the scorer or the rules change."""

from __future__ import annotations

import json
import re

import pytest

from harvester.accuracy import DERIVABLE, compare, dev_rows, kappa, level, report
from tests.conftest import REFERENCE, ROOT

DOC = ROOT / "docs" / "accuracy.md"


def _documented() -> dict:
    block = re.search(r"<!-- figures -->\s*```json\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert block, "docs/accuracy.md lost its figures block"
    return json.loads(block.group(1))


def _figures(doc: dict) -> dict:
    return {part: {c: [v["agree"], v["kappa"]] for c, v in doc[part]["components"].items()}
            for part in ("curated", "cards") if part in doc}


def test_kappa_and_levels():
    assert level("C5 (Apache 2.0)") == "C5" and level("? (likely D5)") == "?" and level("N/A") == "N/A"
    assert kappa([("C1", "C1")] * 5) == 1.0  # one label, full agreement
    assert kappa([("C1", "C5"), ("C5", "C1")]) < 0  # worse than chance
    assert kappa([("C1", "C1"), ("C5", "C5"), ("C1", "C5"), ("C5", "C1")]) == 0.0  # chance
    expected = {"m": {c: "C1" if c.endswith("code") else "D1" for c in DERIVABLE}}
    ours = {"m": dict(expected["m"], weights="D2")}
    got = compare({"m": {**expected["m"], **{c: "N/A" for c in ("finetuning_code",)}}},
                  {"m": {**ours["m"], "finetuning_code": "N/A"}}, {"m": DERIVABLE})
    assert got["weights"]["agree"] == 0.0 and got["pretraining_code"]["agree"] == 1.0


def test_development_set_figures_are_the_documented_ones(corpus):
    ref = REFERENCE / "paper-table2-dev.csv"
    if not ref.is_file():
        pytest.skip("../shared/reference is not present")
    assert len(dev_rows(ref)) == 23
    assert _figures(report(ref, corpus)) == _documented()
