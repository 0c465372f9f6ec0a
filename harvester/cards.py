"""Model and dataset card parsing: YAML front matter, body, links. Pure functions, no I/O.

Real cards are messy (missing opening ``---``, CRLF, tabs, blank lines, YAML 1.1 surprises), so the
parser never raises on content: it returns what it could read plus a reason for what it could not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from harvester.harvest import TooLarge, jsonable
from harvester.licenses.prose import prose_license_candidates  # noqa: F401 - moved; re-exported for callers

MAX_CARD_BYTES = 2_000_000
"""Cards larger than this are truncated before parsing: bounded memory and time per model."""

_DELIM = re.compile(r"^-{3,}\s*$")
_LENIENT_OPEN = re.compile(r"^-{2,}\s*$")
_BARE_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}|\\^`]+")
_MD = MarkdownIt("commonmark", {"html": True})
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: same safe schema, ~10x faster


@dataclass(frozen=True)
class Card:
    """A parsed card. ``metadata`` is always a dict; ``error`` says why it may be incomplete."""

    metadata: dict[str, Any]
    body: str
    error: str | None = None
    recovered: bool = False  # front matter found only by the lenient pass
    truncated: bool = False
    links: tuple[str, ...] = field(default=())


def decode(data: bytes) -> str:
    """Decode card bytes as UTF-8 (BOM tolerated); invalid bytes become U+FFFD, never fatal."""
    return data.decode("utf-8-sig", "replace")


def encoding_problem(data: bytes) -> str | None:
    """Why bytes are not clean UTF-8 (a card problem the run records), or None."""
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data.decode("utf-8-sig", "replace").count("\ufffd")
        return f"not valid UTF-8 (first bad byte at offset {exc.start}): read with {bad} replacement characters"
    return None


def _load_yaml(text: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        loaded = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader (libyaml's when present)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"front matter is not valid YAML: {first}"
    except RecursionError:
        return None, "front matter nests too deeply"
    if loaded is None:
        return {}, None
    if not isinstance(loaded, dict):
        return None, f"front matter is a {type(loaded).__name__}, not a mapping"
    try:
        return jsonable(loaded), None
    except TooLarge as exc:
        return None, f"front matter expands too far (YAML aliases?): {exc}"


def split_front_matter(text: str) -> tuple[str | None, str]:
    """The Hub's rule: the file starts with a ``---`` line and the block ends at the next one."""
    lines = text.splitlines(keepends=True)
    if not lines or not _DELIM.match(lines[0].rstrip("\r\n")):
        return None, text
    for i in range(1, len(lines)):
        if _DELIM.match(lines[i].rstrip("\r\n")):
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None, text


def _lenient_front_matter(text: str, window: int = 15) -> tuple[dict[str, Any], str] | None:
    """Recover front matter that does not start the file (a heading first, ``--`` as opener)."""
    lines = text.splitlines(keepends=True)
    for start in range(min(window, len(lines))):
        if not _LENIENT_OPEN.match(lines[start].rstrip("\r\n")):
            continue
        for end in range(start + 1, min(start + 400, len(lines))):
            if _DELIM.match(lines[end].rstrip("\r\n")):
                meta, err = _load_yaml("".join(lines[start + 1 : end]))
                if meta and err is None and any(isinstance(v, (str, list, dict)) for v in meta.values()):
                    body = "".join(lines[:start] + lines[end + 1 :])
                    return meta, body
                break
    return None


def parse_card(raw: bytes | str, *, lenient: bool = True, links: bool = True) -> Card:
    """Parse a README.md. ``lenient=False`` is exactly what the Hub reads as ``cardData``."""
    truncated, problem = False, None
    if isinstance(raw, bytes):
        if len(raw) > MAX_CARD_BYTES:
            raw, truncated = raw[:MAX_CARD_BYTES], True
        text, problem = decode(raw), encoding_problem(raw if not truncated else raw[:-4])
    else:
        if len(raw) > MAX_CARD_BYTES:
            raw, truncated = raw[:MAX_CARD_BYTES], True
        text = raw.lstrip("\ufeff")
    card = _parse_text(text, truncated, lenient, links)
    if problem:
        return replace(card, error="; ".join(filter(None, [problem, card.error])))
    return card


