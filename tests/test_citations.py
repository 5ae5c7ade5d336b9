"""Citations: [@key] syntax, numbering, back-links, APA 7 reference lists, the Sources page,
coverage and every diagnostic, each checked on a built fixture site."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from mend import bibliography
from mend.store import Store
from mend.citations import scan

from conftest import ROOT, page

# Real library entries (evidence trimmed), plus two made-up entries marked as test data:
# a chapter (the library has none) and an entry without 'verified'.
SOURCES = """\
- id: vennum2014complicated
  type: article-journal
  author:
  - {family: Vennum, given: Amber}
  - {family: Lindstrom, given: Rachel}
  - {family: Monk, given: J. Kale}
  - {family: Adams, given: Rebekah}
  issued: {date-parts: [[2014]]}
  title: '"It''s complicated": The continuity and correlates of cycling in cohabiting and marital relationships'
  container-title: Journal of Social and Personal Relationships
  volume: '31'
  issue: '3'
  page: 410-430
  DOI: 10.1177/0265407513501987
  URL: https://doi.org/10.1177/0265407513501987
  verified: confirmed
  evidence: test copy
  finding: Couples who had broken up and got back together reported more uncertainty.
- id: halpernmeekin2013churning
  type: article-journal
  author: &hm
  - {family: Halpern-Meekin, given: Sarah}
  - {family: Manning, given: Wendy D.}
  - {family: Giordano, given: Peggy C.}
  - {family: Longmore, given: Monica A.}
  issued: {date-parts: [[2013]]}
  title: 'Relationship churning in emerging adulthood: On/off relationships and sex with an ex'
  container-title: Journal of Adolescent Research
  volume: '28'
  issue: '2'
  page: 166-188
  DOI: 10.1177/0743558412464524
  verified: confirmed
  finding: On/off cycling is common.
- id: halpernmeekin2013violence
  type: article-journal
  author: *hm
  issued: {date-parts: [[2013]]}
  title: Relationship churning, physical violence, and verbal abuse in young adult relationships
  container-title: Journal of Marriage and Family
  volume: '75'
  issue: '1'
  page: 2-12
  DOI: 10.1111/j.1741-3737.2012.01029.x
  verified: likely
  finding: Churning went with more reported violence.
- id: cupach2004darkside
  type: book
  author:
  - {family: Cupach, given: William R.}
  - {family: Spitzberg, given: Brian H.}
  issued: {date-parts: [[2004]]}
  title: 'The dark side of relationship pursuit: From attraction to obsession and stalking'
  publisher: Lawrence Erlbaum Associates
  publisher-place: Mahwah, NJ
  ISBN: 0-8058-4449-X
  DOI: 10.4324/9781410609908
  verified: confirmed
  finding: Much unwanted pursuit grows out of ordinary courtship.
- id: samaritans_nd_helpline
  type: webpage
  author:
  - literal: Samaritans
  title: Samaritans
  URL: https://www.samaritans.org
  note: United Kingdom and Republic of Ireland. Call 116 123, free, 24/7.
  verified: confirmed
  finding: A 24/7 listening service in the UK and Ireland.
- id: agnew2001forest
  type: article-journal
  author:
  - {family: Agnew, given: C. R.}
  - {family: Loving, given: T. J.}
  - {family: Drigotas, given: S. M.}
  issued: {date-parts: [[2001]]}
  title: 'Substituting the forest for the trees: Social networks and the prediction of romantic relationship state and fate'
  container-title: Journal of Personality and Social Psychology
  volume: '81'
  issue: '6'
  page: 1042-1057
  verified: confirmed
  finding: Friends predicted break-ups well.
- id: mason2012facing
  type: article-journal
  author:
  - {family: Mason, given: Ashley E.}
  issued: {date-parts: [[2012]]}
  title: 'Facing a breakup: Electromyographic responses moderate self-concept recovery following a romantic separation'
  container-title: Personal Relationships
  DOI: 10.1111/j.1475-6811.2011.01378.x
  verified: doubtful
- id: test:chapter.one-a
  type: chapter
  author:
  - {family: Example, given: Ann B.}
  editor:
  - {family: Editor, given: Eve}
  - {family: Second, given: Sam}
  issued: {date-parts: [[2019]]}
  title: A chapter about examples
  container-title: The handbook of test data
  publisher: Test Press
  page: 10-20
  DOI: 10.5555/test.1
  verified: confirmed
  finding: Test data only.
