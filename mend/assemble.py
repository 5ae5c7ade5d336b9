"""Rendering a site: load and validate every input, then render every page and site file.

Called by ``mend.pipeline.build`` when something changed since the last build.
Pages are rendered on every core; each worker writes its pages' HTML straight
into the staging folder and sends back only what the rest of the build needs
(links, anchors, cited sources, diagnostics), so memory does not grow with the
site's size.  Pages whose inputs did not change since the last published build
are hard-linked from it instead of rendered (``mend.reuse``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import cache, checks, citations, editorial, output, parallel, pdf, render, reuse, search, structured_data, worksheets
from .bibliography import Bibliography, format_references, load_bibliography
from .config import SiteConfig, load_config
from .content import Page, load_pages, with_body
from .diagnostics import Diagnostic, Locator, Report
from .markup import Link, MarkdownRenderer, Problem, Rendered, plain_text, split_h2_sections
from .render import Asset, TemplateFailure, load_assets, make_environment, render_template
from .structured_data import page_json_ld
from .urls import relative_url

SOURCES_PER_PAGE = 30
TEMPLATE_FOR_KIND = {"article": "article.html", "faq": "faq.html", "worksheet": "worksheet.html",
                     "page": "page.html"}


@dataclass
class Site:
    """Everything loaded and validated, before any rendering."""

    project: Project
    config: SiteConfig
    pages: list[Page]
    env: jinja2.Environment
    assets: dict[str, Asset]
    bibliography: Bibliography
    engine: str               # digest of Mend's code and libraries (mend.cache.engine_digest)
    memos: dict | None = None  # open per-page caches a long-running process keeps (serve)
    renders: int = 0          # templates rendered in this process

    # Made once, not per page: every page asks (per page they would cost O(pages)).
    @functools.cached_property
    def page_urls(self) -> frozenset[str]:
        return frozenset(p.url for p in self.pages)

    @functools.cached_property
    def source_urls(self) -> dict[str, str]:
        return {p.name: p.url for p in self.pages}


def load_site(project, report: Report, engine: str, loaded: dict | None = None,
              memos: dict | None = None, digest_of=None, keep_bodies: bool = False) -> Site | None:
    """``loaded``, ``memos`` and ``digest_of`` keep parsed pages, open caches and file hashes
    between builds of one process (``serve``, which also keeps page bodies)."""
    config = load_config(project.content, report, project.root)
    pages = load_pages(project.content, project.root, report, loaded, digest_of, keep_bodies)
    env = make_environment(project.templates, report, project.root, cache.cache_dir(project.root) / "jinja")
    if config is None or env is None:
        return None
    _check_sections(pages, config, report)
    bibliography = load_bibliography(project.content, project.root, project.root / ".mend-cache", report)
    return Site(project, config, pages, env, load_assets(project.templates), bibliography, engine, memos)


def _check_sections(pages: list[Page], config: SiteConfig, report: Report) -> None:
    known = {s.dir for s in config.sections}
    for page in pages:
        if page.section and page.section not in known:
            report.error(page.shown, 1, 1, "section-unknown", f"folder '{page.section}' is not a section of the site",
                         f"add it to 'sections' in content/site.yaml, or move the page into one of: {', '.join(sorted(known))}")


@dataclass
class PageResult:
    """What rendering one page leaves for the rest of the build: small, as it is kept for every page.
    Its HTML is already in the staging folder."""

    output: str | None          # None when its template failed
    links: list[Link]           # internal ones only: external links are not checked
    ids: str                    # anchors on the page (checks.packed_ids)
    cited: list[str]            # source keys, in order of first citation
    diagnostics: list[Diagnostic]
    rendered: bool = True       # False when hard-linked from the published site
    changed: bool = True        # differs from the published file (so the search index is stale)


@dataclass
class RenderedSite:
    """What ``render_site`` put into the staging folder."""

    outputs: set[str] = field(default_factory=set)              # every file written or linked
    page_keys: dict[str, str] = field(default_factory=dict)     # page output -> render key
    rendered_pages: list[str] = field(default_factory=list)     # page outputs rendered, not reused
    templates_rendered: int = 0
    html_changed: bool = False   # some HTML differs from the published site's


def render_site(site: Site, report: Report, staged: Path, published: reuse.Published | None) -> RenderedSite:
    """Render every page and site file into ``staged`` (pages on every core, unchanged ones
    linked from the published site), then check links once everything exists."""
    nav = navigation(site)
    outline = [{k: v for k, v in section.items() if k != "pages"} for section in nav]
    if any(page.mentions for page in site.pages):     # format once here, not in every worker
        format_references(site.bibliography, report)
    inputs = _key_inputs(site, outline)
    keys = _page_keys(site, inputs, nav, outline)
    records = cache.open_memo(site.project.root, "pages.jsonl", site.engine, site.memos)
    results, todo = {}, []
    for page in sorted(site.pages, key=lambda p: p.url):
        stored = records.get(records.key(keys[page.url])) if page.kind != "worksheet" else None
        if stored is not None and published is not None and published.has(page.output_path, keys[page.url]):
            published.keep(staged, page.output_path)
            results[page.url] = _result_from_json(stored)
        else:
            todo.append(page)
    sheets: list = []
    render_one = functools.partial(_render_page_file, site, nav, outline, staged, published, MarkdownRenderer())
    in_workers = [page for page in todo if page.kind != "worksheet"]
    results.update(zip((p.url for p in in_workers), parallel.map_forked(render_one, in_workers)))
    results.update((p.url, render_one(p, sheets)) for p in todo if p.kind == "worksheet")
    done = _collect_pages(site, results, keys, records, report)
    records.save()
    listings = Listings(site, nav, inputs, staged, published, report, done,
                        checks.Anchors((url, r.ids) for url, r in results.items() if r.output is not None))
    listings.render_all(results, sheets)
    return done


@dataclass(frozen=True)
class KeyInputs:
    """The parts of render keys shared by many outputs (``mend.reuse``)."""

    site_wide: str                  # what every page reads
    templates: dict[str, str]       # template name -> digest of it and what it reaches

    def key(self, template: str, output_name: str, shows) -> str:
        """``shows``: what the output shows besides the site-wide inputs (a string, or JSON-able)."""
        return reuse.render_key(self.site_wide, self.templates.get(template, ""), output_name,
                                shows if isinstance(shows, str) else reuse.site_digest(shows))


# Templates given every section's pages in ``nav``; the others get only the sections, so that
# a page's title change re-renders the listings that show it, not every page.
FULL_NAV_TEMPLATES = ("home.html",)


def _key_inputs(site: Site, outline: list[dict]) -> KeyInputs:
    templates = reuse.template_digests(site.env, site.env.list_templates(filter_func=render.is_template))
    site_wide = reuse.site_digest(
        site.engine, cache.file_digest(site.project.content / "site.yaml"),     # a loaded site has one
        {name: asset.url for name, asset in sorted(site.assets.items())}, outline,
        hashlib.sha256("\0".join(f"{name}={url}" for name, url in sorted(site.source_urls.items())).encode()).hexdigest())
    return KeyInputs(site_wide, templates)


def _page_nav(page: Page, nav: list[dict], outline: list[dict]) -> list[dict]:
    return nav if _template_for(page) in FULL_NAV_TEMPLATES or page.meta.get("template") else outline


def _page_keys(site: Site, inputs: KeyInputs, nav: list[dict], outline: list[dict]) -> dict[str, str]:
    full_nav = reuse.site_digest(nav)
    sources = {key: reuse.site_digest(source.data, source.html) for key, source in site.bibliography.sources.items()}
    return {page.url: inputs.key(_template_for(page), page.output_path,
                                 f"{page.shown}\0{page.digest}\0{_page_nav(page, nav, outline) is nav and full_nav}"
                                 f"\0{_cited_sources_digest(page, sources)}")
            for page in site.pages}


def _cited_sources_digest(page: Page, sources: dict[str, str]) -> str:
    """A page shows only the sources it cites (``page.mentions`` holds every candidate key,
    and a few more): a change to another entry leaves it alone."""
    return " ".join(f"{key}={sources.get(key)}" for key in page.mentions)


def _template_for(page: Page) -> str:
    return page.meta.get("template") or ("home.html" if page.url == "/" else TEMPLATE_FOR_KIND[page.kind])


def _collect_pages(site: Site, results: dict[str, PageResult], keys: dict[str, str], records,
                   report: Report) -> RenderedSite:
    done = RenderedSite()
    for page in sorted(site.pages, key=lambda p: p.url):
        result = results[page.url]
        report.extend(result.diagnostics)
        if result.output is None:
            continue
        done.outputs.add(result.output)
        done.html_changed |= result.changed
        if result.rendered:
            done.rendered_pages.append(result.output)
            done.templates_rendered += 1
        if page.kind != "worksheet":
            done.page_keys[result.output] = keys[page.url]
            if result.rendered:
                records.put(records.key(keys[page.url]), _result_to_json(result))
    return done


def _render_page_file(site: Site, nav, outline, staged: Path, published, renderer: MarkdownRenderer, page: Page,
                      sheets: list | None = None) -> PageResult:
    """Render one page into the staging folder (in a worker process, except worksheets,
    whose parsed fields the PDFs need)."""
    page = with_body(page)
    own = Report()
    source_urls = site.source_urls
    cites = citations.prepare(page, site.bibliography, own)
    extra = {}
    if page.kind == "worksheet":
        body, extra = _worksheet(site, page, cites, renderer, source_urls, own, sheets)
    else:
        body = renderer.render(cites.body, page.url, page.name, source_urls)
        body.html = citations.fill(body.html, cites, page, own)
    _report_problems(page, body, own)
    html = _render_page(site, page, body, _page_nav(page, nav, outline), own, cites, **extra)
    if html is None:
        return PageResult(None, [], [], [], own.items)
    changed = _write_output(staged, published, page.output_path, html.encode("utf-8"))
    editorial.check_help_block(page.shown, html, own)
    internal = [link for link in body.links if link.target is not None]
    return PageResult(page.output_path, internal, checks.packed_ids(html), cites.keys, own.items,
                      changed=changed)


@dataclass
class Listings:
    """The outputs that read many pages (section lists, Sources, sitemap, feed, search and 404
    pages), plus PDFs and assets.  Each listing has a render key made from what it shows, so it
    is rendered again only when that changed."""

    site: Site
    nav: list[dict]
    inputs: KeyInputs
    staged: Path
    published: reuse.Published | None
    report: Report
    done: RenderedSite
    page_ids: checks.Anchors            # page URL -> anchors on it, for the link check

    def render_all(self, results: dict[str, PageResult], sheets: list) -> None:
        site = self.site
        for section in self.nav:
            self.render("section.html", section["url"], section, section=section)
        self.render("404.html", "/404.html", [], absolute=True)
        _refuse_generated_url(site, search.PAGE_URL, "search page", self.report)
        self.render("search.html", search.PAGE_URL, [])
        pages = sorted(site.pages, key=lambda p: p.url)
        shown = " ".join(f"{p.url}={p.meta_digest}" for p in pages)     # front matter, never bodies
        site_files = functools.cache(lambda: {"pages": pages, "feed_pages": structured_data.feed_entries(pages)})
        for name in ("sitemap.xml", "robots.txt", "feed.xml"):
            self.render(name, "/" + name, shown, more=site_files)
        self.sources_pages(results)
        files = pdf.worksheet_pdfs(site, sheets, self.report)
        files.update((asset.url.lstrip("/"), asset.data) for asset in site.assets.values())
        for name in sorted(files):
            _write_output(self.staged, self.published, name, files[name])
        self.done.outputs.update(files)
        self.done.templates_rendered += site.renders
        self.check_links(results)

    def render(self, template: str, page_url: str, shows, absolute: bool = False, more=dict, **extra) -> None:
        """Render one listing into the staging folder, or keep the published one when the key
        of what it shows is unchanged.  ``more()`` gives context that is costly to make, so
        it is made only when the listing is rendered."""
        name = page_url.strip("/") if "." in page_url.rsplit("/", 1)[-1] else (page_url.strip("/") + "/index.html").lstrip("/")
        key = self.inputs.key(template, name, shows)
        if self.published is not None and self.published.has(name, key):
            self.published.keep(self.staged, name)
            data = (self.published.out / name).read_bytes() if name.endswith(".html") else b""
        else:
            text = _render_other(self.site, template, page_url, self.report, absolute, nav=self.nav, **extra, **more())
            if text is None:
                return
            data = text.encode("utf-8")
            changed = _write_output(self.staged, self.published, name, data)
            self.done.rendered_pages.append(name)
            if name.endswith(".html"):
                editorial.check_help_block(f"{self.site.project.out.name}/{name}", text, self.report)
                self.done.html_changed |= changed
        self.done.outputs.add(name)
        self.done.page_keys[name] = key
        if name.endswith(".html"):
            self.page_ids[page_url] = checks.ids_in(data.decode("utf-8", "replace"))

    def sources_pages(self, results: dict[str, PageResult]) -> None:
        """/sources/: every source, its finding, and the pages citing it, in parts small
        enough for the one-round-trip budget."""
        site = self.site
        citing: dict[str, list[Page]] = {}
        for page in sorted(site.pages, key=lambda p: p.url):
            for key in results[page.url].cited:
                citing.setdefault(key, []).append(page)
        citations.check_sources(site.bibliography, citing, self.report)
        if _refuse_generated_url(site, citations.SOURCES_URL, "Sources page", self.report):
            return
        listing = citations.sources_listing(site.bibliography, citing)
        chunks = [listing[i:i + SOURCES_PER_PAGE] for i in range(0, len(listing), SOURCES_PER_PAGE)] or [[]]
        parts = [{"url": citations.SOURCES_URL + (f"{n + 1}/" if n else ""),
                  "label": f"{chunk[0]['key'][0].upper()}–{chunk[-1]['key'][0].upper()}" if chunk else ""}
                 for n, chunk in enumerate(chunks)]
        for part, chunk in zip(parts, chunks):
            self.render("sources.html", part["url"], [chunk, parts, part], sources=chunk, parts=parts, part=part)

    def check_links(self, results: dict[str, PageResult]) -> None:
        """Every internal link and anchor, once all outputs exist; and whether the set of
        HTML pages changed (a page removed changes no file, but the search index must drop it)."""
        done = self.done
        if self.published is not None:
            was_html = {n for n in self.published.tree if n.endswith(".html") and not search.is_bundle_file(n)}
            done.html_changed |= was_html != {n for n in done.outputs if n.endswith(".html")}
        pages = sorted(self.site.pages, key=lambda p: p.url)
        checks.check_links([(p, results[p.url].links) for p in pages], self.page_ids, done.outputs, self.report)


def _write_output(staged: Path, published: reuse.Published | None, name: str, data: bytes) -> bool:
    """Write one output into the staging folder, or keep the published file when it holds the
    same bytes (so unchanged files keep their mtime, and ``serve`` moves nothing).
    True when the output changed."""
    if published is not None and published.same_bytes(name, data):
        published.keep(staged, name)
        return False
    output.write_file(staged, name, data)
    return True


def _refuse_generated_url(site: Site, url: str, what: str, report: Report) -> bool:
    """A content page may not take the URL of a generated one.  True when one tried."""
    clash = [p for p in site.pages if p.url == url]
    for page in clash:
        report.error(page.shown, 1, 1, "duplicate-slug", f"{url} is the generated {what}",
                     "give this page a different file name or 'slug:'")
    return bool(clash)


def _result_to_json(result: PageResult) -> dict:
    return {"output": result.output, "links": [list(vars(link).values()) for link in result.links],
            "ids": result.ids, "cited": result.cited,
            "diagnostics": [cache.diagnostic_to_json(d) for d in result.diagnostics]}


def _result_from_json(data: dict) -> PageResult:
    return PageResult(data["output"], [Link(*link) for link in data["links"]], data["ids"], data["cited"],
                      [cache.diagnostic_from_json(d) for d in data["diagnostics"]], rendered=False, changed=False)


def _report_problems(page: Page, body: Rendered, report: Report) -> None:
    locate = Locator(page.body, page.body_line)       # issue 14: each repeated problem at its own place
    for problem in body.problems:
        line, col = locate(problem.needle)
        report.error(page.shown, line, col, problem.code, problem.message, problem.hint)


def navigation(site: Site) -> list[dict]:
    """The site's sections with their pages, built once per build (not per page)."""
    by_section: dict[str, list[Page]] = {}
    for page in site.pages:
        by_section.setdefault(page.section, []).append(page)
    nav = []
    for section in site.config.sections:
        members = sorted(by_section.get(section.dir, []), key=lambda p: (p.meta.get("order", 1000), p.title))
        nav.append({"title": section.title, "summary": section.summary, "url": f"/{section.dir}/",
                    "pages": [{"title": p.title, "summary": p.meta["summary"], "url": p.url} for p in members]})
    return nav


