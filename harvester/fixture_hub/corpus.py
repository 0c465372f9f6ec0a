"""A corpus folder read as the Hub and GitHub would describe it.

Layout: ``models/ORG/NAME/README.md``, ``datasets/ORG/NAME/README.md`` (``_/NAME`` = no org),
``github/OWNER/REPO/<files>``, ``@COMMIT/`` subfolders for older revisions, optional ``meta.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from harvester.cards import as_list, parse_card
from harvester.ids import is_hub_id

LEGACY_ORGS = {"openai-community", "google-bert", "google-t5", "facebookai", "distilbert", "albert", "xlnet",
               "flaubert", "almanach", "cmarkea"}
"""Where the Hub moved its canonical models without an organisation (``gpt2`` → ``openai-community/gpt2``)."""
DEFAULT_DATE = "2024-01-01T00:00:00.000Z"
_LICENSE_NAMES = ("license", "licence", "copying", "unlicense")


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "meta.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


@lru_cache(maxsize=8192)
def _strict_card_data(readme: bytes) -> dict[str, Any]:
    """Shared by every fixture hub of a process: a test suite serves the same corpus many times."""
    return parse_card(readme, lenient=False, links=False).metadata


@dataclass
class HubRepo:
    """One model or dataset repository with its revisions."""

    id: str
    kind: str  # "model" | "dataset"
    readme: bytes
    meta: dict[str, Any]
    revisions: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # other files at main (LICENSE, ...)
    _card_data: dict[str, Any] | None = None
    _tags: list[str] | None = None

    @property
    def sha(self) -> str:
        return str(self.meta.get("sha") or hashlib.sha1(self.id.encode() + b"\0" + self.readme).hexdigest())

    @property
    def card_data(self) -> dict[str, Any]:
        """What the Hub reads from the front matter: strict, no recovery of broken blocks."""
        if self._card_data is None:
            self._card_data = _strict_card_data(self.readme)
        return self._card_data

    def readme_at(self, revision: str) -> bytes | None:
        if revision in ("main", self.sha):
            return self.readme
        for commit, data in self.revisions.items():
            if revision == commit or (len(revision) >= 7 and commit.startswith(revision)):
                return data
        return None

    def tags(self) -> list[str]:
        """Tags computed the way the Hub does: card tags, library, pipeline, license, datasets, bases."""
        if self._tags is None:
            self._tags = self._compute_tags()
        return self._tags

    def _compute_tags(self) -> list[str]:
        cd = self.card_data
        tags: dict[str, None] = {}
        for t in as_list(cd.get("tags")):
            tags.setdefault(t, None)
        for key in ("library_name", "pipeline_tag"):
            for t in as_list(cd.get(key) or self.meta.get(key)):
                tags.setdefault(t, None)
        for t in as_list(cd.get("language")):
            tags.setdefault(t if self.kind == "model" else f"language:{t}", None)
        for lic in as_list(cd.get("license")):
            tags.setdefault(f"license:{lic}", None)
        if self.kind == "model":
            for ds in as_list(cd.get("datasets")):
                tags.setdefault(f"dataset:{ds}", None)
            relation = self.base_model_relation()
            for base in as_list(cd.get("base_model")):
                tags.setdefault(f"base_model:{base}", None)
                if relation:
                    tags.setdefault(f"base_model:{relation}:{base}", None)
        tags.setdefault("region:us", None)
        return list(tags)

    def base_model_relation(self) -> str | None:
        cd = self.card_data
        if not as_list(cd.get("base_model")):
            return None
        given = cd.get("base_model_relation")
        if given in ("adapter", "merge", "quantized", "finetune"):
            return str(given)
        card_tags = {t.lower() for t in as_list(cd.get("tags"))}
        if str(cd.get("library_name", "")).lower() == "peft" or "lora" in card_tags:
            return "adapter"
        if card_tags & {"merge", "mergekit"} or len(as_list(cd.get("base_model"))) > 1:
            return "merge"
        if card_tags & {"gguf", "gptq", "awq", "quantized", "4-bit", "8-bit", "mlx", "exl2"}:
            return "quantized"
        return "finetune"

    def gated(self) -> bool | str:
        if "gated" in self.meta:
            return self.meta["gated"]
        return "auto" if any(k.startswith("extra_gated_") for k in self.card_data) else False

    def info(self, *, full: bool = True, card_data: bool = True) -> dict[str, Any]:
        """The JSON the Hub answers for this repo (``full`` adds siblings and sha)."""
        cd = self.card_data
        out: dict[str, Any] = {
            "_id": hashlib.md5(self.id.encode()).hexdigest()[:24],
            "id": self.id,
            "author": self.id.split("/")[0] if "/" in self.id else None,
            "private": bool(self.meta.get("private", False)),
            "downloads": int(self.meta.get("downloads", 0) or 0),
            "likes": int(self.meta.get("likes", 0) or 0),
            "tags": self.tags(),
            "createdAt": self.meta.get("createdAt", DEFAULT_DATE),
            "lastModified": self.meta.get("lastModified", self.meta.get("createdAt", DEFAULT_DATE)),
            "trendingScore": 0,
        }
        if self.kind == "model":
            out["modelId"] = self.id
            for key in ("library_name", "pipeline_tag"):
                value = self.meta.get(key, cd.get(key))
                if isinstance(value, str):
                    out[key] = value
        if full:
            out["sha"] = self.sha
            out["gated"] = self.gated()
            out["disabled"] = bool(self.meta.get("disabled", False))
            names = self.meta.get("siblings", ["README.md", *self.files])
            out["siblings"] = [{"rfilename": f} for f in names]
            if self.kind == "model":
                mi = cd.get("model-index")
                out["model-index"] = mi if isinstance(mi, list) else None
        if card_data and cd:
            out["cardData"] = cd
        return out


@dataclass
class GithubRepo:
    full_name: str
    files: dict[str, bytes]
    meta: dict[str, Any]
    revisions: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def readme_file(self) -> tuple[str, bytes] | None:
        """The root README GitHub's ``/readme`` would pick (README.md, README.rst, Readme.md …)."""
        candidates = sorted(n for n in self.files if "/" not in n and n.lower().startswith("readme"))
        return (candidates[0], self.files[candidates[0]]) if candidates else None

    def license_file(self) -> tuple[str, bytes] | None:
        """The root licence file GitHub would pick: ``LICENSE`` first, then its variants."""
        candidates = [n for n in self.files if "/" not in n and n.lower().startswith(_LICENSE_NAMES)]
        candidates.sort(key=lambda n: (n.lower().split(".")[0] not in ("license", "licence"), len(n), n))
        return (candidates[0], self.files[candidates[0]]) if candidates else None


