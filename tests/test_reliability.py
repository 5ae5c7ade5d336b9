"""Killed, failing and concurrent builds never leave a broken site/."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, page, tree_bytes

from mend import outputs, publish
from mend import site as site_module
from mend.pipeline import Project, build
from mend.serve import DevSite

pytestmark = pytest.mark.slow    # left out of the fast lane: python -m pytest -m "not slow"

PAGES = 120


def many_pages(version: str) -> dict[str, str]:
    body = "Intro.\n\n## Part one\n\n" + ("Some words here. " * 80) + f"\n\nVersion {version}.\n"
    return {f"content/guide/p{i:03d}.md": page("article", body, title=f"Page {i}") for i in range(PAGES)}


def start_build(project: Project) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--root", str(project.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write(project: Project, files: dict[str, str]) -> None:
    for name, text in files.items():
        (project.root / name).write_text(text)


def leftovers(project: Project) -> list[str]:
    return sorted(p.name for p in project.root.glob(".site.*") if p.name != ".site.lock")


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.2])
def test_sigkill_at_any_point_leaves_old_or_new_site_and_next_build_recovers(delay, make_project):
    project = make_project(many_pages("one"))
    assert build(project).written
    old = tree_bytes(project.out)
    write(project, many_pages("two"))
    process = start_build(project)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    now = tree_bytes(project.out)
    assert now == old or b"Version two." in now["guide/p000/index.html"]
    if now != old:   # killed after the swap: the new site must be complete
        def pages(tree):   # the search index's file names hash its contents, so they differ
            return {name for name in tree if not name.startswith("pagefind/")}
        assert pages(now) == pages(old)
    assert build(project).written
    assert leftovers(project) == []
    assert b"Version two." in (project.out / "guide/p119/index.html").read_bytes()


def test_two_builds_at_once_both_finish_and_site_equals_a_clean_build(make_project, tmp_path):
    project = make_project(many_pages("one"))
    first, second = start_build(project), start_build(project)
    assert first.wait(120) == 0 and second.wait(120) == 0, (first.stderr.read(), second.stderr.read())
    reference = Project(project.root, tmp_path / "clean")
    assert build(reference).written
    assert tree_bytes(project.out) == tree_bytes(reference.out)
    assert leftovers(project) == []


@pytest.mark.parametrize("stage", ["load_site", "render_site", "write_file", "swap_into_place"])
def test_exception_in_any_stage_keeps_previous_site(stage, make_project, monkeypatch):
    project = make_project({"content/guide/a.md": page("article")})
    assert build(project).written
    before = tree_bytes(project.out)
    (project.root / "content/guide/a.md").write_text(page("article", "Changed.\n"))
    module = {"load_site": site_module, "render_site": outputs}.get(stage, publish)

    def boom(*args, **kwargs):
        raise RuntimeError(f"injected failure in {stage}")

    monkeypatch.setattr(module, stage, boom)
    result = build(project)
    assert not result.written
    assert [d.code for d in result.report.errors()] == ["internal"]
    assert f"RuntimeError: injected failure in {stage}" in result.report.format()
    assert tree_bytes(project.out) == before
    monkeypatch.undo()
    assert build(project).written
    assert leftovers(project) == []
    assert b"Changed." in (project.out / "guide/a/index.html").read_bytes()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_disk_full_or_read_only_while_writing_keeps_site_and_reports_clearly(code, make_project, run,
                                                                             monkeypatch):
    project = make_project({"content/guide/a.md": page("article")})
    assert build(project).written
    before = tree_bytes(project.out)
    (project.root / "content/guide/a.md").write_text(page("article", "Changed.\n"))
    def failing_write(self, data):       # only the changed page is written; its write fails
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    outcome = run(project, "build")
    monkeypatch.undo()
    assert outcome.code == 1
    assert f"error[write-failed]: could not write the site: {os.strerror(code)}" in outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert tree_bytes(project.out) == before
    assert leftovers(project) == []
    assert build(project).written


def test_stale_staging_folder_from_a_killed_build_is_removed(make_project):
    project = make_project()
    stale = project.root / ".site.building-99999"
    (stale / "half").mkdir(parents=True)
    assert build(project).written
    assert not stale.exists()


def test_output_paths_cannot_escape_the_output_folder(tmp_path):
    for bad in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(publish.UnsafeOutputPath):
            publish.write_file(tmp_path / f"t{abs(hash(bad))}", bad, b"x")


def test_build_while_serve_rebuilds_both_finish_and_site_equals_a_clean_build(make_project, tmp_path):
    project = make_project(many_pages("one"))
    dev = DevSite(project, log=lambda _: None)
    dev.rebuild()
    write(project, many_pages("two"))
    results = []
    rebuilding = threading.Thread(target=lambda: results.append(dev.rebuild()))
    rebuilding.start()
    process = start_build(project)
    rebuilding.join(120)
    assert process.wait(120) == 0, process.stderr.read()
    assert not rebuilding.is_alive() and results[0].written and dev.failure is None
    reference = Project(project.root, tmp_path / "clean")
    assert build(reference).written
    assert tree_bytes(project.out) == tree_bytes(reference.out)
    assert b"Version two." in (project.out / "guide/p119/index.html").read_bytes()
    if dev.indexing is not None:        # serve's event loop would finish its search index
        dev.indexing.finish()
    assert leftovers(project) == []


def test_a_build_waits_for_the_lock_another_holds_then_publishes(make_project):
    project = make_project({"content/guide/a.md": page("article", "Waited.\n")})
    with publish.build_lock(project.out):
        process = start_build(project)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(3)          # blocked on the lock: no output folder yet
        assert not project.out.exists()
    assert process.wait(120) == 0, process.stderr.read()
    assert b"Waited." in (project.out / "guide/a/index.html").read_bytes()
    assert leftovers(project) == []


def test_stale_lock_file_from_a_killed_build_does_not_block(make_project):
    project = make_project()
    (project.root / ".site.lock").write_text("12345")     # flock dies with its process; the file stays
    old = project.root / ".site.old-99999"
    (old / "guide").mkdir(parents=True)
    assert build(project).written
    assert not old.exists()


def child_processes(pid: int) -> dict[int, str]:
    """The live children of ``pid`` and their command lines (Linux /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(after_name[1]) == pid and after_name[0] != "Z":
            found[int(stat.parent.name)] = command
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_killing_a_build_while_it_indexes_kills_its_pagefind_too(make_project):
    """An orphaned Pagefind kept writing into the staging folder the next build had removed."""
    project = make_project(many_pages("one"))
    process = start_build(project)
    deadline = time.monotonic() + 120
    indexers: dict[int, str] = {}
    while not indexers and time.monotonic() < deadline and process.poll() is None:
        indexers = {pid: cmd for pid, cmd in child_processes(process.pid).items() if "pagefind" in cmd}
        time.sleep(0.01)
    if not indexers:
        pytest.fail(f"never saw Pagefind running: {process.wait()} {process.stderr.read()}")
    for pid in indexers:      # hold Pagefind still, so only the build's death can end it
        os.kill(pid, signal.SIGSTOP)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in indexers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in indexers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    assert build(project).written
    assert leftovers(project) == []


def test_a_page_saved_while_building_is_published_by_the_next_build(make_project, monkeypatch):
    """Each file is read once: a build publishes the version it read (never a mix of two),
    and since its fingerprint was made from those bytes, the next build sees the new one."""
    project = make_project({"content/guide/a.md": page("article", "First.\n")})
    assert build(project).written
    before = tree_bytes(project.out)
    (project.root / "content/guide/a.md").write_text(page("article", "Second.\n"))
    real = outputs.render_site

    def render_after_another_save(*args, **kwargs):
        (project.root / "content/guide/a.md").write_text(page("article", "Third.\n"))
        return real(*args, **kwargs)

    monkeypatch.setattr(outputs, "render_site", render_after_another_save)
    result = build(project)
    assert result.written and b"Second." in (project.out / "guide/a/index.html").read_bytes()
    assert tree_bytes(project.out) != before
    monkeypatch.undo()
    again = build(project)
    assert not again.unchanged and b"Third." in (project.out / "guide/a/index.html").read_bytes()