def _base_context(site: Site, page_url: str, nav: list[dict], absolute: bool = False) -> dict:
    """What every template gets.  ``absolute`` links from the base path (for the 404 page,
    which a host serves at any depth); otherwise links are relative to the page."""
    def url(target: str) -> str:
        return site.config.base_path + target.lstrip("/") if absolute else relative_url(page_url, target)

    def asset(name: str) -> str:
        if name not in site.assets:
            raise jinja2.UndefinedError(f"no static asset '{name}' in templates/static/")
        return url(site.assets[name].url)

    def listing_json_ld(name: str, description: str, pages: list[dict], kind: str = "CollectionPage") -> dict:
        return structured_data.listing_json_ld(name, description, page_url, pages, site.config, kind)

    return {"site": site.config, "nav": nav, "url": url, "asset": asset, "page_url": page_url,
            "canonical": site.config.absolute(page_url), "has_page": site.page_urls.__contains__,
            "listing_json_ld": listing_json_ld}


def _worksheet(site: Site, page: Page, cites, renderer, source_urls, report: Report,
               sheets: list) -> tuple[Rendered, dict]:
    """A worksheet's field lines become a form (and PDFs); the Markdown between them renders as usual."""
    source = page.name

    def render(text: str) -> Rendered:
        rendered = renderer.render(text, page.url, source, source_urls)
        rendered.html = citations.fill(rendered.html, cites, page, report)
        return rendered

    sheet = worksheets.parse(cites.body, page.body_line, page.shown, report)
    body = worksheets.render_text(sheet, render)
    sheets.append(pdf.SheetForPdf(page, sheet, cites.references))
    return body, {"form": worksheets.form_html(sheet), "downloads": pdf.downloads(page, site.config)}


