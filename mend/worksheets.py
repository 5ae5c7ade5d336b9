"""Worksheets: the field syntax, parsed into a ``Worksheet``, and its accessible HTML form.

A worksheet is a content file with ``kind: worksheet``.  Its body is Markdown
with one field per line; ``##`` headings start sections (each becomes a
fieldset whose legend is the heading, with the id Markdown would give the
heading, so ``#section-title`` links work); any other Markdown is
instructions, shown where it stands between the fields::

    [text: name] Label for a single line
    [lines: name, 4] Label for a multi-line box 4 lines high (1 to 20)
    [check: name] Label for one checkbox (consecutive checks form a group; blank lines between are fine)
    [scale: name, 1-5] Label for a rating scale | label for the low end | label for the high end
    [table: name, 5] Left column heading | Right column heading   (two columns, 5 rows: 1 to 20)

Names are lower_snake_case and unique within the worksheet; every field needs
a label (plain text, not Markdown).  A scale has 2 to 11 points (``0-10``
works).  A table's cells are named ``<name>_<row>_left`` and
``<name>_<row>_right``; their labels, for screen readers and PDF form
readers, are "<column heading>, row <n>".  A line that starts with ``[word:``
is always read as a field, so a typo is reported, never shown to readers;
links such as ``[Note: x](url)`` and lines inside fenced code blocks are not
fields.  Each malformed field line is reported at its line and column.

Front matter adds ``pages`` (how many printed pages the worksheet must fit on,
on both A4 and US Letter, 1 to 10; default 1) and ``file_title`` (the neutral
title a PDF shows in its title bar; defaults to ``title``).  Neither the slug
(which names the PDF files) nor that title may contain the words "ex",
"abuse" or "breakup" (or their plurals and variants such as "break-up"): a
downloads folder or a window title can be seen by someone else.

The same parsed worksheet gives the web page's form (``form_html``) and the
PDFs (``pdf.py``: ``/worksheets/<slug>/<slug>-a4.pdf`` and ``-letter.pdf``,
and the booklets ``/worksheets/worksheets-a4.pdf`` and ``-letter.pdf``), so a
field is written once and appears in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from markdown.extensions.toc import slugify
from markupsafe import Markup, escape

from .diagnostics import Report, did_you_mean
from .markup import Rendered

FIELD_KINDS = ("text", "lines", "check", "scale", "table")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# A field line: "[kind: arguments] label".  "[Note: x](url)" is a link, not a field.
FIELD_RE = re.compile(r"^(?P<indent>[ \t]*)\[(?P<kind>[a-z]+)\s*:(?P<args>[^\]]*)\](?!\()(?P<label>.*)$")
HEADING_RE = re.compile(r"^##[ \t]+(?P<title>.+?)[ \t#]*$")
RANGE_RE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
MAX_SIZE = 20
MAX_SCALE_POINTS = 11
MAX_PAGES = 10
# Words that would tell someone glancing at a downloads folder or title bar what the file is about.
REVEALING_RE = re.compile(r"\b(?:ex|exes|abuse[ds]?|abusive|abuser|break[- ]?ups?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Field:
    kind: str                 # one of FIELD_KINDS
    name: str
    label: str
    line: int                 # line in the source file, for diagnostics
    size: int = 0             # lines: box height in lines; table: rows
    low: int = 0              # scale: first and last point
    high: int = 0
    ends: tuple[str, str] = ("", "")   # scale: low/high end labels; table: column headings

    def input_names(self) -> list[str]:
        """The names this field's inputs have in a form (a table has one per cell)."""
        if self.kind == "table":
            return [f"{self.name}_{row}_{side}" for row in range(1, self.size + 1) for side in ("left", "right")]
        return [self.name]


@dataclass
class Text:
    """Instructions between fields: Markdown, and its HTML once rendered."""
    markdown: str
    html: str = ""


@dataclass
class Checks:
    """Consecutive checkbox fields, shown as one group."""
    fields: list[Field]


@dataclass
class Section:
    title: str                # "" for what comes before the first '##'
    line: int
    blocks: list = field(default_factory=list)   # Text | Field | Checks


@dataclass
class Worksheet:
    sections: list[Section]

    def fields(self) -> list[Field]:
        found = []
        for section in self.sections:
            for block in section.blocks:
                found.extend(block.fields if isinstance(block, Checks) else [block] if isinstance(block, Field) else [])
        return found


# --- parsing -----------------------------------------------------------------

