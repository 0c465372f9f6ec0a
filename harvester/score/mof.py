"""The Model Openness Framework (MOF) over the same stored evidence as the taxonomy. Pure.

A framework is a scorer over the same facts: the MOF class of a model is read from its facts and its
twelve taxonomy cells (``rules/mof.yaml`` says which evidence feeds each of the 17 components), with no
new request. Each component is *included* (with its licence and whether the MOF counts that licence as
open), *missing* (searched for and not found), or *not visible* (harvester's evidence cannot see it, e.g.
intermediate checkpoints kept in branches): a component nobody looked for is never counted missing.

Licences follow the Model Openness Tool (``shared/reference/mof.md``): a component takes its own
licence, else the global distribution licence (the model's, i.e. the weights'); it is open when the
licence is on the MOF's list for its content type, open "of another type" (with a warning) when on
another type's list, not open otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from license_expression import ExpressionError, get_spdx_licensing

from harvester.levels import NA, UNKNOWN
from harvester.licenses.normalize import Normalizer
from harvester.licenses.rules import RULES_DIR, RulesError
from harvester.read.facts import CardFacts, Facts
from harvester.read.markdown import heading_role
from harvester.score.knowledge import Knowledge
from harvester.score.scorer import Licences, Part

CLASSES = ("III", "II", "I")  # in the order a model reaches them
INCLUDED, MISSING, NOT_VISIBLE = "included", "missing", "not visible"
OPEN, OPEN_OTHER, NOT_OPEN = "open", "open (other type)", "not open"
_RANK = {NOT_OPEN: 0, OPEN_OTHER: 1, OPEN: 2}
_UNREAD = ("lineage.", "repo.unread", "data.documented-elsewhere", "weights.no-license")
"""Rules of a ``?`` cell that say harvester could not read the source, not that an artifact is public."""


@dataclass(frozen=True)
class Component:
    key: str
    name: str
    type: str  # code | data | document
    mof_class: str  # I | II | III
    required: bool
    seen_from: str


@dataclass(frozen=True)
class Spec:
    components: tuple[Component, ...]
    open: dict[str, frozenset[str]]  # content type -> lower-cased SPDX ids
    source: str

    def by_key(self, key: str) -> Component:
        return next(c for c in self.components if c.key == key)


def load_spec(directory: Path | None = None) -> Spec:
    path = (directory or RULES_DIR) / "mof.yaml"
    try:
        doc = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"mof.yaml: {exc}") from exc
    comps = []
    for i, c in enumerate(doc.get("components") or []):
        if not isinstance(c, dict) or c.get("class") not in CLASSES or c.get("type") not in ("code", "data",
                                                                                              "document"):
            raise RulesError(f"mof.yaml component {i + 1}: needs a key, a type (code/data/document) and a class")
        comps.append(Component(str(c["key"]), str(c["name"]), str(c["type"]), str(c["class"]), bool(c["required"]),
                               str(c.get("seen_from") or "")))
    lic = doc.get("licenses") or {}
    open_ = {t: frozenset(str(x).lower() for x in lic.get(t) or ()) for t in ("code", "data", "document")}
    return Spec(tuple(comps), open_, str(doc.get("source") or ""))


@lru_cache(maxsize=4)
def default_spec(directory: str | None = None) -> Spec:
    return load_spec(Path(directory) if directory else None)


# -- openness of a licence ---------------------------------------------------------------------------
_LICENSING = get_spdx_licensing()


@lru_cache(maxsize=4096)
def _symbols(expression: str) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """("or"|"and", groups of ids): an OR expression is open when one branch is; AND/WITH when all are."""
    try:
        parsed = _LICENSING.parse(expression, simple=True)
    except ExpressionError:
        return "and", ((expression,),)
    if parsed is None:
        return "and", ()
    if parsed.__class__.__name__ == "OR":
        return "or", tuple(tuple(str(s.key) for s in _LICENSING.license_symbols(arg)) for arg in parsed.args)
    return "and", (tuple(str(s.key) for s in _LICENSING.license_symbols(parsed)),)


def openness(spec: Spec, license: str | None, content_type: str) -> str:
    """open | open (other type) | not open, for a licence expression on a component of ``content_type``."""
    if not license:
        return NOT_OPEN
    kind, groups = _symbols(license)

    def one(sym: str) -> str:
        s = sym.lower()
        if s in spec.open[content_type]:
            return OPEN
        return OPEN_OTHER if any(s in ids for ids in spec.open.values()) else NOT_OPEN

    ranks = [min((_RANK[one(s)] for s in g), default=0) for g in groups]
    if not ranks:
        return NOT_OPEN
    best = max(ranks) if kind == "or" else min(ranks)
    return next(k for k, v in _RANK.items() if v == best)


# -- a model's components -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """One MOF component of one model."""

    key: str
    status: str  # included | missing | not visible
    license: str | None = None
    openness: str = ""  # open | open (other type) | not open ("" when not included)
    required: bool = True  # after the MOF's special cases (a paper makes the technical report optional)
    note: str = ""
    evidence: tuple[dict[str, Any], ...] = ()

    @property
    def counts(self) -> bool:
        """Included under a licence the MOF counts as open."""
        return self.status == INCLUDED and self.openness in (OPEN, OPEN_OTHER)

    def label(self) -> str:
        """One short word for tables: open, open (other type), not open, missing, not visible."""
        return self.openness if self.status == INCLUDED else self.status

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "license": self.license, "openness": self.openness or None,
                "required": self.required, "note": self.note, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Result:
    model_id: str
    mof_class: str | None  # I | II | III | None
    components: dict[str, Outcome]
    next_class: str | None = None
    missing: tuple[str, ...] = ()  # for the next class: searched for, not found
    not_open: tuple[str, ...] = ()  # included under a licence the MOF does not count as open
    not_visible: tuple[str, ...] = ()  # what harvester's evidence cannot see
    progress: dict[str, str] = field(default_factory=dict)  # class -> "5/6": required components that count

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "class": self.mof_class,
                "next": None if self.next_class is None else {
                    "class": self.next_class, "missing": list(self.missing), "not_open": list(self.not_open),
                    "not_visible": list(self.not_visible)},
                "progress": self.progress, "components": {k: o.to_dict() for k, o in self.components.items()}}


def _ev(source: str, raw: str, rule: str, note: str | None = None) -> dict[str, Any]:
    d = {"source": source, "raw": raw[:500], "rule": rule}
    if note:
        d["note"] = note
    return d


def _part_ev(p: Part) -> dict[str, Any]:
    return p.evidence.to_dict()


def join_licenses(expressions: Iterable[str]) -> str | None:
    """Several licences that all apply, as one expression: ``A AND B`` (an OR branch kept in parentheses)."""
    ids: list[str] = []
    for expr in expressions:
        kind, groups = _symbols(expr)
        parts = [f"({expr})"] if kind == "or" else [s for g in groups for s in g] or [expr]
        ids.extend(p for p in parts if p not in ids)
    return " AND ".join(ids) if ids else None


def _parts_license(parts: Iterable[Part]) -> str | None:
    """The licences of several parts (None when one is not identified)."""
    ids: list[str] = []
    for p in parts:
        if p.result is None or not p.result.known or not p.result.spdx:
            return None
        ids.append(p.result.spdx)
    return join_licenses(ids)


class _Model:
    """The inputs of one model: its facts (None for a curated model with no Hub card) and its cells."""

    def __init__(self, spec: Spec, model_id: str, cells: dict[str, dict[str, Any]], facts: Facts | None,
                 k: Knowledge | None, n: Normalizer | None) -> None:
        self.spec, self.model_id, self.cells, self.facts, self.k = spec, model_id, cells, facts, k
        self.licences = Licences(facts, k, n) if facts is not None and k is not None and n is not None else None
        self.card: CardFacts | None = facts.model if facts is not None and facts.model.status == "ok" else None
        weights = cells.get("weights", {})
        released = weights.get("level") in ("D3", "D4", "D5")
        self.global_license: str | None = weights.get("license") if released else None
        self.global_ev = [e for e in weights.get("evidence", [])[:1]]

    def outcome(self, key: str, status: str, license: str | None = None, note: str = "",
                evidence: Iterable[dict[str, Any]] = (), required: bool | None = None) -> Outcome:
        comp = self.spec.by_key(key)
        verdict = openness(self.spec, license, comp.type) if status == INCLUDED else ""
        if verdict == OPEN_OTHER:
            note = (f"{note}; " if note else "") + (f"{license} is open for another content type than {comp.type} "
                                                    "(MOF: counts, with a warning)")
        return Outcome(key, status, license, verdict, comp.required if required is None else required, note,
                       tuple(evidence))

    def with_global(self, key: str, note: str, evidence: list[dict[str, Any]]) -> Outcome:
        """An included component with no licence of its own: the model's licence applies (MOF rule 2)."""
        why = "no licence of its own; the model's distribution licence applies (MOF rule 2)"
        if self.global_license is None:
            why = "no licence of its own, and the model's weights carry no identified licence"
        return self.outcome(key, INCLUDED, self.global_license, f"{note}; {why}", [*evidence, *self.global_ev])

    # -- from cells ------------------------------------------------------------------------------
    def from_cells(self, key: str, comps: tuple[str, ...], none_note: str) -> Outcome:
        """A component fed by taxonomy cells: every stage that happened must be released."""
        cells = [(c, self.cells[c]) for c in comps if c in self.cells and self.cells[c].get("level") != NA]
        if not cells:
            return self.outcome(key, MISSING, note=none_note)
        evidence = [e for _, cell in cells for e in cell.get("evidence", [])[:3]]
        closed = [c for c, cell in cells if cell["level"] in ("C1", "D1", "D2")]
        if closed:
            why = ", ".join(f"{c} {self.cells[c]['level']}" for c in closed)
            return self.outcome(key, MISSING, note=f"not released: {why}", evidence=evidence)
        unknown = [(c, cell) for c, cell in cells if cell["level"] == UNKNOWN]
        unread = [c for c, cell in unknown if any(str(e.get("rule", "")).startswith(_UNREAD)
                                                   for e in cell.get("evidence", [])[:1])]
        if unread:
            return self.outcome(key, NOT_VISIBLE, note=f"{', '.join(unread)} is ? : its source could not be read",
                                evidence=evidence)
        if unknown:
            return self.outcome(key, INCLUDED, None, f"{', '.join(c for c, _ in unknown)} is ? : public, terms "
                                                     "not identified", evidence)
        license = join_licenses(cell["license"] for _, cell in cells if cell.get("license"))
        levels = ", ".join(f"{c} {cell['level']}" for c, cell in cells)
        return self.outcome(key, INCLUDED, license, levels, evidence)

    # -- documents and what the card says -------------------------------------------------------
    def papers(self, kind: str) -> list[dict[str, Any]]:
        card = self.card
        return [_ev(p.where.source, p.url, f"card.{p.kind}", p.where.text[:200] or None)
                for p in (card.papers if card else []) if p.kind == kind]

    def searched(self) -> str:
        card = self.card
        return f"searched the card of {card.id} ({len(card.sections)} sections) and its links" if card else ""

    def data_card(self) -> Outcome:
        card, facts = self.card, self.facts
        if card is None or facts is None or self.licences is None:
            return self.outcome("data_card", NOT_VISIBLE, note="no Hub card was read")
        cards = []
        for m in card.datasets:
            ds = facts.datasets.get(m.hub_id or "") if m.stage not in ("benchmark", "safety") else None
            if ds is not None and ds.status == "ok" and ds not in cards:
                cards.append(ds)
        carries = [s for s in card.sections if _role(s) == "training_data"]
        if cards:
            parts = [p for ds in cards for p in self.licences.card(ds)[:1]]
            license = _parts_license(parts) if len(parts) == len(cards) else None
            ev = [_ev(ds.url, ds.id, "dataset.card", "the dataset's Hub card") for ds in cards[:5]]
            return self.outcome("data_card", INCLUDED, license, f"{len(cards)} dataset card(s) read",
                                ev + [_part_ev(p) for p in parts[:5]])
        if carries or any(m.stage not in ("benchmark", "safety") for m in card.datasets):
            why = (f"section \"{carries[0]}\"" if carries else "training datasets named in the card")
            return self.outcome("data_card", MISSING, note=f"optional: the model card carries the data information "
                                                           f"({why})", required=False,
                                evidence=[_ev(card.url, carries[0] if carries else card.datasets[0].name,
                                              "card.data-information")])
        return self.outcome("data_card", MISSING, note=f"no dataset card and no data section; {self.searched()}")


