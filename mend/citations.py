"""Pandoc-style citations in page bodies: ``[@key]``, ``[@key, p. 12]``, ``[@a; @b]``.

Citations are found by a pre-pass over the Markdown source, so every one has a
line and column for diagnostics.  Each is swapped for a placeholder made of
private-use characters, which Markdown and the sanitiser pass through as text;
after rendering, ``fill`` replaces the placeholders with numbered superscript
links.  Numbers follow the order of first use on the page, and a source keeps
its number however often it is cited.  Nothing is matched inside code spans,
indented code blocks, HTML comments, link URLs, autolinks or e-mail addresses,
and ``\\[@`` is a literal "[@".
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from .bibliography import KEY, format_references
from .diagnostics import did_you_mean

# Possessive quantifiers, and no '[' in a locator, keep every match linear: a page of
# thousands of unclosed "[@x, " or spaces must not take quadratic time (found by fuzzing).
_ITEM = rf"\s*+@({KEY})(?:\s*+,\s*+([^;\[\]\s][^;\[\]]*+))?\s*+"
_GROUP_RE = re.compile(rf"\[((?:{_ITEM};)*{_ITEM})\](?![(\[:])")
_ITEM_RE = re.compile(_ITEM + r"(?:;|$)")
_OPEN_RE = re.compile(r"\[@")
# The start of a bracket that looks like a citation, for the diagnostic (which shows 40
# characters).  Bounded, so a page full of "[@" costs linear time.
_ATTEMPT_RE = re.compile(r"\[@[^\]\n]{0,60}\]?")

# Regions where "[@" is not a citation, each with a substring that must be present for the
# region to exist (so a page without backticks never runs the code-span search, and so on).
# E-mail addresses need no region: "[" cannot be part of one, so "[@" never occurs inside one.
_BACKTICKS_RE = re.compile(r"`+")
# Every place a blank line starts, overlapping ones too (group 1 ends where it ends).
_BLANK_LINE_AT_RE = re.compile(r"\n(?=([ \t]*\n))")
_REGIONS = (
    ("<", re.compile(r"<[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]*>|<[^\s<>@]+@[^\s<>]+>")),
    ("]:", re.compile(r"^ {0,3}\[(?!\^)[^\]\n]+\]:[ \t]*\S+.*$", re.M)),
)
# "](" and the destination after it, allowing one level of balanced parentheses.
_LINK_DEST_RE = re.compile(r"\]\((?:[^()\n]|\([^()\n]*\))*\)?")
_LINK_FOLLOWERS = ("(", "[", ":")      # [@x](url), [@x][ref], [@x]: a link, not a citation
_INDENTED_RE = re.compile(r"^(?: {4}|\t)", re.M)
_CONTAINER_RE = re.compile(r"^ {0,3}(?:[-*+][ \t]|\d+[.)][ \t]|!!!|\?\?\?|\[\^[^\]]+\]:)")

PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE = "\ue000", "\ue001"
_PLACEHOLDER_RE = re.compile(f"{PLACEHOLDER_OPEN}(\\d+){PLACEHOLDER_CLOSE}")
# A link whose text holds a placeholder, or a tag with one in an attribute (an image's alt).
_INSIDE_LINK_OR_TAG_RE = re.compile(
    f"<a\\b[^>]*>(?:(?!</a>)[^{PLACEHOLDER_OPEN}])*{PLACEHOLDER_OPEN}.*?</a>|<[^>]*{PLACEHOLDER_OPEN}[^>]*>", re.S)

SOURCES_URL = "/sources/"
SYNTAX_HINT = "write [@key], [@key, p. 12] or [@a; @b]; write \\[@ for a literal '[@'"


@dataclass(frozen=True)
class Cite:
    key: str
    locator: str        # "" or e.g. "p. 12"
    line: int           # of the key's '@' in the file
    col: int


@dataclass(frozen=True)
class CiteGroup:
    """One bracket: ``[@a, p. 3; @b]``."""

    start: int          # offsets in the body; start covers the spaces before the bracket
    end: int
    cites: tuple[Cite, ...]


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    col: int
    text: str


@dataclass
class Scan:
    groups: list[CiteGroup] = field(default_factory=list)
    problems: list[SyntaxProblem] = field(default_factory=list)
    protected: list[tuple[int, int]] = field(default_factory=list)


class _Positions:
    """Offset -> (line, col) in the file, for a body that starts at ``first_line``."""

    def __init__(self, text: str, first_line: int):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.first_line = first_line

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.first_line + index, offset - self.starts[index] + 1


def scan(body: str, first_line: int = 1) -> Scan:
    """Every citation in ``body`` in source order, and every bracket that looks like one but is not."""
    if "[@" not in body:
        return Scan()
    protected = protected_spans(body)
    position = _Positions(body, first_line)
    result = Scan(protected=protected)
    pos = 0
    next_close = -1          # the first ']' at or after the current bracket, found once per ']'
    while (match := _OPEN_RE.search(body, pos)) is not None:
        start = match.start()
        pos = start + 1
        if _inside(protected, start) or _escaped(body, start):
            continue
        group = _GROUP_RE.match(body, start)
        if group is None:
            attempt = _ATTEMPT_RE.match(body, start).group(0)
            if next_close < start:
                next_close = body.find("]", start)
                next_close = len(body) if next_close < 0 else next_close
            if body[next_close + 1:next_close + 2] not in _LINK_FOLLOWERS:
                result.problems.append(SyntaxProblem(*position(start), attempt))
            continue
        cites = tuple(Cite(m.group(1), " ".join((m.group(2) or "").split()), *position(start + 1 + m.start(1) - 1))
                      for m in _ITEM_RE.finditer(group.group(1)))
        result.groups.append(CiteGroup(_run_start(body, start, " \t"), group.end(), cites))
        pos = group.end()
    return result


def _run_start(text: str, index: int, chars: str) -> int:
    """Where the run of ``chars`` that ends just before ``index`` starts."""
    while index > 0 and text[index - 1] in chars:
        index -= 1
    return index


def _escaped(text: str, index: int) -> bool:
    return (index - _run_start(text, index, "\\")) % 2 == 1


def _inside(spans: list[tuple[int, int]], offset: int) -> bool:
    index = bisect.bisect_right(spans, (offset, float("inf"))) - 1
    return index >= 0 and spans[index][0] <= offset < spans[index][1]


def protected_spans(body: str) -> list[tuple[int, int]]:
    """Sorted (start, end) offsets of text where a citation is never matched."""
    spans = [m.span() for needle, regex in _REGIONS if needle in body for m in regex.finditer(body)]
    spans += _comments(body) + _code_spans(body) + _link_destinations(body) + _indented_code(body)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _comments(body: str) -> list[tuple[int, int]]:
    """HTML comments ``<!-- ... -->``.  Found with ``str.find``: the regex ``<!--.*?-->`` scans
    to the end of the page from every unclosed ``<!--``, quadratic on a page full of them."""
    spans, pos = [], 0
    while (start := body.find("<!--", pos)) >= 0:
        end = body.find("-->", start + 4)
        if end < 0:             # no later comment can close either
            break
        spans.append((start, end + 3))
        pos = end + 3
    return spans


def _code_spans(body: str) -> list[tuple[int, int]]:
    """Backtick code spans: a run of n backticks up to the next run of exactly n, within a paragraph.
    The next run of each length and the blank lines are looked up by bisection, so a page of
    unclosed runs costs n log n, not n squared."""
    if "`" not in body:          # "`+" scans slowly: the regex engine finds no literal to skip to
        return []
    runs = [m for m in _BACKTICKS_RE.finditer(body) if not _escaped(body, m.start())]
    by_length: dict[int, list[int]] = {}
    for index, run in enumerate(runs):
        by_length.setdefault(len(run.group(0)), []).append(index)
    blank_lines = [(m.start(), m.end(1)) for m in _BLANK_LINE_AT_RE.finditer(body)]
    blank_starts = [start for start, _ in blank_lines]
    spans, index = [], 0
    while index < len(runs):
        opening = runs[index]
        same = by_length[len(opening.group(0))]
        after = bisect.bisect_right(same, index)
        closing = same[after] if after < len(same) else None
        if closing is None or _blank_line_between(blank_starts, blank_lines, opening.end(), runs[closing].start()):
            index += 1
            continue
        spans.append((opening.start(), runs[closing].end()))
        index = closing + 1
    return spans


def _blank_line_between(starts: list[int], blank_lines: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether a blank line lies wholly in body[start:end] (what ``re.search(r"\n[ \t]*\n", body,
    start, end)`` answers); the first one from ``start`` ends first, so it is the one to look at."""
    index = bisect.bisect_left(starts, start)
    return index < len(starts) and blank_lines[index][1] <= end