def parse(body: str, first_line: int, shown: str, report: Report) -> Worksheet:
    """Split a worksheet body into sections of instructions and fields; report bad field lines."""
    sections = [Section("", first_line)]
    text: list[str] = []
    seen: dict[str, int] = {}
    fence = ""
    for offset, line in enumerate(body.split("\n")):
        number = first_line + offset
        fence = _fence_state(line, fence)
        heading = None if fence else HEADING_RE.match(line)
        match = None if fence else FIELD_RE.match(line)
        if heading or match:
            _flush_text(sections[-1], text)
        if heading:
            sections.append(Section(heading["title"], number))
        elif match:
            parsed = _parse_field(match, number, shown, report)
            if parsed is not None and _names_unique(parsed, seen, shown, report):
                _add_field(sections[-1], parsed)
        else:
            text.append(line)
    _flush_text(sections[-1], text)
    return Worksheet([s for s in sections if s.title or s.blocks])


def _fence_state(line: str, fence: str) -> str:
    """Track fenced code blocks, where field syntax is shown, not parsed."""
    stripped = line.lstrip()
    marker = stripped[:3]
    if marker in ("```", "~~~"):
        return "" if fence == marker else (fence or marker)
    return fence


def _flush_text(section: Section, lines: list[str]) -> None:
    markdown = "\n".join(lines).strip("\n")
    if markdown.strip():
        section.blocks.append(Text(markdown))
    lines.clear()


def _add_field(section: Section, new: Field) -> None:
    last = section.blocks[-1] if section.blocks else None
    if new.kind != "check":
        section.blocks.append(new)
    elif isinstance(last, Checks):
        last.fields.append(new)
    else:
        section.blocks.append(Checks([new]))


def _parse_field(match: re.Match, line: int, shown: str, report: Report) -> Field | None:
    kind, args, label = match["kind"], match["args"], match["label"].strip()
    col = len(match["indent"]) + 2

    def error(message: str, hint: str, at: int = col) -> None:
        report.error(shown, line, at, "worksheet-field", message, hint)

    if kind not in FIELD_KINDS:
        error(f"unknown field type '{kind}'",
              did_you_mean(kind, FIELD_KINDS) or f"use one of: {', '.join(FIELD_KINDS)}")
        return None
    name, _, param = (part.strip() for part in args.partition(","))
    name_col = col + len(kind) + 1 + (len(args) - len(args.lstrip()))
    if not NAME_RE.match(name):
        error(f"field name '{name}' is not lower_snake_case" if name else f"the {kind} field has no name",
              f"write it like [{kind}: how_you_feel{_EXAMPLE_PARAM.get(kind, '')}]", name_col)
        return None
    if not label:
        error(f"field '{name}' has no label", f"write the label after the brackets: {_EXAMPLES[kind]}",
              col + len(args) + len(kind) + 2)
        return None
    return _FIELD_BUILDERS[kind](name, label, param, line, error)


_EXAMPLE_PARAM = {"lines": ", 4", "scale": ", 1-5", "table": ", 5"}
_EXAMPLES = {
    "text": "[text: first_step] What is one small step you could take?",
    "lines": "[lines: hopes, 4] What do you hope for?",
    "check": "[check: slept_well] I slept well last night",
    "scale": "[scale: sure, 1-5] How sure do you feel? | Not at all | Completely",
    "table": "[table: pros_cons, 5] Reasons for | Reasons against",
}


def _no_param(name, label, param, line, error, kind):
    if param:
        error(f"a {kind} field takes only a name, not '{param}'", f"write it like {_EXAMPLES[kind]}")
        return None
    return Field(kind, name, label, line)


def _lines_field(name, label, param, line, error):
    size = _size(param, "lines", error)
    return None if size is None else Field("lines", name, label, line, size=size)


def _table_field(name, label, param, line, error):
    size = _size(param, "table", error)
    if size is None:
        return None
    headings = [part.strip() for part in label.split("|")]
    if len(headings) != 2 or not all(headings):
        error(f"table '{name}' needs two column headings separated by '|'", f"write it like {_EXAMPLES['table']}")
        return None
    return Field("table", name, f"{headings[0]} and {headings[1]}", line, size=size, ends=tuple(headings))