- id: test-unverified
  type: webpage
  title: An entry nobody has checked
  URL: https://example.org/unchecked
"""
ALL_KEYS = ["vennum2014complicated", "halpernmeekin2013churning", "halpernmeekin2013violence",
            "cupach2004darkside", "samaritans_nd_helpline", "agnew2001forest", "test:chapter.one-a"]
CITES_ALL = " ".join(f"[@{k}]" for k in ALL_KEYS)   # keeps the uncited warnings out of the way


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory):
    """The fixture bibliography formatted once, so each test does not run pandoc again."""
    folder = tmp_path_factory.mktemp("cache")
    content = folder / "content"
    content.mkdir()
    (content / "sources.yaml").write_text(SOURCES, "utf-8")
    report = _NullReport()
    store = Store.open(folder)
    bibliography.format_references(bibliography.load_bibliography(content, folder, store, report), report)
    store.close()
    return folder / ".mend-cache"


class _NullReport:
    items = ()

    def error(self, *args):
        raise AssertionError(args)

    warning = error


@pytest.fixture
def site(make_project, run, warm_cache):
    """site(files, sources=SOURCES, *args) -> (project, outcome) after a build."""

    def make(files, sources=SOURCES, *args):
        project = make_project({"content/sources.yaml": sources, **files})
        shutil.copytree(warm_cache, project.root / ".mend-cache")
        return project, run(project, "build", *args)

    return make


def read(project, url: str) -> str:
    return (project.out / url.strip("/") / "index.html").read_text("utf-8")


def sups(text: str) -> list[str]:
    return re.findall(r'<sup class="citation">.*?</sup>', text)


def references(text: str) -> list[tuple[str, str]]:
    """(id, plain text) of each entry in the page's Sources section."""
    section = text[text.index('<section class="sources"'):]
    return [(key, " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split()))
            for key, body in re.findall(r'<li id="ref-([^"]+)">(.*?)</li>', section, re.S)]


def article(body: str, **fields) -> str:
    return page("article", textwrap.dedent(body), **fields)


# Syntax -------------------------------------------------------------------------------------

def test_every_syntax_form_becomes_numbered_superscript_links(site):
    project, outcome = site({"content/guide/a.md": article(f"""\
        One [@vennum2014complicated]. Page [@cupach2004darkside, p. 12].
        Two at once [@samaritans_nd_helpline; @test:chapter.one-a, pp. 10-12]. Again [@vennum2014complicated].

        Rest: {CITES_ALL}
        """)})
    assert outcome.code == 0, outcome.stderr
    text = read(project, "/guide/a/")
    found = sups(text)
    assert found[0] == ('<sup class="citation"><a href="#ref-vennum2014complicated" '
                        'id="cite-vennum2014complicated-1" aria-label="Source 1">1</a></sup>')
    assert 'aria-label="Source 2, p. 12">2</a><span class="locator" aria-hidden="true">, p. 12</span>' in found[1]
    assert re.findall(r">(\d)</a>", found[2]) == ["3", "4"] and "pp. 10-12" in found[2]
    assert 'id="cite-vennum2014complicated-2"' in found[3] and ">1</a>" in found[3]   # keeps its number
    assert "One<sup" in text                     # the space before the citation goes
    assert "[@" not in text.split("<main")[1]


def test_citations_are_not_matched_in_code_links_addresses_or_escapes(site):
    project, outcome = site({"content/guide/a.md": article(f"""\
        Code `[@vennum2014complicated]` and [a link](https://example.org/[@cupach2004darkside]).
        Mail someone@example.org or <https://example.org/[@x]>, and \\[@agnew2001forest] literally.
        [@samaritans_nd_helpline](https://example.org/) is a link, not a citation.

            indented code [@halpernmeekin2013churning]

        <!-- a comment [@test-unverified] -->
        Cited: {CITES_ALL}
        """)})
    assert outcome.code == 0, outcome.stderr
    text = read(project, "/guide/a/")
    assert "<code>[@vennum2014complicated]</code>" in text
    assert 'href="https://example.org/[@cupach2004darkside]"' in text
    assert "[@agnew2001forest] literally" in text
    assert '<a href="https://example.org/">@samaritans_nd_helpline</a>' in text
    assert "<code>indented code [@halpernmeekin2013churning]\n</code>" in text
    assert [key for key, _ in references(text)] == ALL_KEYS     # numbered only from the last line


def test_citations_in_footnotes_are_numbered_and_linked(site):
    project, outcome = site({"content/guide/a.md": article(f"""\
        A claim.[^1] Later [@vennum2014complicated].

        {CITES_ALL}

        [^1]: The footnote cites [@cupach2004darkside].
        """)})
    assert outcome.code == 0, outcome.stderr
    text = read(project, "/guide/a/")
    footnotes = text[text.index('<div class="footnote">'):text.index('<section class="sources"')]
    assert '<a href="#ref-cupach2004darkside" id="cite-cupach2004darkside-2"' in footnotes


def test_keys_with_dots_colons_and_hyphens_and_positions():
    found = scan("Line one.\nSee [@a.b:c-d, p. 3; @e] and [@f].\n", first_line=7)
    assert [(c.key, c.locator, c.line, c.col) for g in found.groups for c in g.cites] == [
        ("a.b:c-d", "p. 3", 8, 6), ("e", "", 8, 22), ("f", "", 8, 31)]
    assert not found.problems


# Numbering, back-links and the page's Sources section -----------------------------------------

def test_numbering_follows_first_use_and_backlinks_reach_every_citation(site):
    project, outcome = site({"content/guide/a.md": article(f"""\
        ## First

        B [@cupach2004darkside]. A [@vennum2014complicated]. B again [@cupach2004darkside].

        ## Second

        A again [@vennum2014complicated]. B third [@cupach2004darkside]. {CITES_ALL}
        """)})
    assert outcome.code == 0, outcome.stderr
    text = read(project, "/guide/a/")
    entries = references(text)
    assert [key for key, _ in entries[:2]] == ["cupach2004darkside", "vennum2014complicated"]
    section = text[text.index('<section class="sources"'):]
    item = re.search(r'<li id="ref-cupach2004darkside">(.*?)</li>', section, re.S).group(1)
    backlinks = re.findall(r'href="#(cite-cupach2004darkside-\d)"', item)
    assert backlinks == [f"cite-cupach2004darkside-{n}" for n in (1, 2, 3, 4)]
    for anchor in backlinks:
        assert f'id="{anchor}"' in text
    assert re.findall(r'href="#ref-cupach2004darkside"[^>]*>(\d+)<', text) == ["1"] * 4
    assert '<a href="https://doi.org/10.4324/9781410609908">' in item
    assert '<a href="../../sources/">all sources</a>' in section


def test_reference_lists_are_apa_7_for_each_source_type(site):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL}\n")})
    assert outcome.code == 0, outcome.stderr
    got = dict(references(read(project, "/guide/a/")))

    def ref(key):
        return got[key].removesuffix(" Back to text")

    assert ref("vennum2014complicated") == (
        "Vennum, A., Lindstrom, R., Monk, J. K., & Adams, R. (2014). “It’s complicated”: The continuity and "
        "correlates of cycling in cohabiting and marital relationships. Journal of Social and Personal "
        "Relationships, 31(3), 410–430. https://doi.org/10.1177/0265407513501987")
    assert ref("halpernmeekin2013churning").startswith(
        "Halpern-Meekin, S., Manning, W. D., Giordano, P. C., & Longmore, M. A. (2013a). Relationship churning in")
    assert "(2013b). Relationship churning, physical violence" in ref("halpernmeekin2013violence")
    assert ref("cupach2004darkside") == (
        "Cupach, W. R., & Spitzberg, B. H. (2004). The dark side of relationship pursuit: From attraction to "
        "obsession and stalking. Lawrence Erlbaum Associates. https://doi.org/10.4324/9781410609908")
    assert ref("test:chapter.one-a") == (
        "Example, A. B. (2019). A chapter about examples. In E. Editor & S. Second (Eds.), The handbook of "
        "test data (pp. 10–20). Test Press. https://doi.org/10.5555/test.1")
    assert ref("samaritans_nd_helpline") == "Samaritans. (n.d.). Samaritans. https://www.samaritans.org"
    assert ref("agnew2001forest").endswith("Journal of Personality and Social Psychology, 81(6), 1042–1057.")
    text = read(project, "/guide/a/")
    assert "<em>Journal of Social and Personal Relationships</em>, <em>31</em>(3)" in text
    assert "<em>The dark side of relationship pursuit: From attraction to obsession and stalking</em>" in text


