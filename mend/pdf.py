"""Printable PDFs of worksheets: WeasyPrint, a content-hash disk cache, renders in parallel.

Every worksheet gives ``<slug>-a4.pdf`` and ``<slug>-letter.pdf`` next to its
page (``/worksheets/<slug>/<slug>-a4.pdf``), and all worksheets together give
one booklet per paper size (``/worksheets/worksheets-a4.pdf``).  Each PDF is
a fillable form (AcroForm fields with the labels as their spoken names),
tagged PDF/UA-1, with title, author and language set, rendered from
``templates/pdf/worksheet.html`` (the paper size is set there) and
``templates/pdf/print.css`` with the fonts in ``templates/fonts/``.

The booklet binds the very pages laid out for each worksheet's own PDF, followed
by a help page, so each sheet is laid out once per paper size (a booklet used to
lay every sheet out again: half the PDF time).  That is why form field names
carry the worksheet's slug (``check-in/mood``) in its own PDF too: they must be
unique in the booklet.  Page numbers count within each worksheet.

A PDF is rendered again only when its cache key changes: the exact HTML handed
to WeasyPrint (so the worksheet, the template and the site configuration), every
file WeasyPrint may read (templates/pdf/, templates/fonts/), and the versions of
WeasyPrint, pydyf and this module; a booklet's key holds its sheets' keys.
Entries are kept between builds in the store (``mend.store``); renders that are
needed run in parallel, one process per paper size.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from markupsafe import Markup

from . import __version__, numbers
from .diagnostics import Report
from .parallel import die_with_parent
from .render import TemplateFailure, long_date, render_template
from .worksheets import Worksheet, check_front_matter, form_html, scale_descriptions

PAPERS = {"a4": "A4", "letter": "letter"}          # file-name suffix -> CSS page size
PAPER_NAMES = {"a4": "A4", "letter": "US Letter"}
TEMPLATE = "pdf/worksheet.html"
READABLE_DIRS = ("pdf", "fonts")                    # under templates/: all WeasyPrint may read
BOOKLET_NAME = "worksheets"
OPTIONS = {"pdf_forms": True, "pdf_variant": "pdf/ua-1"}


@dataclass(frozen=True)
class PdfJob:
    """One PDF to make.  Only strings and tuples, so it can go to another process."""
    path: str                     # output path, e.g. "worksheets/decision-aid/decision-aid-a4.pdf"
    html: str
    base_url: str                 # file: URL of templates/pdf/, for the stylesheet and fonts
    readable: tuple[str, ...]     # folders WeasyPrint may read files from
    scale_names: tuple[tuple[str, str], ...]   # radio group name -> spoken name
    shown: str                    # where to report problems
    line: int
    pages: int                    # pages it must fit on; 0: not checked (booklets)
    paper: str
    parts: tuple[str, ...] = ()   # a booklet: the sheets (their paths) whose laid-out pages it binds,
    #                               before its own pages (``html``: the help page, or "" for none)
    title: str = ""               # a booklet's title and author: its parts carry their own
    author: str = ""
    lang: str = ""


@dataclass(frozen=True)
class Rendering:
    data: bytes
    pages: int
    warnings: tuple[str, ...] = ()
    error: str = ""


@dataclass
class SheetForPdf:
    """A worksheet page with its parsed form, as the PDF step needs it."""
    page: object                  # content.Page
    sheet: Worksheet
    references: list = field(default_factory=list)    # citations.Reference, cited in the instructions


# --- paths -------------------------------------------------------------------

def sheet_pdf_path(page, paper: str) -> str:
    return f"{page.url.strip('/')}/{page.slug}-{paper}.pdf"


def booklet_path(config, paper: str) -> str:
    folder = next((s.dir for s in config.sections if s.kind == "worksheet"), BOOKLET_NAME)
    return f"{folder}/{BOOKLET_NAME}-{paper}.pdf"


def downloads(page, config) -> dict:
    """Site paths of a worksheet's PDFs and of the booklets, for its web page."""
    return {
        "sheet": [{"paper": PAPER_NAMES[p], "url": "/" + sheet_pdf_path(page, p)} for p in PAPERS],
        "booklet": [{"paper": PAPER_NAMES[p], "url": "/" + booklet_path(config, p)} for p in PAPERS],
        "pages": page.meta.get("pages", 1),
    }


# --- from worksheets to jobs -------------------------------------------------

