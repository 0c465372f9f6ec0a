"""Cells from cards shaped like real ones, where a sceptical review of real cards found the scorer
claiming more than the card says (taxonomy.md §2, §6). No corpus text: each card is written here."""

from __future__ import annotations

from typing import Any

import pytest

from harvester.harvest import Harvest, RepoCard
from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import load_rules
from harvester.read import read_harvest
from harvester.score.cells import Cell
from harvester.score.knowledge import default_knowledge
from harvester.score.scorer import score

# Pure reading and scoring: Hub and GitHub URLs here are text inside cards and rules, never fetched;
# conftest's no_network fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")


def _cells(body: str, meta: dict[str, Any] | None = None, tags: list[str] | None = None,
           bases: dict[str, RepoCard] | None = None, model_id: str = "acme/model") -> dict[str, Cell]:
    k = default_knowledge()
    repo = RepoCard(model_id, sha="abc", info={"tags": tags or []}, card_data=meta or {}, body=body,
                    url=f"https://huggingface.co/{model_id}")
    cells, _ = score(read_harvest(Harvest(repo, bases=bases or {}), k), k, Normalizer(load_rules()))
    return cells


BASE = RepoCard("acme/base", sha="def", card_data={"license": "apache-2.0"}, body="# Base\n\nA base model.\n",
                url="https://huggingface.co/acme/base")


def test_a_framework_tag_without_its_configuration_is_not_released_training_code():
    tagged = _cells("# Model\n\nA chat model.\n", {"license": "apache-2.0", "base_model": "acme/base"},
                    ["axolotl"], {"acme/base": BASE})
    assert tagged["finetuning_code"].level == "C1"
    configured = _cells("# Model\n\nA chat model.\n\n## Training hyperparameters\n\n- learning_rate: 2e-05\n",
                        {"license": "apache-2.0", "base_model": "acme/base"}, ["axolotl"], {"acme/base": BASE})
    assert configured["finetuning_code"].level == "C5"
    assert configured["finetuning_code"].evidence[0].rule == "trainer.axolotl"


def test_a_framework_named_inside_a_model_id_is_not_the_framework_it_was_trained_with():
    cells = _cells("# Model\n\nThe model is fine-tuned on top of the sentence-transformers/all-MiniLM-L6-v2 "
                   "using the MEDI dataset.\n", {"license": "mit", "base_model": "acme/base"},
                   bases={"acme/base": BASE})
    assert cells["finetuning_code"].level != "C5"


def test_a_base_obtained_by_finetuning_a_linked_model_is_followed():
    cells = _cells("# Model\n\nA chat model obtained by finetuning [acme/base](https://huggingface.co/acme/base) "
                   "on 100K conversations.\n", {"license": "apache-2.0"}, bases={"acme/base": BASE})
    assert cells["finetuning_code"].level == "C1" and cells["sft_data"].level == "D1"
    assert cells["pretraining_code"].evidence[0].rule.startswith("lineage.")


def test_the_stable_diffusion_family_tag_is_the_last_word_on_what_runs_a_checkpoint():
    both = _cells("# Anime\n\nA checkpoint.\n", {"license": "creativeml-openrail-m"},
                  ["stable-diffusion", "diffusers", "text-to-image"])
    assert (both["inference_code"].level, both["inference_code"].license) == ("C5", "Apache-2.0")
    alone = _cells("# Anime\n\nA checkpoint.\n", {"license": "creativeml-openrail-m"}, ["stable-diffusion"])
    assert alone["inference_code"].evidence[0].rule == "library.stable-diffusion"


def test_prose_that_states_a_stricter_licence_than_the_tag_is_a_disagreement():
    cells = _cells("# LoRA\n\n*All models in this program are released under the BFL Flux Dev license.*\n",
                   {"license": "cc0-1.0"})
    assert cells["weights"].level == "?"
    assert cells["weights"].evidence[0].rule == "weights.stricter-in-prose"
    same = _cells("# LoRA\n\nReleased under the Apache 2.0 license.\n", {"license": "apache-2.0"})
    assert same["weights"].level == "D5"


def test_the_developers_official_repository_that_also_trains_is_not_absence():
    cells = _cells("# SAM\n\nThe official code is publicly released in this "
                   "[repo](https://github.com/facebookresearch/segment-anything-2/).\n", {"license": "apache-2.0"})
    assert cells["pretraining_code"].level == "?"
    assert "training code" in (cells["pretraining_code"].evidence[0].raw or "")


