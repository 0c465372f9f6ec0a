"""Hugging Face Hub source, through the real ``huggingface_hub`` client (1.x, on httpx)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import DatasetInfo, ModelInfo
from huggingface_hub.utils import get_session, hf_raise_for_status

from harvester.fetch.guard import HostGuard
from harvester.fetch.retry import BadResponse, RetryPolicy, call_with_retries, expect_json, response_of
from harvester.ids import check_hub_id, check_revision

PUBLIC_ENDPOINT = "https://huggingface.co"
MAX_FILE_BYTES = 2_000_000
"""Cards and licence files are read up to this size: a huge card costs bounded memory and time."""
PAGE_SIZE = 1000
MIN_PAGE_SIZE = 50
_SAFE_FILE = re.compile(r"[A-Za-z0-9._-][A-Za-z0-9._/ -]{0,200}")


class NotFound(Exception):
    """The repository or file does not exist (or is private to us)."""

    def __init__(self, message: str, repo_missing: bool = False) -> None:
        super().__init__(message)
        self.repo_missing = repo_missing  # the Hub said RepoNotFound: asking its API too would be a wasted call


class Gated(Exception):
    """The repository is gated and our token has no access."""


@dataclass(frozen=True)
class Readme:
    status: int  # 200 or 304
    data: bytes | None
    etag: str | None
    commit: str | None
    truncated: bool = False


def _info_dict(obj: Any) -> dict[str, Any]:
    """The API fields the scorer reads, from the client's ModelInfo/DatasetInfo."""
    card = getattr(obj, "card_data", None)
    return {
        "id": obj.id,
        "sha": getattr(obj, "sha", None),
        "author": getattr(obj, "author", None),
        "gated": getattr(obj, "gated", None),
        "private": getattr(obj, "private", None),
        "disabled": getattr(obj, "disabled", None),
        "downloads": getattr(obj, "downloads", None),
        "tags": list(getattr(obj, "tags", None) or []),
        "library_name": getattr(obj, "library_name", None),
        "pipeline_tag": getattr(obj, "pipeline_tag", None),
        "createdAt": obj.created_at.isoformat() if getattr(obj, "created_at", None) else None,
        "lastModified": obj.last_modified.isoformat() if getattr(obj, "last_modified", None) else None,
        "siblings": [s.rfilename for s in (getattr(obj, "siblings", None) or [])],
        "cardData": card.to_dict() if card is not None else {},
    }


def _safe_info(item: dict[str, Any], cls: type = ModelInfo) -> dict[str, Any]:
    """Parse an API item with the client's class; card data the client chokes on is kept raw.

    ``huggingface_hub`` raises on some malformed front matter (``tags: 5``); one such card must not
    stop a listing of thousands, so the item is parsed without it and the raw value is kept.
    """
    try:
        return _info_dict(cls(**item))
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        rest = {k: v for k, v in item.items() if k not in ("cardData", "card_data")}
        info = _info_dict(cls(**rest))
        raw = item.get("cardData")
        info["cardData"] = raw if isinstance(raw, dict) else {}
        info["client_error"] = f"huggingface_hub could not parse cardData: {type(exc).__name__}: {exc}"
        return info


def _translate(exc: Exception, what: str) -> Exception:
    if isinstance(exc, GatedRepoError):
        return Gated(f"{what}: gated, no access with this token")
    if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError)):
        return NotFound(f"{what}: not found")
    resp = response_of(exc)
    if resp is not None and resp.status_code in (401, 404):
        return NotFound(f"{what}: not found (HTTP {resp.status_code})")
    return exc


