"""A page's body: its Markdown (or worksheet fields) and citations turned into HTML.

The body is a pure function of the page's file, its URL and path, the bibliography
entries it may cite, Mend's code, and the answers to the ``.md`` links it looked up
while rendering.  The store keeps each body with those answers (a verifying trace):
a later build reuses it when the file, entries and engine are the same and every link
it looked up still leads where it did.  A new page therefore re-renders only the
bodies that link to it by file name.  Worksheets are parsed on every build: their
PDFs need the parsed fields (the PDFs themselves are cached by their own inputs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import citations, helpdata, worksheets
from .citations import Reference
from .diagnostics import Diagnostic, Locator, Report
from .markup import Link, MarkdownRenderer, Rendered


@dataclass
class Body:
    html: str
    headings: list[dict]              # h2..h6: level, id, name
    links: list[Link]                 # internal links, for the link check
    references: list[Reference]       # the page's numbered sources
    diagnostics: list[Diagnostic]
    reads: dict[str, str | None] = field(default_factory=dict)    # ".md" link -> URL it led to
    form: str = ""                    # a worksheet's form controls
    sheet: worksheets.Worksheet | None = None    # a worksheet's parsed fields (not stored)

    @property
    def cited(self) -> list[str]:
        return [r.key for r in self.references]

    def to_json(self) -> dict:
        return {"html": self.html, "headings": self.headings, "links": [list(vars(l).values()) for l in self.links],
                "references": [vars(r) for r in self.references], "reads": self.reads,
                "diagnostics": [list(vars(d).values()) for d in self.diagnostics], "form": self.form}

    @classmethod
    def from_json(cls, data: dict) -> Body:
        return cls(data["html"], data["headings"], [Link(*link) for link in data["links"]],
                   [Reference(**r) for r in data["references"]], [Diagnostic(*d) for d in data["diagnostics"]],
                   data["reads"], data["form"])


class RecordingMap(Mapping):
    """The map of content files to URLs, noting every file a page asks about."""

    def __init__(self, urls: Mapping):
        self.urls = urls
        self.reads: dict[str, str | None] = {}

    def __getitem__(self, name):
        value = self.reads[name] = self.urls.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def get(self, name, default=None):
        value = self.reads[name] = self.urls.get(name)
        return default if value is None else value

    def __contains__(self, name):
        return self.get(name) is not None

    def __iter__(self):
        raise TypeError("a page may look up files, not list them (the lookups are what its body is keyed by)")

    def __len__(self):
        return len(self.urls)


def body_key(page, engine: str, entries: dict[str, str], help_data) -> str:
    """What a body is made from besides the links it looks up: the file and where it is,
    the engine, and each source it may cite (``entries``: ``entry_digests``).  A page with the
    help directory line also shows the help data and every service it cites."""
    parts = [engine, page.shown, page.name, page.url, page.digest]
    parts.extend(f"{key}={entries.get(key) or entries['']}" for key in page.mentions)
    if page.shows_directory:
        parts += [help_data.digest, entries["*"]]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def entry_digests(bibliography) -> dict[str, str]:
    """A digest of each bibliography entry as a page shows it, once per build; under "" the
    known keys, which a citation of an unknown key depends on (its hint names the closest)."""
    digests = {key: hashlib.sha256(json.dumps([source.data, source.html], sort_keys=True, default=str)
                                   .encode()).hexdigest() for key, source in bibliography.sources.items()}
    digests[""] = hashlib.sha256(json.dumps(sorted(bibliography.sources)).encode()).hexdigest()
    digests["*"] = hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()
    return digests


def stored_body(data, source_urls: Mapping) -> Body | None:
    """A stored body, if every link it looked up still leads where it did."""
    if not isinstance(data, dict):
        return None
    try:
        body = Body.from_json(data)
    except (KeyError, TypeError):
        return None
    return body if verified(body, source_urls) else None


def verified(body: Body, source_urls: Mapping) -> bool:
    """Every link the body looked up still leads where it did."""
    return all(source_urls.get(name) == url for name, url in body.reads.items())


def make_body(page, bibliography, source_urls: Mapping, renderer: MarkdownRenderer, help_data) -> Body:
    own = Report()
    # The help page's directory line becomes every country's services, cited like any source.
    page = dataclasses.replace(page, body=helpdata.expand_directory(page.body, help_data))
    reads = RecordingMap(source_urls)
    cites = citations.prepare(page, bibliography, own)

    def render(text: str) -> Rendered:
        rendered = renderer.render(text, page.url, page.name, reads)
        rendered.html = citations.fill(rendered.html, cites, page, own)
        return rendered

    sheet, form = None, ""
    if page.kind == "worksheet":
        sheet = worksheets.parse(cites.body, page.body_line, page.shown, own)
        rendered = worksheets.render_text(sheet, render)
        form = str(worksheets.form_html(sheet))
    else:
        rendered = render(cites.body)
    locate = Locator(page.body, page.body_line)      # each repeated problem at its own place
    for problem in rendered.problems:
        line, col = locate(problem.needle)
        own.error(page.shown, line, col, problem.code, problem.message, problem.hint)
    internal = [link for link in rendered.links if link.target is not None]
    return Body(rendered.html, rendered.headings, internal, cites.references, own.items, reads.reads, form, sheet)
