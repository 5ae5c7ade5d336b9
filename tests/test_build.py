"""The engine end to end: a fixture site in, HTML files out."""

from __future__ import annotations

import json
import re

import pytest
from conftest import page, run_build_py, tree_bytes

from mend.pipeline import Project, build

ARTICLE = page("article", """\
    Intro paragraph.

    ## First part

    See [the answers](/questions/basics/#is-it-normal) and [home](/).

    ## Second part

    | Column | Other |
    |:-------|------:|
    | a      | b     |

    A footnote.[^1]

    [^1]: The note.

    !!! note "Good to know"
        An admonition.
    """, title="Deciding whether to try again", order=1, experience_based="[First part, Second part]")

FAQ = page("faq", """\
    Short intro.

    ## Is it normal?

    Yes, *very* normal. Read [the article](/guide/deciding/).

    ## Can I make them come back?

    No. It is their choice.
    """, title="Basics")

WORKSHEET = page("worksheet", "Use this sheet.\n", title="Decision aid", pages=1, file_title="Planning sheet")


def good_site(make_project):
    return make_project({
        "content/guide/deciding.md": ARTICLE,
        "content/questions/basics.md": FAQ,
        "content/worksheets/sheet.md": WORKSHEET,
    })


def test_build_writes_every_kind_and_site_file(make_project, run):
    project = good_site(make_project)
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    site = project.out
    for path in ("index.html", "guide/deciding/index.html", "questions/basics/index.html",
                 "worksheets/sheet/index.html", "help/index.html", "about/index.html",
                 "guide/index.html", "404.html", "sitemap.xml", "robots.txt"):
        assert (site / path).is_file(), path
    assert re.search(r"built: 1 article, 1 faq, 3 pages, 1 worksheet; 0 warnings, 0 errors in \d+\.\d\d s",
                     outcome.stderr)


def test_article_html_has_markdown_features_and_relative_links(make_project, run):
    project = good_site(make_project)
    assert run(project, "build").code == 0
    html = (project.out / "guide/deciding/index.html").read_text()
    assert '<h2 id="first-part">First part</h2>' in html
    assert '<a href="../../questions/basics/#is-it-normal">the answers</a>' in html
    assert '<a href="../../">home</a>' in html
    assert '<td align="left">a</td>' in html and '<td align="right">b</td>' in html
    assert 'id="fn:1"' in html and 'class="admonition note"' in html
    assert re.search(r'href="\.\./\.\./static/style\.[0-9a-f]{10}\.css"', html)
    assert '<link rel="canonical" href="https://example.org/guide/deciding/">' in html


def test_faq_lists_questions_and_builds_json_ld_from_the_same_parse(make_project, run):
    project = good_site(make_project)
    assert run(project, "build").code == 0
    html = (project.out / "questions/basics/index.html").read_text()
    assert '<a href="#is-it-normal">Is it normal?</a>' in html
    assert '<h2 id="can-i-make-them-come-back">Can I make them come back?</h2>' in html
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(block)
    assert data["@type"] == "FAQPage"
    questions = [(q["name"], q["acceptedAnswer"]["text"]) for q in data["mainEntity"]]
    assert questions == [("Is it normal?", "Yes, very normal. Read the article."),
                         ("Can I make them come back?", "No. It is their choice.")]


def test_home_lists_sections_and_sitemap_uses_base_url(make_project, run):
    project = good_site(make_project)
    assert run(project, "build").code == 0
    home = (project.out / "index.html").read_text()
    assert '<a href="guide/deciding/">Deciding whether to try again</a>' in home
    sitemap = (project.out / "sitemap.xml").read_text()
    assert "<loc>https://example.org/guide/deciding/</loc><lastmod>2026-11-01</lastmod>" in sitemap
    assert "Sitemap: https://example.org/sitemap.xml" in (project.out / "robots.txt").read_text()


def test_sub_path_publishing_keeps_relative_links_and_absolute_404(make_project, run):
    from conftest import SITE_YAML
    project = make_project({"content/guide/deciding.md": ARTICLE, "content/questions/basics.md": FAQ},
                           site_yaml=SITE_YAML.replace("https://example.org/", "https://host.example/mend/"))
    assert run(project, "build").code == 0
    not_found = (project.out / "404.html").read_text()
    assert 'href="/mend/guide/"' in not_found and re.search(r'href="/mend/static/style\.\w+\.css"', not_found)
    article = (project.out / "guide/deciding/index.html").read_text()
    assert 'href="https://host.example/mend/guide/deciding/"' in article
    assert 'href="../../"' in article


def test_same_input_gives_byte_identical_output(make_project, run, tmp_path):
    project = good_site(make_project)
    assert run(project, "build").code == 0
    first = tree_bytes(project.out)
    other = Project(project.root, tmp_path / "elsewhere")
    assert build(other).written
    assert tree_bytes(other.out) == first


def test_check_writes_nothing(make_project, run):
    project = good_site(make_project)
    outcome = run(project, "check")
    assert outcome.code == 0
    assert "checked:" in outcome.stderr
    assert not project.out.exists()


def test_new_scaffolds_a_page_that_builds(make_project, run):
    project = good_site(make_project)
    outcome = run(project, "new", "article", "space-after-a-breakup")
    assert outcome.code == 0, outcome.stderr
    created = project.root / "content/guide/space-after-a-breakup.md"
    assert created.is_file()
    text = created.read_text()
    assert "kind: article" in text and "last_reviewed:" in text
    created.write_text(text.replace("[@key]", "(no source yet)"))
    assert run(project, "build").code == 0
    assert run(project, "new", "article", "space-after-a-breakup").code == 2
    assert run(project, "new", "article", "Bad Slug").code == 2


def test_usage_errors_exit_2(make_project, run, tmp_path):
    project = good_site(make_project)
    assert run(project, "frobnicate").code == 2
    assert run(project, "new", "poem", "x").code == 2
    assert run(Project(tmp_path / "nowhere"), "build").code == 2


@pytest.mark.slow    # a child process building the site
def test_build_py_runs_as_a_script(make_project):
    project = good_site(make_project)
    result = run_build_py(project.root)
    assert result.returncode == 0, result.stderr
    assert (project.out / "index.html").is_file()
    assert "Traceback" not in result.stderr
