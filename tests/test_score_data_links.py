"""A repository the card's training-data section links as its data is a search that found something:
never "nothing released" (taxonomy.md §2). Cards written here, shaped like CodeBERT's and ColBERT's."""

from __future__ import annotations

import pytest

from harvester.harvest import Harvest, RepoCard
from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import load_rules
from harvester.read import read_harvest
from harvester.score.knowledge import default_knowledge
from harvester.score.scorer import score

# Pure reading and scoring: Hub and GitHub URLs here are text inside cards and rules, never fetched;
# conftest's no_network fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")


def _pretraining_data(section: str):
    k = default_knowledge()
    body = f"# Coder\n\n### Training Data\n{section}\n"
    repo = RepoCard("acme/coder", sha="abc", card_data={"license": "mit"}, body=body, url="https://huggingface.co/acme/coder")
    cells, _ = score(read_harvest(Harvest(repo), k), k, Normalizer(load_rules()))
    return cells["pretraining_data"]


def test_a_known_dataset_linked_on_github_is_scored_by_its_terms():
    cell = _pretraining_data("Trained on bi-modal data of [CodeSearchNet](https://github.com/github/CodeSearchNet)")
    assert (cell.level, cell.license) == ("D4", "LicenseRef-harvester-Open-Source-Code-Mix")


def test_an_unread_data_repository_is_unknown_not_absent():
    cell = _pretraining_data("We train on the [triplets](https://github.com/acme/retrieval-data) we mined.")
    assert cell.level == "?"
    assert cell.evidence[0].rule == "data.linked-not-read" and "acme/retrieval-data" in (cell.evidence[0].note or "")


def test_a_tool_linked_beside_the_data_is_not_data():
    cell = _pretraining_data("Text was extracted with [WikiExtractor](https://github.com/attardi/wikiextractor).")
    assert cell.level == "D1" and cell.evidence[0].rule == "absence.pretraining_data"
