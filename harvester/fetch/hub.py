"""Hugging Face Hub source, through the real ``huggingface_hub`` client (1.x, on httpx)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import get_session

from harvester.fetch.retry import call_with_retries, response_of
from harvester.ids import check_hub_id, check_revision

PUBLIC_ENDPOINT = "https://huggingface.co"


class NotFound(Exception):
    """The repository or file does not exist (or is private to us)."""


class Gated(Exception):
    """The repository is gated and our token has no access."""


@dataclass(frozen=True)
class Readme:
    status: int  # 200 or 304
    data: bytes | None
    etag: str | None
    commit: str | None


def _info_dict(obj: Any) -> dict[str, Any]:
    """The API fields the scorer reads, from the client's ModelInfo/DatasetInfo."""
    card = getattr(obj, "card_data", None)
    out: dict[str, Any] = {
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
    return out


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

    def __init__(self, endpoint: str | None = None, token: str | None = None) -> None:
        self.endpoint = (endpoint or PUBLIC_ENDPOINT).rstrip("/")
        self.token = token
        self.api = HfApi(endpoint=self.endpoint, token=token or False)

    def _call(self, fn: Any, what: str) -> Any:
        try:
            return call_with_retries(fn)
        except (HfHubHTTPError, httpx.HTTPStatusError) as exc:
            raise _translate(exc, what) from exc

    def model_info(self, repo_id: str) -> dict[str, Any]:
        check_hub_id(repo_id)
        return _info_dict(self._call(lambda: self.api.model_info(repo_id), f"model {repo_id}"))

    def dataset_info(self, repo_id: str) -> dict[str, Any]:
        check_hub_id(repo_id)
        return _info_dict(self._call(lambda: self.api.dataset_info(repo_id), f"dataset {repo_id}"))

    def list_models(self, *, author: str | None = None, search: str | None = None,
                    filter: list[str] | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """One listing request per page, with card data and sha: no per-model info call needed."""
        for item in self.api.list_models(author=author, search=search, filter=filter, limit=limit,
                                         full=True, cardData=True):
            yield _info_dict(item)

    def readme(self, repo_id: str, *, kind: str = "model", revision: str = "main",
               etag: str | None = None) -> Readme:
        """GET the card through ``resolve`` (the files bucket), conditional on a known ETag."""
        return self.file(repo_id, "README.md", kind=kind, revision=revision, etag=etag)

    def file(self, repo_id: str, filename: str, *, kind: str = "model", revision: str = "main",
             etag: str | None = None) -> Readme:
        """GET one file of a repository through ``resolve``."""
        check_hub_id(repo_id)
        check_revision(revision)
        if not re.fullmatch(r"[A-Za-z0-9._-][A-Za-z0-9._/ -]{0,200}", filename) or ".." in filename:
            raise NotFound(f"{kind} {repo_id}: unsafe file name {filename!r}")
        repo_type = None if kind == "model" else kind
        url = hf_hub_url(repo_id, filename, repo_type=repo_type, revision=revision, endpoint=self.endpoint)
        headers = {"If-None-Match": etag} if etag else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"

        def get() -> httpx.Response:
            resp = get_session().get(url, headers=headers, follow_redirects=True)
            if resp.status_code >= 400:
                resp.raise_for_status()
            return resp

        what = f"{kind} {repo_id} {filename}"
        try:
            resp = call_with_retries(get)
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            if code in (401, 403) and exc.response.headers.get("x-error-code") == "GatedRepo":
                raise Gated(f"{what}: gated") from exc
            if code in (401, 404):
                raise NotFound(f"{what}: not found (HTTP {code})") from exc
            raise
        return Readme(resp.status_code, resp.content if resp.status_code == 200 else None,
                      resp.headers.get("etag"), resp.headers.get("x-repo-commit"))

    def model_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/{repo_id}"

    def dataset_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/datasets/{repo_id}"
