"""The published-number check: every phone number in the output belongs to a vetted service.

A wrong helpline number can send someone in danger to a stranger, so the build reads what it
wrote, not what it meant to write: every ``tel:`` and ``sms:`` link and every phone-number-like
run of digits in the text of every HTML page (and of the HTML each PDF is made from) must be a
number that appears in the ``note`` of a ``confirmed`` or ``likely`` service entry whose
evidence reports no conflict.  Anything else is an error naming the page and the number.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from pathlib import Path

from .bibliography import Bibliography
from .diagnostics import Report
from .helpdata import CONFLICT_RE, ELIGIBLE, dial_digits

# A run of digit groups joined by single spaces or hyphens; an all-capitals word may stand for
# digits on the keypad (1-800-799-SAFE).  Digits inside DOIs, decimals, times and amounts are not
# runs: the characters around them rule them out.  (Written to start with a digit or "+", the
# character before checked by a lookbehind after it, so the regex skips text without digits.)
NUMBER_RE = re.compile(r"(?:\+(?<![\w.,/:£$€#+-]\+)\d|\d(?<![\w.,/:£$€#+-]\d))\d*(?:[ \u00a0-](?:\d+|[A-Z]{3,}(?![a-z])))*(?![\w%]|[.,:/]\d)")
# Words that make a short number (999, 85258) a phone number; without them "in 312 people" is not.
PHONE_WORDS_RE = re.compile(r"\b(?:call|calls|calling|ring|dial|phone|text|texting|textphone|tty|freephone|"
                            r"helpline|hotline|number|sms|emergency|triple zero)\b", re.I)
LINK_RE = re.compile(r"""[hH][rR][eE][fF]=["']((?i:tel|sms)):([^"']*)["']""")   # no re.I: 30% faster
UNSEEN_RE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
# Reference lists (a page's Sources and the Sources pages): their numbers are volumes, pages and
# article numbers ("Clinical Psychology Review, 79, 101861"), never phone numbers.
REFERENCE_RE = re.compile(r'<ol class="references">.*?</ol>|<p class="reference">.*?</p>', re.S)
TAG_RE = re.compile(r"<[^>]*>")
YEAR_RE = re.compile(r"^(?:19|20)\d\d$")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d$")
SENTENCE_END_RE = re.compile(r"[.!?]\s|\0\0")
CONTEXT = 80           # characters before a short number searched for a phone word (same sentence)


def allowed_numbers(bibliography: Bibliography) -> set[str]:
    """The digits of every number in the notes of publishable service entries."""
    allowed = set()
    for source in bibliography.sources.values():
        data = source.data
        if data.get("note") and data.get("verified") in ELIGIBLE and not CONFLICT_RE.search(str(data.get("evidence", ""))):
            allowed.update(dial_digits(m[0]) for m in NUMBER_RE.finditer(str(data["note"])))
    return {digits for digits in allowed if len(digits) >= 3 and not YEAR_RE.match(digits)}


def phone_numbers(html: str) -> list[tuple[str, int]]:
    """(number as shown, offset in ``html``) for every phone link and phone-like number in the text."""
    found = [(f"{m[1]}:{m[2]}", m.start()) for m in LINK_RE.finditer(html)] if _may_link(html) else []
    text = _text_of(html)
    for m in NUMBER_RE.finditer(text):
        shown = m[0].replace("\u00a0", " ")
        verdict = _verdict(shown)
        if verdict if verdict is not None else _after_phone_word(text, m.start()):
            found.append((shown, -1))
    return found


def _after_phone_word(text: str, at: int) -> bool:
    """A short number is a phone number only after a phone word in its own sentence."""
    return bool(PHONE_WORDS_RE.search(SENTENCE_END_RE.split(text[max(0, at - CONTEXT):at])[-1]))


def _may_link(html: str) -> bool:
    """A quick look for "tel:" or "sms:" in any case: most pages have no phone link."""
    lowered = html.encode("utf-8", "replace").lower()     # bytes: 10x faster to lower than text
    return b"tel:" in lowered or b"sms:" in lowered


def _text_of(html: str) -> str:
    """What a reader sees, less reference lists: scripts and styles out, every tag a break (so
    "123<sup>4</sup>" is two numbers)."""
    return html_lib.unescape(TAG_RE.sub("\0", UNSEEN_RE.sub("\0", REFERENCE_RE.sub("\0", html))))


@functools.lru_cache(maxsize=4096)      # pure; pages repeat the same footnote numbers and years
def _verdict(shown: str) -> bool | None:
    """Whether a run of digits is a phone number by its look alone; None when its sentence decides."""
    digits = shown if shown.isdigit() else dial_digits(shown)
    if len(digits) < 3:             # most runs are citation numbers and counts
        return False
    if DATE_RE.match(shown) or all(YEAR_RE.match(group) for group in re.split(r"[ -]", shown)):
        return False
    return True if len(digits) >= 6 else None


def unverified(html: str, allowed: set[str]) -> list[tuple[str, int]]:
    """The numbers in ``html`` that no publishable service's note has."""
    return [(shown, offset) for shown, offset in phone_numbers(html)
            if dial_digits(shown.split(":", 1)[-1]) not in allowed]


def check_output(found: dict[str, list], staging, site, report: Report) -> None:
    """Check the numbers every HTML output shows (``found``: output path -> its
    ``phone_numbers``, taken when it was rendered and kept with its render record, so no
    page is read again).  An error points at the content file's line when the number is
    written there, else at the output (read only then: from staging, or where it was kept)."""
    allowed = allowed_numbers(site.bibliography)
    sources = {page.output_path: (page.source, page.shown) for page in site.pages}
    for name in sorted(found):
        wrong = [(number, offset) for number, offset in found[name]
                 if dial_digits(number.split(":", 1)[-1]) not in allowed]
        if wrong:
            path = staging.folder / name
            if not path.is_file() and staging.published is not None:
                path = staging.published.out / name
            html = path.read_bytes().decode("utf-8", "replace") if path.is_file() else ""
            for number, offset in wrong:
                _report(number, offset, html, f"{site.project.out.name}/{name}", report, sources.get(name))


def check_text(html: str, shown: str, allowed: set[str], report: Report,
               source: tuple[Path, str] | None = None) -> None:
    """Report each unverified number in ``html``, the output shown as ``shown``."""
    for number, offset in unverified(html, allowed):
        _report(number, offset, html, shown, report, source)


def _report(number: str, offset: int, html: str, shown: str, report: Report,
            source: tuple[Path, str] | None) -> None:
    where, line, col = _position(html, offset, number, shown, source)
    report.error(where, line, col, "number-unverified",
                 f"{shown} publishes the number '{number}', which is not in the note of any confirmed or "
                 f"likely service entry",
                 "take numbers only from the vetted library's notes (content/help.yaml renders them); "
                 "a number whose entry reports conflicting numbers is never published")


def _position(html: str, offset: int, number: str, shown: str,
              source: tuple[Path, str] | None) -> tuple[str, int, int]:
    """Where to point: the number in the content file when it is written there, else the output."""
    bare = number.split(":", 1)[-1]
    if source is not None and source[0].is_file():
        text = source[0].read_text("utf-8", "replace")
        at = text.find(bare)
        if at >= 0:
            return source[1], text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    if offset < 0:
        offset = max(html.find(bare), 0)
    return shown, html.count("\n", 0, offset) + 1, offset - html.rfind("\n", 0, offset)
