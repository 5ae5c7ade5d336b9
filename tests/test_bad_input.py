"""Every class of bad input gives its exact diagnostic, exit 1, and leaves site/ untouched."""

from __future__ import annotations

import re

import pytest
from conftest import front_matter, page, tree_bytes

GOOD_ARTICLE = page("article", "## Part\n\nText.\n", title="Good")

CASES = {
    "invalid-yaml": (
        {"content/guide/bad.md": "---\ntitle: [unclosed\nkind: article\n---\nBody\n"},
        ["content/guide/bad.md:3:5: error[yaml-syntax]: invalid YAML in front matter: did not find expected ',' or ']'"],
    ),
    "no-closing-fence": (
        {"content/guide/bad.md": "---\ntitle: x\nkind: article\n\nBody without a closing fence\n"},
        ["content/guide/bad.md:1:1: error[frontmatter-unclosed]: the front matter has no closing '---' line"],
    ),
    "no-front-matter": (
        {"content/guide/bad.md": "# Just Markdown\n"},
        ["content/guide/bad.md:1:1: error[frontmatter-missing]: the file does not start with '---' front matter"],
    ),
    "not-a-mapping": (
        {"content/guide/bad.md": "---\n- a list\n- not a mapping\n---\nBody\n"},
        ["content/guide/bad.md:2:1: error[frontmatter-not-mapping]: front matter must be a mapping of fields"],
    ),
    "missing-field": (
        {"content/guide/bad.md": front_matter("article", summary=None) + "Body\n"},
        ["content/guide/bad.md:1:1: error[missing-field]: missing required front matter field 'summary'"],
    ),
    "mistyped-date": (
        {"content/guide/bad.md": front_matter("article", last_reviewed="soon") + "Body\n"},
        ["content/guide/bad.md:7:1: error[field-type]: 'last_reviewed' must be a date written as YYYY-MM-DD, "
         "not the string 'soon'"],
    ),
    "mistyped-list": (
        {"content/guide/bad.md": front_matter("article", authors="Jo") + "Body\n"},
        ["content/guide/bad.md:5:1: error[field-type]: 'authors' must be a non-empty list of strings, "
         "not the string 'Jo'"],
    ),
    "unknown-field": (
        {"content/guide/bad.md": front_matter("article", reviewer="[Sam]") + "Body\n"},
        ["content/guide/bad.md:9:1: error[unknown-field]: unknown front matter field 'reviewer'",
         "    hint: did you mean 'reviewers'?"],
    ),
    "unknown-kind": (
        {"content/guide/bad.md": front_matter("artcle") + "Body\n"},
        ["content/guide/bad.md:4:1: error[field-value]: 'kind' must be one of article, faq, worksheet, page, "
         "not 'artcle'", "    hint: did you mean 'article'?"],
    ),
    "duplicate-slug": (
        {"content/guide/one.md": page("article", slug="same"), "content/guide/same.md": page("article")},
        ["content/guide/one.md:9:1: error[duplicate-slug]: another page has the URL /guide/same/: "
         "content/guide/same.md",
         "content/guide/same.md:1:1: error[duplicate-slug]: another page has the URL /guide/same/: "
         "content/guide/one.md"],
    ),
    "not-utf8": (
        {"content/guide/bad.md": front_matter("article").encode() + b"Caf\xe9 au lait\n"},
        ["content/guide/bad.md:10:4: error[encoding]: the file is not valid UTF-8"],
    ),
    "empty-file": (
        {"content/guide/bad.md": ""},
        ["content/guide/bad.md:1:1: error[empty-file]: the file is empty"],
    ),
    "path-escape": (
        {"content/guide/bad.md": front_matter("article", slug="../../outside") + "Body\n"},
        ["content/guide/bad.md:9:1: error[bad-slug]: 'guide/../../outside' cannot be used in a URL"],
    ),
    "unknown-section": (
        {"content/blog/post.md": page("article")},
        ["content/blog/post.md:1:1: error[section-unknown]: folder 'blog' is not a section of the site"],
    ),
    "broken-link": (
        {"content/guide/bad.md": page("article", "Intro.\n\nSee [this](/guide/nowhere/) now.\n")},
        ["content/guide/bad.md:13:12: error[link-broken]: link to '/guide/nowhere/' goes nowhere"],
    ),
    "broken-md-link": (
        {"content/guide/bad.md": page("article", "See [this](missing.md).\n")},
        ["content/guide/bad.md:11:12: error[link-broken]: link to 'missing.md' goes nowhere"],
    ),
    "broken-anchor": (
        {"content/guide/good.md": GOOD_ARTICLE,
         "content/guide/bad.md": page("article", "See [part](/guide/good/#prat).\n")},
        ["content/guide/bad.md:11:12: error[anchor-broken]: '#prat' is not an anchor on /guide/good/",
         "    hint: did you mean 'part'?"],
    ),
    "broken-own-anchor": (
        {"content/guide/bad.md": page("article", "## Real heading\n\nSee [above](#not-here).\n")},
        ["content/guide/bad.md:13:13: error[anchor-broken]: '#not-here' is not an anchor on /guide/bad/"],
    ),
    "raw-html": (
        {"content/guide/bad.md": page("article", "Fine text.\n\n<div onclick=\"steal()\">hi</div>\n")},
        ["content/guide/bad.md:13:1: error[raw-html]: raw HTML is not allowed in content"],
    ),
    "inline-raw-html": (
        {"content/guide/bad.md": page("article", "Text with <img src=x onerror=alert(1)> inside.\n")},
        ["content/guide/bad.md:11:11: error[raw-html]: raw HTML is not allowed in content"],
    ),
    "event-handler": (
        {"content/guide/bad.md": page("article", "A paragraph.\n{: onclick=\"steal()\" }\n")},
        ["content/guide/bad.md:12:4: error[unsafe-attribute]: attribute 'onclick' is not allowed in content"],
    ),
    "javascript-link": (
        {"content/guide/bad.md": page("article", "Click [me](javascript:alert(1)).\n")},
        ["content/guide/bad.md:11:12: error[unsafe-url]: 'javascript:' links are not allowed"],
    ),
    "obfuscated-javascript-link": (
        {"content/guide/bad.md": page("article", "Click [me](JaVa\tScRiPt:alert(1)).\n")},
        ["content/guide/bad.md:11:1: error[unsafe-url]: 'javascript:' links are not allowed"],
    ),
    "data-image": (
        {"content/guide/bad.md": page("article", "![x](data:image/svg+xml;base64,PHN2Zz4=)\n")},
        ["content/guide/bad.md:11:6: error[unsafe-url]: 'data:' links are not allowed"],
    ),
    "deep-nesting": (
        {"content/guide/bad.md": page("article", ">" * 5000 + " deep\n")},
        ["content/guide/bad.md:11:1: error[nesting-too-deep]: lists or quotes nest 5000 levels deep"],
    ),
    "deep-list-nesting": (
        {"content/guide/bad.md": page("article", "".join("    " * i + "- item\n" for i in range(200)))},
        ["content/guide/bad.md:210:1: error[nesting-too-deep]: lists or quotes nest 199 levels deep"],
    ),
    "template-syntax": (
        {"templates/page.html": "{% extends 'base.html' %}\n{% block main %}\n{{ body \n{% endblock %}\n"},
        ["templates/page.html:4:1: error[template-syntax]: expected token 'end of print statement', got '{'"],
    ),
    "template-undefined": (
        {"templates/page.html": "{% extends 'base.html' %}\n{% block main %}\n{{ body }}\n{{ no_such_thing }}\n"
                                "{% endblock %}\n"},
        ["templates/page.html:4:1: error[template-undefined]: 'no_such_thing' is undefined"],
    ),
    "config-typo": (
        {"content/site.yaml": "title: x\nlanguage: en\nbase_url: https://e.org/\ndescription: d\npublisher: p\n"
                              "sections: []\ntitel: y\n"},
        ["content/site.yaml:7:1: error[unknown-field]: unknown configuration field 'titel'",
         "    hint: did you mean 'title'?"],
    ),
}