def _render_page(site: Site, page: Page, body: Rendered, nav, report: Report,
                 cites: citations.PageCitations, **extra) -> str | None:
    context = _base_context(site, page.url, nav)
    faq = None
    if page.kind == "faq":
        intro, faq = split_h2_sections(body.html)
        for question in faq:
            question["answer_text"] = plain_text(question["html"])
        context.update(intro=Markup(intro), questions=faq)
    context.update(
        page=page, meta=page.meta, page_source=page.shown, body=Markup(body.html),
        headings=[h for h in body.headings if h["level"] == 2],
        json_ld=page_json_ld(page, site.config, faq=faq, citations=[r.text for r in cites.references]),
        references=cites.references, **extra,
    )
    name = _template_for(page)
    site.renders += 1
    try:
        return render_template(site.env, name, context, report, site.project.templates, site.project.root)
    except TemplateFailure:
        return None


def _render_other(site: Site, name: str, page_url: str, report: Report, absolute: bool = False,
                  **extra) -> str | None:
    context = _base_context(site, page_url, extra.pop("nav"), absolute)
    context.update(page_source=f"templates/{name}", **extra)
    site.renders += 1
    try:
        return render_template(site.env, name, context, report, site.project.templates, site.project.root)
    except TemplateFailure:
        return None


