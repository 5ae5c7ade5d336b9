"""The build, start to finish: files -> validated pages -> rendered pages -> files.

``build()`` reads as the list of steps it runs: fingerprint, load, validate,
render, check, index, publish.  Each step is a call into the module that does
that one job, and each adds what it finds to one ``Report``.  Nothing is
published unless every step succeeded; the previous site is never touched by a
build that fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from . import incremental, publish, search
from .diagnostics import Report, shown_path
from .files import FileReader
from .incremental import Manifest, Published
from .project import Project
from .store import Store

__all__ = ["BuildResult", "Project", "Session", "build", "refresh_search", "SearchRefresh"]


@dataclass
class BuildResult:
    report: Report
    today: dt.date
    pages: list = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False
    editorial: dict = field(default_factory=dict)            # page path -> editorial.PageFindings
    kinds: dict[str, int] = field(default_factory=dict)       # pages of each kind
    rendered_pages: list[str] = field(default_factory=list)   # outputs rendered (not kept)
    unchanged: bool = False         # the published site was already this build's output
    search_pending: bool = False    # published with the previous search index (serve indexes later)
    timings: dict[str, float] = field(default_factory=dict)   # seconds per step, for bench/

    @property
    def rendered(self) -> int:
        return len(self.rendered_pages)

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
    """What a long-running process (``serve``) keeps between builds, so a rebuild reads,
    parses and hashes only what changed.  A command-line build makes a fresh one."""

    long_running: bool = False      # serve: keep the store open between builds
    reader: FileReader = field(default_factory=FileReader)
    loaded: dict = field(default_factory=dict)      # parsed pages by path and content hash
    rules: dict = field(default_factory=dict)       # compiled editorial rules
    store: Store | None = None
    memory: object = None                           # outputs.Memory: bodies and keys of the last build
    findings: dict = field(default_factory=dict)    # editorial findings of the last build, by key


def build(project: Project, *, strict: bool = False, write: bool = True, today: dt.date | None = None,
          session: Session | None = None, defer_search: bool = False) -> BuildResult:
    """``today`` decides which reviews are overdue (default: the real date; tests pass one).
    ``defer_search`` publishes changed pages with the previous search index and leaves
    indexing to the caller (``serve``, through ``SearchRefresh``)."""
    started = time.perf_counter()
    result = BuildResult(Report(), today or dt.date.today())
    session = session or Session()
    store = _open_store(project, session, result.report)
    try:
        _steps(project, store, session, result, strict=strict, write=write, defer_search=defer_search)
    except Exception as exc:  # noqa: BLE001 - the last resort: a diagnostic, never a traceback
        result.report.internal(shown_path(project.content, project.root), exc, traceback.format_exc())
    finally:
        session.reader.release()
        store.finish(replayed=result.unchanged)
        if session.store is None:
            store.close()
        result.seconds = time.perf_counter() - started
    return result


def _steps(project: Project, store: Store, session: Session, result: BuildResult, *, strict: bool,
           write: bool, defer_search: bool) -> None:
    """Every step of a build, in order."""
    report = result.report
    with result.timing("fingerprint"):
        trusted = incremental.trusted_stamps(session.reader, store)
        engine = incremental.engine_digest(session.reader, store)
        fingerprint = incremental.fingerprint([project.content, project.templates], project.root, project.out,
                                              result.today, engine, session.reader)
        incremental.keep_stamps(session.reader, store, trusted)
    # A replay renders nothing and remembers nothing: serve's first build goes through every
    # step instead, so that its first edit finds the pages, bodies and rules in memory.
    warm_up = session.long_running and session.memory is None
    if write and not warm_up and _replay_unchanged(store, project, fingerprint, result, strict):
        return
    from . import checking, numbers, outputs, site as sites    # only now that there is work: 0.5 s of imports
    with publish.build_lock(project.out), _staging(project, store, write, defer_search) as staging:
        with result.timing("load"):
            site = sites.load_site(project, report, store, session.reader, engine, session.loaded)
        if site is None:
            return
        sites.validate_site(site, report)
        result.pages, result.kinds = site.pages, dict(Counter(p.kind for p in site.pages))
        try:
            with result.timing("render"):      # every page and listing, then the link check; this
                # process compiles the rules meanwhile.  Only serve keeps the bodies between builds.
                session.memory = session.memory or outputs.Memory(keeps_bodies=session.long_running)
                rendered = outputs.render_site(site, staging, store, report, session.memory,
                                               meanwhile=lambda: checking.prepare(site, session.rules))
        except publish.WriteFailed as exc:
            return _report_write_failure(project, report, str(exc))
        result.rendered_pages = rendered.rendered
        with result.timing("numbers"):    # every phone number published is a vetted service's
            numbers.check_output(rendered.numbers, staging, site, report)
        plan = _search_plan(rendered, staging.published, defer_search) if write and not report.failed(strict) else ""
        with _indexing(staging, plan) as indexing:     # Pagefind reads the HTML while the checks run
            with result.timing("editorial"):
                result.editorial = checking.check_editorial(site, report, result.today, store, session.rules,
                                                            session.findings, indexing and indexing.advance)
            if write and not report.failed(strict):
                manifest = Manifest(fingerprint, result.kinds, report.sorted(), keys=rendered.keys,
                                    digests=rendered.digests)
                with result.timing("search and publish"):
                    result.written = _publish(project, staging, store, manifest, plan, indexing, report)
                result.search_pending = result.written and not manifest.search_current


@contextlib.contextmanager
def _staging(project: Project, store: Store, write: bool, defer_search: bool):
    """A fresh staging folder beside the output (removed afterwards, whatever happens), with
    what the last build published; ``serve`` updates the published folder in place instead."""
    publish.remove_leftovers(project.out)
    published = incremental.published(store, project.out) if write else None
    in_place = defer_search and published is not None and bool(search.bundle_files(published.tree))
    staging = publish.Staging(publish.staging_dir(project.out), published, in_place)
    try:
        staging.folder.mkdir(parents=True)
        yield staging
    finally:
        shutil.rmtree(staging.folder, ignore_errors=True)


@contextlib.contextmanager
def _indexing(staging: publish.Staging, plan: str):
    """Pagefind indexing the staging folder when ``plan`` says to; stopped if it is not waited for."""
    indexing = search.Indexing(staging.folder) if plan == "index" else None
    try:
        yield indexing
    finally:
        if indexing is not None:
            indexing.cancel()


def _open_store(project: Project, session: Session, report: Report) -> Store:
    store = session.store or Store.open(project.root)
    if store.problem:
        report.warning(shown_path(project.root / ".mend-cache", project.root), 1, 1, "cache-unusable",
                       f"the build cache cannot be used ({store.problem}); building without it",
                       "delete .mend-cache/ or make it writable; nothing else is affected")
    if session.long_running:
        session.store = store
    return store


def _replay_unchanged(store: Store, project: Project, fingerprint: str, result: BuildResult, strict: bool) -> bool:
    """Nothing changed since the last published build: replay its diagnostics, render nothing."""
    manifest = incremental.unchanged_build(store, project.out, fingerprint)
    if manifest is None:
        return False
    result.report.extend(manifest.diagnostics)
    result.kinds = manifest.kinds
    result.unchanged = True
    result.written = not result.report.failed(strict)   # under --strict, warnings still fail it
    return True


def _search_plan(rendered, published: Published | None, defer: bool) -> str:
    """'keep' the published index when no HTML changed; else 'index' now, or 'defer' it."""
    bundle = search.bundle_files(published.tree) if published is not None else []
    if bundle and published.search_current and not rendered.html_changed:
        if all(published.intact(name) for name in bundle):
            return "keep"
    return "defer" if defer and bundle else "index"


def _publish(project: Project, staging: publish.Staging, store: Store, manifest: Manifest, plan: str,
             indexing: search.Indexing | None, report: Report) -> bool:
    """Add the search index, put the new site in place and record what it was made from
    (the caller holds the lock).  A full disk or read-only folder is reported, not raised."""
    published = staging.published
    bundle = set(search.bundle_files(published.tree)) if published is not None else set()
    try:
        if plan == "index":
            indexing.wait()
            manifest.search_parts = indexing.digests
        else:       # the published bundles stay: this build's HTML is theirs, or serve indexes it later
            manifest.search_parts = published.manifest.search_parts
            for name in bundle if not staging.in_place else ():
                staging.keep(name)
        manifest.search_current = plan in ("index", "keep") and (plan == "index" or published.search_current)
        if staging.in_place:
            manifest.tree = publish.publish_in_place(staging, project.out, bundle)
        else:
            publish.swap_into_place(staging.folder, project.out)
            manifest.tree = incremental.output_tree(project.out)
        incremental.save_manifest(store, project.out, manifest)
        return True
    except search.IndexFailure as exc:
        report.error("templates/search.html", 1, 1, "search-index", f"Pagefind could not index the site: {exc}",
                     "install the dependencies with 'pip install -e .'; the previous site is unchanged")
    except (OSError, publish.WriteFailed) as exc:
        if staging.in_place:
            incremental.forget_manifest(store, project.out)     # the next build checks every file
        _report_write_failure(project, report, getattr(exc, "strerror", None) or str(exc))
    return False


def _report_write_failure(project: Project, report: Report, reason: str) -> None:
    report.error(shown_path(project.out, project.root), 1, 1, "write-failed", f"could not write the site: {reason}",
                 "check the free disk space and that the output folder's parent is writable; "
                 "the previous site is unchanged")


class SearchRefresh:
    """``serve``: index the published site in a Pagefind process and swap the new index in
    when it is done, unless another build published meanwhile (its index may then describe
    pages that are gone; that build brings its own)."""

    def __init__(self, project: Project):
        self.project = project
        self.fresh = project.out.parent / f".{project.out.name}.search-{os.getpid()}"
        shutil.rmtree(self.fresh, ignore_errors=True)
        self.fresh.mkdir(parents=True)
        store = Store.open(project.root)
        try:
            self.before = incremental.load_manifest(store, project.out)
        finally:
            store.close()
        self.indexing = search.Indexing(project.out, self.fresh,
                                        self.before.search_parts if self.before is not None else None)

    def poll(self) -> bool:
        """True once Pagefind is done (or failed): ``finish`` will not wait."""
        try:
            return self.indexing.poll()
        except search.IndexFailure:
            return True

    def cancel(self) -> None:
        self.indexing.cancel()
        shutil.rmtree(self.fresh, ignore_errors=True)

    def finish(self) -> bool:
        """Wait for the index and swap it in.  True when swapped in."""
        try:
            bundles = self.indexing.wait()
            with publish.build_lock(self.project.out):
                store = Store.open(self.project.root)
                try:
                    return self._swap_in(store, bundles)
                finally:
                    store.close()
        except (search.IndexFailure, OSError):
            return False
        finally:
            shutil.rmtree(self.fresh, ignore_errors=True)

    def _swap_in(self, store: Store, bundles: list[str]) -> bool:
        out = self.project.out
        manifest = incremental.load_manifest(store, out)
        if manifest is None or manifest.search_current or self.before is None or manifest.tree != self.before.tree:
            return False
        for name in bundles:
            publish.exchange_or_replace(self.fresh / name, out / name)
        parts = self.indexing.digests
        for gone in {n.split("/", 1)[0] for n in search.bundle_files(manifest.tree)} - set(parts):
            shutil.rmtree(out / gone, ignore_errors=True)
        manifest.tree = incremental.output_tree(out)
        manifest.search_parts = parts
        manifest.search_current = True
        incremental.save_manifest(store, out, manifest)
        return True


def refresh_search(project: Project) -> bool:
    """Index the published site now and swap the new index in (``bench/`` and tests)."""
    manifest_store = Store.open(project.root)
    try:
        manifest = incremental.load_manifest(manifest_store, project.out)
    finally:
        manifest_store.close()
    if manifest is None or manifest.search_current:
        return False
    return SearchRefresh(project).finish()
