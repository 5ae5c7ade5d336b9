"""The dev server as editors run it: a real ``python build.py serve`` process on a free
loopback port, asked what a hostile page or a stray client might ask."""

from __future__ import annotations

import http.client
import os
import select
import subprocess
import sys

import pytest
from conftest import ROOT, free_port, page, project_at


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One serve process for the module: every test only asks it things (0.6 s to start each)."""
    project = project_at(tmp_path_factory.mktemp("served") / "project",
                         {"content/guide/topic.md": page("article", "Text.\n", title="Topic")})
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port),
                                "--root", str(project.root)], stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    # Raw reads: a buffered readline could hold the "Serving" line while select() waits on the pipe.
    seen = b""
    while b"Serving" not in seen:       # the build comes first; no clock involved
        ready, _, _ = select.select([process.stderr], [], [], 120)
        chunk = os.read(process.stderr.fileno(), 65536) if ready else b""
        if not chunk:
            process.kill()
            pytest.fail("serve did not start: " + seen.decode(errors="replace"))
        seen += chunk
    log = [seen.decode(errors="replace")]
    yield port, process, log
    process.terminate()
    remaining = process.communicate(timeout=30)[1]
    log.append(remaining.decode(errors="replace"))
    assert "Traceback" not in "".join(log), "".join(log)


def ask(port: int, method: str, path: str, host: str | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path, skip_host=True)
    connection.putheader("Host", f"127.0.0.1:{port}" if host is None else host)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_only_the_servers_own_host_names_are_answered(server):
    port, _, _ = server
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert ask(port, "GET", "/", host)[0] == 200, host
    for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1.evil.example:{port}", ""):
        assert ask(port, "GET", "/", host)[0] in (400, 421), host


def test_head_is_answered_like_get_without_a_body(server):
    port, _, _ = server
    status, headers, body = ask(port, "GET", "/guide/topic/")
    head_status, head_headers, head_body = ask(port, "HEAD", "/guide/topic/")
    assert (head_status, head_body) == (200, b"")
    assert head_headers["Content-Length"] == headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_methods_that_change_things_get_405(server, method):
    port, _, _ = server
    assert ask(port, method, "/guide/topic/")[0] == 405


@pytest.mark.parametrize("path", ["/" + "a" * 300, "/" + "a/" * 600, "/%00", "/guide/%2e%2e/%2e%2e/etc/passwd"])
def test_impossible_paths_are_404_without_a_traceback(server, path):
    port, _, _ = server
    assert ask(port, "GET", path)[0] == 404


def test_forcereload_is_not_answered(server):
    port, _, _ = server
    assert ask(port, "GET", "/forcereload")[0] == 404


def test_a_folder_url_without_its_slash_is_redirected(server):
    port, _, _ = server
    status, headers, _ = ask(port, "GET", "/guide/topic")
    assert (status, headers["Location"]) == (301, "/guide/topic/")


def test_websocket_from_another_origin_is_refused(server):
    port, _, _ = server
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    assert ask(port, "GET", "/livereload", headers={**upgrade, "Origin": "http://evil.example"})[0] == 403
    assert ask(port, "GET", "/livereload", headers={**upgrade, "Origin": f"http://127.0.0.1:{port}"})[0] == 101

