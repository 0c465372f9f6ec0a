"""``make bench``: every figure is a ratio measured side by side in one run; the last line is one JSON object.

The crawl benchmarks run the fixture hub (synthetic corpus shaped like ``shared/corpus``) and the
crawler as separate processes on loopback, with latency and server-side rate limits on, and compare
the crawl with (a) the time the minimum number of requests needs at those rates and (b) the naive
way (sequential ``model_info`` + ``ModelCard.load`` per model) against the same hub.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import load_rules
from harvester.parallel import default_workers

SAMPLES = ["apache-2.0", "MIT", "Apache License, Version 2.0", "CC BY-NC-SA 4.0", "llama2", "other",
           "https://www.apache.org/licenses/LICENSE-2.0", "MIT OR Apache-2.0", "bigscience-openrail-m", "gpl-3.0"]
PAGE = 1000


def bench_normalize(rounds: int = 20_000, cached: bool = True) -> float:
    """Strings per second: warm (the cache a crawl fills with its repeated strings) or uncached."""
    n = Normalizer(load_rules())
    fn = n.normalize if cached else n._normalize
    for s in SAMPLES:
        fn(s)
    t0 = time.perf_counter()
    for i in range(rounds):
        fn(SAMPLES[i % len(SAMPLES)])
    return rounds / (time.perf_counter() - t0)


def bench_identify_10kb_ms(rounds: int = 20) -> float:
    """Median milliseconds to identify a ~10 KB licence text (Apache-2.0 built from its rule phrases)."""
    n = Normalizer(load_rules())
    rule = n.rules.by_id["apache-2.0"]
    filler = " ".join(rule.text_all) + " "
    text = "Apache License\nVersion 2.0, January 2004\n" + (filler * (10_000 // len(filler) + 1))[:10_000]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        assert n._identify_text(text).spdx == "Apache-2.0"  # uncached: every round identifies
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


# -- crawl benchmarks ----------------------------------------------------------------------------
class Hub:
    """A fixture hub in its own process."""

    def __init__(self, synthetic: int, latency_ms: float = 0, rates: dict[str, float] | None = None) -> None:
        r = rates or {}
        cmd = [sys.executable, "-m", "harvester.cli", "fixture-hub", "--synthetic", str(synthetic),
               "--latency-ms", str(latency_ms), "--api-rate", str(r.get("hub_api", 0)),
               "--files-rate", str(r.get("hub_files", 0)), "--github-rate", str(r.get("github_rest", 0))]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError("fixture hub did not start")

    def stats(self) -> dict[str, int]:
        return httpx.get(f"{self.url}/_stats", timeout=30).json()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before) if k != "other"}


_LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - t0, "code": os.waitstatus_to_exitcode(status),
                  "maxrss_kb": usage.ru_maxrss}))
"""


def _measured(cmd: list[str]) -> tuple[float, int, float]:
    """(seconds, exit code, peak RSS in MB of the process and its children) of one command.

    Linux carries a parent's peak RSS into a child it forks (exec keeps the larger of the two), so the
    command is started by a small launcher process: the benchmark's own memory never counts as the command's.
    """
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return doc["seconds"], doc["code"], doc["maxrss_kb"] / 1024


def _crawl(hub: Hub, db: Path, extra: list[str]) -> tuple[float, int, float, dict[str, Any]]:
    """(seconds, exit code, peak RSS in MB, run summary) of one crawl process."""
    seconds, code, rss = _measured([sys.executable, "-m", "harvester.cli", "crawl", "--db", str(db),
                                    "--hf-endpoint", hub.url, "--github-endpoint", hub.url, *extra])
    out = subprocess.run([sys.executable, "-m", "harvester.cli", "runs", "show", "--db", str(db), "--json"],
                         capture_output=True, text=True, check=True).stdout
    return seconds, code, rss, json.loads(out)["summary"]