def test_article_json_ld_lists_its_citations(site):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL}\n")})
    assert outcome.code == 0, outcome.stderr
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                                read(project, "/guide/a/")).group(1))
    citations = data["mainEntity"]["citation"]
    assert len(citations) == len(ALL_KEYS) and citations[0].startswith("Vennum, A., Lindstrom, R.")


def test_pages_without_citations_have_no_sources_section(site):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL}\n")})
    assert outcome.code == 0, outcome.stderr
    assert '<section class="sources"' not in read(project, "/about/")


# The Sources page -----------------------------------------------------------------------------

def test_sources_page_lists_each_source_with_its_finding_and_citing_pages(site):
    project, outcome = site({
        "content/guide/a.md": article(f"{CITES_ALL}\n", title="Page A"),
        "content/questions/q.md": page("faq", "## Is it normal?\n\nYes [@vennum2014complicated].\n",
                                       title="Page Q"),
    })
    assert outcome.code == 0, outcome.stderr
    text = read(project, "/sources/")
    item = re.search(r'<li id="vennum2014complicated">(.*?)</li>', text, re.S).group(1)
    assert "Couples who had broken up and got back together reported more uncertainty." in item
    assert re.findall(r'<a href="([^"]+)">(Page \w)</a>', item) == [("../guide/a/", "Page A"),
                                                                    ("../questions/q/", "Page Q")]
    assert "https://doi.org/10.1177/0265407513501987" in item
    likely = re.search(r'<li id="halpernmeekin2013violence">(.*?)</li>', text, re.S).group(1)
    assert "checked only against a secondary listing" in likely
    assert 'id="mason2012facing"' not in text and 'id="test-unverified"' not in text   # never listed
    order = re.findall(r'<li id="([^"]+)">', text)
    assert order.index("agnew2001forest") < order.index("cupach2004darkside") < order.index("samaritans_nd_helpline")


