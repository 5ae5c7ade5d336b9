"""The bibliography: content/sources.yaml in CSL-YAML, checked and formatted in APA 7.

Formatting is Pandoc's citeproc with the APA CSL style shipped in
mend/styles/.  The whole bibliography is formatted in one pandoc call, started
as soon as sources.yaml is read so that it runs while the pages load, and the
result kept in the build's store (``mend.store``), keyed by a hash of the entries,
the style and the pandoc version, so a build whose sources.yaml has not changed never runs
pandoc and citing costs nothing per page.  A sources.yaml that passed its
checks is cached too, keyed by its own hash, so an unchanged one is not parsed.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .diagnostics import Report, did_you_mean, shown_path
from .files import decode_utf8
from .markup import plain_text, sanitize
from .parallel import die_with_parent
from .schema import YamlProblem, compose_yaml
from .store import Store

SOURCES_FILE = "sources.yaml"
STYLE = Path(__file__).parent / "styles" / "apa.csl"
CHECKS_VERSION = 2          # bump when the entry checks change, so cached results are redone
ELIGIBLE = ("confirmed", "likely")
VERIFIED_VALUES = ("confirmed", "likely", "corrected", "doubtful")
# Our own fields: kept in sources.yaml, never sent to the CSL processor.
# design, sample, finding_note, design_note: what the editorial claim checks read (mend/editorial.py);
# checked and language: when a service was last seen, and the language it is offered in.
EDITORIAL_FIELDS = ("verified", "evidence", "finding", "note", "design", "sample", "finding_note", "design_note",
                    "checked", "language")
KEY = r"\w(?:[\w.:-]*\w)?"        # a citation key: letters, digits and _, with inner '.', ':' and '-'
KEY_RE = re.compile(rf"^{KEY}$")
DOI_PREFIX_RE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)

CSL_TYPES = (
    "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book", "broadcast",
    "chapter", "classic", "collection", "dataset", "document", "entry", "entry-dictionary",
    "entry-encyclopedia", "event", "figure", "graphic", "hearing", "interview", "legal_case", "legislation",
    "manuscript", "map", "motion_picture", "musical_score", "pamphlet", "paper-conference", "patent",
    "performance", "periodical", "personal_communication", "post", "post-weblog", "regulation", "report",
    "review", "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage",
)
CSL_NAME_FIELDS = (
    "author", "chair", "collection-editor", "compiler", "composer", "container-author", "contributor",
    "curator", "director", "editor", "editorial-director", "editor-translator", "executive-producer",
    "guest", "host", "illustrator", "interviewer", "narrator", "organizer", "original-author", "performer",
    "producer", "recipient", "reviewed-author", "script-writer", "series-creator", "translator",
)
CSL_DATE_FIELDS = ("accessed", "available-date", "event-date", "issued", "original-date", "submitted")
CSL_TEXT_FIELDS = (
    "abstract", "annote", "archive", "archive_collection", "archive_location", "archive-place", "authority",
    "call-number", "chapter-number", "citation-label", "collection-number", "collection-title",
    "container-title", "container-title-short", "dimensions", "division", "DOI", "edition", "event",
    "event-place", "event-title", "genre", "ISBN", "ISSN", "issue", "jurisdiction", "keyword", "language",
    "license", "medium", "number", "number-of-pages", "number-of-volumes", "original-publisher",
    "original-publisher-place", "original-title", "page", "page-first", "part", "part-title", "PMCID", "PMID",
    "printing", "publisher", "publisher-place", "references", "reviewed-genre", "reviewed-title", "scale",
    "section", "source", "status", "supplement", "title", "title-short", "URL", "version", "volume",
    "volume-title", "year-suffix",
)
KNOWN_FIELDS = {"id", "type", *CSL_NAME_FIELDS, *CSL_DATE_FIELDS, *CSL_TEXT_FIELDS, *EDITORIAL_FIELDS}


@dataclass
class Source:
    key: str
    data: dict              # the entry as written, editorial fields included
    line: int               # where the entry starts in sources.yaml
    html: str = ""          # the APA 7 reference, as HTML with DOI/URL links
    text: str = ""          # the same as plain text (for JSON-LD)
    order: int = 0          # position in the APA-sorted reference list

    @property
    def eligible(self) -> bool:
        return self.data.get("verified") in ELIGIBLE

    @property
    def findable(self) -> bool:
        """Can a reader find it?  A DOI or URL links to it; an ISBN, or a journal with
        volume and pages, locates it in any library (APA 7 gives no URL for journal
        articles without a DOI).  The library never guesses a missing DOI."""
        data = self.data
        located = all(data.get(k) for k in ("container-title", "volume", "page"))
        return bool(self.link or data.get("ISBN") or (data.get("type") == "article-journal" and located))

    @property
    def link(self) -> str:
        """Where the reference points: the DOI resolver, else the URL, else ""."""
        if self.data.get("DOI"):
            return "https://doi.org/" + str(self.data["DOI"])
        return str(self.data.get("URL") or "")


@dataclass
class Bibliography:
    shown: str                                  # sources.yaml as printed in diagnostics
    store: Store                                # keeps checked entries and formatted references
    sources: dict[str, Source] = field(default_factory=dict)
    formatted: bool = False
    pending: "Formatting | None" = None         # started by start_formatting, read by format_references

    def ordered(self) -> list[Source]:
        return sorted(self.sources.values(), key=lambda s: (s.order, s.key))


def load_bibliography(content_dir: Path, display_root: Path, store: Store, report: Report,
                      data: bytes | None = None) -> Bibliography:
    """Read and check content/sources.yaml (``data``: its bytes, when already read).  A missing
    file is an empty bibliography.  Formatting waits for ``format_references``."""
    path = content_dir / SOURCES_FILE
    shown = shown_path(path, display_root)
    bibliography = Bibliography(shown, store)
    if not path.is_file():
        return bibliography
    text = decode_utf8(path.read_bytes() if data is None else data, shown, report, "bibliography")
    if text is None:
        return bibliography
    digest = hashlib.sha256(f"{CHECKS_VERSION}\0{text}".encode("utf-8")).hexdigest()
    checked_before = store.get("sources", digest)
    if isinstance(checked_before, list):      # checked before and unchanged since: skip the YAML parser
        for key, line, entry in checked_before:
            bibliography.sources[key] = Source(key, entry, line)
        return bibliography
    problems = len(report.items)
    for index, (node, data) in enumerate(_parse(text, shown, report), start=1):
        source = _entry(node, data, index, shown, report)
        if source is None:
            continue
        if source.key in bibliography.sources:
            report.error(shown, source.line, 1, "source-duplicate",
                         f"source '{source.key}' is defined twice (first at line "
                         f"{bibliography.sources[source.key].line})", "remove one of them")
            continue
        bibliography.sources[source.key] = source
    checked = [[s.key, s.line, s.data] for s in bibliography.sources.values()]
    if len(report.items) == problems and json.loads(json.dumps(checked, default=str)) == checked:
        store.put("sources", digest, checked)
    return bibliography


def _parse(text: str, shown: str, report: Report) -> list[tuple]:
    """(YAML node, value) for each entry, so every problem can be placed at its line."""
    try:
        root, data = compose_yaml(text)
    except YamlProblem as exc:
        report.error(shown, exc.line, exc.col, "sources-yaml", f"invalid YAML: {exc}",
                     "each entry starts with '- id: key' at the left margin")
        return []
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        report.error(shown, root.start_mark.line + 1, 1, "sources-not-list",
                     "sources.yaml must be a list of CSL-YAML entries",
                     "start each entry with '- id: key', as Zotero and Pandoc export it")
        return []
    return list(zip(root.value, data))


def _entry(node, data, index: int, shown: str, report: Report) -> Source | None:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        report.error(shown, line, node.start_mark.column + 1, "source-malformed",
                     f"entry {index} is not a mapping of fields", "write it as '- id: key' then 'type: ...' etc.")
        return None
    positions = {str(k.value): (k.start_mark.line + 1, k.start_mark.column + 1) for k, _ in node.value}
    key = data.get("id")
    name = f"entry '{key}'" if isinstance(key, str) else f"entry {index}"
    problems = _entry_problems(data, positions, line, name)
    for (pline, pcol), code, message, hint in problems:
        report.error(shown, pline, pcol, code, message, hint)
    if problems or not isinstance(key, str):
        return None
    if "checked" in data:           # a service's last-checked date, kept as text (YAML reads a date)
        data["checked"] = str(data["checked"])
    return Source(key, data, line)


def _entry_problems(data: dict, positions: dict, line: int, name: str) -> list:
    """(position, code, message, hint) for each problem with one entry."""
    problems = []

    def at(field_name):
        return positions.get(field_name, (line, 1))

    def add(field_name, message, hint=""):
        problems.append((at(field_name), "source-malformed", f"{name}: {message}", hint))

    key = data.get("id")
    if not isinstance(key, str) or not KEY_RE.match(key):
        add("id", "'id' must be a key of letters, digits, '_', '.', ':' or '-'", "for example 'id: smith2020grief'")
    if data.get("type") not in CSL_TYPES:
        add("type", f"'type' must be a CSL type, not '{data.get('type')}'",
            did_you_mean(data.get("type"), CSL_TYPES) or "e.g. article-journal, book, chapter or webpage")
    if not isinstance(data.get("title"), str) or not data["title"].strip():
        add("title", "'title' is missing or empty")
    for field_name in data:
        if field_name not in KNOWN_FIELDS:
            add(field_name, f"unknown field '{field_name}'",
                did_you_mean(field_name, KNOWN_FIELDS) or "use CSL variable names, as Zotero exports them")
    for field_name in CSL_NAME_FIELDS:
        if field_name in data and not _names_ok(data[field_name]):
            add(field_name, f"'{field_name}' must be a list of names",
                "each name is '- family: Smith' with 'given: Ann', or '- literal: Organisation name'")
    for field_name in CSL_DATE_FIELDS:
        if field_name in data and not _date_ok(data[field_name]):
            add(field_name, f"'{field_name}' must be a CSL date", "write it as 'date-parts: [[2020, 5, 1]]'")
    if "verified" in data and data["verified"] not in VERIFIED_VALUES:
        add("verified", f"'verified' must be one of {', '.join(VERIFIED_VALUES)}, not '{data['verified']}'",
            did_you_mean(data["verified"], VERIFIED_VALUES))
    doi = data.get("DOI")
    if doi is not None and (not isinstance(doi, str) or DOI_PREFIX_RE.match(doi) or not doi.startswith("10.")):
        bare = DOI_PREFIX_RE.sub("", str(doi))
        add("DOI", f"store the DOI bare, not '{doi}'", f"write 'DOI: {bare}'" if bare.startswith("10.") else
            "a DOI starts with '10.', e.g. 10.1111/j.1475-6811.2009.01208.x")
    url = data.get("URL")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
        add("URL", f"'URL' must be an http(s) address, not '{url}'")
    return problems


def _names_ok(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(n, dict) and (isinstance(n.get("family"), str) or isinstance(n.get("literal"), str))
        for n in value)


def _date_ok(value) -> bool:
    if not isinstance(value, dict):
        return False
    if "literal" in value or "raw" in value:
        return True
    parts = value.get("date-parts")
    return (isinstance(parts, list) and bool(parts)
            and all(isinstance(p, list) and 1 <= len(p) <= 3 and all(isinstance(x, (int, str)) for x in p)
                    for p in parts))


# Formatting ---------------------------------------------------------------------------------

_ENTRY_RE = re.compile(r'<div id="ref-([^"]+)" class="csl-entry"[^>]*>\s*(.*?)\s*</div>', re.S)


@dataclass
class Formatting:
    """The formatted sources on their way: from the store, or from a pandoc still running."""

    digest: str                                         # their key in the store
    result: Callable[[], list[tuple[str, str]]]         # waits when pandoc runs; may raise FormattingFailed
    fresh: bool                                         # pandoc's, so the store keeps it


def start_formatting(bibliography: Bibliography) -> None:
    """Start pandoc now, while the pages load, when the store does not have these sources
    formatted.  ``format_references`` collects the result; a site that cites nothing never
    does, so a pandoc that fails or is missing only matters to a site that cites."""
    if bibliography.sources and bibliography.pending is None:
        payload, digest = _request(bibliography)
        known = bibliography.store.get("references", digest)
        if isinstance(known, list):
            formatted = [tuple(pair) for pair in known]
            bibliography.pending = Formatting(digest, lambda: formatted, fresh=False)
        else:
            bibliography.pending = Formatting(digest, start_pandoc(payload), fresh=True)


def format_references(bibliography: Bibliography, report: Report) -> None:
    """Give every source its APA 7 HTML and position, from the cache or one pandoc call.
    Runs once per build, and only when a page cites something."""
    if bibliography.formatted or not bibliography.sources:
        return
    bibliography.formatted = True
    try:
        formatted = _formatted(bibliography)
    except FormattingFailed as exc:
        report.error(bibliography.shown, 1, 1, "sources-format", f"pandoc could not format the sources: {exc}",
                     "check the entry it names; 'pandoc --version' must work")
        return
    for order, (key, html) in enumerate(formatted):
        if key in bibliography.sources:
            source = bibliography.sources[key]
            # Titles are content: clean them like any page body before they reach a page.
            source.html, source.text, source.order = sanitize(html), plain_text(html), order


def _csl_entry(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in EDITORIAL_FIELDS}


class FormattingFailed(Exception):
    """pandoc failed or could not be run."""


def _request(bibliography: Bibliography) -> tuple[str, str]:
    """The CSL JSON pandoc formats, and its key in the store: the entries, the style and the
    pandoc version."""
    payload = json.dumps([_csl_entry(s.data) for s in bibliography.sources.values()], sort_keys=True,
                         ensure_ascii=False, default=str)
    digest = hashlib.sha256(b"\0".join([payload.encode("utf-8"), STYLE.read_bytes(),
                                        _pandoc_version().encode()])).hexdigest()
    return payload, digest


def _formatted(bibliography: Bibliography) -> list[tuple[str, str]]:
    """[(key, reference HTML)] in reference-list order: from the store, else pandoc's run."""
    start_formatting(bibliography)
    pending, bibliography.pending = bibliography.pending, None
    formatted = pending.result()
    if pending.fresh:
        bibliography.store.put("references", pending.digest, formatted)
    return formatted


