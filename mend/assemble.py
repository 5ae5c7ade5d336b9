"""Rendering a site: load and validate every input, then render every page and site file.

Called by ``mend.pipeline.build`` when something changed since the last build.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from . import cache, checks, citations, editorial, parallel, pdf, search, structured_data, worksheets
from .bibliography import Bibliography, load_bibliography
from .config import SiteConfig, load_config
from .content import Page, load_pages
from .diagnostics import Report, position_of
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
    renders: int = 0          # templates rendered so far: tests count them to prove the cache skips work

    @functools.cached_property
    def page_urls(self) -> frozenset[str]:
        """Made once: every page's template asks about it (per page it would cost O(pages))."""
        return frozenset(p.url for p in self.pages)

    def source_urls(self) -> dict[str, str]:
        return {p.source.relative_to(self.project.content).as_posix(): p.url for p in self.pages}


def load_site(project, report: Report) -> Site | None:
    config = load_config(project.content, report, project.root)
    pages = load_pages(project.content, project.root, report)
    env = make_environment(project.templates, report, project.root, cache.cache_dir(project.root) / "jinja")
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


def render_site(site: Site, report: Report) -> tuple[dict[str, bytes], int]:
    """Render every page and site file; check links once everything exists.
    Returns the files and how many templates were rendered."""
    nav = navigation(site)
    source_urls = site.source_urls()
    memo = cache.PageMemo(cache.cache_dir(site.project.root) / "markdown.json", cache.engine_digest())
    renderer = CachedRenderer(memo, source_urls)
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
    memo.save()
    return dict(sorted(files.items())), site.renders


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

    return {"site": site.config, "nav": nav, "url": url, "asset": asset, "page_url": page_url,
            "canonical": site.config.absolute(page_url), "has_page": site.page_urls.__contains__,
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


def check_editorial(site: Site, files: dict[str, bytes], report: Report, today) -> dict:
    """The editorial checks, each page's taken from the cache when nothing it reads changed,
    the rest run on every core."""
    content = site.project.content
    rules_file = content / editorial.RULES_FILE
    salt = json.dumps([cache.engine_digest(), rules_file.read_text("utf-8", "replace") if rules_file.is_file()
                       else None, sorted(editorial.source_keys(site) or ()), site.config.reading_grade_max,
                       site.config.review_interval_months, today.isoformat()])
    memo = cache.PageMemo(cache.cache_dir(site.project.root) / "editorial.json", salt)

    def check_pages(pages: list[Page], check) -> list:
        keys = [memo.key(page.shown, page.source.read_bytes()) for page in pages]
        missing = [i for i, key in enumerate(keys) if memo.get(key) is None]
        for i, result in zip(missing, parallel.map_forked(check, [pages[i] for i in missing])):
            memo.put(keys[i], _findings_to_json(*result))
        memo.save()
        return [_findings_from_json(memo.get(key)) for key in keys]

    return editorial.check_site(site, files, report, today, check_pages)


def _findings_to_json(found: editorial.PageFindings, diagnostics: list) -> dict:
    fields = {**vars(found), "next_review": found.next_review.isoformat() if found.next_review else None}
    return {"findings": fields, "diagnostics": [cache.diagnostic_to_json(d) for d in diagnostics]}


def _findings_from_json(data: dict) -> tuple[editorial.PageFindings, list]:
    fields = dict(data["findings"])
    if fields["next_review"]:
        fields["next_review"] = dt.date.fromisoformat(fields["next_review"])
    return editorial.PageFindings(**fields), [cache.diagnostic_from_json(d) for d in data["diagnostics"]]


class CachedRenderer:
    """``MarkdownRenderer.render``, answered from the cache when the text, the page and the
    site's URL map (which internal links resolve against) are what they were."""

    def __init__(self, memo: cache.PageMemo, source_urls: dict[str, str]):
        self.memo = memo
        self.urls = hashlib.sha256(json.dumps(sorted(source_urls.items())).encode()).hexdigest()
        self.renderer: MarkdownRenderer | None = None     # made on the first miss: one per process

    def render(self, text: str, page_url: str, page_source: str, source_urls: dict) -> Rendered:
        key = self.memo.key(self.urls, page_url, page_source, text)
        stored = self.memo.get(key)
        if stored is None:
            self.renderer = self.renderer or MarkdownRenderer()
            stored = _rendered_to_json(self.renderer.render(text, page_url, page_source, source_urls))
            self.memo.put(key, stored)
        return _rendered_from_json(stored)


def _rendered_to_json(rendered: Rendered) -> dict:
    return {"html": rendered.html, "headings": rendered.headings,
            "links": [list(vars(link).values()) for link in rendered.links],
            "problems": [list(vars(problem).values()) for problem in rendered.problems]}


def _rendered_from_json(data: dict) -> Rendered:
    return Rendered(data["html"], data["headings"], [Link(*link) for link in data["links"]],
                    [Problem(*problem) for problem in data["problems"]])
