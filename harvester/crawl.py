"""The crawl: select models, harvest each (card, datasets, repositories, base models), score, store.

Every model is committed in its own transaction; a model that fails is recorded with its reason and
the crawl goes on. Datasets, repositories and base models are fetched once per run and shared.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from huggingface_hub.errors import HfHubHTTPError

from harvester.cards import as_list, decode, field_problems, github_repos, parse_card
from harvester.fetch.github import GithubSource
from harvester.fetch.hub import Gated, HubSource, NotFound
from harvester.harvest import GithubRepoEvidence, Harvest, RepoCard
from harvester.ids import InvalidId, check_github_id, check_hub_id, is_hub_id
from harvester.licenses.normalize import Normalizer, default_normalizer
from harvester.score.knowledge import Knowledge, default_knowledge
from harvester.score.scorer import score
from harvester.store.sqlite import Store

log = logging.getLogger("harvester.crawl")

MAX_DATASETS_PER_MODEL = 50
MAX_REPOS_PER_MODEL = 10
MAX_BASE_DEPTH = 3
MAX_LICENSE_CHARS = 512_000

EXIT_OK, EXIT_FATAL, EXIT_PARTIAL = 0, 1, 3


@dataclass
class Selection:
    models: list[str] | None = None  # explicit ids (--models FILE)
    authors: list[str] = field(default_factory=list)
    search: str | None = None
    filters: list[str] = field(default_factory=list)
    limit: int | None = None

    def as_params(self) -> dict[str, Any]:
        return {"models": len(self.models) if self.models is not None else None, "authors": self.authors,
                "search": self.search, "filters": self.filters, "limit": self.limit}


def read_model_list(lines: Iterable[str]) -> list[str]:
    """One model id per line; blank lines and ``#`` comments ignored; order kept, repeats dropped."""
    out: dict[str, None] = {}
    for line in lines:
        item = line.split("#", 1)[0].strip()
        if item:
            out.setdefault(item, None)
    return list(out)


