"""Every output of a site, rendered into the staging folder or kept from the published one.

For each content page: its body (``mend.pages``, reused from the store when its
inputs are unchanged), then its context (``mend.contexts``), then its render key
(template closure + context digest).  A page whose key and published file are
unchanged is kept; any other is rendered.  Pages are rendered on every core:
forked workers write HTML straight into the staging folder and send back what the
rest of the build needs (links, anchors, bodies to store, diagnostics).  Then the
listings (section lists, Sources, sitemap, feed, search and 404 pages) go through
the same key-or-render step in this process, followed by the PDFs and static files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from . import checks, citations, contexts, editorial, numbers, parallel, pdf, search, structured_data
from .bibliography import format_references
from .contexts import Context, Digested
from .diagnostics import Diagnostic, Report
from .incremental import render_key
from .markup import Link, MarkdownRenderer
from .pages import Body, body_key, entry_digests, make_body, stored_body, verified
from .publish import MARKER, MARKER_TEXT, Staging, WriteFailed
from .render import TemplateFailure, render_template
from .site import Site
from .store import Store, encode

SOURCES_PER_PAGE = 30
RECORD_FIELDS = {"ids", "diagnostics", "numbers"}     # what an output's render record holds


@dataclass
class Output:
    """What rendering (or keeping) one output leaves for the rest of the build: small, as it
    is kept for every page.  Its file is already in the staging folder."""

    name: str | None              # output path; None when its template failed
    key: str
    ids: str                      # anchors in its HTML (checks.packed_ids)
    diagnostics: list[Diagnostic]   # found while rendering it (the body's are kept with the body)
    numbers: list = field(default_factory=list)   # phone-number-like runs in its HTML (numbers.phone_numbers)
    links: list[Link] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    digest: str = ""              # hash of its bytes
    rendered: bool = True         # False when kept from the published site
    changed: bool = True          # differs from the published file
    body_diagnostics: list[Diagnostic] = field(default_factory=list)
    new_body: Body | None = None  # a body made in this build, and its JSON for the store (made in the
    new_body_json: bytes = b""    # worker, so the parent does not encode a thousand bodies in a row)
    tracebacks: list[str] = field(default_factory=list)     # of internal errors, for --debug


@dataclass
class Memory:
    """What a long-running process (``serve``) keeps between builds so that a rebuild after one
    edit does not rebuild every page's context: bodies by body key, each page's render key by
    everything its context is made from, and what each output's last render reported.  Every
    entry is keyed by the digests its value is a function of, so it can be unused, never stale."""

    bodies: dict[str, Body] = field(default_factory=dict)          # body key -> body
    page_keys: dict[tuple, str] = field(default_factory=dict)      # see _context_of -> render key
    records: dict[str, dict] = field(default_factory=dict)         # render key -> its last render's report
    keeps_bodies: bool = True      # False for a one-off build: its workers then send back no bodies


@dataclass
class RenderedSite:
    """What ``render_site`` put into the staging folder."""

    keys: dict[str, str] = field(default_factory=dict)          # output path -> render key
    digests: dict[str, str] = field(default_factory=dict)       # output path -> hash of its bytes
    numbers: dict[str, list] = field(default_factory=dict)      # HTML output path -> the numbers it shows
    rendered: list[str] = field(default_factory=list)           # outputs rendered, not kept
    records: dict[str, dict] = field(default_factory=dict)      # render key -> what its render reported (new ones)
    html_changed: bool = False                                  # some HTML differs from the published site's


def render_site(site: Site, staging: Staging, store: Store, report: Report, memory: Memory | None = None,
                meanwhile=None) -> RenderedSite:
    """``meanwhile()`` runs in this process while the workers render pages."""
    memory = memory if memory is not None else Memory()
    if any(page.mentions for page in site.pages):     # formatted once here, not in every worker
        format_references(site.bibliography, report)
    entries = entry_digests(site.bibliography)
    body_keys = {page.url: body_key(page, site.engine, entries, site.help) for page in site.pages}
    known = _known_bodies(site, store, body_keys, memory)
    records = _records(store, staging, memory)
    outputs, todo = {}, []
    for page in site.pages:      # a page whose context is known unchanged needs no worker
        kept = _kept_as_known(site, staging, page, known, records, memory, body_keys)
        if kept is not None:
            outputs[page.url] = kept
        elif page.kind != "worksheet":
            todo.append(page)
    renderer = functools.partial(_page_output, site, staging, known, MarkdownRenderer(), records,
                                 memory.keeps_bodies)
    outputs.update(zip((p.url for p in todo), parallel.map_forked(renderer, todo, meanwhile)))
    sheets = []
    for page in site.pages:
        if page.kind == "worksheet":          # parsed here: the PDFs need the fields
            outputs[page.url] = renderer(page, sheets)
    done = RenderedSite()
    _collect(site, outputs, body_keys, known, store, memory, done, report)
    ids = checks.Anchors((url, o.ids) for url, o in outputs.items() if o.name is not None)
    listings = Listings(site, staging, store, records, report, done, ids)
    listings.render_all(outputs)
    memory.records = {key: done.records.get(key) or records[key] for key in done.keys.values()
                      if key in done.records or key in records}
    _files(site, staging, store, sheets, done, report)
    _check_links(site, outputs, staging, ids, done, report)
    return done


# --- content pages -----------------------------------------------------------------------------

def _known_bodies(site: Site, store: Store, body_keys: dict[str, str], memory: Memory) -> dict[str, Body]:
    """Bodies kept from earlier builds whose inputs are unchanged (worksheets are always made)."""
    known = {}
    for page in site.pages:
        if page.kind != "worksheet":
            body = memory.bodies.get(body_keys[page.url])
            if body is not None and verified(body, site.source_urls):
                store.mark_used("body", [body_keys[page.url]])
            else:
                body = stored_body(store.get("body", body_keys[page.url]), site.source_urls)
            if body is not None:
                known[page.url] = body
    return known


def _records(store: Store, staging: Staging, memory: Memory) -> dict[str, dict]:
    """What the last render of each published output reported (anchors, diagnostics), by
    render key: an output kept from the published site still takes part in the checks."""
    if staging.published is None:
        return {}
    records = {}
    store.mark_used("output", [key for key in staging.published.keys.values() if key in memory.records])
    for key in set(staging.published.keys.values()):
        record = memory.records.get(key) or store.get("output", key)
        if isinstance(record, dict) and RECORD_FIELDS <= record.keys():     # else rendered afresh
            records[key] = record
    return records


def _context_of(site: Site, page, body_keys: dict[str, str]) -> tuple:
    """Everything a page's context is a function of: its body key (file, place, cited entries,
    engine; the body's looked-up links are verified separately) and what it reads of the site."""
    template = contexts.template_for(page)
    return site.engine, site.closures.get(template, ""), body_keys[page.url], site.view.digest_for(template)


