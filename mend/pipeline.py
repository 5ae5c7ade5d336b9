"""The build, start to finish: files -> validated pages -> rendered pages -> files.

``build()`` reads as the list of steps it runs.  Each step adds what it finds
to one ``Report``; nothing is written unless the whole site rendered cleanly.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import checks, output
from .config import SiteConfig, load_config
from .content import Page, load_pages
from .diagnostics import Report, position_of
from .markup import MarkdownRenderer, Rendered, plain_text, split_h2_sections
from .render import Asset, TemplateFailure, load_assets, make_environment, render_template
from .structured_data import page_json_ld
from .urls import relative_url

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

    def source_urls(self) -> dict[str, str]:
        return {p.source.relative_to(self.project.content).as_posix(): p.url for p in self.pages}


@dataclass
class BuildResult:
    report: Report
    pages: list[Page] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    written: bool = False

    def summary(self, strict: bool = False) -> str:
        kinds = Counter(p.kind for p in self.pages)
        made = ", ".join(f"{kinds[k]} {k}{'s' if kinds[k] != 1 else ''}" for k in sorted(kinds)) or "no pages"
        errors = len(self.report.errors(strict))
        warnings = 0 if strict else len(self.report.warnings())
        outcome = "built" if self.written else ("failed" if errors else "checked")
        return (f"{outcome}: {made}; {warnings} warning{'s' if warnings != 1 else ''}, "
                f"{errors} error{'s' if errors != 1 else ''} in {self.seconds:.2f} s")


def build(project: Project, *, strict: bool = False, write: bool = True) -> BuildResult:
    started = time.perf_counter()
    report = Report()
    result = BuildResult(report)
    site = load_site(project, report)
    if site is not None:
        result.pages = site.pages
        result.files = render_site(site, report)
    if write and site is not None and not report.failed(strict):
        with output.build_lock(project.out):
            output.remove_leftovers(project.out)
            output.publish(result.files, project.out)
        result.written = True
    result.seconds = time.perf_counter() - started
    return result


def load_site(project: Project, report: Report) -> Site | None:
    config = load_config(project.content, report, project.root)
    pages = load_pages(project.content, project.root, report)
    env = make_environment(project.templates, report, project.root)
    if config is None or env is None:
        return None
    _check_sections(pages, config, report)
    return Site(project, config, pages, env, load_assets(project.templates))


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
    rendered_links, page_ids = [], {}
    for page in sorted(site.pages, key=lambda p: p.url):
        body = renderer.render(page.body, page.url, page.source.relative_to(site.project.content).as_posix(),
                               source_urls)
        _report_problems(page, body, report)
        html = _render_page(site, page, body, nav, report)
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

    return {"site": site.config, "nav": nav, "url": url, "asset": asset, "page_url": page_url,
            "canonical": site.config.absolute(page_url)}


def _render_page(site: Site, page: Page, body: Rendered, nav, report: Report) -> str | None:
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
        json_ld=page_json_ld(page, site.config, faq=faq),
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
    """404 page, sitemap and robots.txt."""
    files = {}
    pages = sorted(site.pages, key=lambda p: p.url)
    not_found = _render_other(site, "404.html", "/404.html", report, absolute=True, nav=nav)
    if not_found is not None:
        files["404.html"] = not_found.encode("utf-8")
    for name in ("sitemap.xml", "robots.txt"):
        text = _render_other(site, name, "/" + name, report, nav=nav, pages=pages)
        if text is not None:
            files[name] = text.encode("utf-8")
    return files

