"""The build, start to finish: files -> validated pages -> rendered pages -> files.

``build()`` reads as the list of steps it runs.  Each step adds what it finds
to one ``Report``; nothing is written unless the whole site rendered cleanly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import checks, citations, editorial, output, pdf, search, structured_data, worksheets
from .bibliography import Bibliography, load_bibliography
from .config import SiteConfig, load_config
from .content import Page, load_pages
from .diagnostics import Report, position_of
from .markup import MarkdownRenderer, Rendered, plain_text, split_h2_sections
from .render import Asset, TemplateFailure, load_assets, make_environment, render_template
from .structured_data import page_json_ld
from .urls import relative_url

SOURCES_PER_PAGE = 30
TEMPLATE_FOR_KIND = {"article": "article.html", "faq": "faq.html", "worksheet": "worksheet.html",
                     "page": "page.html"}


@dataclass(frozen=True)
class Project:
    """Where a site's inputs and output live."""

    root: Path
    output: Path | None = None

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def out(self) -> Path:
        return self.output or self.root / "site"


@dataclass
class Site:
    """Everything loaded and validated, before any rendering."""

    project: Project
    config: SiteConfig
    pages: list[Page]
    env: jinja2.Environment
    assets: dict[str, Asset]
    bibliography: Bibliography

    def source_urls(self) -> dict[str, str]:
        return {p.source.relative_to(self.project.content).as_posix(): p.url for p in self.pages}


@dataclass
class BuildResult:
    report: Report
    pages: list[Page] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    written: bool = False
    editorial: dict[str, editorial.PageFindings] = field(default_factory=dict)   # by page path
    today: dt.date | None = None

    def summary(self, strict: bool = False) -> str:
        kinds = Counter(p.kind for p in self.pages)
        made = ", ".join(f"{kinds[k]} {k}{'s' if kinds[k] != 1 else ''}" for k in sorted(kinds)) or "no pages"
        errors = len(self.report.errors(strict))
        warnings = 0 if strict else len(self.report.warnings())
        outcome = "built" if self.written else ("failed" if errors else "checked")
        return (f"{outcome}: {made}; {warnings} warning{'s' if warnings != 1 else ''}, "
                f"{errors} error{'s' if errors != 1 else ''} in {self.seconds:.2f} s")


def build(project: Project, *, strict: bool = False, write: bool = True, today: dt.date | None = None) -> BuildResult:
    """``today`` decides which reviews are overdue (default: the real date; tests pass one)."""
    started = time.perf_counter()
    report = Report()
    result = BuildResult(report, today=today or dt.date.today())
    site = load_site(project, report)
    if site is not None:
        result.pages = site.pages
        result.files = render_site(site, report)
        result.editorial = editorial.check_site(site, result.files, report, result.today)
    if write and site is not None and not report.failed(strict):
        result.written = _publish(result.files, project, report)
    result.seconds = time.perf_counter() - started
    return result


def _publish(files: dict[str, bytes], project: Project, report: Report) -> bool:
    """Swap the new site in; a full disk or read-only folder is reported, not raised."""
    try:
        with output.build_lock(project.out):
            output.remove_leftovers(project.out)
            output.publish(files, project.out, before_swap=search.index_site)
        return True
    except search.IndexFailure as exc:
        report.error("templates/search.html", 1, 1, "search-index", f"Pagefind could not index the site: {exc}",
                     "install the dependencies with 'pip install -e .'; the previous site is unchanged")
        return False
    except OSError as exc:
        shown = project.out.relative_to(project.root) if project.out.is_relative_to(project.root) else project.out
        report.error(shown, 1, 1, "write-failed", f"could not write the site: {exc.strerror or exc}",
                     "check the free disk space and that the output folder's parent is writable; "
                     "the previous site is unchanged")
        return False


def load_site(project: Project, report: Report) -> Site | None:
    config = load_config(project.content, report, project.root)
    pages = load_pages(project.content, project.root, report)
    env = make_environment(project.templates, report, project.root)
    if config is None or env is None:
        return None
    _check_sections(pages, config, report)
    bibliography = load_bibliography(project.content, project.root, project.root / ".mend-cache", report)
    return Site(project, config, pages, env, load_assets(project.templates), bibliography)


def _check_sections(pages: list[Page], config: SiteConfig, report: Report) -> None:
    known = {s.dir for s in config.sections}
    for page in pages:
        if page.section and page.section not in known:
            report.error(page.shown, 1, 1, "section-unknown", f"folder '{page.section}' is not a section of the site",
                         f"add it to 'sections' in content/site.yaml, or move the page into one of: {', '.join(sorted(known))}")