def _kept_as_known(site: Site, staging: Staging, page, known: dict, records: dict, memory: Memory,
                   body_keys: dict[str, str]) -> Output | None:
    """Keep a page without building its context, when its body is known, the render key of a
    context made from the same inputs is remembered, and the published file has that key."""
    body, key = known.get(page.url), memory.page_keys.get(_context_of(site, page, body_keys))
    record = records.get(key)
    if body is None or record is None or page.kind == "worksheet" or staging.published is None \
            or not staging.published.has(page.output_path, key):
        return None
    staging.keep(page.output_path)
    return Output(page.output_path, key, record["ids"], [Diagnostic(*d) for d in record["diagnostics"]],
                  record["numbers"], links=body.links, cited=body.cited,
                  digest=staging.published.digest(page.output_path) or "", rendered=False, changed=False,
                  body_diagnostics=body.diagnostics)


def _page_output(site: Site, staging: Staging, known: dict, renderer: MarkdownRenderer, records: dict,
                 keeps_bodies: bool, page, sheets: list | None = None) -> Output:
    """Render one page into the staging folder, or keep its published file.  Whatever goes
    wrong is reported at the page (a write failure stops the build: the disk is the problem)."""
    own = Report()
    try:
        return _render_page(site, staging, known, renderer, records, keeps_bodies, page, sheets)
    except WriteFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a diagnostic at the page, never a traceback
        own.internal(page.shown, exc)
        return Output(None, "", "", own.items, tracebacks=own.tracebacks)


