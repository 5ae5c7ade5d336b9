"""schema.org JSON-LD for each page, built as plain dicts from the parsed page."""

from __future__ import annotations

from .config import SiteConfig
from .content import Page


def _people(names: list[str]) -> list[dict]:
    return [{"@type": "Organization" if "team" in n.lower() else "Person", "name": n} for n in names]


def page_json_ld(page: Page, site: SiteConfig, faq: list[dict] | None = None,
                 citations: list[str] | None = None) -> dict:
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
        "reviewedBy": _people(meta["reviewers"]),
        "publisher": {"@type": "Organization", "name": site.publisher},
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
            "author": _people(meta["authors"]),
            "datePublished": meta["last_reviewed"].isoformat(),
            "dateModified": meta.get("updated", meta["last_reviewed"]).isoformat(),
        }
        if citations:
            article["citation"] = citations
        data["mainEntity"] = article
    return data
