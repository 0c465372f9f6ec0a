"""Models with no Hub card (GPT-4, Gemini, Claude, …): facts about their artifacts, curated in
``rules/models/*.yaml`` with a source and a date each, turned into cells by the taxonomy's rules.

A fact says whether a stage happened and whether its artifact was released: not released → C1/D1,
a hosted API only → D2 for weights (C1 for code), a licence → its points, unknown terms → ``?``.
Curated facts never set a Hub model's cells: they are a source for models the Hub does not have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harvester.levels import COMPONENTS, KIND, NA, UNKNOWN, closed, level_for_points
from harvester.licenses.normalize import LicenseResult, Normalizer
from harvester.licenses.rules import RULES_DIR, RulesError
from harvester.score.cells import Cell, Evidence, ReviewItem
from harvester.score.knowledge import Knowledge, default_knowledge

MODELS_DIR = "models"


@dataclass(frozen=True)
class Fact:
    component: str
    happened: bool | None  # None: the sources do not say
    released: Any  # False | "api" | "unknown" | a release | a list of releases | None
    # a release: {"license": ..., "repo"/"dataset"/"url": ...}, or {"dataset": NAME} whose terms rules/datasets.yaml
    # gives
    source: str
    as_of: str
    note: str = ""


@dataclass(frozen=True)
class CuratedModel:
    name: str
    developer: str
    file: str
    aliases: tuple[str, ...] = ()
    hub_ids: tuple[str, ...] = ()
    released_on: str = ""
    facts: dict[str, Fact] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"{self.developer}/{self.name}"


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value or "")


def fact(component: str, raw: Any, where: str) -> Fact:
    if component not in COMPONENTS:
        raise RulesError(f"{where}: {component!r} is not a taxonomy component")
    if not isinstance(raw, dict) or not raw.get("source"):
        raise RulesError(f"{where}: {component} needs a source")
    happened = raw.get("happened")
    released = raw.get("released")
    releases = released if isinstance(released, list) else [released]
    if released not in (None, False, "api", "unknown") and not all(
            isinstance(r, dict) and (r.get("license") or r.get("dataset")) for r in releases):
        raise RulesError(f"{where}: {component}: released must be false, api, unknown, or releases with a license "
                         "or a dataset")
    return Fact(component, happened if isinstance(happened, bool) else None, released, str(raw["source"]),
                _date(raw.get("as_of")), str(raw.get("note") or ""))


def load_models(directory: Path | None = None) -> list[CuratedModel]:
    base = (directory or RULES_DIR) / MODELS_DIR
    out: list[CuratedModel] = []
    names: dict[str, str] = {}
    for path in sorted(base.glob("*.yaml")) if base.is_dir() else []:
        try:
            doc = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RulesError(f"models/{path.name}: {exc}") from exc
        developer = str(doc.get("developer") or path.stem)
        for i, m in enumerate(doc.get("models") or []):
            where = f"models/{path.name} model {i + 1}"
            if not isinstance(m, dict) or not m.get("name"):
                raise RulesError(f"{where}: needs a name")
            facts = {c: fact(c, raw, where) for c, raw in (m.get("components") or {}).items()}
            model = CuratedModel(str(m["name"]), developer, f"models/{path.name}",
                                 tuple(str(a) for a in m.get("aliases") or ()),
                                 tuple(str(h) for h in m.get("hub_ids") or ()), _date(m.get("released")), facts)
            key = model.name.lower()
            if key in names:
                raise RulesError(f"{where}: {model.name} is already curated in {names[key]}")
            names[key] = model.file
            out.append(model)
    return out


@lru_cache(maxsize=4)
def default_models(directory: str | None = None) -> tuple[CuratedModel, ...]:
    return tuple(load_models(Path(directory) if directory else None))


def _release_level(comp: str, release: dict[str, Any], n: Normalizer, k: Knowledge
                   ) -> tuple[str, LicenseResult | None]:
    """The level of one released artifact: its licence, or a named dataset's terms from the rules."""
    license = release.get("license")
    if not license and release.get("dataset"):
        _, alias = k.resolve_dataset(str(release["dataset"]))
        if alias is not None and alias.closed:
            return closed(comp), None
        license = alias.license if alias is not None else None
    if not license:
        return UNKNOWN, None
    r = n.normalize(str(license))
    if not r.known or r.points is None:
        return UNKNOWN, r
    return level_for_points(comp, r.points), r


def score_curated(m: CuratedModel, n: Normalizer, k: Knowledge | None = None
                  ) -> tuple[dict[str, Cell], list[ReviewItem]]:
    """The twelve cells of a curated model, by the same level rules as every other model."""
    k = k or default_knowledge()
    cells: dict[str, Cell] = {}
    review: list[ReviewItem] = []
    for comp in COMPONENTS:
        f = m.facts.get(comp)
        if f is None:  # nothing says the stage happened (weights and the code that runs them always exist)
            always = comp in ("weights", "inference_code")
            cells[comp] = Cell(UNKNOWN if always else NA, evidence=(Evidence(
                m.file, m.name, "curated.silent", "the curated facts name no such stage" if not always else
                "the curated facts say nothing about this component"),))
            continue
        ev = Evidence(f.source, f"{m.name}: {comp}", f"{m.file}:{m.name}",
                      "; ".join(x for x in (f"as of {f.as_of}" if f.as_of else "", f.note) if x) or None)
        if f.happened is False:
            cells[comp] = Cell(NA, evidence=(ev,))
        elif f.released is False:
            cells[comp] = Cell(closed(comp), evidence=(ev,))
        elif f.released == "api":
            cells[comp] = Cell("D2" if comp == "weights" else closed(comp), evidence=(ev,))
        elif isinstance(f.released, (dict, list)):
            levels = [_release_level(comp, r, n, k) for r in (f.released if isinstance(f.released, list)
                                                                else [f.released])]
            for level, r in levels:
                if level == UNKNOWN and r is not None:
                    review.append(ReviewItem(comp, "raw:" + " ".join(r.input.lower().split()), r.input, f.source,
                                             r.reason, r.hint))
            if any(level == UNKNOWN for level, _ in levels) and not any(lv in ("C1", "D1") for lv, _ in levels):
                cells[comp] = Cell(UNKNOWN, evidence=(ev,))
            else:
                level, r = min(levels, key=lambda x: int(x[0][1]) if x[0][1:].isdigit() else 9)
                cells[comp] = Cell(level, r.spdx if r else None, r.points if r else None,
                                   dict(r.answers or {}) if r else None, (ev,))
        elif f.released == "unknown" or f.happened is None:
            cells[comp] = Cell(UNKNOWN, evidence=(ev,))
        else:
            cells[comp] = Cell(closed(comp) if f.happened else UNKNOWN, evidence=(ev,))
        assert KIND[comp]
    return cells, review
