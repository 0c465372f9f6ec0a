"""Nightly crawls: unchanged models cost nothing, --since reads one page, limits are honoured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import vcr

from harvester.cli import main
from harvester.fetch.github import GithubSource
from harvester.fetch.limits import RateLimiter
from harvester.fetch.retry import RetryPolicy, server_wait
from harvester.fixture_hub.server import serve
from tests.conftest import FIXTURES, POPULAR

CASSETTES = Path(__file__).parent / "cassettes"


def _crawl(hub_url: str, db: Path, *extra: str) -> int:
    return main(["crawl", "--db", str(db), "--hf-endpoint", hub_url, "--github-endpoint", hub_url, *extra])


def _summary(db: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["runs", "show", "--db", str(db), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["summary"]


def _hub_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled fixtures that a test may change between crawls."""
    root = tmp_path / "hub"
    shutil.copytree(FIXTURES, root)
    return root


def _delta(a: dict, b: dict) -> dict:
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def test_unchanged_hub_costs_only_listing_pages_and_changes_are_refetched(tmp_path, capsys):
    root = _hub_copy(tmp_path)
    db = tmp_path / "n.db"
    with serve(root) as hub:
        assert _crawl(hub.url, db) == 0
        before = dict(hub.stats)
        assert _crawl(hub.url, db) == 0
        assert _delta(before, hub.stats) == {"hub_api": 1}  # one listing page, nothing else
    s = _summary(db, capsys)
    assert s["models_carried"] == 9 and s["models_harvested"] == 0 and s["requests"] == {"hub_api": 1}
    first, second = (tmp_path / "1.csv"), (tmp_path / "2.csv")
    main(["export", "--db", str(db), "--run", "1", "--out", str(first)])
    main(["export", "--db", str(db), "--run", "2", "--out", str(second)])
    assert first.read_text() == second.read_text()

    card = root / "models" / "harvester-demo" / "tiny-lora" / "README.md"
    card.write_text(card.read_text().replace("cc-by-nc-4.0", "mit"))
    with serve(root) as hub:
        assert _crawl(hub.url, db) == 0
        # the changed card, its base's card (a 304: unchanged) and the two datasets of that lineage
        assert hub.stats["hub_files"] == 4 and hub.stats["hub_api"] == 2
    s = _summary(db, capsys)
    assert s["models_harvested"] == 1 and s["models_carried"] == 8 and s["cards_not_modified"] == 1
    # ETags kept between runs: every repository GitHub knows answered 304 (two others are 404s), and the
    # training repository the rules do not know was asked for its README (it has none: a 404)
    assert s["requests"]["github_rest"] == 6 and s["github_not_modified"] == 3 and s["readmes_fetched"] == 1


def test_since_last_reads_one_page_and_only_new_or_changed_models(tmp_path, capsys):
    root = _hub_copy(tmp_path)
    db = tmp_path / "s.db"
    with serve(root) as hub:
        assert _crawl(hub.url, db, "--since", "last") == 0  # no earlier run: a full crawl
    assert _summary(db, capsys)["models_harvested"] == 9
    folder = root / "models" / "acme" / "prose-only"
    (folder / "meta.json").write_text(json.dumps({"lastModified": "2026-11-20T00:00:00.000Z", "sha": "f" * 40}))
    new = root / "models" / "acme" / "brand-new"
    new.mkdir()
    (new / "README.md").write_text("---\nlicense: apache-2.0\n---\n# new\n")
    (new / "meta.json").write_text(json.dumps({"createdAt": "2026-11-21T00:00:00.000Z"}))
    with serve(root) as hub:
        assert _crawl(hub.url, db, "--since", "last") == 0
        assert hub.stats["hub_api"] == 1
    s = _summary(db, capsys)
    assert s["models_harvested"] == 2 and s["models_carried"] == 8 and s["models_ok"] == 10
    assert s["watermark"].startswith("2026-11-21")
    with serve(root) as hub:
        assert _crawl(hub.url, db, "--since", "last") == 0
        assert dict(hub.stats) == {"hub_api": 1}
    assert main(["crawl", "--db", str(db), "--since", "yesterday-ish", "--serve-fixtures", str(root)]) == 1


def test_readme_unchanged_under_a_new_sha_is_a_304(tmp_path, capsys):
    root = _hub_copy(tmp_path)
    db = tmp_path / "e.db"
    with serve(root) as hub:
        assert _crawl(hub.url, db) == 0
    (root / "models" / "acme" / "prose-only" / "meta.json").write_text(json.dumps({"sha": "e" * 40}))
    with serve(root) as hub:
        assert _crawl(hub.url, db) == 0
    s = _summary(db, capsys)
    assert s["cards_not_modified"] == 1 and s["models_harvested"] == 1


