"""Facts + rules → the twelve cells of the taxonomy, each with its evidence. Pure.

The scorer reads only facts (``harvester.read.facts``) and the rules; it never looks at a card.
How a cell is filled follows ``shared/spec/taxonomy.md`` §2 and §6:

- a public artifact gives its licence's level (several: the strictest; an unidentified licence: ``?``
  and a review item);
- a stage that happened with no public artifact after the search is C1/D1, its evidence an
  *absence record* of what was searched;
- a stage nothing says happened is N/A;
- ``?`` is kept for what absence cannot settle: an artifact whose terms are unknown, a base model
  or repository that could not be read, sources that disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from harvester.levels import COMPONENTS, KIND, NA, UNKNOWN, closed, level_for_points
from harvester.licenses.drift import Licensed, compare
from harvester.licenses.normalize import LicenseResult, Normalizer
from harvester.licenses.prose import decide, named_unidentified
from harvester.read.facts import CardFacts, DatasetMention, Facts, LicenseInput, RepoFacts, RepoLink, Where
from harvester.score.cells import Cell, Evidence, ReviewItem
from harvester.score.curated import score_curated
from harvester.score.knowledge import Knowledge, Library

TRAINING = ("pretraining_code", "pretraining_data")
OWN_STAGES = ("finetuning_code", "alignment_code", "sft_data", "alignment_data")
EVALUATION = ("general_eval_code", "safety_eval_code", "utility_benchmark_data", "safety_eval_data")
MAX_LINEAGE = 4
PLACEHOLDERS = ("other", "unknown", "none", "n/a", "custom", "proprietary")
_ORDER = {"C1": 1, "D1": 1, "D2": 2, "C2": 2, "C3": 3, "D3": 3, "C4": 4, "D4": 4, "C5": 5, "D5": 5}
_HARNESS = "EleutherAI/lm-evaluation-harness"
NO_LICENSE = "LicenseRef-harvester-no-license"
TRAINERS = {"transformers": "huggingface/transformers", "trl": "huggingface/trl", "keras": "keras-team/keras",
            "axolotl": "axolotl-ai-cloud/axolotl", "unsloth": "unslothai/unsloth",
            "llama-factory": "hiyouga/LLaMA-Factory", "autotrain": "huggingface/autotrain-advanced"}
"""Frameworks whose cards say they trained a model (a tag, a badge, generated hyperparameters)."""
_PAPER_REF = re.compile(r"@\s?[A-Z]{2,}\s?'?\d{2}|📃")
_OFFICIAL = re.compile(r"\b(our|official)\b", re.I)


def _ev(source: str | None, raw: object, rule: str | None, note: str | None = None) -> Evidence:
    return Evidence(source or "unknown", str(raw)[:500], rule or "unmatched", note)


def _from(where: Where, rule: str, note: str | None = None) -> Evidence:
    raw = where.text or where.section or where.source
    if where.section and where.text:
        note = f"{note} (section \"{where.section}\")" if note else f"section \"{where.section}\""
    return Evidence(where.source, raw[:500], rule, note)


@dataclass(frozen=True)
class Part:
    """One piece of a cell: a licence (scored by the current rules) or a settled level."""

    evidence: Evidence
    result: LicenseResult | None = None
    level: str | None = None  # C1/D1 (not released), D2 (API only) or ? (terms unknown)


@dataclass
class _Ctx:
    facts: Facts
    k: Knowledge
    n: Normalizer
    review: list[ReviewItem] = field(default_factory=list)
    memo: dict[str, dict[str, Cell]] = field(default_factory=dict)


# -- combining --------------------------------------------------------------------------------------
def _review(ctx: _Ctx, component: str, r: LicenseResult, source: str) -> None:
    raw = r.input
    if r.text_sha256:
        key = "text:" + r.text_sha256
    elif raw.lower().startswith(("http://", "https://")):
        key = "url:" + raw.strip()
    else:
        key = "raw:" + " ".join(raw.lower().split())
    item = ReviewItem(component, key, raw, source, r.reason, r.hint)
    if item not in ctx.review:
        ctx.review.append(item)


def _cell(ctx: _Ctx, component: str, parts: list[Part]) -> Cell:
    """Several pieces on one component: not released or API-only first, then any unknown, then the
    strictest licence (taxonomy.md §2)."""
    evidence = tuple(p.evidence for p in parts)
    settled = [p.level for p in parts if p.level not in (None, UNKNOWN)]
    if settled:
        return Cell(min(settled, key=lambda lv: _ORDER[lv]), evidence=evidence)
    for p in parts:
        if p.result is not None and (not p.result.known or p.result.points is None):
            _review(ctx, component, p.result, p.evidence.source)
    results = [p.result for p in parts if p.result is not None and p.result.known and p.result.points is not None]
    if any(p.level == UNKNOWN or (p.result is not None and (not p.result.known or p.result.points is None))
           for p in parts):
        # strictest wins: once a known part is at the floor for a public artifact (code C2, data D3), parts of
        # unknown terms cannot lower the cell further
        floor = [r for r in results if level_for_points(component, r.points or 0) in ("C2", "D3")]
        if not floor:
            return Cell(UNKNOWN, evidence=evidence)
        results = floor
    if not results:
        return Cell(UNKNOWN, evidence=evidence)
    worst = min(results, key=lambda r: r.points or 0)
    ids: list[str] = []
    for r in results:
        if r.spdx and r.spdx not in ids:
            ids.append(r.spdx)
    expr = " AND ".join(f"({i})" if " " in i else i for i in ids) if ids else None
    answers = dict(worst.answers) if worst.answers else None
    return Cell(level_for_points(component, worst.points or 0), expr, worst.points, answers, evidence)


def _absence(component: str, card: CardFacts, searched: str, why: str = "") -> Cell:
    """C1/D1 with an absence record: what was searched and found to hold no public artifact."""
    note = f"searched {searched}" + (f"; {why}" if why else "")
    return Cell(closed(component), evidence=(_ev(card.url, "nothing released found", f"absence.{component}", note),))


def _na(component: str, card: CardFacts, why: str) -> Cell:
    return Cell(NA, evidence=(_ev(card.url, why, f"stage.not-applicable.{component}"),))


def _unknown(component: str, source: str, raw: str, rule: str, note: str | None = None) -> Cell:
    return Cell(UNKNOWN, evidence=(_ev(source, raw, rule, note),))


def _searched(ctx: _Ctx, card: CardFacts, what: str = "") -> str:
    heads = ", ".join(f'"{s}"' for s in card.sections[:8]) + (" …" if len(card.sections) > 8 else "")
    linked = sorted({r.repo for r in card.repos if r.context not in ("citation", "related")})
    read = [r for r in linked if (f := ctx.facts.repos.get(r)) is not None and f.status == "ok"]
    unread = [r for r in linked if r not in read]
    parts = [f"the card of {card.id} ({len(card.sections)} sections{': ' + heads if heads else ''})"]
    if read:
        parts.append("linked repositories " + ", ".join(read[:8]))
    if unread:
        parts.append("linked but not readable: " + ", ".join(unread[:8]))
    if card.bases:
        parts.append("base models " + ", ".join(b.id for b in card.bases))
    if what:
        parts.append(what)
    return "; ".join(parts)


# -- licences ---------------------------------------------------------------------------------------
def _license_parts(ctx: _Ctx, card: CardFacts, rule_prefix: str = "license") -> list[Part] | None:
    """The licence a Hub card declares (``license``, then ``license_name``/``license_link``/its file for
    ``other``), else what its prose states. None when nothing is declared at all."""
    n = ctx.n
    meta = [x for x in card.licenses if x.origin in ("metadata", "tag")]
    named = {x.origin: x for x in card.licenses if x.origin in ("license_name", "license_link", "license_file")}
    parts: list[Part] = []
    placeholder = False
    for x in meta:
        value = x.value.strip()
        if value.lower() in PLACEHOLDERS or (value.lower().startswith("other") and not n.normalize(value).known):
            placeholder = True
            continue
        r = n.normalize(value)
        parts.append(Part(_from(x.where, r.rule or "unmatched", "license in card metadata"), r))
    if placeholder or not meta:
        resolved = _named_license(ctx, card, named)
        if resolved is not None:
            return [*parts, resolved] if parts else [resolved]
    if parts:
        return parts
    prompt = next((x for x in card.licenses if x.origin == "gated_prompt" and x.text), None)
    if prompt is not None and prompt.text is not None:
        r = n.identify_text(prompt.text)
        if r.known:
            return [Part(_from(prompt.where, r.rule or "", "the licence text shown in the gated-access prompt"), r)]
    found = _prose(ctx, card)
    if found is not None:
        return [found]
    unidentified = _prose_named(ctx, card)
    if unidentified is not None:  # the prose says a licence applies, one nobody identifies yet: ? and a review item
        return [unidentified]
    if placeholder:
        value = next((x.value for x in meta), "other")
        raw = named.get("license_name") or named.get("license_link")
        if raw is not None:
            r = n.normalize(raw.value)
            if raw.origin == "license_link" and not raw.value.lower().startswith(("http://", "https://")):
                r = replace(r, input=f"{card.id}/{raw.value}")
            return [Part(_from(raw.where, r.rule or "unmatched", f"license: {value}; {raw.origin} not identified"), r)]
        r = n.normalize(value)
        return [Part(_ev(card.url, f"license: {value}", "license.placeholder",
                         f"license: {value} with no license_name, license_link or licence in the prose"), r)]
    return None


def _prose_groups(card: CardFacts) -> list[tuple[int, list[str]]]:
    groups: dict[int, tuple[int, list[str]]] = {}
    for x in card.prose_licenses:
        groups.setdefault(x.group, (x.tier, []))[1].append(x.value)
    return [groups[g] for g in sorted(groups)]


def _prose_named(ctx: _Ctx, card: CardFacts) -> Part | None:
    piece = named_unidentified(_prose_groups(card))
    if piece is None:
        return None
    r = ctx.n.normalize(piece)
    where = next((x.where for x in card.prose_licenses if x.value == piece), Where(card.url))
    return Part(_from(where, "license.prose-unidentified", "the card's prose names a licence nobody has identified "
                                                           "yet"), r)


def _prose(ctx: _Ctx, card: CardFacts) -> Part | None:
    """The licence the card's prose states, decided on its strongest statements (licenses/prose.py)."""
    found = decide(_prose_groups(card), ctx.n.normalize)
    if found is None:
        return None
    where = next((x.where for x in card.prose_licenses if x.value == found.candidate), Where(card.url))
    return Part(_from(where, found.result.rule or "", "licence stated in the card's prose, not its metadata"),
                found.result)


