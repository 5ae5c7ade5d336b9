"""What each template is given: plain, typed, JSON-serialisable data, and its digest.

A ``Context`` is the exact set of variables one output's template renders with.  It
holds data only (strings, numbers, dates, lists, dicts and frozen dataclasses such as
``SiteConfig``): the helpers templates call (``url``, ``asset``, ``has_page``,
``absolute``, ``listing_json_ld``) are pure functions of these variables
(``mend.render``).  So an output's HTML is a function of its template closure and its
context alone, and ``digest`` of the context is, by construction, everything the render
key needs: nothing is listed by hand.

Contexts stay small on purpose.  A content page gets the sections in ``nav`` but not
their pages (the home page and section lists get those), so a changed title renders
the listings that show it, not every page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from . import pdf
from .config import SiteConfig
from .content import output_path
from .markup import plain_text, split_h2_sections
from .structured_data import page_json_ld


LONG_TEXT = 1024      # a longer string in a context (a page body) is hashed, not JSON-escaped


@dataclass(frozen=True)
class Context:
    template: str       # template name, e.g. "article.html"
    output: str         # output path inside the site, e.g. "guide/space/index.html"
    values: dict        # the template's variables, exactly
    known: dict = field(default_factory=dict, compare=False)   # id -> digest of site-wide dataclass objects

    def digest(self) -> str:
        """The hash of ``canonical(values)``, with a long text (the body) and each site-wide
        object in ``known`` standing in by its own hash: the same key, by construction, for a
        fraction of the encoding (every page shares the site's configuration and help data)."""
        compact = {name: {"__sha256__": hashlib.sha256(value.encode("utf-8")).hexdigest()}
                   if isinstance(value, str) and len(value) > LONG_TEXT else value
                   for name, value in self.values.items()}
        return hashlib.sha256(canonical(compact, self.known)).hexdigest()


def canonical(value, known: dict | None = None) -> bytes:
    """One byte string per value: sorted keys, dataclasses by field, dates in ISO form; an
    object whose id is in ``known`` by the digest given there.  Anything else (a function, a
    path, an open file) is a programming error here: such a value could change the HTML
    without changing the key."""
    encode = functools.partial(_encode, known=known) if known else _encode
    return json.dumps(value, default=encode, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


class Digested(Sequence):
    """A large sequence many contexts share (the navigation, every page for the sitemap),
    hashed once when it is made: ``canonical`` writes its digest in its place, so a context
    holding it costs nothing more to hash.  Templates iterate it like a list."""

    def __init__(self, items, digest: str | None = None):
        self.items = tuple(items)
        self.digest = digest or hashlib.sha256(canonical(self.items)).hexdigest()

    @classmethod
    def derived(cls, items, source: Digested, how: str) -> Digested:
        """``items`` made from ``source`` by a fixed rule named ``how`` (a sort, say): its digest
        follows from theirs, so the items are not encoded again."""
        return cls(items, hashlib.sha256(f"{source.digest}\0{how}".encode()).hexdigest())

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)


def _encode(value, known: dict | None = None):
    if known and id(value) in known:
        return {"__digest__": known[id(value)]}
    if isinstance(value, Digested):
        return {"__digest__": value.digest}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__qualname__, **fields}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        raise TypeError("a set has no stable order; pass a sorted list")
    raise TypeError(f"a template context may hold only data, not {type(value).__name__}")


# --- the parts every template gets ------------------------------------------------------------

@dataclass(frozen=True)
class SiteView:
    """Site-wide data every template reads; the same object for every output of a build."""

    config: SiteConfig
    assets: dict            # static file name -> its hashed site path
    site_pages: tuple       # URLs ``has_page`` knows: stand-alone pages and section lists
    outline: Digested       # the sections, without their pages (see module docstring)
    nav: Digested           # the sections with their pages
    help: object            # helpdata.HelpData: the services the help block shows
    people: object          # people.People: names in front matter that the registry explains
    digests: dict           # "outline" and "nav": digest of all of the above a page's context reads
    known: dict = field(default_factory=dict)   # id of config, help, people -> its digest (Context.known)

    def digest_for(self, template: str) -> str:
        """The digest of what a content page rendered with ``template`` reads of the site."""
        return self.digests["nav" if template == HOME_TEMPLATE else "outline"]


