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
import threading
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
    """Pagefind indexing a finished folder of HTML in the background, so the build can do
    other work (the editorial checks) meanwhile.  The bundles are written into ``into``
    (default: the site folder itself).  ``wait()`` raises ``IndexFailure``."""

    def __init__(self, site_dir: Path, into: Path | None = None):
        self.site_dir, self.into = site_dir, into or site_dir
        self.failure: str | None = None
        self.cancelled = False
        self.process: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._run, name="mend-pagefind", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        parts = _parts(_pages(self.site_dir))
        names = [BUNDLE] + [f"{BUNDLE}-{n}" for n in range(2, len(parts) + 1)]
        try:
            for name, pages in zip(names, parts):
                if self.cancelled or self.failure:
                    return
                if len(parts) == 1:
                    self._index(self.site_dir, self.into / name)
                else:
                    with tempfile.TemporaryDirectory(dir=self.into, prefix=".pagefind-part-") as part:
                        _link_pages(self.site_dir, Path(part), pages)
                        self._index(Path(part), self.into / name)
            if not self.failure:
                (self.into / BUNDLE / PARTS_FILE).write_text(json.dumps([n + "/" for n in names[1:]]), "utf-8")
        except OSError as exc:
            self.failure = self.failure or str(exc)

    def _index(self, site: Path, bundle: Path) -> None:
        command = [*(PAGEFIND or _pagefind()), "--site", str(site), "--output-path", str(bundle),
                   "--exclude-selectors", EXCLUDE_SELECTORS, "--silent"]
        with tempfile.TemporaryFile() as messages:     # a file, not a pipe: a full pipe would stall it
            try:
                self.process = subprocess.Popen(command, stdout=messages, stderr=subprocess.STDOUT,
                                                preexec_fn=die_with_parent())
                code = self.process.wait(timeout=600)
            except (OSError, subprocess.TimeoutExpired) as exc:
                self.failure = str(exc)
                return
            if code != 0 and not self.cancelled:
                messages.seek(0)
                lines = messages.read().decode("utf-8", "replace").strip().splitlines()
                self.failure = lines[-1] if lines else f"pagefind exited with code {code}"
                return
        for name in UNUSED_FILES:
            (bundle / name).unlink(missing_ok=True)
        shutil.rmtree(bundle / "playground", ignore_errors=True)

    def wait(self) -> list[str]:
        """The bundle folders written (names inside ``into``)."""
        self.thread.join()
        if self.failure is not None:
            raise IndexFailure(self.failure)
        parts = json.loads((self.into / BUNDLE / PARTS_FILE).read_text("utf-8"))
        return [BUNDLE] + [part.rstrip("/") for part in parts]

    def cancel(self) -> None:
        self.cancelled = True
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.thread.join()


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