def test_rate_limits_are_spent_not_exceeded(tmp_path, capsys):
    rates = {"hub_api": 50.0, "hub_files": 20.0, "github_rest": 10.0}
    with serve(FIXTURES, rates=rates) as hub:
        assert _crawl(hub.url, tmp_path / "r.db", "--rate", "hub_files=20", "--rate", "github_rest=10",
                      "--rate", "hub_api=50") == 0
        assert not [k for k in hub.stats if k.startswith("rate_limited_")]
    with serve(FIXTURES, rates={"hub_files": 5.0}) as hub:  # no client limit: the server's 429s are retried
        assert _crawl(hub.url, tmp_path / "q.db", "--backoff", "0.01") == 0
        assert hub.stats["rate_limited_hub_files"] > 0
    s = _summary(tmp_path / "q.db", capsys)
    assert s["models_failed"] == 0 and s["retries_hub"] == hub.stats["rate_limited_hub_files"]


def test_rate_limiter_spaces_requests():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = RateLimiter({"hub_api": 2.0}, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        lim.acquire("hub_api")
        lim.acquire("other")  # unlimited
    assert now[0] == pytest.approx(2.0)  # burst of 2, then one every 0.5 s


def test_server_wait_reads_retry_after_ratelimit_and_github_reset():
    req = httpx.Request("GET", "https://x")
    assert server_wait(httpx.Response(429, headers={"Retry-After": "7"}, request=req)) == 7
    assert server_wait(httpx.Response(429, headers={"RateLimit": '"api";r=0;t=12'}, request=req)) == 13
    gh = httpx.Response(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1100"}, request=req)
    assert server_wait(gh, now=1000) == 100


def test_github_primary_limit_is_waited_out_from_a_cassette(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("harvester.fetch.retry._sleep", slept.append)
    with vcr.use_cassette(str(CASSETTES / "github_rate_limited.yaml"), record_mode="none",
                          allow_playback_repeats=False):
        ans = GithubSource(policy=RetryPolicy(attempts=3, base=0.01)).license("octo-org/octo-model")
    assert ans.status == 200 and ans.path == "LICENSE" and ans.text.startswith("MIT License")
    assert ans.license["spdx_id"] == "MIT" and ans.etag == '"abc123"'
    assert slept == [0.0]  # the reset was already past: retried at once, not after a blind backoff


def test_json_log_lines_when_not_on_a_terminal(tmp_path, capsys):
    assert main(["crawl", "--db", str(tmp_path / "j.db"), "--serve-fixtures", str(FIXTURES)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    events = [x.get("event") for x in lines]
    assert events.count("model_ok") == 9 and events[-1] == "run_done"
    assert lines[-1]["summary"]["models_ok"] == 9


def test_synthetic_hub_has_the_shape_of_the_real_corpus(corpus):
    """Datasets, base models and GitHub links per card in the corpus's proportions; popular ones shared."""
    from collections import Counter

    from harvester.cards import as_list, github_repos, parse_card
    from harvester.fixture_hub.synthetic import synthetic_corpus

    def shape(cards: list[bytes]) -> dict[str, float]:
        parsed = [parse_card(c) for c in cards]
        n = len(parsed)
        return {"datasets": sum(bool(as_list(c.metadata.get("datasets"))) for c in parsed) / n,
                "base_model": sum(bool(as_list(c.metadata.get("base_model"))) for c in parsed) / n,
                "github": sum(bool(github_repos(c.links)) for c in parsed) / n}

    rows = [r.split("\t") for r in (corpus / "models" / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]]
    popular = [r[0] for r in rows if r[1].startswith(POPULAR)][::3]  # the real distribution, sampled
    real = shape([(corpus / "models" / m / "README.md").read_bytes() for m in popular])
    synth_corpus = synthetic_corpus(3000, seed=3)
    synth = shape([r.readme for r in synth_corpus.models.values()])
    for key in real:
        assert abs(real[key] - synth[key]) < 0.05, (key, real[key], synth[key])
    bases = Counter(str(r.card_data["base_model"]) for r in synth_corpus.models.values()
                    if "base_model" in r.card_data)
    top = bases.most_common(1)[0][1]
    assert top >= 10 * (sum(bases.values()) / len(bases))  # a popular base is shared far more than the average one


def test_github_licences_are_batched_through_graphql_with_a_token(tmp_path, monkeypatch, capsys):
    with serve(FIXTURES) as hub:
        assert _crawl(hub.url, tmp_path / "rest.db") == 0
        rest = dict(hub.stats)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    with serve(FIXTURES) as hub:
        monkeypatch.setenv("GITHUB_API_URL", hub.url)
        assert main(["crawl", "--db", str(tmp_path / "gql.db"), "--hf-endpoint", hub.url]) == 0
        gql = dict(hub.stats)
    # six repositories (one renamed: a 301) and one README
    assert rest["github_rest"] == 8 and "github_graphql" not in rest
    # six repositories, batched; through REST only the README of the training repository no rule knows
    assert gql.get("github_rest", 0) == 1 and 1 <= gql["github_graphql"] <= 3
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    main(["export", "--db", str(tmp_path / "rest.db"), "--out", str(a)])
    main(["export", "--db", str(tmp_path / "gql.db"), "--out", str(b)])
    assert a.read_text() == b.read_text()