def _named_license(ctx: _Ctx, card: CardFacts, named: dict[str, LicenseInput]) -> Part | None:
    n = ctx.n
    name, link, file = named.get("license_name"), named.get("license_link"), named.get("license_file")
    if name is not None:
        r = n.normalize(name.value)
        if r.known:
            return Part(_from(name.where, r.rule or "", "license_name for license: other"), r)
    if link is not None:
        r = n.normalize(link.value)
        if r.known:
            return Part(_from(link.where, r.rule or "", "license_link for license: other"), r)
        if not link.value.lower().startswith(("http://", "https://")):
            r = n.normalize(f"{card.id}/{link.value}")  # a reviewer's decision on "<repo>/<path>"
            if r.known:
                return Part(_from(link.where, r.rule or "", "license_link for license: other (reviewed)"), r)
    if file is not None and file.text is not None:
        r = n.identify_text(file.text)
        if r.known:
            return Part(_from(file.where, r.rule or "", "licence file named by license_link"), r)
        return Part(_from(file.where, "unmatched", "licence file named by license_link: not identified"), r)
    return None


def _repo_license(ctx: _Ctx, rf: RepoFacts, note: str) -> Part | None:
    """A repository's licence: its file's text when identified, else GitHub's detection, else the rules'."""
    n = ctx.n
    file = next((x for x in rf.licenses if x.origin == "license_file" and x.text is not None), None)
    text = n.identify_text(file.text) if file is not None and file.text is not None else None
    if file is not None and text is not None and text.known:
        return Part(_from(file.where, text.rule or "", f"{note}: licence file text"), text)
    for x in rf.licenses:
        if x.origin in ("github", "rules"):
            r = n.normalize(x.value)
            return Part(_from(x.where, r.rule or "unmatched", f"{note}: {'GitHub' if x.origin == 'github' else 'rules'}"
                                                                    " licence"), r)
    if file is not None and text is not None:
        return Part(_from(file.where, "unmatched", f"{note}: licence file text"), text)
    return None