def _minimum(n: int, seed: int = 0) -> dict[str, int]:
    """The fewest requests any crawler needs: listing pages, one card per model, each dataset and repository
    once, and one README per distinct repository whose role neither the card nor ``/repos`` settles (one
    the rules do not know, linked from a card as code)."""
    from harvester.crawl import README_CONTEXTS
    from harvester.fixture_hub.synthetic import synthetic_corpus
    from harvester.harvest import RepoCard
    from harvester.read import read_card
    from harvester.score.knowledge import default_knowledge

    corpus = synthetic_corpus(n, seed)
    datasets: set[str] = set()
    repos: set[str] = set()
    readmes: set[str] = set()
    k = default_knowledge()
    for repo in corpus.models.values():
        cd = repo.card_data
        body = repo.readme.decode().split("---\n", 2)[-1]
        facts = read_card(RepoCard(repo.id, card_data=cd, body=body), k)
        datasets.update(m.hub_id for m in facts.datasets if m.hub_id)
        datasets.update(e.hub_id for e in facts.evaluations if e.hub_id)
        for link in facts.repos:
            repos.add(link.repo)
            if link.context in README_CONTEXTS and k.known_repo(link.repo) is None:
                readmes.add(link.repo)
        for lib in facts.libraries:
            known = k.library(lib.name)
            if known is not None:
                repos.add(known.repo)
    return {"hub_api": math.ceil(n / PAGE), "hub_files": n + len(datasets),
            "github_rest": len(repos) + len(readmes)}


def _naive(hub: Hub, n: int, models: list[str]) -> float:
    """Seconds per model for what typical scripts do: model_info then ModelCard.load, one model at a time."""
    code = f"""
import os, sys, time, json, tempfile
os.environ["HF_HOME"] = tempfile.mkdtemp()
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.errors import HfHubHTTPError
api = HfApi(endpoint={hub.url!r}, token=False)
def retry(fn):
    for _ in range(50):
        try:
            return fn()
        except HfHubHTTPError as e:
            if e.response is None or e.response.status_code != 429:
                raise
            time.sleep(float(e.response.headers.get("retry-after", "1")))
t0 = time.perf_counter()
for m in {models!r}:
    retry(lambda: api.model_info(m))
    retry(lambda: ModelCard.load(m, token=False))
print(time.perf_counter() - t0)
"""
    env = {**os.environ, "HF_ENDPOINT": hub.url}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"naive crawl failed: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1]) / len(models)


# The Hub's Enterprise plan (6,000 API and 50,000 resolver requests per 5 minutes, hub-api.md §1.7),
# and GitHub at 20 requests/s: a large paying user, the case where crawl speed matters most.
BENCH_RATES = {"hub_api": 6000 / 300, "hub_files": 50000 / 300, "github_rest": 20.0}