def _link_destinations(body: str) -> list[tuple[int, int]]:
    """The ``(url "title")`` after ``](``."""
    return [(m.start() + 2, m.end()) for m in _LINK_DEST_RE.finditer(body)] if "](" in body else []


def _indented_code(body: str) -> list[tuple[int, int]]:
    """Indented code blocks, as Python-Markdown sees them: lines indented 4 spaces after a blank
    line (8 inside a list item, admonition or footnote, whose content is indented 4)."""
    # The substring test first: a regex anchored at '^' is tried at every offset of the page.
    if ("    " not in body and "\t" not in body) or not _INDENTED_RE.search(body):
        return []
    spans, offset = [], 0
    blank_before, in_code, container = True, False, False
    for line in body.split("\n"):
        width = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
        if not line.strip():
            blank_before = True
        else:
            needed = 8 if container else 4
            in_code = width >= needed and (in_code or blank_before)
            if in_code:
                spans.append((offset, offset + len(line)))
            elif width < 4:
                container = bool(_CONTAINER_RE.match(line)) or (container and not blank_before)
            blank_before = False
        offset += len(line) + 1
    return spans


def cited_keys(content_dir: Path) -> set[str]:
    """Every key cited anywhere under ``content_dir`` (for scripts/sync_sources.py)."""
    keys = set()
    for path in sorted(content_dir.rglob("*.md")):
        for group in scan(path.read_text("utf-8")).groups:
            keys.update(c.key for c in group.cites)
    return keys


