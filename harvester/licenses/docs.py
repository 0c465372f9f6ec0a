"""``docs/licenses.md``, generated from ``rules/licenses``: every HF tag, its id, points and why."""

from __future__ import annotations

from harvester.licenses.rules import ANSWER_KEYS, RuleSet

HF_TAGS_NOTE = "Tags are the Hub's license identifiers (`shared/reference/hub-api.md` §2)."


def _yn(answers: tuple[bool, ...]) -> str:
    return " ".join("Y" if a else "N" for a in answers)


def render(rules: RuleSet) -> str:
    lines = [
        "# License decisions",
        "",
        "Generated from `rules/licenses/*.yaml` by `harvester licenses docs`; do not edit by hand.",
        f"Answers, in order: {', '.join(ANSWER_KEYS)} (`shared/spec/taxonomy.md` §3).",
        "",
        "## Hugging Face license tags",
        "",
        HF_TAGS_NOTE,
        "",
        "| tag | SPDX / LicenseRef | points | answers | why | rule file |",
        "|---|---|---|---|---|---|",
    ]
    for tag in sorted(set(rules.by_tag) | set(rules.unflagged)):
        if tag in rules.unflagged:
            lines.append(f"| `{tag}` | *flagged for review* | – | – | {rules.unflagged[tag]} | unflagged.yaml |")
            continue
        r = rules.by_tag[tag]
        lines.append(f"| `{tag}` | `{r.id}` | {r.points} | {_yn(r.answers)} | {r.rationale} | {r.file} |")
    lines += ["", "## Every license with a decision", "",
              "| id | name | points | answers | why | source |", "|---|---|---|---|---|---|"]
    for r in sorted(rules.rules, key=lambda r: r.id.lower()):
        lines.append(f"| `{r.id}` | {r.name} | {r.points} | {_yn(r.answers)} | {r.rationale} | <{r.source}> |")
    return "\n".join(lines) + "\n"
