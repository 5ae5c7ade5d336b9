"""Worksheets: the field syntax, its diagnostics, and the accessible web form built from it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from conftest import page

pytestmark = pytest.mark.slow    # every build here renders worksheet PDFs

SHEET = page("worksheet", """\
    Use this sheet at your own pace. See [plans](#plans).

    [text: first_name] What should we call you?

    ## How you feel

    Tick what is true.

    [check: slept] I slept well
    [check: ate] I ate properly
    [scale: mood, 1-5] My mood | very low | very good
    Between the fields.
    [lines: notes, 4] Anything else

    ## Plans

    [table: pros_cons, 3] Reasons for | Reasons against

    ```
    [text: shown_as_code] Not a field
    ```

    [Note: a link](https://example.org/) that is not a field.
    """, title="Check-in", pages=1, file_title="Weekly notes")

BODY_LINE = 12          # page() puts a blank line after 10 lines of front matter: "Use this sheet" is line 13


class Elements(HTMLParser):
    """The elements inside the element with class ``within``: tag, attributes and text."""

    def __init__(self, html: str, within: str):
        super().__init__()
        self.within = within
        self.items: list[dict] = []
        self.open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        item = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""}
        if any(o.get("class") == self.within for o in self.open):
            self.items.append(item)
        if tag not in ("input", "meta", "link", "br", "img"):
            self.open.append(item)

    def handle_endtag(self, tag):
        while self.open and self.open.pop()["tag"] != tag:
            pass

    def handle_data(self, data):
        for item in self.open:
            item["text"] += data

    def all(self, tag, **attrs):
        return [i for i in self.items if i["tag"] == tag and all(i.get(k) == v for k, v in attrs.items())]


def sheet_project(make_project, files):
    """A fixture site without the real bibliography: these tests cite nothing."""
    project = make_project(files)
    (project.content / "sources.yaml").unlink(missing_ok=True)
    return project


def built_sheet(make_project, run, text=SHEET):
    project = sheet_project(make_project, {"content/worksheets/check-in.md": text})
    outcome = run(project, "build", "--strict")
    assert outcome.code == 0, outcome.stderr
    html = (project.out / "worksheets/check-in/index.html").read_text()
    return project, html, Elements(html, within="worksheet-form")


def test_every_input_has_a_visible_label_and_sections_are_fieldsets(make_project, run):
    _, html, form = built_sheet(make_project, run)
    inputs = form.all("input") + form.all("textarea")
    labels = {label["for"]: " ".join(label["text"].split()) for label in form.all("label")}
    assert {i["name"]: labels[i["id"]] for i in inputs if i.get("type") != "radio"} == {
        "first_name": "What should we call you?",
        "slept": "I slept well",
        "ate": "I ate properly",
        "notes": "Anything else",
        **{f"pros_cons_{row}_{side}": f"{heading}, row {row}" for row in (1, 2, 3)
           for side, heading in (("left", "Reasons for"), ("right", "Reasons against"))},
    }
    radios = form.all("input", type="radio")
    assert [(r["name"], r["value"], labels[r["id"]]) for r in radios] == [("mood", str(v), str(v)) for v in range(1, 6)]
    assert not [i for i in inputs if "placeholder" in i]
    assert all(i["autocomplete"] == "off" for i in inputs if i.get("type") not in ("radio", "checkbox"))
    legends = [" ".join(legend["text"].split()) for legend in form.all("legend")]
    assert legends == ["How you feel", "My mood (1 = very low, 5 = very good)", "Plans"]
    assert [f["id"] for f in form.all("fieldset", **{"class": "ws-section"})] == ["how-you-feel", "plans"]
    assert form.all("textarea")[0]["rows"] == "4"
    assert len(form.all("div", **{"class": "ws-checks"})) == 1       # the two checks are one group
    assert [th["text"] for th in form.all("th")] == ["Reasons for", "Reasons against"]
    # Not a <form>: pressing Enter in a field must not put the answers in the address bar.
    assert "<form" not in html


def test_instructions_stay_where_they_are_written(make_project, run):
    _, html, _ = built_sheet(make_project, run)
    order = ["Use this sheet", "What should we call you?", "Tick what is true.", "I slept well", "My mood",
             "Between the fields.", "Anything else", "Reasons for", "[text: shown_as_code] Not a field",
             "that is not a field"]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    assert '<a href="#plans">plans</a>' in html        # links to a section reach its fieldset


def test_page_links_both_paper_sizes_and_the_booklets(make_project, run):
    project, html, _ = built_sheet(make_project, run)
    for href in ("check-in-a4.pdf", "check-in-letter.pdf", "../worksheets-a4.pdf", "../worksheets-letter.pdf"):
        assert f'href="{href}"' in html
        assert (project.out / "worksheets/check-in" / href).resolve().is_file(), href
    assert "(1 page)" in html


def test_print_styles_are_linked(make_project, run):
    _, html, _ = built_sheet(make_project, run)
    assert 'worksheet.' in html and 'rel="stylesheet"' in html
    css_name = html.split('static/worksheet.')[1].split('"')[0]
    assert css_name.endswith(".css")


BAD_FIELDS = page("worksheet", """\
    Intro.

    [txt: name] A typo in the type
    [text: Your Name] Not snake case
    [text: first]
    [lines: notes] No height
    [lines: notes, 40] Too high
    [scale: mood, 5-1] Backwards | low | high
    [scale: calm, 1-5] No ends
    [table: pros, 3] Only one heading
    [text: first, 3] A size it cannot have
    [check: ok] Fine
    [check: ok] Same name again
    [text: pros_1_left] Fine on its own
    [table: pros, 2] Left | Right
    """, title="Bad", pages=1, file_title="Notes")


def test_each_malformed_field_line_is_reported_at_its_line_and_column(make_project, run):
    project = sheet_project(make_project, {"content/worksheets/bad.md": BAD_FIELDS})
    outcome = run(project, "build")
    assert outcome.code == 1
    assert "Traceback" not in outcome.stderr
    shown = "content/worksheets/bad.md"
    line = BODY_LINE + 3
    expected = [
        f"{shown}:{line}:2: error[worksheet-field]: unknown field type 'txt'",
        f"{shown}:{line + 1}:8: error[worksheet-field]: field name 'Your Name' is not lower_snake_case",
        f"{shown}:{line + 2}:14: error[worksheet-field]: field 'first' has no label",
        f"{shown}:{line + 3}:2: error[worksheet-field]: a lines field needs how many lines high it is, from 1 to 20",
        f"{shown}:{line + 4}:2: error[worksheet-field]: a lines field needs how many lines high it is, from 1 to 20, "
        "not '40'",
        f"{shown}:{line + 5}:2: error[worksheet-field]: scale 'mood' needs a range of 2 to 11 points, like 1-5, "
        "not '5-1'",
        f"{shown}:{line + 6}:2: error[worksheet-field]: scale 'calm' needs a label and labels for both ends, "
        "separated by '|'",
        f"{shown}:{line + 7}:2: error[worksheet-field]: table 'pros' needs two column headings separated by '|'",
        f"{shown}:{line + 8}:2: error[worksheet-field]: a text field takes only a name, not '3'",
        f"{shown}:{line + 10}:1: error[worksheet-field]: the name 'ok' is already used on line {line + 9}",
        f"{shown}:{line + 12}:1: error[worksheet-field]: the name 'pros_1_left' is already used on line {line + 11}",
    ]
    assert outcome.diagnostics == expected
    assert "hint: did you mean 'text'?" in outcome.stderr
    assert not project.out.exists()


@pytest.mark.parametrize("fields, key, code", [
    ({"slug": "talking-to-my-ex"}, "slug", "worksheet-file-name"),
    ({"slug": "after-the-break-up"}, "slug", "worksheet-file-name"),
    ({"file_title": "Ex notes"}, "file_title", "worksheet-file-title"),
    ({"file_title": None, "title": "Coping with abuse"}, "title", "worksheet-file-title"),
    ({"file_title": "My breakup plan"}, "file_title", "worksheet-file-title"),
])
def test_revealing_words_in_pdf_names_and_titles_are_refused(make_project, run, fields, key, code):
    text = page("worksheet", "[text: a] A\n", **{"title": "Notes", "pages": 1, "file_title": "Notes", **fields})
    project = sheet_project(make_project, {"content/worksheets/sheet.md": text})
    outcome = run(project, "build")
    assert outcome.code == 1
    line = next(n for n, row in enumerate(text.split("\n"), 1) if row.startswith(f"{key}:"))
    found = [d for d in outcome.diagnostics if f"[{code}]" in d]
    assert len(found) == 1 and found[0].startswith(f"content/worksheets/sheet.md:{line}:1: error[{code}]: ")


@pytest.mark.parametrize("fields", [{"slug": "next-steps"}, {"file_title": "Exit plan, sexes, annex"}])
def test_words_that_only_contain_ex_are_fine(make_project, run, fields):
    text = page("worksheet", "[text: a] A\n", **{"title": "Notes", "pages": 1, "file_title": "Notes", **fields})
    outcome = run(sheet_project(make_project, {"content/worksheets/sheet.md": text}), "build", "--strict")
    assert outcome.code == 0, outcome.stderr


def test_pages_must_be_a_sensible_number(make_project, run):
    text = page("worksheet", "[text: a] A\n", title="Notes", pages=0, file_title="Notes")
    outcome = run(sheet_project(make_project, {"content/worksheets/sheet.md": text}), "build")
    assert "content/worksheets/sheet.md:9:1: error[worksheet-pages]: 'pages' must be from 1 to 10, not 0" \
        in outcome.diagnostics