def _render_page(site: Site, staging: Staging, known: dict, renderer: MarkdownRenderer, records: dict,
                 keeps_bodies: bool, page, sheets: list | None) -> Output:
    body = known.get(page.url)
    made = body is None
    if made:
        body = make_body(page, site.bibliography, site.source_urls, renderer, site.help)
    if sheets is not None and body.sheet is not None:
        sheets.append(pdf.SheetForPdf(page, body.sheet, body.references))
    output = _keep_or_render(site, staging, contexts.page_context(site.view, page, body), records)
    output.body_diagnostics, output.links, output.cited = body.diagnostics, body.links, body.cited
    if made and page.kind != "worksheet":
        output.new_body_json = encode(body.to_json())
        output.new_body = body if keeps_bodies else None      # pickling it back costs time and memory
    return output


def _keep_or_render(site: Site, staging: Staging, context: Context, records: dict) -> Output:
    if context.template not in site.closures and "page" in context.values:
        return Output(None, "", "", [])   # a page's 'template:' that does not exist: site.validate_site said so
    key = render_key(site.engine, site.closures.get(context.template, ""), context.digest())
    record = records.get(key)
    published = staging.published
    if record is not None and published is not None and published.has(context.output, key):
        staging.keep(context.output)
        return Output(context.output, key, record["ids"], [Diagnostic(*d) for d in record["diagnostics"]],
                      record["numbers"], digest=published.digest(context.output) or "", rendered=False, changed=False)
    own = Report()
    try:
        text = render_template(site.env, context.template, context.values, own, site.project.templates,
                               site.project.root)
    except TemplateFailure:
        return Output(None, key, "", own.items)
    if context.output.endswith(".html"):
        editorial.check_help_block(context.values["page_source"], text, own)
    changed = staging.write(context.output, text.encode("utf-8"))
    html = context.output.endswith(".html")
    ids = checks.packed_ids(text) if html else ""
    found = numbers.phone_numbers(text) if html else []      # here, on every core, not re-read later
    return Output(context.output, key, ids, own.items, found, digest=staging.digests[context.output],
                  changed=changed)


def _collect(site: Site, outputs: dict[str, Output], body_keys: dict[str, str], known: dict, store: Store,
             memory: Memory, done: RenderedSite, report: Report) -> None:
    """Report what each page found; store the bodies and records made in this build, and
    remember every page's body and render key for the next build of this process."""
    bodies, records, remembered = [], [], {}
    for page in site.pages:
        output = outputs[page.url]
        report.extend(output.body_diagnostics + output.diagnostics)
        report.tracebacks.extend(output.tracebacks)
        if output.new_body_json:
            bodies.append((body_keys[page.url], output.new_body_json))
        if output.new_body is not None:
            remembered[body_keys[page.url]] = output.new_body
        elif page.url in known:
            remembered[body_keys[page.url]] = known[page.url]
        if output.name is not None:
            memory.page_keys[_context_of(site, page, body_keys)] = output.key
        _account(output, done, records)
    store.put_many_bytes("body", bodies)
    store.put_many("output", records)
    memory.bodies = remembered
    wanted = {_context_of(site, page, body_keys) for page in site.pages}
    memory.page_keys = {k: v for k, v in memory.page_keys.items() if k in wanted}


def _account(output: Output, done: RenderedSite, records: list) -> None:
    """Record an output in what the build rendered and what it may keep next time."""
    if output.name is None:
        return
    done.keys[output.name] = output.key
    done.digests[output.name] = output.digest
    if output.name.endswith(".html"):
        done.html_changed |= output.changed
        done.numbers[output.name] = output.numbers
    if output.rendered:
        done.rendered.append(output.name)
        record = {"ids": output.ids, "diagnostics": [list(vars(d).values()) for d in output.diagnostics],
                  "numbers": output.numbers}
        done.records[output.key] = record
        records.append((output.key, record))


