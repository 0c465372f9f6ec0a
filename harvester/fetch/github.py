"""GitHub source: repository metadata and the licence file, over httpx (the Hub client's stack)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from harvester import __version__
from harvester.fetch.guard import HostGuard
from harvester.fetch.retry import RetryPolicy, call_with_retries, expect_json
from harvester.ids import check_github_id

PUBLIC_API = "https://api.github.com"
MAX_LICENSE_BYTES = 512_000


@dataclass(frozen=True)
class LicenseAnswer:
    status: int  # 200, 304 (unchanged since the ETag we sent) or 404 (no licence file detected)
    path: str | None
    text: str | None
    license: dict[str, Any] | None
    etag: str | None


@dataclass(frozen=True)
class GraphqlRepo:
    name_with_owner: str
    spdx_id: str | None  # None: no licence file detected
    pseudo: bool  # GitHub found a licence file it cannot name ("other")
    description: str | None = None
    topics: tuple[str, ...] = ()


GRAPHQL_BATCH = 50


class GithubSource:
    def __init__(self, endpoint: str | None = None, token: str | None = None, policy: RetryPolicy | None = None,
                 on_retry: Callable[[BaseException], None] | None = None) -> None:
        self.endpoint = (endpoint or PUBLIC_API).rstrip("/")
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.on_request: Callable[[str], None] | None = None
        self.guard: HostGuard | None = None  # stop promptly; a host that is down is one fatal error
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"harvester/{__version__}",
        }
        self.token = token
        if token:  # sent only to this client's own host
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(base_url=self.endpoint, headers=headers, timeout=self.policy.timeout,
                                   follow_redirects=True)

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, etag: str | None = None) -> tuple[int, Any, str | None]:
        """(status, JSON or None, ETag) of a GET; 404 is None, 304 means "as before" (and is free on GitHub)."""

        def get() -> tuple[int, Any, str | None]:
            if self.on_request is not None:
                self.on_request("github_rest")
            resp = self.client.get(path, headers={"If-None-Match": etag} if etag else None)
            if resp.status_code in (304, 404):
                return resp.status_code, None, resp.headers.get("etag")
            if resp.status_code >= 400:
                resp.raise_for_status()
            return resp.status_code, expect_json(resp), resp.headers.get("etag")

        return call_with_retries(get, self.policy, on_retry=self.on_retry, guard=self.guard, what=f"GET {path}")

    def repo(self, full_name: str, etag: str | None = None) -> tuple[int, dict[str, Any] | None, str | None]:
        """(status, repository JSON after following renames, ETag); 404 gives None, 304 "as before"."""
        check_github_id(full_name)
        status, body, new_etag = self._get(f"/repos/{full_name}", etag)
        return status, body if isinstance(body, dict) else None, new_etag

    def license(self, full_name: str, etag: str | None = None) -> LicenseAnswer:
        """The detected licence file: path, text and GitHub's license object (status 304: unchanged)."""
        return self._file(full_name, "license", "LICENSE", etag)

    def readme(self, full_name: str, etag: str | None = None) -> LicenseAnswer:
        """The repository's root README (status 304: unchanged; 404: none)."""
        return self._file(full_name, "readme", "README.md", etag)

    def _file(self, full_name: str, which: str, default: str, etag: str | None) -> LicenseAnswer:
        check_github_id(full_name)
        status, body, new_etag = self._get(f"/repos/{full_name}/{which}", etag)
        if not isinstance(body, dict):
            return LicenseAnswer(status, None, None, None, new_etag)
        raw = base64.b64decode(body.get("content") or "", validate=False)[:MAX_LICENSE_BYTES]
        return LicenseAnswer(status, str(body.get("path") or default), raw.decode("utf-8", "replace"),
                             body.get("license"), new_etag)

    def graphql_licenses(self, names: list[str]) -> dict[str, GraphqlRepo | None]:
        """Licences of many repositories in one GraphQL request (needs a token); None = not found.

        Aliased ``repository`` lookups without connections cost one point per query.
        """
        if not self.token:
            raise ValueError("GitHub GraphQL needs a token")
        for name in names:
            check_github_id(name)  # ids are validated, so they cannot break out of the string literals
        fields = " ".join(
            f'r{i}: repository(owner: "{n.split("/")[0]}", name: "{n.split("/")[1]}") '
            "{ nameWithOwner description licenseInfo { key spdxId name pseudoLicense } "
            "repositoryTopics(first: 20) { nodes { topic { name } } } }" for i, n in enumerate(names))
        query = f"query {{ {fields} rateLimit {{ cost remaining resetAt }} }}"

        def post() -> Any:
            if self.on_request is not None:
                self.on_request("github_graphql")
            resp = self.client.post("/graphql", json={"query": query})
            if resp.status_code >= 400:
                resp.raise_for_status()
            return expect_json(resp)

        body = call_with_retries(post, self.policy, on_retry=self.on_retry, guard=self.guard,
                                 what=f"GraphQL {names[0]} and {len(names) - 1} more")
        data = (body or {}).get("data") or {}
        out: dict[str, GraphqlRepo | None] = {}
        for i, name in enumerate(names):
            node = data.get(f"r{i}")
            if not isinstance(node, dict):
                out[name] = None
                continue
            lic = node.get("licenseInfo") or None
            topics = ((node.get("repositoryTopics") or {}).get("nodes")) or []
            out[name] = GraphqlRepo(str(node.get("nameWithOwner") or name),
                                    lic.get("spdxId") if lic else None, bool(lic and lic.get("pseudoLicense")),
                                    node.get("description") if isinstance(node.get("description"), str) else None,
                                    tuple(str((t.get("topic") or {}).get("name")) for t in topics
                                          if isinstance(t, dict) and (t.get("topic") or {}).get("name")))
        return out