def worksheet_pdfs(site, sheets: list[SheetForPdf], store, report: Report) -> dict[str, bytes]:
    """Every worksheet PDF and the booklets, from the cache or freshly rendered; checks the fit."""
    if not sheets:
        return {}
    jobs = _jobs(site, sheets, report)
    if not jobs:
        return {}
    allowed = numbers.allowed_numbers(site.bibliography)
    for job in jobs:       # the PDF's text is this HTML's: check its numbers before rendering
        numbers.check_text(job.html, job.path, allowed, report, (site.project.root / job.shown, job.shown))
    results = render_all(jobs, store, inputs_digest(site.project.templates))
    files = {}
    for job in jobs:
        rendering = results[job.path]
        if _report_rendering(job, rendering, report):
            files[job.path] = rendering.data
    return files


def _jobs(site, sheets: list[SheetForPdf], report: Report) -> list[PdfJob]:
    """A job per worksheet and paper, then per paper a booklet that binds those sheets' pages
    (and a help page) without laying them out again."""
    ordered = sorted(sheets, key=lambda s: (s.page.meta.get("order", 1000), s.page.title, s.page.url))
    titles = {s.page.url: check_front_matter(s.page, report) for s in ordered}
    jobs = []
    for paper in PAPERS:
        parts = []
        for item in ordered:
            page = item.page
            line = page.positions.get("pages", (1, 1))[0]
            job = _job(site, report, paper, sheet_pdf_path(page, paper), titles[page.url],
                       ", ".join(page.meta["authors"]), [item], page.shown, line, page.meta.get("pages", 1))
            if job is not None:
                jobs.append(job)
                parts.append(job)
        help_page = _job(site, report, paper, booklet_path(site.config, paper), f"{site.config.title} worksheets",
                         site.config.publisher, [], "content/site.yaml", 1, 0, booklet=True)
        if help_page is not None and len(parts) == len(ordered):
            jobs.append(dataclasses.replace(
                help_page, html=help_page.html if site.help.countries else "", parts=tuple(j.path for j in parts),
                scale_names=tuple(sorted(pair for j in parts for pair in j.scale_names)),
                title=f"{site.config.title} worksheets", author=site.config.publisher, lang=site.config.language))
    return jobs


def _job(site, report, paper, path, title, author, items, shown, line, pages, booklet=False) -> PdfJob | None:
    templates = site.project.templates
    context = {
        "site": site.config, "title": title, "author": author, "paper": PAPERS[paper],
        "domain": urlsplit(site.config.base_url).netloc, "page_source": shown,
        "sheets": [_sheet_context(site, item) for item in items],
        "help": site.help, "booklet": booklet,
    }
    try:
        html = render_template(site.env, TEMPLATE, context, report, templates, site.project.root)
    except TemplateFailure:
        return None
    scales = {}
    for item in items:
        scales.update(scale_descriptions(item.sheet, item.page.slug))
    return PdfJob(path, html, (templates / "pdf").resolve().as_uri() + "/",
                  tuple(str((templates / d).resolve()) for d in READABLE_DIRS),
                  tuple(sorted(scales.items())), shown, line, pages, paper)


def _sheet_context(site, item: SheetForPdf) -> dict:
    """One worksheet for the print template.  Names and ids carry the slug, so that each
    stays unique in the booklet, which binds the very pages of the worksheet's own PDF."""
    page = item.page
    id_prefix = f"{page.slug}--"
    form = form_html(item.sheet, page.slug, for_print=True)
    return {"title": page.title, "id_prefix": id_prefix, "reviewed": long_date(page.meta["last_reviewed"]),
            "form": Markup(_for_pdf(form, site.config.absolute(page.url), id_prefix)),
            "references": item.references, "url": _shown_url(site.config.absolute(page.url))}


def _shown_url(url: str) -> str:
    """A URL as printed for someone to type: no scheme."""
    return url.split("://", 1)[-1]


_ATTRIBUTE_RE = re.compile(r'(\s(id|for|href|src)=")([^"]*)(")')


def _for_pdf(html: str, page_url: str, id_prefix: str) -> str:
    """Links in a PDF must work from a downloads folder: links to places in the sheet stay
    (with ``id_prefix`` on both ends), every other link points to the web."""
    ids = set(re.findall(r'\sid="([^"]*)"', html))

    def rewrite(m: re.Match) -> str:
        attribute, value = m[2], m[3]
        if attribute in ("id", "for") or (value.startswith("#") and value[1:] in ids):
            value = "#" + id_prefix + value[1:] if value.startswith("#") else id_prefix + value
        else:
            value = urljoin(page_url, value)
        return m[1] + value + m[4]
    return _ATTRIBUTE_RE.sub(rewrite, html)