# Diagnostics ----------------------------------------------------------------------------------

def test_unknown_key_is_an_error_with_the_closest_key_as_hint(site):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL}\n\nSee [@cupach2004darkide].\n")})
    assert outcome.code == 1
    assert ("content/guide/a.md:13:6: error[cite-unknown]: no source 'cupach2004darkide' in "
            "content/sources.yaml") in outcome.stderr
    assert "hint: did you mean 'cupach2004darkside'?" in outcome.stderr


@pytest.mark.parametrize("key, message", [
    ("mason2012facing", "source 'mason2012facing' is marked 'doubtful'"),
    ("test-unverified", "source 'test-unverified' is not marked verified"),
])
def test_doubtful_or_unverified_sources_cannot_be_cited(site, key, message):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL} [@{key}]\n")})
    assert outcome.code == 1
    assert re.search(rf"content/guide/a\.md:11:\d+: error\[cite-unverified\]: {re.escape(message)}", outcome.stderr)


def test_malformed_citation_is_reported(site):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL}\n\nSee [@cupach2004darkside p. 3].\n")})
    assert outcome.code == 1
    assert ("content/guide/a.md:13:5: error[cite-syntax]: '[@cupach2004darkside p. 3]' looks like a citation"
            in outcome.stderr)


def test_citation_in_a_heading_is_reported(site):
    project, outcome = site({"content/guide/a.md": article(f"## Why [@cupach2004darkside]\n\n{CITES_ALL}\n")})
    assert "content/guide/a.md:11:9: error[cite-in-heading]" in outcome.stderr


def test_citation_inside_link_text_or_image_description_is_reported(site):
    project, outcome = site({"content/guide/a.md": article(
        f"{CITES_ALL}\n\n[a link [@cupach2004darkside]](https://example.org/)\n\n"
        f"![A picture [@agnew2001forest]](https://example.org/p.png)\n")})
    assert outcome.code == 1
    assert "content/guide/a.md:13:10: error[cite-misplaced]: a citation cannot go inside a link's text" in outcome.stderr
    assert "content/guide/a.md:15:14: error[cite-misplaced]" in outcome.stderr