def common(site: SiteView, page_url: str, nav, page_source: str, absolute: bool = False) -> dict:
    """The variables of every template.  ``absolute`` links from the base path (the 404 page,
    which a host serves at any depth); otherwise every link is relative to the page."""
    return {"site": site.config, "nav": nav, "page_url": page_url, "canonical": site.config.absolute(page_url),
            "assets": site.assets, "site_pages": site.site_pages, "absolute_links": absolute,
            "page_source": page_source, "help": site.help, "people": site.people}


def navigation(sections, pages) -> tuple:
    """The site's sections with their pages, in order (``order:``, then title)."""
    by_section: dict[str, list] = {}
    for page in pages:
        by_section.setdefault(page.section, []).append(page)
    nav = []
    for section in sections:
        members = sorted(by_section.get(section.dir, []), key=lambda p: (p.meta.get("order", 1000), p.title, p.url))
        nav.append({"title": section.title, "summary": section.summary, "url": f"/{section.dir}/",
                    "pages": [{"title": p.title, "summary": p.meta["summary"], "url": p.url} for p in members]})
    return tuple(nav)


def site_view(config: SiteConfig, assets: dict, pages, help_data, people) -> SiteView:
    nav = Digested(navigation(config.sections, pages))
    outline = Digested({k: v for k, v in section.items() if k != "pages"} for section in nav)
    site_pages = tuple(sorted({p.url for p in pages if not p.section} | {s["url"] for s in nav}))
    assets = {name: asset.url for name, asset in sorted(assets.items())}
    shared = [config, assets, site_pages, outline, help_data, people]
    digests = {"outline": hashlib.sha256(canonical(shared)).hexdigest(),
               "nav": hashlib.sha256(canonical(shared + [nav])).hexdigest()}
    known = {id(value): hashlib.sha256(canonical(value)).hexdigest() for value in (config, help_data, people)}
    return SiteView(config, assets, site_pages, outline, nav, help_data, people, digests, known)


@dataclass(frozen=True)
class PageView:
    """What templates see of a content page."""

    url: str
    kind: str
    slug: str
    title: str
    meta: dict

    @classmethod
    def of(cls, page) -> PageView:
        return cls(page.url, page.kind, page.slug, page.title, page.meta)


# --- content pages -----------------------------------------------------------------------------

TEMPLATE_FOR_KIND = {"article": "article.html", "faq": "faq.html", "worksheet": "worksheet.html",
                     "page": "page.html"}
HOME_TEMPLATE = "home.html"


def template_for(page) -> str:
    return page.meta.get("template") or (HOME_TEMPLATE if page.url == "/" else TEMPLATE_FOR_KIND[page.kind])


def page_context(site: SiteView, page, body) -> Context:
    """A content page's template variables, from its body (``mend.pages.Body``)."""
    template = template_for(page)
    # The home page lists the sections' pages; other pages get the sections alone.
    nav = site.nav if template == HOME_TEMPLATE else site.outline
    values = common(site, page.url, nav, page.shown)
    faq = None
    if page.kind == "faq":
        intro, faq = split_h2_sections(body.html)
        for question in faq:
            question["answer_text"] = plain_text(question["html"])
        values.update(intro=Markup(intro), questions=faq)
    if page.kind == "worksheet":
        values.update(form=Markup(body.form), downloads=pdf.downloads(page, site.config))
    values.update(
        page=PageView.of(page), meta=page.meta, body=Markup(body.html),
        headings=[h for h in body.headings if h["level"] == 2],
        json_ld=page_json_ld(page, site.config, faq=faq, citations=[r.text for r in body.references],
                             people=site.people),
        references=body.references,
    )
    return Context(template, page.output_path, values, site.known)


# --- listings ------------------------------------------------------------------------------------

def section_context(site: SiteView, section: dict) -> Context:
    values = common(site, section["url"], site.nav, "templates/section.html")
    values["section"] = section
    return Context("section.html", output_path(section["url"]), values, site.known)


def plain_context(site: SiteView, template: str, url: str, absolute: bool = False, **extra) -> Context:
    """A generated page or file (search, 404, sitemap, feed, robots, a part of the Sources list)."""
    values = common(site, url, site.outline, f"templates/{template}", absolute)
    values.update(extra)
    return Context(template, output_path(url), values, site.known)
