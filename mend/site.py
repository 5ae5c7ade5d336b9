"""Loading a site: configuration, pages, templates, static files and bibliography, validated.

``load_site`` reads every input and reports every problem it finds; the site it
returns is what the rest of the build works from.  ``validate_site`` holds the
checks that need more than one input at once (pages against sections, pages
against the URLs the build generates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2

from . import citations, helpdata, people, search
from .bibliography import Bibliography, load_bibliography, start_formatting
from .config import SiteConfig, load_config
from .content import Page, load_pages
from .contexts import SiteView, site_view
from .diagnostics import Report, did_you_mean
from .files import FileReader
from .project import Project
from .render import Asset, JinjaBytecode, closures, load_assets, make_environment
from .store import Store

STATIC_URL = "/static/"
# First parts of the site paths the build writes itself (besides section lists).
GENERATED = {search.PAGE_URL.strip("/"): "search page", citations.SOURCES_URL.strip("/"): "Sources list",
             STATIC_URL.strip("/"): "static files folder"}
SEARCH_BUNDLE_RE = re.compile(r"^pagefind(-\d+)?$")


@dataclass
class Site:
    """Everything loaded and validated, before any rendering."""

    project: Project
    config: SiteConfig
    pages: list[Page]               # sorted by URL
    env: jinja2.Environment
    closures: dict[str, str]        # template name -> digest of it and every template it reaches
    assets: dict[str, Asset]
    view: SiteView                  # the site-wide part of every template's context
    bibliography: Bibliography
    engine: str                     # digest of Mend's code and libraries (mend.incremental)
    source_urls: dict[str, str]     # content file ("guide/space.md") -> its URL, for .md links
    help: helpdata.HelpData         # content/help.yaml: the services every page shows
    people: people.People           # content/people.yaml: who writes and reviews

def load_site(project: Project, report: Report, store: Store, reader: FileReader, engine: str,
              loaded: dict | None = None) -> Site | None:
    """``loaded`` keeps parsed pages between builds of one process (``serve``)."""
    config = load_config(project.content, report, project.root)
    bibliography = load_bibliography(project.content, project.root, store, report)
    start_formatting(bibliography)      # pandoc runs on another core while the pages load
    pages = sorted(load_pages(project.content, project.root, report, reader, loaded), key=lambda p: p.url)
    env = make_environment(project.templates, report, project.root, JinjaBytecode(store))
    help_data = helpdata.load(project.content, project.root, bibliography, report)
    registry = people.load(project.content, project.root, report)
    people.check_pages(pages, registry, report)
    if config is None or env is None:
        return None
    assets = load_assets(project.templates)
    return Site(project, config, pages, env, closures(env), assets,
                site_view(config, assets, pages, help_data, registry), bibliography, engine,
                {page.name: page.url for page in pages}, help_data, registry)


def validate_site(site: Site, report: Report) -> None:
    """Pages must sit in a known section, may not take a URL the build generates, and may
    name only templates that exist."""
    known = {s.dir for s in site.config.sections}
    sections = {f"/{s.dir}/": s for s in site.config.sections}
    for page in site.pages:
        template = page.meta.get("template")
        if template is not None and template not in site.closures:
            line, col = page.positions.get("template", (1, 1))
            report.error(page.shown, line, col, "template-missing", f"there is no template '{template}' in templates/",
                         did_you_mean(template, site.closures) or "add it to templates/, or remove 'template:'")
        if page.section and page.section not in known:
            report.error(page.shown, 1, 1, "section-unknown", f"folder '{page.section}' is not a section of the site",
                         f"add it to 'sections' in content/site.yaml, or move the page into one of: "
                         f"{', '.join(sorted(known))}")
        clash = _generated_clash(page.url, sections)
        if clash:
            line, col = page.positions.get("slug", (1, 1))
            report.error(page.shown, line, col, "url-reserved", f"{page.url} is where the build writes {clash}",
                         "give this page a different file name or 'slug:'")


def _generated_clash(url: str, sections: dict) -> str:
    """What the build itself writes at or under ``url`` ("" when nothing)."""
    if url in sections:
        return f"the list of the '{sections[url].title}' section"
    first = url.strip("/").split("/", 1)[0]
    if first in GENERATED:
        return f"the {GENERATED[first]}"
    if SEARCH_BUNDLE_RE.match(first):
        return "the search index"
    return ""