def _known_repo_license(ctx: _Ctx, repo: str, note: str) -> Part | None:
    rf = ctx.facts.repos.get(repo)
    if rf is not None and rf.status == "ok":
        found = _repo_license(ctx, rf, note)
        if found is not None:
            return found
    known = ctx.k.known_repo(repo)
    if known is not None and known.license:
        r = ctx.n.normalize(known.license)
        return Part(_ev(known.source, known.license, r.rule, f"{note}: licence from repos.yaml ({known.rationale})"), r)
    return None


# -- weights ----------------------------------------------------------------------------------------
def _weights(ctx: _Ctx, card: CardFacts, depth: int) -> Cell:
    parts = _license_parts(ctx, card)
    base = _base_cells(ctx, card, depth) if card.bases else None
    if parts is not None and not all(p.result is not None and not p.result.known and p.evidence.rule ==
                                     "license.placeholder" for p in parts):
        own = _cell(ctx, "weights", parts)
        return _binding_conflict(card, own, base) or _restricted_in_prose(card, own) or \
            _stricter_in_prose(ctx, card, own) or own
    if base is not None and card.relation is not None:
        inherited = base.get("weights")
        carry = card.relation in ("quantized", "adapter") or (
            inherited is not None and inherited.answers is not None and not inherited.answers.get("other_license"))
        if inherited is not None and carry:
            why = ("re-upload without a licence of its own carries its base's weights licence"
                   if card.relation in ("quantized", "adapter")
                   else "derivative without a licence of its own: the base's licence binds derivatives")
            return _inherit(inherited, card, "weights", why)
    if parts is not None:
        return _cell(ctx, "weights", parts)
    if card.bases and base is None:
        return _unknown("weights", card.url, "no licence in the card's metadata or prose", "weights.no-license",
                        "the card declares no licence and its base model, whose licence may bind it, was not read")
    mentioned = next((st for st in card.statements if st.kind == "weights_license"), None)
    if mentioned is not None:  # "the use of the model weights needs to comply with the Model License"
        return Cell(UNKNOWN, evidence=(_from(mentioned.where, "weights.license-unread",
                                             "the card says a licence governs the weights but names none harvester "
                                             "could read"),))
    r = ctx.n.normalize(NO_LICENSE)
    return _cell(ctx, "weights", [Part(_ev(card.url, "no licence in the card's metadata, prose or lineage",
                                           r.rule or "weights.no-license",
                                           "published with no licence: copyright's defaults grant none of the five "
                                           "rights"), r)])


def _restricted_in_prose(card: CardFacts, own: Cell) -> Cell | None:
    """A licence tag that allows commercial use beside prose that forbids it ("Apache-2.0 … for non-commercial
    use only"): the sources disagree, so ``?``."""
    st = next((x for x in card.statements if x.kind == "license_restriction"), None)
    if st is None or own.answers is None or not own.answers.get("commercial"):
        return None
    note = f"the metadata says {own.license}, but the card's prose restricts its use: the sources disagree"
    return Cell(UNKNOWN, own.license, own.points, own.answers,
                (_from(st.where, "weights.restricted-in-prose", note), *own.evidence))


def _stricter_in_prose(ctx: _Ctx, card: CardFacts, own: Cell) -> Cell | None:
    """A licence tag beside prose that states a stricter licence for the model ("cc0-1.0" and "released
    under the FLUX.1 [dev] Non-Commercial License"): the sources disagree, so ``?`` with both sides."""
    if own.points is None or not any(x.origin == "metadata" for x in card.licenses):
        return None
    stated = _prose(ctx, card)
    if stated is None or stated.result is None or not stated.result.known or stated.result.points is None or \
            stated.result.points >= own.points:
        return None
    note = (f"the metadata says {own.license} ({own.points} points) but the card's prose states "
            f"{stated.result.spdx} ({stated.result.points} points): the sources disagree")
    return Cell(UNKNOWN, own.license, own.points, own.answers,
                (replace(stated.evidence, rule="weights.stricter-in-prose", note=note), *own.evidence))


def _binding_conflict(card: CardFacts, own: Cell, base: dict[str, Cell] | None) -> Cell | None:
    """A derivative whose own licence grants what its base's licence, binding on derivatives, withholds:
    the sources disagree (taxonomy.md §2), so ``?``, with both sides in the evidence."""
    inherited = base.get("weights") if base is not None else None
    if inherited is None or inherited.answers is None or own.answers is None or \
            inherited.answers.get("other_license", True):
        return None
    mine = Licensed(card.id, own.license, own.answers, own.points)
    theirs = Licensed(", ".join(b.id for b in card.bases), inherited.license, inherited.answers, inherited.points)
    drift = compare(mine, theirs, card.relation or "finetune")
    if drift is None:
        return None
    note = (f"the card says {own.license} ({own.points} points) but its base's licence {inherited.license} binds "
            f"derivatives and withholds {', '.join(drift.rights)}: the sources disagree")
    # the cell keeps the card's own declaration (licence and answers) for drift reports and exports
    return Cell(UNKNOWN, own.license, own.points, own.answers,
                (Evidence(card.url, own.license or "", "weights.conflicts-with-base", note), *own.evidence,
                 *inherited.evidence[:2]))


# -- lineage ----------------------------------------------------------------------------------------
def _base_facts(ctx: _Ctx, card: CardFacts) -> tuple[list[CardFacts], list[str]]:
    """(readable bases, ids of bases that could not be read)."""
    ok, missing = [], []
    for b in card.bases:
        bf = ctx.facts.bases.get(b.id)
        if bf is not None and bf.status == "ok":
            ok.append(bf)
        else:
            missing.append(b.id + (f" ({bf.reason or bf.status})" if bf is not None else " (not harvested)"))
    return ok, missing


def _base_cells(ctx: _Ctx, card: CardFacts, depth: int) -> dict[str, Cell] | None:
    """Cells of the card's bases combined (strictest), or None when a base could not be read."""
    ok, missing = _base_facts(ctx, card)
    if missing or not ok or depth >= MAX_LINEAGE:
        return None
    cells = [_cells(ctx, b, depth + 1) for b in ok]
    if len(cells) == 1:
        return cells[0]
    return {comp: _strictest([c[comp] for c in cells]) for comp in COMPONENTS}


