"""Licence drift: a derivative whose licence grants what its base model or training data withholds."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from harvester.cards import as_list, parse_card
from harvester.cli import main
from harvester.harvest import RepoCard
from harvester.licenses.drift import Licensed, compare, find_drift
from harvester.licenses.normalize import default_normalizer
from harvester.read import read_card
from harvester.score.knowledge import default_knowledge, load_lineage

# Hub and GitHub URLs here are text inside cards and rules, never fetched; conftest's no_network
# fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")


def side(id_: str, raw: str, kind: str = "model") -> Licensed:
    r = default_normalizer().normalize(raw)
    return Licensed(id_, r.spdx if r.known else None, r.answers if r.known else None, r.points, raw, kind)


def test_relaxing_the_base_is_drift_and_its_kinds_are_named():
    d = compare(side("x/llama2-ft", "apache-2.0"), side("meta-llama/Llama-2-7b-hf", "llama2"), "finetune")
    assert d is not None and set(d.rights) == {"modify", "other_license"}
    assert "use restriction or share-alike of the base dropped" in d.kinds
    d = compare(side("x/flux-lora", "mit"), side("black-forest-labs/FLUX.1-dev", "flux-1-dev-non-commercial-license"),
                "adapter")
    assert d is not None and "commercial" in d.rights and "commercial use its base forbids" in d.kinds
    assert "FLUX.1-dev" in d.summary and "withholds" in d.summary
    d = compare(side("x/gemma-ft", "mit"), side("google/gemma-2-9b-it", "gemma"), "finetune")
    assert d is not None and d.rights == ("other_license",)  # Gemma's use restrictions dropped


def test_no_drift_when_the_derivative_keeps_or_tightens_the_terms_or_nothing_is_known():
    llama3 = side("meta-llama/Meta-Llama-3-8B", "llama3")
    assert compare(side("x/a", "llama3"), llama3, "finetune") is None  # same licence
    assert compare(side("x/b", "cc-by-nc-4.0"), llama3, "finetune") is None  # stricter overall (3 vs 3, no relicence)
    assert compare(side("x/c", "other"), llama3, "finetune") is None  # unknown derivative licence
    assert compare(side("x/d", "apache-2.0"), side("y/base", "other"), "finetune") is None  # unknown base
    assert compare(side("x/e", "cc-by-sa-4.0"), side("y/base", "apache-2.0"), "finetune") is None


def test_non_commercial_data_under_a_commercial_model():
    model = side("x/classifier", "apache-2.0")
    found = find_drift(model, [], [side("d/nc", "cc-by-nc-4.0", "dataset"), side("d/sa", "cc-by-sa-4.0", "dataset")])
    assert [(d.source.id, d.kinds) for d in found] == [("d/nc", ("non-commercial dataset under a commercial model",))]


@pytest.mark.parametrize(("model", "rights"), [
    # LoRA adapters on LLaMA v1 (non-commercial research) whose cards say GPL-3.0 and OpenRAIL
    ("unidentified/card-16066932753", {"commercial", "modify", "copyright_derivative"}),
    ("unidentified/card-8989712464", {"commercial", "modify", "copyright_derivative"}),
    # Llama and Gemma fine-tunes whose cards say Apache-2.0 or MIT
    ("ruslanmv/Medical-Llama3-8B", {"modify", "other_license"}),
    ("princeton-nlp/gemma-2-9b-it-SimPO", {"other_license"}),
    ("vidore/colpali", {"other_license"}),
])
def test_corpus_derivatives_whose_card_and_base_disagree(corpus, model, rights):
    card = parse_card((corpus / "models" / model / "README.md").read_bytes())
    facts = read_card(RepoCard(model, card_data=card.metadata, body=card.body), default_knowledge())
    assert facts.bases  # the LLaMA v1 LoRAs name their base only in their usage code: the reader finds it there
    base = facts.bases[0].id
    fact = next(k for k in load_lineage() if any(re.fullmatch(p.replace("*", ".*"), base.lower()) for p in k.patterns))
    found = find_drift(side(model, as_list(card.metadata.get("license"))[0]), [("finetune", side(base, fact.license))])
    assert len(found) == 1 and set(found[0].rights) == rights, (model, base, found)


def test_drift_command_and_report_over_a_crawl(corpus, tmp_path, capsys):
    root = tmp_path / "hub"
    for m in ("NousResearch/Hermes-2-Theta-Llama-3-8B", "NousResearch/Hermes-2-Pro-Llama-3-8B",
              "ruslanmv/Medical-Llama3-8B", "EleutherAI/pythia-14m"):
        if not (corpus / "models" / m).is_dir():
            pytest.skip(f"{m} not in this corpus")
        shutil.copytree(corpus / "models" / m, root / "models" / m)
    db = tmp_path / "d.db"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(root)]) == 0
    capsys.readouterr()
    assert main(["drift", "--db", str(db), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    got = {(d["model"]["id"], d["source"]["id"], d["relation"]) for d in doc["drift"]}
    assert got == {("NousResearch/Hermes-2-Theta-Llama-3-8B", "NousResearch/Hermes-2-Pro-Llama-3-8B", "finetune"),
                   ("ruslanmv/Medical-Llama3-8B", "meta-llama/Meta-Llama-3-8B", "finetune")}
    fin = next(d for d in doc["drift"] if d["model"]["id"].startswith("ruslanmv"))
    assert "rules/lineage.yaml" in fin["source"]["evidence"] and "apache-2.0" in fin["model"]["evidence"]
    assert doc["models_drifting"] == 2
    for fmt in ("text", "md"):
        assert main(["drift", "--db", str(db), "--format", fmt]) == 0
        assert "Hermes-2-Theta-Llama-3-8B" in capsys.readouterr().out
    assert main(["export", "--db", str(db), "--format", "html", "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text("utf-8")
    assert page.count('class="model drift"') == 2 and "2 with licence drift" in page


def test_licenses_show_prints_the_decision(capsys):
    assert main(["licenses", "show", "flux-1-dev-non-commercial-license"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("LicenseRef-scancode-flux-1-nc") and "3 of 5" in out and "commercial             no" in out
    assert "rationale" in out and "https://huggingface.co/black-forest-labs/FLUX.1-dev/blob/main/LICENSE.md" in out
    assert main(["licenses", "show", "--json", "Apache-2.0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["points"] == 5 and "apache-2.0" in doc["hf_tags"] and doc["file"] == "rules/licenses/permissive.yaml"
    assert main(["licenses", "show", "no-such-licence"]) == 1
    assert "no licence 'no-such-licence'" in capsys.readouterr().err
