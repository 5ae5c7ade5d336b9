"""The real guide, built once: the coverage issue 16 asks for and the safety wording it fixed,
read from the HTML and PDF output (not the Markdown), plus the source sync reading the
library's dated files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from mend.pipeline import Project, build

pytestmark = pytest.mark.slow    # builds the real guide, PDFs included

# The pages where the issue found no route to help in the text, and couples counselling (no crisis line).
NEEDS_HELP_IN_TEXT = ("guide/getting-back-in-touch", "guide/space-after-a-breakup", "what-we-left-out",
                      "questions/moving-on", "worksheets/space-plan", "worksheets/conversation-plan",
                      "guide/couples-counselling")
# Pages about getting back in touch: each must say it does not apply where there was fear or abuse.
ABOUT_RECONNECTING = ("guide/getting-back-in-touch", "guide/deciding-whether-to-try-again",
                      "guide/if-you-both-want-to-try-again", "guide/talking-about-what-went-wrong",
                      "questions/getting-back-together", "worksheets/trying-again-agreement",
                      "worksheets/conversation-plan", "worksheets/decision-aid")
LOCK_DOWN_LISTS = ("guide/is-it-safe", "guide/if-your-ex-wont-leave-you-alone", "help")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("guide") / "site"
    result = build(Project(ROOT, out))
    assert result.written, result.report.format(False)
    return out


def body_text(site: Path, page: str) -> str:
    """The page's own text: <main> without its contents list and Sources, as plain words."""
    html = (site / page / "index.html").read_text("utf-8")
    main = html[html.index("<main"):html.index("</main>")]
    main = re.sub(r'<nav class="contents".*?</nav>', " ", main, flags=re.S)
    main = re.sub(r'<section class="sources".*?</section>', " ", main, flags=re.S)
    return main


def words(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def faq_questions(site: Path) -> list[str]:
    questions = []
    for page in sorted((site / "questions").glob("*/index.html")):
        for text in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page.read_text("utf-8"), re.S):
            data = json.loads(text)
            if data.get("@type") == "FAQPage":
                questions += [q["name"] for q in data["mainEntity"]]
    return questions


def test_the_guide_has_the_coverage_the_second_edition_promises(site):
    articles = [p for p in (site / "guide").glob("*/index.html")]
    faq_pages = [p for p in (site / "questions").glob("*/index.html")]
    worksheets = [p.parent for p in (site / "worksheets").glob("*/index.html")]
    assert len(articles) >= 18 and len(faq_pages) >= 6 and len(worksheets) >= 10
    assert len(faq_questions(site)) >= 50
    for folder in worksheets:                       # every worksheet ships both fillable PDFs
        assert {p.name for p in folder.glob("*.pdf")} == {f"{folder.name}-a4.pdf", f"{folder.name}-letter.pdf"}
    for page in ("after-cheating", "when-you-ended-it", "if-you-both-want-to-try-again", "helping-a-friend",
                 "the-practical-side-of-separating", "later-life-and-same-sex-breakups"):
        assert 'class="sources"' in (site / "guide" / page / "index.html").read_text("utf-8"), page


@pytest.mark.parametrize("page", NEEDS_HELP_IN_TEXT)
def test_the_text_itself_links_to_help(site, page):
    assert re.search(r'href="(\.\./)*help/(#[\w-]+)?"', body_text(site, page)), page


def test_couples_counselling_routes_to_a_crisis_line(site):
    text = words(body_text(site, "guide/couples-counselling"))
    assert re.search(r"cannot cope.{0,200}Crisis lines", text)


@pytest.mark.parametrize("page", ABOUT_RECONNECTING)
def test_reconnecting_pages_rule_out_fear_and_abuse(site, page):
    assert re.search(r"\b(afraid|scared|fear)\b", words(body_text(site, page))), page


@pytest.mark.parametrize("page", LOCK_DOWN_LISTS)
def test_lock_down_lists_warn_that_sudden_changes_can_alert_a_controlling_ex(site, page):
    assert re.search(r"[Ss]udden changes?\b.{0,60}alert", words(body_text(site, page))), page


def test_blocking_advice_agrees_between_social_media_and_is_it_safe(site):
    for page in ("guide/social-media-after-a-breakup", "guide/is-it-safe"):
        text = words(body_text(site, page))
        assert "some keep a way to see" in text and "helpline can help you choose what is safest" in text, page


def test_the_birthday_answer_matches_when_the_answer_is_no(site):
    text = words(body_text(site, "questions/contact-and-space"))
    answer = text[text.index("Is it OK to text my ex on their birthday?"):]
    answer = answer[:answer.index("Go deeper")]
    assert "said no" in answer and "not replied" in answer and "afraid" in answer and "controlling" in answer


def test_the_message_card_asks_about_a_no_and_about_fear_of_me(site):
    text = words(body_text(site, "worksheets/before-you-send"))
    assert "Have they already said no, or not replied" in text
    assert "Was my ex afraid of me, or was I controlling?" in text


def test_the_decision_aid_has_a_keep_this_safe_note_before_the_harm_question(site):
    text = words(body_text(site, "worksheets/decision-aid"))
    assert text.index("Keep this safe.") < text.index("They hurt me, threatened me")


def test_what_we_left_out_leads_each_myth_with_what_is_true(site):
    html = body_text(site, "what-we-left-out")
    myths = [m.start() for m in re.finditer(r'class="admonition myth"', html)]
    truths = [m.start() for m in re.finditer(r"<strong>What is true\.</strong>", html)]
    assert myths and len(truths) == len(myths)
    assert all(t < m for t, m in zip(truths, myths))
    assert all(prev_myth < truth for prev_myth, truth in zip(myths, truths[1:]))


def test_sync_sources_reads_the_dated_library_files(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for name in ("library.yaml", "library-extra.yaml"):
        (library / name).write_text("[]\n", "utf-8")
    entry = {"id": "knopp2017cheater", "type": "article-journal", "title": "Once a cheater",
             "verified": "confirmed", "design": "longitudinal", "sample": "484 US adults",
             "finding": "Raised risk, not certainty.", "DOI": "10.1007/s10508-017-1018-1"}
    (library / "research-2026-12.yaml").write_text(yaml.safe_dump([entry]), "utf-8")
    (tmp_path / "content" / "guide").mkdir(parents=True)
    (tmp_path / "content" / "guide" / "a.md").write_text("It is a raised risk [@knopp2017cheater].\n")
    command = [sys.executable, str(ROOT / "scripts" / "sync_sources.py"), "--library", str(library),
               "--root", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load((tmp_path / "content" / "sources.yaml").read_text("utf-8"))
    assert [(e["id"], e["design"]) for e in written] == [("knopp2017cheater", "longitudinal")]