def _strictest(levels: list[Cell]) -> Cell:
    """Several bases' cells as one: an unsettled one unsettles it, else the least open stage that happened."""
    if any(c.level == UNKNOWN for c in levels):
        return next(c for c in levels if c.level == UNKNOWN)
    if all(c.level == NA for c in levels):
        return levels[0]
    return min((c for c in levels if c.level != NA), key=lambda c: _ORDER[c.level])


def _known_bases(ctx: _Ctx, card: CardFacts, component: str) -> Cell | None:
    """A base this crawl cannot read (gated, gone, outside the crawl) whose developer's release of its
    pre-training ``rules/lineage.yaml`` records with a source: Llama 3's corpus, FLUX.1 [dev]'s code.
    Never a 404 read as "not released": only what the source says."""
    known = [ctx.k.known_base(b.id) for b in card.bases]
    if not known or any(kb is None or kb.pretraining is None or component not in kb.pretraining.facts
                        for kb in known):
        return None
    cells = []
    for kb in known:
        assert kb is not None and kb.pretraining is not None
        key = f"lineage.yaml:{kb.patterns[0]}"  # once per model scored, for both pre-training cells
        if key not in ctx.memo:
            ctx.memo[key] = score_curated(kb.pretraining, ctx.n, ctx.k)[0]
        cells.append(ctx.memo[key][component])
    return _inherit(_strictest(cells), card, component, f"{card.relation} of a base this crawl could not read; rules/"
                                           f"lineage.yaml records its developer's release of its "
                                           f"{component.replace('_', ' ')}")


def _inherit(cell: Cell, card: CardFacts, component: str, why: str) -> Cell:
    bases = ", ".join(b.id for b in card.bases)
    note = Evidence(card.url, bases, f"lineage.{card.relation}", f"{why} ({bases})")
    return replace(cell, evidence=(note, *cell.evidence))


def _lineage_unknown(card: CardFacts, component: str) -> Cell:
    return _unknown(component, card.url, ", ".join(b.id for b in card.bases), "lineage.base-not-read",
                    f"the {card.relation} base model could not be read, so its {component.replace('_', ' ')} "
                    "was not searched")


# -- code -------------------------------------------------------------------------------------------
def _training_parts(ctx: _Ctx, card: CardFacts, stage: str, component: str) -> tuple[list[Part], list[str]]:
    """Repositories and frameworks the card says trained it for ``stage``; and repositories it points
    to as training code that could not be read."""
    parts: list[Part] = []
    unsettled: list[str] = []
    seen: set[str] = set()
    org = card.id.split("/")[0].lower() if "/" in card.id else ""
    for rl in card.repos:
        if rl.repo.lower() in seen or rl.context in ("citation", "evaluation", "data"):
            continue
        owner = rl.repo.split("/")[0].lower()
        # the developer's own repository, linked from the model's description, is its code; whether that code
        # trains is for the repository (rules or README) to say, never for who owns it
        cited = bool(_PAPER_REF.search(_text_before(rl.where.text, rl.anchor)[-30:]))  # "📃 [GLM@ACL 22] [GitHub]"
        rf = ctx.facts.repos.get(rl.repo)
        known = ctx.k.known_repo(rl.repo)
        kind = rf.kind if rf is not None and rf.kind != "unknown" else (known.kind if known else "unknown")
        # linked from its description, or from the section titled with the model's own name when the repository
        # itself says it is training code (OPUS-MT cards link their model's page in OPUS-MT-train)
        own = bool(org) and owner == org and not cited and (rl.section_role in ("preamble", "details") or (
            kind == "training" and rl.where.section.strip().lower() == card.id.split("/")[-1].lower()))
        if rl.context not in ("training", "training_section", "code") and not own:
            continue
        if rl.context != "training" and cited:
            continue  # the code of a cited paper, not this model's training code
        if rl.stage_hint and rl.stage_hint != stage and not (stage == "pretraining" and rl.stage_hint == ""):
            continue
        stages = (rf.stages if rf is not None and rf.stages else list(known.stages) if known else [])
        # the card's own words ("trained using [X]") settle the stage; a bare link needs the repository to say it;
        # a tool that only fine-tunes (axolotl, trl) pre-trained nothing
        if stage == "pretraining" and stages and "pretraining" not in stages:
            continue
        if kind == "training" and (rl.context == "training" or not stages or stage in stages or
                                   rl.stage_hint == stage):
            seen.add(rl.repo.lower())
            part = _known_repo_license(ctx, rl.repo, f"{stage} code: {rl.repo}")
            if part is not None:
                how = "named as the framework it was trained with" if rl.named_only else "linked as training code"
                parts.append(Part(_from(rl.where, f"repo.{kind}", f"{rl.repo}: {how}"), part.result, part.level))
                parts.append(part)
            else:
                parts.append(Part(_from(rl.where, "repo.training", f"{rl.repo}: licence not found"), None, UNKNOWN))
        elif kind == "unknown" and rl.context == "training" and rf is not None and rf.status == "ok":
            seen.add(rl.repo.lower())  # the card says what it is; the repository does not say otherwise
            part = _repo_license(ctx, rf, f"{stage} code: {rl.repo}")
            if part is not None:
                parts.append(Part(_from(rl.where, "repo.training-by-card", f"{rl.repo}: the card calls it training "
                                                                           "code"), part.result, part.level))
                parts.append(part)
        elif kind == "unknown" and rl.context == "training":
            unsettled.append(rl.repo + (f" ({rf.reason or rf.status})" if rf is not None else ""))
        elif kind != "training" and known is not None and "training" in known.other_kinds and (own or (
                rl.context == "code" and _OFFICIAL.search(f"{rl.anchor} {rl.where.text}"))):  # its developer's code
            unsettled.append(f"{rl.repo} (it also holds training code; which stage it trains is not settled)")
    return parts, unsettled


