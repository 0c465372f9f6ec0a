"""Licence candidates in a card's prose, for cards whose metadata names none. Pure, no I/O.

A card that says ``license: other`` without ``license_name``/``license_link``, or says nothing in its
front matter, often states its licence in the text: a "License:" line, a licence section, "released
under the … License", a link to a licence. These functions only *propose*: the normaliser decides,
and a sentence about something else (the code, a dataset, the base model) is not the model's licence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harvester.licenses.normalize import LicenseResult
from harvester.licenses.rules import fold

if TYPE_CHECKING:
    from harvester.read.markdown import Document

MAX_BODY = 200_000
"""Only the first characters of a card are read: licence statements sit near the top or in a short section."""

_FIELD = re.compile(r"^\s*(?:[-*+]\s*)?licen[cs]e(?:\s*\([^)\n]{0,20}\))?\s*[:：]\s*(?P<lic>.{2,160}?)\s*(?:$|\.\s)",
                    re.I | re.M)
_HEADING = re.compile(r"^#{1,6}[^\n]{0,40}?(?:\blicen[cs](?:e|ing)\b|许可|协议)[^\n]*\n+"
                      r"(?P<lic>(?:(?!#)[^\n]*\n?){1,8})", re.I | re.M)
_NAME_CHARS = r"(?:[^.;\n()]|\.(?=\d))"
"""What a licence name is made of: no sentence end, but the dot of a version ("FAIPL 1.0-SD", "CC BY-SA 4.0")."""
_UNDER = re.compile(r"\b(?:licen[cs]ed|released|distributed|available|published|provided|governed|covered)"
                    r"\s+(?:by|under|according\s+to)\s+(?:the\s+|a\s+|an\s+)?(?:terms\s+of\s+(?:the\s+)?)?"
                    rf"(?P<lic>{_NAME_CHARS}{{2,100}})", re.I)
_IS_LICENSE = re.compile(r"\b(?:the\s+)?licen[cs]e\s+(?:of|for)\s+(?:this|the)\s+model\s+is\s+"
                         rf"(?P<lic>{_NAME_CHARS}{{2,100}})", re.I)
_OTHER_ARTIFACT = re.compile(
    r"\b(?:codes?|codebase|source|repository|repo|software|scripts?|datasets?|data|corpus|the first|the second|"
    r"base (?:language )?models?|original (?:models?|licen[cs]es)|checkpoints?|parent model|"
    r"vision (?:encoder|tower)|text encoder|tokenizer|demo|space|app|"
    r"outputs?|generated (?:images|content)|images you generate|additional (?:weights|parameters))\b|"
    r"代码|源码|源代码|数据|仓库中的代码", re.I)
_NOT_A_NAME = re.compile(
    r"^(?:\[?more information needed\]?|n/?a|tbd|todo|none|unknown|other|see\b.*|please\b.*|refer\b.*|check\b.*|"
    r"same as\b.*|as\b.*|this\b.*|it\b.*|the (?:same|following)\b.*|[\W\d_]*)$", re.I)
_CUT = re.compile(r"\s*(?:,|;|\s-\s|\s–\s|\s\(|\bas found\b|\bwhich\b|\bthat\b|\bwith\b|\bfor\b|\bbut\b|\bexcept\b|"
                  r"\bunless\b|\band the\b|\bplease\b|\bsee\b|\bfrom\b|\bcopyright\b)", re.I)
_LICENSE_WORD = re.compile(r"\b(?:licen[cs]e|agreement|terms of use)\b|许可|协议", re.I)
_SENTENCES = re.compile(r"(?<=[.。!?])\s+|\n\s*[-*+]\s+|\n\s*\n")
_GENERIC_LABELS = {"here", "link", "this", "click here", "this link", "website", "page", "file", "details", "more"}
_AT_URL = re.compile(r"\blicen[cs]e\b[^.\n]{0,80}?\b(?:available|found|located|read|at|here)\b[^.\n]{0,20}?"
                     r"(?P<lic>https?://[^\s<>\"'()\[\]]+)", re.I)
_LICENSED = re.compile(r"\b(?:is|are)\s+([\w.+\-]+(?: [\w.+\-]+){0,2}?)[- ]licen[cs]ed\b", re.I)
_PARENS = re.compile(r"\(([^()]{2,60})\)")
_ID_LIKE = re.compile(r"\b(?:cc[- ]?by|cc0|apache|mit|bsd|gpl|lgpl|agpl|mpl|openrail|rail|odc|odbl|llama|gemma)\b",
                      re.I)
_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+")


def _flatten(body: str) -> tuple[str, dict[str, list[str]]]:
    from harvester.read.markdown import read_markdown  # here: the reader imports this module

    return flatten(read_markdown(body[:MAX_BODY]))


def flatten(doc: Document) -> tuple[str, dict[str, list[str]]]:
    """Card text with its structure kept as lines ("# heading", one line per block) and links reduced to
    their labels; label → link targets kept aside. Markdown and HTML are read by the card reader's
    parsers (markdown-it, BeautifulSoup), never by patterns over markup."""
    lines: list[str] = []
    section = -1
    for block in doc.blocks:
        if block.section != section:
            for s in range(section + 1, block.section + 1):
                lines.append("#" * doc.sections[s].level + " " + doc.sections[s].title)
            section = block.section
        if block.kind != "code":
            lines.append(block.text.replace("**", "").replace("__", ""))
    for s in range(section + 1, len(doc.sections)):
        lines.append("#" * doc.sections[s].level + " " + doc.sections[s].title)
    links: dict[str, list[str]] = {}
    for link in doc.links:
        if link.text.strip():
            links.setdefault(link.text.strip(), []).append(link.url)
    return "\n\n".join(lines), links


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around a match: what the statement is about."""
    left = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start))
    right = min((i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0), default=len(text))
    return text[left + 1: right]


