"""What a GitHub repository is: training code, inference code, evaluation code, data tooling, a
library or unrelated. Pure. Decided from ``rules/repos.yaml`` first, then the repository's own
description, topics and README; who owns a repository never decides what it is.
"""

from __future__ import annotations

import re

from harvester.harvest import GithubRepoEvidence
from harvester.read.facts import LicenseInput, RepoFacts, Where
from harvester.read.markdown import read_markdown
from harvester.score.knowledge import Knowledge

_TRAIN_HEAD = re.compile(r"\b(train(ing)?|pre-?train(ing)?|fine-?tun(e|ing)|finetun(e|ing)|reproduc\w*|"
                         r"sft|rlhf|dpo|recipes?)\b", re.I)
_INFER_HEAD = re.compile(r"\b(inference|usage|quick ?start|getting started|get started|generat\w*|demo|run(ning)?|"
                         r"chat|deploy\w*|serv(e|ing)|download\w*|how to use|load(ing)?|example)\b", re.I)
_EVAL_HEAD = re.compile(r"\b(evaluat\w*|benchmark\w*)\b", re.I)
_TRAIN_CODE = re.compile(r"\b(train\w*\.py|pretrain\w*\.py|finetun\w*\.py|fine_tun\w*\.py|sft\w*\.py|"
                         r"dpo\w*\.py|--train|torchrun[^\n]*train|deepspeed[^\n]*train|accelerate launch[^\n]*train)",
                         re.I)
_INFER_ONLY = re.compile(r"\b(minimal example to load|inference (only|code)|only (for )?inference|"
                         r"(training|train) code (is|has) not|not (release|include|provide)\w* (the )?training|"
                         r"does not (include|contain) training|no training code)\b", re.I)
_PRETRAIN = re.compile(r"\b(pre-?train\w*|from scratch)\b", re.I)
_FINETUNE = re.compile(r"\b(fine-?tun\w*|finetun\w*|sft|instruction[- ]tun\w*)\b", re.I)
_ALIGN = re.compile(r"\b(rlhf|dpo|ppo|reward model\w*|preference)\b", re.I)
_DATA = re.compile(r"\b(dataset|data processing|data pipeline|corpus|crawl\w*|dedup\w*)\b", re.I)


def read_repo(ev: GithubRepoEvidence, k: Knowledge) -> RepoFacts:
    url = ev.url or f"https://github.com/{ev.full_name}"
    f = RepoFacts(ev.full_name, url, ev.status, ev.reason)
    known = k.known_repo(ev.full_name) or (k.known_repo(ev.moved_to) if ev.moved_to else None)
    if ev.status == "ok":
        if ev.license_text is not None and ev.license_path:
            f.licenses.append(LicenseInput(ev.license_path, "license_file",
                                           Where(f"{url}/blob/HEAD/{ev.license_path}", "", ev.license_path),
                                           ev.license_text))
        if ev.spdx_id and ev.spdx_id not in ("NOASSERTION", "OTHER"):
            f.licenses.append(LicenseInput(ev.spdx_id, "github", Where(url, "", f"GitHub license: {ev.spdx_id}")))
    if known is not None:
        f.kind, f.stages, f.safety = known.kind, list(known.stages), known.safety
        f.kind_reason = f"repos.yaml: {known.rationale}"
        if not f.licenses and known.license:
            where = Where(known.source, "", f"repos.yaml: {known.license}")
            f.licenses.append(LicenseInput(known.license, "rules", where))
        return f
    if ev.status != "ok":
        return f
    kind, stages, reason = classify(ev.description or "", ev.topics, ev.readme_text or "")
    f.kind, f.stages, f.kind_reason = kind, stages, reason
    return f


def classify(description: str, topics: list[str], readme: str) -> tuple[str, list[str], str]:
    """(kind, training stages, why) of a repository from what it says about itself."""
    doc = read_markdown(readme) if readme else None
    heads = [s.title for s in doc.sections] if doc else []
    code = "\n".join(b.text for b in doc.blocks if b.kind == "code") if doc else ""
    prose = " ".join(b.text for b in doc.blocks if b.kind != "code")[:50_000] if doc else ""
    about = " ".join([description, " ".join(topics)])
    train_heads = [h for h in heads if _TRAIN_HEAD.search(h)]
    infer_heads = [h for h in heads if _INFER_HEAD.search(h)]
    eval_heads = [h for h in heads if _EVAL_HEAD.search(h)]
    infer_only = _INFER_ONLY.search(prose) or _INFER_ONLY.search(about)
    trains = (bool(train_heads) or bool(_TRAIN_CODE.search(code)) or bool(_TRAIN_HEAD.search(about))) \
        and not infer_only
    if trains:
        text = " ".join(train_heads) + " " + about + " " + code[:20_000] + " " + prose[:20_000]
        stages = [s for s, p in (("pretraining", _PRETRAIN), ("finetuning", _FINETUNE), ("alignment", _ALIGN))
                  if p.search(text)]
        why = f"README sections {train_heads[:3]}" if train_heads else "training commands in its README"
        return "training", stages or ["finetuning"], why
    if infer_heads or infer_only or re.search(r"\binference\b", about, re.I):
        why = "README says it only runs the model" if infer_only else f"README sections {infer_heads[:3]}"
        return "inference", [], why
    if eval_heads or _EVAL_HEAD.search(about):
        return "evaluation", [], f"README sections {eval_heads[:3]}" if eval_heads else "its description"
    if _DATA.search(about):
        return "data", [], "its description"
    if not readme and not description:
        return "unknown", [], "no README or description to read"
    return "unknown", [], "its README names no training, inference or evaluation"