def _trainer_part(ctx: _Ctx, card: CardFacts, stage: str) -> Part | None:
    """A public framework the card says it was trained with, with its configuration in the card (§6): a
    tag or a "Built with Axolotl" badge names the framework but releases no configuration."""
    for s in card.signals:
        if s.kind != "trainer_config":
            continue
        framework = TRAINERS.get(s.detail)
        if framework is None:
            continue
        if stage == "alignment" and s.detail != "trl":
            continue
        part = _known_repo_license(ctx, framework, f"trained with {s.detail}")
        lib = ctx.k.library(s.detail)
        if part is None and lib is not None:
            r = ctx.n.normalize(lib.license)
            part = Part(_ev(lib.source, lib.license, r.rule, f"libraries.yaml: {lib.library}"), r)
        if part is not None:
            return Part(_from(s.where, f"trainer.{s.detail}", f"trained with {s.detail}, configuration in the card"),
                        part.result, part.level)
    return None


def _statement_parts(card: CardFacts, subject: str, stage: str, component: str) -> list[Part]:
    out = []
    for st in card.statements:
        if st.subject != subject or (st.stage and st.stage != stage):
            continue
        if st.kind in ("not_released", "custom_code") or (
                st.kind in ("compiled_public", "compiled_new") and stage == "pretraining"):
            note = {"not_released": "the card says it is not released",
                    "custom_code": "the card says it was trained with an unreleased codebase",
                    "compiled_public": "a corpus the developer compiled from public sources and did not release",
                    "compiled_new": "a corpus the developer compiled itself; the card links no release of it"}
            out.append(Part(_from(st.where, f"statement.{st.kind}", note[st.kind]), None, closed(component)))
    return out


def _pretraining_code(ctx: _Ctx, card: CardFacts) -> Cell:
    parts, unsettled = _training_parts(ctx, card, "pretraining", "pretraining_code")
    trainer = _trainer_part(ctx, card, "pretraining") if any(s.kind == "from_scratch" for s in card.signals) \
        else None  # a framework with hyperparameters trained *this* model from scratch, or it fine-tuned a base
    if trainer is not None:
        parts.append(trainer)
    if parts:
        return _cell(ctx, "pretraining_code", _dedupe(parts))
    if unsettled:
        return _unknown("pretraining_code", card.url, ", ".join(unsettled), "repo.unread",
                        "the card links training code that could not be read or settled")
    fork = next((st for st in card.statements if st.kind == "unlinked_fork"), None)
    if fork is not None:
        return Cell(UNKNOWN, evidence=(_from(fork.where, "code.unlinked-fork",
                                             "trained with a fork of a public framework that the card does not link: "
                                             "whether the fork and its configuration are public is not settled"),))
    stated = _statement_parts(card, "code", "pretraining", "pretraining_code")
    if stated:
        return _cell(ctx, "pretraining_code", stated[:1])
    return _absence("pretraining_code", card, _searched(ctx, card, "frameworks named in training sentences"),
                    "a repository that only loads or serves the model is not training code")


def _text_before(text: str, anchor: str) -> str:
    at = text.find(anchor) if anchor else -1
    return text[:at] if at >= 0 else text


def _dedupe(parts: list[Part]) -> list[Part]:
    out: list[Part] = []
    for p in parts:
        if p not in out:
            out.append(p)
    return out


def _stage_code(ctx: _Ctx, card: CardFacts, stage: str, component: str) -> Cell:
    parts, unsettled = _training_parts(ctx, card, stage, component)
    trainer = _trainer_part(ctx, card, stage)
    if trainer is not None:
        parts.append(trainer)
    if parts:
        return _cell(ctx, component, _dedupe(parts))
    if unsettled:
        return _unknown(component, card.url, ", ".join(unsettled), "repo.unread",
                        "the card links training code that could not be read or settled")
    return _absence(component, card, _searched(ctx, card))


def _inference_code(ctx: _Ctx, card: CardFacts, depth: int) -> Cell:
    org = card.id.split("/")[0].lower() if "/" in card.id else ""
    for rl in card.repos:
        if rl.context in ("citation", "evaluation", "data") or rl.named_only:
            continue
        rf = ctx.facts.repos.get(rl.repo)
        owner = rl.repo.split("/")[0].lower()
        own = bool(org) and (owner == org or owner.startswith(org) or org.startswith(owner))
        presented = rl.context == "code" and rl.section_role in ("preamble", "details")  # the card's "code" link
        said = rl.context in ("usage", "code") and bool(_OFFICIAL.search(f"{rl.anchor} {rl.where.text}"))
        kind = rf.kind if rf is not None else "unknown"
        if (own or said or presented) and kind in ("inference", "training", "unknown") and rf is not None \
                and rf.status == "ok":
            if kind == "unknown" and rl.context not in ("usage", "code"):
                continue
            part = _repo_license(ctx, rf, f"code that runs the model: {rl.repo}")
            if part is not None:
                why = ("repository of the model's developer" if own else "the card's official code" if said
                       else "the repository the card presents as the model's code")
                rule = "inference.own-repository" if own or said else "inference.presented-repository"
                return _cell(ctx, "inference_code", [Part(_from(rl.where, rule, f"{rl.repo}: {why}"),
                                                          part.result, part.level), part])
    stated = next((x for x in card.licenses if x.origin == "code_prose"), None)
    if stated is not None:  # "our code is released under the MIT License": the developer's own code, its licence
        r = ctx.n.normalize(stated.value)
        if r.known and r.points is not None:
            return _cell(ctx, "inference_code", [Part(_from(stated.where, r.rule or "",
                                                            "the licence the card states for the developer's code"),
                                                      r)])
    for lib_ref in sorted(card.libraries, key=lambda x: ("library_name", "code", "tag", "prose").index(x.origin)
                          if x.origin in ("library_name", "code", "tag", "prose") else 9):
        lib = ctx.k.library(lib_ref.name)
        if lib is None:
            return _unknown("inference_code", card.url, lib_ref.where.text, "inference.library-not-in-rules",
                            f"library {lib_ref.name!r} runs the model; its licence is not in rules/libraries.yaml")
        part = _library_part(ctx, lib)
        how = {"library_name": "the card's library_name", "tag": "the card's tags", "code": "the card's usage code",
               "prose": "the card's instructions"}
        return _cell(ctx, "inference_code", [Part(_from(lib_ref.where, f"library.{lib.library}",
                                                        f"runs with {lib.library} ({how.get(lib_ref.origin, '')})"),
                                                  part.result, part.level), part])
    if card.bases:
        base = _base_cells(ctx, card, depth)
        if base is not None and base["inference_code"].level not in (UNKNOWN,):
            return _inherit(base["inference_code"], card, "inference_code",
                            "the card names no code or library; the base model's runs it")
    unread = [rl for rl in card.repos if rl.context == "usage" and (
        (f := ctx.facts.repos.get(rl.repo)) is None or f.status != "ok")]
    if unread:
        return _unknown("inference_code", card.url, unread[0].repo, "inference.runtime-unread",
                        f"the card runs the model with {unread[0].repo}, which could not be read")
    return _absence("inference_code", card, _searched(ctx, card, "library_name, tags and usage code"),
                    "the card names no code or library that runs the model")