def test_stray_placeholder_characters_in_content_are_harmless(site):
    project, outcome = site({"content/guide/a.md": article(f"Odd \ue0000\ue001 text. {CITES_ALL}\n")})
    assert outcome.code == 0, outcome.stderr
    assert "Odd 0 text." in read(project, "/guide/a/")


@pytest.mark.parametrize("sources, expected", [
    ("- id: a\n  type: book\n  title: T\n  verified: confirmed\n- just a string\n",
     "content/sources.yaml:5:3: error[source-malformed]: entry 2 is not a mapping of fields"),
    ("- id: a\n  type: book\n  title: T\n  DOI: https://doi.org/10.1/x\n",
     "content/sources.yaml:4:3: error[source-malformed]: entry 'a': store the DOI bare, not "
     "'https://doi.org/10.1/x'"),
    ("- id: a\n  type: book\n  title: T\n  containter-title: J\n",
     "content/sources.yaml:4:3: error[source-malformed]: entry 'a': unknown field 'containter-title'"),
    ("- id: a\n  type: jurnal\n  title: T\n",
     "content/sources.yaml:2:3: error[source-malformed]: entry 'a': 'type' must be a CSL type, not 'jurnal'"),
    ("- id: a\n  type: book\n  title: T\n- id: a\n  type: book\n  title: U\n",
     "content/sources.yaml:4:1: error[source-duplicate]: source 'a' is defined twice (first at line 1)"),
    ("- id: a\n  title: 'unclosed\n", "content/sources.yaml:3:1: error[sources-yaml]: invalid YAML"),
    ("id: a\n", "content/sources.yaml:1:1: error[sources-not-list]"),
])
def test_malformed_bibliography_names_the_entry_and_line(site, sources, expected):
    project, outcome = site({}, sources)
    assert outcome.code == 1
    assert any(line.startswith(expected) for line in outcome.stderr.splitlines()), outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_uncited_and_unlinked_sources_are_warnings(site, run):
    # Without DOI, URL, ISBN, volume or pages nobody can find it (same line numbers as SOURCES).
    unlocated = SOURCES.replace("  volume: '81'\n", "  # volume not seen\n").replace(
        "  page: 1042-1057\n", "  # pages not seen\n")
    project, outcome = site({"content/guide/a.md": article("See [@agnew2001forest].\n")}, unlocated)
    assert outcome.code == 0
    assert ("content/sources.yaml:1:1: warning[source-uncited]: no page cites 'vennum2014complicated'"
            in outcome.stderr)
    assert ("content/sources.yaml:69:1: warning[source-no-link]: 'agnew2001forest' has neither a DOI nor a URL"
            in outcome.stderr)
    assert ("content/sources.yaml:83:1: warning[source-uncited]: no page cites 'mason2012facing'\n"
            "    hint: it cannot be cited until 'verified' is confirmed or likely; remove it") in outcome.stderr
    assert run(project, "build", "--strict").code == 1


def test_a_journal_article_with_volume_and_pages_needs_no_link(site):
    _, outcome = site({"content/guide/a.md": article("See [@agnew2001forest].\n")})
    assert outcome.code == 0
    assert "source-no-link" not in outcome.stderr


# Coverage -------------------------------------------------------------------------------------

COVERAGE = f"""\
Intro without a citation is fine.

## Cited section

Evidence [@vennum2014complicated].

## What *I* would do

Experience.

## Uncited section

### Sub-section

A claim with no source.

## Cited below a sub-heading

### Detail

More [@cupach2004darkside]. {CITES_ALL}
"""


def test_each_article_section_cites_a_source_unless_experience_based(site, run):
    project, outcome = site({"content/guide/a.md": article(COVERAGE, experience_based="[What I would do]")})
    assert outcome.code == 0
    lines = [d for d in outcome.diagnostics if "section-uncited" in d]
    assert lines == ["content/guide/a.md:22:1: warning[section-uncited]: section 'Uncited section' cites no source"]
    assert run(project, "check", "--strict").code == 1


def test_coverage_applies_to_articles_only_and_flags_unknown_experience_titles(site):
    project, outcome = site({
        "content/questions/q.md": page("faq", "## A question\n\nAn answer.\n"),
        "content/guide/a.md": article(COVERAGE, experience_based="[What I would do, Uncited section, Gone]"),
    })
    assert not [d for d in outcome.diagnostics if "section-uncited" in d]
    assert ("content/guide/a.md:9:1: warning[experience-based-unknown]: 'experience_based' names 'Gone'"
            in outcome.stderr)


