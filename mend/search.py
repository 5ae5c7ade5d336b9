"""Site search: a Pagefind index built into the staged site before it is swapped in.

Pagefind (PyPI ``pagefind[bin]``) indexes the finished HTML offline and writes a
static bundle to ``pagefind/``; the search page loads it only when a reader
starts typing.  Pages opt in with ``data-pagefind-body`` (base.html puts it on
``<main>``); chrome such as the help block and review dates opts out with
``data-pagefind-ignore``.  For the same HTML Pagefind writes the same bytes,
so the byte-identical build holds with the index included.

Pagefind holds the whole index in memory while it works (about 160 MiB per
thousand pages), so a site of more than ``PAGES_PER_BUNDLE`` searchable pages is
indexed in parts, one Pagefind run after another, each into its own bundle beside
the first (``pagefind-2/``, ``pagefind-3/``...).  ``pagefind/parts.json`` lists
them, and the search page merges them into one search (Pagefind's
``mergeIndex``).  A site within the limit gets one bundle.  A page's part follows
from its path alone (a hash), so an edit changes one part, and ``serve`` indexes
that part again, not the site; each part's digest (its pages' paths and bytes)
says whether it changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .parallel import die_with_parent

PAGE_URL = "/search/"
BUNDLE = "pagefind"
PARTS_FILE = "parts.json"         # in the first bundle: the other bundles, for the search page
PAGES_PER_BUNDLE = 250            # each Pagefind run near 50 MiB, and an edit re-indexes a few hundred pages
SEARCHABLE = b"data-pagefind-body"   # on <main> of every page the index holds (base.html)
_BUNDLE_RE = re.compile(rf"^{BUNDLE}(?:-\d+)?/")
PAGEFIND: tuple[str, ...] | None = None    # the command; found on first use (_pagefind)
# Symbols and furniture that would read as noise in result excerpts: heading permalinks,
# footnote and citation back-links, and each page's reference list (the Sources page keeps them).
EXCLUDE_SELECTORS = ".headerlink, .permalink, .footnote-backref, .backlink, .backlinks, section.sources, [aria-hidden=true]"
# Pagefind's ready-made interfaces; our search page talks to pagefind.js directly.
UNUSED_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")


class IndexFailure(Exception):
    """Pagefind could not index the site."""


@dataclass(frozen=True)
class Part:
    """One bundle's share of the site: its folder name, its pages, and their digest."""

    name: str
    pages: tuple[str, ...]
    digest: str