# Per page: numbering, diagnostics, placeholders ------------------------------------------------


@dataclass
class Reference:
    """One entry of a page's Sources section."""

    number: int
    key: str
    html: str                       # APA 7 reference with its DOI or URL link
    text: str                       # the same as plain text
    backlinks: list[str] = field(default_factory=list)     # ids of the places it is cited


@dataclass
class PageCitations:
    body: str                       # Markdown with each citation swapped for a placeholder
    groups: list[CiteGroup]
    references: list[Reference]
    snippets: list[str]             # HTML for placeholder i
    sections: list[Section]         # an article's '##' sections and what each cites

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.references]


def prepare(page, bibliography, report) -> PageCitations:
    """Find, check and number the citations of one page (``page`` is a content.Page)."""
    found = scan(page.body, page.body_line)
    for problem in found.problems:
        report.error(page.shown, problem.line, problem.col, "cite-syntax",
                     f"'{problem.text[:40]}' looks like a citation but cannot be read", SYNTAX_HINT)
    _check_headings(page, found, report)
    if found.groups:
        format_references(bibliography, report)
    numbers: dict[str, Reference] = {}
    snippets = []
    for group in found.groups:
        items = []
        for cite in group.cites:
            source = _resolve(cite, bibliography, page, report)
            if source is None:
                continue
            reference = numbers.setdefault(cite.key, Reference(len(numbers) + 1, cite.key, source.html, source.text))
            anchor = f"cite-{cite.key}-{len(reference.backlinks) + 1}"
            reference.backlinks.append(anchor)
            items.append((reference, anchor, cite.locator))
        snippets.append(superscript(items))
    return PageCitations(_with_placeholders(page.body, found.groups), found.groups,
                         list(numbers.values()), snippets, check_coverage(page, report, found))