def _parse_text(text: str, truncated: bool, lenient: bool, links: bool) -> Card:
    block, body = split_front_matter(text)
    if block is not None:
        meta, err = _load_yaml(block)
        if meta is not None:
            return Card(meta, body, None, False, truncated, extract_links(body) if links else ())
        return Card({}, body, err, False, truncated, extract_links(body) if links else ())
    if lenient:
        found = _lenient_front_matter(text)
        if found:
            meta, body = found
            return Card(meta, body, "front matter does not start the file (recovered)", True, truncated,
                        extract_links(body) if links else ())
    return Card({}, text, "no front matter", False, truncated, extract_links(text) if links else ())


def extract_links(body: str) -> tuple[str, ...]:
    """Every http(s) link in a Markdown/HTML body, in order, once each.

    The body is tokenised by a CommonMark parser (inline and reference links, images); the raw
    HTML it contains is read with BeautifulSoup; bare URLs are taken from text, never from HTML.
    """
    try:
        tokens = _MD.parse(body)
    except Exception:  # a pathological body must never stop a crawl
        tokens = []
    seen: dict[str, None] = {}
    html: list[str] = []
    texts: list[str] = []

    def add(href: object) -> None:
        if isinstance(href, str):
            href = href.strip()
            if href.lower().startswith(("http://", "https://")):
                seen.setdefault(href, None)

    for tok in tokens:
        if tok.type == "html_block":
            html.append(tok.content)
        for child in tok.children or ():
            if child.type == "link_open":
                add(child.attrGet("href"))
            elif child.type == "image":
                add(child.attrGet("src"))
            elif child.type == "html_inline":
                html.append(child.content)
            elif child.type == "text":
                texts.append(child.content)
    if html:
        soup = BeautifulSoup("\n".join(html), "html.parser")
        for tag in soup.find_all(["a", "img", "link", "source", "iframe"]):
            add(tag.get("href") or tag.get("src"))
        texts.append(soup.get_text(" "))
    for match in _BARE_URL.finditer("\n".join(texts)):
        add(match.group(0).rstrip(".,;:!?*_"))
    return tuple(seen)


_GITHUB_PATH = re.compile(r"^/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})(?:/|$)")
_GITHUB_NOT_REPOS = {"orgs", "sponsors", "settings", "features", "topics", "about", "marketplace", "login"}


def github_repos(links: tuple[str, ...] | list[str]) -> list[str]:
    """``OWNER/REPO`` of every github.com link, in order of first mention."""
    out: dict[str, None] = {}
    for link in links:
        try:
            parts = urlsplit(link)
        except ValueError:
            continue
        if (parts.hostname or "").lower() not in {"github.com", "www.github.com"}:
            continue
        m = _GITHUB_PATH.match(parts.path)
        if not m or m.group(1).lower() in _GITHUB_NOT_REPOS:
            continue
        repo = m.group(2).removesuffix(".git")
        if repo in {".", ".."}:
            continue
        out.setdefault(f"{m.group(1)}/{repo}", None)
    return list(out)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "license": (str, list), "licenses": (str, list), "license_name": (str,), "license_link": (str,),
    "datasets": (str, list), "base_model": (str, list), "base_model_relation": (str,), "tags": (str, list),
    "library_name": (str,), "pipeline_tag": (str,), "model-index": (list,),
}


def field_problems(metadata: dict[str, Any]) -> list[str]:
    """Fields whose type is not what the Hub's card schema allows (``license: 123``, ``datasets: {}``)."""
    out = []
    for key, types in _FIELD_TYPES.items():
        if key in metadata and metadata[key] is not None and not isinstance(metadata[key], types):
            want = " or ".join("a list" if t is list else "a string" for t in types)
            out.append(f"{key} is {type(metadata[key]).__name__}, expected {want}")
    return out


def as_list(value: Any) -> list[str]:
    """Card fields that may be a string, a list, or junk (``datasets: 123``): a list of strings."""
    if value is None or value is False:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    return []
