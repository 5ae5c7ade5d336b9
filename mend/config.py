"""Site configuration: ``content/site.yaml``, validated into a ``SiteConfig``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .diagnostics import Report, shown_path
from .schema import Field, YamlProblem, load_yaml, validate

CONFIG_FILE = "site.yaml"
# BCP 47, the common subset: language[-script][-region] ("en", "en-GB", "sr-Latn-RS", "es-419").
# Variants and extensions are refused; the tag lands in every page's lang and Pagefind's config.
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?", re.I)
# A section folder: one or more plain names, never "..", an absolute path or a backslash.
SECTION_DIR_RE = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*", re.I)

SECTION_SCHEMA = {
    "dir": Field("str", True, "folder under content/ holding the section's pages"),
    "title": Field("str", True, "the section's name in navigation and on the home page"),
    "summary": Field("str", True, "one sentence shown under the title on the home page"),
    "kind": Field("str", True, "the kind of page the section holds (used by 'new')",
                  ("article", "faq", "worksheet", "page")),
}

SCHEMA = {
    "title": Field("str", True, "the site's name"),
    "tagline": Field("str", False, "a short line under the site's name"),
    "language": Field("str", True, "BCP 47 language tag, e.g. en-GB"),
    "base_url": Field("str", True, "where the site is published, e.g. https://example.org/ or https://example.org/mend/"),
    "description": Field("str", True, "one sentence describing the site"),
    "publisher": Field("str", True, "who runs the site (shown in the footer and structured data)"),
    "review_interval_months": Field("int", False, "how long a review lasts; at most 36"),
    "exit_url": Field("str", False, "neutral site the Exit button goes to"),
    "sections": Field("list", True, "the guide's sections, in navigation order"),
    "reading_grade_max": Field("int", False, "highest Flesch-Kincaid grade allowed for body text"),
}


@dataclass(frozen=True)
class Section:
    dir: str
    title: str
    summary: str
    kind: str


@dataclass(frozen=True)
class SiteConfig:
    title: str
    language: str
    base_url: str            # always ends with "/"
    description: str
    publisher: str
    sections: tuple[Section, ...]
    tagline: str = ""
    review_interval_months: int = 12
    exit_url: str = "https://www.bbc.co.uk/weather"
    reading_grade_max: int = 8

    @property
    def base_path(self) -> str:
        """The path part of base_url: "/" at a domain root, "/mend/" under a sub-path."""
        return urlsplit(self.base_url).path or "/"

    def absolute(self, url: str) -> str:
        """Absolute URL of a site path such as "/guide/x/"."""
        return self.base_url + url.lstrip("/")


def load_config(content_dir: Path, report: Report, display_root: Path) -> SiteConfig | None:
    path = content_dir / CONFIG_FILE
    shown = shown_path(path, display_root)
    if not path.is_file():
        report.error(shown, 1, 1, "config-missing", f"no site configuration at {shown}",
                     "create it; see README.md, 'Site configuration'")
        return None
    try:
        data, positions = load_yaml(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        report.error(shown, 1, exc.start + 1, "encoding", "the configuration is not valid UTF-8")
        return None
    except YamlProblem as exc:
        report.error(shown, exc.line, exc.col, "yaml-syntax", f"invalid YAML: {exc}")
        return None
    if not isinstance(data, dict):
        report.error(shown, 1, 1, "config-not-mapping", "the configuration must be a mapping of keys to values")
        return None
    if not validate(data, SCHEMA, positions, shown, report, what="configuration"):
        return None
    line = positions.get("base_url", (1, 1))[0]
    url = urlsplit(data["base_url"])
    if url.scheme not in ("http", "https") or not url.netloc:
        report.error(shown, line, 1, "config-value", "'base_url' must be an absolute http(s) URL",
                     "e.g. https://example.org/ or https://example.org/mend/")
        return None
    if not _valid_language(data["language"], positions, shown, report) or \
            not _valid_exit_url(data.get("exit_url"), url.hostname, positions, shown, report):
        return None
    interval = data.get("review_interval_months", 12)
    if not 1 <= interval <= 36:
        report.error(shown, positions["review_interval_months"][0], 1, "config-value",
                     "'review_interval_months' must be between 1 and 36",
                     "the editorial standard allows at most 3 years between reviews")
        return None
    sections = _sections(data["sections"], positions, shown, report)
    if sections is None:
        return None
    known = {k: data[k] for k in SCHEMA if k in data and k != "sections"}
    known["base_url"] = data["base_url"].rstrip("/") + "/"
    return SiteConfig(sections=sections, **known)


def _valid_language(language: str, positions, shown, report: Report) -> bool:
    if LANGUAGE_RE.fullmatch(language):
        return True
    line, col = positions.get("language", (1, 1))
    report.error(shown, line, col, "config-value", f"'language' must be a BCP 47 tag, not '{language[:40]}'",
                 "language, then optionally script and region: en, en-GB, sr-Latn-RS, es-419")
    return False


def _valid_exit_url(exit_url: str | None, site_host: str | None, positions, shown, report: Report) -> bool:
    """The Exit button must take the reader to another site at once: an absolute https URL
    whose host is not the site's own (``#``, a relative path or ``javascript:`` keep them here)."""
    if exit_url is None:
        return True
    url = urlsplit(exit_url.strip())
    try:
        host = url.hostname
    except ValueError:
        host = None
    if url.scheme == "https" and host and host != site_host and not url.username:
        return True
    line, col = positions.get("exit_url", (1, 1))
    report.error(shown, line, col, "config-value",
                 f"'exit_url' must be an absolute https:// URL on another site, not '{exit_url[:60]}'",
                 "e.g. https://www.bbc.co.uk/weather: a neutral site with no personalised content")
    return False


def _sections(items, positions, shown, report: Report):
    """The sections, each checked where it is in the file."""
    sections = []
    for index, item in enumerate(items):
        line, col = positions.get(("sections", index), positions.get("sections", (1, 1)))
        if not isinstance(item, dict):
            report.error(shown, line, col, "config-value", "each entry of 'sections' must be a mapping",
                         "give dir, title, summary and kind")
            return None
        keys = {key: positions[("sections", index, key)] for key in map(str, item)
                if ("sections", index, key) in positions}
        if not validate(item, SECTION_SCHEMA, keys or {}, shown, report, line_offset=0 if keys else line,
                        what="section"):
            return None
        if not SECTION_DIR_RE.fullmatch(item["dir"]):
            line, col = keys.get("dir", (line, col))
            report.error(shown, line, col, "config-value",
                         f"section 'dir' must be a folder name under content/, not '{item['dir'][:60]}'",
                         "letters, digits, '-' and '_', e.g. guide; never '..' or an absolute path")
            return None
        sections.append(Section(item["dir"], item["title"], item["summary"], item["kind"]))
    return tuple(sections)