def _resolve(cite: Cite, bibliography, page, report):
    """The source a citation names, or None when there is none; an unverified one is
    reported but still numbered, so the page renders for checking."""
    source = bibliography.sources.get(cite.key)
    if source is None:
        report.error(page.shown, cite.line, cite.col, "cite-unknown", f"no source '{cite.key}' in {bibliography.shown}",
                     did_you_mean(cite.key, bibliography.sources)
                     or "add the entry from the library with scripts/sync_sources.py")
    elif not source.eligible:
        state = source.data.get("verified")
        report.error(page.shown, cite.line, cite.col, "cite-unverified",
                     f"source '{cite.key}' is {'marked ' + repr(state) if state else 'not marked verified'}"
                     "; only confirmed or likely sources may be cited",
                     "check it and set 'verified' in the library, or rewrite the claim without it")
    return source


def _with_placeholders(body: str, groups: list[CiteGroup]) -> str:
    """The body with each citation replaced by its placeholder (and any stray placeholder
    character already in the text removed, so only ours reach ``fill``)."""
    parts, pos = [], 0
    for index, group in enumerate(groups):
        parts += [body[pos:group.start], f"{PLACEHOLDER_OPEN}{index}{PLACEHOLDER_CLOSE}"]
        pos = group.end
    parts.append(body[pos:])
    if PLACEHOLDER_OPEN in body or PLACEHOLDER_CLOSE in body:
        parts[::2] = [part.replace(PLACEHOLDER_OPEN, "").replace(PLACEHOLDER_CLOSE, "") for part in parts[::2]]
    return "".join(parts)


def superscript(items: list[tuple[Reference, str, str]]) -> str:
    """``<sup>`` with one link per source to its entry in the page's Sources section."""
    if not items:
        return ""
    links = []
    for reference, anchor, locator in items:
        label = f"Source {reference.number}" + (f", {locator}" if locator else "")
        link = (f'<a href="#ref-{escape(reference.key)}" id="{escape(anchor)}" '
                f'aria-label="{escape(label)}">{reference.number}</a>')
        links.append(link + (f'<span class="locator" aria-hidden="true">, {escape(locator)}</span>'
                             if locator else ""))
    separator = "; " if any(locator for _, _, locator in items) else ","
    return f'<sup class="citation">{separator.join(links)}</sup>'


def fill(html: str, cites: PageCitations, page, report) -> str:
    """Swap the placeholders in rendered HTML for their superscript links.  A citation that
    ended up inside a tag (an image's alt text) or a link's text cannot become a link there:
    it is reported and dropped."""
    if not cites.groups:
        return html

    def misplaced(match: re.Match) -> str:
        for index in _PLACEHOLDER_RE.findall(match.group(0)):
            cite = cites.groups[int(index)].cites[0]
            report.error(page.shown, cite.line, cite.col, "cite-misplaced",
                         "a citation cannot go inside a link's text or an image's description",
                         "put it after the link or image, at the end of the sentence")
        return _PLACEHOLDER_RE.sub("", match.group(0))

    html = _INSIDE_LINK_OR_TAG_RE.sub(misplaced, html)
    return _PLACEHOLDER_RE.sub(lambda m: cites.snippets[int(m.group(1))], html)


def _check_headings(page, found: Scan, report) -> None:
    """A citation belongs in the text under a heading, not in it (the heading is the link text
    of the page's contents list)."""
    lines = page.body.split("\n")
    for group in found.groups:
        cite = group.cites[0]
        text = lines[cite.line - page.body_line]
        if re.match(r"^ {0,3}#{1,6}\s", text):
            report.error(page.shown, cite.line, cite.col, "cite-in-heading", "a citation cannot go in a heading",
                         "cite in the text under the heading")


# Coverage: every '##' section of an article cites a source ---------------------------------------

