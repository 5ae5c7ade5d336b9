"""``serve`` driven in-process: edit, break and fix a page, and read what the server returns."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT, free_port, page
from tornado import ioloop

from mend.serve import DevSite, start_server


@pytest.fixture
def served(make_project):
    project = make_project({"content/guide/topic.md": page("article", "First version.\n", title="Topic")})
    logs: list[str] = []
    dev = DevSite(project, log=logs.append)
    dev.rebuild()
    port = free_port()
    ready = threading.Event()
    loops = []

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        start_server(dev, "127.0.0.1", port)
        loops.append(ioloop.IOLoop.current())
        ready.set()
        ioloop.IOLoop.current().start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield project, f"http://127.0.0.1:{port}", logs
    loops[0].add_callback(loops[0].stop)
    thread.join(10)


def fetch(url: str) -> tuple[int, str]:
    try:
        # Generous: the server answers only between rebuilds, which take seconds on a loaded machine.
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, predicate, timeout: float = 60.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = fetch(url)
        if predicate(status, body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def test_edit_break_and_fix_a_page_while_serving(served):
    project, base, logs = served
    source = project.root / "content/guide/topic.md"
    status, body = fetch(f"{base}/guide/topic/")
    assert status == 200 and "First version." in body
    assert "livereload.js" in body          # the reload script is injected

    source.write_text(page("article", "Second version.\n", title="Topic"))
    status, body = wait_for(f"{base}/guide/topic/", lambda s, b: "Second version." in b)
    assert status == 200 and "Second version." in body

    source.write_text("---\ntitle: [broken\n---\n")
    status, body = wait_for(f"{base}/guide/topic/", lambda s, b: s == 500)
    assert status == 500
    assert "The build failed" in body and "content/guide/topic.md:3:1: error[yaml-syntax]" in body
    assert "Second version." in (project.out / "guide/topic/index.html").read_text()  # last good site kept

    source.write_text(page("article", "Third version.\n", title="Topic"))
    status, body = wait_for(f"{base}/guide/topic/", lambda s, b: "Third version." in b)
    assert status == 200 and "The build failed" not in body
    assert any("built:" in line for line in logs)


def test_server_only_serves_files_inside_the_output_folder(served, tmp_path):
    project, base, _ = served
    (project.root / "secret.txt").write_text("do not serve")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/guide/%2e%2e/%2e%2e/secret.txt",
                 "/..%2fsecret.txt", "/%2e%2e%5csecret.txt"):
        status, body = fetch(base + path)
        assert "do not serve" not in body, path
        assert status == 404, path


def test_missing_page_gets_the_404_page(served):
    _, base, _ = served
    status, body = fetch(f"{base}/no/such/page/")
    assert status == 404 and "Page not found" in body


def test_dev_site_resolves_directories_to_index(make_project):
    project = make_project()
    dev = DevSite(project, log=lambda _: None)
    dev.rebuild()
    assert dev.resolve("/help/") == (project.out / "help/index.html").resolve()
    assert dev.resolve("/help") == (project.out / "help/index.html").resolve()
    assert dev.resolve("/../content/index.md") is None


def start_serving(project, *args: str) -> tuple[subprocess.Popen, str]:
    """Run ``build.py serve`` until it says it is serving; return the process and what it printed."""
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--root", str(project.root), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    printed = b""
    deadline = time.monotonic() + 60
    while b"Serving" not in printed and time.monotonic() < deadline:
        if select.select([process.stderr], [], [], 1)[0]:
            chunk = os.read(process.stderr.fileno(), 65536)    # unbuffered: readline() could hold lines back
            if not chunk:
                break
            printed += chunk
    return process, printed.decode()


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for row in handle.read().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:      # 0A: LISTEN
                    found.add(address)
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's socket table")
@pytest.mark.slow    # a real serve process
def test_serve_binds_only_the_loopback_address_by_default(make_project):
    project = make_project()
    port = free_port()
    process, printed = start_serving(project, "--port", str(port))
    try:
        assert f"Serving {project.out} at http://127.0.0.1:{port}/" in printed, printed
        assert "warning: binding" not in printed
        assert listening_addresses(port) == {"0100007F"}            # 127.0.0.1, nothing else
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow    # a real serve process
def test_serve_warns_when_told_to_bind_a_network_address(make_project):
    project = make_project()
    port = free_port()
    process, printed = start_serving(project, "--host", "0.0.0.0", "--port", str(port))
    try:
        assert ("warning: binding to 0.0.0.0: other machines on the network can see this preview" in printed), printed
        assert f"at http://0.0.0.0:{port}/" in printed
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow    # a real serve process
def test_serve_refuses_a_port_in_use_with_a_clear_message(make_project):
    project = make_project()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process, printed = start_serving(project, "--port", str(port))
        process.wait(30)
        printed += process.stderr.read().decode()
    assert process.returncode == 2
    assert f"build.py serve: error: cannot listen on 127.0.0.1:{port}" in printed
    assert "Traceback" not in printed


@pytest.mark.parametrize("pages_per_bundle", [800, 3])         # one search bundle, or several
def test_an_edit_is_published_at_once_and_the_search_index_follows(make_project, tmp_path, monkeypatch,
                                                                    pages_per_bundle):
    from conftest import tree_bytes
    from mend import search
    from mend.pipeline import Project, build
    monkeypatch.setattr(search, "PAGES_PER_BUNDLE", pages_per_bundle)
    project = make_project({"content/guide/topic.md": page("article", "First version.\n", title="Topic")})
    dev = DevSite(project, log=lambda _: None)
    dev.rebuild()
    (project.content / "guide/topic.md").write_text(page("article", "Second version.\n", title="Topic"))
    result = dev.rebuild()
    assert result.written and result.search_pending and result.rendered_pages == ["guide/topic/index.html"]
    assert "Second version." in (project.out / "guide/topic/index.html").read_text("utf-8")
    dev.indexing.finish()
    clean = Project(project.root, tmp_path / "clean")
    assert build(clean).written
    assert tree_bytes(project.out) == tree_bytes(clean.out)         # the index now has the edit
    assert build(project).unchanged


def test_serve_started_on_an_unchanged_site_is_ready_for_the_first_edit(make_project):
    """Replaying an unchanged build would leave serve's memory empty, and its first edit would
    then load every page, body and rule: serve's first build goes through every step instead."""
    from mend.pipeline import build
    project = make_project({"content/guide/topic.md": page("article", "First version.\n", title="Topic")})
    assert build(project).written and build(project).unchanged          # the command line replays
    dev = DevSite(project, log=lambda _: None)
    first = dev.rebuild()
    assert first.written and not first.unchanged and first.rendered_pages == []
    assert dev.session.memory.bodies and dev.session.rules                # bodies and rules in memory
    (project.content / "guide/topic.md").write_text(page("article", "Second version.\n", title="Topic"))
    assert dev.rebuild().rendered_pages == ["guide/topic/index.html"]


