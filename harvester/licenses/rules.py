"""License rules: the decisions in ``rules/licenses/*.yaml``, loaded once and indexed for lookup."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
ANSWER_KEYS = ("research", "commercial", "modify", "copyright_derivative", "other_license")

_FOLD_DROP = {"the", "license", "licence", "version", "international", "agreement", "unported", "generic"}
_TOKEN = re.compile(r"[a-z0-9+*]+(?:\.[0-9a-z]+)*")


class RulesError(ValueError):
    """A rules file that cannot be used: names the file and the entry."""


_CC_WORDS = [
    (re.compile(r"\bcreative\s*commons\b"), "cc"),
    (re.compile(r"\bshare[\s-]*alike\b"), "sa"),
    (re.compile(r"\bnon[\s-]*commercial\b"), "nc"),
    (re.compile(r"\bno[\s-]*deriv(?:ative)?s?\b"), "nd"),
    (re.compile(r"\battribution\b"), "by"),
]


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case-, punctuation- and filler-insensitive key for names as people write them.

    Creative Commons element names fold to their abbreviations ("Attribution-ShareAlike" → "by sa")
    so the licence's official name and its short form meet on one key.
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("licence", "license")
    for pattern, short in _CC_WORDS:
        text = pattern.sub(short, text)
    tokens = [t[1:] if re.fullmatch(r"v\d+(?:\.\d+)*", t) else t for t in _TOKEN.findall(text)]
    return " ".join(t for t in tokens if t not in _FOLD_DROP)


def fold_url(url: str) -> str:
    """URL key: no scheme, ``www.``, query, fragment, trailing slash or ``.html``; branch → ``main``."""
    u = url.strip().lower()
    u = re.sub(r"^[a-z+]+://", "", u)
    u = u.split("#", 1)[0].split("?", 1)[0]
    u = re.sub(r"^www\.", "", u)
    m = re.match(r"raw\.githubusercontent\.com/([^/]+)/([^/]+)/[^/]+/(.*)", u)
    if m:
        u = f"github.com/{m.group(1)}/{m.group(2)}/blob/main/{m.group(3)}"
    u = re.sub(r"^(github\.com/[^/]+/[^/]+)/(?:blob|raw|tree)/[^/]+/", r"\1/blob/main/", u)
    u = re.sub(r"^(huggingface\.co/.+?)/(?:blob|raw|resolve)/[^/]+/", r"\1/blob/main/", u)
    u = u.rstrip("/.,;:)>]*_'\"")  # a link copied out of prose keeps its sentence's punctuation
    u = re.sub(r"(/legalcode(\.[a-z-]+)?|/deed(\.[a-z-]+)?|(\.[a-z]{2})?\.html?|\.php|\.txt|\.md)$", "", u)
    return u.rstrip("/")


@dataclass(frozen=True)
class TextMatch:
    """One way to recognise a licence text: ``all`` phrases present, none of ``none``, at most ``max_words``."""

    all: tuple[str, ...]
    none: tuple[str, ...] = ()
    max_words: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class LicenseRule:
    id: str
    name: str
    answers: tuple[bool, bool, bool, bool, bool]
    rationale: str
    source: str
    file: str
    hf: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    family: bool = False
    text_all: tuple[str, ...] = ()
    text_none: tuple[str, ...] = ()
    max_words: int | None = None
    title: str | None = None
    texts: tuple[str, ...] = ()  # sha256 of normalised licence texts a reviewer identified
    more_text: tuple[TextMatch, ...] = ()  # further forms of the text (a short notice, a variant)

    @property
    def points(self) -> int:
        return sum(self.answers)

    def text_matches(self) -> tuple[TextMatch, ...]:
        """Every form of the text this rule recognises, the main one first."""
        main = (TextMatch(self.text_all, self.text_none, self.max_words, self.title),) if self.text_all else ()
        return main + self.more_text


@dataclass
class RuleSet:
    """All license decisions with their lookup indexes."""

    rules: list[LicenseRule]
    unflagged: dict[str, str]
    by_id: dict[str, LicenseRule] = field(default_factory=dict)
    by_tag: dict[str, LicenseRule] = field(default_factory=dict)
    by_alias: dict[str, LicenseRule] = field(default_factory=dict)
    by_url: dict[str, LicenseRule] = field(default_factory=dict)
    by_text: dict[str, LicenseRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule in self.rules:
            for sha in rule.texts:
                self._put(self.by_text, sha.lower(), rule)
            for key in (rule.id, *rule.also):
                self._put(self.by_id, key.lower(), rule)
            for tag in rule.hf:
                self._put(self.by_tag, tag.lower(), rule)
            for alias in (*rule.aliases, *rule.hf, rule.id, rule.name, *rule.also):
                key = fold(alias)
                if key and self.by_alias.get(key, rule) is not rule:
                    other = self.by_alias[key]
                    raise RulesError(f"{rule.file}: alias {alias!r} of {rule.id} already names {other.id}")
                self.by_alias.setdefault(key, rule)
            for url in rule.urls:
                self._put(self.by_url, fold_url(url), rule)

    @staticmethod
    def _put(index: dict[str, LicenseRule], key: str, rule: LicenseRule) -> None:
        if key in index and index[key] is not rule:
            raise RulesError(f"{rule.file}: {key!r} of {rule.id} already belongs to {index[key].id}")
        index[key] = rule


def _answers(value: Any, where: str) -> tuple[bool, bool, bool, bool, bool]:
    if not isinstance(value, str) or not re.fullmatch(r"[YN]{5}", value):
        raise RulesError(f"{where}: answers must be five letters Y/N, got {value!r}")
    a = tuple(c == "Y" for c in value)
    return a[0], a[1], a[2], a[3], a[4]


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise RulesError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def parse_rule(entry: Any, file: str) -> LicenseRule:
    if not isinstance(entry, dict) or "id" not in entry:
        raise RulesError(f"{file}: every entry needs an id, got {entry!r}")
    where = f"{file}: {entry['id']}"
    for key in ("name", "answers", "rationale", "source"):
        if not entry.get(key):
            raise RulesError(f"{where}: missing {key}")
    texts = entry.get("text") or {}
    if isinstance(texts, dict):
        texts = [texts] if texts else []
    if not isinstance(texts, list) or not all(isinstance(t, dict) for t in texts):
        raise RulesError(f"{where}: text must be a mapping or a list of mappings")
    matches = [_text_match(t, where) for t in texts]
    text = texts[0] if texts else {}
    return LicenseRule(
        id=str(entry["id"]), name=str(entry["name"]), answers=_answers(entry["answers"], where),
        rationale=str(entry["rationale"]), source=str(entry["source"]), file=file,
        hf=_strs(entry.get("hf"), where), aliases=_strs(entry.get("aliases"), where),
        urls=_strs(entry.get("urls"), where), also=_strs(entry.get("also"), where),
        family=bool(entry.get("family", False)),
        text_all=_strs(text.get("all"), where), text_none=_strs(text.get("none"), where),
        max_words=int(text["max_words"]) if text.get("max_words") else None,
        title=str(text["title"]) if text.get("title") else None,
        texts=_strs(entry.get("texts"), where), more_text=tuple(matches[1:]),
    )


def _text_match(text: dict[str, Any], where: str) -> TextMatch:
    if not _strs(text.get("all"), where):
        raise RulesError(f"{where}: every text form needs 'all' phrases")
    return TextMatch(_strs(text.get("all"), where), _strs(text.get("none"), where),
                     int(text["max_words"]) if text.get("max_words") else None,
                     str(text["title"]) if text.get("title") else None)


def user_rules_dir() -> Path:
    """Where a reviewer's decisions live: ``$HARVESTER_RULES``, else ``$XDG_CONFIG_HOME/harvester/rules``
    (``~/.config/harvester/rules``): a folder the user owns, never the installed package."""
    if os.environ.get("HARVESTER_RULES"):
        return Path(os.environ["HARVESTER_RULES"]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "harvester" / "rules"


def load_rules(directory: Path | None = None, extra_dirs: tuple[Path, ...] = ()) -> RuleSet:
    """Read every ``*.yaml`` under ``rules/licenses``, then those of each folder in ``extra_dirs`` (a
    user's rules folder: reviewer decisions) on top."""
    base = (directory or RULES_DIR) / "licenses"
    rules: list[LicenseRule] = []
    unflagged: dict[str, str] = {}
    extra: list[tuple[dict[str, Any], str]] = []
    paths = sorted(base.glob("*.yaml"))
    for folder in extra_dirs:
        if folder.resolve() != (directory or RULES_DIR).resolve():
            paths += sorted((folder / "licenses").glob("*.yaml"))
    for path in paths:
        name = path.name if path.parent == base else str(path)  # a user's file is named in full
        try:
            data = yaml.safe_load(path.read_text("utf-8")) or []
        except (OSError, yaml.YAMLError) as exc:
            raise RulesError(f"{name}: cannot be read: {exc}") from exc
        if not isinstance(data, list):
            raise RulesError(f"{name}: expected a list of entries")
        for entry in data:
            if isinstance(entry, dict) and "tag" in entry and "id" not in entry:
                unflagged[str(entry["tag"]).lower()] = str(entry.get("reason", ""))
            elif isinstance(entry, dict) and "alias_of" in entry:
                extra.append((entry, name))
            else:
                rules.append(parse_rule(entry, name))
    for entry, file in extra:  # reviewer decisions that add evidence to an existing licence
        target = str(entry["alias_of"])
        idx = next((i for i, r in enumerate(rules) if r.id.lower() == target.lower()), None)
        if idx is None:
            raise RulesError(f"{file}: alias_of {target!r} names no licence in rules/licenses")
        where = f"{file}: alias_of {target}"
        r = rules[idx]
        rules[idx] = replace(r, aliases=r.aliases + _strs(entry.get("aliases"), where),
                             urls=r.urls + _strs(entry.get("urls"), where),
                             texts=r.texts + _strs(entry.get("texts"), where))
    return RuleSet(rules, unflagged)


@lru_cache(maxsize=4)
def default_rules(directory: str | None = None) -> RuleSet:
    return load_rules(Path(directory) if directory else None)
