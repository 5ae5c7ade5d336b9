"""The engine's second design: inputs it used to crash on, keys made from contexts, one store,
one report, no fork beside a thread."""

from __future__ import annotations

import dataclasses

import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import page, tree_bytes

from mend import incremental, markup, parallel
from mend.contexts import Context, canonical
from mend.diagnostics import Report
from mend.pipeline import Project, build


def assert_same_as_clean_build(project: Project, tmp_path: Path) -> None:
    clean = Project(project.root, tmp_path / "clean")
    shutil.rmtree(clean.out, ignore_errors=True)
    assert build(clean).written
    assert tree_bytes(project.out) == tree_bytes(clean.out)


# --- inputs that used to crash -------------------------------------------------------------------

def test_a_page_saved_by_notepad_with_a_bom_and_windows_line_endings_builds(make_project, run):
    text = page("article", "## Part\n\nSaved on Windows.\n", title="Notepad", experience_based="[Part]")
    project = make_project({"content/guide/win.md": b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()})
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    html = (project.out / "guide/win/index.html").read_text("utf-8")
    assert "<h1>Notepad</h1>" in html and "Saved on Windows." in html and "\r" not in html


def test_invalid_utf8_in_the_bibliography_is_a_diagnostic_at_its_line(make_project, run):
    project = make_project({"content/guide/a.md": page("article")})
    assert run(project, "build").code == 0
    before = tree_bytes(project.out)
    (project.content / "sources.yaml").write_bytes(b"- id: a\n  title: caf\xe9\n")
    outcome = run(project, "build")
    assert outcome.code == 1
    assert outcome.diagnostics == ["content/sources.yaml:2:13: error[encoding]: the bibliography is not valid UTF-8"]
    assert "Traceback" not in outcome.stderr
    assert tree_bytes(project.out) == before


def test_invalid_utf8_in_a_template_is_a_diagnostic_at_its_line(make_project, run):
    project = make_project({"content/guide/a.md": page("article")})
    assert run(project, "build").code == 0
    before = tree_bytes(project.out)
    (project.templates / "page.html").write_bytes(b"{% extends 'base.html' %}\n{# caf\xe9 #}\n")
    outcome = run(project, "build")
    assert outcome.code == 1
    assert outcome.diagnostics == ["templates/page.html:2:7: error[encoding]: the template is not valid UTF-8"]
    assert tree_bytes(project.out) == before


@pytest.mark.parametrize("damage", ["file-for-folder", "folder-for-database", "garbage-database"])
def test_an_unusable_cache_is_a_warning_and_the_build_still_works(damage, make_project, run, tmp_path):
    project = make_project({"content/guide/a.md": page("article", "Cached or not.\n")})
    cache = project.root / ".mend-cache"
    if damage == "file-for-folder":
        cache.write_text("not a folder")
    elif damage == "folder-for-database":
        (cache / "store.sqlite").mkdir(parents=True)
    else:
        cache.mkdir()
        (cache / "store.sqlite").write_bytes(b"this is not a database" * 100)
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    assert [line.split(": ", 2)[1] for line in outcome.diagnostics] == ["warning[cache-unusable]"]
    assert outcome.diagnostics[0].startswith(".mend-cache:1:1: warning[cache-unusable]: the build cache cannot be used")
    assert "Cached or not." in (project.out / "guide/a/index.html").read_text("utf-8")
    assert run(project, "build", "--strict").code == 1      # a warning, so --strict fails it
    assert_same_as_clean_build(project, tmp_path)


def test_the_summary_counts_exactly_the_lines_printed(make_project, run):
    """The same problem found twice is one diagnostic; the summary counts what is printed."""
    report = Report()
    for _ in range(2):
        report.error("content/a.md", 3, 1, "link-broken", "link to '/x/' goes nowhere")
    assert len(report.items) == 1 and len(report.errors()) == 1 and report.format().count("error[") == 1
    project = make_project({"content/guide/a.md": page("article", "[x](/nowhere/) and [x](/nowhere/)\n")})
    outcome = run(project, "build")
    assert outcome.code == 1
    printed = [line for line in outcome.diagnostics if "error[" in line]
    summary = outcome.stderr.strip().splitlines()[-1]
    assert summary.startswith("failed: ") and f" {len(printed)} errors in " in summary


