"""Help as data (content/help.yaml), the help block, and the published-number check.

Fixture sites use the real help.yaml and sources.yaml, so the numbers are the vetted ones;
each test then breaks one thing and reads the diagnostics or the built HTML and PDFs.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from conftest import ROOT, page

from mend import numbers
from mend.bibliography import load_bibliography
from mend.diagnostics import Report
from mend.store import Store

HELP_YAML = (ROOT / "content" / "help.yaml").read_text("utf-8")
SOURCES_YAML = (ROOT / "content" / "sources.yaml").read_text("utf-8")
HELP_PAGE = page("page", "Intro.\n\n[help: directory]\n\n## After the list\n\nMore words.\n", title="Get help")
EMERGENCY = {"UK": ["999", "112"], "Ireland": ["112", "999"], "US": ["911"], "Canada": ["9-1-1"], "Australia": ["000"]}
# The library's Childhelp entry: its evidence reports two different numbers for the one service.
CONFLICTED = """\
- id: childhelp_nd_hotline
  type: webpage
  title: Childhelp National Child Abuse Hotline
  URL: https://childhelphotline.org
  note: 'United States. Childhelp National Child Abuse Hotline: calls, texts and chats answered 24/7. Number: 1-800-422-4453 (1-800-4-A-CHILD) on several secondary pages - but a US government page gives a different number; check before publishing.'
  verified: likely
  evidence: 'web: helpisaclickaway.org (''Call or Text 1-800-422-4453''). CONFLICT: childcare.gov (US government) says ''call 1-800-422-2253''.'
"""


def help_files(**changes) -> dict[str, str]:
    files = {"content/help.yaml": HELP_YAML, "content/sources.yaml": SOURCES_YAML, "content/help.md": HELP_PAGE}
    files.update(changes)
    return files


@pytest.fixture
def help_site(make_project, run):
    project = make_project({**help_files(), "content/guide/a.md": page("article", "Some text.\n", title="An article")})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    return project


class HelpBlock(HTMLParser):
    """The help block's emergency numbers, and whether each sits inside the collapsed <details>."""

    def __init__(self, html: str):
        super().__init__()
        self.depth_details = 0
        self.in_block = False
        self.visible_tel: list[str] = []
        self.hidden_tel: list[str] = []
        self.feed(html[html.index('<aside class="help"'):html.index("</aside>")])

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            self.depth_details += 1
        if tag == "a" and attrs.get("href", "").startswith(("tel:", "sms:")):
            (self.hidden_tel if self.depth_details else self.visible_tel).append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "details":
            self.depth_details -= 1


# ---- the help block ---------------------------------------------------------------------------

def test_every_countrys_emergency_number_is_visible_without_a_tap(help_site):
    html = (help_site.out / "guide/a/index.html").read_text("utf-8")
    block = HelpBlock(html)
    assert block.visible_tel == ["tel:999", "tel:112", "tel:112", "tel:999", "tel:911", "tel:911", "tel:000"]
    rows = re.findall(r'<li data-country="(\w\w)">(\w+) (.*?)</li>', html)
    assert [(code, name) for code, name, _ in rows] == [("GB", "UK"), ("IE", "Ireland"), ("US", "US"),
                                                        ("CA", "Canada"), ("AU", "Australia")]
    for _, name, links in rows:
        assert re.findall(r">([\d-]+)</a>", links) == EMERGENCY[name]
    # Crisis and abuse lines for every country wait in the collapsed list, one item per country.
    assert "tel:116123" in block.hidden_tel and "tel:08000271234" in block.hidden_tel     # Samaritans, Scotland
    assert "tel:18007997233" in block.hidden_tel and "tel:1800737732" in block.hidden_tel  # US and Australia abuse
    assert len(re.findall(r"<ul class=\"help-lines\">(.*?)</ul>", html, re.S)[0].split("<li>")) == 6


def test_a_site_without_help_yaml_still_signposts_help(make_project, run):
    project = make_project()
    assert run(project, "build").code == 0
    html = (project.out / "index.html").read_text("utf-8")
    assert "Call your local emergency number" in html and 'id="help"' in html
    assert "help.js" not in html        # nothing to reorder


# ---- the help page ------------------------------------------------------------------------------

def test_the_help_page_lists_each_service_with_its_citation_and_checked_date(help_site):
    html = (help_site.out / "help/index.html").read_text("utf-8")
    assert "[help: directory]" not in html
    for heading in ("United Kingdom", "Republic of Ireland", "United States", "Canada", "Australia", "Anywhere else"):
        assert f">{heading}</h2>" in html
    assert html.index("Anywhere else") < html.index("After the list")
    scotland = re.search(r"<li><strong>Scotland's Domestic Abuse.*?</li>", html.replace("&#39;", "'")).group(0)
    assert 'href="tel:08000271234">0800 027 1234</a>' in scotland
    assert "Open: 24/7." in scotland and "Checked 2 December 2026." in scotland
    assert 'href="#ref-scotland_dafm_nd_helpline"' in scotland
    assert 'id="ref-scotland_dafm_nd_helpline"' in html          # listed under Sources
    assert 'href="sms:85258">SHOUT to 85258</a>' in html