def check_editorial(site: Site, report: Report, today, loaded_rules: dict | None = None) -> dict:
    """The editorial checks, each page's taken from the cache when nothing it reads changed,
    the rest run on every core."""
    content = site.project.content
    rules_file = content / editorial.RULES_FILE
    salt = json.dumps([site.engine, rules_file.read_text("utf-8", "replace") if rules_file.is_file()
                       else None, sorted(editorial.source_keys(site) or ()), site.config.reading_grade_max,
                       site.config.review_interval_months, today.isoformat()])
    memo = cache.open_memo(site.project.root, "editorial.jsonl", salt, site.memos)

    def check_pages(pages: list[Page], check) -> list:
        keys = [memo.key(page.shown, page.digest) for page in pages]
        missing = [i for i, key in enumerate(keys) if memo.get(key) is None]
        checked = parallel.map_forked(lambda page: check(with_body(page)), [pages[i] for i in missing])
        for i, result in zip(missing, checked):
            memo.put(keys[i], _findings_to_json(*result))
        memo.save()
        return [_findings_from_json(memo.get(key)) for key in keys]

    return editorial.check_site(site, report, today, check_pages, loaded_rules)


def _findings_to_json(found: editorial.PageFindings, diagnostics: list) -> dict:
    fields = {**vars(found), "next_review": found.next_review.isoformat() if found.next_review else None}
    return {"findings": fields, "diagnostics": [cache.diagnostic_to_json(d) for d in diagnostics]}


def _findings_from_json(data: dict) -> tuple[editorial.PageFindings, list]:
    fields = dict(data["findings"])
    if fields["next_review"]:
        fields["next_review"] = dt.date.fromisoformat(fields["next_review"])
    return editorial.PageFindings(**fields), [cache.diagnostic_from_json(d) for d in data["diagnostics"]]
