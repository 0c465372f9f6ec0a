"""Licence candidates in a card's prose: "released under the MIT License", a "License" section. Pure.

Candidates only: the normaliser decides, and anything it cannot identify is ignored.
"""

from __future__ import annotations

import re

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((https?://[^)\s]*)[^)]*\)")
_UNDER = re.compile(r"\b(?:licen[cs]ed|released|distributed|available|published|provided)\s+under\s+(?:the\s+)?"
                    r"(?:terms\s+of\s+(?:the\s+)?)?(?P<lic>[^.;\n()]{2,100})", re.I)
_FIELD = re.compile(r"^\s*(?:[-*]\s*)?licen[cs]e\s*[:：]\s*(?P<lic>.{2,120}?)\s*$", re.I | re.M)
_HEADING = re.compile(r"^#{1,6}\s*licen[cs]e\b[^\n]*\n+(?P<lic>[^\n]{2,300})", re.I | re.M)
_ABOUT_CODE = re.compile(r"\b(code|source|repository|software|scripts?)\b", re.I)


def prose_license_candidates(body: str, limit: int = 8) -> list[str]:
    """Phrases in a card's prose that may name the licence of the model itself ("released under
    the MIT License", "License: Apache 2.0", the line under a "License" heading), with the text and
    target of links in them. Lines about code ("this code repository is licensed under…") are left
    out: they name another artifact's licence.

    Candidates only: the normaliser decides, and anything it cannot identify is ignored.
    """
    text = body[:200_000].replace("**", "").replace("__", "").replace("`", "")
    links: dict[str, list[str]] = {}

    def unlink(m: re.Match[str]) -> str:
        links.setdefault(m.group(1).strip(), []).append(m.group(2))
        return m.group(1)

    text = _MD_LINK.sub(unlink, text)
    out: list[str] = []
    for pattern in (_FIELD, _HEADING, _UNDER):
        for m in pattern.finditer(text):
            context = text[max(0, m.start() - 80): m.end()]
            if _ABOUT_CODE.search(context.splitlines()[-1] if context else ""):
                continue
            lic = m.group("lic").strip().strip(":*_-").strip()
            pieces = [lic, *re.findall(r"https?://\S+", lic)]
            for label, urls in links.items():
                if label and label in lic:
                    pieces += [label, *urls]
            for piece in pieces:
                piece = re.sub(r"\s+(?:license|licence)\s*$", " License", piece.strip(), flags=re.I).strip()
                if piece and piece not in out:
                    out.append(piece)
            if len(out) >= limit:
                return out
    return out
