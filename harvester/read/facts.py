"""Facts read from a harvest: what a card, its repositories, datasets and bases say. Plain data.

The reader turns raw evidence (``harvester.harvest``) into these once; the scorer reads nothing
else. Facts are stored beside the evidence bundle (keyed by the reader's version), so ``rescore``
re-reads texts only when the reading rules changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any, TypeVar

import orjson

T = TypeVar("T")

STAGES = ("pretraining", "finetuning", "alignment")


@dataclass(frozen=True)
class Where:
    """Where in a source a fact was read: the evidence a reviewer follows."""

    source: str  # URL of the card, repository or file
    section: str = ""  # heading title ("" = metadata or before the first heading)
    text: str = ""  # the sentence, row or value as written (clipped)


@dataclass(frozen=True)
class LicenseInput:
    """One piece of licence evidence, still raw: the scorer normalises it with the current rules."""

    value: str  # a tag, name, URL or SPDX expression; for a file, its path
    origin: str  # metadata | license_name | license_link | license_file | prose | github | rules
    where: Where
    text: str | None = None  # a licence file's text
    tier: int = -1  # prose: how strong the statement is (0 a "License:" field … 3 "released under …")
    group: int = -1  # prose: which statement the phrase belongs to


@dataclass(frozen=True)
class BaseRef:
    id: str
    relation: str  # finetune | adapter | quantized | merge
    origin: str  # metadata | tag | prose | code
    where: Where


@dataclass(frozen=True)
class RepoLink:
    """A GitHub repository a card links (or names), with what the link says about it."""

    repo: str  # OWNER/NAME as linked
    anchor: str
    section_role: str
    where: Where
    context: str  # training | code | usage | evaluation | data | citation | other: what the link's place says
    stage_hint: str = ""  # pretraining | finetuning | alignment when the sentence names the stage
    named_only: bool = False  # a known framework named in prose without a link


@dataclass(frozen=True)
class DatasetMention:
    name: str  # as written
    hub_id: str | None  # the Hub dataset to read, when there is one
    stage: str  # pretraining | finetuning | alignment | benchmark | safety | training (unsure which) | unknown
    origin: str  # metadata | hub-url | name | model-index | table
    where: Where


@dataclass(frozen=True)
class Statement:
    """A sentence that settles a stage's artifact: "the training data is not publicly available"."""

    kind: str  # not_released | compiled_public (a corpus drawn from public sources, not released) | custom_code
    subject: str  # data | code | weights
    stage: str  # pretraining | finetuning | alignment | "" (unsure)
    where: Where


@dataclass(frozen=True)
class Library:
    name: str  # libraries.yaml key
    origin: str  # library_name | tag | code | prose
    where: Where


@dataclass(frozen=True)
class Evaluation:
    benchmark: str  # as written
    hub_id: str | None
    safety: bool
    origin: str  # model-index | table | prose
    where: Where


@dataclass(frozen=True)
class Signal:
    """Evidence that a stage happened (or a trait: trained with a public framework's recipe)."""

    kind: str  # sft | alignment | from_scratch | trainer (a framework named) | leaderboard
    # | trainer_config (the framework's configuration in the card) | checkpoints (intermediate ones published)
    detail: str  # e.g. "dpo", "transformers", "axolotl"
    where: Where


@dataclass(frozen=True)
class Result:
    """A reported result: a benchmark, a metric and its value as the card states it."""

    benchmark: str  # dataset as written
    metric: str  # e.g. "accuracy", "pass@1" ("" when the card names none)
    value: str  # as written
    origin: str  # model-index | table
    where: Where


@dataclass(frozen=True)
class Paper:
    """A paper or technical report the card links (arXiv, ACL Anthology, OpenReview, a PDF)."""

    url: str
    kind: str  # paper | report (the link's words say "technical report", "model report", …)
    where: Where


