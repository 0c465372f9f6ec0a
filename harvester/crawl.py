"""Per-model work of a crawl: harvest one model (card, datasets, repositories, base models) and score it.

Datasets, repositories and base models are fetched once per run and shared between the models
that cite them. Which models are crawled is ``harvester.selection``; the run loop that feeds them to
workers, commits and stops is ``harvester.pipeline``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import httpx

from harvester.cards import as_list, decode, field_problems, parse_card
from harvester.fetch.github import GRAPHQL_BATCH, GithubSource, GraphqlRepo
from harvester.fetch.guard import HostDown, HostGuard
from harvester.fetch.hub import Gated, HubSource, NotFound
from harvester.fetch.limits import RateLimiter
from harvester.harvest import GithubRepoEvidence, Harvest, RepoCard
from harvester.ids import InvalidId, check_github_id, check_hub_id, is_hub_id
from harvester.licenses.normalize import Normalizer, default_normalizer
from harvester.read import read_card, read_harvest
from harvester.read.facts import CardFacts, Facts
from harvester.score.cells import Cell, ReviewItem
from harvester.score.knowledge import Knowledge, default_knowledge
from harvester.score.scorer import score
from harvester.store.sqlite import Store

log = logging.getLogger("harvester.crawl")

MAX_DATASETS_PER_MODEL = 50
MAX_REPOS_PER_MODEL = 10
MAX_BASE_DEPTH = 3
MAX_LICENSE_CHARS = 512_000
MODEL_CACHE = 20_000  # harvested model cards kept for reuse as base models
MAX_BASE_BODY = 100_000  # a base model's prose kept in a bundle: its training sections are read
MAX_README_CHARS = 200_000
README_CONTEXTS = {"training", "training_section", "code", "usage"}
"""A repository linked in these places, and unknown to the rules, is read through its README."""


class HarvestFailure(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason


class _Once:
    """Each key computed once per run, by whichever worker asks first; the others wait for it."""

    def __init__(self, maxsize: int | None = None) -> None:
        self.items: OrderedDict[str, Future[Any]] = OrderedDict()
        self.lock = threading.Lock()
        self.maxsize = maxsize

    def get(self, key: str, fn: Callable[[], Any]) -> Any:
        with self.lock:
            fut = self.items.get(key)
            owner = fut is None
            if fut is None:
                fut = Future()
                self.items[key] = fut
                if self.maxsize and len(self.items) > self.maxsize:
                    old = next(iter(self.items))
                    if self.items[old].done():
                        del self.items[old]
            else:
                self.items.move_to_end(key)
        if owner:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)
        return fut.result()

    def put(self, key: str, value: Any) -> None:
        fut: Future[Any] = Future()
        fut.set_result(value)
        with self.lock:
            self.items.setdefault(key, fut)


class _GraphqlBatcher:
    """Collects the GitHub repositories workers ask for and looks them up GRAPHQL_BATCH at a time."""

    def __init__(self, github: GithubSource, window_s: float = 0.05) -> None:
        self.github = github
        self.window_s = window_s
        self.queue: queue.Queue[tuple[str, Future[Any]] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="graphql-batcher", daemon=True)
        self.thread.start()

    def lookup(self, name: str) -> GraphqlRepo | None:
        fut: Future[Any] = Future()
        self.queue.put((name, fut))
        return fut.result()

    def close(self, wait_s: float = 30.0) -> None:
        self.queue.put(None)
        self.thread.join(timeout=wait_s)

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.window_s
            while len(batch) < GRAPHQL_BATCH:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self.queue.put(None)
                    break
                batch.append(item)
            names = list(dict.fromkeys(n for n, _ in batch))
            try:
                found = self.github.graphql_licenses(names)
                for name, fut in batch:
                    fut.set_result(found.get(name))
            except Exception as exc:  # every waiting worker sees the failure
                for _, fut in batch:
                    fut.set_exception(exc)


class Crawler:
    """Harvests and scores single models, from worker threads; shares what several models cite."""

    def __init__(self, store: Store, hub: HubSource, github: GithubSource, *,
                 knowledge: Knowledge | None = None, normalizer: Normalizer | None = None,
                 workers: int = 8, limiter: RateLimiter | None = None, outage_s: float = 10.0) -> None:
        self.store = store
        self.hub = hub
        self.github = github
        self.k = knowledge or default_knowledge()
        self.n = normalizer or default_normalizer()
        self.workers = max(1, workers)
        self.limiter = limiter or RateLimiter({})
        self.stop = threading.Event()  # set when the run stops: no request starts, every wait ends
        self.guards: dict[str, HostGuard] = {}
        for source in (hub, github):
            source.guard = self.guards.setdefault(source.endpoint,
                                                  HostGuard(source.endpoint, self.stop, window_s=outage_s))
        hub.on_retry = lambda exc: self._retried("hub", exc)
        github.on_retry = lambda exc: self._retried("github", exc)
        hub.on_request = github.on_request = self._request
        self._datasets = _Once()
        self._repos = _Once()
        self._readmes = _Once()
        self._models = _Once(MODEL_CACHE)
        self._facts = _Once(MODEL_CACHE)  # each card read once per run, whoever cites it
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.problems: dict[str, list[str]] = {}  # model id -> card problems (partial parses)
        self._cache_updates: list[tuple[str, str, bytes]] = []
        self._graphql: _GraphqlBatcher | None = None

    # -- bookkeeping (any thread) -----------------------------------------------------------------
    def _request(self, bucket: str) -> None:
        self.limiter.acquire(bucket, self.stop)
        with self._lock:
            self.requests[bucket] += 1

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def _retried(self, source: str, exc: BaseException) -> None:
        self._count(f"retries_{source}")
        log.info("retrying %s after %s: %s", source, type(exc).__name__, exc)

    def _problem(self, model_id: str, reason: str) -> None:
        with self._lock:
            self.problems.setdefault(model_id, []).append(reason)

    # -- harvesting (worker threads) --------------------------------------------------------------
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
        sha = info.get("sha")
        url = self.hub.model_url(repo_id, sha) if kind == "model" else self.hub.dataset_url(repo_id, sha)
        repo = RepoCard(repo_id, sha=sha, url=url,
                        info={k: v for k, v in info.items() if k not in ("cardData", "client_error")},
                        card_data=card_data, card_source="api" if card_data else None)
        if kind != "model":
            return repo  # dataset facts come from the API's cardData: one request per dataset
        key = f"hf:model:{repo_id}:README.md"
        cached = self.store.cache_get(key)
        try:
            readme = self.hub.readme(repo_id, etag=cached[0] if cached else None)
        except NotFound:
            repo.card_error = "README.md not found"
            return repo
        except Gated:
            repo.card_error = "README.md gated; license taken from the API's cardData"
            return repo
        if readme.status == 304 and cached:
            data: bytes = cached[1]
            self._count("cards_not_modified")
        else:
            data = readme.data or b""
            if readme.etag and not readme.truncated:
                with self._lock:
                    self._cache_updates.append((key, readme.etag, data))
        card = parse_card(data, links=False)  # the reader reads links with their context
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
        repo.license_url = self.hub.model_url(repo.id, repo.sha, path)
        repo.license_text = decode(found.data or b"")[:MAX_LICENSE_CHARS]

    def _dataset(self, hub_id: str, requested_as: str) -> RepoCard:
        def fetch() -> RepoCard:
            self._count("datasets_fetched")
            ds = self._dataset_card(hub_id)
            ds.requested_as = requested_as
            return ds

        return self._datasets.get(hub_id, fetch)

    def _dataset_card(self, hub_id: str) -> RepoCard:
        """A dataset's card through ``resolve`` (the files bucket, the larger allowance); the API only
        when there is no README to read."""
        try:
            check_hub_id(hub_id)
            readme = self.hub.readme(hub_id, kind="dataset")
        except InvalidId as exc:
            return RepoCard(hub_id, status="invalid", reason=str(exc))
        except NotFound as exc:
            if exc.repo_missing:
                return RepoCard(hub_id, status="not_found", reason=str(exc), url=self.hub.dataset_url(hub_id))
            return self._hub_card(hub_id, kind="dataset")
        except Gated:
            return self._hub_card(hub_id, kind="dataset")
        card = parse_card(readme.data or b"", links=False)
        url = self.hub.dataset_url(hub_id, readme.commit)
        return RepoCard(hub_id, sha=readme.commit, url=url, card_data=card.metadata,
                        card_source="readme" + ("-recovered" if card.recovered else ""),
                        card_error=card.error, body=card.body[:20_000])

    def _github(self, full_name: str) -> GithubRepoEvidence:
        return self._repos.get(full_name.lower(), lambda: self._fetch_github(full_name))

    def _fetch_github(self, full_name: str) -> GithubRepoEvidence:
        self._count("repos_fetched")
        ev = GithubRepoEvidence(full_name, url=f"https://github.com/{full_name}")
        key = f"gh:{full_name.lower()}:license"
        try:
            check_github_id(full_name)
            if self._graphql is not None:
                return self._github_via_graphql(full_name, ev, key)
            # One request for most repositories: GitHub's own detection names SPDX licences. The
            # licence file is read only when GitHub could not name it ("other", NOASSERTION).
            repo_key = f"gh:{full_name.lower()}:repo"
            cached_repo = self.store.cache_get(repo_key)
            status, meta, repo_etag = self.github.repo(full_name, etag=cached_repo[0] if cached_repo else None)
            if status == 304 and cached_repo:
                self._count("github_not_modified")  # GitHub does not count a 304 against the limit
                meta = json.loads(cached_repo[1])
            elif meta is not None and repo_etag:
                slim = {k: meta.get(k) for k in ("full_name", "license", "description", "topics")}
                with self._lock:
                    self._cache_updates.append((repo_key, repo_etag, json.dumps(slim).encode()))
            if meta is None:
                ev.status, ev.reason = "not_found", "GitHub answered 404"
                return ev
            moved = meta.get("full_name")
            ev.moved_to = moved if isinstance(moved, str) and moved.lower() != full_name.lower() else None
            ev.description = meta.get("description") if isinstance(meta.get("description"), str) else None
            ev.topics = [str(t) for t in meta.get("topics") or [] if isinstance(t, str)][:30]
            lic = meta.get("license") or {}
            ev.spdx_id = lic.get("spdx_id")
            if not lic or (ev.spdx_id and ev.spdx_id not in ("NOASSERTION", "OTHER")):
                return ev
            self._read_license_file(ev, full_name, key)
        except InvalidId as exc:
            ev.status, ev.reason = "invalid", str(exc)
        except httpx.HTTPError as exc:
            ev.status, ev.reason = "error", f"{type(exc).__name__}: {exc}"
        return ev

    def _github_via_graphql(self, full_name: str, ev: GithubRepoEvidence, key: str) -> GithubRepoEvidence:
        """With a token: licences of many repositories per GraphQL request; the file only when unnamed."""
        found = self._graphql.lookup(full_name) if self._graphql else None
        if found is None:
            ev.status, ev.reason = "not_found", "GitHub GraphQL: could not resolve the repository"
            return ev
        if found.name_with_owner.lower() != full_name.lower():
            ev.moved_to = found.name_with_owner
        ev.spdx_id = found.spdx_id
        ev.description, ev.topics = found.description, list(found.topics)
        if found.pseudo or found.spdx_id in ("NOASSERTION", "OTHER"):
            self._read_license_file(ev, full_name, key)
        return ev

    def _read_license_file(self, ev: GithubRepoEvidence, full_name: str, key: str) -> None:
        """The licence file itself, conditional on the ETag kept from an earlier run."""
        cached = self.store.cache_get(key)
        ans = self.github.license(ev.moved_to or full_name, etag=cached[0] if cached else None)
        if ans.status == 304 and cached:
            self._count("github_not_modified")
            body = json.loads(cached[1])
            ev.license_path, ev.license_text = body["path"], body["text"]
        elif ans.path is not None:
            ev.license_path, ev.license_text = ans.path, ans.text
            if ans.etag:
                body = json.dumps({"path": ev.license_path, "text": ev.license_text})
                with self._lock:
                    self._cache_updates.append((key, ans.etag, body.encode()))

    def _model(self, model_id: str, info: dict[str, Any] | None = None, as_base: bool = False) -> RepoCard:
        """A model card, fetched once per run whether it is crawled itself or needed as a base."""
        def fetch() -> RepoCard:
            if as_base:
                self._count("base_models_fetched")
            return self._hub_card(model_id, info)

        return self._models.get(model_id, fetch)

    def _card_facts(self, repo: RepoCard) -> CardFacts:
        return self._facts.get(f"{repo.url or repo.id}@{repo.sha}", lambda: read_card(repo, self.k))

    def _collect(self, repo: RepoCard, h: Harvest, depth: int, cards: dict[str, CardFacts]) -> None:
        """Fetch what a card points to into the harvest: datasets, repositories, base models."""
        facts = cards.setdefault(repo.url or repo.id, self._card_facts(repo))
        declared = as_list(repo.card_data.get("datasets"))
        if len(declared) > MAX_DATASETS_PER_MODEL:
            self._problem(h.model_id, f"{repo.id}: {len(declared)} datasets declared; the first "
                                      f"{MAX_DATASETS_PER_MODEL} were read")
        wanted_ds = [m.hub_id for m in facts.datasets if m.hub_id] + [e.hub_id for e in facts.evaluations if e.hub_id]
        for hub_id in list(dict.fromkeys(wanted_ds))[: MAX_DATASETS_PER_MODEL * 2]:
            if hub_id not in h.datasets:
                h.datasets[hub_id] = self._dataset(hub_id, hub_id)
                if h.datasets[hub_id].status == "ok":
                    cards.setdefault(h.datasets[hub_id].url or hub_id, self._card_facts(h.datasets[hub_id]))
        links: dict[str, set[str]] = {}
        for link in facts.repos:
            links.setdefault(link.repo, set()).add(link.context)
        for lib in facts.libraries:
            known = self.k.library(lib.name)
            if known is not None:
                links.setdefault(known.repo, set()).add("library")
        for full in list(links)[:MAX_REPOS_PER_MODEL + 4]:
            if full in h.repos:
                continue
            ev = self._github(full)
            if ev.status == "ok" and self.k.known_repo(full) is None and links[full] & README_CONTEXTS:
                ev = self._with_readme(ev)
            h.repos[full] = ev
        if depth >= MAX_BASE_DEPTH:
            return
        for ref in facts.bases:
            base = ref.id
            if base in h.bases or not is_hub_id(base):
                continue
            fetched = self._model(base, as_base=True)
            h.bases[base] = replace(fetched, body=fetched.body[:MAX_BASE_BODY])
            if h.bases[base].status == "ok":
                self._collect(h.bases[base], h, depth + 1, cards)

    def _with_readme(self, ev: GithubRepoEvidence) -> GithubRepoEvidence:
        """A repository's README, read once per run: what the repository says it is."""
        name = ev.moved_to or ev.full_name
        found = self._readmes.get(name.lower(), lambda: self._fetch_readme(name))
        return replace(ev, readme_path=found[0], readme_text=found[1]) if found else ev

    def _fetch_readme(self, full_name: str) -> tuple[str, str] | None:
        key = f"gh:{full_name.lower()}:readme"
        cached = self.store.cache_get(key)
        try:
            ans = self.github.readme(full_name, etag=cached[0] if cached else None)
        except (InvalidId, httpx.HTTPError) as exc:
            log.info("README of %s not read: %s", full_name, exc)
            return None
        self._count("readmes_fetched")
        if ans.status == 304 and cached:
            self._count("github_not_modified")
            body = json.loads(cached[1])
            return body["path"], body["text"]
        if ans.path is None or ans.text is None:
            return None
        text = ans.text[:MAX_README_CHARS]
        if ans.etag:
            with self._lock:
                self._cache_updates.append((key, ans.etag, json.dumps({"path": ans.path, "text": text}).encode()))
        return ans.path, text

    def _card_problems(self, model: RepoCard) -> None:
        if model.card_error:
            self._problem(model.id, f"README.md: {model.card_error}")
        for problem in field_problems(model.card_data):
            self._problem(model.id, f"README.md front matter: {problem}")

    def _harvest(self, model: RepoCard) -> tuple[Harvest, dict[str, CardFacts]]:
        h = Harvest(model)
        cards: dict[str, CardFacts] = {}
        self._collect(model, h, 0, cards)
        return h, cards

    def _work(self, model_id: str, info: dict[str, Any] | None
              ) -> tuple[Harvest, Facts, dict[str, Cell], list[ReviewItem]]:
        model = self._model(model_id, info)
        if model.status != "ok":
            raise HarvestFailure("model", model.reason or model.status)
        self._card_problems(model)
        h, cards = self._harvest(model)
        facts = read_harvest(h, self.k, cards)
        cells, review = score(facts, self.k, self.n)
        return h, facts, cells, review

    # -- run lifecycle (main thread) ------------------------------------------------------------------
    def open(self) -> None:
        """Start the helpers a run needs: with a GitHub token, the GraphQL batcher."""
        if self.github.token:
            self._graphql = _GraphqlBatcher(self.github)

    def close(self, wait_s: float = 30.0) -> None:
        """Stop the helpers; a stopping run waits for none of them (they are daemon threads)."""
        self.stop.set()
        if self._graphql is not None:
            self._graphql.close(wait_s)
            self._graphql = None

    def down(self) -> HostDown | None:
        """The first host declared down, if any: the run stops as one fatal error."""
        return next((g.down for g in self.guards.values() if g.down is not None), None)

    def take_problems(self, model_id: str) -> list[str]:
        with self._lock:
            return self.problems.pop(model_id, [])

    def _flush_cache(self) -> None:
        with self._lock:
            updates, self._cache_updates = self._cache_updates, []
        if updates:
            self.store.cache_put(updates)

