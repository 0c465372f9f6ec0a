"""A card's Markdown (and the HTML inside it) as sections, text blocks, code blocks and links. Pure.

Markdown is read through markdown-it tokens and HTML through BeautifulSoup, never with regexes over
markup: a link is known with its anchor text and the section it sits in, a code block with its
language, a table row with its cells. What a block *says* is read by ``harvester.read.card``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {"p", "div", "li", "tr", "br", "table", "ul", "ol", "section", "article", "details", "summary",
               "blockquote", "center", "hr", "dt", "dd"}
_SKIP_TAGS = {"script", "style", "noscript", "template"}
_BARE_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}|\\^`]+")
MAX_BODY_CHARS = 400_000
"""Reading is bounded: the first 400,000 characters of a card hold everything a person reads."""
ANCHOR_CHARS = 300
"""An anchor's or heading's text is kept to this many characters."""
_ANCHOR_NODES = 64

# Section roles from heading words. Checked in order: the first role whose words a heading holds wins.
_ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("related", ("ecosystem", "downstream", "community", "related model", "other model", "see also", "learning hub",
                 "more models", "model family", "quantized version", "quantised version", "derivative", "friends",
                 "fine-tuned versions", "finetuned versions", "model zoo", "collection")),
    ("citation", ("citation", "bibtex", "cite", "reference", "acknowledg", "contact", "author")),
    ("license", ("licen", "terms of use", "legal", "copyright")),
    ("limitations", ("limitation", "bias", "risk", "out-of-scope", "out of scope", "ethic", "safety",
                     "misuse", "caveat", "disclaimer", "responsible")),
    ("evaluation", ("evaluation", "eval ", "evals", "benchmark", "result", "performance", "metric",
                    "leaderboard", "accuracy", "comparison")),
    ("training_data", ("training data", "train data", "dataset", "data source", "pretraining data",
                       "pre-training data", "training corpus", "corpus", "data mixture", "datasets used",
                       "data collection", "training set")),
    ("training", ("training", "train", "fine-tun", "finetun", "pretrain", "pre-train", "procedure",
                  "hyperparameter", "compute", "hardware", "software", "infrastructure", "framework version",
                  "reproduc", "recipe", "method")),
    ("usage", ("usage", "how to use", "troubleshoot", "how to get started", "get started", "getting started",
               "quickstart", "quick start", "inference", "example", "use with", "using", "run ", "running", "deploy",
               "install", "requirement", "sample code", "code", "prompt", "api", "demo", "download")),
    ("details", ("model details", "model description", "description", "model card", "overview", "summary",
                 "about", "introduction", "model sources", "architecture", "model info", "model type")),
)


def heading_role(title: str) -> str:
    t = " " + title.lower().strip() + " "
    if "train" in t and any(w in t for w in ("result", "eval", "loss", "log", "metric")):
        # "Training results" (a Trainer's validation-loss log), "Training and evaluation data"
        return "training_data" if "data" in t else "training"
    for role, words in _ROLE_WORDS:
        if any(w in t for w in words):
            return role
    if t.strip() in ("data", "training", "model", "uses", "intended uses", "use"):
        return {"data": "training_data", "training": "training", "model": "details"}.get(t.strip(), "usage")
    return "other"


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    role: str  # details | training_data | training | evaluation | usage | license | limitations | citation |
    #            related (about other models: ecosystem, downstream, quantised versions) | other


@dataclass(frozen=True)
class Block:
    kind: str  # "text" | "code" | "row"
    text: str
    section: int  # index into Document.sections; -1 before the first heading
    info: str = ""  # code: the fence's info string; row: "header" for a table's header row


@dataclass(frozen=True)
class Link:
    url: str
    text: str  # anchor text (or an image's alt text)
    section: int
    block: int  # index into Document.blocks of the block it sits in (-1 for a heading)


@dataclass
class Document:
    sections: list[Section] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def role(self, section: int) -> str:
        """A section's role, or its nearest titled ancestor's when its own heading says nothing."""
        if section < 0:
            return "preamble"
        s = self.sections[section]
        if s.role in ("training", "training_data", "details") and self._parent_role(section) == "evaluation":
            return "evaluation"  # "## Benchmarks / ### Base pretrained models": results of the base, not its training
        if s.role != "other":
            return s.role
        for i in range(section - 1, -1, -1):
            if self.sections[i].level < s.level:
                if self.sections[i].role != "other":
                    return self.sections[i].role
                s = self.sections[i]
        return "other"

    def _parent_role(self, section: int) -> str:
        level = self.sections[section].level
        for i in range(section - 1, -1, -1):
            if self.sections[i].level < level:
                return self.role(i)
        return "preamble"

    def title(self, section: int) -> str:
        return self.sections[section].title if section >= 0 else ""

    def block_role(self, block: int) -> str:
        return self.role(self.blocks[block].section) if block >= 0 else "preamble"


class _Builder:
    def __init__(self) -> None:
        self.doc = Document()
        self.section = -1

    def heading(self, title: str, level: int) -> None:
        title = " ".join(title.split())[:ANCHOR_CHARS]
        self.doc.sections.append(Section(title, level, heading_role(title)))
        self.section = len(self.doc.sections) - 1

    def block(self, kind: str, text: str, links: list[tuple[str, str]], info: str = "") -> None:
        text = " ".join(text.split()) if kind != "code" else text
        if not text and not links:
            return
        if kind != "code" and "http" in text:  # bare URLs in prose are links to a reader too
            linked = {u for u, _ in links}
            links = links + [(u, u) for u in (m.group(0).rstrip(".,;:!?*_") for m in _BARE_URL.finditer(text))
                             if u not in linked]
        self.doc.blocks.append(Block(kind, text, self.section, info))
        index = len(self.doc.blocks) - 1
        for url, anchor in links:
            self.doc.links.append(Link(url, " ".join(anchor.split())[:ANCHOR_CHARS], self.section, index))


def _inline(tok: Token) -> tuple[str, list[tuple[str, str]]]:
    """Text and links of an inline token; inline HTML is read with BeautifulSoup."""
    children = tok.children or []
    if any(c.type == "html_inline" for c in children):
        parts: list[str] = []
        for c in children:
            if c.type == "html_inline":
                parts.append(c.content)
            elif c.type == "link_open":
                parts.append(f'<a href="{html.escape(str(c.attrGet("href") or ""))}">')
            elif c.type == "link_close":
                parts.append("</a>")
            elif c.type == "image":
                alt = "".join(g.content for g in c.children or [])
                parts.append(f'<img src="{html.escape(str(c.attrGet("src") or ""))}" alt="{html.escape(alt)}">')
            elif c.type in ("softbreak", "hardbreak"):
                parts.append(" ")
            else:
                parts.append(html.escape(c.content))
        return _html_inline_text("".join(parts))
    text: list[str] = []
    links: list[tuple[str, str]] = []
    open_links: list[tuple[str, int]] = []
    for c in children:
        if c.type == "link_open":
            open_links.append((str(c.attrGet("href") or ""), len(text)))
        elif c.type == "link_close" and open_links:
            href, start = open_links.pop()
            links.append((href, "".join(text[start:])))
        elif c.type == "image":
            alt = "".join(g.content for g in c.children or [])
            links.append((str(c.attrGet("src") or ""), alt))
            text.append(alt)
        elif c.type in ("softbreak", "hardbreak"):
            text.append(" ")
        elif c.type in ("text", "code_inline"):
            text.append(c.content)
    return "".join(text), links


def _short_text(tag: Tag) -> str:
    """A tag's first text, bounded in characters and in nodes visited.

    ``get_text`` walks the whole subtree: on anchors nested thousands deep (a hostile card) that is
    quadratic. A person reads an anchor's first words, so that is all this reads.
    """
    out: list[str] = []
    chars = nodes = 0
    stack = [iter(tag.contents)]
    while stack and chars < 4 * ANCHOR_CHARS and nodes < _ANCHOR_NODES:  # whitespace is squeezed later
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        nodes += 1
        if type(child) is NavigableString:
            out.append(str(child))
            chars += len(child)
        elif isinstance(child, Tag) and child.name not in _SKIP_TAGS:
            stack.append(iter(child.contents))
    return " ".join(out)


def _html_inline_text(fragment: str) -> tuple[str, list[tuple[str, str]]]:
    soup = BeautifulSoup(fragment, "html.parser")
    links = [(str(a.get("href") or ""), _short_text(a)) for a in soup.find_all("a")]
    links += [(str(i.get("src") or ""), str(i.get("alt") or "")) for i in soup.find_all("img")]
    for tag in soup.find_all(_SKIP_TAGS):
        tag.decompose()
    return soup.get_text(" "), links


def _html_block(b: _Builder, fragment: str) -> None:
    """Walk an HTML block: headings open sections, block elements end text blocks, anchors are links."""
    soup = BeautifulSoup(fragment, "html.parser")
    text: list[str] = []
    links: list[tuple[str, str]] = []

    def flush() -> None:
        b.block("text", "".join(text), list(links))
        text.clear()
        links.clear()

    # An explicit stack, not recursion: a card may nest tags thousands deep.
    stack: list[tuple[Iterator[PageElement], Tag | None]] = [(iter(soup.children), None)]
    while stack:
        children, parent = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if parent is not None:
                if parent.name in ("td", "th"):
                    text.append(" | ")
                if parent.name in _BLOCK_TAGS:
                    flush()
            continue
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:  # not a comment, CDATA or doctype
                text.append(str(child))
            continue
        if not isinstance(child, Tag) or child.name in _SKIP_TAGS:
            continue
        if child.name in _HEADINGS:
            flush()
            b.heading(_short_text(child), _HEADINGS[child.name])
            continue
        if child.name == "a":
            links.append((str(child.get("href") or ""), _short_text(child)))
        elif child.name in ("img", "source", "iframe"):
            links.append((str(child.get("src") or ""), str(child.get("alt") or "")))
        elif child.name == "pre":
            flush()
            b.block("code", child.get_text(), [])
            continue
        if child.name in _BLOCK_TAGS:
            flush()
        stack.append((iter(child.children), child))
    flush()


def read_markdown(body: str) -> Document:
    """Sections, blocks and links of a card body. Never raises: a body markdown-it cannot parse is
    read as one text block."""
    b = _Builder()
    body = body[:MAX_BODY_CHARS]
    try:
        tokens = _MD.parse(body)
    except Exception:  # a pathological body must never stop a crawl
        b.block("text", body, [])
        return b.doc
    row: list[str] = []
    row_links: list[tuple[str, str]] = []
    header = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        t = tok.type
        if t == "heading_open" and i + 1 < len(tokens):
            text, links = _inline(tokens[i + 1])
            b.heading(text, int(tok.tag[1]))
            for url, anchor in links:
                b.doc.links.append(Link(url, anchor, b.section, -1))
            i += 3
            continue
        if t == "inline":
            text, links = _inline(tok)
            if tokens[i - 1].type in ("th_open", "td_open"):
                row.append(text)
                row_links.extend(links)
            else:
                b.block("text", text, links)
        elif t in ("fence", "code_block"):
            b.block("code", tok.content, [], (tok.info or "").strip().lower())
        elif t == "html_block":
            _html_block(b, tok.content)
        elif t == "tr_open":
            row, row_links = [], []
        elif t == "thead_open":
            header = True
        elif t == "thead_close":
            header = False
        elif t == "tr_close":
            b.block("row", " | ".join(row), row_links, "header" if header else "")
            row, row_links = [], []
        i += 1
    return b.doc


_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[A-Z0-9\"'(\[*#])")


def sentences(text: str) -> list[str]:
    """Plain sentences of a prose block (a simple splitter: cards are not literature)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