def _library_part(ctx: _Ctx, lib: Library) -> Part:
    """A library's licence: its repository's (harvested or in repos.yaml), else libraries.yaml's."""
    part = _known_repo_license(ctx, lib.repo, f"library {lib.library}")
    if part is None or part.result is None or not part.result.known:
        r = ctx.n.normalize(lib.license)
        part = Part(_ev(lib.source, lib.license, r.rule, f"libraries.yaml: {lib.rationale}"), r)
    return part


# -- data -------------------------------------------------------------------------------------------
def _dataset_part(ctx: _Ctx, m: DatasetMention, component: str) -> Part:
    hub, alias = ctx.k.resolve_dataset(m.name)
    hub = m.hub_id or hub
    where = _from(m.where, f"dataset.{m.origin}", f"dataset {m.name}")
    if alias is not None and alias.closed:
        return Part(_ev(alias.source, m.name, "datasets.yaml", f"{alias.rationale} (named in {m.where.source})"),
                    None, closed(component))
    ds = ctx.facts.datasets.get(hub) if hub else None
    if alias is not None and alias.license:  # a reviewed decision (rationale, source) comes before a card
        r = ctx.n.normalize(alias.license)
        return Part(_ev(alias.source, m.name, r.rule, f"datasets.yaml: {alias.rationale}"), r)
    if ds is not None and ds.status == "ok":
        parts = _license_parts(ctx, ds)
        if parts and not all(p.evidence.rule == "license.placeholder" for p in parts):
            combined = _combine_dataset(parts)
            if combined is not None:
                return combined
        if alias is not None and alias.license:
            r = ctx.n.normalize(alias.license)
            return Part(_ev(alias.source, m.name, r.rule, f"dataset card declares no licence; datasets.yaml: "
                                                          f"{alias.rationale}"), r)
        if parts:
            return parts[0]
        return Part(_ev(ds.url, m.name, "dataset.no-license", "the dataset card declares no licence"), None, UNKNOWN)
    if alias is not None and alias.license:
        r = ctx.n.normalize(alias.license)
        return Part(_ev(alias.source, m.name, r.rule, f"datasets.yaml: {alias.rationale}"), r)
    reason = (ds.reason or ds.status) if ds is not None else (
        "not a Hub dataset id" if hub is None else "not harvested")
    return Part(replace(where, rule="dataset.unresolved", note=f"dataset {m.name!r}: {reason}"), None, UNKNOWN)


def _combine_dataset(parts: list[Part]) -> Part | None:
    """A dataset with several licences (e.g. cc-by-sa-3.0 and gfdl): its strictest one."""
    results = [p for p in parts if p.result is not None]
    if not results:
        return None
    if any(not p.result.known or p.result.points is None for p in results):  # type: ignore[union-attr]
        return next(p for p in results if not p.result.known or p.result.points is None)  # type: ignore[union-attr]
    return min(results, key=lambda p: p.result.points or 0)  # type: ignore[union-attr]


def _data_cell(ctx: _Ctx, component: str, mentions: list[DatasetMention]) -> Cell:
    parts: list[Part] = []
    seen: set[str] = set()
    for m in mentions:
        key = (m.hub_id or m.name).lower()
        if key in seen:
            continue
        seen.add(key)
        parts.append(_dataset_part(ctx, m, component))
    return _cell(ctx, component, parts)


def _is_kind(ctx: _Ctx, m: DatasetMention, *kinds: str) -> bool:
    _, alias = ctx.k.resolve_dataset(m.name)
    if alias is None and m.hub_id:
        _, alias = ctx.k.resolve_dataset(m.hub_id)
    return alias is not None and alias.kind in kinds


_CODE_KINDS = ("training", "inference", "library", "evaluation", "application", "model")
_DATA_NAME = re.compile(r"data|corpus|corpora", re.I)


def _repo_data(ctx: _Ctx, card: CardFacts, stage: str) -> tuple[list[DatasetMention], RepoLink | None]:
    """Repositories the card's training-data section links as its data: a known dataset by its name
    (CodeSearchNet on GitHub is ``code_search_net``), or one that is data by its kind or name, whose
    contents and terms are not read. Repositories known as code, and unnamed tools, are not data."""
    mentions: list[DatasetMention] = []
    unread: RepoLink | None = None
    for rl in card.repos:
        if rl.context != "data" or rl.section_role != "training_data":
            continue
        rf = ctx.facts.repos.get(rl.repo)
        if rf is not None and rf.kind in _CODE_KINDS:
            continue
        name = rl.repo.split("/")[-1]
        if ctx.k.resolve_dataset(name)[1] is not None:
            mentions.append(DatasetMention(name, None, stage, "github-url", rl.where))
        elif unread is None and ((rf is not None and rf.kind == "data") or _DATA_NAME.search(f"{name} {rl.anchor}")):
            unread = rl
    return mentions, unread


def _linked_not_read(rl: RepoLink, component: str) -> Cell:
    """A search that found a link to the data has not found absence."""
    return Cell(UNKNOWN, evidence=(_from(rl.where, "data.linked-not-read",
                                         f"the training-data section links {rl.repo} as a data source; its contents "
                                         f"and terms are not read, so the {component.replace('_', ' ')} is not "
                                         "settled"),))