def test_an_internal_failure_is_a_diagnostic_at_the_page_never_a_traceback(make_project, run, monkeypatch):
    project = make_project({"content/guide/a.md": page("article", "Fine.\n")})
    assert run(project, "build").code == 0
    before = tree_bytes(project.out)
    (project.content / "guide/a.md").write_text(page("article", "Changed.\n"))

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("an injected bug")

    monkeypatch.setattr(markup.MarkdownRenderer, "render", broken)
    outcome = run(project, "build")
    assert outcome.code == 1
    assert [line for line in outcome.diagnostics if "internal" in line] == [
        "content/guide/a.md:1:1: error[internal]: Mend failed while processing this file: "
        "ZeroDivisionError: an injected bug"]
    assert "Traceback" not in outcome.stderr and "--debug" in outcome.stderr
    assert tree_bytes(project.out) == before
    debug = run(project, "build", "--debug")
    assert debug.code == 1 and "Traceback (most recent call last)" in debug.stderr
    assert "ZeroDivisionError: an injected bug" in debug.stderr


# --- render keys by construction -----------------------------------------------------------------

def test_a_listing_template_that_shows_page_titles_is_never_stale(make_project, tmp_path):
    """The issue's reproduction: section lists show every section's page titles, then a page is
    retitled.  Keys come from the context the template gets, so every list shows the new title."""
    project = make_project({"content/guide/a.md": page("article", title="Old title"),
                            "content/questions/q.md": page("faq", "## Why?\n\nBecause.\n", title="Q")})
    section = project.templates / "section.html"
    section.write_text(section.read_text("utf-8").replace(
        "{% block main %}", "{% block main %}{% for s in nav %}{% for p in s.pages %}<i>{{ p.title }}</i>"
                            "{% endfor %}{% endfor %}", 1), "utf-8")
    assert build(project).written
    assert "<i>Old title</i>" in (project.out / "questions/index.html").read_text("utf-8")
    article = project.content / "guide/a.md"
    article.write_text(article.read_text("utf-8").replace("Old title", "New title"), "utf-8")
    assert build(project).written
    for listing in ("guide/index.html", "questions/index.html", "worksheets/index.html"):
        assert "<i>New title</i>" in (project.out / listing).read_text("utf-8"), listing
    assert_same_as_clean_build(project, tmp_path)


def test_contexts_hold_only_data():
    """A function or a path in a context could change the HTML without changing its key."""
    assert canonical({"b": [1, 2], "a": "x"}) == b'{"a":"x","b":[1,2]}'
    for bad in (lambda: 1, Path("/x"), {1, 2}):
        with pytest.raises(TypeError):
            Context("page.html", "x/index.html", {"value": bad}).digest()


@dataclasses.dataclass(frozen=True)
class Shared:
    help: str


def test_a_digest_stands_long_texts_and_shared_objects_in_by_their_own_hashes():
    """A page body is hashed rather than JSON-escaped, and the site-wide objects by a digest
    made once: each still changes the key when any character of it does."""
    body = "<p>" + "x" * 5000 + "</p>"
    shared = Shared("call 999")
    base = Context("page.html", "a/index.html", {"body": body, "site": shared}).digest()
    assert Context("page.html", "a/index.html", {"body": body.replace("x", "y", 1), "site": shared}).digest() != base
    known = {id(shared): "one"}
    with_known = Context("page.html", "a/index.html", {"body": body, "site": shared}, known).digest()
    assert with_known != Context("page.html", "a/index.html", {"body": body, "site": shared}, {id(shared): "two"}).digest()
    assert with_known != base       # the object itself is no longer encoded: its digest is


@pytest.mark.slow    # renders worksheet PDFs
def test_every_page_context_of_a_site_serialises(make_project):
    """Building the fixture site digests every context; a non-data value would fail the build."""
    project = make_project({"content/guide/a.md": page("article", "Cite nothing.\n"),
                            "content/questions/q.md": page("faq", "## Why?\n\nBecause.\n"),
                            "content/worksheets/w.md": page("worksheet", "[text: name] Your name\n",
                                                            title="Notes")})
    result = build(project)
    assert result.written, result.report.format()
    assert not [d for d in result.report.items if d.code == "internal"]


