"""Site search: a Pagefind index built into the staged site before it is swapped in.

Pagefind (PyPI ``pagefind[bin]``) indexes the finished HTML offline and writes a
static bundle to ``pagefind/``; the search page loads it only when a reader
starts typing.  Pages opt in with ``data-pagefind-body`` (base.html puts it on
``<main>``); chrome such as the help block and review dates opts out with
``data-pagefind-ignore``.  For the same HTML Pagefind writes the same bytes,
so the byte-identical build holds with the index included.

Pagefind holds the whole index in memory while it works (about 160 MiB per
thousand pages), so a site of more than ``PAGES_PER_BUNDLE`` pages is indexed
in parts, one Pagefind run after another, each into its own bundle beside the
first (``pagefind-2/``, ``pagefind-3/``...).  ``pagefind/parts.json`` lists
them, and the search page merges them into one search (Pagefind's
``mergeIndex``).  A site within the limit gets one bundle, as before.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .parallel import die_with_parent

PAGE_URL = "/search/"
BUNDLE = "pagefind"
PARTS_FILE = "parts.json"         # in the first bundle: the other bundles, for the search page
PAGES_PER_BUNDLE = 800            # keeps each Pagefind run near 130 MiB
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


class Indexing:
    """Pagefind indexing a finished folder of HTML while the build does other work (the
    editorial checks).  No thread: the first Pagefind process starts at once, and
    ``wait()`` waits for it and runs the other parts, so the build can fork workers
    meanwhile.  The bundles are written into ``into`` (default: the site folder itself).
    ``wait()`` raises ``IndexFailure``."""

    def __init__(self, site_dir: Path, into: Path | None = None):
        self.site_dir, self.into = site_dir, into or site_dir
        self.parts = _parts(_pages(site_dir))
        self.names = [BUNDLE] + [f"{BUNDLE}-{n}" for n in range(2, len(self.parts) + 1)]
        self.process: subprocess.Popen | None = None
        self.messages = None
        self.part_folder: tempfile.TemporaryDirectory | None = None
        self.next = 0
        self.failure: IndexFailure | None = None     # kept by advance(), raised by wait()
        self._start_next()

    def _start_next(self) -> None:
        """Start Pagefind on the next part (one folder of hard links per part when there are several)."""
        index, self.next = self.next, self.next + 1
        site = self.site_dir
        if len(self.parts) > 1:
            self.part_folder = tempfile.TemporaryDirectory(dir=self.into, prefix=".pagefind-part-")
            site = Path(self.part_folder.name)
            _link_pages(self.site_dir, site, self.parts[index])
        command = [*(PAGEFIND or _pagefind()), "--site", str(site), "--output-path",
                   str(self.into / self.names[index]), "--exclude-selectors", EXCLUDE_SELECTORS, "--silent"]
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
        self._tidy(self.into / self.names[self.next - 1])
        self._finish_part()
        if self.next < len(self.parts):
            self._start_next()
            return
        self.process = None
        (self.into / BUNDLE / PARTS_FILE).write_text(json.dumps([n + "/" for n in self.names[1:]]), "utf-8")

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


def _parts(pages: list[str]) -> list[list[str]]:
    """Pages dealt out in turn, so every part mixes sections: Pagefind indexes only pages
    marked data-pagefind-body when it sees any, and a part of unmarked lists alone would
    have them all indexed."""
    count = max(1, -(-len(pages) // PAGES_PER_BUNDLE))
    return [pages[n::count] for n in range(count)]


def _link_pages(site_dir: Path, part: Path, pages: list[str]) -> None:
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