class Corpus:
    """Everything a fixture hub serves, loaded once from a folder."""

    def canonical(self, kind: str, repo_id: str) -> str | None:
        """The id the Hub would redirect ``repo_id`` to: ids are case-insensitive, and the canonical
        models that had no organisation (``gpt2``, ``bert-base-uncased``) moved into one in 2024."""
        table = self.models if kind == "models" else self.datasets
        index = self._folded.get(kind)
        if index is None:
            index = self._folded[kind] = {}
            for rid in table:
                index.setdefault(rid.lower(), rid)
                if kind == "models" and "/" in rid:
                    org, name = rid.lower().split("/", 1)
                    if org in LEGACY_ORGS or name not in index:
                        index[name] = rid
                    elif index[name].split("/")[0].lower() not in LEGACY_ORGS:
                        index[name] = ""  # ambiguous: no redirect
        found = index.get(repo_id.lower())
        return found if found and found != repo_id else None

    def __init__(self, root: Path | None, models: set[str] | None = None) -> None:
        """``models``: serve only these model ids (a sample), with every dataset and repository."""
        self.root = Path(root) if root else None
        self.only = models
        self._folded: dict[str, dict[str, str]] = {}
        self.models: dict[str, HubRepo] = {}
        self.datasets: dict[str, HubRepo] = {}
        self.github: dict[str, GithubRepo] = {}
        if self.root is not None:
            self._load()

    def _load(self) -> None:
        assert self.root is not None
        for kind, table in (("model", self.models), ("dataset", self.datasets)):
            base = self.root / f"{kind}s"
            if not base.is_dir():
                continue
            for readme in sorted(base.glob("*/*/README.md")):
                org, name = readme.parent.parent.name, readme.parent.name
                repo_id = name if org == "_" else f"{org}/{name}"
                if not is_hub_id(repo_id) or (kind == "model" and self.only is not None and repo_id not in self.only):
                    continue
                folder = readme.parent
                revisions = {
                    sub.name[1:]: (sub / "README.md").read_bytes()
                    for sub in sorted(folder.glob("@*"))
                    if (sub / "README.md").is_file()
                }
                files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                         if p.is_file() and p.name not in ("README.md", "meta.json")}
                table[repo_id] = HubRepo(repo_id, kind, readme.read_bytes(), _read_meta(folder), revisions, files)
        gh = self.root / "github"
        if gh.is_dir():
            for folder in sorted(p for p in gh.glob("*/*") if p.is_dir()):
                full = f"{folder.parent.name}/{folder.name}"
                files: dict[str, bytes] = {}
                revisions: dict[str, dict[str, bytes]] = {}
                for path in sorted(folder.rglob("*")):
                    if not path.is_file() or path.name == "meta.json":
                        continue
                    rel = path.relative_to(folder).as_posix()
                    if rel.startswith("@"):
                        commit, _, inner = rel.partition("/")
                        revisions.setdefault(commit[1:], {})[inner] = path.read_bytes()
                    else:
                        files[rel] = path.read_bytes()
                self.github[full.lower()] = GithubRepo(full, files, _read_meta(folder), revisions)