# --- the fingerprint --------------------------------------------------------------------------------

def test_the_fingerprint_records_every_distribution_the_engine_requires():
    """From Mend's own requirements, transitively: pypandoc_binary, snowballstemmer and
    pagefind's binary were missed by the hand-kept list."""
    versions = incremental._requirement_closure("mend")
    for name in ("pypandoc-binary", "snowballstemmer", "pagefind-bin", "weasyprint", "pydyf", "markdown",
                 "jinja2", "markupsafe", "nh3", "pyyaml", "livereload"):
        assert versions.get(name, "-") != "-", name
    assert "pytest" not in versions and "hypothesis" not in versions     # test tools shape no output


def test_a_library_upgrade_is_not_replayed_as_no_change(make_project, monkeypatch):
    project = make_project({"content/guide/a.md": page("article")})
    assert build(project).written
    assert build(project).unchanged
    real = incremental._requirement_closure
    monkeypatch.setattr(incremental, "_requirement_closure",
                        lambda root: {**real(root), "snowballstemmer": "99.0"})
    monkeypatch.setattr(incremental, "_mtime", lambda entry: 1)     # as if site-packages changed
    assert not build(project).unchanged


# --- no fork while a thread runs ----------------------------------------------------------------------

def test_work_is_not_forked_while_another_thread_runs():
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        pids = parallel.map_forked(lambda _: os.getpid(), list(range(200)))
    finally:
        release.set()
        thread.join()
    assert set(pids) == {os.getpid()}
    assert len(set(parallel.map_forked(lambda _: os.getpid(), list(range(200))))) >= 1


def test_a_build_forks_its_workers_with_no_other_thread_alive(make_project, monkeypatch):
    project = make_project({f"content/guide/p{i}.md": page("article", f"Page {i}.\n", title=f"P{i}")
                            for i in range(90)})
    alive = []
    real = parallel.map_forked

    def watching(function, items, meanwhile=None):
        alive.append(threading.active_count())
        return real(function, items, meanwhile)

    monkeypatch.setattr(parallel, "map_forked", watching)
    assert build(project).written
    assert alive and set(alive) == {1}


def test_a_missing_template_or_a_too_long_slug_is_reported_at_the_content_files_line(make_project, run):
    project = make_project({
        "content/custom.md": page("page", "Text.\n", title="Custom", template="nosuch.html"),
        "content/guide/long.md": page("article", "Text.\n", title="Long", slug="a" * 300),
    })
    outcome = run(project, "build")
    assert outcome.code == 1
    assert "content/custom.md:9:1: error[template-missing]: there is no template 'nosuch.html' in templates/" \
        in outcome.diagnostics
    assert "content/guide/long.md:9:1: error[slug-too-long]: the slug has 300 characters; at most 100" \
        in outcome.diagnostics
    assert not [d for d in outcome.diagnostics if d.startswith(("templates:", "site:"))]


# --- the output folder ----------------------------------------------------------------------------

@pytest.mark.parametrize("out", [".", "content", "templates", "content/guide", "..", "elsewhere"])
def test_an_output_folder_mend_did_not_make_is_refused_and_left_alone(out, make_project, run):
    """--out . once swapped the project with the new site and deleted it, .git and all."""
    project = make_project({"content/guide/a.md": page("article")})
    (project.root / "elsewhere").mkdir()
    (project.root / "elsewhere/notes.txt").write_text("mine")
    before = tree_bytes(project.root.parent)
    outcome = run(project, "build", "--out", str(project.root / out))
    assert outcome.code == 2, outcome.stderr
    assert "build.py: error: --out " in outcome.stderr and "Traceback" not in outcome.stderr
    assert tree_bytes(project.root.parent) == before


def test_an_empty_folder_or_an_earlier_mend_output_may_be_built_into(make_project, run, tmp_path):
    project = make_project({"content/guide/a.md": page("article")})
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(project, "build", "--out", str(empty)).code == 0
    assert (empty / ".mend-site").is_file()
    assert run(project, "build", "--out", str(empty)).code == 0       # its own output: fine again
