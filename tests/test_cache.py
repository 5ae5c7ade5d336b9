"""The build cache: a rebuild changes exactly the outputs its inputs affect, and nothing stale survives.

Each test builds a small site, changes one kind of input, rebuilds, and compares
the output trees before and after, and with a clean build of the same inputs
into a fresh folder.  The search index (pagefind/) is compared with the clean
build only: its file names are content hashes, so any text change renames them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import page, tree_bytes
from mend import files, incremental
from mend.pipeline import Project, build
from test_citations import SOURCES

TODAY = dt.date(2026, 11, 22)
FILES = {
    "content/sources.yaml": SOURCES,
    "content/guide/a.md": page("article", "## One\n\nCycling back [@vennum2014complicated].\n", title="Alpha"),
    "content/guide/b.md": page("article", "## Two\n\nPlain words here.\n", title="Beta",
                               experience_based="[Two]"),
}


@pytest.fixture
def site(make_project):
    project = make_project(FILES)
    first = build(project, today=TODAY)
    assert first.written and first.rendered > 0, first.report.format()
    return project


def rebuild(project: Project, today: dt.date = TODAY):
    """Rebuild; return the result and the site files (outside pagefind/) that changed, appeared or went."""
    before = tree_bytes(project.out)
    result = build(project, today=today)
    assert result.written, result.report.format()
    after = tree_bytes(project.out)
    changed = {name for name in before.keys() | after.keys()
               if before.get(name) != after.get(name) and not name.startswith("pagefind/")}
    return result, changed


def assert_same_as_clean_build(project: Project, tmp_path: Path, today: dt.date = TODAY) -> None:
    clean = Project(project.root, tmp_path / "clean")
    shutil.rmtree(clean.out, ignore_errors=True)
    assert build(clean, today=today).written
    assert tree_bytes(project.out) == tree_bytes(clean.out)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_a_rebuild_with_no_change_renders_nothing_and_writes_nothing(site):
    before = {p: p.stat().st_mtime_ns for p in site.out.rglob("*")}
    result, changed = rebuild(site)
    assert result.unchanged and result.rendered == 0
    assert changed == set()
    assert {p: p.stat().st_mtime_ns for p in site.out.rglob("*")} == before     # not even rewritten
    assert result.kinds == {"article": 2, "page": 3}


def test_a_no_change_rebuild_still_reports_the_last_builds_warnings(site, run):
    assert run(site, "build").code == 0     # dated today, as the command-line runs below are
    first = run(site, "check")      # check always runs every step
    warnings = [d for d in first.diagnostics if ": warning[" in d]
    assert warnings                 # uncited sources
    again = run(site, "build")
    assert again.code == 0 and "(no input changed)" in again.stderr
    assert again.diagnostics == first.diagnostics
    before = tree_bytes(site.out)
    strict = run(site, "build", "--strict")     # the replayed warnings fail a strict build
    assert strict.code == 1 and strict.diagnostics == [d.replace(": warning[", ": error[") for d in warnings]
    assert tree_bytes(site.out) == before


def test_a_page_body_change_rewrites_only_that_page(site, tmp_path):
    edit(site.content / "guide/b.md", "Plain words here.", "Other plain words.")
    result, changed = rebuild(site)
    assert result.rendered > 0 and not result.unchanged
    assert changed == {"guide/b/index.html"}
    assert result.rendered_pages == ["guide/b/index.html"]         # every other page and listing was reused
    assert "Other plain words." in (site.out / "guide/b/index.html").read_text("utf-8")
    assert_same_as_clean_build(site, tmp_path)


def test_a_page_title_change_rewrites_the_page_and_every_listing_of_it(site, tmp_path):
    edit(site.content / "guide/b.md", "title: Beta", "title: Bravo")
    result, changed = rebuild(site)
    assert changed == {"guide/b/index.html", "guide/index.html", "index.html", "feed.xml"}
    # Outputs whose context holds the title are rendered again: the sitemap (it comes out the
    # same) and every section list (each gets the whole navigation); other pages are not:
    # their navigation holds sections, not page titles.
    assert set(result.rendered_pages) == changed | {"sitemap.xml", "questions/index.html", "worksheets/index.html"}
    for name in changed:
        text = (site.out / name).read_text("utf-8")
        assert "Bravo" in text and "Beta" not in text, name
    assert_same_as_clean_build(site, tmp_path)


def test_a_removed_page_leaves_no_output_and_no_link_behind(site, tmp_path):
    (site.content / "guide/b.md").unlink()
    _, changed = rebuild(site)
    assert changed == {"guide/b/index.html", "guide/index.html", "index.html", "feed.xml", "sitemap.xml"}
    assert not (site.out / "guide/b").exists()
    assert not any(b"guide/b/" in data for name, data in tree_bytes(site.out).items()
                   if not name.startswith("pagefind/"))
    assert_same_as_clean_build(site, tmp_path)


def test_a_template_change_rewrites_the_pages_that_use_it(site, tmp_path):
    edit(site.templates / "page.html", "{% block main %}", "{% block main %}<!-- changed -->")
    result, changed = rebuild(site)
    assert changed == {"about/index.html", "help/index.html"}       # kind: page, but not the home page
    assert sorted(result.rendered_pages) == sorted(changed)
    assert_same_as_clean_build(site, tmp_path)


def test_a_static_asset_change_renames_it_and_rewrites_every_page_linking_it(site, tmp_path):
    old = {p.name for p in (site.out / "static").glob("style.*.css")}
    with open(site.templates / "static/style.css", "a", encoding="utf-8") as css:
        css.write("\n.changed { color: red; }\n")          # a rule: comments are not published
    _, changed = rebuild(site)
    new = {p.name for p in (site.out / "static").glob("style.*.css")}
    assert len(new) == 1 and new != old                            # the old file is gone, not left beside it
    html = {name for name in tree_bytes(site.out) if name.endswith(".html")}
    assert changed == html | {f"static/{n}" for n in old | new}
    assert_same_as_clean_build(site, tmp_path)


def test_a_bibliography_change_rewrites_the_sources_page(site, tmp_path):
    edit(site.content / "sources.yaml", "Couples who had broken up", "Partners who had broken up")
    result, changed = rebuild(site)
    assert changed == {"sources/index.html"}
    # The finding is shown only on the Sources page; the page citing the entry shows its
    # reference, which did not change, so its context and key are the same.
    assert sorted(result.rendered_pages) == ["sources/index.html"]
    assert "Partners who had broken up" in (site.out / "sources/index.html").read_text("utf-8")
    assert_same_as_clean_build(site, tmp_path)


def test_a_configuration_change_rebuilds(site, tmp_path):
    edit(site.content / "site.yaml", "tagline: a test", "tagline: another test")
    result, changed = rebuild(site)
    assert result.rendered > 0
    assert changed == {"index.html"}
    assert_same_as_clean_build(site, tmp_path)


def test_an_editorial_rules_change_runs_the_checks_again(site, run):
    rules = site.content / "editorial/rules.yaml"
    rules.parent.mkdir()
    rules.write_text("rules: {}\n", "utf-8")      # not a list: reported where the rules are read
    outcome = run(site, "build")
    assert outcome.code == 1 and any(d.startswith("content/editorial/rules.yaml:") for d in outcome.diagnostics)
    rules.unlink()
    assert run(site, "build").code == 0


def test_a_new_day_checks_again_so_overdue_reviews_are_reported_but_renders_nothing(site, run):
    later = dt.date(2027, 11, 2)                  # the pages' next_review is 2027-11-01
    result = build(site, today=later)
    assert not result.unchanged and result.rendered == 0       # no page shows the date
    assert any(d.code == "review-overdue" for d in result.report.items)


def test_a_file_changed_or_deleted_in_the_output_is_rebuilt(site, tmp_path):
    (site.out / "guide/a/index.html").unlink()
    (site.out / "about/index.html").write_text("edited by hand", "utf-8")
    (site.out / "guide/index.html").write_text("edited by hand", "utf-8")
    result, changed = rebuild(site)
    assert sorted(result.rendered_pages) == ["about/index.html", "guide/a/index.html", "guide/index.html"]
    assert changed == {"guide/a/index.html", "about/index.html", "guide/index.html"}
    assert_same_as_clean_build(site, tmp_path)


def test_a_failed_build_does_not_update_the_cache(site, run):
    good = tree_bytes(site.out)
    page_file = site.content / "guide/b.md"
    original = page_file.read_text("utf-8")
    page_file.write_text(original.replace("title: Beta", "title: [unclosed"), "utf-8")
    assert run(site, "build").code == 1
    page_file.write_text(original, "utf-8")       # back to what was published: nothing to do
    result = build(site, today=TODAY)
    assert result.unchanged and result.rendered == 0
    assert tree_bytes(site.out) == good


def test_an_engine_change_rebuilds(site, tmp_path, monkeypatch):
    engine = tmp_path / "engine"
    shutil.copytree(incremental.ENGINE_DIR, engine, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(incremental, "ENGINE_DIR", engine)
    build(site, today=TODAY)
    assert build(site, today=TODAY).unchanged
    with open(engine / "markup.py", "a", encoding="utf-8") as source:
        source.write("\n# a new version\n")
    assert build(site, today=TODAY).rendered > 0


def test_each_output_folder_has_its_own_record(site, tmp_path):
    other = Project(site.root, tmp_path / "elsewhere")
    assert build(other, today=TODAY).rendered > 0          # never "unchanged" just because site/ is
    assert build(other, today=TODAY).unchanged
    assert build(site, today=TODAY).unchanged


def test_a_reused_page_still_reports_its_warnings(site):
    edit(site.content / "guide/b.md", "experience_based: [Two]\n", "")        # b now warns: section-uncited
    first = build(site, today=TODAY)
    assert [d.code for d in first.report.items if d.path == "content/guide/b.md"] == ["section-uncited"]
    edit(site.content / "guide/a.md", "Cycling back", "Going back and forth")
    second = build(site, today=TODAY)
    assert "guide/b/index.html" not in second.rendered_pages       # reused, not rendered...
    assert [d.code for d in second.report.items if d.path == "content/guide/b.md"] == ["section-uncited"]


def test_pages_rendered_on_every_core_equal_pages_rendered_in_one_process(make_project, tmp_path, monkeypatch):
    from mend import parallel
    files = {f"content/guide/p{i:03d}.md": page("article", f"## Part\n\nWords for page {i}, linking [home](/).\n",
                                                title=f"Page {i}", experience_based="[Part]")
             for i in range(2 * parallel.MIN_ITEMS_PER_WORKER + 5)}
    project = make_project(files)
    assert parallel.workers_for(len(files)) == min(2, os.cpu_count() or 1)
    assert build(project, today=TODAY).written
    monkeypatch.setattr(parallel, "workers_for", lambda count: 1)
    serial = Project(project.root, tmp_path / "serial")
    assert build(serial, today=TODAY).written
    assert tree_bytes(project.out) == tree_bytes(serial.out)


def test_a_page_removed_and_added_back_is_rendered_not_taken_from_a_stale_record(site, tmp_path):
    text = (site.content / "guide/b.md").read_text("utf-8")
    (site.content / "guide/b.md").unlink()
    rebuild(site)
    (site.content / "guide/b.md").write_text(text, "utf-8")
    result, changed = rebuild(site)
    assert "guide/b/index.html" in result.rendered_pages and "guide/b/index.html" in changed
    assert_same_as_clean_build(site, tmp_path)


def test_no_change_builds_in_a_row_keep_what_the_cache_remembers(site):
    """A replayed build is not counted as a build: after many no-change builds, an edit
    still renders only the page that changed (they used to age every row out of the store)."""
    for _ in range(7):
        result, _ = rebuild(site)
        assert result.unchanged
    edit(site.content / "guide/b.md", "Plain words here.", "Other plain words.")
    result, changed = rebuild(site)
    assert result.rendered_pages == ["guide/b/index.html"]
    assert changed == {"guide/b/index.html"}


def test_a_page_in_a_symlinked_folder_is_rebuilt_when_it_changes(make_project, tmp_path):
    """The loader follows a symlinked folder inside the project, so the fingerprint must too
    (it did not: an edit there was answered "no input changed" with the old page)."""
    project = make_project({"shared/guide/a.md": page("article", "First words.\n", title="A")})
    (project.content / "guide").symlink_to(project.root / "shared" / "guide")
    assert build(project, today=TODAY).written
    edit(project.root / "shared/guide/a.md", "First words.", "Second words.")
    result, changed = rebuild(project)
    assert not result.unchanged and changed == {"guide/a/index.html"}
    assert "Second words." in (project.out / "guide/a/index.html").read_text("utf-8")
    assert_same_as_clean_build(project, tmp_path)


def test_a_same_size_edit_with_its_old_mtime_is_still_seen(site, monkeypatch):
    """A fresh process trusts the hashes an earlier one stored only while size, mtime, ctime
    and inode all match: an edit of the same length, with its mtime set back, changes ctime."""
    monkeypatch.setattr(files, "RACY_NS", 0)       # trust files written a moment ago, too
    result, _ = rebuild(site)
    assert result.unchanged
    assert build(site, today=TODAY).unchanged       # a fresh process: the stamps come from the store
    target = site.content / "guide/b.md"
    before = target.stat()
    time.sleep(0.01)
    text = target.read_text("utf-8")
    assert "Plain words here." in text
    target.write_text(text.replace("Plain words here.", "Plain words HERE."), "utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size and target.stat().st_mtime_ns == before.st_mtime_ns
    result, changed = rebuild(site)
    assert changed == {"guide/b/index.html"}
    assert "Plain words HERE." in (site.out / "guide/b/index.html").read_text("utf-8")
