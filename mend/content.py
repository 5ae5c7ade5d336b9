"""Loading content: Markdown files with YAML front matter, validated into ``Page``s.

One file is one page.  The folder a file sits in is its section; files directly
in ``content/`` are stand-alone pages (``index.md`` is the home page).  The
URL is ``/<section>/<slug>/`` with the slug taken from the file name unless the
front matter gives ``slug:``.  Nothing here renders anything.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .bibliography import KEY
from .diagnostics import ChangedDuringBuild, Report, shown_path
from .schema import Field, YamlProblem, load_yaml, validate

KINDS = ("article", "faq", "worksheet", "page")
MENTION_RE = re.compile(rf"@({KEY})")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FENCE = "---"

COMMON_FIELDS = {
    "title": Field("str", True, "the page's title"),
    "summary": Field("str", True, "one or two sentences: shown in lists, search results and link previews"),
    "kind": Field("str", True, "what sort of page this is", KINDS),
    "authors": Field("str_list", True, "who wrote the page, e.g. [Mend editorial team]"),
    "reviewers": Field("str_list", True, "who reviewed the page, e.g. [Mend editorial team]"),
    "last_reviewed": Field("date", True, "when the whole page was last reviewed"),
    "next_review": Field("date", True, "when the page is next due for review"),
    "slug": Field("str", False, "the last part of the URL; defaults to the file name"),
    "order": Field("int", False, "position within its section; lower comes first"),
    "updated": Field("date", False, "last substantive change, if after last_reviewed"),
}

# Fields each kind adds to the common ones.  Documented in README.md.
KIND_FIELDS: dict[str, dict[str, Field]] = {
    "article": {
        "experience_based": Field("list", False, "'##' sections whose advice rests on experience, not studies"),
    },
    "faq": {},
    "worksheet": {
        "pages": Field("int", False, "printed pages it must fit on, on A4 and US Letter (default 1)"),
        "file_title": Field("str", False, "neutral title shown in the PDF's title bar (default: title)"),
    },
    "page": {
        "template": Field("str", False, "template to render with instead of page.html"),
        "allow_myths": Field("bool", False, "allow ':::myth' blocks that quote a myth to correct it"),
        "experience_based": Field("list", False, "'##' sections whose advice rests on experience, not studies"),
    },
}


@dataclass
class Page:
    source: Path            # path on disk
    shown: str              # path as printed in diagnostics, relative to the project
    kind: str
    slug: str
    section: str            # "" for pages directly in content/
    url: str                # site path: "/", "/help/", "/guide/space/"
    meta: dict
    body: str | None        # None when not kept in memory: ``with_body`` reads it again
    body_line: int          # line of the file where the body starts
    positions: dict = field(default_factory=dict)   # front-matter key -> (line, col) in the file
    digest: str = ""        # hash of the file's bytes: what caches of this page are keyed by
    name: str = ""          # path inside content/, e.g. "guide/space.md"
    mentions: tuple[str, ...] = ()   # every "@key" in the body: the sources it may cite

    @functools.cached_property
    def meta_digest(self) -> str:
        """Hash of the front matter: what listings show of a page (made once per page)."""
        return hashlib.sha256(json.dumps(self.meta, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def output_path(self) -> str:
        """Where the page goes inside the output folder."""
        return (self.url.strip("/") + "/index.html").lstrip("/")

    @property
    def title(self) -> str:
        return self.meta["title"]


def schema_for(kind: str) -> dict[str, Field]:
    return {**COMMON_FIELDS, **KIND_FIELDS.get(kind, {})}


def discover(content_dir: Path) -> list[Path]:
    """Every Markdown file under content/, in a stable order (os.walk: pathlib's rglob
    costs tens of milliseconds on a site of a thousand pages, on every rebuild)."""
    found = []
    for here, dirs, files in os.walk(content_dir):
        found.extend(os.path.join(here, name) for name in files if name.endswith(".md"))
    return sorted(Path(path) for path in found if os.path.isfile(path))


def load_pages(content_dir: Path, display_root: Path, report: Report, loaded: dict | None = None,
               digest_of=None, keep_bodies: bool = True) -> list[Page]:
    """Every page under ``content_dir``.  ``loaded`` (path and content hash -> page and
    diagnostics) and ``digest_of`` (path -> content hash, remembered) let a long-running
    process (``serve``) read and parse only the files that changed.  Without
    ``keep_bodies`` the bodies are dropped once parsed: the workers that render and check
    a page read its body again (``with_body``), so a big site's text is never all in memory."""
    pages, seen = [], {}
    for path in discover(content_dir):
        data = None if digest_of else path.read_bytes()
        key = (path, digest_of(path) if digest_of else hashlib.sha256(data).hexdigest())
        if loaded is None or key not in loaded:
            own = Report()
            page = load_page(path, content_dir, display_root, own, data, key[1])
            if page is not None and not keep_bodies:
                page.body = None
            loaded_page = (page, own.items)
        else:
            loaded_page = loaded[key]
        seen[key] = loaded_page
        report.extend(loaded_page[1])
        if loaded_page[0] is not None:
            pages.append(loaded_page[0])
    if loaded is not None:      # forget files that changed or went
        loaded.clear()
        loaded.update(seen)
    _check_unique_urls(pages, report)
    return pages


