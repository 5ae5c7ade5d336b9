"""Editorial checks, second edition: advice judged by what it tells the reader to do, claims by
what their sources can show (issue 15), and masks that stay linear on hostile Markdown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, page
from mend.diagnostics import Report
from mend.editorial import check_claims, check_sentence, load_rules, page_sentences
from mend.report import sources_table
from test_editorial import REAL_SOURCES, with_rules


@pytest.fixture(scope="module")
def rules():
    report = Report()
    loaded = load_rules(ROOT / "content", ROOT, report)
    assert loaded is not None and not report.items, report.format()
    return loaded


def sentence_of(text: str):
    sentences = page_sentences(text)[0]
    assert len(sentences) == 1, sentences
    return sentences[0]


def rule_ids(text: str, rules) -> set[str]:
    return {v.rule.id for v in check_sentence(sentence_of(text), rules)}


# ------------------------------------------------------------------ stance from the sentence

NEW_FAMILIES = {   # rule id: (uncited variant, the same advice with a citation of its own)
    "withdraw-to-pull": ("Go quiet for a fortnight so they come running to you.",
                         "Go quiet for a fortnight so they come running to you [@sbarra2005sequelae]."),
    "guilt-pressure": ("Say you can't sleep, so they feel they have to check on you.",
                       "Say you can't sleep, so they feel they have to check on you [@mason2012staying]."),
    "senses-and-nostalgia": ("Wear the perfume they bought you when you meet, so they remember.",
                             "Wear the perfume they bought you when you meet, so they remember "
                             "[@wildschut2006nostalgia]."),
    "keep-access-home": ("Hang on to the key to their flat so you can drop by.",
                         "Hang on to the key to their flat so you can drop by [@spitzberg2007stalking]."),
    "keep-access-accounts": ("Stay logged in to their email so you know their plans.",
                             "Stay logged in to their email so you know their plans [@fox2015monitoring]."),
    "other-phones": ("Text them from your brother's phone once they block you.",
                     "Text them from your brother's phone once they block you [@dardis2017pursuit]."),
    "watch-home-car": ("Park opposite their flat to see who visits.",
                       "Park opposite their flat to see who visits [@lyndon2011facebook]."),
}


@pytest.mark.parametrize("rule_id", sorted(NEW_FAMILIES))
def test_each_new_family_is_caught_with_and_without_a_citation(rule_id, rules):
    uncited, cited = NEW_FAMILIES[rule_id]
    assert rule_id in rule_ids(uncited, rules)
    assert rule_id in rule_ids(cited, rules)


def test_the_issue_example_is_caught_although_it_cites_a_study(rules):
    assert "steer-feelings" in rule_ids("Use the no-contact rule to make your ex miss you.[@sbarra2005sequelae]",
                                        rules)


@pytest.mark.parametrize("text", [
    "In one study, people who went quiet so their ex would chase them felt worse [@fleischmann2005tickling].",
    "People who tried to make an ex jealous tended to regret it [@fleischmann2005tickling].",
    "Research links checking an ex's profile to see who they are dating to more distress [@marshall2012facebook].",
])
def test_a_citation_still_exempts_a_sentence_that_reports_a_finding(text, rules):
    assert rule_ids(text, rules) == set()


@pytest.mark.parametrize("text", [
    "You should go quiet so they chase you [@dai2014hard].",
    "The trick is to check their stories to see who they are with; studies show it works [@marshall2012facebook].",
    "Try reminding them of your holidays to stir up old feelings, as research suggests [@wildschut2006nostalgia].",
])
def test_an_instruction_is_advice_even_when_it_names_research(text, rules):
    assert rule_ids(text, rules)


def test_cited_advice_fails_the_build_at_its_position(make_project, run):
    body = "Take your time.\n\nGo quiet for a fortnight so they come running to you [@sbarra2005sequelae].\n"
    text = page("article", body)
    line_no = text.splitlines().index(body.splitlines()[2]) + 1
    outcome = run(make_project(with_rules({"content/guide/x.md": text}, ("sbarra2005sequelae",))), "check")
    assert outcome.code == 1
    assert f"content/guide/x.md:{line_no}:26: error[editorial/withdraw-to-pull]:" in outcome.stderr
    assert "Traceback" not in outcome.stderr


# ------------------------------------------------------------------ claim strength, each design class

def entry(design: str, sample: str = "312 adults in five countries", **more) -> dict:
    return {"design": design, "sample": sample, **more}


CAUSAL = "Keeping in touch with an ex slows recovery [@a]."
ASSOCIATIVE = "Keeping in touch with an ex went with slower recovery [@a]."
HEDGED = "Keeping in touch with an ex may slow recovery [@a]."


def codes(text: str, sources: dict, rules) -> list[str]:
    return [p.code for p in check_claims(sentence_of(text), rules.claims, sources, rules.vocab)]


@pytest.mark.parametrize("design", ["cross-sectional", "longitudinal", "diary", "qualitative", "narrative-review",
                                    "other", "book"])
def test_causal_words_on_a_non_experimental_source_are_an_error(design, rules):
    sources = {"a": entry(design)}
    assert codes(CAUSAL, sources, rules) == ["causal"]
    assert codes(ASSOCIATIVE, sources, rules) == []
    assert codes(HEDGED, sources, rules) == []


@pytest.mark.parametrize("source", [entry("rct"), entry("experiment"),
                                    entry("meta-analysis", "meta-analysis of 40 randomized trials"),
                                    entry("systematic-review", "systematic review of 12 RCTs")])
def test_causal_words_on_experiments_and_reviews_of_trials_pass(source, rules):
    assert codes(CAUSAL, {"a": source}, rules) == []


@pytest.mark.parametrize("design", ["meta-analysis", "systematic-review"])
def test_a_review_of_other_designs_does_not_support_causal_words(design, rules):
    assert codes(CAUSAL, {"a": entry(design, "review of 51 surveys")}, rules) == ["causal"]


def test_one_experimental_source_among_several_supports_the_causal_words(rules):
    text = "Keeping in touch with an ex slows recovery [@a; @b]."
    assert codes(text, {"a": entry("cross-sectional"), "b": entry("rct")}, rules) == []
    assert codes(text, {"a": entry("cross-sectional"), "b": entry("diary")}, rules) == ["causal"]


@pytest.mark.parametrize("design", ["service", "instrument"])
def test_a_service_or_instrument_cited_for_a_claim_about_people_is_a_warning(design, rules):
    sources = {"a": entry(design, "n/a")}
    assert codes("Most people who call feel calmer afterwards [@a].", sources, rules) == ["source"]
    assert codes("Call any time; the line is free [@a].", sources, rules) == []


@pytest.mark.parametrize("sample, named", [
    ("412 US undergraduates, one-time survey", "In a survey of undergraduates, keeping in touch went with "
                                               "slower recovery [@a]."),
    ("58 young adults, 28-day diary", "Among young adults, keeping in touch went with slower recovery [@a]."),
    ("792 young adults in Toledo, interviews", "In one city, young adults who kept in touch recovered more "
                                               "slowly [@a]."),
])
def test_a_narrow_sample_must_be_named(sample, named, rules):
    sources = {"a": entry("cross-sectional", sample)}
    assert codes(ASSOCIATIVE, sources, rules) == ["sample"]
    assert codes(named, sources, rules) == []
    assert codes(ASSOCIATIVE, {"a": entry("cross-sectional")}, rules) == []      # a broad sample


def test_the_group_may_be_named_earlier_in_the_paragraph(rules):
    text = ("A survey asked 400 college students about their last breakup. Keeping in touch went with "
            "slower recovery [@a].")
    cited = [s for s in page_sentences(text)[0] if s.keys][0]
    sources = {"a": entry("cross-sectional", "400 college students")}
    assert check_claims(cited, rules.claims, sources, rules.vocab) == []


def test_claim_problems_come_from_the_real_bibliography_and_strict_fails(make_project, run):
    body = ("Staying in touch with an ex slows recovery [@sbarra2005sequelae].\n\n"
            "Most people who call feel calmer afterwards [@samaritans_nd_helpline].\n")
    project = make_project(with_rules({"content/guide/x.md": page("article", body)},
                                      ("sbarra2005sequelae", "samaritans_nd_helpline")))
    outcome = run(project, "check")
    assert "error[claim/causal]: 'slows' states a cause, but its source sbarra2005sequelae (diary)" in outcome.stderr
    assert "hint: say what was seen: 'was linked to', 'went with' (the library's note:" in outcome.stderr
    assert "warning[claim/sample]: the finding comes from young adults only" in outcome.stderr
    assert "warning[claim/source]: its source samaritans_nd_helpline (service)" in outcome.stderr
    assert run(project, "check", "--strict").code == 1


def test_real_sources_carry_design_and_sample():
    assert REAL_SOURCES and all(e.get("design") and e.get("sample") for e in REAL_SOURCES.values())


# ------------------------------------------------------------------ the check report

def test_check_report_lists_each_source_with_the_pages_citing_it(make_project, run):
    files = {"content/guide/a.md": page("article", "In one survey, most adults felt better [@fox2015monitoring].\n"),
             "content/guide/b.md": page("article", "In one survey of adults, distress went with checking "
                                                   "[@fox2015monitoring].\n", title="B")}
    outcome = run(make_project(with_rules(files, ("fox2015monitoring",))), "check")
    table = outcome.stderr[outcome.stderr.index("Sources, most-cited first"):]
    row = next(line for line in table.splitlines() if line.startswith("fox2015monitoring"))
    assert row.split()[1:] == ["2", "guide/a,", "guide/b"]


def test_sources_table_is_empty_without_citations():
    assert sources_table({}) == []


# ------------------------------------------------------------------ masks stay linear

ADVERSARIAL = ["[@a; " * 2500, "[@" * 100_000, "<!--" * 50_000, "![" * 50_000, "[a](" * 25_000,
               "<http:" * 25_000, "{:" * 50_000, "[^" * 50_000, "[x:" * 50_000,
               "don't keep texting them, even if they ignore you, " * 500]


@settings(deadline=10_000, max_examples=len(ADVERSARIAL), derandomize=True)
@given(st.sampled_from(ADVERSARIAL))
def test_hostile_markup_is_read_in_near_linear_time(rules, text):
    # Before the masks were rewritten the first of these took about 30 s, the second minutes.
    sentences = page_sentences(text)[0]
    for sentence in sentences:
        check_sentence(sentence, rules)