class Crawler:
    def __init__(self, store: Store, hub: HubSource, github: GithubSource, *,
                 knowledge: Knowledge | None = None, normalizer: Normalizer | None = None) -> None:
        hub.on_retry = lambda exc: self._retried("hub", exc)
        github.on_retry = lambda exc: self._retried("github", exc)
        self.store = store
        self.hub = hub
        self.github = github
        self.k = knowledge or default_knowledge()
        self.n = normalizer or default_normalizer()
        self._datasets: dict[str, RepoCard] = {}
        self._repos: dict[str, GithubRepoEvidence] = {}
        self._models: dict[str, RepoCard] = {}
        self.counts: Counter[str] = Counter()
        self.problems: dict[str, list[str]] = {}  # model id -> card problems (partial parses)

    def _retried(self, source: str, exc: BaseException) -> None:
        self.counts[f"retries_{source}"] += 1
        log.info("retrying %s after %s: %s", source, type(exc).__name__, exc)

    def _problem(self, model_id: str, reason: str) -> None:
        self.problems.setdefault(model_id, []).append(reason)

    # -- selection ------------------------------------------------------------------------------
    def select(self, sel: Selection) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """(model id, listing info or None) pairs; listing info saves one API call per model."""
        if sel.models is not None:
            for mid in sel.models[: sel.limit] if sel.limit else sel.models:
                yield mid, None
            return
        authors: list[str | None] = list(sel.authors) or [None]
        for author in authors:
            for info in self.hub.list_models(author=author, search=sel.search, filter=sel.filters or None,
                                             limit=sel.limit):
                yield info["id"], info

    # -- harvesting -----------------------------------------------------------------------------
    def _hub_card(self, repo_id: str, info: dict[str, Any] | None = None, kind: str = "model") -> RepoCard:
        url = self.hub.model_url(repo_id) if kind == "model" else self.hub.dataset_url(repo_id)
        try:
            check_hub_id(repo_id)
            if info is None:
                info = self.hub.model_info(repo_id) if kind == "model" else self.hub.dataset_info(repo_id)
        except InvalidId as exc:
            return RepoCard(repo_id, status="invalid", reason=str(exc), url=None)
        except NotFound as exc:
            return RepoCard(repo_id, status="not_found", reason=str(exc), url=url)
        except Gated as exc:
            return RepoCard(repo_id, status="gated", reason=str(exc), url=url)
        card_data = dict(info.get("cardData") or {})
        if info.get("client_error"):
            self._problem(repo_id, str(info["client_error"]))
        repo = RepoCard(repo_id, sha=info.get("sha"), url=url,
                        info={k: v for k, v in info.items() if k != "cardData"},
                        card_data=card_data, card_source="api" if card_data else None)
        if kind != "model":
            return repo  # dataset facts come from the API's cardData: one request per dataset
        try:
            readme = self.hub.readme(repo_id, kind=kind)
        except NotFound:
            repo.card_error = "README.md not found"
            return repo
        except Gated:
            repo.card_error = "README.md gated; license taken from the API's cardData"
            return repo
        card = parse_card(readme.data or b"")
        if readme.truncated:
            card = replace(card, error="; ".join(filter(None, [card.error, "card larger than the read limit: "
                                                                             "only its beginning was read"])))
        repo.body, repo.links, repo.card_error = card.body, list(card.links), card.error
        if not card_data and card.metadata:
            repo.card_data = card.metadata
            repo.card_source = "readme-recovered" if card.recovered else "readme"
        self._license_file(repo)
        return repo

    def _license_file(self, repo: RepoCard) -> None:
        """``license_link: LICENSE`` points inside the repository: read that file too."""
        link = repo.card_data.get("license_link")
        if not isinstance(link, str) or not link.strip() or "://" in link:
            return
        path = link.strip().lstrip("./").split("#", 1)[0]
        if path.startswith("blob/main/"):
            path = path[len("blob/main/"):]
        try:
            found = self.hub.file(repo.id, path)
        except (NotFound, Gated) as exc:
            repo.license_file = path
            repo.card_error = "; ".join(filter(None, [repo.card_error, str(exc)]))
            return
        repo.license_file = path
        repo.license_text = decode(found.data or b"")[:MAX_LICENSE_CHARS]

    def _dataset(self, hub_id: str, requested_as: str) -> RepoCard:
        if hub_id not in self._datasets:
            ds = self._hub_card(hub_id, kind="dataset")
            ds.requested_as = requested_as
            self._datasets[hub_id] = ds
            self.counts["datasets_fetched"] += 1
        return self._datasets[hub_id]

    def _github(self, full_name: str) -> GithubRepoEvidence:
        key = full_name.lower()
        if key in self._repos:
            return self._repos[key]
        ev = GithubRepoEvidence(full_name, url=f"https://github.com/{full_name}")
        try:
            check_github_id(full_name)
            found = self.github.license(full_name)
            if found is None:
                meta = self.github.repo(full_name)
                if meta is None:
                    ev.status, ev.reason = "not_found", "GitHub answered 404"
                else:
                    lic = meta.get("license") or {}
                    ev.spdx_id = lic.get("spdx_id")
                    ev.moved_to = meta.get("full_name") if meta.get("full_name", full_name).lower() != key else None
            else:
                path, text, lic = found
                ev.license_path, ev.license_text = path, text
                ev.spdx_id = (lic or {}).get("spdx_id")
        except InvalidId as exc:
            ev.status, ev.reason = "invalid", str(exc)
        except httpx.HTTPError as exc:
            ev.status, ev.reason = "error", f"{type(exc).__name__}: {exc}"
        self._repos[key] = ev
        self.counts["repos_fetched"] += 1
        return ev

    def _collect(self, repo: RepoCard, h: Harvest, depth: int) -> None:
        """Fetch what a model's card points to into the harvest: datasets, repos, base models."""
        declared = as_list(repo.card_data.get("datasets"))
        if len(declared) > MAX_DATASETS_PER_MODEL:
            self._problem(h.model_id, f"{repo.id}: {len(declared)} datasets declared; the first "
                                      f"{MAX_DATASETS_PER_MODEL} were read")
        names = declared[:MAX_DATASETS_PER_MODEL] + repo.benchmark_names()
        for name in dict.fromkeys(names[: MAX_DATASETS_PER_MODEL * 2]):
            hub_id, alias = self.k.resolve_dataset(name)
            if hub_id and hub_id not in h.datasets:
                h.datasets[hub_id] = self._dataset(hub_id, name)
        wanted = github_repos(repo.links)[:MAX_REPOS_PER_MODEL]
        lib = self.k.libraries.get(repo.library_name)
        if lib is not None:
            wanted.append(lib.repo)
        for full in wanted:
            if full not in h.repos:
                h.repos[full] = self._github(full)
        if depth >= MAX_BASE_DEPTH:
            return
        for base in repo.lineage()[1]:
            if base in h.bases or not is_hub_id(base):
                continue
            if base not in self._models:
                self._models[base] = self._hub_card(base)
                self.counts["base_models_fetched"] += 1
            h.bases[base] = self._models[base]
            if h.bases[base].status == "ok":
                self._collect(h.bases[base], h, depth + 1)

    def harvest(self, model_id: str, info: dict[str, Any] | None = None) -> Harvest:
        model = self._hub_card(model_id, info)
        if model.status != "ok":
            raise HarvestFailure("model", model.reason or model.status)
        if model.card_error:
            self._problem(model_id, f"README.md: {model.card_error}")
        for problem in field_problems(model.card_data):
            self._problem(model_id, f"README.md front matter: {problem}")
        self._models[model_id] = model
        h = Harvest(model)
        self._collect(model, h, 0)
        return h

    # -- the run --------------------------------------------------------------------------------
    def run(self, sel: Selection, params: dict[str, Any] | None = None) -> tuple[int, int]:
        """Crawl a selection into a new run. Returns (run id, exit code)."""
        with self.store.crawl_lock():
            return self._run(sel, params)

    def _run(self, sel: Selection, params: dict[str, Any] | None) -> tuple[int, int]:
        run_id = self.store.begin_run({**sel.as_params(), **(params or {})})
        t0 = time.monotonic()
        ok = failed = 0
        status = "failed"
        try:
            for model_id, info in self.select(sel):
                try:
                    h = self.harvest(model_id, info)
                    cells, review = score(h, self.k, self.n)
                    self.store.save_model(run_id, h, cells, review)
                    ok += 1
                    log.info("harvested %s", model_id, extra={"event": "model_ok", "model": model_id})
                except HarvestFailure as exc:
                    failed += 1
                    self.store.record_failure(run_id, model_id, exc.stage, exc.reason)
                    log.warning("failed %s: %s", model_id, exc.reason)
                except (httpx.HTTPError, HfHubHTTPError, OSError, ValueError) as exc:
                    failed += 1
                    self.store.record_failure(run_id, model_id, "fetch", f"{type(exc).__name__}: {exc}")
                    log.warning("failed %s: %s", model_id, exc)
                except Exception as exc:  # a crawl survives any single model's failure
                    failed += 1
                    self.store.record_failure(run_id, model_id, "internal", f"{type(exc).__name__}: {exc}")
                    log.exception("internal error on %s", model_id)
            status = "partial" if failed else "ok"
        finally:
            summary = {"models_ok": ok, "models_failed": failed, "seconds": round(time.monotonic() - t0, 3),
                       **dict(self.counts), "failures": self.store.failures(run_id),
                       "card_problems": [{"model_id": m, "reasons": r} for m, r in sorted(self.problems.items())]}
            self.store.finish_run(run_id, status, summary)
        return run_id, (EXIT_PARTIAL if failed else EXIT_OK)


class HarvestFailure(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason
