"""Harvested evidence + rules → the twelve cells of the taxonomy, each with its evidence. Pure.

A cell never claims more openness than its evidence shows: no license evidence gives ``?``, an
unidentified license gives ``?`` plus a review item, several licenses give the strictest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from harvester.cards import as_list
from harvester.harvest import GithubRepoEvidence, Harvest, RepoCard
from harvester.levels import COMPONENTS, KIND, NA, UNKNOWN, closed, level_for_points
from harvester.licenses.normalize import LicenseResult, Normalizer
from harvester.licenses.prose import prose_license
from harvester.score.cells import Cell, Evidence, ReviewItem
from harvester.score.knowledge import Knowledge

TRAINING = ("pretraining_code", "pretraining_data")
OWN_STAGES = ("finetuning_code", "alignment_code", "sft_data", "alignment_data")
_CHAT = re.compile(r"(?:^|[-_/. ])(chat|instruct|it|rlhf|dpo|sft|assistant)(?:$|[-_/. \d])", re.I)
_ALIGN_TAGS = {"dpo", "rlhf", "orpo", "kto", "ppo", "reward-model", "grpo"}
MAX_LINEAGE = 4


@dataclass
class _Ctx:
    h: Harvest
    k: Knowledge
    n: Normalizer
    review: list[ReviewItem] = field(default_factory=list)


def _ans(r: LicenseResult) -> dict[str, bool] | None:
    return dict(r.answers) if r.answers else None


def _review(ctx: _Ctx, component: str, r: LicenseResult, source: str) -> None:
    raw = r.input
    if r.text_sha256:
        key = "text:" + r.text_sha256
    elif raw.lower().startswith(("http://", "https://")):
        key = "url:" + raw.strip()
    else:
        key = "raw:" + " ".join(raw.lower().split())
    ctx.review.append(ReviewItem(component, key, raw, source, r.reason, r.hint))


def _license_cell(ctx: _Ctx, component: str, results: list[tuple[LicenseResult, Evidence]]) -> Cell:
    """Several licenses on one component: the strictest wins; any unknown → ``?``."""
    evidence = tuple(e for _, e in results)
    unknown = [(r, e) for r, e in results if not r.known or r.points is None]
    for r, e in unknown:
        _review(ctx, component, r, e.source)
    if unknown:
        return Cell(UNKNOWN, None, None, None, evidence)
    worst = min((r for r, _ in results), key=lambda r: r.points or 0)
    ids: list[str] = []
    for r, _ in results:
        if r.spdx and r.spdx not in ids:
            ids.append(r.spdx)
    expr = " AND ".join(f"({i})" if " " in i else i for i in ids) if ids else None
    return Cell(level_for_points(component, worst.points or 0), expr, worst.points, _ans(worst), evidence)


def _ev(source: str | None, raw: Any, rule: str | None, note: str | None = None) -> Evidence:
    return Evidence(source or "unknown", str(raw)[:500], rule or "unmatched", note)


# -- license of a Hub repository (model weights or dataset) ----------------------------------------
def repo_license(ctx: _Ctx, repo: RepoCard) -> list[tuple[LicenseResult, Evidence]]:
    """The licenses a Hub repo declares: ``license`` (or legacy ``licenses``), then name/link for ``other``."""
    cd = repo.card_data
    src = repo.url or repo.id
    values = as_list(cd.get("license")) or as_list(cd.get("licenses"))
    if not values:
        values = [t.split(":", 1)[1] for t in as_list(repo.info.get("tags")) if t.startswith("license:")]
    out: list[tuple[LicenseResult, Evidence]] = []
    for value in values:
        r = ctx.n.normalize(value)
        if value.strip().lower() in ("other", "unknown") or (not r.known and value.strip().lower().startswith("other")):
            found = _other_license(ctx, repo, src)
            if found is not None:
                out.append(found)
                continue
        out.append((r, _ev(src, value, r.rule, "license in card metadata")))
    return out


def _other_license(ctx: _Ctx, repo: RepoCard, src: str) -> tuple[LicenseResult, Evidence] | None:
    """``license: other``: ``license_name`` names it, else ``license_link`` points at it."""
    name = repo.card_data.get("license_name")
    link = repo.card_data.get("license_link")
    name = name.strip() if isinstance(name, str) and name.strip() else None
    link = link.strip() if isinstance(link, str) and link.strip() else None
    if name is None and link is None:
        return None
    tried: list[LicenseResult] = []
    if name:
        r = ctx.n.normalize(name)
        if r.known:
            return r, _ev(src, name, r.rule, "license_name for license: other")
        tried.append(r)
    if link:
        r = ctx.n.normalize(link)
        if r.known:
            return r, _ev(src, link, r.rule, "license_link for license: other")
        if repo.license_text:
            r = ctx.n.identify_text(repo.license_text)
            file_src = f"{src}/blob/main/{repo.license_file}"
            if r.known:
                return r, _ev(file_src, repo.license_file, r.rule, "licence file named by license_link")
            return r, _ev(file_src, repo.license_file, None, "licence file named by license_link: not identified")
        tried.append(r)
    relative = link is not None and not link.lower().startswith(("http://", "https://"))
    if relative and not name:
        # a reviewer's decision on "<repo>/<path>" applies on the next rescore
        r = ctx.n.normalize(f"{repo.id}/{link}")
        if r.known:
            return r, _ev(src, link, r.rule, "license_link for license: other (reviewed)")
        tried = [replace(tried[0], input=f"{repo.id}/{link}")]
    note = "license: other; " + (f"license_link {link!r} " if link else "") + (
        "is a file inside the repository that was not found" if relative else "is not identified")
    return tried[0], _ev(src, tried[0].input, None, note)


def _github_license(ctx: _Ctx, repo: GithubRepoEvidence) -> tuple[LicenseResult, Evidence] | None:
    """The licence file's text when we identify it, else GitHub's own detection, else the unknown text."""
    if repo.status != "ok":
        return None
    src = repo.url or f"https://github.com/{repo.full_name}"
    text = ctx.n.identify_text(repo.license_text) if repo.license_text else None
    file_src = f"{src}/blob/HEAD/{repo.license_path}"
    if text is not None and text.known:
        return text, _ev(file_src, repo.license_path, text.rule, "license file text")
    if repo.spdx_id and repo.spdx_id not in ("NOASSERTION", "OTHER"):
        r = ctx.n.normalize(repo.spdx_id)
        return r, _ev(src, repo.spdx_id, r.rule, "GitHub's detected license")
    if text is not None:
        return text, _ev(file_src, repo.license_path, None, "license file text")
    return None


# -- components -----------------------------------------------------------------------------------
def _prose_license(ctx: _Ctx, repo: RepoCard) -> tuple[LicenseResult, Evidence] | None:
    """A licence the card states only in its prose; used only when its metadata names none."""
    found = prose_license(repo.body, ctx.n.normalize)
    if found is None:
        return None
    r = found.result
    return r, _ev(repo.url, found.candidate, r.rule, "license stated in the card's prose, not its metadata")


def _weights(ctx: _Ctx) -> Cell:
    model = ctx.h.model
    results = repo_license(ctx, model)
    unsettled = not results or all(not r.known and r.input.strip().lower() in ("other", "unknown")
                                   for r, _ in results)
    if unsettled:
        prose = _prose_license(ctx, model)
        if prose is not None:
            return _license_cell(ctx, "weights", [prose])
    if not results:
        return Cell(UNKNOWN, evidence=(_ev(model.url, "no license in card metadata", "weights.no-license"),))
    return _license_cell(ctx, "weights", results)


def _own_repos(ctx: _Ctx) -> list[GithubRepoEvidence]:
    """Repositories the card links that belong to the model's own organisation."""
    org = ctx.h.model.id.split("/")[0].lower()
    out = []
    for name, repo in ctx.h.repos.items():
        owner = (repo.moved_to or name).split("/")[0].lower()
        if owner == org or org.startswith(owner) or owner.startswith(org):
            out.append(repo)
    return out


def _inference_code(ctx: _Ctx) -> Cell:
    model = ctx.h.model
    for repo in _own_repos(ctx):
        found = _github_license(ctx, repo)
        if found:
            r, e = found
            return _license_cell(ctx, "inference_code", [(r, replace(e, note="repository of the model's own org"))])
    lib_name = model.library_name
    lib = ctx.k.libraries.get(lib_name)
    if lib is not None:
        gh = ctx.h.repos.get(lib.repo)
        found = _github_license(ctx, gh) if gh else None
        if found and found[0].known:
            r, e = found
            return _license_cell(ctx, "inference_code", [(r, replace(e, note=f"library_name: {lib_name}"))])
        r = ctx.n.normalize(lib.license)
        return _license_cell(ctx, "inference_code", [(r, _ev(lib.source, lib.license, f"libraries.yaml:{lib.library}",
                                                             f"library_name: {lib_name} ({lib.rationale})"))])
    return Cell(UNKNOWN, evidence=(_ev(model.url, lib_name or "no library_name", "inference.no-evidence"),))


def _pretraining_code(ctx: _Ctx) -> Cell:
    for repo in _own_repos(ctx):
        found = _github_license(ctx, repo)
        if found:
            r, e = found
            note = "training code assumed in the model org's linked repository"
            return _license_cell(ctx, "pretraining_code", [(r, replace(e, note=note))])
    return Cell(UNKNOWN, evidence=(_ev(ctx.h.model.url, "no training repository linked", "pretraining_code.none"),))


def _dataset_results(ctx: _Ctx, names: list[str], component: str) -> Cell | None:
    results: list[tuple[LicenseResult, Evidence]] = []
    closed_ev: list[Evidence] = []
    for name in names:
        hub_id, alias = ctx.k.resolve_dataset(name)
        if alias and alias.closed:
            closed_ev.append(_ev(alias.source, name, "datasets.yaml", alias.rationale))
            continue
        if alias and alias.license and not hub_id:
            r = ctx.n.normalize(alias.license)
            results.append((r, _ev(alias.source, name, "datasets.yaml", alias.rationale)))
            continue
        ds = ctx.h.datasets.get(hub_id or "") if hub_id else None
        if ds is None or ds.status != "ok":
            reason = ds.reason if ds else ("not a Hub dataset id" if hub_id is None else "not harvested")
            return Cell(UNKNOWN, evidence=(_ev(None, name, "dataset.unresolved", reason),))
        lic = repo_license(ctx, ds)
        if not lic:
            note = "dataset card declares no license"
            return Cell(UNKNOWN, evidence=(_ev(ds.url, name, "dataset.no-license", note),))
        results.extend(lic)
    if closed_ev:
        return Cell(closed(component), evidence=tuple(closed_ev))
    if not results:
        return None
    return _license_cell(ctx, component, results)


def _declared_datasets(repo: RepoCard) -> list[str]:
    return as_list(repo.card_data.get("datasets"))


def _looks_tuned(repo: RepoCard) -> bool:
    tags = {t.lower() for t in repo.tags()}
    return bool(_CHAT.search(repo.id.split("/")[-1])) or bool(tags & (_ALIGN_TAGS | {"conversational", "sft"}))


def _aligned(repo: RepoCard) -> bool:
    tags = {t.lower() for t in repo.tags()}
    return bool(tags & _ALIGN_TAGS) or bool(re.search(r"rlhf|dpo", repo.id, re.I))


def score(h: Harvest, k: Knowledge, n: Normalizer, _depth: int = 0) -> tuple[dict[str, Cell], list[ReviewItem]]:
    """Score one harvested model. Returns the twelve cells and the review items it raised."""
    ctx = _Ctx(h, k, n)
    model = h.model
    cells: dict[str, Cell] = {}
    relation, bases = model.lineage()
    base_cells: dict[str, Cell] | None = None
    base_repo = next((h.bases[b] for b in bases if b in h.bases and h.bases[b].status == "ok"), None)
    if base_repo is not None and _depth < MAX_LINEAGE:
        sub = Harvest(base_repo, h.datasets, h.repos, h.bases)
        base_cells, base_review = score(sub, k, n, _depth + 1)
        ctx.review.extend(base_review)

    cells["weights"] = _weights(ctx)
    cells["inference_code"] = _inference_code(ctx)

    def inherited(component: str) -> Cell:
        assert base_cells is not None and base_repo is not None
        c = base_cells[component]
        note = Evidence(base_repo.url or base_repo.id, base_repo.id, f"lineage.{relation}",
                        f"inherited from base model ({relation})")
        return replace(c, evidence=(note, *c.evidence))

    datasets = _declared_datasets(model)
    if relation in ("quantized", "adapter") and base_cells is not None:
        # A re-upload or adapter changes no training stage of its base: inherit them all.
        for comp in (*TRAINING, *OWN_STAGES):
            cells[comp] = inherited(comp)
        if relation == "adapter" and datasets:
            cells["sft_data"] = _dataset_results(ctx, datasets, "sft_data") or cells["sft_data"]
    elif relation is not None:
        for comp in TRAINING:
            cells[comp] = inherited(comp) if base_cells is not None else Cell(
                UNKNOWN, evidence=(_ev(model.url, ", ".join(bases), "lineage.base-not-harvested"),))
        aligned = _aligned(model)
        cells["finetuning_code"] = Cell(UNKNOWN, evidence=(_ev(model.url, "fine-tune", "finetune.code-unknown"),))
        cells["alignment_code"] = (Cell(UNKNOWN, evidence=(_ev(model.url, "aligned", "alignment.code-unknown"),))
                                   if aligned else Cell(NA, evidence=(_ev(model.url, "no alignment signs",
                                                                          "alignment.not-applicable"),)))
        sft = _dataset_results(ctx, datasets, "sft_data") if datasets else None
        cells["sft_data"] = sft or Cell(UNKNOWN, evidence=(_ev(model.url, "no datasets declared", "sft.none"),))
        cells["alignment_data"] = (Cell(UNKNOWN, evidence=(_ev(model.url, "aligned", "alignment.data-unknown"),))
                                   if aligned else replace(cells["alignment_code"]))
    else:
        cells["pretraining_code"] = _pretraining_code(ctx)
        pre = _dataset_results(ctx, datasets, "pretraining_data") if datasets else None
        cells["pretraining_data"] = pre or Cell(UNKNOWN, evidence=(_ev(model.url, "no datasets declared",
                                                                       "pretraining_data.none"),))
        tuned = _looks_tuned(model)
        for comp in OWN_STAGES:
            if tuned:
                cells[comp] = Cell(UNKNOWN, evidence=(_ev(model.url, model.id, "stage.tuned-without-base"),))
            else:
                cells[comp] = Cell(NA, evidence=(_ev(model.url, "base model: no base_model, no chat/instruct signs",
                                                     "stage.not-applicable"),))

    benchmarks = model.benchmark_names()
    utility = [b for b in benchmarks if not k.is_safety_dataset(k.resolve_dataset(b)[0] or b)]
    safety = [b for b in benchmarks if k.is_safety_dataset(k.resolve_dataset(b)[0] or b)]
    cells["utility_benchmark_data"] = (_dataset_results(ctx, utility, "utility_benchmark_data") if utility else None) \
        or Cell(UNKNOWN, evidence=(_ev(model.url, "no model-index results", "benchmarks.none"),))
    cells["safety_eval_data"] = (_dataset_results(ctx, safety, "safety_eval_data") if safety else None) \
        or Cell(UNKNOWN, evidence=(_ev(model.url, "no safety benchmark reported", "safety_data.none"),))
    cells["general_eval_code"] = _eval_code(ctx, "general_eval_code", benchmarks)
    cells["safety_eval_code"] = _eval_code(ctx, "safety_eval_code", safety)
    ordered = {c: cells[c] for c in COMPONENTS}
    for comp, cell in ordered.items():
        assert KIND[comp] in ("code", "data") and cell.level
    return ordered, ctx.review


def _eval_code(ctx: _Ctx, component: str, benchmarks: list[str]) -> Cell:
    if benchmarks:
        for name, repo in ctx.h.repos.items():
            if name.lower() in ctx.k.safety_repos:
                found = _github_license(ctx, repo)
                if found:
                    r, e = found
                    e = replace(e, note="evaluation harness linked by the card")
                    return _license_cell(ctx, component, [(r, e)])
    return Cell(UNKNOWN, evidence=(_ev(ctx.h.model.url, "no evaluation code linked", f"{component}.none"),))