def test_sections_reports_each_sections_keys():
    from mend.citations import sections
    from mend.content import Page

    body = "Intro.\n\n## One\n\n[@a] [@b] [@a]\n\n    ## not a heading\n\nTwo\n---\n\nText [@c].\n"
    found = sections(Page(None, "x.md", "article", "x", "guide", "/guide/x/", {"experience_based": ["Two"]},
                          body, 12, {}))
    assert [(s.title, s.line, s.keys, s.experience_based) for s in found] == [
        ("One", 14, ["a", "b"], False), ("Two", 20, ["c"], True)]


# Formatting once, cached ----------------------------------------------------------------------

def test_bibliography_is_formatted_once_and_cached(site, run, monkeypatch):
    project, outcome = site({"content/guide/a.md": article(f"{CITES_ALL}\n")})
    first = read(project, "/guide/a/")

    def no_pandoc(*_):
        def result():
            raise bibliography.FormattingFailed("pandoc ran")
        return result

    monkeypatch.setattr(bibliography, "start_pandoc", no_pandoc)
    assert run(project, "build").code == 0
    assert read(project, "/guide/a/") == first
    sources = project.content / "sources.yaml"
    sources.write_text(sources.read_text("utf-8").replace("Test Press", "Other Press"), "utf-8")
    outcome = run(project, "build")
    assert ("content/sources.yaml:1:1: error[sources-format]: pandoc could not format the sources: pandoc ran"
            in outcome.stderr)                                                # a change reformats


def test_a_site_that_cites_nothing_never_needs_pandoc(make_project, run, monkeypatch):
    """pandoc starts as soon as sources.yaml is read, before anyone knows whether a page
    cites; a site that cites nothing never waits for it, so a failing pandoc changes nothing."""
    def no_pandoc(*_):
        def result():
            raise bibliography.FormattingFailed("pandoc ran")
        return result

    monkeypatch.setattr(bibliography, "start_pandoc", no_pandoc)
    project = make_project({"content/sources.yaml": SOURCES, "content/guide/a.md": article("No citations.\n")})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    assert "<li id=" not in read(project, "/sources/")          # the Sources page lists cited sources only
    assert "source-uncited" not in outcome.stderr                # nothing is in use, so nothing is unused


# The sync script --------------------------------------------------------------------------------

def test_sync_sources_copies_exactly_the_cited_entries(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "library.yaml").write_text(SOURCES, "utf-8")
    (library / "library-extra.yaml").write_text("[]\n", "utf-8")
    (tmp_path / "content" / "guide").mkdir(parents=True)
    (tmp_path / "content" / "guide" / "a.md").write_text(
        "See [@samaritans_nd_helpline; @cupach2004darkside], `[@agnew2001forest]` and [@mason2012facing].\n")
    command = [sys.executable, str(ROOT / "scripts" / "sync_sources.py"), "--library", str(library),
               "--root", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "'mason2012facing' is marked doubtful; left out" in done.stderr
    written = yaml.safe_load((tmp_path / "content" / "sources.yaml").read_text("utf-8"))
    assert [e["id"] for e in written] == ["cupach2004darkside", "samaritans_nd_helpline"]
    assert written[1]["note"].startswith("United Kingdom") and written[0]["verified"] == "confirmed"
    everything = subprocess.run(command + ["--all"], capture_output=True, text=True, timeout=120)
    assert everything.returncode == 0
    assert len(yaml.safe_load((tmp_path / "content" / "sources.yaml").read_text("utf-8"))) == 7


def test_sync_sources_also_copies_the_services_help_yaml_names(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "library.yaml").write_text(SOURCES, "utf-8")         # the other library files are absent
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "help.yaml").write_text(
        "international:\n  - {source: samaritans_nd_helpline, name: Samaritans, purpose: crisis}\n", "utf-8")
    command = [sys.executable, str(ROOT / "scripts" / "sync_sources.py"), "--library", str(library),
               "--root", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load((tmp_path / "content" / "sources.yaml").read_text("utf-8"))
    assert [e["id"] for e in written] == ["samaritans_nd_helpline"]
