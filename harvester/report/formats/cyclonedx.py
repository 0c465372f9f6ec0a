"""CycloneDX 1.6 AI BOMs, built with ``cyclonedx-python-lib`` (its objects, its serialiser, its validator).

Per model: a ``machine-learning-model`` component with its licences (SPDX ids, ``LicenseRef-`` names with
the text's URL, or an expression), the base-model chain as ``pedigree.ancestors``, the Hub page at its
revision and the linked repositories and papers as external references, the twelve taxonomy cells and
the MOF class as ``harvester:`` properties (docs/cyclonedx.md), and its ``modelCard``; the datasets it
names are ``data`` components with their own licences, which the model card refers to.

The library (11.x) does not model ``modelCard`` yet (CycloneDX/cyclonedx-python-lib#911, #912): the one
object is built here as the 1.6 schema defines it (:class:`ModelCard`) and added to the library's JSON
output (:func:`_add_model_cards`). When the library gains it, build it with the library and delete the
workaround; ``tests/test_cyclonedx.py`` fails on that day to say so.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, TextIO

from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType, Pedigree
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseAcknowledgement, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.spdx import is_supported_id
from packageurl import PackageURL

from harvester import __version__
from harvester.fetch.hub import hub_page
from harvester.levels import COMPONENTS, UNKNOWN
from harvester.licenses.normalize import Normalizer
from harvester.read.facts import CardFacts, DatasetMention, Facts
from harvester.report.formats.interface import Format, ModelRecord, Piece, file_name
from harvester.score.knowledge import Knowledge
from harvester.score.mof import Spec, score_mof
from harvester.score.scorer import Licences
from harvester.store.sqlite import Run

NS = "harvester"
SCHEMA = SchemaVersion.V1_6
SUFFIX = ".cdx.json"
MAX_ANCESTRY = 4
_STAGE_COMPONENT = {"pretraining": "pretraining_data", "finetuning": "sft_data", "alignment": "alignment_data",
                    "benchmark": "utility_benchmark_data", "safety": "safety_eval_data"}


# -- the model card, as the CycloneDX 1.6 JSON schema defines it (until the library models it) -------
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


class _SchemaObject:
    """A schema object: fields in snake_case serialise as the schema's camelCase; empty ones are left out."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, _SchemaObject):
                value = value.to_json()
            elif isinstance(value, (list, tuple)):
                value = [v.to_json() if isinstance(v, _SchemaObject) else v for v in value]
            if value not in (None, "", [], {}):
                out["bom-ref" if f.name == "bom_ref" else _camel(f.name)] = value
        return out


@dataclass(frozen=True)
class DataRef(_SchemaObject):
    ref: str  # bom-ref of a ``data`` component of the same BOM


@dataclass(frozen=True)
class ModelParameters(_SchemaObject):
    task: str | None = None
    architecture_family: str | None = None
    model_architecture: str | None = None
    datasets: tuple[DataRef, ...] = ()


@dataclass(frozen=True)
class PerformanceMetric(_SchemaObject):
    type: str | None = None
    value: str | None = None
    slice: str | None = None


@dataclass(frozen=True)
class QuantitativeAnalysis(_SchemaObject):
    performance_metrics: tuple[PerformanceMetric, ...] = ()


@dataclass(frozen=True)
class Considerations(_SchemaObject):
    use_cases: tuple[str, ...] = ()
    technical_limitations: tuple[str, ...] = ()


@dataclass(frozen=True)
class NameValue(_SchemaObject):
    name: str
    value: str


@dataclass(frozen=True)
class ModelCard(_SchemaObject):
    model_parameters: ModelParameters = field(default_factory=ModelParameters)
    quantitative_analysis: QuantitativeAnalysis = field(default_factory=QuantitativeAnalysis)
    considerations: Considerations = field(default_factory=Considerations)
    properties: tuple[NameValue, ...] = ()


