"""The build, start to finish: files -> validated pages -> rendered pages -> files.

``build()`` reads as the list of steps it runs.  Each step adds what it finds
to one ``Report``; nothing is written unless the whole site rendered cleanly.
When no input changed since the last published build, nothing is rendered at
all (``mend.cache``); the rendering steps live in ``mend.assemble`` and are
imported only when there is work, so a no-change build starts quickly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import cache, output, reuse, search
from .diagnostics import ChangedDuringBuild, Report, shown_path


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
    seconds: float = 0.0
    written: bool = False
    editorial: dict[str, editorial.PageFindings] = field(default_factory=dict)   # by page path
    today: dt.date | None = None
    kinds: dict[str, int] = field(default_factory=dict)     # pages of each kind
    rendered: int = 0        # templates rendered: 0 when the inputs had not changed since the last build
    rendered_pages: list[str] = field(default_factory=list)   # outputs of the pages rendered (not reused)
    unchanged: bool = False  # the published site was already this build's output
    search_pending: bool = False   # published with the previous search index (serve indexes later)
    timings: dict[str, float] = field(default_factory=dict)   # seconds per step, for bench/

    @contextlib.contextmanager
    def timing(self, step: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started

    def summary(self, strict: bool = False) -> str:
        kinds = self.kinds
        made = ", ".join(f"{kinds[k]} {k}{'s' if kinds[k] != 1 else ''}" for k in sorted(kinds)) or "no pages"
        errors = len(self.report.errors(strict))
        warnings = 0 if strict else len(self.report.warnings())
        outcome = "built" if self.written else ("failed" if errors else "checked")
        return (f"{outcome}: {made}; {warnings} warning{'s' if warnings != 1 else ''}, "
                f"{errors} error{'s' if errors != 1 else ''} in {self.seconds:.2f} s"
                + (" (no input changed)" if self.unchanged and self.written else ""))


@dataclass
class Session:
    """What a long-running process (``serve``) keeps between builds so that a rebuild reads,
    parses and hashes only what changed: parsed pages, compiled editorial rules, open
    per-page caches and file hashes."""

    long_running: bool = False      # serve: keep page bodies too (a command-line build reads them again)
    loaded: dict = field(default_factory=dict)
    rules: dict = field(default_factory=dict)
    memos: dict = field(default_factory=dict)
    digests: cache.FileDigests = field(default_factory=cache.FileDigests)


def build(project: Project, *, strict: bool = False, write: bool = True, today: dt.date | None = None,
          session: Session | None = None, defer_search: bool = False) -> BuildResult:
    """``today`` decides which reviews are overdue (default: the real date; tests pass one).
    ``defer_search`` publishes changed pages with the previous search index and leaves
    indexing to the caller (``serve``, via ``refresh_search``)."""
    started = time.perf_counter()
    report = Report()
    result = BuildResult(report, today=today or dt.date.today())
    session = session or Session()
    with result.timing("fingerprint"):
        engine = cache.engine_digest()
        fingerprint = cache.build_fingerprint(project.root, (project.content, project.templates), project.out,
                                              result.today, engine, session.digests)
    if write and _reuse_last_build(project, fingerprint, result, strict):
        result.seconds = time.perf_counter() - started
        return result
    with output.build_lock(project.out):
        output.remove_leftovers(project.out)
        staged = output.staging_dir(project.out)
        try:
            staged.mkdir(parents=True)
            _render_and_publish(project, staged, engine, fingerprint, result, strict, write, session, defer_search)
        except ChangedDuringBuild as exc:
            report.error(str(exc), 1, 1, "changed-during-build", "the file changed while the site was being built",
                         "build again; the previous site is unchanged")
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def _render_and_publish(project: Project, staged: Path, engine: str, fingerprint: str, result: BuildResult,
                        strict: bool, write: bool, session: Session, defer_search: bool) -> None:
    report = result.report
    with result.timing("load"):
        site = load_site(project, report, engine, session)
    if site is None:
        return
    result.pages = site.pages
    result.kinds = dict(Counter(p.kind for p in site.pages))
    published = reuse.published(project.root, project.out) if write else None
    if published is not None and defer_search and search.bundle_files(published.tree):
        # serve: write only what changed into the published folder (see _publish_in_place)
        published = dataclasses.replace(published, in_place=True)
    try:
        with result.timing("render"):
            rendered = render_site(site, report, staged, published)
    except output.WriteFailed as exc:
        _report_write_failure(project, report, str(exc))
        return
    result.rendered, result.rendered_pages = rendered.templates_rendered, rendered.rendered_pages
    check_numbers(site, staged, rendered.outputs, report, published)              # hook: issue 16
    plan = _search_plan(rendered, published, defer_search)
    # Pagefind reads only the finished HTML: it indexes while the editorial checks run.
    indexing = search.Indexing(staged) if write and plan == "index" and not report.failed(strict) else None
    try:
        with result.timing("editorial"):
            result.editorial = check_editorial(site, report, result.today, session.rules)
        if not write or report.failed(strict):
            return
        manifest = cache.Manifest(fingerprint, result.kinds, list(report.items), page_keys=rendered.page_keys)
        with result.timing("search and publish"):
            if published is not None and published.in_place:
                result.written = _publish_in_place(staged, project, report, manifest, plan, published,
                                                   rendered.outputs)
            else:
                result.written = _publish(staged, project, report, manifest, plan, indexing, published)
            indexing = None
        result.search_pending = result.written and not manifest.search_current
    finally:
        if indexing is not None:
            indexing.cancel()


def _search_plan(rendered, published, defer: bool) -> str:
    """'keep' the published index when no HTML changed; else 'index' now, or 'defer' it."""
    if published is not None and published.search_current and not rendered.html_changed:
        bundle = search.bundle_files(published.tree)
        if bundle and all(published.intact(name) for name in bundle):
            return "keep"
    return "defer" if defer and published is not None and search.bundle_files(published.tree) else "index"


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


def _publish(staged: Path, project: Project, report: Report, manifest: cache.Manifest, search_plan: str,
             indexing: search.Indexing | None, published: reuse.Published | None) -> bool:
    """Add the search index, swap the new site in and record what it was made from (the
    caller holds the lock); a full disk or read-only folder is reported, not raised."""
    try:
        if search_plan == "index":
            indexing.wait()
        else:       # this build's HTML is the published HTML, or serve indexes it afterwards
            for name in search.bundle_files(published.tree):
                published.link_into(staged, name)
            manifest.search_current = search_plan == "keep"
        output.swap_into_place(staged, project.out)
        manifest.tree = cache.output_tree(project.out)
        cache.save_manifest(project.root, project.out, manifest)
        return True
    except search.IndexFailure as exc:
        report.error("templates/search.html", 1, 1, "search-index", f"Pagefind could not index the site: {exc}",
                     "install the dependencies with 'pip install -e .'; the previous site is unchanged")
        return False
    except (OSError, output.WriteFailed) as exc:
        _report_write_failure(project, report, getattr(exc, "strerror", None) or str(exc))
        return False


def _publish_in_place(staged: Path, project: Project, report: Report, manifest: cache.Manifest,
                      search_plan: str, published: reuse.Published, outputs: set[str]) -> bool:
    """``serve``'s publishing: move the files this build rendered over the published ones and
    delete the outputs that went, instead of swapping whole folders.  A rebuild after one
    edit then costs what the edit changed, not what the site holds.  The preview may show
    old and new files side by side for a few milliseconds; a failed build still changes
    nothing, and a file left half-published is caught by the next build's checks."""
    tree = dict(published.tree)
    bundle = set(search.bundle_files(tree))
    try:
        for name in cache.names_under(staged):
            target = project.out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / name, target)
            info = target.stat()
            tree[name] = [info.st_size, info.st_mtime_ns]
        for name in set(tree) - outputs - bundle:
            (project.out / name).unlink(missing_ok=True)
            _remove_empty_folders((project.out / name).parent, project.out)
            del tree[name]
        manifest.tree = tree
        manifest.search_current = search_plan == "keep" and published.search_current
        cache.save_manifest(project.root, project.out, manifest)
        return True
    except OSError as exc:
        cache.forget_manifest(project.root, project.out)     # the next build checks every file
        _report_write_failure(project, report, exc.strerror or str(exc))
        return False


