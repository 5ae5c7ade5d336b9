"""Markdown to safe HTML.

One Python-Markdown instance is made per process and reset between pages
(creating one costs more than converting a page).  A treeprocessor collects
every link, rewrites internal ones to relative URLs, and notes unsafe URLs and
attributes; raw HTML is refused with a diagnostic; and the result is cleaned
against an allow-list with nh3 as a second line of defence.

Python-Markdown offers every text to ~15 inline patterns and every block to ~13 block
processors.  Where a pattern or test cannot match without some character (a link needs '['),
text without it is passed over: the output is byte-for-byte what the full search gives.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import STX, AtomicString

from .urls import SAFE_SCHEMES, relative_url, resolve_site_path, scheme_of

MAX_NESTING = 32
TOC_MARKER = "[TOC]"     # the toc extension's default marker, replaced by a contents list

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "section", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "aside",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "role", "lang", "aria-label", "aria-hidden", "aria-describedby"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"align"},
    "th": {"align", "scope"},
    "ol": {"start"},
}
# Configured once: passing the allow-lists to nh3.clean converts them again on every call.
_CLEANER = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=set(SAFE_SCHEMES),
                       link_rel=None, strip_comments=True)
# Classes content may carry: what admonitions, myth blocks, footnotes and the contents list
# need.  Any other class, from attr_list or an admonition type, could dress content up as
# the site's own controls (".exit-button" over the real Exit button), so it is refused.
CONTENT_CLASSES = frozenset({"admonition", "admonition-title", "note", "tip", "warning", "important", "myth",
                             "footnote", "footnote-ref", "footnote-backref", "toc", "headerlink"})
# Ids the templates use, and the prefixes of the ids they generate: content taking one would
# move the skip link, the Exit status or a citation's back-link.
TEMPLATE_IDS = frozenset({"main", "help", "exit-status", "contents-heading", "questions-heading",
                          "sources-heading", "search-input", "search-results", "search-status",
                          "ws-downloads-heading"})
TEMPLATE_ID_PREFIXES = ("exit", "ref-", "cite-")
_CONTENT_ONLY_ATTRIBUTES = {"aria-hidden"}     # content must not hide text from screen readers
_ATTRIBUTE_SOMEWHERE = set().union(*ALLOWED_ATTRIBUTES.values()) - _CONTENT_ONLY_ATTRIBUTES
_ENTITY_RE = re.compile(r"^&(?:#\d+|#x[0-9a-fA-F]+|\w+);$")
_COMMENT_RE = re.compile(r"^\s*<!--.*-->\s*$", re.S)

# What each of Python-Markdown's inline patterns needs in a text before it can match (any one
# of the strings listed).  The inline processor tries every pattern on every text, its largest
# cost per page; on a text with none of these that work changes nothing, so such text is marked
# atomic and skipped.  STX starts Python-Markdown's own placeholders, which are always looked at.
_INLINE_NEEDS = {
    "backtick": ("`",), "escape": ("\\",), "footnote": ("[",), "reference": ("[",), "link": ("[",),
    "image_link": ("[",), "image_reference": ("[",), "short_reference": ("[",), "short_image_ref": ("[",),
    "autolink": ("<",), "automail": ("<",), "html": ("<",), "entity": ("&",), "linebreak": ("  \n",),
    "em_strong": ("*", "_"), "em_strong2": ("_",), "not_strong": ("*", "_"),     # last two: older releases
}
_MAYBE_INLINE_RE = re.compile("|".join(map(re.escape, sorted({STX}.union(*_INLINE_NEEDS.values())))))
# Block processors whose test cannot pass without one of these strings in the block (name:
# (strings, Python-Markdown's priority for it)).  Every paragraph is offered to each of them
# first, and most test with a regex anchored at line starts, which is tried at every offset.
_BLOCK_NEEDS = {
    "table": (("|",), 75), "hashheader": (("#",), 70), "hr": (("-", "_", "*"), 50), "quote": ((">",), 20),
}


@dataclass
class Link:
    href: str            # as written by the editor
    target: str | None   # site path it resolves to; None for external links
    fragment: str
    element: str         # "a" or "img"


@dataclass
class Problem:
    code: str
    message: str
    needle: str          # text to look for in the source to place the diagnostic
    hint: str = ""


@dataclass
class Rendered:
    html: str
    headings: list[dict]                         # toc tokens, flattened: level, id, name
    links: list[Link] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _LinkTreeprocessor(Treeprocessor):
    """Collects links, rewrites internal ones, flags unsafe URLs and attributes."""

    def __init__(self, md, context):
        super().__init__(md)
        self.context = context

    def run(self, root: Element):
        seen_ids: set[str] = set()
        for element in root.iter():
            self._check_attributes(element)
            self._check_classes_and_id(element, seen_ids)
            attr = {"a": "href", "img": "src"}.get(element.tag)
            if attr and attr in element.attrib:
                element.set(attr, self._link(element.tag, element.get(attr)))

    def _check_attributes(self, element: Element) -> None:
        """Refuse (and drop) any attribute this tag may not have, such as an ``href`` that
        attr_list put on a heading: the sanitiser would drop it too, but silently."""
        allowed = (ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(element.tag, set())) - _CONTENT_ONLY_ATTRIBUTES
        for name in list(element.attrib):
            if name not in allowed:
                element.attrib.pop(name)
                where = f" on <{element.tag}>" if name in _ATTRIBUTE_SOMEWHERE else ""
                self.context.problems.append(Problem(
                    "unsafe-attribute", f"attribute '{name}' is not allowed{where} in content",
                    name,
                    "event handlers, styles and links on other elements come from templates, not content"))

    def _check_classes_and_id(self, element: Element, seen_ids: set[str]) -> None:
        problems = self.context.problems
        classes = element.get("class", "").split()
        refused = [c for c in classes if c not in CONTENT_CLASSES]
        if refused:
            element.set("class", " ".join(c for c in classes if c in CONTENT_CLASSES))
            problems.append(Problem("reserved-class", f"class '{refused[0]}' is not one content may use",
                                    refused[0], f"content classes: {', '.join(sorted(CONTENT_CLASSES))}"))
        anchor = element.get("id")
        if anchor is None:
            return
        if anchor in TEMPLATE_IDS or anchor.startswith(TEMPLATE_ID_PREFIXES):
            element.attrib.pop("id")
            problems.append(Problem("reserved-id", f"id '{anchor}' belongs to the site's templates", anchor,
                                    "rename the heading, or give it another id with {: #other }"))
        elif anchor in seen_ids:
            element.attrib.pop("id")
            problems.append(Problem("duplicate-id", f"id '{anchor}' is used twice on the page", "#" + anchor,
                                    "each id on a page must be unique"))
        seen_ids.add(anchor)

    def _link(self, tag: str, href: str) -> str:
        ctx = self.context
        scheme = scheme_of(href)
        if tag == "img" and (scheme in ("http", "https") or href.startswith("//")):
            ctx.problems.append(Problem("image-external", "images must be files of this site", href[:40],
                                        "save the image under content/ or templates/static/ and link to it: "
                                        "the site makes no third-party requests"))
            return ""
        if scheme:
            if scheme not in SAFE_SCHEMES:
                ctx.problems.append(Problem("unsafe-url", f"'{scheme}:' links are not allowed", href[:40],
                                            "link with http:, https:, mailto:, tel: or sms: only"))
                return "#"
            ctx.links.append(Link(href, None, "", tag))
            return href
        if href.startswith("//"):
            ctx.links.append(Link(href, None, "", tag))
            return href
        resolved = resolve_site_path(href, ctx.page_url, ctx.page_source, ctx.source_urls)
        if resolved is None:
            ctx.links.append(Link(href, "", "", tag))
            return href
        target, fragment = resolved
        ctx.links.append(Link(href, target, fragment, tag))
        if target == ctx.page_url:
            return "#" + fragment if fragment else "./"
        return relative_url(ctx.page_url, target + ("#" + fragment if fragment else ""))


class _PlainTextTreeprocessor(Treeprocessor):
    """Marks text that no inline pattern can match as atomic, so the inline processor skips it."""

    def run(self, root: Element):
        for element in root.iter():
            if element.text and not _MAYBE_INLINE_RE.search(element.text):
                element.text = AtomicString(element.text)
            if element.tail and not _MAYBE_INLINE_RE.search(element.tail):
                element.tail = AtomicString(element.tail)


class _GatedBlockProcessor(BlockProcessor):
    """Offers a block to ``inner`` only when it holds one of ``needs``; otherwise the answer is no."""

    def __init__(self, inner: BlockProcessor, needs: tuple[str, ...]):
        super().__init__(inner.parser)
        self.inner, self.needs = inner, needs

    def test(self, parent: Element, block: str) -> bool:
        return any(needed in block for needed in self.needs) and self.inner.test(parent, block)

    def run(self, parent: Element, blocks: list[str]):
        return self.inner.run(parent, blocks)


class _SafetyExtension(Extension):
    def __init__(self, context):
        super().__init__()
        self.context = context

    def extendMarkdown(self, md):
        # Priority 1: after inline links exist and toc (5) has given headings their ids.
        md.treeprocessors.register(_LinkTreeprocessor(md, self.context), "mend-links", 1)
        # Just before the inline processor (20), after footnotes (50) has added its text.
        md.treeprocessors.register(_PlainTextTreeprocessor(md), "mend-plain-text", 21)


@dataclass
class _Context:
    page_url: str = "/"
    page_source: str = ""
    source_urls: dict = field(default_factory=dict)
    links: list = field(default_factory=list)
    problems: list = field(default_factory=list)


class MarkdownRenderer:
    """A reusable Markdown converter for one process."""

    def __init__(self):
        self.context = _Context()
        self.md = markdown.Markdown(
            extensions=["footnotes", "tables", "toc", "attr_list", "admonition", "sane_lists",
                        _SafetyExtension(self.context)],
            extension_configs={
                "tables": {"use_align_attribute": True},
                "footnotes": {"BACKLINK_TITLE": "Back to reference %d in the text"},
            },
            output_format="html",
        )
        _freeze_inline_patterns(self.md)
        _gate_block_processors(self.md)
        # Looked up a few hundred times a page (prettifying, attr_list); no extension we load adds to it.
        self.md.block_level_elements = frozenset(self.md.block_level_elements)
        self.toc = self.md.treeprocessors["toc"]

    def render(self, text: str, page_url: str, page_source: str, source_urls: dict) -> Rendered:
        ctx = self.context
        ctx.page_url, ctx.page_source, ctx.source_urls = page_url, page_source, source_urls
        ctx.links, ctx.problems = [], []
        depth, deepest_line = nesting_depth(text)
        if depth > MAX_NESTING:
            return Rendered("", [], [], [Problem("nesting-too-deep", f"lists or quotes nest {depth} levels deep",
                                                 deepest_line, f"keep nesting under {MAX_NESTING} levels")])
        self.md.reset()
        # The toc extension walks the whole tree for its marker; it can only be there if the text has it.
        self.toc.marker = TOC_MARKER if TOC_MARKER in text else ""
        try:
            html = self.md.convert(text)
        except RecursionError:
            return Rendered("", [], [], [Problem("nesting-too-deep", "the Markdown nests too deeply to render",
                                                 "", "simplify nested lists, quotes or emphasis")])
        problems = ctx.problems + _raw_html_problems(self.md.htmlStash.rawHtmlBlocks)
        headings = list(_flatten(self.md.toc_tokens))
        return Rendered(sanitize(html), headings, ctx.links, problems)


def _freeze_inline_patterns(md: markdown.Markdown) -> None:
    """Hand the inline processor its patterns as a list: it indexes them once per pattern per
    text, and a Registry re-checks its sort order on every lookup."""
    if len(md.inlinePatterns) != sum(name in md.inlinePatterns for name in _INLINE_NEEDS):
        raise RuntimeError("an inline pattern is missing from markup._INLINE_NEEDS")
    md.treeprocessors["inline"].inlinePatterns = list(md.inlinePatterns)


def _gate_block_processors(md: markdown.Markdown) -> None:
    """Wrap the processors in _BLOCK_NEEDS, each keeping its place in the order."""
    processors = md.parser.blockprocessors
    for name, (needs, priority) in _BLOCK_NEEDS.items():
        place = processors.get_index_for_name(name)
        processors.register(_GatedBlockProcessor(processors[name], needs), name, priority)
        if processors.get_index_for_name(name) != place:
            raise RuntimeError(f"block processor '{name}' moved: update its priority in markup._BLOCK_NEEDS")


def _raw_html_problems(stashed) -> list[Problem]:
    problems = []
    for block in stashed:
        text = str(block)
        if _ENTITY_RE.match(text) or _COMMENT_RE.match(text):
            continue
        problems.append(Problem("raw-html", "raw HTML is not allowed in content", text.strip()[:60],
                                "use Markdown instead; ask a developer if a template needs a new feature"))
    return problems


def sanitize(html: str) -> str:
    return _CLEANER.clean(html)


def nesting_depth(text: str) -> tuple[int, str]:
    """Deepest nesting of block quotes and indented lists, and the line where it is.

    Measured cheaply before parsing, because Python-Markdown recurses once per level.
    """
    deepest, where = 0, ""
    for line in text.split("\n"):
        stripped = line.lstrip(" \t")
        indent = len(line) - len(stripped)
        quotes = len(stripped) - len(stripped.lstrip("> "))
        depth = max(indent // 4, stripped[:quotes].count(">"))
        if depth > deepest:
            deepest, where = depth, line
    return deepest, where


def _flatten(tokens):
    for token in tokens:
        yield {"level": token["level"], "id": token["id"], "name": token["name"]}
        yield from _flatten(token["children"])


_H2_RE = re.compile(r'<h2 id="([^"]*)">(.*?)</h2>', re.S)
_BLOCK_TAG_RE = re.compile(r"</?(?:p|li|ul|ol|br|div|h[1-6]|tr|td|th|table|blockquote|pre|hr)\b[^>]*>")
_TAG_RE = re.compile(r"<[^>]+>")


def split_h2_sections(html: str) -> tuple[str, list[dict]]:
    """Split rendered HTML at its ``<h2>`` headings: (intro HTML, [{id, title_html, title, html}])."""
    parts = _H2_RE.split(html)
    intro, sections = parts[0], []
    for i in range(1, len(parts), 3):
        anchor, title_html, content = parts[i], parts[i + 1], parts[i + 2]
        sections.append({"id": anchor, "title_html": title_html, "title": plain_text(title_html),
                         "html": content.strip()})
    return intro.strip(), sections


# A citation marker (<sup class="citation">...</sup>): a link on the page, noise in plain text
# ("steadily1."), so plain text (JSON-LD answers, titles) leaves it out.
_CITATION_RE = re.compile(r'<sup class="citation">.*?</sup>', re.S)


def plain_text(html: str) -> str:
    """Text of an HTML fragment, whitespace collapsed and citation markers left out."""
    return " ".join(html_lib.unescape(_TAG_RE.sub("", _BLOCK_TAG_RE.sub(" ", _CITATION_RE.sub("", html)))).split())
