"""The editorial report printed by ``python build.py check``: one row per page.

It summarises what the diagnostics above it say in detail, so an editor can see
at a glance which pages need work: reading grade, sections without citations,
editorial-rule and claim-strength problems, when the next review is due, and how
many errors and warnings the page has.  Below it, each cited source with the pages
that cite it, most-cited first, so a statistic repeated across the site shows.
It fits a 100-column terminal.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections import Counter

from .diagnostics import ERROR, Report
from .editorial import MIN_WORDS_FOR_GRADE, PageFindings

WIDTH = 100
COLUMNS = (("words", 6), ("grade", 7), ("uncited", 8), ("editorial", 10), ("next review", 13), ("errors", 7),
           ("warn", 5))


def editorial_table(findings: dict[str, PageFindings], report: Report, today: dt.date,
                    strict: bool = False) -> str:
    """The per-page table, then a line of totals."""
    counts = _counts(report, strict)
    grade_max = next(iter(findings.values())).grade_max if findings else PageFindings("").grade_max
    paths = sorted(set(findings)) + sorted(set(counts) - set(findings))
    page_width = WIDTH - sum(w for _, w in COLUMNS) - 1
    lines = [f"Editorial report ({today}; reading grade ceiling {grade_max})",
             "page".ljust(page_width) + "".join(name.rjust(width) for name, width in COLUMNS)]
    lines.append("-" * len(lines[-1]))
    for path in paths:
        lines.append(_row(path, findings.get(path), counts.get(path, Counter()), today, grade_max, page_width))
    lines.append("-" * len(lines[1]))
    lines.append("! grade above the ceiling, or review overdue; - too short to grade, or not a page")
    totals = Counter()
    for count in counts.values():
        totals.update(count)
    lines.append(f"{len(findings)} pages. Uncited sections: {totals['uncited']}; editorial problems: "
                 f"{totals['editorial']}; overdue reviews: {totals['overdue']}; errors: {totals['errors']}; "
                 f"warnings: {totals['warnings']}")
    return "\n".join(lines + sources_table(findings))


def sources_table(findings: dict[str, PageFindings]) -> list[str]:
    """Each cited source, the number of pages citing it and which: most-cited first."""
    citing: dict[str, list[str]] = {}
    for path in sorted(findings):
        for key in findings[path].cites:
            citing.setdefault(key, []).append(_page_name(path))
    if not citing:
        return []
    key_width = min(max(map(len, citing)), 34) + 2
    lines = ["", "Sources, most-cited first (a source on many pages may be a statistic repeated there)",
             "source".ljust(key_width) + "pages".rjust(5) + "  cited on"]
    lines.append("-" * WIDTH)
    indent = " " * (key_width + 7)
    for key in sorted(citing, key=lambda k: (-len(citing[k]), k)):
        wrapped = textwrap.wrap(", ".join(citing[key]), WIDTH - len(indent), break_on_hyphens=False) or [""]
        lines.append(key.ljust(key_width) + str(len(citing[key])).rjust(5) + "  " + wrapped[0])
        lines += [indent + more for more in wrapped[1:]]
    return lines


def _page_name(path: str) -> str:
    return path.removeprefix("content/").removesuffix(".md")


def _counts(report: Report, strict: bool) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for d in report.sorted():
        count = counts.setdefault(d.path, Counter())
        count["errors" if d.severity == ERROR or strict else "warnings"] += 1
        if d.code == "section-uncited":
            count["uncited"] += 1
        elif d.code.startswith(("editorial/", "claim/")) or d.code == "myth-not-allowed":
            count["editorial"] += 1
        elif d.code == "review-overdue":
            count["overdue"] += 1
    return counts


def _row(path: str, found: PageFindings | None, count: Counter, today: dt.date, grade_max: int,
         page_width: int) -> str:
    name = path.removeprefix("content/")
    if len(name) > page_width - 1:
        name = name[:page_width - 2] + "…"
    if found is None:      # not a page, or a page that failed to load: its diagnostics say why
        cells = ["-", "-", "-", "-", "not loaded" if path.endswith(".md") else "-"]
    else:
        grade = "-" if found.words < MIN_WORDS_FOR_GRADE else f"{found.grade:.1f}"
        if found.words >= MIN_WORDS_FOR_GRADE and found.grade > grade_max:
            grade += "!"
        due = str(found.next_review) + ("!" if found.next_review < today else " ")
        cells = [str(found.words), grade, str(count["uncited"]), str(count["editorial"]), due]
    cells += [str(count["errors"]), str(count["warnings"])]
    return name.ljust(page_width) + "".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS))