@lru_cache(maxsize=65536)
def _role(title: str) -> str:
    return heading_role(title)


def score_mof(spec: Spec, model_id: str, cells: dict[str, dict[str, Any]], facts: Facts | None,
              k: Knowledge | None = None, n: Normalizer | None = None) -> Result:
    """The MOF components and class of one model from its stored facts and taxonomy cells."""
    m = _Model(spec, model_id, cells, facts, k, n)
    card = m.card
    out: dict[str, Outcome] = {}

    out["model_architecture"] = m.from_cells("model_architecture", ("inference_code",),
                                             "no code or library that runs the model")
    out["model_parameters_final"] = m.from_cells("model_parameters_final", ("weights",), "no weights")
    if card is None:
        for key in ("technical_report", "evaluation_results", "model_card", "research_paper"):
            out[key] = m.outcome(key, NOT_VISIBLE, note="no Hub card was read")
    else:
        reports, papers = m.papers("report"), m.papers("paper")
        out["technical_report"] = (m.with_global("technical_report", "a technical report the card links", reports)
                                   if reports else m.outcome("technical_report", MISSING,
                                                             note=f"no technical report linked; {m.searched()}"))
        out["research_paper"] = (m.with_global("research_paper", "a paper the card links", papers) if papers else
                                 m.with_global("research_paper", "the technical report stands for the paper (MOF)",
                                               reports) if reports else
                                 m.outcome("research_paper", MISSING, note=f"no paper linked; {m.searched()}"))
        if papers and not reports:
            out["technical_report"] = m.outcome("technical_report", MISSING, required=False,
                                                note="optional: a research paper is included (MOF)")
        reported = [_ev(r.where.source, f"{r.benchmark}: {r.metric} {r.value}", f"card.result.{r.origin}")
                    for r in card.results[:5]] or [_ev(e.where.source, e.benchmark, f"card.evaluation.{e.origin}")
                                                   for e in card.evaluations[:5]]
        if reported:
            out["evaluation_results"] = m.with_global("evaluation_results", "results reported in the model card",
                                                      reported)
        elif reports or papers:
            out["evaluation_results"] = m.outcome(
                "evaluation_results", NOT_VISIBLE, evidence=(reports or papers)[:2],
                note="the card reports no results; the linked paper or report may (harvester does not read it)")
        else:
            out["evaluation_results"] = m.outcome("evaluation_results", MISSING,
                                                  note=f"no results reported; {m.searched()}")
        out["model_card"] = m.with_global("model_card", "the Hub card", [_ev(card.url, card.id, "card.readme")])
    out["data_card"] = m.data_card()
    out["sample_model_outputs"] = m.outcome("sample_model_outputs", NOT_VISIBLE,
                                            note="sample outputs are not something harvester reads")
    out["training_code"] = m.from_cells("training_code", ("pretraining_code", "finetuning_code", "alignment_code"),
                                        "no training stage named")
    out["inference_code"] = m.from_cells("inference_code", ("inference_code",), "no inference code")
    out["evaluation_code"] = m.from_cells("evaluation_code", ("general_eval_code", "safety_eval_code"),
                                          "no evaluation reported, so no evaluation code")
    out["evaluation_data"] = m.from_cells("evaluation_data", ("utility_benchmark_data", "safety_eval_data"),
                                          "no benchmark reported")
    out["supporting_libraries"] = _libraries(m)
    out["datasets"] = m.from_cells("datasets", ("pretraining_data", "sft_data", "alignment_data"),
                                   "no training data named")
    out["data_preprocessing_code"] = _preprocessing(m)
    ckpt = [s for s in card.signals if s.kind == "checkpoints"] if card else []
    out["model_parameters_intermediate"] = (
        m.outcome("model_parameters_intermediate", INCLUDED, m.global_license,
                  "the card says intermediate checkpoints are published, in the model's repository",
                  [_ev(s.where.source, s.where.text, "card.checkpoints") for s in ckpt[:1]] + m.global_ev)
        if ckpt else m.outcome("model_parameters_intermediate", NOT_VISIBLE,
                               note="checkpoints live in branches and revisions harvester does not list"))
    trainer = [s for s in card.signals if s.kind == "trainer_config"] if card else []
    out["model_metadata"] = (m.with_global("model_metadata", "training configuration in the card",
                                           [_ev(s.where.source, s.where.text, f"card.trainer.{s.detail}")
                                            for s in trainer[:1]])
                             if trainer else m.outcome("model_metadata", NOT_VISIBLE,
                                                       note="no training configuration in the card"))
    ordered = {c.key: out[c.key] for c in spec.components}
    return _classify(spec, model_id, ordered)


