"""``python build.py new KIND SLUG``: start a page whose front matter already validates."""

from __future__ import annotations

import calendar
import datetime as dt
import sys

from .config import load_config
from .content import SLUG_RE
from .diagnostics import Report

BODIES = {
    "article": "Write the opening here: who this page is for and what it covers.\n\n"
               "## First section\n\nEach section cites at least one source, like this [@key].\n",
    "faq": "One or two sentences about this group of questions.\n\n"
           "## A question people ask?\n\nLead with the direct answer, then link to the article that goes deeper.\n",
    "worksheet": "One or two sentences on what this worksheet is for and how to use it.\n",
    "page": "Write the page here.\n",
}


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def new_page(project, kind: str, slug: str, today: dt.date | None = None) -> int:
    if not SLUG_RE.match(slug):
        print(f"build.py new: error: '{slug}' is not a valid slug (lower-case letters, digits, hyphens)",
              file=sys.stderr)
        return 2
    report = Report()
    config = load_config(project.content, report, project.root)
    if config is None:
        print(report.format(), file=sys.stderr)
        return 1
    folder = next((s.dir for s in config.sections if s.kind == kind), "")
    path = project.content / folder / f"{slug}.md"
    if path.exists():
        print(f"build.py new: error: {path.relative_to(project.root)} already exists", file=sys.stderr)
        return 2
    today = today or dt.date.today()
    review = add_months(today, config.review_interval_months)
    text = (f"---\ntitle: {slug.replace('-', ' ').capitalize()}\nsummary: One or two sentences for lists and "
            f"previews.\nkind: {kind}\nauthors: [Mend editorial team]\nreviewers: [Mend editorial team]\n"
            f"last_reviewed: {today.isoformat()}\nnext_review: {review.isoformat()}\n---\n\n{BODIES[kind]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    print(f"created {path.relative_to(project.root)}")
    return 0
