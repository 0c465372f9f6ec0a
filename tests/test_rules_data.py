"""The knowledge files under rules/ (repos, libraries, datasets, safety, curated closed-model facts)
are data the scorer trusts: each must load, carry its rationale and source, claim every name once,
state only licences the normaliser knows, and agree with the corpus where they describe it."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harvester.licenses.normalize import default_normalizer
from harvester.licenses.rules import RULES_DIR, fold
from harvester.score.knowledge import load_knowledge
from tests.conftest import CORPUS, REFERENCE

# Pure reading and scoring: Hub and GitHub URLs here are text inside cards and rules, never fetched;
# conftest's no_network fixture fails any connection a test would open.
pytestmark = pytest.mark.usefixtures("no_network")

GITHUB = CORPUS / "github"
COMPONENTS = {
    "pretraining_code", "finetuning_code", "alignment_code", "pretraining_data", "sft_data", "alignment_data",
    "general_eval_code", "safety_eval_code", "utility_benchmark_data", "safety_eval_data", "inference_code", "weights",
}
REPO_KINDS = {"training", "library", "inference", "evaluation", "data", "application"}
STAGES = {"pretraining", "finetuning", "alignment"}
DATASET_KINDS = {"pretraining", "sft", "alignment", "benchmark", "safety", "mixed"}
REPO_KEYS = {"repo", "also", "names", "kind", "stages", "other_kinds", "safety", "license", "rationale", "source"}

# Licences written by their common name because no rule in rules/licenses decides them yet.
# Each is reported for review; the scorer gives `?` for them until a rule exists.
UNREVIEWED_LICENSES: set[str] = set()

# Models measured from their own Hub cards (taxonomy.md §6, issue 10): never curated in rules/models.
CARD_MODELS = {
    "gpt-2", "gpt2", "t5", "mt5", "gpt-neo", "gpt-j", "codet5", "gpt-neox-20b", "polycoder", "opt", "opt-175b",
    "ul2", "bloom", "pythia", "stablelm", "llama 2", "llama-2", "falcon", "mistral-7b", "mistral", "phi-2",
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _key(name: str) -> str:
    """The folding the knowledge loader applies to dataset and library names."""
    return fold(name.replace("_", " "))


def _unique(pairs: Iterator[tuple[str, str]], what: str) -> None:
    owner: dict[str, str] = {}
    clashes = []
    for key, who in pairs:
        if key in owner and owner[key] != who:
            clashes.append(f"{what} {key!r}: {owner[key]} and {who}")
        owner.setdefault(key, who)
    assert not clashes, "\n".join(clashes)


REPOS: list[dict[str, Any]] = _load(RULES_DIR / "repos.yaml")
LIBRARIES: list[dict[str, Any]] = _load(RULES_DIR / "libraries.yaml")
DATASETS: list[dict[str, Any]] = _load(RULES_DIR / "datasets.yaml")
SAFETY: dict[str, Any] = _load(RULES_DIR / "safety.yaml")
MODEL_FILES = sorted((RULES_DIR / "models").glob("*.yaml"))
MODELS: list[tuple[str, dict[str, Any]]] = [(p.name, m) for p in MODEL_FILES for m in _load(p)["models"]]


def test_every_file_loads_and_every_entry_says_why_and_where() -> None:
    entries = [*REPOS, *LIBRARIES, *DATASETS, *SAFETY["datasets"], *SAFETY["repos"]]
    assert len(REPOS) > 300 and len(LIBRARIES) > 100 and len(DATASETS) > 200
    missing = [e for e in entries if not e.get("rationale") or not str(e.get("source", "")).startswith("http")]
    assert not missing, missing[:5]
    assert load_knowledge() is not None  # the scorer's own loader accepts the files


def test_repository_entries_are_typed_and_claim_each_repo_and_name_once() -> None:
    for e in REPOS:
        assert set(e) <= REPO_KEYS, e
        assert e["kind"] in REPO_KINDS, e["repo"]
        assert set(_list(e.get("other_kinds"))) <= REPO_KINDS - {e["kind"]}, e["repo"]
        # training entries say which stages they run; nothing else claims a training stage
        assert bool(e.get("stages")) == (e["kind"] == "training"), e["repo"]
        assert set(_list(e.get("stages"))) <= STAGES, e["repo"]
        assert "safety" not in e or e["kind"] == "evaluation", e["repo"]
        assert e["source"].lower().startswith(f"https://github.com/{e['repo'].lower()}"), e["repo"]
    _unique(((r.lower(), e["repo"]) for e in REPOS for r in [e["repo"], *_list(e.get("also"))]), "repository")
    _unique(((_key(n), e["repo"]) for e in REPOS for n in _list(e.get("names"))), "name")


def test_inference_only_repositories_are_never_training_code() -> None:
    kinds = {e["repo"]: e for e in REPOS}
    for repo in ("openai/gpt-2", "meta-llama/llama", "mistralai/mistral-inference", "ggml-org/llama.cpp",
                 "vllm-project/vllm", "xai-org/grok-1", "google/gemma_pytorch", "THUDM/GLM-130B"):
        assert kinds[repo]["kind"] == "inference", repo
        assert "training" not in _list(kinds[repo].get("other_kinds")), repo
    assert set(kinds["EleutherAI/gpt-neox"]["stages"]) >= {"pretraining"}
    assert kinds["EleutherAI/lm-evaluation-harness"]["kind"] == "evaluation"


def test_library_entries_claim_each_name_import_pattern_and_command_once() -> None:
    for e in LIBRARIES:
        assert e.get("repo") and e.get("license"), e["library"]  # the loader needs both
    _unique(((e["library"].lower(), e["library"]) for e in LIBRARIES), "library")
    _unique(((e["repo"].lower(), e["library"]) for e in LIBRARIES), "repository")
    _unique(((_key(n), e["library"]) for e in LIBRARIES for n in [e["library"], *_list(e.get("names"))]), "name")
    for key in ("imports", "patterns", "commands"):
        _unique(((v, e["library"]) for e in LIBRARIES for v in _list(e.get(key))), key[:-1])
    # a pattern inside another library's pattern would make usage code ambiguous
    patterns = [(p, e["library"]) for e in LIBRARIES for p in _list(e.get("patterns"))]
    nested = [(a, b) for a, la in patterns for b, lb in patterns if la != lb and a in b]
    assert not nested, nested


def test_dataset_entries_are_typed_and_claim_each_name_once() -> None:
    for e in DATASETS:
        assert set(e) <= {"names", "hub", "closed", "license", "kind", "rationale", "source"}, e["names"]
        assert e["kind"] in DATASET_KINDS, e["names"]
        assert not (e.get("closed") and (e.get("hub") or e.get("license"))), e["names"]
    _unique(((_key(n), e["names"][0]) for e in DATASETS for n in [*e["names"], *_list(e.get("hub"))]), "dataset name")
    k = load_knowledge()
    hub, alias = k.resolve_dataset("The Pile")
    assert hub == "the_pile" and alias is not None
    assert k.resolve_dataset("WebText")[1].closed  # type: ignore[union-attr]
    assert k.resolve_dataset("stack")[1] is None, "bare 'the stack' must not be a name"


def test_safety_lists_are_unique_and_agree_with_the_other_files() -> None:
    ids = [e["id"].lower() for e in SAFETY["datasets"]]
    repos = [e["id"].lower() for e in SAFETY["repos"]]
    assert len(ids) == len(set(ids)) and len(repos) == len(set(repos))
    safety_repos = {r.lower() for e in REPOS if e.get("safety") for r in [e["repo"], *_list(e.get("also"))]}
    assert safety_repos <= set(repos), safety_repos - set(repos)
    by_hub = {e["hub"].lower(): e for e in DATASETS if e.get("hub")}
    for i in ids:
        if i in by_hub:
            assert by_hub[i]["kind"] == "safety", i


def _licence_values() -> Iterator[tuple[str, str]]:
    files = (("repos", REPOS, "repo"), ("libraries", LIBRARIES, "library"), ("datasets", DATASETS, "names"))
    for file, entries, who in files:
        for e in entries:
            if e.get("license"):
                yield f"{file}:{e[who]}", e["license"]
    for file, m in MODELS:
        for comp, fact in m["components"].items():
            for rel in _releases(fact):
                if rel.get("license") and rel["license"] != "unknown":
                    yield f"{file}:{m['name']}:{comp}", rel["license"]


def _releases(fact: dict[str, Any]) -> list[dict[str, Any]]:
    rel = fact.get("released")
    if isinstance(rel, dict):
        return [rel]
    return [r for r in rel if isinstance(r, dict)] if isinstance(rel, list) else []


def test_every_licence_is_known_to_the_normaliser_or_listed_for_review() -> None:
    normalizer = default_normalizer()
    unknown = {f"{where}: {value}" for where, value in _licence_values()
               if value not in UNREVIEWED_LICENSES and not normalizer.normalize(value).known}
    assert not unknown, sorted(unknown)
    used = {value for _, value in _licence_values()}
    assert used >= UNREVIEWED_LICENSES, "drop allow-list entries nothing uses"
    known_now = {v for v in UNREVIEWED_LICENSES if normalizer.normalize(v).known}
    assert not known_now, f"a rule decides these now: drop them from the allow-list: {sorted(known_now)}"


def test_curated_model_facts_use_the_schema_and_resolve_their_references() -> None:
    names = {fold(n) for e in DATASETS for n in e["names"]} | {fold(e["hub"]) for e in DATASETS if e.get("hub")}
    repos = {r.lower() for e in REPOS for r in [e["repo"], *_list(e.get("also"))]}
    seen: dict[str, str] = {}
    for path in MODEL_FILES:
        doc = _load(path)
        assert set(doc) == {"developer", "models"} and doc["developer"], path.name
    for file, m in MODELS:
        assert set(m) <= {"name", "aliases", "hub_ids", "released", "components"}, m["name"]
        assert isinstance(m["released"], dt.date), m["name"]
        for n in [m["name"], *_list(m.get("aliases"))]:
            assert seen.setdefault(fold(n), m["name"]) == m["name"], f"{n} ({file}) also names {seen[fold(n)]}"
            assert n.lower() not in CARD_MODELS, f"{n}: measured from its own Hub card"
        assert set(m["components"]) <= COMPONENTS and m["components"], m["name"]
        for comp, fact in m["components"].items():
            where = f"{m['name']}.{comp}"
            assert set(fact) <= {"happened", "released", "source", "as_of", "note"}, where
            assert isinstance(fact["happened"], bool) and str(fact["source"]).startswith("http"), where
            assert isinstance(fact["as_of"], dt.date), where
            if not fact["happened"]:
                assert "released" not in fact, where
                continue
            rel = fact["released"]
            assert rel in (False, "api", "unknown") or _releases(fact), where
            assert rel != "api" or comp in {"weights", "inference_code", "finetuning_code"}, where
            for r in _releases(fact):
                assert set(r) <= {"repo", "dataset", "url", "license"} and set(r) & {"repo", "dataset", "url"}, where
                assert r.get("license") or r.get("dataset"), where  # a dataset's licence comes from datasets.yaml
                if r.get("dataset"):
                    assert fold(r["dataset"]) in names, f"{where}: {r['dataset']} not in datasets.yaml"
                if r.get("repo"):
                    assert r["repo"].lower() in repos, f"{where}: {r['repo']} not in repos.yaml"


def test_every_development_model_has_curated_facts() -> None:
    path = REFERENCE / "paper-table2-dev.csv"
    if not path.is_file():
        pytest.skip("../shared/reference is not present")
    with path.open(newline="", encoding="utf-8") as fh:
        dev = [row["model"] for row in csv.DictReader(fh)]
    curated = {fold(n) for _, m in MODELS for n in [m["name"], *_list(m.get("aliases"))]}
    assert len(dev) == 23
    assert [d for d in dev if fold(d) not in curated] == []


def test_repositories_match_the_corpus_folders() -> None:
    if not GITHUB.is_dir():
        pytest.skip("../shared/corpus/github is not present")
    folders = {f"{p.parent.name}/{p.name}" for p in GITHUB.glob("*/*") if p.is_dir()}
    by_lower = {f.lower(): f for f in folders}
    named = {r for e in REPOS for r in [e["repo"], *_list(e.get("also"))]} | {e["repo"] for e in LIBRARIES}
    wrong_case = sorted(r for r in named if r.lower() in by_lower and by_lower[r.lower()] != r)
    assert not wrong_case, wrong_case
    covered = {r for e in REPOS for r in [e["repo"], *_list(e.get("also"))]}
    assert sorted(folders - covered) == []
    current = {r: e["repo"] for e in REPOS for r in [e["repo"], *_list(e.get("also"))]}
    for meta in GITHUB.glob("*/*/meta.json"):
        moved = json.loads(meta.read_text("utf-8")).get("moved_to")
        if moved:
            old = f"{meta.parent.parent.name}/{meta.parent.name}"
            assert current[old] == moved, f"{old} moved to {moved}, rules say {current[old]}"
