"""Licences stated only in a card's prose: candidates are proposed, the normaliser decides, and a
sentence about another artifact (code, data, a base model) never becomes the model's licence."""

from __future__ import annotations

import pytest

from harvester.cards import parse_card
from harvester.cards import prose_license_candidates as reexported
from harvester.licenses.normalize import default_normalizer
from harvester.licenses.prose import prose_license, prose_license_candidates

# Pure reading and scoring: Hub and GitHub URLs here are text inside cards and rules, never fetched;
# conftest's no_network fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")


def _decide(body: str) -> str | None:
    found = prose_license(body, default_normalizer().normalize)
    return found.result.spdx if found else None


@pytest.mark.parametrize(("body", "expected"), [
    ("# Model\n\n- **License:** BigCode Open RAIL-M v1\n", "LicenseRef-scancode-bigcode-open-rail-m-v1"),
    ("## License\n\nLlama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta.\n",
     "LicenseRef-scancode-llama-2-license-2023"),
    ("### License\nOPT-13B is licensed under the OPT-175B license, Copyright (c) Meta Platforms, Inc.\n",
     "LicenseRef-harvester-OPT-175B"),
    ('## License\nThis work is licensed under a <a rel="license" href="http://creativecommons.org/licenses/by-sa/4.0/">'
     "Creative Commons Attribution-ShareAlike 4.0 International License</a>.\n", "CC-BY-SA-4.0"),
    ("**License**: [Fair AI Public License 1.0-SD](https://freedevproject.org/faipl-1.0-sd/)\n",
     "LicenseRef-scancode-fair-ai-public-1.0-sd"),
    ("## License\n[Llama-3.1 License](https://huggingface.co/meta-llama/Meta-Llama-3.1-8B/blob/main/LICENSE)\n",
     "LicenseRef-scancode-llama-3.1-license-2024"),
    ("This model is released under the Apache 2.0 license as found in the LICENSE file.\n", "Apache-2.0"),
    # a "License:" field that runs on, with the licence's id in parentheses
    ("* **License**: Base model checkpoints (X-Base) are licensed under the Creative Commons license (CC BY-SA-4.0). "
     "Under the license, you must give credit.\n", "CC-BY-SA-4.0"),
    ("## License\nMeaningModel is MIT licensed, as found in the LICENSE file.\n", "MIT"),
    ("**License**\nA custom commercial license is available at: https://llama.meta.com/llama3/license\n",
     "LicenseRef-harvester-Llama-3"),
    # the licence's name inside a clause: read out of it, still from prose
    ("## License\nThe model weights have a `CC BY-SA 4.0` license, with OpenRAIL-M clauses for responsible use "
     "attached.\n", "CC-BY-SA-4.0"),
    # a version's dot is no sentence end
    ("License\nWD 1.5 is released under the Fair AI Public License 1.0-SD (https://freedevproject.org/faipl-1.0-sd/). "
     "Share your changes.\n", "LicenseRef-scancode-fair-ai-public-1.0-sd"),
    # the Hub's placeholder typed before the name
    ("Converted weights.\n\n---\nlicense: other\nLLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: "
     "July 18, 2023\n", "LicenseRef-scancode-llama-2-license-2023"),
    # a vaguer mention beside the identified licence is the same licence
    ("This model is based on Llama-3-8b, and is governed by [META LLAMA 3 COMMUNITY LICENSE AGREEMENT](LICENSE)\n\n"
     "It is licensed according to Meta's Llama license.\n", "LicenseRef-harvester-Llama-3"),
])
def test_the_models_own_licence_is_read_from_prose(body, expected):
    assert _decide(body) == expected


@pytest.mark.parametrize("body", [
    # about the code, a dataset, the base model: someone else's licence
    "## License\nThe code in this repository is open-sourced under the Apache-2.0 license, while the use of the "
    "model weights needs to comply with the [Model License](MODEL_LICENSE).\n",
    "All of the original datasets are publicly available. The datasets are all released under a CC0 license.\n",
    "Our training scripts are distributed under the MIT License.\n",
    "## 协议\n本仓库的代码依照 [Apache-2.0](LICENSE) 协议开源。\n",
    # two licences for the model, or an identified one beside a licence name nobody identifies: not settled
    "# License\nflux1-dev-fp8 falls under the [FLUX.1 [dev] Non-Commercial License](https://huggingface.co/"
    "black-forest-labs/FLUX.1-dev/blob/main/LICENSE.md).\nflux1-schnell-fp8 falls under the [Apache-2.0 License]"
    "(https://www.apache.org/licenses/LICENSE-2.0).\n",
    "## License\n- Acme Open RAIL-M License (a stricter variant)\n\nSome images were released under a CC0 license.\n",
    # only part of the weights, or a licence described as altered: not the model's licence
    "## License\nThe model joins two frozen models with new layers. We release the additional weights we trained "
    "under an MIT license.\n",
    "## License\nThis model is licensed under a **modified** CreativeML OpenRAIL-M license.\n",
    # two licences named in one sentence that does not make both apply
    "## License\nUse [Apache 2.0](https://www.apache.org/licenses/LICENSE-2.0) for the demo or "
    "[Llama 2](https://ai.meta.com/llama/license/) for the chat variant.\n",
    "## License\nGuanaco adapter weights are available under Apache 2 license. Guanaco is based on LLaMA and should"
    " be used according to the LLaMA license.\n",
    # placeholders and pointers name nothing
    "- **License:** [More Information Needed]\n",
    "## License\nSee the LICENSE file.\n",
    "",
])
def test_prose_that_does_not_settle_the_models_licence_decides_nothing(body):
    assert _decide(body) is None