# ---- help.yaml is checked against the library -------------------------------------------------------

@pytest.mark.parametrize("old, new, message", [
    ('call: "0800 027 1234"', 'call: "0800 027 1235"', "'0800 027 1235' is not in the service's note, word for word"),
    ('hours: "24/7", block: true}\n      - {source: shout', 'hours: "24 hours", block: true}\n      - {source: shout',
     "'24 hours' is not in the service's note"),
    ("source: samaritans_nd_helpline", "source: samaritans_nd_helpine", "'samaritans_nd_helpine' is not an entry"),
    ("purpose: stalking", "purpose: stalkers", "'purpose' must be one of"),
])
def test_help_yaml_may_only_quote_the_library(make_project, run, old, new, message):
    assert old in HELP_YAML
    project = make_project(help_files(**{"content/help.yaml": HELP_YAML.replace(old, new, 1)}))
    outcome = run(project, "build")
    assert outcome.code == 1
    (line,) = [d for d in outcome.diagnostics if "help-invalid" in d]
    assert line.startswith("content/help.yaml:") and message in line


def test_a_service_the_library_doubts_or_whose_numbers_conflict_is_refused(make_project, run):
    doubtful = SOURCES_YAML.replace("id: galop_nd_helpline\n", "id: galop_nd_helpline\n  verified: doubtful\n", 1)
    doubtful = re.sub(r"(id: galop_nd_helpline\n(?:.*\n)*?)  verified: confirmed\n", r"\1", doubtful, count=1)
    conflicted = HELP_YAML + "  - {source: childhelp_nd_hotline, name: Childhelp, purpose: young, call: \"1-800-422-4453\"}\n"
    project = make_project(help_files(**{"content/sources.yaml": doubtful + CONFLICTED,
                                         "content/help.yaml": conflicted}))
    outcome = run(project, "build")
    assert outcome.code == 1
    found = "\n".join(outcome.diagnostics)
    assert "'galop_nd_helpline' is marked doubtful" in found
    assert "'childhelp_nd_hotline': its evidence reports conflicting numbers" in found


# ---- the number check over the output ------------------------------------------------------------

def test_a_wrong_number_in_a_page_is_an_error_naming_the_page_and_the_number(make_project, run):
    body = "If you need to talk, call Samaritans on 116 123.\n\nOr call [0808 2000 248](tel:08082000248).\n"
    project = make_project({**help_files(), "content/guide/a.md": page("article", body, title="An article")})
    outcome = run(project, "build")
    assert outcome.code == 1
    found = [d for d in outcome.diagnostics if "number-unverified" in d]
    (text,) = [d for d in found if "'0808 2000 248'" in d]
    (link,) = [d for d in found if "'tel:08082000248'" in d]
    assert text.startswith("content/guide/a.md:13:")
    assert "site/guide/a/index.html publishes the number '0808 2000 248'" in text
    assert link.startswith("content/guide/a.md:13:")


def test_the_conflicting_number_may_not_be_published_even_by_hand(make_project, run):
    body = "Call [1-800-422-4453](tel:18004224453) for advice.\n"
    project = make_project({**help_files(**{"content/sources.yaml": SOURCES_YAML + CONFLICTED}),
                            "content/guide/a.md": page("article", body, title="An article")})
    outcome = run(project, "build")
    assert outcome.code == 1
    assert any("'1-800-422-4453'" in d for d in outcome.diagnostics)


def test_a_wrong_number_in_a_worksheet_pdf_is_an_error(make_project, run):
    body = "If you are worried, text 07700 900123 now.\n\n[text: name] Your name\n"
    sheet = page("worksheet", body, title="A sheet", pages=1, file_title="Sheet")
    project = make_project({**help_files(), "content/worksheets/sheet.md": sheet})
    outcome = run(project, "build")
    assert outcome.code == 1
    found = [d for d in outcome.diagnostics if "number-unverified" in d]
    assert any("worksheets/sheet/sheet-a4.pdf publishes the number '07700 900123'" in d for d in found)


def test_years_dates_counts_and_dois_are_not_phone_numbers():
    html = ("<p>In 2016, 312 people (12.5%) took part; see https://doi.org/10.1177/0265407515614149 "
            "and pages 123–145, 2026-12-02, 10:30, £500.</p><p>Call <a href='tel:999'>999</a>.</p>")
    assert [n for n, _ in numbers.phone_numbers(html)] == ["tel:999", "999"]


