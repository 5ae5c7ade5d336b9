"""Site paths and the relative links that make the site work at any base path.

Pages live at directory URLs ("/guide/space/").  Every link the build writes is
relative to the page it is on, so the same ``site/`` works at a domain root,
under a sub-path such as "/mend/", and from a local server.
"""

from __future__ import annotations

import functools
import html
import posixpath
import re

SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
SAFE_SCHEMES = ("http", "https", "mailto", "tel", "sms")   # sms: text lines such as Shout


@functools.lru_cache(maxsize=65536)
def relative_url(from_url: str, to_path: str) -> str:
    """Link from the page at ``from_url`` to the site path ``to_path``.
    Memoised: listings link the same pairs over and over, and relpath is slow."""
    path, _, fragment = to_path.partition("#")
    directory = from_url if from_url.endswith("/") else posixpath.dirname(from_url) + "/"
    rel = posixpath.relpath(path or directory, directory)
    if path.endswith("/") and rel != ".":
        rel += "/"
    elif rel == ".":
        rel = "./"
    return rel + ("#" + fragment if fragment else "")


def scheme_of(href: str) -> str:
    """The URL scheme in lower case ("" for relative links).

    Browsers ignore tabs, newlines and leading control characters in a scheme
    ("java\\tscript:"), so those are removed before looking, after character references
    ("&#106;avascript:") are decoded as a browser would.
    """
    cleaned = re.sub(r"[\x00-\x20]", "", html.unescape(href))
    match = SCHEME_RE.match(cleaned)
    return match.group(1).lower() if match else ""


def resolve_site_path(href: str, page_url: str, page_source: str, source_urls: dict[str, str]):
    """Turn an internal link into (site path, fragment), or None when it points nowhere known.

    Accepts site paths ("/guide/space/#why"), paths relative to the page URL
    ("../space/"), and links to source files relative to the Markdown file
    ("space.md#why"), as MkDocs does.  ``source_urls`` maps content-relative
    source paths ("guide/space.md") to URLs.
    """
    path, _, fragment = href.partition("#")
    if not path:
        return page_url, fragment
    if path.endswith(".md"):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page_source), path))
        url = source_urls.get(target)
        return (url, fragment) if url else None
    if path.startswith("/"):
        absolute = path
    else:
        absolute = posixpath.join(page_url if page_url.endswith("/") else posixpath.dirname(page_url), path)
    normal = posixpath.normpath(absolute)
    if normal.startswith("//"):
        normal = normal[1:]
    if path.endswith("/") and normal != "/":
        normal += "/"
    return normal, fragment