@pytest.mark.parametrize(("body", "parts"), [
    ("## License\nCommunity use of the model requires adherence to the [\"CodeShell License Agreement\"]"
     "(https://huggingface.co/WisdomShell/CodeShell-7B/resolve/main/L.pdf) and the [Apache 2.0 License]"
     "(https://www.apache.org/licenses/LICENSE-2.0).\n",
     {"LicenseRef-harvester-CodeShell", "Apache-2.0"}),
    ("## 协议\n社区使用本模型需要遵循 [Apache 2.0](https://github.com/x/y/blob/main/LICENSE) "
     "和[《Baichuan 2 模型社区许可协议》](https://huggingface.co/baichuan-inc/Baichuan2-7B-Base/resolve/main/Baichuan%202%E6%A8%A1%E5%9E%8B%E7%A4%BE"
     "%E5%8C%BA%E8%AE%B8%E5%8F%AF%E5%8D%8F%E8%AE%AE.pdf)。\n",
     {"Apache-2.0", "LicenseRef-harvester-Baichuan2-Community"}),
])
def test_licences_a_sentence_makes_apply_together_are_one_and_expression(body, parts):
    found = prose_license(body, default_normalizer().normalize)
    assert found is not None and set(found.result.spdx.split(" AND ")) == parts
    assert found.result.points == 3  # the strictest part scores


@pytest.mark.parametrize(("body", "named"), [
    # clauses around a licence word are not its name; the name inside them is
    ("## Licensing\nLlama-7B with function calling is licensed according to the Meta Community license.\n",
     "Meta Community license"),
    ("- **License:** 【Community License for Baichuan-13B Model】([ZH](a.pdf)|[EN](b.pdf))\n",
     "Community License for Baichuan-13B Model"),
    ("* **License**: Fine-tuned checkpoints are licensed under the [STABLE BELUGA NON-COMMERCIAL COMMUNITY LICENSE "
     "AGREEMENT](https://huggingface.co/x/y/blob/main/LICENSE.txt)\n",
     "STABLE BELUGA NON-COMMERCIAL COMMUNITY LICENSE"),
    # a Chinese clause that ends in 许可 (a grant) names no licence; a bracketed 许可协议 does
    ("## 协议\n3. 您或您的关联方不存在将授予您的商用许可，未经许可二次授权给其他第三方的可能。\n", None),
    ("## 协议\n关联方不存在将获得授予的商业许可。\n", None),
    ("## 协议\n使用本模型需要遵循《示例模型社区许可协议》。\n", "示例模型社区许可协议"),
    ("## License\nThis model is licensed under a modified CreativeML OpenRAIL-M license.\n", None),
])
def test_the_review_key_is_a_licence_name_never_a_clause(body, named):
    from harvester.licenses.prose import named_unidentified, statements
    from harvester.read.markdown import read_markdown

    groups = statements(read_markdown(body))
    assert _decide(body) is None
    assert named_unidentified(groups) == named


def test_candidates_carry_link_targets_and_the_old_import_still_works():
    body = "- **License:** [Nexusflow Research License](https://huggingface.co/Nexusflow/x/blob/main/L.pdf)\n"
    cands = prose_license_candidates(body)
    assert cands[0] == "Nexusflow Research License"
    assert "https://huggingface.co/Nexusflow/x/blob/main/L.pdf" in cands
    assert reexported is prose_license_candidates
    assert len(prose_license_candidates("License: MIT\n" * 50, limit=3)) <= 3


def test_hostile_bodies_are_bounded():
    body = ("## License\n" + "<a href='x'>" * 5000 + "released under the " * 5000)[:400_000]
    assert isinstance(prose_license_candidates(body), list)
    assert _decide(body) is None


def test_corpus_cards_whose_metadata_says_nothing(corpus):
    """Real cards (licence only in prose) settle to the licence a reader finds; cards that mix licences do not."""
    expected = {
        "KoboldAI/OPT-13B-Erebus": "LicenseRef-harvester-OPT-175B",
        "LargeWorldModel/LWM-Text-Chat-1M": "LicenseRef-scancode-llama-2-license-2023",
        "waifu-diffusion/wd-1-5-beta": "LicenseRef-scancode-fair-ai-public-1.0-sd",
        "Kijai/flux-fp8": None,  # FLUX.1-dev NC for one file, Apache-2.0 for another
        "THUDM/chatglm3-6b": None,  # Apache-2.0 is the code's; the weights' "Model License" is not named
        "HuggingFaceM4/idefics-80b-instruct": None,  # MIT for new weights beside LLaMA's licence
    }
    for model, spdx in expected.items():
        path = corpus / "models" / model / "README.md"
        if not path.is_file():
            pytest.skip(f"{model} not in this corpus")
        assert _decide(parse_card(path.read_bytes()).body) == spdx, model
