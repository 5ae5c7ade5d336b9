"""The renderer skips inline patterns and block tests that cannot match a text (mend/markup.py).

Each construct here stands alone in its paragraph, so the one character it needs is the only
reason the text is looked at: if a skip were wrong, the construct would come out as plain text.
(The rest of the suite and a byte-for-byte comparison of whole sites cover ordinary pages.)
"""

from __future__ import annotations

import markdown
import pytest
from conftest import page
from markdown.inlinepatterns import SimpleTagInlineProcessor

from mend import markup

BODY = """\
Intro.

_only underscores_

line one \x20
line two

\\#hashtag

`code`

<https://example.org/>

| a | b |
|---|---|
| 1 | 2 |

---

> quoted

### Third level

[TOC]
"""


@pytest.fixture
def article_html(make_project, run):
    project = make_project({"content/guide/fast.md": page("article", BODY, title="Fast")})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    return (project.out / "guide/fast/index.html").read_text("utf-8")


@pytest.mark.parametrize("expected", [
    "<em>only underscores</em>",
    "line one<br>\nline two",
    "<p>#hashtag</p>",
    "<code>code</code>",
    '<a href="https://example.org/">https://example.org/</a>',
    "<td>1</td>",
    "<hr>",
    "<blockquote>",
    '<h3 id="third-level">Third level</h3>',
    '<div class="toc">',
])
def test_constructs_alone_in_a_paragraph_still_render(article_html, expected):
    assert expected in article_html


def test_text_without_markup_is_left_as_written(article_html):
    assert "<p>Intro.</p>" in article_html
    assert "[TOC]" not in article_html


def test_raw_html_alone_in_a_paragraph_is_still_refused(make_project, run):
    project = make_project({"content/guide/raw.md": page("article", "Intro.\n\n<b>bold</b>\n", title="Raw")})
    outcome = run(project, "build")
    assert outcome.code == 1
    assert any("error[raw-html]" in line for line in outcome.diagnostics), outcome.stderr


def test_an_inline_pattern_without_a_known_need_is_refused():
    md = markdown.Markdown()
    md.inlinePatterns.register(SimpleTagInlineProcessor(r"()~~(.+?)~~", "del"), "strike", 55)
    with pytest.raises(RuntimeError, match="_INLINE_NEEDS"):
        markup._freeze_inline_patterns(md)