def _variants(phrase: str) -> list[str]:
    """The phrase, and the phrase cut where a name usually ends ("the X License, Copyright …" → "X License")."""
    phrase = phrase.strip().strip(":*_-–—\"'“”").strip()
    out = [phrase]
    cut = _CUT.split(phrase, maxsplit=1)[0].strip()
    if cut and cut != phrase:
        out.append(cut)
    m = _LICENSE_WORD.search(phrase)
    if m:
        out.append(phrase[: m.end()].strip())
    out += [inner for inner in _PARENS.findall(phrase) if _ID_LIKE.search(inner)]  # "…license (CC BY-SA-4.0)"
    out += [m.group(1) for m in _LICENSED.finditer(phrase)]  # "X is MIT licensed"
    out += [m.group("name") for m in _BRACKETED.finditer(phrase) if _LICENSE_WORD.search(m.group("name"))]
    named = [m.group("name") for m in _ARTICLE_NAME.finditer(phrase)]
    if named and _sentence_like(phrase):  # "the model weights have a CC BY-SA 4.0 license" → "CC BY-SA 4.0 license"
        out.append(named[-1])
    out += [m.group("rest") for o in out if (m := _PLACEHOLDER_LEAD.match(o))]  # "License: other LLAMA 2 …"
    out = [re.sub(r"^(?:the|a|an)\s+", "", o, flags=re.I).strip(" .,:") for o in out]
    return [o for o in dict.fromkeys(out) if o and len(o) <= 120 and not _NOT_A_NAME.match(o)
            and not _sentence_like(o) and _balanced(o)]


_BRACKETED = re.compile(r"[【《「『“\"](?P<name>[^【《「『“\"】》」』”\n]{2,80})[】》」』”\"]")
"""A name set off in brackets or quotes ("【Community License for Baichuan-13B Model】", "《…许可协议》")."""
_ARTICLE_NAME = re.compile(r"\b(?:a|an|the)\s+(?P<name>(?:(?!\b(?:a|an|the)\s)[^,;:()\n])*?\blicen[cs]e\b)", re.I)
_PLACEHOLDER_LEAD = re.compile(r"^other\s+(?P<rest>\S.*\blicen[cs]e\b.*)$", re.I)
"""The Hub's placeholder tag typed before the name: "other LLAMA 2 COMMUNITY LICENSE"."""
_SENTENCE_WORDS = {"is", "are", "was", "were", "be", "been", "has", "have", "had", "we", "you", "i", "our", "your",
                   "under", "according", "to", "release", "released", "licensed", "trained", "requires", "must",
                   "can", "may", "will", "should", "use", "used", "refer", "see", "by", "of", "in", "on"}
_ALTERED = {"modified", "custom", "customized", "customised", "adapted", "amended", "altered"}
"""A licence described as altered ("a modified CreativeML OpenRAIL-M license") is not the licence it names."""
_CJK_NAME_END = re.compile(r"(?:协议|许可证|授权书|licen[cs]e(?:\s+agreement)?)\s*[》】」』”\"]?\s*$", re.I)
_CJK_SENTENCE = re.compile(r"[，。；！？]|不存在|需要|应当|必须|可以|您")