_ATX_H2_RE = re.compile(r"^ {0,3}##(?!#)[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_SETEXT_H2_RE = re.compile(r"^(?! {0,3}(?:[-*+][ \t]|\d+[.)][ \t]|#|>))( {0,3}\S.*)\n {0,3}-+[ \t]*$", re.M)
# Its underline alone: starting with a literal newline, this is found far faster than the whole
# pattern, which is tried at every offset, so pages without one skip the full search.
_SETEXT_UNDERLINE_RE = re.compile(r"\n {0,3}-+[ \t]*$", re.M)


@dataclass
class Section:
    title: str
    line: int
    col: int
    keys: list[str]                 # cited in the section, in order, each once
    experience_based: bool


def sections(page, found: Scan | None = None) -> list[Section]:
    """The page's ``##`` sections with the keys each cites (for coverage checks and reports)."""
    found = found or scan(page.body, page.body_line)
    protected = found.protected if found.groups else protected_spans(page.body)
    position = _Positions(page.body, page.body_line)
    experience = {_normal(t) for t in page.meta.get("experience_based") or [] if isinstance(t, str)}
    regexes = (_ATX_H2_RE, _SETEXT_H2_RE) if _SETEXT_UNDERLINE_RE.search(page.body) else (_ATX_H2_RE,)
    headings = sorted((m.start(), m.end(), m.group(1)) for regex in regexes
                      for m in regex.finditer(page.body) if not _inside(protected, m.start()))
    group_ends = [g.end for g in found.groups]        # increasing: groups do not overlap
    result = []
    for index, (start, end, title) in enumerate(headings):
        stop = headings[index + 1][0] if index + 1 < len(headings) else len(page.body)
        inside = found.groups[bisect.bisect_left(group_ends, end):bisect.bisect_right(group_ends, stop)]
        keys = [c.key for g in inside for c in g.cites]
        line, col = position(start + len(page.body[start:end]) - len(page.body[start:end].lstrip(" ")))
        result.append(Section(" ".join(title.split()), line, col, list(dict.fromkeys(keys)),
                              _normal(title) in experience))
    return result


def _normal(title: str) -> str:
    return " ".join(re.sub(r"[*_`]", "", title).split()).casefold()


def check_coverage(page, report, found: Scan | None = None) -> list[Section]:
    """In an article, each '##' section cites a source unless front matter lists it as
    experience-based.  A gap is a warning, not an error: the page still builds and the
    editorial report counts the 'section-uncited' warnings; --strict refuses them."""
    if page.kind != "article":
        return []
    found_sections = sections(page, found)
    for section in found_sections:
        if not section.keys and not section.experience_based:
            report.warning(page.shown, section.line, section.col, "section-uncited",
                         f"section '{section.title}' cites no source",
                         "cite the evidence with [@key], or add the title to 'experience_based:' in the "
                         "front matter if the advice rests on experience")
    titles = {_normal(s.title) for s in found_sections}
    for title in page.meta.get("experience_based") or []:
        if _normal(str(title)) not in titles:
            line, col = page.positions.get("experience_based", (1, 1))
            report.warning(page.shown, line, col, "experience-based-unknown",
                           f"'experience_based' names '{title}', which is not a '##' section of the page",
                           did_you_mean(title, [s.title for s in found_sections]) or "copy the heading's text")
    return found_sections


# Across the site: the bibliography's own warnings, and the Sources page -----------------------------


def check_sources(bibliography, citing: dict[str, list], report) -> None:
    """Warn about sources nobody cites and cited sources a reader cannot follow.  A site that
    cites nothing yet (a new site, a test fixture) is not using its bibliography, so its
    entries are not reported one by one."""
    for source in bibliography.ordered():
        if source.key in citing:
            if not source.findable:
                report.warning(bibliography.shown, source.line, 1, "source-no-link",
                               f"'{source.key}' has neither a DOI nor a URL, so readers cannot find it",
                               "add its DOI (bare, 10.xxxx/...), URL, ISBN, or journal volume and pages "
                               "as seen in a verified record")
        elif citing:
            report.warning(bibliography.shown, source.line, 1, "source-uncited",
                           f"no page cites '{source.key}'",
                           "cite it, or run scripts/sync_sources.py to keep only cited sources" if source.eligible
                           else "it cannot be cited until 'verified' is confirmed or likely; remove it")


def sources_listing(bibliography, citing: dict[str, list]) -> list[dict]:
    """What the Sources page shows: every cited source in reference-list order, its finding
    and the pages that cite it."""
    return [{"key": s.key, "type": s.data["type"], "html": s.html, "finding": s.data.get("finding", ""),
             "verified": s.data["verified"], "link": s.link,
             "pages": [{"title": p.title, "url": p.url} for p in citing.get(s.key, [])]}
            for s in bibliography.ordered() if s.eligible and s.key in citing]