def bench_crawl(n: int = 2000, latency_ms: float = 20, workers: int = 8,
                rates: dict[str, float] | None = None, naive_models: int = 100) -> dict[str, Any]:
    rates = rates or BENCH_RATES
    need = _minimum(n)
    rate_args = [f"--rate={b}={r}" for b, r in rates.items()]
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(n, latency_ms, rates)
        try:
            db = Path(tmp) / "bench.db"
            s0 = hub.stats()
            cold_s, cold_code, _, cold = _crawl(hub, db, ["--workers", str(workers), *rate_args])
            s1 = hub.stats()
            warm_s, warm_code, _, warm = _crawl(hub, db, ["--workers", str(workers), *rate_args])
            s2 = hub.stats()
            from harvester.fixture_hub.synthetic import synthetic_corpus

            sample = list(synthetic_corpus(n).models)[:naive_models]
            naive_per_model = _naive(hub, n, sample)
            rescore = bench_rescore(db)
        finally:
            hub.close()
    cold_req, warm_req = _delta(s1, s0), _delta(s2, s1)
    served = {b: cold_req.get(b, 0) for b in ("hub_api", "hub_files", "github_rest", "github_graphql")}
    bound = max(need[b] / rates[b] for b in need if rates.get(b))
    return {
        "crawl_models": n, "crawl_exit_codes": [cold_code, warm_code], "bench_rates": rates,
        "latency_ms": latency_ms,
        "cold_seconds": round(cold_s, 2), "rate_limit_bound_seconds": round(bound, 2),
        "efficiency_vs_rate_limit_bound": round(bound / cold_s, 3),
        "requests_cold": served, "requests_minimum": need,
        "requests_over_minimum_cold": round(sum(served.values()) / sum(need.values()), 4),
        "api_requests_per_model_cold": round(served["hub_api"] / n, 4),
        "requests_per_model_warm": round(sum(v for k, v in warm_req.items() if not k.startswith(("fault_", "rate_")))
                                         / n, 4),
        "server_429s_cold": sum(v for k, v in cold_req.items() if k.startswith("rate_limited_")),
        "unrecovered_429": sum(1 for f in cold.get("failures", []) if "429" in f["reason"]),
        "naive_seconds_per_model": round(naive_per_model, 4),
        "speedup_vs_naive": round(naive_per_model * n / cold_s, 2),
        "warm_seconds": round(warm_s, 2), "warm_models_carried": warm.get("models_carried"),
        "rescore_models_per_s": round(rescore), "rescore_workers": default_workers(),
    }


def bench_rescore(db: Path) -> float:
    """Models per second that ``harvester rescore`` recomputes from stored facts and writes into a derived
    run (no network; workers as the command line would use them)."""
    from harvester.rescore import rescore_run
    from harvester.score.knowledge import load_knowledge
    from harvester.store.sqlite import Store

    n, k = Normalizer(load_rules()), load_knowledge()
    with Store(db) as store:
        run = store.report_run()
        rescore_run(store, store.derive_run(run, {}), k, n)  # facts of this reader version are stored already
        t0 = time.perf_counter()
        count, _ = rescore_run(store, store.derive_run(run, {}), k, n)
        return count / (time.perf_counter() - t0)


def _seed(db: Path, n: int) -> float:
    """A store that already holds a harvest of every synthetic model (what a cold crawl leaves).

    Seeding writes the rows directly (one scored template per licence) instead of crawling 100,000
    models over HTTP first: the warm run it prepares for is what is measured.
    """
    from harvester.fixture_hub.synthetic import synthetic_corpus
    from harvester.harvest import Harvest, RepoCard
    from harvester.read import read_harvest
    from harvester.score.knowledge import load_knowledge
    from harvester.score.scorer import score
    from harvester.store.sqlite import Store

    t0 = time.perf_counter()
    corpus = synthetic_corpus(n)
    k, norm = load_knowledge(), Normalizer(load_rules())
    templates: dict[str, Any] = {}
    with Store(db) as store:
        run = store.begin_run({"seeded": n})
        with store.group_commit(max_age_s=5.0):
            for mid, repo in corpus.models.items():
                lic = str(repo.card_data.get("license"))
                h = Harvest(RepoCard(mid, sha=repo.sha, card_data={"license": lic}, info={"tags": repo.tags()}))
                facts = read_harvest(h, k)
                if lic not in templates:
                    templates[lic] = score(facts, k, norm)
                store.save_model(run, h, *templates[lic], facts)
        store.finish_run(run, "complete", {"models_ok": n, "seeded": True})
    return time.perf_counter() - t0