def _build_good_then_break(make_project, run, files):
    project = make_project({"content/guide/good.md": GOOD_ARTICLE})
    assert run(project, "build").code == 0
    before = tree_bytes(project.out)
    for name, text in files.items():
        path = project.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return project, before


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gives_exact_diagnostic_and_keeps_previous_site(case, make_project, run):
    files, expected = CASES[case]
    project, before = _build_good_then_break(make_project, run, files)
    outcome = run(project, "build")
    assert outcome.code == 1, outcome.stderr
    lines = outcome.stderr.splitlines()
    for want in expected:
        assert any(line.startswith(want) for line in lines), f"{want!r} not in:\n{outcome.stderr}"
    assert "Traceback" not in outcome.stderr
    assert "failed:" in lines[-1]
    assert tree_bytes(project.out) == before


def test_every_problem_is_reported_in_one_run(make_project, run):
    project, _ = _build_good_then_break(make_project, run, {
        "content/guide/a.md": "",
        "content/guide/b.md": front_matter("article", reviewer="[x]") + "Body\n",
        "content/guide/c.md": page("article", "See [x](/nowhere/).\n"),
    })
    outcome = run(project, "build")
    codes = sorted(re.search(r"error\[([^\]]+)\]", d).group(1) for d in outcome.diagnostics if "error[" in d)
    assert codes == ["empty-file", "link-broken", "unknown-field"]
    assert "3 errors" in outcome.stderr.splitlines()[-1]


def test_warnings_fail_only_under_strict(make_project, run):
    from mend.diagnostics import Report
    report = Report()
    report.warning("x.md", 1, 1, "demo", "a warning")
    assert not report.failed() and report.failed(strict=True)
    assert report.format(strict=True) == "x.md:1:1: error[demo]: a warning"

