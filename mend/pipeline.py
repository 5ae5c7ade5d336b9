"""The build, start to finish: files -> validated pages -> rendered pages -> files.

``build()`` reads as the list of steps it runs.  Each step adds what it finds
to one ``Report``; nothing is written unless the whole site rendered cleanly.
When no input changed since the last published build, nothing is rendered at
all (``mend.cache``); the rendering steps live in ``mend.assemble`` and are
imported only when there is work, so a no-change build starts quickly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import cache, output, search
from .diagnostics import Report, shown_path


@dataclass(frozen=True)
class Project:
    """Where a site's inputs and output live."""

    root: Path
    output: Path | None = None

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def out(self) -> Path:
        return self.output or self.root / "site"


@dataclass
class BuildResult:
    report: Report
    pages: list[Page] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    written: bool = False
    editorial: dict[str, editorial.PageFindings] = field(default_factory=dict)   # by page path
    today: dt.date | None = None
    kinds: dict[str, int] = field(default_factory=dict)     # pages of each kind
    rendered: int = 0        # templates rendered: 0 when the inputs had not changed since the last build
    unchanged: bool = False  # the published site was already this build's output

    def summary(self, strict: bool = False) -> str:
        kinds = self.kinds
        made = ", ".join(f"{kinds[k]} {k}{'s' if kinds[k] != 1 else ''}" for k in sorted(kinds)) or "no pages"
        errors = len(self.report.errors(strict))
        warnings = 0 if strict else len(self.report.warnings())
        outcome = "built" if self.written else ("failed" if errors else "checked")
        return (f"{outcome}: {made}; {warnings} warning{'s' if warnings != 1 else ''}, "
                f"{errors} error{'s' if errors != 1 else ''} in {self.seconds:.2f} s"
                + (" (no input changed)" if self.unchanged and self.written else ""))


def build(project: Project, *, strict: bool = False, write: bool = True, today: dt.date | None = None) -> BuildResult:
    """``today`` decides which reviews are overdue (default: the real date; tests pass one)."""
    started = time.perf_counter()
    report = Report()
    result = BuildResult(report, today=today or dt.date.today())
    fingerprint = cache.build_fingerprint(project.root, (project.content, project.templates), project.out,
                                          result.today)
    if write and _reuse_last_build(project, fingerprint, result, strict):
        result.seconds = time.perf_counter() - started
        return result
    site = load_site(project, report)
    if site is not None:
        result.pages = site.pages
        result.kinds = dict(Counter(p.kind for p in site.pages))
        result.files, result.rendered = render_site(site, report)
        result.editorial = check_editorial(site, result.files, report, result.today)
    if write and site is not None and not report.failed(strict):
        manifest = cache.Manifest(fingerprint, result.kinds, list(report.items))
        result.written = _publish(result.files, project, report, manifest)
    result.seconds = time.perf_counter() - started
    return result


def _reuse_last_build(project: Project, fingerprint: str, result: BuildResult, strict: bool) -> bool:
    """Nothing changed since the last published build: replay its diagnostics, render nothing."""
    manifest = cache.unchanged_build(project.root, project.out, fingerprint)
    if manifest is None:
        return False
    result.report.extend(manifest.diagnostics)
    result.kinds = manifest.kinds
    result.unchanged = True
    result.written = not result.report.failed(strict)   # under --strict, warnings still fail it
    return True


def _publish(files: dict[str, bytes], project: Project, report: Report, manifest: cache.Manifest) -> bool:
    """Swap the new site in and record what it was made from (under the lock, so a build
    running at the same time cannot swap its own site in between); a full disk or read-only
    folder is reported, not raised."""
    try:
        with output.build_lock(project.out):
            output.remove_leftovers(project.out)
            output.publish(files, project.out, before_swap=search.index_site)
            manifest.tree = cache.output_tree(project.out)
            cache.save_manifest(project.root, project.out, manifest)
        return True
    except search.IndexFailure as exc:
        report.error("templates/search.html", 1, 1, "search-index", f"Pagefind could not index the site: {exc}",
                     "install the dependencies with 'pip install -e .'; the previous site is unchanged")
        return False
    except OSError as exc:
        shown = shown_path(project.out, project.root)
        report.error(shown, 1, 1, "write-failed", f"could not write the site: {exc.strerror or exc}",
                     "check the free disk space and that the output folder's parent is writable; "
                     "the previous site is unchanged")
        return False


def load_site(project: Project, report: Report):
    from . import assemble
    return assemble.load_site(project, report)


def render_site(site, report: Report) -> tuple[dict[str, bytes], int]:
    from . import assemble
    return assemble.render_site(site, report)


def check_editorial(site, files: dict[str, bytes], report: Report, today: dt.date) -> dict:
    from . import assemble
    return assemble.check_editorial(site, files, report, today)