def _pretraining_data(ctx: _Ctx, card: CardFacts) -> Cell:
    """The corpus the card names, under the strictest of its terms; a corpus the developer compiled and
    did not release is D1 whatever it was drawn from (taxonomy.md §6)."""
    mentions = [m for m in card.datasets if m.stage in ("pretraining", "training")
                and not (m.stage == "training" and _is_kind(ctx, m, "sft", "alignment", "benchmark", "safety")
                         and m.origin != "metadata")]
    stated = _statement_parts(card, "data", "pretraining", "pretraining_data")
    unreleased = [p for p in stated if p.evidence.rule in ("statement.not_released", "statement.compiled_new")]
    named = [m for m in mentions if m.origin != "name" or m.stage == "pretraining" or _is_kind(ctx, m, "pretraining")]
    linked, unread = _repo_data(ctx, card, "pretraining") if not _finetuned(card)[0] else ([], None)
    named += linked
    if named:
        cell = _data_cell(ctx, "pretraining_data", named)
        if unreleased:  # the developer's own corpus, drawn from what the card names, was not released
            return _cell(ctx, "pretraining_data", [*unreleased[:1], *(Part(e, None, UNKNOWN) for e in cell.evidence)])
        return cell
    if stated:
        return _cell(ctx, "pretraining_data", stated[:1])
    documented = [st for st in card.statements if st.kind == "documented" and st.subject == "data"]
    if documented:
        return Cell(UNKNOWN, evidence=(_from(documented[0].where, "data.documented-elsewhere",
                                             "the card points to documentation of its data that was not read; "
                                             "whether and under which terms the data is public is not settled"),))
    if unread is not None:
        return _linked_not_read(unread, "pretraining_data")
    return _absence("pretraining_data", card, _searched(ctx, card, "datasets declared or named in training sections"))


def _stage_data(ctx: _Ctx, card: CardFacts, stage: str, component: str) -> Cell:
    if stage == "finetuning":
        mentions = [m for m in card.datasets if (m.stage == "finetuning" or (m.stage == "training" and not _is_kind(
            ctx, m, "alignment", "pretraining"))) and not _is_kind(ctx, m, "benchmark") or
            (m.origin == "metadata" and m.stage == "training" and not _is_kind(ctx, m, "alignment"))]
    else:
        mentions = [m for m in card.datasets if m.stage == "alignment" or _is_kind(ctx, m, "alignment")]
    linked, unread = _repo_data(ctx, card, stage) if stage == "finetuning" else ([], None)
    mentions += linked
    if mentions:
        return _data_cell(ctx, component, mentions)
    stated = _statement_parts(card, "data", stage, component)
    if stated:
        return _cell(ctx, component, stated[:1])
    if unread is not None:
        return _linked_not_read(unread, component)
    return _absence(component, card, _searched(ctx, card, "datasets declared or named in training sections"))


# -- stages -----------------------------------------------------------------------------------------
FINETUNING_TOOLS = ("axolotl", "unsloth", "trl", "llama-factory", "autotrain")


def _tuned_by_a_finetuning_tool(card: CardFacts) -> bool:
    return not any(s.kind == "from_scratch" for s in card.signals) and any(
        s.kind == "trainer" and s.detail in FINETUNING_TOOLS for s in card.signals)


def _finetuned(card: CardFacts) -> tuple[bool, str]:
    if card.relation in ("finetune", "adapter"):
        return True, f"a {card.relation} of {', '.join(b.id for b in card.bases)}"
    if not card.bases and card.derived and re.search(r"fine-?tun|finetun|lora|adapter", card.derived, re.I):
        return True, card.derived
    if not card.bases and _tuned_by_a_finetuning_tool(card):
        tool = next(s for s in card.signals if s.kind == "trainer" and s.detail in FINETUNING_TOOLS)
        return True, f"fine-tuned with {tool.detail}: {tool.where.text}"
    for s in card.signals:
        if s.kind == "sft":
            return True, f"{s.detail}: {s.where.text}"
    return False, "no fine-tuning stage named (no base model, no fine-tuning statement or tag)"


def _aligned(ctx: _Ctx, card: CardFacts) -> tuple[bool, str]:
    for s in card.signals:
        if s.kind == "alignment":
            return True, f"{s.detail}: {s.where.text}"
    for m in card.datasets:
        if m.stage == "alignment" or _is_kind(ctx, m, "alignment"):
            return True, f"preference data {m.name}"
    return False, "no alignment stage named (no DPO/RLHF/preference statement, tag or dataset)"


# -- evaluation -------------------------------------------------------------------------------------
def _evaluation(ctx: _Ctx, card: CardFacts) -> dict[str, Cell]:
    evals = card.evaluations
    utility = [e for e in evals if not e.safety]
    safety = [e for e in evals if e.safety]
    leaderboard = next((s for s in card.signals if s.kind == "leaderboard"), None)
    out: dict[str, Cell] = {}
    harness = _harness(ctx, card, safety=False, leaderboard=leaderboard is not None)
    if utility or safety or leaderboard:
        first = (utility or safety)[0].where if (utility or safety) else leaderboard.where  # type: ignore[union-attr]
        out["general_eval_code"] = harness or Cell(
            closed("general_eval_code"), evidence=(_from(first, "evaluation.code-not-released",
                                                         "results are reported; the code that produced them is not "
                                                         "public"),))
    else:
        out["general_eval_code"] = _na("general_eval_code", card, "no evaluation reported")
    if safety:
        out["safety_eval_code"] = _harness(ctx, card, safety=True, leaderboard=leaderboard is not None) or Cell(
            closed("safety_eval_code"), evidence=(_from(safety[0].where, "evaluation.code-not-released",
                                                        "safety results are reported; their code is not public"),))
    else:
        out["safety_eval_code"] = _na("safety_eval_code", card, "no safety evaluation reported")
    for comp, group in (("utility_benchmark_data", utility), ("safety_eval_data", safety)):
        if not group:
            out[comp] = _na(comp, card, "no benchmark reported" if comp.startswith("utility")
                            else "no safety benchmark reported")
            continue
        named = [DatasetMention(e.benchmark, e.hub_id, "benchmark", e.origin, e.where) for e in group if e.benchmark]
        if named:
            out[comp] = _data_cell(ctx, comp, named)
        else:
            out[comp] = Cell(UNKNOWN, evidence=(_from(group[0].where, "evaluation.benchmarks-unnamed",
                                                      "results are reported, but not on benchmarks harvester can "
                                                      "name"),))
    return out