def render_site(site: Site, report: Report) -> dict[str, bytes]:
    """Render every page and site file; check links once everything exists."""
    renderer = MarkdownRenderer()
    nav = navigation(site)
    source_urls = site.source_urls()
    files: dict[str, bytes] = {}
    rendered_links, page_ids, cited, sheets = [], {}, [], []
    for page in sorted(site.pages, key=lambda p: p.url):
        cites = citations.prepare(page, site.bibliography, report)
        cited.append((page, cites))
        extra = {}
        if page.kind == "worksheet":
            body, extra = _worksheet(site, page, cites, renderer, source_urls, report, sheets)
        else:
            body = renderer.render(cites.body, page.url, page.source.relative_to(site.project.content).as_posix(),
                                   source_urls)
            body.html = citations.fill(body.html, cites, page, report)
        _report_problems(page, body, report)
        html = _render_page(site, page, body, nav, report, cites, **extra)
        if html is None:
            continue
        files[page.output_path] = html.encode("utf-8")
        rendered_links.append((page, body.links))
        page_ids[page.url] = checks.ids_in(html)
    for section in nav:
        html = _render_other(site, "section.html", section["url"], report, section=section, nav=nav)
        if html is not None:
            files[section["url"].strip("/") + "/index.html"] = html.encode("utf-8")
            page_ids[section["url"]] = checks.ids_in(html)
    files.update(_site_files(site, nav, report))
    files.update(_sources_page(site, cited, nav, report, page_ids))
    files.update(pdf.worksheet_pdfs(site, sheets, report))
    for asset in site.assets.values():
        files[asset.url.lstrip("/")] = asset.data
    checks.check_links(rendered_links, page_ids, set(files), report)
    return dict(sorted(files.items()))


def _report_problems(page: Page, body: Rendered, report: Report) -> None:
    for problem in body.problems:
        line, col = position_of(page.body, problem.needle, page.body_line)
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

    page_urls = {p.url for p in site.pages}
    return {"site": site.config, "nav": nav, "url": url, "asset": asset, "page_url": page_url,
            "canonical": site.config.absolute(page_url), "has_page": page_urls.__contains__,
            "listing_json_ld": listing_json_ld}


def _worksheet(site: Site, page: Page, cites, renderer, source_urls, report: Report,
               sheets: list) -> tuple[Rendered, dict]:
    """A worksheet's field lines become a form (and PDFs); the Markdown between them renders as usual."""
    source = page.source.relative_to(site.project.content).as_posix()

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
    name = page.meta.get("template") or ("home.html" if page.url == "/" else TEMPLATE_FOR_KIND[page.kind])
    try:
        return render_template(site.env, name, context, report, site.project.templates, site.project.root)
    except TemplateFailure:
        return None


def _render_other(site: Site, name: str, page_url: str, report: Report, absolute: bool = False,
                  **extra) -> str | None:
    context = _base_context(site, page_url, extra.pop("nav"), absolute)
    context.update(page_source=f"templates/{name}", **extra)
    try:
        return render_template(site.env, name, context, report, site.project.templates, site.project.root)
    except TemplateFailure:
        return None


def _site_files(site: Site, nav, report: Report) -> dict[str, bytes]:
    """404 page, search page, sitemap, robots.txt and the Atom feed."""
    files = {}
    pages = sorted(site.pages, key=lambda p: p.url)
    not_found = _render_other(site, "404.html", "/404.html", report, absolute=True, nav=nav)
    if not_found is not None:
        files["404.html"] = not_found.encode("utf-8")
    for clash in (p for p in site.pages if p.url == search.PAGE_URL):
        report.error(clash.shown, 1, 1, "duplicate-slug", f"{search.PAGE_URL} is the generated search page",
                     "give this page a different file name or 'slug:'")
    search_page = _render_other(site, "search.html", search.PAGE_URL, report, nav=nav)
    if search_page is not None:
        files[search.PAGE_URL.strip("/") + "/index.html"] = search_page.encode("utf-8")
    for name in ("sitemap.xml", "robots.txt", "feed.xml"):
        text = _render_other(site, name, "/" + name, report, nav=nav, pages=pages,
                             feed_pages=structured_data.feed_entries(pages))
        if text is not None:
            files[name] = text.encode("utf-8")
    return files


def _sources_page(site: Site, cited, nav, report: Report, page_ids: dict) -> dict[str, bytes]:
    """/sources/: every source, its finding, and the pages citing it."""
    citing = citations.cited_by(cited)
    citations.check_sources(site.bibliography, citing, report)
    clash = [p for p in site.pages if p.url == citations.SOURCES_URL]
    for page in clash:
        report.error(page.shown, 1, 1, "duplicate-slug", f"{citations.SOURCES_URL} is the generated Sources page",
                     "give this page a different file name or 'slug:'")
    if clash:
        return {}
    # Split into parts so each page stays within the one-round-trip budget.
    listing = citations.sources_listing(site.bibliography, citing)
    chunks = [listing[i:i + SOURCES_PER_PAGE] for i in range(0, len(listing), SOURCES_PER_PAGE)] or [[]]
    parts = [{"url": citations.SOURCES_URL + (f"{n + 1}/" if n else ""),
              "label": f"{chunk[0]['key'][0].upper()}–{chunk[-1]['key'][0].upper()}" if chunk else ""}
             for n, chunk in enumerate(chunks)]
    files = {}
    for part, chunk in zip(parts, chunks):
        html = _render_other(site, "sources.html", part["url"], report, nav=nav, sources=chunk, parts=parts,
                             part=part)
        if html is not None:
            page_ids[part["url"]] = checks.ids_in(html)
            files[part["url"].strip("/") + "/index.html"] = html.encode("utf-8")
    return files