def _scale_field(name, label, param, line, error):
    found = RANGE_RE.match(param)
    low, high = (int(found[1]), int(found[2])) if found else (0, 0)
    if not found or not 2 <= high - low + 1 <= MAX_SCALE_POINTS:
        error(f"scale '{name}' needs a range of 2 to {MAX_SCALE_POINTS} points, like 1-5, not '{param}'",
              f"write it like {_EXAMPLES['scale']}")
        return None
    parts = [part.strip() for part in label.split("|")]
    if len(parts) != 3 or not all(parts):
        error(f"scale '{name}' needs a label and labels for both ends, separated by '|'",
              f"write it like {_EXAMPLES['scale']}")
        return None
    return Field("scale", name, parts[0], line, low=low, high=high, ends=(parts[1], parts[2]))


def _size(param: str, kind: str, error) -> int | None:
    # isdecimal, not isdigit: '²' is a digit that int() refuses (found by fuzzing).
    if not param.isdecimal() or not 1 <= int(param) <= MAX_SIZE:
        what = "lines high" if kind == "lines" else "rows"
        error(f"a {kind} field needs how many {what} it is, from 1 to {MAX_SIZE}" +
              (f", not '{param}'" if param else ""), f"write it like {_EXAMPLES[kind]}")
        return None
    return int(param)


_FIELD_BUILDERS: dict[str, Callable] = {
    "text": lambda *a: _no_param(*a, kind="text"),
    "check": lambda *a: _no_param(*a, kind="check"),
    "lines": _lines_field,
    "scale": _scale_field,
    "table": _table_field,
}


def _names_unique(new: Field, seen: dict[str, int], shown: str, report: Report) -> bool:
    """Every input name (table cells included) may appear once in a worksheet."""
    clash = next((n for n in new.input_names() if n in seen), None)
    if clash is not None:
        cells = new.kind == "table" or clash != new.name
        report.error(shown, new.line, 1, "worksheet-field", f"the name '{clash}' is already used on line {seen[clash]}",
                     "give each field its own name" +
                     (" (a table names its cells <name>_<row>_left and <name>_<row>_right)" if cells else ""))
        return False
    seen.update((n, new.line) for n in new.input_names())
    return True


def check_front_matter(page, report: Report) -> str:
    """Check ``pages`` and refuse revealing words in PDF file names and title bars.

    Returns the title the PDFs show in a title bar."""
    pages = page.meta.get("pages", 1)
    if not 1 <= pages <= MAX_PAGES:
        line, col = page.positions.get("pages", (1, 1))
        report.error(page.shown, line, col, "worksheet-pages", f"'pages' must be from 1 to {MAX_PAGES}, not {pages}",
                     "give the number of sheets of paper the worksheet prints on")
    if REVEALING_RE.search(page.slug.replace("-", " ")):
        line, col = page.positions.get("slug", (1, 1))
        report.error(page.shown, line, col, "worksheet-file-name",
                     f"the PDF file name '{page.slug}-a4.pdf' would show what the worksheet is about",
                     "rename the file, or set a neutral 'slug:' such as 'decision-notes' "
                     "(no 'ex', 'abuse' or 'breakup')")
    title = page.meta.get("file_title") or page.meta["title"]
    if REVEALING_RE.search(title):
        key = "file_title" if "file_title" in page.meta else "title"
        line, col = page.positions.get(key, (1, 1))
        report.error(page.shown, line, col, "worksheet-file-title",
                     f"the PDF title '{title}' would show in a title bar what the worksheet is about",
                     "set a neutral 'file_title:' such as 'Decision notes' (no 'ex', 'abuse' or 'breakup')")
    return title


# --- rendering ---------------------------------------------------------------

def render_text(sheet: Worksheet, render_markdown: Callable[[str], Rendered]) -> Rendered:
    """Render every block of instructions; return their links and problems together for the checks."""
    links, problems, headings = [], [], []
    for section in sheet.sections:
        for block in section.blocks:
            if isinstance(block, Text):
                rendered = render_markdown(block.markdown)
                block.html = rendered.html
                links += rendered.links
                problems += rendered.problems
                headings += rendered.headings
    return Rendered("", headings, links, problems)


def form_html(sheet: Worksheet, name_prefix: str = "", for_print: bool = False) -> Markup:
    """The worksheet as accessible form controls: fieldsets with legends, a <label> for every input.

    ``name_prefix`` keeps names unique when several worksheets share one PDF (the booklet):
    names become ``<prefix>/<name>``.  ``for_print`` gives each box its height as a style
    (the web page uses ``rows``: its Content-Security-Policy refuses inline styles).
    """
    parts = []
    ids = _SectionIds()
    for section in sheet.sections:
        inner = "\n".join(_block_html(block, name_prefix, for_print) for block in section.blocks)
        if section.title:
            parts.append(f'<fieldset class="ws-section" id="{ids.make(section.title)}">\n'
                         f'<legend>{escape(section.title)}</legend>\n{inner}\n</fieldset>')
        else:
            parts.append(f'<div class="ws-intro">\n{inner}\n</div>')
    return Markup("\n".join(parts))