def _report_rendering(job: PdfJob, rendering: Rendering, report: Report) -> bool:
    # Once per worksheet: A4 and Letter warn alike (the report drops repeats) and a booklet repeats its sheets.
    for warning in rendering.warnings if job.pages else ():
        report.warning(job.shown, job.line, 1, "pdf-warning", f"while making its PDF: {warning}",
                       "usually a problem in templates/pdf/: check the stylesheet and template")
    if rendering.error:
        report.error(job.shown, job.line, 1, "pdf-failed", f"{job.path} could not be made: {rendering.error}",
                     "check templates/pdf/ and the fonts in templates/fonts/")
        return False
    if job.pages and rendering.pages > job.pages:
        report.error(job.shown, job.line, 1, "worksheet-overflow",
                     f"the worksheet needs {rendering.pages} pages on {PAPER_NAMES[job.paper]} paper "
                     f"but declares pages: {job.pages}",
                     "shorten the instructions, use fewer or smaller boxes, or set 'pages:' higher")
    elif job.pages and rendering.pages < job.pages:
        report.warning(job.shown, job.line, 1, "worksheet-pages",
                       f"the worksheet fits on {rendering.pages} page{'s' if rendering.pages > 1 else ''} on "
                       f"{PAPER_NAMES[job.paper]} paper but declares pages: {job.pages}",
                       f"set 'pages: {rendering.pages}' so the download link says how much paper it takes")
    return True


# --- cache -------------------------------------------------------------------