def _add_model_cards(bom_json: str, cards: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The library's JSON with each ``machine-learning-model`` component's ``modelCard`` added by bom-ref."""
    doc: dict[str, Any] = json.loads(bom_json)
    targets = [doc.get("metadata", {}).get("component")] + doc.get("components", [])
    for comp in targets:
        if comp is not None and comp.get("bom-ref") in cards and cards[comp["bom-ref"]]:
            comp["modelCard"] = cards[comp["bom-ref"]]
    return doc


# -- licences ---------------------------------------------------------------------------------------
class _LicenseMaker:
    """CycloneDX licences from harvester's: an SPDX id, a ``LicenseRef-`` name with its text's URL, an
    expression; cached, since a run repeats a few hundred licences over every model."""

    def __init__(self, n: Normalizer) -> None:
        self.n = n
        self.cache: dict[tuple[str, str], tuple[License, ...]] = {}

    def url(self, spdx: str) -> str | None:
        rule = self.n.rules.by_id.get(spdx.lower())
        src = rule.source if rule is not None else None
        return src if src and src.startswith(("http://", "https://")) else None

    def of(self, expression: str | None, raw: str | None = None, raw_url: str | None = None) -> tuple[License, ...]:
        """``expression`` identified by harvester (concluded), else the raw value the card declares."""
        key = (expression or "", raw or "")
        if key in self.cache:
            return self.cache[key]
        out: tuple[License, ...]
        if expression and (" AND " in expression or " OR " in expression or " WITH " in expression):
            out = (LicenseExpression(expression, acknowledgement=LicenseAcknowledgement.CONCLUDED),)
        elif expression:
            url = self.url(expression)
            if is_supported_id(expression):
                out = (DisjunctiveLicense(id=expression, url=XsUri(url) if url else None,
                                          acknowledgement=LicenseAcknowledgement.CONCLUDED),)
            else:
                out = (DisjunctiveLicense(name=expression, url=XsUri(url) if url else None,
                                          acknowledgement=LicenseAcknowledgement.CONCLUDED),)
        elif raw:
            link = raw_url if raw_url and raw_url.startswith(("http://", "https://")) else None
            out = (DisjunctiveLicense(name=raw[:200], url=XsUri(link) if link else None,
                                      acknowledgement=LicenseAcknowledgement.DECLARED),)
        else:
            out = ()
        self.cache[key] = out
        return out


def bom_license(doc: dict[str, Any]) -> str | None:
    """The licence a BOM concludes for its model (what ``licenses`` says, as one expression), or None."""
    comp = doc.get("metadata", {}).get("component", {})
    concluded = []
    for entry in comp.get("licenses", []):
        if "expression" in entry:
            concluded.append(entry["expression"])
        lic = entry.get("license", {})
        if lic.get("acknowledgement") == "concluded":
            concluded.append(lic.get("id") or lic.get("name"))
    return " AND ".join(concluded) if concluded else None


# -- one model --------------------------------------------------------------------------------------
def _ref(model_id: str, sha: str | None) -> tuple[str, PackageURL | None]:
    org, _, name = model_id.rpartition("/")
    if not name:
        return f"{NS}:model:{model_id}", None
    purl = PackageURL(type="huggingface", namespace=org or None, name=name, version=(sha or "").lower() or None)
    return purl.to_string(), purl




@lru_cache(maxsize=8192)
def _prop(name: str, value: str) -> Property:
    return Property(name=name, value=value)


def _props(pairs: Iterable[tuple[str, str | None]]) -> list[Property]:
    return [_prop(f"{NS}:{k}", v) for k, v in pairs if v not in (None, "")]


@lru_cache(maxsize=4096)
def _shared_ext(kind: ExternalReferenceType, url: str, comment: str | None = None) -> ExternalReference | None:
    """A reference many models share (a repository, a paper, a dataset, a base model): built once."""
    return _ext(kind, url, comment)


def _ext(kind: ExternalReferenceType, url: str, comment: str | None = None) -> ExternalReference | None:
    if not url.startswith(("http://", "https://")):
        return None
    return ExternalReference(type=kind, url=XsUri(url), comment=comment)


class _Builder:
    """The library objects of one run's BOMs; data components and licences are reused across models."""

    def __init__(self, run: Run, k: Knowledge, n: Normalizer, spec: Spec) -> None:
        self.run, self.k, self.n, self.spec = run, k, n, spec
        self.licenses = _LicenseMaker(n)
        self.data: dict[tuple[str, str], tuple[str, Component]] = {}
        self.ancestry: dict[tuple[str, str, str, str | None, int], Component] = {}
        when = run.finished_at or run.started_at
        try:
            self.timestamp = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            self.timestamp = dt.datetime.now(dt.UTC)
        self.tool = Component(type=ComponentType.APPLICATION, name="harvester", version=__version__,
                              bom_ref=f"{NS}:tool")

    # -- pieces -------------------------------------------------------------------------------
    def dataset(self, lic: Licences, m: DatasetMention, stage: str) -> tuple[str, Component]:
        """A ``data`` component with the dataset's own terms, as the taxonomy reads them."""
        key = (m.hub_id or m.name).strip()
        cache_key = (key.lower(), stage)
        if cache_key in self.data:
            return self.data[cache_key]
        part = lic.dataset(m, _STAGE_COMPONENT.get(stage, "pretraining_data"))
        r = part.result
        if r is not None and r.known and r.spdx:
            licenses, status = self.licenses.of(r.spdx), "identified"
        elif part.level in ("D1", "C1"):
            licenses, status = (), "not released"
        else:
            licenses, status = self.licenses.of(None, part.evidence.raw if r is not None else None), "unidentified"
        ref = f"{NS}:data:{stage}:{key}"  # one dataset in two roles is read per role (closed for one, …)
        refs = [x for x in (_shared_ext(ExternalReferenceType.DISTRIBUTION, hub_page("dataset", m.hub_id)),)
                if x is not None] if m.hub_id else []
        comp = Component(type=ComponentType.DATA, name=key, bom_ref=ref, licenses=licenses, external_references=refs,
                         properties=_props([("dataset:stage", stage),
                                            ("license:status", status if status != "identified" else None)]))
        self.data[cache_key] = (ref, comp)
        return ref, comp

    def ancestors(self, facts: Facts, lic: Licences, card: CardFacts, depth: int = 0,
                  seen: frozenset[str] = frozenset()) -> list[Component]:
        """The base-model chain: each base with its own licence and, nested, its own bases."""
        out = []
        for b in card.bases:
            if b.id.lower() in seen or depth >= MAX_ANCESTRY:
                continue
            base = facts.bases.get(b.id)
            key = (b.id, b.relation, b.origin, base.sha if base is not None else None, depth)
            if key in self.ancestry:  # many models of a run share a base: built once
                out.append(self.ancestry[key])
                continue
            sha = base.sha if base is not None else None
            _, purl = _ref(b.id, sha)
            licenses: tuple[License, ...] = ()
            if base is not None and base.status == "ok":
                parts = lic.card(base)
                ids = [p.result.spdx for p in parts if p.result is not None and p.result.known and p.result.spdx]
                licenses = self.licenses.of(" AND ".join(dict.fromkeys(ids))) if ids else ()
            org, _, name = b.id.rpartition("/")
            nested = self.ancestors(facts, lic, base, depth + 1, seen | {b.id.lower()}) if (
                base is not None and base.status == "ok") else []
            out.append(self.ancestry.setdefault(key, Component(
                type=ComponentType.MACHINE_LEARNING_MODEL, name=name or b.id, group=org or None, purl=purl,
                licenses=licenses, pedigree=Pedigree(ancestors=nested) if nested else None,
                external_references=[x for x in (_shared_ext(ExternalReferenceType.WEBSITE, hub_page("model", b.id)),)
                                     if x is not None],
                properties=_props([("relation", b.relation), ("base:unread", None if base is not None and
                                   base.status == "ok" else (base.reason or base.status) if base is not None
                                   else "not harvested")]))))
        return out

    def weights_licenses(self, cells: dict[str, Any], card: CardFacts | None) -> tuple[tuple[License, ...], str]:
        w = cells.get("weights", {})
        if w.get("license"):
            return self.licenses.of(w["license"]), "identified"
        if w.get("level") == UNKNOWN:
            ev = (w.get("evidence") or [{}])[0]
            link = next((x.value for x in card.licenses if x.origin == "license_link"), None) if card else None
            return self.licenses.of(None, str(ev.get("raw") or "unidentified"), link), "unidentified"
        return (), "none"

    # -- a model ------------------------------------------------------------------------------
    def model(self, rec: ModelRecord) -> tuple[Component, list[Component], dict[str, Any]]:
        """(the model component, its data components, its model card as JSON)."""
        facts, cells = rec.facts, rec.cells
        card = facts.model if facts is not None else None
        sha = card.sha if card is not None else None
        # a curated model (rules/models) has no Hub repository: no huggingface purl
        ref, purl = _ref(rec.model_id, sha) if facts is not None else (f"{NS}:curated:{rec.model_id}", None)
        lic = Licences(facts, self.k, self.n) if facts is not None else None
        mof = score_mof(self.spec, rec.model_id, cells, facts, self.k, self.n)
        licenses, status = self.weights_licenses(cells, card)
        props: list[tuple[str, str | None]] = [("license:status", status if status != "identified" else None),
                                               ("curated", "rules/models" if facts is None else None)]
        props.extend((f"taxonomy:{comp}", cells.get(comp, {}).get("level", UNKNOWN)) for comp in COMPONENTS)
        props.append(("mof:class", mof.mof_class or "none"))
        if mof.next_class:
            props.append(("mof:next", mof.next_class))
        refs: list[ExternalReference | None] = []
        data: list[Component] = []
        data_refs: list[str] = []
        model_card: dict[str, Any] = {}
        if card is not None and lic is not None and facts is not None:
            page = hub_page("model", rec.model_id)  # the public page, whichever endpoint was crawled
            refs.append(_ext(ExternalReferenceType.WEBSITE, page + (f"/tree/{sha}" if sha else ""),
                             "the Hub page at the harvested revision"))
            refs.append(_ext(ExternalReferenceType.MODEL_CARD, hub_page("model", rec.model_id, sha, "README.md")
                             if sha else page, "the model card"))
            for rl in _unique(card.repos, lambda r: r.repo.lower()):
                rf = facts.repos.get(rl.repo)
                kind = rf.kind if rf is not None and rf.kind != "unknown" else rl.context
                refs.append(_shared_ext(ExternalReferenceType.VCS, f"https://github.com/{rl.repo}",
                                 f"{kind} code; linked as {rl.context}" + (" (named, not linked)" if rl.named_only
                                                                          else "")))
            for p in card.papers:
                refs.append(_shared_ext(ExternalReferenceType.DOCUMENTATION, p.url,
                                 "technical report" if p.kind == "report" else "paper"))
            mentions = [(m, m.stage) for m in card.datasets] + [
                (DatasetMention(e.benchmark, e.hub_id, "safety" if e.safety else "benchmark", e.origin, e.where),
                 "safety" if e.safety else "benchmark") for e in card.evaluations]
            for m, stage in _unique(mentions, lambda x: ((x[0].hub_id or x[0].name).lower(), x[1])):
                dref, dcomp = self.dataset(lic, m, stage)
                if dref not in data_refs:
                    data_refs.append(dref)
                    data.append(dcomp)
            model_card = ModelCard(
                ModelParameters(task=card.task, model_architecture=card.architecture,
                                datasets=tuple(DataRef(r) for r in data_refs)),
                QuantitativeAnalysis(tuple(PerformanceMetric(r.metric or None, r.value, r.benchmark)
                                           for r in card.results)),
                Considerations(tuple(f"{w.section}: {w.text}" for w in card.uses),
                               tuple(f"{w.section}: {w.text}" for w in card.limitations)),
                (NameValue(f"{NS}:parameters", str(card.parameters)),) if card.parameters else (),
            ).to_json()
        org, _, name = rec.model_id.rpartition("/")
        component = Component(
            type=ComponentType.MACHINE_LEARNING_MODEL, name=name or rec.model_id, group=org or None,
            version=sha, purl=purl, bom_ref=ref, publisher=org or None, licenses=licenses,
            pedigree=Pedigree(ancestors=self.ancestors(facts, lic, card)) if (
                card is not None and lic is not None and facts is not None and card.bases) else None,
            external_references=[r for r in refs if r is not None], properties=_props(props))
        return component, data, model_card

    def bom(self, components: list[tuple[Component, list[Component]]], subject: Component | None,
            key: str) -> Bom:
        bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:{NS}:run:{self.run.id}:"
                                                               f"{self.run.started_at}:{key}"),
                  metadata=BomMetaData(timestamp=self.timestamp, component=subject,
                                       properties=_props([("run", str(self.run.id)), ("run:status", self.run.status)])))
        bom.metadata.tools.components.add(self.tool)
        for model, data in components:
            if model is not subject:
                bom.components.add(model)
            for d in data:
                bom.components.add(d)
            bom.register_dependency(model, data)
        return bom


