"""A synthetic hub of any size with the shape of ``shared/corpus`` (for the scale benchmarks).

Measured on the corpus's 3,331 most-liked Hub models (Dec 2024): 28 % declare datasets (0.77 per
card, up to 289), 15 % a base model, 68 % link GitHub repositories (1.6 per card), 11 % carry
``model-index`` results, 15 % declare no licence. Datasets, repositories and base models are drawn
with a Zipf-like bias, so popular ones are shared the way real popular ones are.
"""

from __future__ import annotations

import json
import random

from harvester.fixture_hub.corpus import Corpus, GithubRepo, HubRepo

# per mille of the most-liked corpus models; "" = no licence declared
LICENSES = [("apache-2.0", 310), ("", 151), ("mit", 142), ("other", 119), ("creativeml-openrail-m", 69),
            ("cc-by-nc-4.0", 31), ("llama2", 29), ("openrail++", 16), ("cc-by-nc-sa-4.0", 15), ("llama3", 15),
            ("openrail", 14), ("cc-by-4.0", 14), ("llama3.1", 11), ("cc-by-sa-4.0", 10), ("gpl-3.0", 5),
            ("bsd-3-clause", 5), ("bigscience-bloom-rail-1.0", 4), ("gemma", 3), ("unknown", 2)]
DATASETS_PER_CARD = (1, 1, 1, 1, 2, 2, 3, 4, 6, 8)  # when a card declares any: 2.8 on average
DATASET_LICENSES = [("apache-2.0", 4), ("mit", 3), ("cc-by-4.0", 3), ("odc-by", 2), ("cc-by-sa-4.0", 2),
                    ("cc-by-nc-4.0", 1), ("other", 1)]
MIT_TEXT = ("MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this "
            "software, to deal in the Software without restriction. The above copyright notice and this "
            "permission notice shall be included in all copies or substantial portions of the Software.\n")


def _zipf(rng: random.Random, n: int, s: float = 1.1) -> int:
    """An index in [0, n) with P(k) ∝ 1/(k+1)^s, by inverse transform on a continuous approximation."""
    u = rng.random()
    if s == 1.0:
        return min(n - 1, int(n ** u) - 1)
    a = 1 - s
    x = ((n ** a - 1) * u + 1) ** (1 / a)
    return min(n - 1, max(0, int(x) - 1))


def _weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _card(meta: dict[str, object], body: str) -> bytes:
    # JSON is valid YAML (flow style), and a hundred times faster to write for 100,000 cards
    return ("---\n" + json.dumps(meta) + "\n---\n\n" + body).encode()


def synthetic_corpus(n: int, seed: int = 0) -> Corpus:
    rng = random.Random(seed)
    corpus = Corpus(None)
    n_datasets, n_repos, n_orgs = max(40, n // 20), max(30, n // 30), max(10, n // 50)
    for j in range(n_datasets):
        did = f"synth-data/ds-{j}"
        meta = {"license": _weighted(rng, DATASET_LICENSES), "task_categories": ["text-generation"]}
        repo = HubRepo(did, "dataset", _card(meta, f"# Dataset {j}\n"), {"sha": f"{j:040x}"})
        repo._card_data = meta
        corpus.datasets[did] = repo
    for j in range(n_repos):
        full = f"synth-code/repo-{j}"
        meta = {"license_spdx_id": "Apache-2.0"} if j % 2 else {}
        corpus.github[full.lower()] = GithubRepo(full, {} if j % 2 else {"LICENSE": MIT_TEXT.encode()}, meta)
    ids: list[str] = []
    for i in range(n):
        mid = f"synth-org-{_zipf(rng, n_orgs)}/model-{i}"
        meta: dict[str, object] = {"library_name": "transformers"}
        license = _weighted(rng, LICENSES)
        if license:
            meta["license"] = license
        if license == "other":
            meta["license_name"] = rng.choice(["llama3", "tongyi-qianwen", "deepseek", f"custom-{i % 97}"])
        if rng.random() < 0.28:
            k = rng.choice(DATASETS_PER_CARD)
            meta["datasets"] = sorted({f"synth-data/ds-{_zipf(rng, n_datasets)}" for _ in range(k)})
        if ids and rng.random() < 0.15:
            meta["base_model"] = ids[_zipf(rng, len(ids))]
        if rng.random() < 0.11:
            meta["model-index"] = [{"name": mid, "results": [{
                "task": {"type": "text-generation"},
                "dataset": {"name": "bench", "type": f"synth-data/ds-{_zipf(rng, 20)}"},
                "metrics": [{"type": "accuracy", "value": round(rng.random(), 3)}]}]}]
        links = ""
        if rng.random() < 0.68:
            repos = {f"synth-code/repo-{_zipf(rng, n_repos)}" for _ in range(rng.randint(1, 3))}
            links = " ".join(f"[code](https://github.com/{r})" for r in sorted(repos))
        repo = HubRepo(mid, "model", _card(meta, f"# Model {i}\n\nTrained by a synthetic lab. {links}\n"),
                       {"sha": f"{i + 1:040x}", "createdAt": "2025-01-01T00:00:00.000Z",
                        "lastModified": "2025-01-01T00:00:00.000Z"})
        repo._card_data = meta
        corpus.models[mid] = repo
        ids.append(mid)
    return corpus