def _libraries(m: _Model) -> Outcome:
    card = m.card
    if card is None or m.licences is None or not card.libraries:
        return m.outcome("supporting_libraries", MISSING, note="no library named")
    parts = [p for p in (m.licences.library(lib.name) for lib in card.libraries[:5]) if p is not None]
    if not parts:
        return m.outcome("supporting_libraries", INCLUDED, None, "libraries not in rules/libraries.yaml",
                         [_ev(lib.where.source, lib.where.text, f"library.{lib.origin}") for lib in card.libraries[:3]])
    return m.outcome("supporting_libraries", INCLUDED, _parts_license(parts),
                     ", ".join(lib.name for lib in card.libraries[:5]), [_part_ev(p) for p in parts])


def _preprocessing(m: _Model) -> Outcome:
    card, facts = m.card, m.facts
    if card is not None and facts is not None and m.licences is not None:
        for rl in card.repos:
            rf = facts.repos.get(rl.repo)
            known = m.k.known_repo(rl.repo) if m.k is not None else None
            kind = rf.kind if rf is not None and rf.kind != "unknown" else (known.kind if known else "unknown")
            if kind == "data" and rl.context != "citation":
                part = m.licences.repo(rl.repo, f"data code: {rl.repo}")
                lic = part.result.spdx if part is not None and part.result is not None and part.result.known else None
                ev = [_ev(rl.where.source, rl.where.text or rl.repo, "repo.data", f"{rl.repo}: builds data")]
                return m.outcome("data_preprocessing_code", INCLUDED, lic, f"{rl.repo} builds the data",
                                 ev + ([_part_ev(part)] if part is not None else []))
    return m.outcome("data_preprocessing_code", NOT_VISIBLE,
                     note="harvester does not read a training repository's tree for data-processing scripts")