def _sentence_like(phrase: str) -> bool:
    """A clause, not a name: words before the licence word that only a sentence has ("the model weights have a
    … license", "X is licensed according to the … license"), or, in Chinese, a clause ending in 许可 (a grant,
    "商用许可") rather than in the name of an agreement (…许可协议, …许可证)."""
    m = _LICENSE_WORD.search(phrase)
    if not m:
        return False
    if not m.group(0).isascii():
        return bool(_CJK_SENTENCE.search(phrase)) or not _CJK_NAME_END.search(phrase)
    before = [w.lower().strip("(),.:'’\"`*") for w in phrase[: m.start()].split()]
    return len(before) > 8 or any(w in _SENTENCE_WORDS for w in before) or bool(before and before[0] in _ALTERED)


def _balanced(phrase: str) -> bool:
    """A variant cut inside a bracketed name ("【Community License") is no name."""
    return all(phrase.count(a) == phrase.count(b) for a, b in ("【】", "《》", "「」", "『』", "“”", "()"))


def statements(doc: Document) -> list[tuple[int, list[str]]]:
    """The licence statements of a card already read: what ``decide`` chooses from (read once, stored)."""
    return _statements(*flatten(doc))


def _groups(body: str) -> list[tuple[int, list[str]]]:
    return _statements(*_flatten(body))


def _statements(text: str, links: dict[str, list[str]]) -> list[tuple[int, list[str]]]:
    """(strength, phrases) per licence statement: 0 a "License:" field, 1 a licence section, 2 "the licence of
    the model is …", 3 "released under …". The phrases of one statement are its variants and link targets."""
    out: list[tuple[int, list[str]]] = []
    for tier, pattern in enumerate((_FIELD, _HEADING, _IS_LICENSE, _UNDER, _AT_URL)):
        for m in pattern.finditer(text):
            lics = [m.group("lic")]
            if pattern is _HEADING:
                lics = [x for x in _SENTENCES.split(m.group("lic")) if x.strip() and not _OTHER_ARTIFACT.search(x)]
            elif _OTHER_ARTIFACT.search(_sentence(text, m.start(), m.end())[: m.start("lic") - m.start() + 200]) and (
                    pattern is not _FIELD or _OTHER_ARTIFACT.search(m.group(0).split(":", 1)[0])):
                continue
            for lic in lics:
                pieces = _variants(lic)
                if pattern is _HEADING:
                    pieces += [v for u in _UNDER.finditer(lic) for v in _variants(u.group("lic"))]
                pieces += [u.rstrip(".,;:!?*_)") for u in _URL.findall(lic)]
                linked: list[str] = []
                for label, urls in links.items():
                    if len(label) > 3 and label.lower() not in _GENERIC_LABELS and re.search(_label(label), lic):
                        web = [u for u in urls if u.startswith(("http://", "https://"))]
                        pieces += [*_variants(label), *web]
                        linked += web[:1]
                if len(set(linked)) > 1 and _BOTH_APPLY.search(lic):  # "requires adherence to [A](…) and [B](…)"
                    pieces.append(ALL_APPLY)
                pieces = list(dict.fromkeys(pieces))
                if pieces:
                    out.append((tier, pieces))
    return out


ALL_APPLY = "[all of these apply]"
"""Marks a statement that makes every licence it links apply at once ("requires adherence to [Apache 2.0](…) and
[the community licence](…)"): ``decide`` reads them as one AND expression (the strictest scores), not a choice."""
_BOTH_APPLY = re.compile(r"\b(?:adherence\s+to|adhere\s+to|compl(?:y|ies|iance)\s+with|abide\s+by)\b|遵循|遵守", re.I)
"""A sentence that makes every licence it links apply at once: they are one AND expression, not a choice."""


def _label(label: str) -> str:
    """A link label as a pattern: whole words only where it starts or ends with one (CJK text has no spaces)."""
    head = r"(?<![A-Za-z0-9_])" if re.match(r"\w", label) and label[0].isascii() else ""
    tail = r"(?![A-Za-z0-9_])" if re.search(r"\w$", label) and label[-1].isascii() else ""
    return head + re.escape(label) + tail


def prose_license_candidates(body: str, limit: int = 8) -> list[str]:
    """Phrases and link targets in a card's prose that may name the licence of the model itself.

    In order of strength: "License:" fields, the lines of a licence section, "the licence of this
    model is …", then "released / licensed / governed under the …" sentences. Sentences about another
    artifact (the code, a dataset, the base model, the outputs) are left out: they name someone
    else's licence.
    """
    out: list[str] = []
    for _, pieces in _groups(body):
        for piece in pieces:
            if piece not in out:
                out.append(piece)
                if len(out) >= limit:
                    return out
    return out