def bench_scale(n: int = 100_000, workers: int = 8) -> dict[str, Any]:
    """A warm run over ``n`` models: how many it covers and the crawler's peak memory (RSS)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "scale.db"
        seed_s = _seed(db, n)
        hub = Hub(n)
        try:
            s0 = hub.stats()
            warm_s, warm_code, warm_rss, warm = _crawl(hub, db, ["--workers", str(workers)])
            req = _delta(hub.stats(), s0)
        finally:
            hub.close()
    return {"scale_models": warm.get("models_ok", 0), "scale_models_carried": warm.get("models_carried", 0),
            "scale_exit_code": warm_code, "scale_seed_seconds": round(seed_s, 1),
            "scale_warm_seconds": round(warm_s, 1), "scale_requests": sum(req.values()),
            "scale_peak_rss_mb": round(warm_rss)}


def _replicate(db: Path, copies: int) -> int:
    """Copies of every model of run 1 under new ids (``…-copy-N``): a store of ``copies`` × its models whose
    evidence, facts and cells are real crawl output. Returns the number of models stored."""
    import sqlite3

    con = sqlite3.connect(db)
    with con:
        for c in range(1, copies):
            con.execute("INSERT INTO harvests (run_id, model_id, model_sha, bundle) SELECT run_id, "
                        "model_id || ?, model_sha, bundle FROM harvests WHERE run_id = 1 AND model_id NOT LIKE "
                        "'%-copy-%'", (f"-copy-{c}",))
            con.execute("INSERT INTO cells (run_id, model_id, component, level, license, points, answers, evidence) "
                        "SELECT run_id, model_id || ?, component, level, license, points, answers, evidence FROM "
                        "cells WHERE run_id = 1 AND model_id NOT LIKE '%-copy-%'", (f"-copy-{c}",))
    count = con.execute("SELECT COUNT(*) FROM harvests WHERE run_id = 1").fetchone()[0]
    con.close()
    return int(count)


def _export(db: Path, args: list[str]) -> tuple[float, int, float]:
    """(seconds, exit code, peak RSS in MB of the export and its worker processes)."""
    return _measured([sys.executable, "-m", "harvester.cli", "export", "--db", str(db), "--run", "1", *args])


def bench_export(n: int = 100_000, seed_models: int = 2000) -> dict[str, Any]:
    """CycloneDX (one BOM per model) and MOF exports of ``n`` stored models: models per second, peak memory.

    The store holds ``seed_models`` synthetic models crawled through the fixture hub, copied under new ids
    up to ``n``: every model is read, scored for the MOF and serialised like a crawled one.
    """
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "export.db"
        hub = Hub(seed_models)
        try:
            _, code, _, _ = _crawl(hub, db, ["--workers", "8"])
        finally:
            hub.close()
        stored = _replicate(db, math.ceil(n / seed_models))
        cdx_s, cdx_code, cdx_rss = _export(db, ["--format", "cyclonedx", "--out", str(Path(tmp) / "boms")])
        written = sum(1 for _ in (Path(tmp) / "boms").rglob("*.cdx.json"))
        mof_s, mof_code, mof_rss = _export(db, ["--framework", "mof", "--format", "csv", "--out",
                                                str(Path(tmp) / "mof.csv")])
        mof_rows = len((Path(tmp) / "mof.csv").read_text().splitlines()) - 1
    return {"export_models": stored, "export_exit_codes": [code, cdx_code, mof_code],
            "export_cyclonedx_boms": written, "export_cyclonedx_models_per_s": round(written / cdx_s),
            "export_cyclonedx_peak_rss_mb": round(cdx_rss), "export_mof_models_per_s": round(mof_rows / mof_s),
            "export_mof_peak_rss_mb": round(mof_rss)}


def main() -> None:
    scale_n = int(os.environ.get("HARVESTER_BENCH_SCALE", "100000"))
    result: dict[str, Any] = {
        "normalize_per_s": round(bench_normalize()),
        "normalize_uncached_per_s": round(bench_normalize(5_000, cached=False)),
        "identify_10kb_ms": round(bench_identify_10kb_ms(), 2),
    }
    print(json.dumps(result), flush=True)
    result.update(bench_crawl())
    print(json.dumps(result), flush=True)
    if scale_n:
        result.update(bench_scale(scale_n))
        print(json.dumps(result), flush=True)
    export_n = int(os.environ.get("HARVESTER_BENCH_EXPORT", "100000"))
    if export_n:
        result.update(bench_export(export_n))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