def _unique(items: Iterable[Any], key: Any) -> Iterator[Any]:
    seen = set()
    for x in items:
        k = key(x)
        if k not in seen:
            seen.add(k)
            yield x


def _serialise(bom: Bom) -> str:
    with warnings.catch_warnings():  # the library warns about an incomplete graph; ours is complete by design
        warnings.simplefilter("ignore")
        return JsonV1Dot6(bom).output_as_string()


class CycloneDx(Format):
    """One BOM per model (a folder of ``ORG/NAME.cdx.json``), or with ``bundle`` one BOM for the run."""

    name = "cyclonedx"

    def __init__(self, k: Knowledge, n: Normalizer, spec: Spec, bundle: bool = False) -> None:
        self.k, self.n, self.spec, self.bundle = k, n, spec, bundle
        self.folder = not bundle
        self.builder: _Builder | None = None

    def begin(self, run: Run) -> None:
        self.builder = _Builder(run, self.k, self.n, self.spec)

    def bom(self, rec: ModelRecord) -> dict[str, Any]:
        """One model's BOM as JSON (a dict), model card included."""
        b = self.builder
        assert b is not None, "begin(run) first"
        model, data, card = b.model(rec)
        bom = b.bom([(model, data)], model, rec.model_id)
        return _add_model_cards(_serialise(bom), {str(model.bom_ref): card})

    def render(self, rec: ModelRecord) -> Piece:
        if not self.bundle:
            return Piece(rec.model_id, json.dumps(self.bom(rec), ensure_ascii=False), file_name(rec.model_id, SUFFIX))
        b = self.builder
        assert b is not None, "begin(run) first"
        model, data, card = b.model(rec)
        doc = _add_model_cards(_serialise(b.bom([(model, data)], None, rec.model_id)), {str(model.bom_ref): card})
        ref = str(model.bom_ref)
        comps = doc.get("components", [])
        mine = next(c for c in comps if c["bom-ref"] == ref)
        deps = [d for d in doc.get("dependencies", []) if d["ref"] == ref]
        return Piece(rec.model_id, json.dumps(mine, ensure_ascii=False),
                     shared=tuple((c["bom-ref"], json.dumps(c, ensure_ascii=False)) for c in comps if c is not mine),
                     summary=json.dumps(deps[0], ensure_ascii=False) if deps else None)

    def document(self, run: Run, pieces: Iterable[Piece], fh: TextIO) -> int:
        """One BOM for the run, streamed: the envelope and every model's objects are the library's output;
        a dataset's component is written once, however many models name it."""
        b = self.builder or _Builder(run, self.k, self.n, self.spec)
        head = json.loads(_serialise(b.bom([], None, "bundle")))
        head.pop("components", None)
        head.pop("dependencies", None)
        fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "components": [\n')
        written: set[str] = set()
        count = 0
        with tempfile.TemporaryFile("w+", encoding="utf-8") as deps:  # the graph, kept on disk until the end
            for p in pieces:
                fh.write(("," if count or written else "") + p.text + "\n")
                for ref, text in p.shared:
                    if ref not in written:
                        written.add(ref)
                        fh.write("," + text + "\n")
                        deps.write(json.dumps({"ref": ref}) + "\n")
                if p.summary:
                    deps.write(p.summary + "\n")
                count += 1
            fh.write('], "dependencies": [')
            deps.seek(0)
            for i, line in enumerate(deps):
                fh.write(("," if i else "") + line.rstrip("\n"))
        fh.write("]}\n")
        return count


# -- validation -------------------------------------------------------------------------------------
def validator() -> Callable[[str], str | None]:
    """The library's own CycloneDX 1.6 JSON validator (schema and formats): text → None, or the first error.

    jsonschema checks the ``iri``/``iri-reference`` formats with an Earley parser (``rfc3987-syntax``),
    some 30 ms per URL. Every URI is an IRI (RFC 3987 §2), so an ASCII string that the regex-based RFC 3986
    check (``rfc3986-validator``, jsonschema's own ``uri`` checker) accepts is accepted at once; anything
    else still goes to the parser: the same answers, sooner.
    """
    from cyclonedx.validation.json import JsonStrictValidator
    from jsonschema import Draft7Validator

    checkers = Draft7Validator.FORMAT_CHECKER.checkers
    for name, rule in (("iri", "URI"), ("iri-reference", "URI_reference")):
        if name in checkers and not getattr(checkers[name][0], "harvester_fast", False):
            func, raises = checkers[name]
            checkers[name] = (_uri_first(func, rule), raises)
    v = JsonStrictValidator(SCHEMA)

    def validate(text: str) -> str | None:
        error = v.validate_str(text)
        return None if error is None else str(error)

    return validate


def _uri_first(func: Callable[[object], bool], rule: str) -> Callable[[object], bool]:
    from rfc3986_validator import validate_rfc3986

    def check(instance: object) -> bool:
        if isinstance(instance, str) and instance.isascii() and validate_rfc3986(instance, rule=rule):
            return True
        return func(instance)

    check.harvester_fast = True  # type: ignore[attr-defined]
    return check
