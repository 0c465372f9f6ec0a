"""GitHub source: repository metadata and the licence file, over httpx (the Hub client's stack)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx

from harvester import __version__
from harvester.fetch.retry import RetryPolicy, call_with_retries, expect_json
from harvester.ids import check_github_id

PUBLIC_API = "https://api.github.com"
MAX_LICENSE_BYTES = 512_000


class GithubSource:
    def __init__(self, endpoint: str | None = None, token: str | None = None, policy: RetryPolicy | None = None,
                 on_retry: Callable[[BaseException], None] | None = None) -> None:
        self.endpoint = (endpoint or PUBLIC_API).rstrip("/")
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"harvester/{__version__}",
        }
        if token:  # sent only to this client's own host
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(base_url=self.endpoint, headers=headers, timeout=self.policy.timeout,
                                   follow_redirects=True)

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str) -> Any:
        """JSON of a GET, or None on 404; transient faults (bad bodies included) are retried."""

        def get() -> Any:
            resp = self.client.get(path)
            if resp.status_code == 404:
                return None
            if resp.status_code >= 400:
                resp.raise_for_status()
            return expect_json(resp)

        return call_with_retries(get, self.policy, on_retry=self.on_retry)

    def repo(self, full_name: str) -> dict[str, Any] | None:
        """Repository JSON (after following renames), or None when GitHub says 404."""
        check_github_id(full_name)
        body = self._get(f"/repos/{full_name}")
        return body if isinstance(body, dict) else None

    def license(self, full_name: str) -> tuple[str, str, dict[str, Any] | None] | None:
        """(path, text, GitHub's license object) of the detected licence file, or None."""
        check_github_id(full_name)
        body = self._get(f"/repos/{full_name}/license")
        if not isinstance(body, dict):
            return None
        raw = base64.b64decode(body.get("content") or "", validate=False)[:MAX_LICENSE_BYTES]
        return str(body.get("path") or "LICENSE"), raw.decode("utf-8", "replace"), body.get("license")