def test_based_on_an_architecture_is_no_base_model():
    cells = _cells("# ByT5\n\nWe release pre-trained byte-level models based on the T5 architecture.\n",
                   {"license": "apache-2.0"})
    assert cells["pretraining_code"].evidence[0].rule != "lineage.base-not-named"
    tuned = _cells("# Chat\n\nThis model is based on Mixtral-8x7b and tuned for chat.\n", {"license": "apache-2.0"})
    assert tuned["pretraining_code"].evidence[0].rule == "lineage.base-not-named"


def test_a_chat_or_instruct_model_had_a_fine_tuning_stage():
    cells = _cells("# Acme-7B-Instruct\n\nA helpful assistant.\n", {"license": "apache-2.0"},
                   model_id="acme/Acme-7B-Instruct")
    cells_base = _cells("# Acme-7B\n\nA language model.\n", {"license": "apache-2.0"}, model_id="acme/Acme-7B")
    assert cells["finetuning_code"].level == "C1" and cells["sft_data"].level == "D1"
    assert cells_base["finetuning_code"].level == "N/A"


def test_a_base_llm_field_names_the_base():
    cells = _cells("# Vision chat\n\n- Base LLM: [acme/base](https://huggingface.co/acme/base)\n",
                   {"license": "apache-2.0"}, bases={"acme/base": BASE})
    assert cells["pretraining_code"].evidence[0].rule.startswith("lineage.")


def test_mteb_results_in_the_model_index_were_produced_by_the_mteb_harness():
    meta = {"license": "mit", "model-index": [{"name": "gist", "results": [
        {"dataset": {"type": "mteb/amazon_counterfactual", "name": "MTEB AmazonCounterfactualClassification (en)"},
         "metrics": [{"type": "accuracy", "value": 72.2}]}]}]}
    cell = _cells("# Embeddings\n\nA sentence embedding model.\n", meta)["general_eval_code"]
    assert (cell.level, cell.license) == ("C5", "Apache-2.0")
    assert "embeddings-benchmark/mteb" in (cell.evidence[0].note or "")


def test_the_developers_training_repository_linked_under_the_models_own_title_is_its_training_code():
    body = ("### opus-mt-xx-yy\n\n* source languages: xx\n* OPUS readme: [xx-yy](https://github.com/Helsinki-NLP/"
            "OPUS-MT-train/blob/master/models/xx-yy/README.md)\n* dataset: opus\n")
    cell = _cells(body, {"license": "apache-2.0"}, model_id="Helsinki-NLP/opus-mt-xx-yy")["pretraining_code"]
    assert (cell.level, cell.license) == ("C5", "MIT")
    sibling = _cells("## Baichuan 2\n\nSee our earlier [Baichuan-7B](https://github.com/Helsinki-NLP/OPUS-MT-train).\n",
                     {"license": "apache-2.0"}, model_id="Helsinki-NLP/other-model")["pretraining_code"]
    assert sibling.level != "C5"


def test_a_base_the_crawl_cannot_read_is_known_only_from_what_its_developer_released():
    """Llama 3 is gated: a fine-tune inherits what rules/lineage.yaml records of Meta's release, with its
    source; a base nothing records stays unsettled, never 'not released' because it answered 404."""
    meta = {"license": "llama3", "base_model": "meta-llama/Meta-Llama-3-8B-Instruct"}
    cell = _cells("# Tuned\n\nA fine-tune.\n", meta)["pretraining_data"]
    assert cell.level == "D1"
    assert "lineage.yaml" in (cell.evidence[0].note or "") and "llama3" in cell.evidence[1].source
    unknown = _cells("# Tuned\n\nA fine-tune.\n", {"license": "mit", "base_model": "acme/unread"})["pretraining_data"]
    assert unknown.level == "?" and unknown.evidence[0].rule == "lineage.base-not-read"


def test_a_preference_optimisation_named_in_words_is_an_alignment_stage():
    body = ("# Acme-7B\n\nAn [Monolithic Preference Optimization](https://arxiv.org/abs/2403.07691) fine-tune "
            "on ranking data.\n")
    cells = _cells(body, {"license": "mit", "base_model": "acme/base"}, bases={"acme/base": BASE})
    assert (cells["alignment_code"].level, cells["alignment_data"].level) == ("C1", "D1")