def _remove_empty_folders(folder: Path, top: Path) -> None:
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _report_write_failure(project: Project, report: Report, reason: str) -> None:
    shown = shown_path(project.out, project.root)
    report.error(shown, 1, 1, "write-failed", f"could not write the site: {reason}",
                 "check the free disk space and that the output folder's parent is writable; "
                 "the previous site is unchanged")


def refresh_search(project: Project) -> bool:
    """Index the published site and swap the new index in (``serve``, after a build with
    ``defer_search``).  When another build published meanwhile, this index may describe
    pages that are gone, so it is dropped (that build brings its own).  True when swapped in."""
    before = cache.load_manifest(project.root, project.out)
    if before is None or before.search_current:
        return False
    fresh = project.out.parent / f".{project.out.name}.search-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        fresh.mkdir(parents=True)
        bundles = search.index_site(project.out, fresh)
        with output.build_lock(project.out):
            manifest = cache.load_manifest(project.root, project.out)
            if manifest is None or manifest.search_current or manifest.tree != before.tree:
                return False
            for name in bundles:
                output.exchange_or_replace(fresh / name, project.out / name)
            for gone in {n.split("/", 1)[0] for n in search.bundle_files(manifest.tree)} - set(bundles):
                shutil.rmtree(project.out / gone, ignore_errors=True)
            manifest.tree = cache.output_tree(project.out)
            manifest.search_current = True
            cache.save_manifest(project.root, project.out, manifest)
            return True
    except (search.IndexFailure, OSError):
        return False
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def load_site(project: Project, report: Report, engine: str, session: Session):
    from . import assemble
    return assemble.load_site(project, report, engine, session.loaded, session.memos, session.digests,
                              keep_bodies=session.long_running)


def render_site(site, report: Report, staged: Path, published):
    from . import assemble
    return assemble.render_site(site, report, staged, published)


def check_editorial(site, report: Report, today: dt.date, loaded_rules: dict) -> dict:
    from . import assemble
    return assemble.check_editorial(site, report, today, loaded_rules)


def check_numbers(site, staged: Path, outputs, report: Report, published) -> None:
    """Every phone number in the output is a vetted service's (hook: issue 16)."""
    from . import numbers
    numbers.check_site(site, staged, outputs, report, published)
