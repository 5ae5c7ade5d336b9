"""Adversarial inputs: every step is linear, or close, in the size of its input.

Each property test builds a hostile page from a repeated unit (the inputs that used to take
seconds to minutes) and runs the step on it under a Hypothesis ``deadline``: a time bound per
example, generous enough for a loaded machine, far below what the quadratic code took.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mend import checks, citations
from mend.diagnostics import Locator, Report
from mend.markup import Link

# Units that once made a scan quadratic: unclosed brackets, comments, code spans, autolinks.
HOSTILE_UNITS = ["[@a; ", "[@", "<!--", "<!-- [@a] ", "`[@ ", "`` a` ", "<a:[@x ", "[@a, p ", "[@x\n\n",
                 "``` [@a\n", "[@a] <!-- "]
# 100,000 characters: linear code scans this in well under a second; the old code took minutes.
SIZE = 100_000
BOUND = timedelta(seconds=10)

bounded = settings(max_examples=len(HOSTILE_UNITS) * 2, deadline=BOUND, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])


@bounded
@given(unit=st.sampled_from(HOSTILE_UNITS), tail=st.sampled_from(["", "]", " [@key]", "-->", "`"]))
def test_citation_scan_is_linear_on_hostile_pages(unit, tail):
    body = unit * (SIZE // len(unit)) + tail
    found = citations.scan(body)
    assert all(g.start < g.end for g in found.groups)


@bounded
@given(unit=st.sampled_from(["[@a]\n\n## Heading\n\n", "## H\n[@a]\n", "[@a]"]))
def test_section_coverage_is_linear_in_headings_and_citations(unit):
    body = unit * (SIZE // len(unit) // 4)
    page = SimpleNamespace(body=body, body_line=1, meta={}, kind="article", shown="x.md", positions={})
    found = citations.sections(page)
    assert all(s.keys == ["a"] for s in found[:-1])


def test_comment_and_code_regions_still_protect_citations():
    body = "a <!-- [@hidden] --> b `[@code]` c\n\n`` x\n\ny`` [@seen]"
    keys = [c.key for g in citations.scan(body).groups for c in g.cites]
    assert keys == ["seen"]


def _footnote_page(count: int):
    body = "".join(f"Text[^{n}] and a bad [link](#nowhere).\n" for n in range(count))
    page = SimpleNamespace(body=body, body_line=5, shown="content/guide/notes.md")
    ids = "\n".join(sorted([f"fn:{n}" for n in range(count)] + [f"fnref:{n}" for n in range(count)]))
    links = [Link(f"#fn:{n}", "/guide/notes/", f"fn:{n}", "a") for n in range(count)]
    links += [Link("#nowhere", "/guide/notes/", "nowhere", "a") for _ in range(count)]
    return page, links, checks.Anchors([("/guide/notes/", ids)])


@settings(max_examples=2, deadline=BOUND, derandomize=True)
@given(count=st.sampled_from([10_000]))
def test_link_check_of_ten_thousand_footnotes_is_linear(count):
    page, links, anchors = _footnote_page(count)
    report = Report()
    checks.check_links([(page, links)], anchors, set(), report)
    assert len(report.items) == count
    assert [d.line for d in report.items[:3]] == [5, 6, 7]


def test_a_repeated_broken_link_is_reported_at_each_place():
    page, links, anchors = _footnote_page(3)
    report = Report()
    checks.check_links([(page, links)], anchors, set(), report)
    assert [(d.line, d.col, d.code) for d in report.sorted()] == [
        (5, 27, "anchor-broken"), (6, 27, "anchor-broken"), (7, 27, "anchor-broken")]


def test_locator_answers_each_occurrence_in_turn():
    locate = Locator("bad\nok bad\n\nbad", first_line=10)
    assert [locate("bad") for _ in range(4)] == [(10, 1), (11, 4), (13, 1), (13, 1)]
    assert locate("absent") == (10, 1)
