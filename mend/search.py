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


def index_site(site_dir: Path, bundle: Path | None = None) -> None:
    """Index the HTML under ``site_dir`` into ``bundle`` (default ``site_dir/pagefind/``)."""
    bundle = bundle or site_dir / BUNDLE
    command = [*PAGEFIND, "--site", str(site_dir), "--output-path", str(bundle),
               "--exclude-selectors", EXCLUDE_SELECTORS, "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                              preexec_fn=die_with_parent())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IndexFailure(str(exc)) from exc
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise IndexFailure(message[-1] if message else f"pagefind exited with code {done.returncode}")
    for name in UNUSED_FILES:
        (bundle / name).unlink(missing_ok=True)
    shutil.rmtree(bundle / "playground", ignore_errors=True)


def bundle_files(names) -> list[str]:
    """The search bundle's files among output paths."""
    return [name for name in names if name.startswith(BUNDLE + "/")]