@dataclass(frozen=True)
class ProseLicense:
    """The licence a card's prose states and the phrase it was read from."""

    result: LicenseResult
    candidate: str


_LICENCE_URL = re.compile(r"licen[cs]e|terms|legal|agreement|/tos\b|usage-policy|copying", re.I)
_TEMPLATE_URL = re.compile(r"contributing\.md|how-to-contribute|more-information-needed", re.I)
_NOT_NAME_WORDS = {"official", "following", "here", "applicable", "the", "this", "a", "an", "our", "its", "their",
                   "same", "original", "respective", "model", "any", "that", "your", "with", "of", "under", "see",
                   "our own", "commercial", "full", "separate"}


def _names_a_licence(phrase: str) -> bool:
    """A short phrase whose licence word follows a name ("Mitsua Open RAIL-M License"), not "the license"."""
    m = _LICENSE_WORD.search(phrase)
    if not m or _sentence_like(phrase) or not _balanced(phrase):
        return False
    if not m.group(0).isascii():
        return len(phrase) <= 40
    before = phrase[: m.start()].split()
    return bool(before) and before[-1].lower().strip("(),.:'’s") not in _NOT_NAME_WORDS


def prose_license(body: str, normalize: Callable[[str], LicenseResult], limit: int = 12) -> ProseLicense | None:
    """The licence the prose states, decided on its strongest statements only.

    The strongest tier that says anything about a licence decides: one identified licence and no
    other licence name there → that licence; two identified licences, or an identified one beside a
    licence name nobody identifies ("Mitsua Open RAIL-M License"), → ``None``: the prose does not
    settle it, and a weaker sentence elsewhere ("images released under CC0") must not either.
    """
    return decide(_groups(body), normalize, limit)


def named_unidentified(groups: list[tuple[int, list[str]]]) -> str | None:
    """The strongest statement's phrase that names a licence (or links one) when ``decide`` settles none:
    the prose says a licence applies, so the terms exist but are not known (a review item, not "no licence")."""
    for tier in sorted({t for t, _ in groups}):
        naming = [piece for t, pieces in groups if t == tier for piece in pieces
                  if _names_a_licence(piece) or (piece.startswith(("http://", "https://")) and
                                                 _LICENCE_URL.search(piece) and not _TEMPLATE_URL.search(piece))]
        if naming:  # the shortest phrase that still names it: the review queue's key
            return min(naming, key=lambda p: (p.startswith("http"), len(p)))
    return None


def decide(groups: list[tuple[int, list[str]]], normalize: Callable[[str], LicenseResult],
           limit: int = 12) -> ProseLicense | None:
    """``prose_license`` over statements already read (``statements``), with the current rules."""
    seen = 0
    for tier in sorted({t for t, _ in groups}):
        known: dict[str, tuple[LicenseResult, str]] = {}
        unnamed: list[str] = []
        for t, pieces in groups:
            if t != tier or seen >= limit:
                continue
            seen += 1
            hits = {}
            for piece in pieces:
                r = normalize(piece)
                if r.known and r.points is not None and r.spdx:
                    hits.setdefault(r.spdx, (r, piece))
            if len(hits) > 1:
                both = normalize(" AND ".join(hits)) if ALL_APPLY in pieces else None
                if both is None or not both.known or both.points is None or not both.spdx:
                    return None  # one statement naming several licences ("Llama 2 for X, Qwen for Y")
                hits = {both.spdx: (both, " AND ".join(piece for _, piece in hits.values()))}
            for spdx, hit in hits.items():
                known.setdefault(spdx, hit)
            if not hits:
                unnamed += [p for p in pieces if _names_a_licence(p)]
        # a vaguer mention of the licence identified beside it ("Meta's Llama license" next to "META LLAMA 3
        # COMMUNITY LICENSE AGREEMENT") is the same licence, not a second one
        said = {w for _, piece in known.values() for w in _words(piece)}
        unidentified = any(not _words(p) or not _words(p) <= said for p in unnamed)
        if len(known) == 1 and not unidentified:
            (result, candidate), = known.values()
            return ProseLicense(result, candidate)
        if known or unidentified:
            return None
    return None



def _words(phrase: str) -> set[str]:
    """The words of a licence name that tell it apart (folded, no "license", no one-letter rests like "'s")."""
    return {w for w in fold(phrase).split() if len(w) > 1}