# --- listings ------------------------------------------------------------------------------------

@dataclass
class Listings:
    """The outputs that read many pages, each keyed by its own context like any page."""

    site: Site
    staging: Staging
    store: Store
    records: dict                       # render key -> what its last render reported
    report: Report
    done: RenderedSite
    ids: checks.Anchors

    def render_all(self, outputs: dict[str, Output]) -> None:
        view = self.site.view
        for section in view.nav:
            self.render(contexts.section_context(view, section))
        self.render(contexts.plain_context(view, "404.html", "/404.html", absolute=True))
        self.render(contexts.plain_context(view, "search.html", search.PAGE_URL))
        listed = Digested(structured_data.listed_pages(self.site.pages))
        by_url = Digested.derived(sorted(listed, key=lambda p: p["url"]), listed, "sorted by url")
        self.render(contexts.plain_context(view, "sitemap.xml", "/sitemap.xml", pages=by_url))
        self.render(contexts.plain_context(view, "robots.txt", "/robots.txt"))
        self.render(contexts.plain_context(view, "feed.xml", "/feed.xml", feed_pages=listed))
        self.sources_pages(outputs)

    def render(self, context: Context) -> None:
        output = None
        with self.report.guard(context.values["page_source"]):
            output = _keep_or_render(self.site, self.staging, context, self.records)
        if output is None:
            return
        self.report.extend(output.diagnostics)
        stored: list = []
        _account(output, self.done, stored)
        self.store.put_many("output", stored)
        if output.name is not None and output.name.endswith(".html"):
            self.ids[context.values["page_url"]] = output.ids

    def sources_pages(self, outputs: dict[str, Output]) -> None:
        """/sources/: every source, its finding, and the pages citing it, in parts small
        enough for the one-round-trip budget."""
        site = self.site
        citing: dict[str, list] = {}
        for page in site.pages:
            for key in outputs[page.url].cited:
                citing.setdefault(key, []).append(page)
        citations.check_sources(site.bibliography, citing, self.report)
        listing = citations.sources_listing(site.bibliography, citing)
        chunks = [listing[i:i + SOURCES_PER_PAGE] for i in range(0, len(listing), SOURCES_PER_PAGE)] or [[]]
        parts = [{"url": citations.SOURCES_URL + (f"{n + 1}/" if n else ""),
                  "label": f"{chunk[0]['key'][0].upper()}–{chunk[-1]['key'][0].upper()}" if chunk else ""}
                 for n, chunk in enumerate(chunks)]
        for part, chunk in zip(parts, chunks):
            self.render(contexts.plain_context(site.view, "sources.html", part["url"], sources=chunk,
                                               parts=parts, part=part))


# --- PDFs, static files and the link check --------------------------------------------------------

def _files(site: Site, staging: Staging, store: Store, sheets: list, done: RenderedSite, report: Report) -> None:
    files = pdf.worksheet_pdfs(site, sheets, store, report)
    files.update((asset.url.lstrip("/"), asset.data) for asset in site.assets.values())
    files[MARKER] = MARKER_TEXT       # marks the folder as Mend's: a later --out may replace it
    for name in sorted(files):
        staging.write(name, files[name])
        done.keys.setdefault(name, "")
        done.digests[name] = staging.digests[name]
    staging.outputs.update(done.keys)


def _check_links(site: Site, outputs: dict[str, Output], staging: Staging, ids: checks.Anchors,
                 done: RenderedSite, report: Report) -> None:
    """Every internal link and anchor, once all outputs exist; and whether the set of HTML
    pages changed (a page removed changes no file, but the search index must drop it)."""
    if staging.published is not None:
        was_html = {n for n in staging.published.tree if n.endswith(".html") and not search.is_bundle_file(n)}
        done.html_changed |= was_html != {n for n in staging.outputs if n.endswith(".html")}
    checks.check_links([(p, outputs[p.url].links) for p in site.pages], ids, staging.outputs, report)


__all__ = ["render_site", "RenderedSite", "WriteFailed"]
