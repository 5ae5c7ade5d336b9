"""Machine-readable descriptions of pages: schema.org JSON-LD and Atom feed entries.

Built as plain data from the parsed pages, never hand-written, so they always
match what the page shows.
"""

from __future__ import annotations

import datetime as dt

from .config import SiteConfig
from .content import Page


def _people(names: list[str], people=None) -> list[dict]:
    """A name from content/people.yaml says who it is; a plain name is guessed from its words."""
    found = [people.get(n) if people is not None else None for n in names]
    return [person.json_ld() if person else {"@type": "Organization" if "team" in n.lower() else "Person", "name": n}
            for n, person in zip(names, found)]


def page_json_ld(page: Page, site: SiteConfig, faq: list[dict] | None = None,
                 citations: list[str] | None = None, people=None) -> dict:
    """WebPage (or FAQPage) with review dates; articles carry an Article with citations."""
    meta = page.meta
    data = {
        "@context": "https://schema.org",
        "@type": "FAQPage" if faq is not None else "WebPage",
        "name": meta["title"],
        "description": meta["summary"],
        "url": site.absolute(page.url),
        "inLanguage": site.language,
        "lastReviewed": meta["last_reviewed"].isoformat(),
        "reviewedBy": _people(meta["reviewers"], people),
        "publisher": {"@type": "Organization", "name": site.publisher},
        "isPartOf": _website(site),
    }
    if faq is not None:
        data["mainEntity"] = [
            {"@type": "Question", "name": q["title"],
             "acceptedAnswer": {"@type": "Answer", "text": q["answer_text"]}}
            for q in faq
        ]
    elif page.kind == "article":
        article = {
            "@type": "Article",
            "headline": meta["title"],
            "author": _people(meta["authors"], people),
            "dateModified": updated(page).isoformat(),
        }
        if citations:
            article["citation"] = citations
        data["mainEntity"] = article
    return data


def listing_json_ld(name: str, description: str, page_url: str, pages: list[dict], site: SiteConfig,
                    kind: str = "CollectionPage") -> dict:
    """For generated pages (section lists, search, 404), which are not reviewed themselves."""
    data = {
        "@context": "https://schema.org",
        "@type": kind,
        "name": name,
        "description": description,
        "url": site.absolute(page_url),
        "inLanguage": site.language,
        "publisher": {"@type": "Organization", "name": site.publisher},
        "isPartOf": _website(site),
    }
    if pages:
        data["hasPart"] = [{"@type": "WebPage", "name": p["title"], "url": site.absolute(p["url"])} for p in pages]
    return data


def _website(site: SiteConfig) -> dict:
    return {"@type": "WebSite", "name": site.title, "url": site.base_url}


def updated(page: Page) -> dt.date:
    """The page's last substantive change: 'updated' if given, else its last review."""
    return page.meta.get("updated") or page.meta["last_reviewed"]


def listed_pages(pages) -> list[dict]:
    """Pages as the sitemap and the feed show them (url, title, summary, updated), newest
    first (ties by URL, so the feed is the same on every build).  Plain dicts: a context of
    a thousand of them hashes in milliseconds."""
    entries = [{"url": p.url, "title": p.meta["title"], "summary": p.meta["summary"], "updated": updated(p)}
               for p in pages]
    return sorted(entries, key=lambda e: (-e["updated"].toordinal(), e["url"]))