NOCITE = b"---\nnocite: '@*'\n---\n"      # the document pandoc formats: every source, no text


def start_pandoc(csl_json: str) -> Callable[[], list[tuple[str, str]]]:
    """Start one pandoc --citeproc over the whole bibliography; the function returned waits
    for it and gives [(key, reference HTML)], or raises ``FormattingFailed``."""
    folder = tempfile.TemporaryDirectory(prefix="mend-pandoc-")
    bib = Path(folder.name) / "sources.json"
    bib.write_text(csl_json, "utf-8")
    command = [_pandoc(), "--citeproc", "--csl", str(STYLE), "--bibliography", str(bib),
               "--from", "markdown", "--to", "html", "--wrap", "none"]
    output, messages = tempfile.TemporaryFile(), tempfile.TemporaryFile()   # files: a full pipe would stall it
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=output, stderr=messages,
                                   preexec_fn=die_with_parent())
        process.stdin.write(NOCITE)
        process.stdin.close()
    except OSError as exc:
        failure = str(exc)
        folder.cleanup()

        def failed() -> list[tuple[str, str]]:
            raise FormattingFailed(failure)
        return failed

    def result() -> list[tuple[str, str]]:
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise FormattingFailed("pandoc took more than 2 minutes") from None
        finally:
            folder.cleanup()
        output.seek(0)
        messages.seek(0)
        stdout, stderr = output.read().decode("utf-8", "replace"), messages.read().decode("utf-8", "replace")
        output.close()
        messages.close()
        if process.returncode != 0:
            raise FormattingFailed(stderr.strip().splitlines()[-1] if stderr.strip() else "no output")
        return [(key, " ".join(body.split())) for key, body in _ENTRY_RE.findall(stdout)]
    return result


@lru_cache(maxsize=1)
def _pandoc() -> str:
    """The pandoc that the pypandoc_binary wheel ships (or one on PATH)."""
    try:
        import pypandoc
        return pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        return "pandoc"


@lru_cache(maxsize=1)
def _pandoc_version() -> str:
    try:
        done = subprocess.run([_pandoc(), "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.split("\n", 1)[0]