def plan(site_dir: Path) -> list[Part]:
    """The parts the searchable pages of ``site_dir`` are indexed in.  Each page's part is a
    hash of its path, so adding or editing a page leaves the other parts as they were.
    (Pages without ``data-pagefind-body``, such as lists, are left out: Pagefind skips them
    whenever any page has it.  A site where none has it is indexed whole.)"""
    contents = {name: (site_dir / name).read_bytes() for name in _pages(site_dir)}
    pages = [name for name, data in contents.items() if SEARCHABLE in data] or list(contents)
    count = max(1, -(-len(pages) // PAGES_PER_BUNDLE))
    groups: list[list[str]] = [[] for _ in range(count)]
    for name in pages:
        groups[zlib.crc32(name.encode()) % count].append(name)
    if not all(groups):                 # only a tiny site with a tiny limit can leave one empty
        groups = [pages[n::count] for n in range(count)]
    names = [BUNDLE] + [f"{BUNDLE}-{n}" for n in range(2, count + 1)]
    return [Part(name, tuple(group), _digest(group, contents)) for name, group in zip(names, groups)]


def _digest(pages: list[str], contents: dict[str, bytes]) -> str:
    digest = hashlib.sha256(f"{EXCLUDE_SELECTORS}\0{len(pages)}\0".encode())
    for name in pages:
        digest.update(name.encode() + b"\0" + hashlib.sha256(contents[name]).digest())
    return digest.hexdigest()


class Indexing:
    """Pagefind indexing a finished folder of HTML while the build does other work (the
    editorial checks).  No thread: the first Pagefind process starts at once, and
    ``wait()`` waits for it and runs the other parts, so the build can fork workers
    meanwhile.  The bundles are written into ``into`` (default: the site folder itself).
    ``current`` (bundle -> digest of the bundles in place) leaves out the parts whose pages
    are as they were; without it, or when the parts are not the same ones, every part is
    indexed.  ``wait()`` raises ``IndexFailure``."""

    def __init__(self, site_dir: Path, into: Path | None = None, current: dict[str, str] | None = None):
        self.site_dir, self.into = site_dir, into or site_dir
        self.parts = plan(site_dir)
        same_parts = current is not None and set(current) == {part.name for part in self.parts}
        self.todo = [part for part in self.parts if not same_parts or current[part.name] != part.digest]
        self.names = [part.name for part in self.todo]
        self.process: subprocess.Popen | None = None
        self.messages = None
        self.part_folder: tempfile.TemporaryDirectory | None = None
        self.next = 0
        self.failure: IndexFailure | None = None     # kept by advance(), raised by wait()
        if self.todo:
            self._start_next()

    @property
    def digests(self) -> dict[str, str]:
        """Each bundle's digest, for the manifest: which parts the next refresh may keep."""
        return {part.name: part.digest for part in self.parts}

    def _start_next(self) -> None:
        """Start Pagefind on the next part (one folder of hard links per part when there are several)."""
        part, self.next = self.todo[self.next], self.next + 1
        site = self.site_dir
        if len(self.parts) > 1:
            self.part_folder = tempfile.TemporaryDirectory(dir=self.into, prefix=".pagefind-part-")
            site = Path(self.part_folder.name)
            _link_pages(self.site_dir, site, part.pages)
        command = [*(PAGEFIND or _pagefind()), "--site", str(site), "--output-path",
                   str(self.into / part.name), "--exclude-selectors", EXCLUDE_SELECTORS, "--silent"]
        self.messages = tempfile.TemporaryFile()     # a file, not a pipe: a full pipe would stall it
        try:
            self.process = subprocess.Popen(command, stdout=self.messages, stderr=subprocess.STDOUT,
                                            preexec_fn=die_with_parent())
        except OSError as exc:
            self._finish_part()
            raise IndexFailure(str(exc)) from None

    def _finish_part(self) -> None:
        if self.messages is not None:
            self.messages.close()
            self.messages = None
        if self.part_folder is not None:
            self.part_folder.cleanup()
            self.part_folder = None

    def poll(self) -> bool:
        """Move on without waiting; True once every part is indexed (``serve`` polls)."""
        try:
            while self.process is not None and self.process.poll() is not None:
                self._part_done(self.process.returncode)
        except OSError as exc:
            self._finish_part()
            raise IndexFailure(str(exc)) from None
        return self.process is None

    def advance(self) -> None:
        """Index every part, one after another, without raising: a failure waits for ``wait()``.
        The build calls it while its workers check pages, so no part waits for the checks."""
        try:
            self.wait()
        except IndexFailure as exc:
            self.failure = exc

    def wait(self) -> list[str]:
        """The bundle folders written (names inside ``into``)."""
        if self.failure is not None:
            raise self.failure
        try:
            while self.process is not None:
                try:
                    code = self.process.wait(timeout=600)
                except subprocess.TimeoutExpired:
                    self.cancel()
                    raise IndexFailure("Pagefind took more than 10 minutes") from None
                self._part_done(code)
        except OSError as exc:
            self._finish_part()
            raise IndexFailure(str(exc)) from None
        return list(self.names)

    def _part_done(self, code: int) -> None:
        """One Pagefind run ended: check it, then start the next part or finish."""
        if code != 0:
            self.messages.seek(0)
            lines = self.messages.read().decode("utf-8", "replace").strip().splitlines()
            self.process = None
            self._finish_part()
            raise IndexFailure(lines[-1] if lines else f"pagefind exited with code {code}")
        self._tidy(self.into / self.todo[self.next - 1].name)
        self._finish_part()
        if self.next < len(self.todo):
            self._start_next()
            return
        self.process = None
        if self.todo[0].name == BUNDLE:     # the first bundle lists the others for the search page
            others = [part.name + "/" for part in self.parts[1:]]
            (self.into / BUNDLE / PARTS_FILE).write_text(json.dumps(others), "utf-8")

    @staticmethod
    def _tidy(bundle: Path) -> None:
        for name in UNUSED_FILES:
            (bundle / name).unlink(missing_ok=True)
        shutil.rmtree(bundle / "playground", ignore_errors=True)

    def cancel(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
        self._finish_part()


@functools.cache
def _pagefind() -> tuple[str, ...]:
    """Pagefind's own executable, from the pagefind_bin wheel: ``python -m pagefind`` would
    start a Python process first, about 0.2 s each time the index is built."""
    try:
        from pagefind_bin import get_executable
        return (str(get_executable()),)
    except (ImportError, OSError):
        return (sys.executable, "-m", "pagefind")


def _pages(site_dir: Path) -> list[str]:
    """The HTML files Pagefind would read, outside any bundle."""
    names = []
    for here, dirs, files in os.walk(site_dir):
        relative = os.path.relpath(here, site_dir)
        dirs[:] = sorted(d for d in dirs if not (relative == "." and _BUNDLE_RE.match(d + "/")))
        names.extend(os.path.normpath(os.path.join(relative, f)) for f in sorted(files) if f.endswith(".html"))
    return names


def _link_pages(site_dir: Path, part: Path, pages) -> None:
    """A folder holding only ``pages`` at their own paths, so each URL comes out the same."""
    for name in pages:
        (part / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(site_dir / name, part / name)


def index_site(site_dir: Path, into: Path | None = None) -> list[str]:
    """Index the HTML under ``site_dir`` into bundles in ``into`` (default ``site_dir``)."""
    return Indexing(site_dir, into).wait()


def bundle_files(names) -> list[str]:
    """The search bundles' files among output paths."""
    return [name for name in names if _BUNDLE_RE.match(name)]


def is_bundle_file(name: str) -> bool:
    return _BUNDLE_RE.match(name) is not None
