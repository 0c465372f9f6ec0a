"""What the fetchers harvested for one model: the scorer's only input, stored per run for rescoring.

Plain data (JSON round-trip) so that ``rescore`` needs no network and evidence can be audited.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

MAX_JSON_DEPTH = 40
MAX_JSON_NODES = 200_000


class TooLarge(ValueError):
    """A structure that expands past the node budget (e.g. a YAML alias bomb)."""


def jsonable(value: Any, budget: list[int] | None = None, depth: int = 0) -> Any:
    """YAML gives dates, non-string keys and shared (aliased) nodes; store plain JSON instead.

    Aliased nodes are expanded, so the walk is bounded by a node budget: an alias bomb raises
    :class:`TooLarge` instead of exhausting memory.
    """
    budget = [MAX_JSON_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge(f"more than {MAX_JSON_NODES} nodes")
    if depth > MAX_JSON_DEPTH:
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v, budget, depth + 1) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@dataclass
class RepoCard:
    """A Hub repository (model or dataset) as harvested: API facts and its card."""

    id: str
    status: str = "ok"  # ok | not_found | gated | invalid | error
    reason: str | None = None
    sha: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # API fields (tags, gated, library_name, ...)
    card_data: dict[str, Any] = field(default_factory=dict)  # front matter the scorer uses
    card_source: str | None = None  # "api" | "readme" | "readme-recovered" | None
    card_error: str | None = None
    body: str = ""  # card prose (Markdown/HTML)
    links: list[str] = field(default_factory=list)
    url: str | None = None
    requested_as: str | None = None  # the name as the citing card wrote it
    license_file: str | None = None  # path of a licence file inside the repo (from license_link)
    license_url: str | None = None  # its public page at the revision harvested
    license_text: str | None = None


@dataclass
class GithubRepoEvidence:
    full_name: str
    status: str = "ok"
    reason: str | None = None
    moved_to: str | None = None
    spdx_id: str | None = None  # what GitHub's own detection reported
    license_path: str | None = None
    license_text: str | None = None
    url: str | None = None
    description: str | None = None  # GitHub's one-line description
    topics: list[str] = field(default_factory=list)
    readme_path: str | None = None  # read only when the card and /repos do not settle the repository's role
    readme_text: str | None = None


@dataclass
class Harvest:
    model: RepoCard
    datasets: dict[str, RepoCard] = field(default_factory=dict)
    repos: dict[str, GithubRepoEvidence] = field(default_factory=dict)
    bases: dict[str, RepoCard] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return self.model.id

    def to_json(self) -> str:
        doc = {"model": vars(self.model), "datasets": {k: vars(v) for k, v in self.datasets.items()},
               "repos": {k: vars(v) for k, v in self.repos.items()},
               "bases": {k: vars(v) for k, v in self.bases.items()}}
        return json.dumps(jsonable(doc), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Harvest:
        raw = json.loads(text)
        return cls(
            model=RepoCard(**raw["model"]),
            datasets={k: RepoCard(**v) for k, v in raw.get("datasets", {}).items()},
            repos={k: GithubRepoEvidence(**v) for k, v in raw.get("repos", {}).items()},
            bases={k: RepoCard(**v) for k, v in raw.get("bases", {}).items()},
        )
