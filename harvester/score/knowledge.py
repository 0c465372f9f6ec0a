"""Reading and scoring knowledge kept as data in ``rules/``: datasets, libraries, repositories,
safety benchmarks and curated facts about closed models. Loaded once; every entry has a rationale
and a source, and the loader refuses a name two entries claim."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harvester.ids import is_hub_id
from harvester.licenses.rules import RULES_DIR, RulesError, fold

if TYPE_CHECKING:
    from harvester.score.curated import CuratedModel

DATASET_KINDS = ("pretraining", "sft", "alignment", "benchmark", "safety", "mixed")
REPO_KINDS = ("training", "library", "inference", "evaluation", "data", "application")


@dataclass(frozen=True)
class DatasetAlias:
    names: tuple[str, ...]
    hub: str | None
    closed: bool
    license: str | None
    kind: str | None
    rationale: str
    source: str


@dataclass(frozen=True)
class Library:
    library: str
    repo: str
    license: str
    rationale: str
    source: str
    names: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownRepo:
    repo: str
    kind: str
    license: str | None
    rationale: str
    source: str
    stages: tuple[str, ...] = ()
    safety: bool = False
    names: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    other_kinds: tuple[str, ...] = ()  # what else it holds (an inference repository with a training folder)


LINEAGE_FILE = "lineage.yaml"


@dataclass(frozen=True)
class KnownBase:
    """A well-known base model, for when its own card cannot be read (gated, gone, outside the crawl):
    its weights licence, and what its developer released of its pre-training, each with a source."""

    patterns: tuple[str, ...]  # case-insensitive globs over Hub ids
    license: str
    source: str
    pretraining: CuratedModel | None = None  # facts for pretraining_code / pretraining_data, when recorded

    def matches(self, hub_id: str) -> bool:
        return any(fnmatch.fnmatch(hub_id.lower(), p) for p in self.patterns)


def load_lineage(rules_dir: Path | None = None) -> list[KnownBase]:
    from harvester.score.curated import CuratedModel, fact  # curated reads this module's Knowledge

    path = (rules_dir or RULES_DIR) / LINEAGE_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or []
    except yaml.YAMLError as exc:
        raise RulesError(f"{LINEAGE_FILE}: not valid YAML: {exc}") from exc
    out = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not all(entry.get(k) for k in ("models", "license", "source")):
            raise RulesError(f"{LINEAGE_FILE}: every entry needs models, license and source, got {entry!r}")
        patterns = tuple(str(m).lower() for m in entry["models"])
        where = f"{LINEAGE_FILE} entry {i + 1}"
        facts = {c: fact(c, entry[c], where) for c in ("pretraining_code", "pretraining_data") if c in entry}
        release = CuratedModel(patterns[0], "lineage", LINEAGE_FILE, facts=facts) if facts else None
        out.append(KnownBase(patterns, str(entry["license"]), str(entry["source"]), release))
    return out


@dataclass
class Knowledge:
    aliases: dict[str, DatasetAlias] = field(default_factory=dict)
    libraries: dict[str, Library] = field(default_factory=dict)
    library_names: dict[str, Library] = field(default_factory=dict)  # folded tag/name -> library
    safety_datasets: dict[str, str] = field(default_factory=dict)
    safety_repos: dict[str, str] = field(default_factory=dict)
    repos: dict[str, KnownRepo] = field(default_factory=dict)  # lower-case OWNER/NAME -> repo
    repo_by_name: dict[str, KnownRepo] = field(default_factory=dict)  # folded name -> repo
    digest: str = ""  # of the files read: facts read with other rules are re-read
    bases: list[KnownBase] = field(default_factory=list)  # rules/lineage.yaml

    def known_base(self, hub_id: str) -> KnownBase | None:
        return next((b for b in self.bases if b.matches(hub_id)), None)

    def dataset_alias(self, name: str) -> DatasetAlias | None:
        return self.aliases.get(fold(name.replace("_", " "))) or self.aliases.get(fold(name))

    def resolve_dataset(self, name: str) -> tuple[str | None, DatasetAlias | None]:
        """A dataset name as a card writes it → (Hub id to fetch or None, alias rule or None)."""
        alias = self.dataset_alias(name)
        if alias is not None:
            return alias.hub, alias
        cleaned = name.strip().removeprefix("https://huggingface.co/datasets/").strip("/")
        return (cleaned if is_hub_id(cleaned) else None), None

    def is_safety_dataset(self, name: str) -> bool:
        hub, alias = self.resolve_dataset(name)
        if alias is not None and alias.kind == "safety":
            return True
        return (hub or name).lower() in self.safety_datasets

    def library(self, name: str) -> Library | None:
        return self.libraries.get(name.lower()) or self.library_names.get(fold(name))

    def known_repo(self, full_name: str) -> KnownRepo | None:
        return self.repos.get(full_name.lower())

    def library_repos(self) -> list[str]:
        return [lib.repo for lib in self.libraries.values()]

    @cached_property
    def dataset_name_index(self) -> NameIndex:
        """Every dataset name of the rules, found as whole words in prose."""
        return NameIndex(n for a in self.aliases.values() for n in a.names if len(n) >= 2)

    @cached_property
    def library_name_index(self) -> NameIndex:
        return NameIndex(n for lib in self.libraries.values() for n in (lib.library, *lib.names) if len(n) >= 4)

    @cached_property
    def repo_name_index(self) -> NameIndex:
        return NameIndex(n for r in self.repos.values() for n in r.names if len(n) >= 3)

    @cached_property
    def library_imports(self) -> dict[str, Library]:
        return {imp: lib for lib in self.libraries.values() for imp in lib.imports}


_TOKEN = re.compile(r"[0-9A-Za-z]+")


class NameIndex:
    """Names found in text as whole words (case, spacing and ``-``/``_``/``.``/``/`` between words do not
    matter). A token index, not one alternation of hundreds of names: prose is read token by token."""

    def __init__(self, names: Iterable[str]) -> None:
        self.keys: dict[tuple[str, ...], str] = {}
        for name in names:
            key = tuple(_TOKEN.findall(name.lower()))
            if key:
                self.keys.setdefault(key, name)
        self.first = {k[0] for k in self.keys}
        self.longest = max((len(k) for k in self.keys), default=0)

    def finditer(self, text: str) -> Iterator[str]:
        """The names in ``text``, longest first at each place, as the text writes them."""
        toks = [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        i = 0
        while i < len(toks):
            if toks[i][0] in self.first:
                for size in range(min(self.longest, len(toks) - i), 0, -1):
                    if tuple(t[0] for t in toks[i:i + size]) in self.keys:
                        yield text[toks[i][1]:toks[i + size - 1][2]]
                        i += size
                        break
                else:
                    i += 1
            else:
                i += 1

    def search(self, text: str) -> bool:
        return any(True for _ in self.finditer(text))


def _load(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path.name}: {exc}") from exc


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(entry, dict):
        raise RulesError(f"{where}: not a mapping")
    if key not in entry or entry[key] in (None, ""):
        raise RulesError(f"{where}: missing {key}")
    return entry[key]


def _strs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _claim(index: dict[str, Any], key: str, value: Any, where: str, what: str) -> None:
    if key in index and index[key] is not value:
        raise RulesError(f"{where}: {what} {key!r} already belongs to another entry")
    index[key] = value


READING_FILES = ("datasets.yaml", "libraries.yaml", "repos.yaml", "safety.yaml")


def load_knowledge(directory: Path | None = None) -> Knowledge:
    base = directory or RULES_DIR
    k = Knowledge()
    h = hashlib.sha256()
    for name in READING_FILES:
        path = base / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    k.digest = h.hexdigest()[:16]
    k.bases = load_lineage(base)
    for i, e in enumerate(_load(base / "datasets.yaml") or []):
        where = f"datasets.yaml entry {i + 1}"
        kind = e.get("kind")
        if kind is not None and kind not in DATASET_KINDS:
            raise RulesError(f"{where}: kind {kind!r} is not one of {', '.join(DATASET_KINDS)}")
        alias = DatasetAlias(
            names=_strs(_need(e, "names", where)), hub=e.get("hub"), closed=bool(e.get("closed", False)),
            license=e.get("license"), kind=kind, rationale=str(_need(e, "rationale", where)),
            source=str(_need(e, "source", where)),
        )
        for n in (*alias.names, *([alias.hub] if alias.hub else [])):
            key = fold(n.replace("_", " "))
            if key:
                _claim(k.aliases, key, alias, where, "name")
    for i, e in enumerate(_load(base / "libraries.yaml") or []):
        where = f"libraries.yaml entry {i + 1}"
        lib = Library(*(str(_need(e, key, where)) for key in ("library", "repo", "license", "rationale", "source")),
                      names=_strs(e.get("names")), imports=_strs(e.get("imports")),
                      patterns=_strs(e.get("patterns")), commands=_strs(e.get("commands")))
        _claim(k.libraries, lib.library.lower(), lib, where, "library")
        for n in (lib.library, *lib.names):
            k.library_names.setdefault(fold(n), lib)
    for i, e in enumerate(_load(base / "repos.yaml") or []):
        where = f"repos.yaml entry {i + 1}"
        kind = str(_need(e, "kind", where))
        if kind not in REPO_KINDS:
            raise RulesError(f"{where}: kind {kind!r} is not one of {', '.join(REPO_KINDS)}")
        repo = KnownRepo(str(_need(e, "repo", where)), kind, e.get("license"), str(_need(e, "rationale", where)),
                         str(_need(e, "source", where)), stages=_strs(e.get("stages")),
                         safety=bool(e.get("safety", False)), names=_strs(e.get("names")), also=_strs(e.get("also")),
                         other_kinds=_strs(e.get("other_kinds")))
        for full in (repo.repo, *repo.also):
            _claim(k.repos, full.lower(), repo, where, "repository")
        for n in repo.names:
            _claim(k.repo_by_name, fold(n), repo, where, "name")
    safety = _load(base / "safety.yaml") or {}
    for e in safety.get("datasets", []):
        k.safety_datasets[str(e["id"]).lower()] = str(e.get("rationale", ""))
    for e in safety.get("repos", []):
        k.safety_repos[str(e["id"]).lower()] = str(e.get("rationale", ""))
    return k


@lru_cache(maxsize=4)
def default_knowledge(directory: str | None = None) -> Knowledge:
    return load_knowledge(Path(directory) if directory else None)