def _harness(ctx: _Ctx, card: CardFacts, *, safety: bool, leaderboard: bool) -> Cell | None:
    component = "safety_eval_code" if safety else "general_eval_code"
    for rl in card.repos:
        rf = ctx.facts.repos.get(rl.repo)
        known = ctx.k.known_repo(rl.repo)
        kind = rf.kind if rf is not None and rf.kind != "unknown" else (known.kind if known else "unknown")
        is_safety = (rf.safety if rf is not None else False) or (known.safety if known else False) or \
            rl.repo.lower() in ctx.k.safety_repos
        if kind == "evaluation" and (not safety or is_safety or rl.repo.lower() == _HARNESS.lower()):
            part = _known_repo_license(ctx, rl.repo, f"evaluation harness {rl.repo}")
            if part is not None:
                how = f"{rl.repo}: {rl.anchor}" if rl.named_only else f"{rl.repo} linked"  # named or recognised
                return _cell(ctx, component, [Part(_from(rl.where, "repo.evaluation", how),
                                                   part.result, part.level), part])
    if leaderboard:
        part = _known_repo_license(ctx, _HARNESS, "the Open LLM Leaderboard runs lm-evaluation-harness")
        if part is not None:
            return _cell(ctx, component, [part])
    snippet = next((sg for sg in card.signals if sg.kind == "eval_code"), None)
    lib = ctx.k.library(snippet.detail) if snippet is not None and not safety else None
    if snippet is not None and lib is not None:  # the card shows the code that computes its results
        part = _known_repo_license(ctx, lib.repo, f"evaluation code in the card uses {lib.library}")
        if part is None:
            r = ctx.n.normalize(lib.license)
            part = Part(_ev(lib.source, lib.license, r.rule, f"libraries.yaml: {lib.library}"), r)
        return _cell(ctx, component, [Part(_from(snippet.where, "evaluation.code-in-card",
                                                "the card shows the evaluation code"), part.result, part.level), part])
    return None


# -- a card's twelve cells --------------------------------------------------------------------------
def _cells(ctx: _Ctx, card: CardFacts, depth: int = 0) -> dict[str, Cell]:
    if card.id in ctx.memo:
        return ctx.memo[card.id]
    cells: dict[str, Cell] = {}
    cells["weights"] = _weights(ctx, card, depth)
    cells["inference_code"] = _inference_code(ctx, card, depth)
    relation = card.relation if card.bases else None
    base = _base_cells(ctx, card, depth) if relation else None
    own_pretraining = relation is None or (base is None and card.embeds_original and relation == "quantized")
    if relation is None and (card.derived or _tuned_by_a_finetuning_tool(card)):
        own_pretraining = False  # "a finetune of Fairseq's dense model", "Built with Axolotl": a base no id names

    def lineage(comp: str) -> Cell:
        if base is None and not card.bases:
            return _unknown(comp, card.url, card.derived or "fine-tuned with a fine-tuning tool",
                            "lineage.base-not-named",
                            "the card says it derives from a model it does not name as a Hub id, so the base's "
                            f"{comp.replace('_', ' ')} was not searched")
        if base is None:
            return _known_bases(ctx, card, comp) or _lineage_unknown(card, comp)
        return _inherit(base[comp], card, comp, f"{relation} of its base: the base's {comp.replace('_', ' ')}")

    if own_pretraining:
        cells["pretraining_code"] = _pretraining_code(ctx, card)
        cells["pretraining_data"] = _pretraining_data(ctx, card)
    else:
        for comp in TRAINING:
            cells[comp] = lineage(comp)

    if relation in ("quantized", "merge") and not own_pretraining:
        for comp in OWN_STAGES:
            cells[comp] = lineage(comp)
        own_evaluation = card.evaluations or any(sg.kind == "leaderboard" for sg in card.signals)
        for comp, cell in (_evaluation(ctx, card).items() if own_evaluation else
                           ((c, lineage(c)) for c in EVALUATION)):
            cells[comp] = cell  # a copy's own scores are its own evaluation
    else:
        for stage, (happened, why), code, data in (
                ("finetuning", _finetuned(card), "finetuning_code", "sft_data"),
                ("alignment", _aligned(ctx, card), "alignment_code", "alignment_data")):
            cells[code] = _stage_code(ctx, card, stage, code) if happened else _na(code, card, why)
            cells[data] = _stage_data(ctx, card, stage, data) if happened else _na(data, card, why)
        cells.update(_evaluation(ctx, card))
    ordered = {c: cells[c] for c in COMPONENTS}
    ctx.memo[card.id] = ordered
    return ordered


def score(facts: Facts, k: Knowledge, n: Normalizer) -> tuple[dict[str, Cell], list[ReviewItem]]:
    """Score one model from its facts. Returns the twelve cells and the review items they raised."""
    ctx = _Ctx(facts, k, n)
    cells = _cells(ctx, facts.model)
    for comp, cell in cells.items():
        assert KIND[comp] in ("code", "data") and cell.level
    return cells, ctx.review



# -- the same licence reading, for other views of the same facts (MOF, CycloneDX) ----------------------
class Licences:
    """What a card, a repository, a library or a dataset is licensed under, read exactly as the taxonomy
    reads it: other frameworks and formats over the same facts never re-implement licence reading."""

    def __init__(self, facts: Facts, k: Knowledge, n: Normalizer) -> None:
        self._ctx = _Ctx(facts, k, n)

    def card(self, card: CardFacts) -> list[Part]:
        """The licence a Hub card declares (metadata, ``license_name``/``license_link``, its file, prose);
        [] when it declares none."""
        return _license_parts(self._ctx, card) or []

    def repo(self, repo: str, note: str) -> Part | None:
        """A GitHub repository's licence: harvested file or detection, else rules/repos.yaml."""
        return _known_repo_license(self._ctx, repo, note)

    def library(self, name: str) -> Part | None:
        """A library's licence (its repository's, else rules/libraries.yaml), as inference code reads it."""
        lib = self._ctx.k.library(name)
        return _library_part(self._ctx, lib) if lib is not None else None

    def dataset(self, m: DatasetMention, component: str) -> Part:
        """A dataset's terms as a data cell reads them: reviewed rules, its Hub card, or unsettled."""
        return _dataset_part(self._ctx, m, component)