@dataclass
class CardFacts:
    """What one Hub card says, read once."""

    id: str
    url: str
    status: str = "ok"  # ok | not_found | gated | invalid | error
    reason: str | None = None
    sha: str | None = None
    kind: str = "model"  # model | dataset
    licenses: list[LicenseInput] = field(default_factory=list)
    prose_licenses: list[LicenseInput] = field(default_factory=list)  # used only when metadata names none
    bases: list[BaseRef] = field(default_factory=list)
    relation: str | None = None
    libraries: list[Library] = field(default_factory=list)
    repos: list[RepoLink] = field(default_factory=list)
    datasets: list[DatasetMention] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # headings read (for absence records)
    embeds_original: bool = False  # a re-upload that carries its base's original card
    derived: str = ""  # "X is a finetune of …" when the base it names is no Hub id: its lineage is unsearchable
    gated: bool = False
    task: str | None = None  # pipeline_tag: what the model does (text-generation, …)
    architecture: str | None = None  # model_type / architectures the card's metadata names
    parameters: int | None = None  # parameter count the card states
    parameters_text: str = ""  # … as written ("1.4 billion parameters")
    results: list[Result] = field(default_factory=list)
    papers: list[Paper] = field(default_factory=list)
    limitations: list[Where] = field(default_factory=list)  # limitations/bias/risk sections (title, text)
    uses: list[Where] = field(default_factory=list)  # intended-use sections (title, text)


@dataclass
class RepoFacts:
    """A GitHub repository: what it is, from rules, its metadata and its README."""

    repo: str
    url: str
    status: str = "ok"
    reason: str | None = None
    kind: str = "unknown"  # training | library | inference | evaluation | data | application | model | unknown
    stages: list[str] = field(default_factory=list)  # for training code
    safety: bool = False
    kind_reason: str = ""
    licenses: list[LicenseInput] = field(default_factory=list)


@dataclass
class Facts:
    """A harvest's facts: the model, and each repository, dataset and base model it reaches."""

    reader: str  # version of the reading rules
    model: CardFacts
    bases: dict[str, CardFacts] = field(default_factory=dict)
    datasets: dict[str, CardFacts] = field(default_factory=dict)
    repos: dict[str, RepoFacts] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, text: str | bytes) -> Facts:
        raw = orjson.loads(text)
        return cls(reader=raw["reader"], model=_card(raw["model"]),
                   bases={k: _card(v) for k, v in raw.get("bases", {}).items()},
                   datasets={k: _card(v) for k, v in raw.get("datasets", {}).items()},
                   repos={k: _repo(v) for k, v in raw.get("repos", {}).items()})


@cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _build(cls: type[T], raw: dict[str, Any]) -> T:
    """Build from stored JSON, ignoring keys this version does not know (facts outlive readers)."""
    try:
        return cls(**raw)
    except TypeError:
        names = _names(cls)
        return cls(**{k: v for k, v in raw.items() if k in names})


def _where(raw: dict[str, Any]) -> Where:
    return _build(Where, raw)


def _with_where(cls: type[T], raw: dict[str, Any]) -> T:
    raw["where"] = Where(**raw["where"])
    return _build(cls, raw)


def _card(raw: dict[str, Any]) -> CardFacts:
    c = _build(CardFacts, raw)
    c.licenses = [_with_where(LicenseInput, x) for x in raw.get("licenses", [])]
    c.prose_licenses = [_with_where(LicenseInput, x) for x in raw.get("prose_licenses", [])]
    c.bases = [_with_where(BaseRef, x) for x in raw.get("bases", [])]
    c.libraries = [_with_where(Library, x) for x in raw.get("libraries", [])]
    c.repos = [_with_where(RepoLink, x) for x in raw.get("repos", [])]
    c.datasets = [_with_where(DatasetMention, x) for x in raw.get("datasets", [])]
    c.statements = [_with_where(Statement, x) for x in raw.get("statements", [])]
    c.evaluations = [_with_where(Evaluation, x) for x in raw.get("evaluations", [])]
    c.signals = [_with_where(Signal, x) for x in raw.get("signals", [])]
    c.results = [_with_where(Result, x) for x in raw.get("results", [])]
    c.papers = [_with_where(Paper, x) for x in raw.get("papers", [])]
    c.limitations = [_where(x) for x in raw.get("limitations", [])]
    c.uses = [_where(x) for x in raw.get("uses", [])]
    return c


def _repo(raw: dict[str, Any]) -> RepoFacts:
    r = _build(RepoFacts, raw)
    r.licenses = [_with_where(LicenseInput, x) for x in raw.get("licenses", [])]
    return r