def inputs_digest(templates: Path) -> str:
    """Hash of everything besides the HTML that can change a PDF's bytes."""
    from importlib.metadata import version   # not an import of WeasyPrint: that takes ~1 s
    digest = hashlib.sha256(f"mend {__version__} weasyprint {version('weasyprint')} "
                            f"pydyf {version('pydyf')}\n".encode())
    digest.update(Path(__file__).read_bytes())
    for folder in READABLE_DIRS:
        for path in sorted(p for p in (templates / folder).rglob("*") if p.is_file()):
            digest.update(path.relative_to(templates).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _key(job: PdfJob, digest: str, keys: dict[str, str]) -> str:
    """A sheet's key is its HTML; a booklet's, its own HTML and metadata and its parts' keys."""
    text = json.dumps([digest, job.html, job.scale_names, job.title, job.author, job.lang,
                       [keys[part] for part in job.parts]], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def render_all(jobs: list[PdfJob], store, digest: str) -> dict[str, Rendering]:
    """Renderings for all jobs: stored ones from the store, the rest rendered in parallel."""
    keys: dict[str, str] = {}
    for job in jobs:           # parts come before their booklet
        keys[job.path] = _key(job, digest, keys)
    results = {job.path: _load(store, keys[job.path]) for job in jobs}
    missing = [job for job in jobs if results[job.path] is None]
    for job, rendering in zip(missing, render_jobs(_with_parts(missing, jobs))):
        results[job.path] = rendering
        if not rendering.error:
            _store(store, keys[job.path], rendering)
    return results


def _with_parts(missing: list[PdfJob], jobs: list[PdfJob]) -> list[tuple[PdfJob, tuple[PdfJob, ...]]]:
    """Each job to render with the jobs whose layout it needs: a booklet, its sheets."""
    by_path = {job.path: job for job in jobs}
    return [(job, tuple(by_path[part] for part in job.parts)) for job in missing]


def _load(store, key: str) -> Rendering | None:
    stored = store.get_bytes("pdf", key)
    if stored is None or b"\n" not in stored:
        return None
    header, data = stored.split(b"\n", 1)
    try:
        meta = json.loads(header)
        return Rendering(data, meta["pages"], tuple(meta["warnings"]))
    except (ValueError, KeyError, TypeError):
        return None


def _store(store, key: str, rendering: Rendering) -> None:
    meta = {"pages": rendering.pages, "warnings": list(rendering.warnings)}
    store.put_bytes("pdf", key, json.dumps(meta).encode() + b"\n" + rendering.data)


# --- rendering ---------------------------------------------------------------

def render_jobs(tasks: list[tuple[PdfJob, tuple[PdfJob, ...]]]) -> list[Rendering]:
    """Render each (job, the jobs it binds) in parallel, one process per paper size: a worker
    lays out each sheet once, for its own PDF and for the booklet of that size.

    Even a single PDF is rendered in a worker, so this process never initialises
    Pango and stays safe to fork.  Workers are forked: they start at once with
    WeasyPrint already imported, and do not re-run the calling script (as
    spawned workers would).
    """
    if not tasks:
        return []
    import weasyprint  # noqa: F401 - imported once here, inherited by every forked worker
    groups: dict[str, list[int]] = {}
    for index, (job, _) in enumerate(tasks):
        groups.setdefault(job.paper, []).append(index)
    # Forked workers start at once with WeasyPrint imported; never fork while another thread
    # runs (the child could inherit a held lock): a forkserver starts clean workers instead.
    methods = multiprocessing.get_all_start_methods()
    fork_safe = "fork" in methods and threading.active_count() == 1
    context = multiprocessing.get_context("fork" if fork_safe else None)
    results: list[Rendering | None] = [None] * len(tasks)
    try:
        with ProcessPoolExecutor(max_workers=min(len(groups), os.cpu_count() or 1), mp_context=context,
                                 initializer=die_with_parent()) as pool:
            done = pool.map(render_group, [[tasks[i] for i in indices] for indices in groups.values()])
            for indices, renderings in zip(groups.values(), done):
                for i, rendering in zip(indices, renderings):
                    results[i] = rendering
    except BrokenProcessPool:       # a worker was killed, e.g. out of memory
        return [Rendering(b"", 0, (), "a PDF worker process stopped unexpectedly") for _ in tasks]
    return results


def render_group(tasks: list[tuple[PdfJob, tuple[PdfJob, ...]]]) -> list[Rendering]:
    """Lay out every document the tasks need once, then write each task's PDF."""
    laid_out: dict[str, tuple] = {}      # job path -> (document or None, warnings, error)

    def layout(job: PdfJob) -> tuple:
        if job.path not in laid_out:
            laid_out[job.path] = _layout(job)
        return laid_out[job.path]
    return [_write(job, [layout(part) for part in parts], layout(job) if job.html else None)
            for job, parts in tasks]


def _layout(job: PdfJob) -> tuple:
    from weasyprint import HTML
    with _collected_warnings() as warnings:
        try:
            document = HTML(string=job.html, base_url=job.base_url,
                            url_fetcher=_local_fetcher(job.readable)).render(**OPTIONS)
        except Exception as exc:  # noqa: BLE001 - reported as a diagnostic, not a traceback
            return None, tuple(warnings), f"{type(exc).__name__}: {exc}"
    return document, tuple(warnings), ""


def _write(job: PdfJob, parts: list[tuple], own: tuple | None) -> Rendering:
    """The PDF of ``own`` (a sheet), or of the parts' pages followed by ``own``'s (a booklet)."""
    laid = parts + ([own] if own is not None else [])
    failed = next((error for _, _, error in laid if error), "")
    warnings = tuple(w for _, found, _ in laid for w in found) if not parts else ()
    if failed or not laid:
        return Rendering(b"", 0, warnings, failed or "nothing to bind")
    document = laid[0][0]
    if parts:
        document = _bound([doc for doc, _, _ in laid], job)
    with _collected_warnings() as written:
        try:
            data = document.write_pdf(finisher=partial(_name_scales, dict(job.scale_names)), **OPTIONS)
        except Exception as exc:  # noqa: BLE001 - reported as a diagnostic, not a traceback
            return Rendering(b"", 0, warnings + tuple(written), f"{type(exc).__name__}: {exc}")
    return Rendering(data, len(document.pages), warnings + (tuple(written) if not parts else ()))


def _bound(documents: list, job: PdfJob):
    """One document of the pages of ``documents``, titled as the booklet."""
    from weasyprint.document import Document
    first = documents[0]
    metadata = copy.copy(first.metadata)
    metadata.title, metadata.authors, metadata.lang = job.title, [job.author], job.lang
    return Document([page for doc in documents for page in doc.pages], metadata, first.url_fetcher,
                    first.font_config, first.color_profiles, first.output_intent)


def _local_fetcher(readable: tuple[str, ...]):
    """Only file: URLs inside ``readable`` folders, and data: URLs; never the network."""
    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if not any(path.is_relative_to(folder) for folder in readable):
                    raise ValueError(f"not reading {path}: only files in templates/pdf/ and templates/fonts/")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols={"file", "data"})


@contextlib.contextmanager
def _collected_warnings():
    """WeasyPrint's warnings, as a list, instead of lines on stderr."""
    logger = logging.getLogger("weasyprint")
    found: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: found.append(record.getMessage())
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _name_scales(scale_names: dict[str, str], document, pdf) -> None:
    """Give each rating scale its full spoken name, and make its buttons one field.

    WeasyPrint names a radio group after its first button's label (just "1") and
    also gives every button a name of its own, which makes form readers see a
    second field inside each group.  It also lists every button in the AcroForm's
    top-level /Fields beside its group, which validators (veraPDF, PAC) report: a
    button is reached through its group's /Kids only.
    """
    buttons = set()
    for obj in pdf.objects:
        if not isinstance(obj, dict) or obj.get("FT") != "/Btn":
            continue
        if "Kids" in obj and obj["T"].string in scale_names:
            obj["TU"] = type(obj["TU"])(scale_names[obj["T"].string])
        elif "Parent" in obj:
            obj.pop("T", None)
            obj.pop("TU", None)
            buttons.add(obj.reference)
    form = pdf.catalog.get("AcroForm")
    if form is not None and buttons:
        form["Fields"] = type(form["Fields"])(ref for ref in form["Fields"] if ref not in buttons)
