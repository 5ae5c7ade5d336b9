"""Cross-page checks, run once every page is rendered: links and anchors."""

from __future__ import annotations

import re

from .diagnostics import Report, did_you_mean, position_of

ID_RE = re.compile(r'\sid="([^"]+)"')


def ids_in(html: str) -> set[str]:
    return set(ID_RE.findall(html))


def packed_ids(html: str) -> str:
    """The ids of a page as one string: kept for every page of a site, where a set of
    strings per page would cost megabytes.  ``Anchors`` unpacks one when a link asks."""
    return "\n".join(sorted(ids_in(html)))


class Anchors(dict):
    """Page URL -> the ids on that page (a set, or a string from ``packed_ids``)."""

    def __getitem__(self, url: str) -> set[str]:
        ids = super().__getitem__(url)
        return set(ids.split("\n")) if isinstance(ids, str) else ids


def check_links(rendered_pages, page_ids: dict[str, set[str]], files: set[str], report: Report) -> None:
    """Every internal link must reach a page or file, and every #anchor an element on it.

    ``rendered_pages`` yields (page, links); ``page_ids`` maps page URLs to the
    ids in their final HTML; ``files`` holds every output path.
    """
    for page, links in rendered_pages:
        for link in links:
            if link.target is None:      # external
                continue
            if not link.target or not _exists(link.target, page_ids, files):
                line, col = position_of(page.body, link.href, page.body_line)
                report.error(page.shown, line, col, "link-broken", f"link to '{link.href}' goes nowhere",
                             _link_hint(link.href, page_ids))
            elif link.fragment and link.target in page_ids and link.fragment not in page_ids[link.target]:
                line, col = position_of(page.body, link.href, page.body_line)
                report.error(page.shown, line, col, "anchor-broken",
                             f"'#{link.fragment}' is not an anchor on {link.target}",
                             _anchor_hint(link.fragment, page_ids[link.target]))


def _exists(target: str, page_ids, files) -> bool:
    if target in page_ids:
        return True
    return target.lstrip("/") in files or (target.rstrip("/") + "/index.html").lstrip("/") in files


def _link_hint(href: str, page_ids) -> str:
    return (did_you_mean(href.partition("#")[0], page_ids)
            or "link to a page's URL such as /guide/space/, or to its file such as space.md")


def _anchor_hint(fragment: str, ids: set[str]) -> str:
    return did_you_mean(fragment, ids) or "anchors come from headings: '## Why space helps' is #why-space-helps"