def load_page(path: Path, content_dir: Path, display_root: Path, report: Report, data: bytes | None = None,
              digest: str = "") -> Page | None:
    shown = shown_path(path, display_root)
    data = path.read_bytes() if data is None else data
    text = _read_text(data, shown, report)
    if text is None:
        return None
    split = split_front_matter(text, shown, report)
    if split is None:
        return None
    yaml_text, body, body_line = split
    try:
        meta, positions = load_yaml(yaml_text)
    except YamlProblem as exc:
        report.error(shown, exc.line + 1, exc.col, "yaml-syntax", f"invalid YAML in front matter: {exc}",
                     "front matter is YAML between two '---' lines; check quotes, colons and indentation")
        return None
    if not isinstance(meta, dict):
        report.error(shown, 2, 1, "frontmatter-not-mapping",
                     "front matter must be a mapping of fields (key: value)",
                     "for example:\n    title: Deciding whether to try again\n    kind: article")
        return None
    positions = {k: (line + 1, col) for k, (line, col) in positions.items()}
    kind = meta.get("kind")
    if not validate(meta, schema_for(kind if kind in KINDS else ""), positions, shown, report):
        return None
    section = path.parent.relative_to(content_dir).as_posix()
    section = "" if section == "." else section
    slug = meta.get("slug") or path.stem
    if not SLUG_RE.match(slug) or not all(SLUG_RE.match(part) for part in section.split("/") if part):
        line, col = positions.get("slug", (1, 1))
        report.error(shown, line, col, "bad-slug", f"'{slug if section == '' else section + '/' + slug}' cannot be used in a URL",
                     "use lower-case letters, digits and single hyphens, e.g. 'space-after-a-breakup'")
        return None
    url = "/" if (section, slug) == ("", "index") else str(PurePosixPath("/", section, slug)) + "/"
    return Page(path, shown, kind, slug, section, url, meta, body, body_line, positions,
                digest or hashlib.sha256(data).hexdigest(), path.relative_to(content_dir).as_posix(),
                tuple(sorted(set(MENTION_RE.findall(body)))) if "@" in body else ())


def with_body(page: Page) -> Page:
    """``page`` with its body, read again from its file if it was not kept.  The file must be
    the one that was loaded: everything cached about the page is keyed by that version."""
    if page.body is not None:
        return page
    data = page.source.read_bytes()
    if hashlib.sha256(data).hexdigest() != page.digest:
        raise ChangedDuringBuild(page.shown)
    split = split_front_matter(data.decode("utf-8"), page.shown, Report())
    return dataclasses.replace(page, body=split[1])


def _read_text(data: bytes, shown: str, report: Report) -> str | None:
    if not data.strip():
        report.error(shown, 1, 1, "empty-file", "the file is empty",
                     "run 'python build.py new KIND SLUG' to start a page with valid front matter")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        report.error(shown, line, col, "encoding", "the file is not valid UTF-8",
                     "save it as UTF-8 in your editor")
        return None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def split_front_matter(text: str, shown: str, report: Report) -> tuple[str, str, int] | None:
    """Split ``---`` front matter from the body.  Returns (yaml, body, first body line)."""
    lines = text.split("\n")
    if lines[0].rstrip() != FENCE:
        report.error(shown, 1, 1, "frontmatter-missing", "the file does not start with '---' front matter",
                     "start the file with a '---' line, the page's fields, and another '---' line")
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() == FENCE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1:]), index + 2
    report.error(shown, 1, 1, "frontmatter-unclosed", "the front matter has no closing '---' line",
                 "add a line with just '---' after the last field")
    return None


def _check_unique_urls(pages: list[Page], report: Report) -> None:
    by_url: dict[str, list[Page]] = {}
    for page in pages:
        by_url.setdefault(page.url, []).append(page)
    for url, same in by_url.items():
        if len(same) > 1:
            for page in same:
                others = ", ".join(p.shown for p in same if p is not page)
                line, col = page.positions.get("slug", (1, 1))
                report.error(page.shown, line, col, "duplicate-slug", f"another page has the URL {url}: {others}",
                             "give one of them a different file name or 'slug:'")
    for url in list(by_url):
        if len(by_url[url]) > 1:
            del by_url[url]
    pages[:] = [p for p in pages if p.url in by_url]
