"""What the reader keeps for a CycloneDX model card and the MOF: task, architecture, size, results,
papers, intended uses and limitations, published checkpoints. Cards written here, shaped like real ones."""

from __future__ import annotations

import pytest

from harvester.harvest import RepoCard
from harvester.read import read_card
from harvester.read.facts import Facts
from harvester.score.knowledge import default_knowledge

# Pure reading and scoring: Hub and GitHub URLs here are text inside cards and rules, never fetched;
# conftest's no_network fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")

BODY = """
# Tiny-LM 1.4B

Tiny-LM is a 1.4 billion parameter language model. Read the [technical report](https://example.org/tiny-lm.pdf)
and the [paper](https://arxiv.org/abs/2401.00001).
It was fine-tuned from [Other-LM](https://arxiv.org/abs/2301.99999).

We also provide 40 intermediate checkpoints per model, hosted on the Hub as branches.

## Intended uses

Research on small language models and their training dynamics.

## Out-of-scope use

[More Information Needed]

## Limitations and biases

The model produces factually wrong text and reflects biases of web data.

## Evaluation

| Benchmark | Accuracy |
|---|---|
| PIQA | 71.2 |
| ARC-Easy | 55.0 |

We compare with [a baseline](https://arxiv.org/abs/2201.11111).
"""

CARD = {"license": "apache-2.0", "pipeline_tag": "text-generation", "model_type": "gpt_neox",
        "model-index": [{"name": "tiny-lm", "results": [{"dataset": {"name": "LAMBADA", "type": "lambada"},
                                                         "metrics": [{"type": "accuracy", "value": 0.61}]}]}]}


def _read(body: str = BODY, card: dict | None = None):
    repo = RepoCard("acme/tiny-lm", sha="abc", card_data=CARD if card is None else card, body=body,
                    url="https://huggingface.co/acme/tiny-lm")
    return read_card(repo, default_knowledge())


def test_description_results_papers_and_considerations():
    f = _read()
    assert (f.task, f.architecture, f.parameters) == ("text-generation", "gpt_neox", 1_400_000_000)
    assert f.parameters_text == "1.4 billion parameter"
    assert [(r.benchmark, r.metric, r.value, r.origin) for r in f.results] == [
        ("LAMBADA", "accuracy", "0.61", "model-index"), ("PIQA", "Accuracy", "71.2", "table"),
        ("ARC-Easy", "Accuracy", "55.0", "table")]
    # the model's own paper and report; not the base model's paper, not one it is compared with
    assert [(p.url, p.kind) for p in f.papers] == [("https://example.org/tiny-lm.pdf", "report"),
                                                   ("https://arxiv.org/abs/2401.00001", "paper")]
    assert [w.section for w in f.uses] == ["Intended uses"]
    assert [w.section for w in f.limitations] == ["Limitations and biases"]  # the unfilled section is skipped
    assert "factually wrong" in f.limitations[0].text
    assert [s.where.text for s in f.signals if s.kind == "checkpoints"] == [
        "We also provide 40 intermediate checkpoints per model, hosted on the Hub as branches."]


def test_promised_checkpoints_and_plain_cards_say_nothing():
    f = _read("# M\n\nIntermediate checkpoints will be made available at a later date.\n", {})
    assert not [s for s in f.signals if s.kind == "checkpoints"]
    assert f.task is None and f.parameters is None and not f.results and not f.papers and not f.limitations


def test_new_facts_survive_the_store_round_trip():
    f = _read()
    back = Facts.from_json(Facts("r", f).to_json()).model
    assert back.results == f.results and back.papers == f.papers and back.limitations == f.limitations
    assert back.uses == f.uses and back.parameters == f.parameters


def test_html_nested_thousands_deep_is_read_not_a_failure():
    """Real cards carry pasted HTML; a hostile one nests tags deeper than Python's recursion limit."""
    from harvester.read.markdown import read_markdown

    deep = read_markdown("# Model\n\n<div>\n" + "<div>" * 5000 + 'Weights under <a href="https://x.org/l">'
                         + "<span>" * 10 + "the licence</a>")
    assert deep.blocks[-1].text == "Weights under the licence"
    assert [(link.url, link.text) for link in deep.links] == [("https://x.org/l", "the licence")]
    facts = _read(body="## License\n\n" + "<p>" + "<b>" * 5000 + "Released under the MIT license.</p>", card={})
    assert "MIT license" in {x.value for x in facts.prose_licenses}


def test_a_results_table_under_benchmarks_is_an_evaluation_whatever_its_subheading_says():
    """Llama 3's card: "## Benchmarks / ### Base pretrained models" holds scores, not training data."""
    body = ("## Training Data\n\nPretrained on 15T tokens of publicly available data.\n\n## Benchmarks\n\n"
            "### Base pretrained models\n\n| Benchmark | Score |\n|---|---|\n| TriviaQA-Wiki (5-shot) | 78.5 |\n"
            "| MMLU (5-shot) | 66.6 |\n")
    facts = _read(body=body, card={"license": "other"})
    assert not [d.name for d in facts.datasets if d.stage != "benchmark"]
    assert "MMLU" in {e.benchmark for e in facts.evaluations}
