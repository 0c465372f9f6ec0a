"""Scoring knowledge kept as data in ``rules/``: dataset aliases, libraries, safety benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harvester.ids import is_hub_id
from harvester.licenses.rules import RULES_DIR, RulesError, fold


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


@dataclass
class Knowledge:
    aliases: dict[str, DatasetAlias] = field(default_factory=dict)
    libraries: dict[str, Library] = field(default_factory=dict)
    safety_datasets: dict[str, str] = field(default_factory=dict)
    safety_repos: dict[str, str] = field(default_factory=dict)

    def dataset_alias(self, name: str) -> DatasetAlias | None:
        return self.aliases.get(fold(name.replace("_", " "))) or self.aliases.get(fold(name))

    def resolve_dataset(self, name: str) -> tuple[str | None, DatasetAlias | None]:
        """A dataset name as a card writes it → (Hub id to fetch or None, alias rule or None)."""
        alias = self.dataset_alias(name)
        if alias is not None:
            return alias.hub, alias
        cleaned = name.strip().removeprefix("https://huggingface.co/datasets/").strip("/")
        return (cleaned if is_hub_id(cleaned) else None), None

    def is_safety_dataset(self, hub_id: str) -> bool:
        return hub_id.lower() in self.safety_datasets

    def library_repos(self) -> list[str]:
        return [lib.repo for lib in self.libraries.values()]


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path.name}: {exc}") from exc


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise RulesError(f"{where}: missing {key}")
    return entry[key]


def load_knowledge(directory: Path | None = None) -> Knowledge:
    base = directory or RULES_DIR
    k = Knowledge()
    for i, e in enumerate(_load(base / "datasets.yaml") or []):
        where = f"datasets.yaml entry {i + 1}"
        alias = DatasetAlias(
            names=tuple(str(n) for n in _need(e, "names", where)), hub=e.get("hub"),
            closed=bool(e.get("closed", False)), license=e.get("license"), kind=e.get("kind"),
            rationale=str(_need(e, "rationale", where)), source=str(_need(e, "source", where)),
        )
        for name in (*alias.names, *([alias.hub] if alias.hub else [])):
            key = fold(name.replace("_", " "))
            if key in k.aliases and k.aliases[key] is not alias:
                raise RulesError(f"{where}: name {name!r} already resolves elsewhere")
            k.aliases[key] = alias
    for i, e in enumerate(_load(base / "libraries.yaml") or []):
        where = f"libraries.yaml entry {i + 1}"
        lib = Library(*(str(_need(e, key, where)) for key in ("library", "repo", "license", "rationale", "source")))
        k.libraries[lib.library.lower()] = lib
    safety = _load(base / "safety.yaml") or {}
    for e in safety.get("datasets", []):
        k.safety_datasets[str(e["id"]).lower()] = str(e.get("rationale", ""))
    for e in safety.get("repos", []):
        k.safety_repos[str(e["id"]).lower()] = str(e.get("rationale", ""))
    return k


@lru_cache(maxsize=4)
def default_knowledge(directory: str | None = None) -> Knowledge:
    return load_knowledge(Path(directory) if directory else None)
