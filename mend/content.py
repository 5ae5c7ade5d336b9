"""Loading content: Markdown files with YAML front matter, validated into ``Page``s.

One file is one page.  The folder a file sits in is its section; files directly
in ``content/`` are stand-alone pages (``index.md`` is the home page).  The
URL is ``/<section>/<slug>/`` with the slug taken from the file name unless the
front matter gives ``slug:``.  Each file is read once: a ``Page`` owns its path,
URL, output path, body and the hash of its bytes.  Nothing here renders anything.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import helpdata
from .bibliography import KEY
from .diagnostics import Report, shown_path
from .files import FileReader, decode_utf8
from .schema import Field, YamlProblem, load_yaml, validate

KINDS = ("article", "faq", "worksheet", "page")
MENTION_RE = re.compile(rf"@({KEY})")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FENCE = "---"
MAX_PAGE_BYTES = 1_000_000       # a page longer than this is refused (README, "Limits")
MAX_SLUG = 100                   # characters in a slug: every file system takes a name this long

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
    body: str
    body_line: int          # line of the file where the body starts
    positions: dict = field(default_factory=dict)   # front-matter key -> (line, col) in the file
    digest: str = ""        # hash of the file's bytes: what caches of this page are keyed by
    name: str = ""          # path inside content/, e.g. "guide/space.md"
    mentions: tuple[str, ...] = ()   # every "@key" in the body: the sources it may cite
    shows_directory: bool = False    # has the help directory line (helpdata.DIRECTORY_MARKER)

    @functools.cached_property
    def output_path(self) -> str:
        """Where the page goes inside the output folder."""
        return output_path(self.url)

    @property
    def title(self) -> str:
        return self.meta["title"]


def schema_for(kind: str) -> dict[str, Field]:
    return {**COMMON_FIELDS, **KIND_FIELDS.get(kind, {})}


def output_path(url: str) -> str:
    """The file a site path is written to: "/guide/x/" -> "guide/x/index.html"."""
    return url.strip("/") if "." in url.rsplit("/", 1)[-1] else (url.strip("/") + "/index.html").lstrip("/")


def discover(content_dir: Path, root: Path, report: Report) -> list[str]:
    """Every Markdown file under content/, in a stable order.  (os.scandir: its entries know
    whether they are files, folders or links without another system call; pathlib's rglob
    costs tens of milliseconds on a site of a thousand pages, on every rebuild.)
    A symlinked folder or file is followed only when it stays inside the project."""
    found, seen, todo = [], {content_dir.resolve()}, [str(content_dir)]
    while todo:
        with os.scandir(todo.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    if not entry.is_symlink() or _allowed_link(Path(entry.path), root, seen, report):
                        todo.append(entry.path)
                elif entry.name.endswith(".md") and entry.is_file():
                    if not entry.is_symlink() or _allowed_link(Path(entry.path), root, None, report):
                        found.append(entry.path)
                elif entry.name.endswith(".md"):     # a pipe, a device, a dangling link: never read
                    report.error(shown_path(Path(entry.path), root), 1, 1, "unreadable",
                                 "this is not a regular file, so it is not read",
                                 "replace it with a Markdown file, or remove it")
    return sorted(found)     # strings: a Path costs microseconds, and most pages are known


def _allowed_link(path: Path, root: Path, seen: set | None, report: Report) -> bool:
    """A symlink is followed when it resolves inside the project (and, for a folder, to
    one not walked yet: a link loop ends there); otherwise it is an error, never skipped silently."""
    target = path.resolve()
    if not target.is_relative_to(root.resolve()):
        report.error(shown_path(path, root), 1, 1, "symlink-outside",
                     "this symlink points outside the project, so it is not published",
                     "copy the file into content/ instead of linking to it")
        return False
    if seen is not None:
        if target in seen:
            return False
        seen.add(target)
    return True


def load_pages(content_dir: Path, display_root: Path, report: Report, reader: FileReader,
               loaded: dict | None = None) -> list[Page]:
    """Every page under ``content_dir``, read through ``reader`` (which hands over the bytes
    the build fingerprint was made from).  ``loaded`` (path and content hash -> page and
    diagnostics) lets a long-running process (``serve``) parse only the files that changed."""
    pages, seen = [], {}
    for name in discover(content_dir, display_root, report):
        known = _known(name, reader, loaded)
        if known is not None:
            key, loaded_page = known
        else:
            own, path = Report(), Path(name)
            read = _read(path, display_root, reader, own)
            if read is None:
                report.extend(own.items)
                continue
            data, digest = read
            key, page = (name, digest), None
            with own.guard(shown_path(path, display_root)):
                page = load_page(path, content_dir, display_root, own, data, digest)
            loaded_page = (page, own.items)
        seen[key] = loaded_page
        report.extend(loaded_page[1])
        if loaded_page[0] is not None:
            pages.append(loaded_page[0])
    if loaded is not None:      # forget files that changed or went
        loaded.clear()
        loaded.update(seen)
    _check_unique_urls(pages, report)
    return pages


def _known(name: str, reader: FileReader, loaded: dict | None):
    """The page parsed from this very file by an earlier build of this process, if any."""
    if not loaded:
        return None
    try:
        key = (name, reader.digest(name))
    except OSError:
        return None
    return (key, loaded[key]) if key in loaded else None


def _read(path: Path, display_root: Path, reader: FileReader, report: Report) -> tuple[bytes, str] | None:
    """A file's bytes and hash, or None (reported) when it is too big or cannot be read."""
    shown = shown_path(path, display_root)
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            report.error(shown, 1, 1, "page-too-large",
                         f"the file is {size:,} bytes; a page may have at most {MAX_PAGE_BYTES:,}",
                         "split it into several pages")
            return None
        return reader.read(path)
    except OSError as exc:
        report.error(shown, 1, 1, "unreadable", f"the file cannot be read: {exc.strerror or exc}",
                     "check its permissions")
        return None


def load_page(path: Path, content_dir: Path, display_root: Path, report: Report, data: bytes,
              digest: str = "") -> Page | None:
    shown = shown_path(path, display_root)
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
    if len(slug) > MAX_SLUG:
        line, col = positions.get("slug", (1, 1))
        report.error(shown, line, col, "slug-too-long", f"the slug has {len(slug)} characters; at most {MAX_SLUG}",
                     "a shorter 'slug:' (or file name) makes a URL people can read and type")
        return None
    url = "/" if (section, slug) == ("", "index") else str(PurePosixPath("/", section, slug)) + "/"
    return Page(path, shown, kind, slug, section, url, meta, body, body_line, positions, digest, path.relative_to(content_dir).as_posix(),
                tuple(sorted(set(MENTION_RE.findall(body)))) if "@" in body else (),
                "[help:" in body and helpdata.DIRECTORY_MARKER.search(body) is not None)


def _read_text(data: bytes, shown: str, report: Report) -> str | None:
    if not data.strip():
        report.error(shown, 1, 1, "empty-file", "the file is empty",
                     "run 'python build.py new KIND SLUG' to start a page with valid front matter")
        return None
    return decode_utf8(data, shown, report)


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