def test_article_numbers_in_reference_lists_are_not_phone_numbers(make_project, run):
    """"Clinical Psychology Review, 79, 101861": six digits, but in a reference, not a phone number."""
    body = "## Children\n\nConflict between parents went with worse outcomes [@vandijk2020meta].\n"
    project = make_project({**help_files(), "content/guide/a.md": page("article", body, title="An article")})
    outcome = run(project, "build")
    assert not [d for d in outcome.diagnostics if "number-unverified" in d], outcome.stderr
    assert "101861" in (project.out / "guide/a/index.html").read_text("utf-8")
    assert [n for n, _ in numbers.phone_numbers('<p class="reference">Review, 79, 101861.</p>')] == []


def test_worksheet_pdfs_print_every_emergency_number_and_only_vetted_numbers(make_project, run):
    """pypdf reads the text WeasyPrint laid out: the numbers the build checked in its HTML."""
    pypdf = pytest.importorskip("pypdf")
    sheet = page("worksheet", "Fill this in.\n\n[text: name] Your name\n", title="A sheet", pages=1,
                 file_title="Sheet")
    project = make_project({**help_files(), "content/worksheets/sheet.md": sheet})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    allowed = numbers.allowed_numbers(load_bibliography(project.content, project.root, Store.in_memory(), Report()))
    for name in ("worksheets/sheet/sheet-a4.pdf", "worksheets/worksheets-letter.pdf"):
        text = " ".join(p.extract_text() for p in pypdf.PdfReader(project.out / name).pages).replace("\n", " ")
        assert "UK 999 or 112, Ireland 112 or 999, US 911, Canada 9-1-1, Australia 000" in text, name
        found = {numbers.dial_digits(n) for n, _ in numbers.phone_numbers(text)}
        assert {"999", "112", "911", "000"} <= found <= allowed, name
    assert {"116123", "131114", "1800737732"} <= found          # the booklet ends with the help lines


# ---- the people registry ------------------------------------------------------------------------

PEOPLE_YAML = (ROOT / "content" / "people.yaml").read_text("utf-8") + """\
sample-reviewer:
  name: A. Sample
  kind: person
  role: clinical psychologist
  credentials: DClinPsy (test fixture, not a real person)
  conflicts: none declared
"""


def test_front_matter_can_name_people_from_the_registry(make_project, run):
    article = page("article", "Text.\n", title="An article", authors="[Mend editorial team]",
                   reviewers="[sample-reviewer, mend-editorial-team]")
    project = make_project({"content/people.yaml": PEOPLE_YAML, "content/guide/a.md": article})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    html = (project.out / "guide/a/index.html").read_text("utf-8")
    assert ("Reviewed by A. Sample, clinical psychologist (DClinPsy (test fixture, not a real person); "
            "conflicts of interest: none declared), Mend editorial team.") in html
    assert "Written by Mend editorial team." in html                     # a plain name, as written
    (data,) = [d for d in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html)]
    assert json.loads(data)["reviewedBy"] == [
        {"@type": "Person", "name": "A. Sample", "jobTitle": "clinical psychologist",
         "hasCredential": "DClinPsy (test fixture, not a real person)"},
        {"@type": "Organization", "name": "Mend editorial team"}]


def test_a_mistyped_person_key_or_a_person_without_credentials_is_an_error(make_project, run):
    article = page("article", "Text.\n", title="An article", reviewers="[sample-reviwer]")
    broken = PEOPLE_YAML.replace("  credentials: DClinPsy (test fixture, not a real person)\n", "")
    project = make_project({"content/people.yaml": broken, "content/guide/a.md": article})
    outcome = run(project, "build")
    assert outcome.code == 1
    found = "\n".join(outcome.diagnostics)
    assert "error[people-invalid]: 'sample-reviewer' has no 'credentials'" in found
    assert "content/guide/a.md:6:1: error[person-unknown]: 'sample-reviwer' in reviewers" in found


def test_a_page_checked_clean_is_checked_again_when_the_vetted_numbers_change(make_project, run):
    """An unchanged page is not re-rendered or re-read, but its numbers (remembered with its
    render) are checked again once the allowed numbers differ."""
    samaritans = SOURCES_YAML[SOURCES_YAML.index("- id: samaritans_nd_helpline"):]
    samaritans = samaritans[:samaritans.index("\n- id:") + 1]
    body = "Call Samaritans on 116 123 [@samaritans_nd_helpline].\n"
    project = make_project({"content/sources.yaml": samaritans, "content/guide/a.md": page("article", body)})
    assert run(project, "build").code == 0
    assert run(project, "build", "--strict").code == 0             # nothing changed: still clean
    (project.content / "guide" / "b.md").write_text(page("article", "Another page.\n", title="B"), "utf-8")
    (project.content / "sources.yaml").write_text(samaritans.replace("116 123", "116 124"), "utf-8")
    outcome = run(project, "build")
    assert outcome.code == 1
    assert any("number-unverified" in d and "'116 123'" in d for d in outcome.diagnostics)