def test_an_edit_reindexes_only_the_search_part_that_holds_the_page(make_project, tmp_path, monkeypatch):
    """A page's part is a hash of its path: one edit changes one part, and only that part is
    indexed again; the site still ends equal to a clean build."""
    from conftest import tree_bytes
    from mend import search
    from mend.pipeline import Project, build
    monkeypatch.setattr(search, "PAGES_PER_BUNDLE", 3)
    files = {f"content/guide/p{i}.md": page("article", f"Words of page {i}.\n", title=f"Page {i}") for i in range(9)}
    project = make_project(files)
    dev = DevSite(project, log=lambda _: None)
    dev.rebuild()
    parts = search.plan(project.out)
    assert len(parts) >= 3
    indexed = []
    real = search.Indexing._start_next
    monkeypatch.setattr(search.Indexing, "_start_next",
                        lambda self: indexed.append(self.todo[self.next].name) or real(self))
    (project.content / "guide/p4.md").write_text(page("article", "Page four, edited.\n", title="Page 4"))
    assert dev.rebuild().search_pending
    dev.indexing.finish()
    holding = [part.name for part in parts if "guide/p4/index.html" in part.pages]
    assert indexed == holding                                      # one Pagefind run, for one part
    clean = Project(project.root, tmp_path / "clean")
    assert build(clean).written
    assert tree_bytes(project.out) == tree_bytes(clean.out)


def test_a_build_while_the_index_is_pending_indexes_the_site_itself(make_project, tmp_path):
    from conftest import tree_bytes
    from mend.pipeline import Project, build
    project = make_project({"content/guide/topic.md": page("article", "First version.\n", title="Topic")})
    dev = DevSite(project, log=lambda _: None)
    dev.rebuild()
    (project.content / "guide/topic.md").write_text(page("article", "Second version.\n", title="Topic"))
    assert dev.rebuild().search_pending
    assert build(project).written                  # never "unchanged" with a stale index
    clean = Project(project.root, tmp_path / "clean")
    assert build(clean).written
    assert tree_bytes(project.out) == tree_bytes(clean.out)
    dev.indexing.finish()                          # the background index is dropped or identical
    assert tree_bytes(project.out) == tree_bytes(clean.out)


def test_serve_rebuilds_in_place_and_ends_equal_to_a_clean_build(make_project, tmp_path):
    """serve moves only changed files into the published folder: removed pages, a new page,
    a hand-edited output file and a changed title all come out as a clean build would."""
    from conftest import tree_bytes
    from mend.pipeline import Project, build
    project = make_project({"content/guide/one.md": page("article", "One.\n", title="One"),
                            "content/guide/two.md": page("article", "Two.\n", title="Two")})
    dev = DevSite(project, log=lambda _: None)
    dev.rebuild()
    (project.content / "guide/two.md").unlink()
    (project.content / "guide/three.md").write_text(page("article", "Three.\n", title="Three"))
    (project.content / "guide/one.md").write_text(page("article", "One.\n", title="Uno"))
    (project.out / "about/index.html").write_text("edited by hand")
    result = dev.rebuild()
    assert result.written, result.report.format()
    assert not (project.out / "guide/two").exists()          # its folder went with it
    assert "Uno" in (project.out / "guide/index.html").read_text("utf-8")
    dev.indexing.finish()
    clean = Project(project.root, tmp_path / "clean")
    assert build(clean).written
    assert tree_bytes(project.out) == tree_bytes(clean.out)
    assert build(project).unchanged
