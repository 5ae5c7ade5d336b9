"""Cross-page checks, run once every page is rendered: links and anchors."""

from __future__ import annotations

import re
from collections import OrderedDict

from .diagnostics import Locator, Report, did_you_mean

ID_RE = re.compile(r'\sid="([^"]+)"')
UNPACKED_KEPT = 64       # pages whose id sets Anchors keeps unpacked: links cluster on a few targets
HINT_CHOICES_MAX = 2000  # ids "did you mean" compares with (each one costs); past this, a general hint


def ids_in(html: str) -> set[str]:
    return set(ID_RE.findall(html))


def packed_ids(html: str) -> str:
    """The ids of a page as one string: kept for every page of a site, where a set of
    strings per page would cost megabytes.  ``Anchors`` unpacks one when a link asks."""
    return "\n".join(sorted(ids_in(html)))


class Anchors(dict):
    """Page URL -> the ids on that page (a set, or a string from ``packed_ids``).

    Unpacking a page's ids costs time in its number of ids, so the last few unpacked sets are
    kept: a page with 10,000 footnote links to itself unpacks its ids once, not per link."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._unpacked: OrderedDict[str, set[str]] = OrderedDict()

    def __getitem__(self, url: str) -> set[str]:
        ids = super().__getitem__(url)
        if not isinstance(ids, str):
            return ids
        if url in self._unpacked:
            self._unpacked.move_to_end(url)
            return self._unpacked[url]
        unpacked = self._unpacked[url] = set(ids.split("\n"))
        if len(self._unpacked) > UNPACKED_KEPT:
            self._unpacked.popitem(last=False)
        return unpacked

    def __setitem__(self, url: str, ids) -> None:
        super().__setitem__(url, ids)
        self._unpacked.pop(url, None)


def check_links(rendered_pages, page_ids: dict[str, set[str]], files: set[str], report: Report) -> None:
    """Every internal link must reach a page or file, and every #anchor an element on it.

    ``rendered_pages`` yields (page, links); ``page_ids`` maps page URLs to the
    ids in their final HTML; ``files`` holds every output path.
    """
    for page, links in rendered_pages:
        locate = None            # made at the first problem: it needs the page's body
        problems: dict[tuple, tuple | None] = {}       # a link repeated is judged once
        for link in links:
            if link.target is None:      # external
                continue
            known = (link.href, link.target, link.fragment)
            if known not in problems:
                problems[known] = _link_problem(link, page_ids, files)
            problem = problems[known]
            if problem is None:
                continue
            if locate is None:
                locate = Locator(page.body, page.body_line)
            line, col = locate(link.href)
            report.error(page.shown, line, col, *problem)


def _link_problem(link, page_ids, files) -> tuple[str, str, str] | None:
    """(code, message, hint) for a link that goes nowhere, or None."""
    if not link.target or not _exists(link.target, page_ids, files):
        return "link-broken", f"link to '{link.href}' goes nowhere", _link_hint(link.href, page_ids)
    if link.fragment and link.target in page_ids:
        ids = page_ids[link.target]
        if link.fragment not in ids:
            return ("anchor-broken", f"'#{link.fragment}' is not an anchor on {link.target}",
                    _anchor_hint(link.fragment, ids))
    return None


def _exists(target: str, page_ids, files) -> bool:
    if target in page_ids:
        return True
    return target.lstrip("/") in files or (target.rstrip("/") + "/index.html").lstrip("/") in files


def _link_hint(href: str, page_ids) -> str:
    return (did_you_mean(href.partition("#")[0], page_ids)
            or "link to a page's URL such as /guide/space/, or to its file such as space.md")


def _anchor_hint(fragment: str, ids: set[str]) -> str:
    return (len(ids) <= HINT_CHOICES_MAX and did_you_mean(fragment, ids)) or "anchors come from headings: '## Why space helps' is #why-space-helps"