class _SectionIds:
    """Ids for sections as Markdown would give their '##' headings, so '#why-it-matters' links work."""

    def __init__(self):
        self.used: set[str] = set()

    def make(self, title: str) -> str:
        base = slugify(title, "-") or "section"
        made, n = base, 0
        while made in self.used:
            n += 1
            made = f"{base}_{n}"
        self.used.add(made)
        return made


def _block_html(block, prefix: str, for_print: bool) -> str:
    if isinstance(block, Text):
        return f'<div class="ws-text">{block.html}</div>'
    if isinstance(block, Checks):
        return '<div class="ws-checks">\n' + "\n".join(_check(f, prefix) for f in block.fields) + "\n</div>"
    if block.kind == "lines":
        return _lines(block, prefix, for_print)
    return {"text": _text, "scale": _scale, "table": _table}[block.kind](block, prefix)


def _name(name: str, prefix: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _id(name: str) -> str:
    return f"ws-{name}"


# autocomplete="off": a browser must not offer these answers to the next person using the device.
def _text(f: Field, prefix: str) -> str:
    fid = _id(f.name)
    return (f'<div class="ws-field ws-text-field"><label for="{fid}">{escape(f.label)}</label>\n'
            f'<input type="text" id="{fid}" name="{_name(f.name, prefix)}" autocomplete="off"></div>')


def _lines(f: Field, prefix: str, for_print: bool) -> str:
    fid = _id(f.name)
    style = f' style="--lines: {f.size}"' if for_print else ""
    return (f'<div class="ws-field ws-lines-field"><label for="{fid}">{escape(f.label)}</label>\n'
            f'<textarea id="{fid}" name="{_name(f.name, prefix)}" rows="{f.size}"{style} '
            f'autocomplete="off"></textarea></div>')


def _check(f: Field, prefix: str) -> str:
    fid = _id(f.name)
    return (f'<div class="ws-field ws-check-field"><input type="checkbox" id="{fid}" '
            f'name="{_name(f.name, prefix)}" value="yes"><label for="{fid}">{escape(f.label)}</label></div>')


def _scale(f: Field, prefix: str) -> str:
    """One row: "very low (1) (2) (3) (4) (5) very good".  Screen readers hear the ends in the legend."""
    options = []
    for value in range(f.low, f.high + 1):
        oid = f"{_id(f.name)}-{value}"
        options.append(f'<span class="ws-scale-option"><input type="radio" id="{oid}" '
                       f'name="{_name(f.name, prefix)}" value="{value}"><label for="{oid}">{value}</label></span>')
    low, high = (escape(end) for end in f.ends)
    return (f'<fieldset class="ws-field ws-scale-field"><legend>{escape(f.label)}'
            f'<span class="ws-hidden"> ({f.low} = {low}, {f.high} = {high})</span></legend>\n'
            f'<div class="ws-scale-options"><span class="ws-scale-end" aria-hidden="true">{low}</span>\n'
            + "\n".join(options) +
            f'\n<span class="ws-scale-end" aria-hidden="true">{high}</span></div></fieldset>')


def _table(f: Field, prefix: str) -> str:
    left, right = (escape(h) for h in f.ends)
    rows = []
    for row in range(1, f.size + 1):
        cells = []
        for side, heading in (("left", left), ("right", right)):
            cid = f"{_id(f.name)}-{row}-{side}"
            cells.append(f'<td><label class="ws-hidden" for="{cid}">{heading}, row {row}</label>'
                         f'<input type="text" id="{cid}" name="{_name(f"{f.name}_{row}_{side}", prefix)}" '
                         f'autocomplete="off"></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="ws-field ws-table-field">\n<thead><tr><th scope="col">{left}</th>'
            f'<th scope="col">{right}</th></tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>")


def scale_descriptions(sheet: Worksheet, prefix: str = "") -> dict[str, str]:
    """Spoken name of each scale as a whole ("How sure? 1 = Not at all, 5 = Completely"), by input name."""
    return {_name(f.name, prefix): f"{f.label} ({f.low} = {f.ends[0]}, {f.high} = {f.ends[1]})"
            for f in sheet.fields() if f.kind == "scale"}