class HubSource:
    """Model and dataset facts from the Hub. One instance per crawl; it holds no per-model state."""

    def __init__(self, endpoint: str | None = None, token: str | None = None,
                 policy: RetryPolicy | None = None, on_retry: Callable[[BaseException], None] | None = None) -> None:
        self.endpoint = (endpoint or PUBLIC_ENDPOINT).rstrip("/")
        self.token = token  # sent only to self.endpoint
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.on_request: Callable[[str], None] | None = None  # rate limiter + request counter, per bucket
        self.guard: HostGuard | None = None  # stop promptly; a host that is down is one fatal error
        self.api = HfApi(endpoint=self.endpoint, token=token or False)

    def _before(self, bucket: str) -> None:
        if self.on_request is not None:
            self.on_request(bucket)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _retry(self, fn: Callable[[], Any], what: str) -> Any:
        return call_with_retries(fn, self.policy, on_retry=self.on_retry, guard=self.guard, what=what)

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return self._retry(fn, what)
        except (HfHubHTTPError, httpx.HTTPStatusError) as exc:
            raise _translate(exc, what) from exc

    def model_info(self, repo_id: str) -> dict[str, Any]:
        return self._repo_info("model", repo_id)

    def dataset_info(self, repo_id: str) -> dict[str, Any]:
        return self._repo_info("dataset", repo_id)

    def _repo_info(self, kind: str, repo_id: str) -> dict[str, Any]:
        check_hub_id(repo_id)
        t = self.policy.timeout
        fn = self.api.model_info if kind == "model" else self.api.dataset_info
        what = f"{kind} {repo_id}"
        try:
            def call() -> Any:
                self._before("hub_api")
                return fn(repo_id, timeout=t)

            return _info_dict(self._call(call, what))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            if isinstance(exc, BadResponse):
                raise
            # the client could not parse this repo's metadata: read the same JSON and parse it leniently
            url = f"{self.endpoint}/api/{kind}s/{repo_id}"

            def get() -> Any:
                self._before("hub_api")
                resp = get_session().get(url, headers=self._headers(), timeout=t)
                hf_raise_for_status(resp)
                return expect_json(resp)

            item = self._call(get, what)
            return _safe_info(item, ModelInfo if kind == "model" else DatasetInfo)

    def list_models(self, *, author: str | None = None, search: str | None = None,
                    filter: list[str] | None = None, limit: int | None = None,
                    sort: str | None = None, on_total: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
        """One listing request per page, with card data and sha: no per-model info call needed.

        Pages are fetched with the client's session and parsed by its ``ModelInfo``; each page is
        retried on its own, so a fault on page 40 does not restart the listing. ``on_total`` hears the
        listing's size when the server sends ``X-Total-Count`` (for a progress bar). A page with card
        data takes the server time in proportion to its size: one that times out is asked again at
        half the size (down to ``MIN_PAGE_SIZE``) instead of being repeated until the retries run out.
        """
        size = min(limit or PAGE_SIZE, PAGE_SIZE)
        params: dict[str, Any] = {"full": "true", "cardData": "true", "limit": size}
        if author:
            params["author"] = author
        if search:
            params["search"] = search
        if filter:
            params["filter"] = filter
        if sort:
            params["sort"] = sort
        url: str | None = f"{self.endpoint}/api/models"
        seen = 0
        session = get_session()
        while url:
            def get(page_url: str = url, first: bool = seen == 0) -> tuple[list[dict[str, Any]], str | None]:
                nonlocal size
                self._before("hub_api")
                target = httpx.URL(page_url, params=params) if first else httpx.URL(page_url)
                target = target.copy_set_param("limit", size)
                try:
                    resp = session.get(target, headers=self._headers(), timeout=self.policy.timeout)
                except httpx.TimeoutException:
                    size = max(MIN_PAGE_SIZE, size // 2)
                    raise
                hf_raise_for_status(resp)
                items = expect_json(resp)
                if not isinstance(items, list):
                    raise BadResponse(f"{resp.request.url.path}: a listing page is not a JSON array")
                total = resp.headers.get("x-total-count", "")
                if first and on_total is not None and total.isdigit():
                    on_total(int(total))
                return items, resp.links.get("next", {}).get("url")

            items, url = self._call(get, "model listing")
            for item in items:
                yield _safe_info(item)
                seen += 1
                if limit is not None and seen >= limit:
                    return

    def readme(self, repo_id: str, *, kind: str = "model", revision: str = "main",
               etag: str | None = None) -> Readme:
        """GET the card through ``resolve`` (the files bucket), conditional on a known ETag."""
        return self.file(repo_id, "README.md", kind=kind, revision=revision, etag=etag)

    def file(self, repo_id: str, filename: str, *, kind: str = "model", revision: str = "main",
             etag: str | None = None) -> Readme:
        """GET one file of a repository through ``resolve``, reading at most ``MAX_FILE_BYTES``."""
        check_hub_id(repo_id)
        check_revision(revision)
        if not _SAFE_FILE.fullmatch(filename) or ".." in filename:
            raise NotFound(f"{kind} {repo_id}: unsafe file name {filename!r}")
        repo_type = None if kind == "model" else kind
        url = hf_hub_url(repo_id, filename, repo_type=repo_type, revision=revision, endpoint=self.endpoint)
        headers = {**self._headers(), **({"If-None-Match": etag} if etag else {})}

        def get() -> Readme:
            self._before("hub_files")
            with get_session().stream("GET", url, headers=headers, follow_redirects=True,
                                      timeout=self.policy.timeout) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    resp.raise_for_status()
                if resp.status_code == 200 and "html" in resp.headers.get("content-type", ""):
                    raise BadResponse(f"{filename}: an HTML page instead of the file")
                chunks, size, truncated = [], 0, False
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= MAX_FILE_BYTES:
                        truncated = True
                        break
                data = b"".join(chunks)[:MAX_FILE_BYTES]
                length = resp.headers.get("content-length")
                if not truncated and length and length.isdigit() and int(length) != len(data):
                    raise BadResponse(f"{filename}: body cut short ({len(data)} of {length} bytes)")
                return Readme(resp.status_code, data if resp.status_code == 200 else None,
                              resp.headers.get("etag"), resp.headers.get("x-repo-commit"), truncated)

        what = f"{kind} {repo_id} {filename}"
        try:
            return self._retry(get, what)
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            if code in (401, 403) and exc.response.headers.get("x-error-code") == "GatedRepo":
                raise Gated(f"{what}: gated") from exc
            if code in (401, 404):
                missing = exc.response.headers.get("x-error-code") == "RepoNotFound"
                raise NotFound(f"{what}: not found (HTTP {code})", repo_missing=missing) from exc
            raise

    def model_url(self, repo_id: str, revision: str | None = None, path: str = "README.md") -> str:
        """Evidence link: the public page of the card (or ``path``) at the revision harvested."""
        return hub_page("model", repo_id, revision, path)

    def dataset_url(self, repo_id: str, revision: str | None = None, path: str = "README.md") -> str:
        return hub_page("dataset", repo_id, revision, path)


def hub_page(kind: str, repo_id: str, revision: str | None = None, path: str | None = None) -> str:
    """The public Hub page of a repository, or of one file pinned to a revision.

    Always on the public host: a crawl of a mirror or a fixture hub links readers to the page people
    can open, not to the endpoint the crawler happened to use.
    """
    base = f"{PUBLIC_ENDPOINT}/{'datasets/' if kind == 'dataset' else ''}{repo_id}"
    return f"{base}/blob/{revision}/{path}" if revision and path else base
