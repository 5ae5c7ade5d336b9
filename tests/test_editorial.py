"""Editorial checks: rules on sentences, myth blocks, reading grade, review dates, help block, report."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SITE_YAML, front_matter, page
from mend.diagnostics import Report
from mend.editorial import FAMILIES, Sentence, check_sentence, load_rules, page_sentences
from mend.pipeline import Project, build
from mend.readability import measure, syllables

RULES_TEXT = (ROOT / "content" / "editorial" / "rules.yaml").read_text("utf-8")
# Fixture sites get the real rules with ledger rows only as sources, and a bibliography of
# just the entries their pages cite (the build reports sources no page cites).
FIXTURE_RULES = re.sub(r"why: \[(L\d\d(?:, L\d\d)*)[^\]]*\]", r"why: [\1]", RULES_TEXT)
REAL_SOURCES = {e["id"]: e for e in yaml.safe_load((ROOT / "content" / "sources.yaml").read_text("utf-8"))}
LABELLED = yaml.safe_load((ROOT / "tests" / "editorial_sentences.yaml").read_text("utf-8"))
LONG_SOUND_PARAGRAPH = "You can take your time. " * 30   # 150 short words: grade well under 8


@pytest.fixture(scope="module")
def rules():
    report = Report()
    loaded = load_rules(ROOT / "content", ROOT, report)
    assert loaded is not None and not report.items, report.format()
    return loaded


def flagged(text: str, rules) -> list[str]:
    return [v.rule.id for v in check_sentence(Sentence(text, 1, 1), rules)]


def with_rules(files: dict, cites: tuple[str, ...] = ()) -> dict:
    sources = yaml.safe_dump([REAL_SOURCES[key] for key in cites], allow_unicode=True, sort_keys=False)
    return {"content/editorial/rules.yaml": FIXTURE_RULES, "content/sources.yaml": sources, **files}


# ------------------------------------------------------------------ the rules file and the labelled set

def test_every_rule_has_a_family_of_the_standard_and_a_source(rules):
    assert len(rules) >= 10
    assert {r.family for r in rules.rules} == set(FAMILIES)
    for rule in rules.rules:
        assert rule.message and rule.rewrite and rule.why, rule.id


def test_labelled_set_is_big_enough_balanced_and_split(rules):
    assert len(LABELLED) >= 80 + 60           # the second edition added at least 60
    for part in ("tune", "heldout"):
        items = [i for i in LABELLED if i["part"] == part]
        flag = [i for i in items if i["expect"] != "sound"]
        assert items and abs(len(flag) - (len(items) - len(flag))) <= len(items) * 0.15, part
        assert {i["expect"] for i in flag} == set(FAMILIES) | {"causal", "sample", "source"}, part
    # "blind" (when present): written by someone who had not seen the rules; measured once,
    # then moved to "tune" if the rules are tuned on it.
    assert {"tune", "heldout"} <= {i["part"] for i in LABELLED} <= {"tune", "heldout", "blind"}
    assert len({i["text"] for i in LABELLED}) == len(LABELLED), "a sentence is listed twice"


def test_every_rule_fires_on_some_labelled_sentence(rules):
    fired = {rule for item in LABELLED for rule in flagged(item["text"], rules)}
    assert fired == {r.id for r in rules.rules}


def test_eval_script_meets_the_held_out_targets():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "editorial_eval.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {tuple(line[:27].split()): line.split()[-6:-3] for line in done.stdout.splitlines()
            if line.startswith("heldout ")}
    for group in (("heldout", "all"), ("heldout", "advice,", "cited"), ("heldout", "advice,", "uncited"),
                  ("heldout", "causal", "claims")):
        tp, fp, fn = (int(x) for x in rows[group])
        assert tp / (tp + fn) >= 0.9, group
    assert int(rows[("heldout", "all")][1]) == 0
    assert "held-out target (recall >= 0.9 for advice, cited, advice, uncited, causal claims; " \
           "no false positives): met" in done.stdout


@pytest.mark.parametrize("text", [
    "Post photos so they get jealous.",
    "Make your ex miss you.",
    "Keep texting until they reply.",
    "This is guaranteed to bring them back.",
    "Ignore them so they chase you.",
])
def test_issue_examples_are_caught(text, rules):
    assert flagged(text, rules)


@pytest.mark.parametrize("text", [
    "Respect their request for no contact.",
    "Research links jealousy induction to worse outcomes.",
    "No one can guarantee a relationship will restart.",
])
def test_issue_counter_examples_pass(text, rules):
    assert flagged(text, rules) == []


@pytest.mark.parametrize("sound, unsound", [
    ("Don't post photos to make your ex jealous.", "Post photos to make your ex jealous."),
    ("If they don't reply, stop messaging.", "If they don't reply, keep messaging until they answer."),
    ("Take space for yourself, not to make them miss you.", "Take space for yourself to make them miss you."),
    ("They are probably not interested.", "They are probably still interested."),
    ("Going quiet is linked to worse outcomes when it is used to make an ex miss you.",
     "Going quiet is the best way to make an ex miss you."),
    # a yes-or-no question asks; "why not ...?" still tells
    ("Should I check his stories every night to see who he's seeing?",
     "Why not check his stories every night to see who he's seeing?"),
    # a gerund subject its clause negates is judged, not advised
    ("Checking her location every night won't tell you where you stand.",
     "Checking her location every night is the easiest way to know where she is."),
    # a condition about the ex, then an order: not a list inside the condition
    ("If she's blocked your number, unfollowed you and muted you, take that as her answer.",
     "If she's blocked your number, borrow a friend's phone and call, she'll pick up."),
])
def test_negation_and_description_decide(sound, unsound, rules):
    assert flagged(sound, rules) == []
    assert flagged(unsound, rules)


# ------------------------------------------------------------------ sentences from Markdown

def test_sentences_keep_line_and_column_and_skip_markup():
    body = ("Intro line.\n\n## A *heading*\n\nSee [the page](/guaranteed/) or `keep texting until they reply`."
            " Second one [@key].\n\n```\nMake your ex miss you.\n```\n- item one\n- item two\n")
    sentences, _ = page_sentences(body, 10)
    found = [(s.text, s.line, s.col, s.kind, s.cited) for s in sentences]
    assert found == [
        ("Intro line.", 10, 1, "text", False),
        ("A heading", 12, 4, "heading", False),
        ("See the page or .", 14, 1, "text", False),
        ("Second one .", 14, 66, "text", True),
        ("item one", 19, 3, "text", False),
        ("item two", 20, 3, "text", False),
    ]


def test_myth_block_sentences_are_marked():
    body = 'Before.\n\n!!! myth "Myth: make them jealous"\n    Quoted here.\n\nAfter.\n'
    sentences, myths = page_sentences(body, 1)
    assert [(s.text, s.in_myth) for s in sentences] == [
        ("Before.", False), ("Myth: make them jealous", True), ("Quoted here.", True), ("After.", False)]
    assert [(m.line, m.col) for m in myths] == [(3, 1)]


# ------------------------------------------------------------------ through the build

def test_violation_is_reported_at_its_position_with_the_rewrite(make_project, run):
    body = "Some text first.\n\nIt helps to **rest**. Then post photos so they get jealous.\n"
    text = page("article", body)
    line_no = text.splitlines().index("It helps to **rest**. Then post photos so they get jealous.") + 1
    project = make_project(with_rules({"content/guide/x.md": text}))
    outcome = run(project, "check")
    assert outcome.code == 1
    found = [d for d in outcome.diagnostics if "editorial/" in d]
    # reported where the purpose clause starts: "so they get jealous"
    assert found == [f"content/guide/x.md:{line_no}:40: error[editorial/steer-feelings]: advice that aims to stir "
                     "your ex's feelings steers their choice without their informed agreement "
                     '("Then post photos so they get jealous.")']
    assert "hint: Do it for your own sake, not for the effect on them" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_sound_advice_page_builds_strict(make_project, run):
    body = ("Respect their request for no contact. If they don't reply, take that as an answer. "
            "Never turn up at their home uninvited.\n")
    project = make_project(with_rules({"content/guide/x.md": page("article", body)}))
    outcome = run(project, "build", "--strict")
    assert outcome.code == 0, outcome.stderr


def test_code_link_urls_and_citations_are_not_checked(make_project, run):
    body = ("Read [our page](/help/) and this `keep texting until they reply` example.\n\n"
            "```\nMake your ex miss you.\n```\n")
    project = make_project(with_rules({"content/guide/x.md": page("article", body)}))
    outcome = run(project, "build", "--strict")
    assert outcome.code == 0, outcome.stderr


MYTH_BODY = '!!! myth "Myth: Go silent so they miss you"\n    One page said silence makes an ex pine.\n'


def test_myth_block_is_allowed_only_where_front_matter_says_so(make_project, run):
    allowed = make_project(with_rules({"content/left-out.md": page("page", MYTH_BODY, allow_myths="true")}))
    assert run(allowed, "build", "--strict").code == 0


def test_myth_block_elsewhere_is_an_error_and_its_sentences_are_checked(make_project, run):
    project = make_project(with_rules({"content/guide/x.md": page("article", MYTH_BODY)}))
    outcome = run(project, "check")
    assert outcome.code == 1
    assert any(d.startswith("content/guide/x.md:11:1: error[myth-not-allowed]") for d in outcome.diagnostics)
    assert any("error[editorial/steer-feelings]" in d for d in outcome.diagnostics)


def test_unsourced_statistic_passes_when_its_paragraph_cites(make_project, run):
    cited = "About 8 in 10 students said so. That was in one study [@dardis2017pursuit].\n"
    uncited = "About 8 in 10 students said so.\n"
    project = make_project(with_rules({"content/guide/a.md": page("article", cited, title="A"),
                                       "content/guide/b.md": page("article", uncited, title="B")},
                                      cites=("dardis2017pursuit",)))
    codes = [d for d in run(project, "check").diagnostics if "unsourced-statistic" in d]
    assert [d.split(":")[0] for d in codes] == ["content/guide/b.md"]


# ------------------------------------------------------------------ the rules file is validated

@pytest.mark.parametrize("change, broken, message", [
    ("family: steering", "family: steerin", "unknown family 'steerin'"),
    ("{make} {ex}", "{make} {exx}", "no concept named 'exx'"),
    ("why: [L39, L53, L73]", "why: [L39, nosuchkey2020]", "'nosuchkey2020' is neither a ledger row"),
])
def test_broken_rules_file_is_reported_not_raised(change, broken, message, make_project, run):
    assert change in FIXTURE_RULES
    text = FIXTURE_RULES.replace(change, broken, 1)
    project = make_project({**with_rules({}), "content/editorial/rules.yaml": text})
    outcome = run(project, "check")
    assert outcome.code == 1 and "Traceback" not in outcome.stderr
    problems = [d for d in outcome.diagnostics if "error[rules-invalid]" in d]
    assert problems and message in problems[0]
    assert problems[0].startswith("content/editorial/rules.yaml:")
    line = int(problems[0].split(":")[1])
    assert broken.split()[-1].strip("[]{},") in text.splitlines()[line - 1]



def test_every_pattern_of_the_guide_compiles():
    """Patterns compile when a sentence first needs them, not at load time; a pattern the
    compiler turned into a broken regex would fail only on the page that reached it."""
    rules = load_rules(ROOT / "content", ROOT, Report())
    searchers = [part for rule in rules.rules for pattern in rule.patterns for part in pattern]
    assert len(searchers) > 200
    assert all(isinstance(part.compiled, re.Pattern) for part in searchers)

# ------------------------------------------------------------------ reading grade

def test_syllable_rule_agrees_with_a_dictionary_on_common_words():
    # Counts from the CMU Pronouncing Dictionary.
    known = dict(the=1, you=1, make=1, time=1, house=1, asked=1, played=1, wanted=2, needed=2, texted=2, makes=1,
                 times=1, boxes=2, places=2, changes=2, lonely=2, safely=2, completely=3, movement=2, doing=2,
                 going=2, being=2, seeing=2, people=2, table=2, social=2, relationship=4, breakup=2, message=2,
                 messages=3, together=3, feeling=2, evidence=3, recover=3, yourself=2, because=2, someone=2,
                 another=3, honest=2, decide=2, family=3, support=2, contact=2, jealous=2, reply=2, answer=2,
                 danger=2, emergency=4, anything=3, worksheet=2, pressure=2, agreement=3, created=3, yes=1,
                 year=1, likes=1, loved=1, hoped=1, idea=3, area=3, really=2, usually=4, quiet=2, science=2,
                 useful=2, safe=1, whether=2, little=2, counsellor=3, abuse=2, afraid=2, friends=1, police=2,
                 hurt=1, ignore=2, unfollow=3, profile=2, research=2, study=2, studies=2, partner=2, private=2,
                 through=1, thought=1, tired=2, fire=2, free=1, agree=2, careful=2, peaceful=2)
    right = sum(syllables(word) == count for word, count in known.items())
    assert right / len(known) >= 0.9


def test_flesch_kincaid_grade_of_a_hand_counted_passage():
    measured = measure(["The cat sat on the mat.", "It was a sunny day."])
    assert (measured.sentences, measured.words, measured.syllables) == (2, 11, 12)
    assert measured.grade == pytest.approx(0.39 * 11 / 2 + 11.8 * 12 / 11 - 15.59)


HARD = ("Comprehensive psychological considerations notwithstanding, individuals experiencing relationship "
        "dissolution frequently demonstrate considerable ambivalence regarding reconciliation opportunities. ") * 8


def test_reading_grade_above_the_ceiling_is_an_error(make_project, run):
    project = make_project(with_rules({"content/guide/x.md": page("article", HARD)}))
    outcome = run(project, "check")
    assert outcome.code == 1
    grade = [d for d in outcome.diagnostics if "error[reading-grade]" in d]
    assert len(grade) == 1 and grade[0].startswith("content/guide/x.md:11:1:")
    assert "the ceiling is 8" in grade[0]


def test_reading_grade_ceiling_comes_from_site_yaml(make_project, run):
    project = make_project(with_rules({"content/guide/x.md": page("article", HARD)}),
                           site_yaml=SITE_YAML + "reading_grade_max: 40\n")
    assert not [d for d in run(project, "check").diagnostics if "reading-grade" in d]


# ------------------------------------------------------------------ review dates

def test_overdue_review_is_a_warning_and_an_error_under_strict(make_project):
    project = make_project(with_rules({"content/guide/x.md": page("article", "Text.\n")}))
    after_due = dt.date(2027, 11, 2)       # the fixture pages are due on 2027-11-01
    relaxed = build(project, write=False, today=after_due).report
    overdue = [d for d in relaxed.items if d.code == "review-overdue"]
    assert len(overdue) == 4 and {d.severity for d in overdue} == {"warning"}
    assert not relaxed.failed() and relaxed.failed(strict=True)
    on_time = build(project, write=False, today=dt.date(2027, 11, 1)).report
    assert not [d for d in on_time.items if d.code == "review-overdue"]


def test_overdue_review_fails_the_strict_command(make_project, run):
    old = page("article", "Text.\n", last_reviewed="2019-01-10", next_review="2020-01-10")
    project = make_project(with_rules({"content/guide/x.md": old}))
    assert run(project, "build").code == 0
    strict = run(project, "build", "--strict")
    assert strict.code == 1
    assert "content/guide/x.md:8:1: error[review-overdue]: the review was due on 2020-01-10" in strict.stderr


@pytest.mark.parametrize("last, due, code", [
    ("2026-11-01", "2028-11-01", "review-interval"),      # site interval is 12 months by default
    ("2026-11-01", "2026-10-01", "review-dates"),
])
def test_review_dates_must_be_in_order_and_within_the_interval(last, due, code, make_project):
    project = make_project(with_rules({"content/guide/x.md": page("article", "Text.\n", last_reviewed=last,
                                                                   next_review=due)}))
    report = build(project, write=False, today=dt.date(2026, 9, 1)).report
    assert [(d.path, d.line, d.code, d.severity) for d in report.items if d.code.startswith("review")] == [
        ("content/guide/x.md", 8, code, "error")]


def test_missing_reviewers_and_dates_are_errors_shown_in_the_report(make_project, run):
    text = front_matter("article", reviewers=None, last_reviewed=None) + "\nText.\n"
    project = make_project(with_rules({"content/guide/x.md": text}))
    outcome = run(project, "check")
    assert outcome.code == 1
    assert any("content/guide/x.md" in d and "reviewers" in d for d in outcome.diagnostics)
    assert any("content/guide/x.md" in d and "last_reviewed" in d for d in outcome.diagnostics)
    row = next(line for line in outcome.stderr.splitlines() if line.startswith("guide/x.md"))
    assert "not loaded" in row


# ------------------------------------------------------------------ help block

def test_page_without_the_help_block_is_an_error(make_project, run):
    bare = "<!doctype html><html lang=\"en\"><head><title>{{ page.title }}</title></head><body>{{ body }}</body></html>\n"
    project = make_project(with_rules({"templates/bare.html": bare,
                                       "content/plain.md": page("page", "Text.\n", template="bare.html")}))
    outcome = run(project, "build")
    assert outcome.code == 1
    assert [d for d in outcome.diagnostics if "help-missing" in d] == [
        'content/plain.md:1:1: error[help-missing]: the page has no help block (an element with id="help")']


def test_every_page_of_the_real_site_has_the_help_block_and_no_editorial_errors():
    report = build(Project(ROOT), write=False).report
    codes = {d.code for d in report.items}
    assert "help-missing" not in codes
    assert not [c for c in codes if c.startswith("editorial/") or c in ("rules-invalid", "myth-not-allowed")]


# ------------------------------------------------------------------ the report table

def test_check_prints_a_narrow_table_with_one_row_per_page(make_project, run):
    uncited = "Intro.\n\n## A part\n\nKeep texting until they reply.\n\n" + LONG_SOUND_PARAGRAPH + "\n"
    project = make_project(with_rules({"content/guide/x.md": page("article", uncited)}))
    outcome = run(project, "check")
    lines = outcome.stderr.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Editorial report")))
    table = lines[start:]
    assert all(len(line) <= 100 for line in table)
    assert table[1].split() == ["page", "words", "grade", "uncited", "editorial", "next", "review", "errors", "warn"]
    row = next(line for line in table if line.startswith("guide/x.md")).split()
    words, grade, uncited_count, editorial, due = row[1:6]
    assert int(words) == 156 and float(grade) < 8     # the heading is not body text
    assert (uncited_count, editorial, due) == ("1", "1", "2027-11-01")
    assert {line.split()[0] for line in table[3:] if line.endswith(tuple("0123456789"))} >= {
        "about.md", "help.md", "index.md", "guide/x.md"}
