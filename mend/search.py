"""Site search: a Pagefind index built into the staged site before it is swapped in.

Pagefind (PyPI ``pagefind[bin]``) indexes the finished HTML offline and writes a
static bundle to ``pagefind/``; the search page loads it only when a reader
starts typing.  Pages opt in with ``data-pagefind-body`` (base.html puts it on
``<main>``); chrome such as the help block and review dates opts out with
``data-pagefind-ignore``.  For the same HTML Pagefind writes the same bytes,
so the byte-identical build holds with the index included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .parallel import die_with_parent

PAGE_URL = "/search/"
BUNDLE = "pagefind"
PAGEFIND = (sys.executable, "-m", "pagefind")
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
    other work (the editorial checks) meanwhile.  ``wait()`` raises ``IndexFailure``."""

    def __init__(self, site_dir: Path, bundle: Path | None = None):
        self.bundle = bundle or site_dir / BUNDLE
        command = [*PAGEFIND, "--site", str(site_dir), "--output-path", str(self.bundle),
                   "--exclude-selectors", EXCLUDE_SELECTORS, "--silent"]
        self.messages = tempfile.TemporaryFile()     # a file, not a pipe: a full pipe would stall it
        self.failure: str | None = None
        try:
            self.process = subprocess.Popen(command, stdout=self.messages, stderr=subprocess.STDOUT,
                                            preexec_fn=die_with_parent())
        except OSError as exc:
            self.process, self.failure = None, str(exc)

    def wait(self) -> None:
        try:
            code = self.process.wait(timeout=300) if self.process else None
        except subprocess.TimeoutExpired as exc:
            self.cancel()
            raise IndexFailure(str(exc)) from exc
        if self.failure is None and code != 0:
            self.messages.seek(0)
            lines = self.messages.read().decode("utf-8", "replace").strip().splitlines()
            self.failure = lines[-1] if lines else f"pagefind exited with code {code}"
        self.messages.close()
        if self.failure is not None:
            raise IndexFailure(self.failure)
        for name in UNUSED_FILES:
            (self.bundle / name).unlink(missing_ok=True)
        shutil.rmtree(self.bundle / "playground", ignore_errors=True)

    def cancel(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.messages.close()


def index_site(site_dir: Path, bundle: Path | None = None) -> None:
    """Index the HTML under ``site_dir`` into ``bundle`` (default ``site_dir/pagefind/``)."""
    Indexing(site_dir, bundle).wait()


def bundle_files(names) -> list[str]:
    """The search bundle's files among output paths."""
    return [name for name in names if name.startswith(BUNDLE + "/")]