def _classify(spec: Spec, model_id: str, comps: dict[str, Outcome]) -> Result:
    reached: str | None = None
    progress: dict[str, str] = {}
    gaps: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for cls in CLASSES:
        needed = [o for c in spec.components if c.mof_class == cls for o in (comps[c.key],) if o.required]
        missing = [o.key for o in needed if o.status == MISSING]
        not_open = [o.key for o in needed if o.status == INCLUDED and not o.counts]
        hidden = [o.key for o in needed if o.status == NOT_VISIBLE]
        progress[cls] = f"{sum(o.counts for o in needed)}/{len(needed)}"
        gaps[cls] = (missing, not_open, hidden)
    for cls in CLASSES:
        if any(gaps[cls]):
            break
        reached = cls
    nxt = CLASSES[CLASSES.index(reached) + 1] if reached in CLASSES[:-1] else ("III" if reached is None else None)
    if nxt is None:
        return Result(model_id, reached, comps, None, progress=progress)
    # what the next class still needs: its own components, and any lower class's left unmet
    upto = CLASSES[: CLASSES.index(nxt) + 1]
    missing = tuple(k for c in upto for k in gaps[c][0])
    not_open = tuple(k for c in upto for k in gaps[c][1])
    hidden = tuple(k for c in upto for k in gaps[c][2])
    return Result(model_id, reached, comps, nxt, missing, not_open, hidden, progress)
