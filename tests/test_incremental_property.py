"""Incremental equals clean, always: a state machine edits a small site at random and, after
every step, the command-line rebuild and a ``serve`` session's rebuild must each be
byte-identical to a clean build of the same files.

Steps: page body, title, summary and order; pages added, removed and renamed; the base,
page and listing templates (including one that shows every page title from ``nav``); a
static asset; a bibliography entry; site.yaml; worksheet fields; a touch that changes
nothing.  The CI budget is small and derandomised; ``HYPOTHESIS_PROFILE=deep`` explores
many more sequences (README, "Tests").
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, SITE_YAML, page, tree_bytes
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from mend.pipeline import Project, SearchRefresh, Session, build
from test_citations import SOURCES

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 11, 22)
DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
WORDS = st.sampled_from(["calm", "space", "time", "help", "rest", "walk", "talk", "sleep"])
TEXT = st.lists(WORDS, min_size=1, max_size=6).map(lambda words: " ".join(words).capitalize() + ".")
CITES = st.sampled_from(["", " [@vennum2014complicated]", " [@halpernmeekin2013churning]",
                         " [@cupach2004darkside]"])
SECTION_TITLES = ('{% block main %}{% for s in nav %}{% for p in s.pages %}<i>{{ p.title }}</i>'
                  '{% endfor %}{% endfor %}')


def article(title: str, body: str, order: int | None = None, summary: str = "A short summary.") -> str:
    extra = {"order": order} if order is not None else {}
    return page("article", f"## Part\n\n{body}\n", title=title, summary=summary,
                experience_based="[Part]", **extra)


class IncrementalEqualsClean(RuleBasedStateMachine):
    pages = Bundle("pages")

    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="mend-stateful-"))
        self.root = self.tmp / "project"
        shutil.copytree(ROOT / "templates", self.root / "templates")
        files = {
            "content/site.yaml": SITE_YAML,
            "content/sources.yaml": SOURCES,
            "content/index.md": page("page", "Welcome.\n", title="Home"),
            "content/help.md": page("page", "Call for help.\n", title="Get help"),
            "content/about.md": page("page", "About us.\n", title="About"),
            "content/questions/q.md": page("faq", "## Why?\n\nBecause [@vennum2014complicated].\n", title="Q"),
            "content/worksheets/notes.md": page("worksheet", "Fill it in.\n\n[text: name] Your name\n",
                                                title="Notes"),
        }
        for name, text in files.items():
            self.write(name, text)
        self.counter = 0
        self.session = Session(long_running=True)
        self.serve_out = self.tmp / "served"

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text("utf-8")
        path.write_text(text.replace(old, new, 1) if old in text else text + new, "utf-8")

    # -- pages ----------------------------------------------------------------------------------

    @rule(target=pages, body=TEXT, cite=CITES)
    def add_page(self, body, cite):
        self.counter += 1
        name = f"content/guide/p{self.counter}.md"
        self.write(name, article(f"Page {self.counter}", body + cite))
        return name

    @rule(name=consumes(pages))
    def remove_page(self, name):
        (self.root / name).unlink()

    @rule(target=pages, name=consumes(pages))
    def rename_page(self, name):
        self.counter += 1
        new = f"content/guide/p{self.counter}.md"
        (self.root / name).rename(self.root / new)
        return new

    @rule(name=pages, body=TEXT, cite=CITES, link=st.booleans())
    def edit_body(self, name, body, cite, link):
        text = (self.root / name).read_text("utf-8")
        head, _, _ = text.partition("## Part\n\n")
        # A link by file name: its target's URL is what this body depends on.
        extra = " See [the questions](../questions/q.md)." if link else ""
        self.write(name, f"{head}## Part\n\n{body}{cite}{extra}\n")

    def set_field(self, name: str, field: str, value: str) -> None:
        """Replace one front-matter (or site.yaml) line ``field: ...``."""
        path = self.root / name
        lines = [f"{field}: {value}" if line.startswith(f"{field}:") else line
                 for line in path.read_text("utf-8").split("\n")]
        path.write_text("\n".join(lines), "utf-8")

    @rule(name=pages, title=TEXT)
    def edit_title(self, name, title):
        self.set_field(name, "title", title)

    @rule(name=pages, summary=TEXT)
    def edit_summary(self, name, summary):
        self.set_field(name, "summary", summary)

    @rule(name=pages, order=st.integers(1, 5))
    def edit_order(self, name, order):
        path = self.root / name
        lines = [line for line in path.read_text("utf-8").split("\n") if not line.startswith("order:")]
        lines.insert(1, f"order: {order}")
        path.write_text("\n".join(lines), "utf-8")

    @rule(name=pages)
    def touch(self, name):
        os.utime(self.root / name, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    # -- templates, assets, sources, configuration, worksheets ---------------------------------

    @rule(words=TEXT)
    def edit_base_template(self, words):
        self.edit("templates/base.html", "</footer>", f"<p>{words}</p>\n</footer>")

    @rule()
    def section_list_shows_every_title(self):
        self.edit("templates/section.html", "{% block main %}", SECTION_TITLES)

    @rule(words=TEXT)
    def edit_article_template(self, words):
        self.edit("templates/article.html", "{% block main %}", "{% block main %}<p>" + words + "</p>")

    @rule(words=TEXT)
    def edit_stylesheet(self, words):
        self.edit("templates/static/style.css", "\n", f"\n/* {words} */\n")

    @rule(words=TEXT)
    def edit_source(self, words):
        self.edit("content/sources.yaml", "title: ", f"title: {words} ")

    @rule(words=TEXT)
    def edit_site_yaml(self, words):
        self.set_field("content/site.yaml", "tagline", words)

    @rule(label=TEXT)
    def add_worksheet_field(self, label):
        self.counter += 1
        self.edit("content/worksheets/notes.md", "[text: name] Your name\n",
                  f"[text: name] Your name\n[text: field_{self.counter}] {label}\n")

    # -- the property --------------------------------------------------------------------------------

    @invariant()
    def rebuilds_equal_a_clean_build(self):
        project = Project(self.root)
        built = build(project, today=TODAY)
        served = build(Project(self.root, self.serve_out), today=TODAY, session=self.session, defer_search=True)
        if served.search_pending:
            SearchRefresh(Project(self.root, self.serve_out)).finish()
        clean_out = self.tmp / "clean"
        shutil.rmtree(clean_out, ignore_errors=True)
        clean = build(Project(self.root, clean_out), today=TODAY)
        assert clean.written == built.written == served.written, clean.report.format()
        if clean.written:
            expected = tree_bytes(clean_out)
            assert tree_bytes(project.out) == expected
            assert tree_bytes(self.serve_out) == expected

    def teardown(self):
        if self.session.store is not None:
            self.session.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


IncrementalEqualsClean.TestCase.settings = settings(
    max_examples=200 if DEEP else 4, stateful_step_count=25 if DEEP else 6, deadline=None,
    derandomize=not DEEP, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_incremental_equals_clean = IncrementalEqualsClean.TestCase
